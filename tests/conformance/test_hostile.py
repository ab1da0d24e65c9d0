"""Hostile packets, at every stage: datagrams too short to be DNS, responses, headers whose counts
lie, compression pointers that loop, point forwards, point into the header or form long chains,
labels and names over their limits, unknown label types, bytes after the last record, and a burst
of 3000 random and mutated datagrams.

Each case is written byte by byte, one comment per field, and gets the behaviour its stage
documents:

  stage 1     echoes every datagram, whatever it holds;
  stage 2     drops a datagram under 12 bytes or with QR=1 (a response); answers any other with the
              header alone: ID and RD copied, QR=1, NOERROR for OPCODE 0, every count 0 (it does
              not read past byte 12);
  stage 3 on  drops the same, and answers a malformed query with FORMERR and the header only: ID
              and RD copied, QR=1, RCODE 1, every other bit and every count 0 (CD may be copied,
              RFC 4035 3.2.2; RA may be set from stage 6 on). A query that is extreme but legal (a
              name reached through 128 pointers) is answered exactly as the same query without
              the extreme part.

After every case the server must still answer a good query correctly (expect_still_answers).
Each stage's behaviour is a test of its own (stage(1, until=1), stage(2), stage(2, until=2),
stage(3)), so that grade.py, which groups tests by the stage that introduced them, reports a
mistake under the stage that documents the behaviour.
The pointer rules are common/name.c's: a pointer points strictly before the labels it ends (so it
cannot loop), never into the 12-byte header, and a name follows at most NAME_HOPS_MAX (128) of
them."""

import random
import time

import pytest

import dnsgrader as g

# What a case gets from stage 2 on (stage 1 echoes everything).
DROP = "dropped"  # no reply: under 12 bytes, or QR=1
FORMERR = "FORMERR"  # stage 3 on: FORMERR, header only (stage 2: the header alone, NOERROR)
LEGAL = "answered"  # stage 3 on: the reply to the same query without its extreme part

NAME_HOPS_MAX = 128  # common/name.h: pointers one name may follow

RD_QUERY = [0x01, 0x00]  # flags: QR=0 OPCODE=0 (QUERY) RD=1
EXAMPLE_COM = [
    0x07, *b"example",  # label "example"
    0x03, *b"com",  # label "com"
    0x00,  # root: the name ends
]  # 13 octets: a question that starts at offset 12 ends at 12 + 13 + 4 = 29
A_IN = [0x00, 0x01, 0x00, 0x01]  # QTYPE A, QCLASS IN
PRIVATE_RR = [
    0xFF, 0x00,  # TYPE 65280 (private use): a record the server checks for shape and skips
    0x00, 0x01,  # CLASS IN
    0x00, 0x00, 0x00, 0x00,  # TTL 0
]  # RDLENGTH and RDATA follow
AFTER_QUESTION = 29  # where a record after the question example.com. A IN starts (0x1D)


def be16(v):
    """A 16-bit field, big-endian: [high byte, low byte]."""
    return [v >> 8 & 0xFF, v & 0xFF]


def pointer(target):
    """A compression pointer: top two bits 11, then the 14-bit offset."""
    return [0xC0 | target >> 8, target & 0xFF]


def pointer_chain(id_, hops):
    """A one-question query whose additional section holds a name reached through `hops` pointers:
    record 1's RDATA is a run of pointers, the first pointing to the question's name (offset 12) and
    each other one to the pointer before it; record 2's owner name is a pointer to the last of them.
    Every pointer points backwards, so only the hop limit can refuse it."""
    rdata_at = AFTER_QUESTION + 1 + len(PRIVATE_RR) + 2  # 40: after root owner, fields, RDLENGTH
    links = []
    for k in range(hops - 1):  # the owner's own pointer is the last hop
        links += pointer(12 if k == 0 else rdata_at + 2 * (k - 1))
    return bytes([
        *be16(id_),  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x02,  # ARCOUNT 2
        *EXAMPLE_COM, *A_IN,  # offset 12: the question, example.com. A IN
        0x00,  # offset 29: record 1, owner name: the root
        *PRIVATE_RR,
        *be16(len(links)),  # RDLENGTH: two bytes per pointer
        *links,  # offset 40: pointer -> 12, then pointer k -> pointer k-1
        *pointer(rdata_at + len(links) - 2),  # record 2, owner name: a pointer to the last pointer
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ])


def plain_query(id_):
    """The query pointer_chain() extends, without its additional section."""
    return bytes([
        *be16(id_),  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,  # the question, example.com. A IN
    ])


GOOD_HEADER = [
    0xB0, 0x0C,  # bytes 0-1: ID
    *RD_QUERY,  # bytes 2-3: flags
    0x00, 0x01,  # bytes 4-5: QDCOUNT 1
    0x00, 0x00,  # bytes 6-7: ANCOUNT
    0x00, 0x00,  # bytes 8-9: NSCOUNT
    0x00, 0x00,  # bytes 10-11: ARCOUNT
]  # the short datagrams below are its first 0 to 11 bytes

NAME_255 = [
    0x3F, *b"a" * 63,  # 64 octets on the wire
    0x3F, *b"b" * 63,  # 128
    0x3F, *b"c" * 63,  # 192
    0x3D, *b"d" * 61,  # 254
    0x00,  # root: 255 octets, the most a name may have
]

QR_FIRST = "check QR before anything else: a response is dropped, even a malformed one"
COUNT_HINT = ("the counts are claims: read each question or record the header counts, and a read "
              "past the end of the message is FORMERR (stages 3-4 also take exactly one question)")
AN_NS_HINT = "a query carries no answer or authority records: ANCOUNT or NSCOUNT above 0 is FORMERR"
BACKWARDS_HINT = ("a pointer must point before the start of the labels it ends (RFC 1035: a prior "
                  "occurrence); to itself, forwards or past the end, it could loop: FORMERR")
RUN_START_HINT = ("each pointer must point before where the previous one led (remember where each "
                  "run of labels starts), or two pointers can send the reader round forever")
HEADER_HINT = "no name starts inside the 12-byte header: a pointer to offset 0-11 is FORMERR"
HALF_POINTER_HINT = "a pointer is two bytes: check that the second one is there before reading it"
HOPS_HINT = (f"a name follows at most NAME_HOPS_MAX ({NAME_HOPS_MAX}) pointers: a chain of "
             "pointers adds no bytes, so the 255-octet limit alone never stops it")
HOPS_EXACT_HINT = (f"a name may follow {NAME_HOPS_MAX} pointers (NAME_HOPS_MAX) and not one more: "
                   "is the hop limit off by one?")
LABEL_TYPE_HINT = ("the top two bits of a length byte say what it is: 00 a label of 0-63 "
                   "octets, 11 a pointer, 01 (0x40) and 10 (0x80) label types we do not know")
NAME_LENGTH_HINT = ("a name is at most 255 octets counted on the wire, every length byte and the "
                    "root included, and the labels reached through pointers count too")
TRAILING_HINT = ("after the last record the header counts, the message must end: more bytes "
                 "mean a count lies")


def case(sent, verdict, reason, id, hint=None):
    """One case: the datagram, what it gets from stage 2 on, what it is, and the likely mistake
    when the server gets it wrong."""
    return pytest.param(sent, verdict, reason, hint, id=id)


CASES = [
    # ---------------------------------------------------------------------------------------------
    # Not a query: dropped from stage 2 on
    *[case(bytes(GOOD_HEADER[:n]), DROP, f"a {n}-byte datagram (shorter than a header)",
           id=f"{n}-bytes") for n in range(12)],
    case(bytes([
        0xB0, 0x10,  # ID
        0x81, 0x00,  # flags: QR=1 (a response) RD=1
        0x00, 0x00,  # QDCOUNT
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
    ]), DROP, "a response (QR=1), header only", id="qr-header-only"),
    case(bytes([
        0xB0, 0x11,  # ID
        0x85, 0x80,  # flags: QR=1 AA=1 RD=1 RA=1 RCODE=0, as an authoritative reply would be
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x01,  # ANCOUNT 1
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,  # question: example.com. A IN
        *pointer(12),  # answer: owner, a pointer to the question's name
        *A_IN,  # TYPE A, CLASS IN
        0x00, 0x00, 0x0E, 0x10,  # TTL 3600
        0x00, 0x04,  # RDLENGTH 4
        192, 0, 2, 1,  # RDATA 192.0.2.1
    ]), DROP, "a response (QR=1) with a question and an answer", id="qr-with-answer"),
    case(bytes([
        0xB0, 0x12,  # ID
        0x81, 0x00,  # flags: QR=1 RD=1
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x03, *b"abc",  # offset 12: label "abc"
        *pointer(12),  # a pointer back to the name's own start: a loop
        *A_IN,
    ]), DROP, "a response (QR=1) with a pointer loop (QR is checked first: dropped, not FORMERR)",
        id="qr-with-pointer-loop", hint=QR_FIRST),
    case(bytes([
        0xB0, 0x13,  # ID
        0xA9, 0x00,  # flags: QR=1 OPCODE=5 (UPDATE) RD=1: a response first, so not NOTIMP either
        0x00, 0x00,  # QDCOUNT
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
    ]), DROP, "a response (QR=1) with OPCODE 5", id="qr-opcode-5", hint=QR_FIRST),
    case(bytes([
        0xB0, 0x14,  # ID
        0xFF, 0xFF,  # flags: every bit set, QR among them
        0xFF, 0xFF,  # QDCOUNT 65535
        0xFF, 0xFF,  # ANCOUNT 65535
        0xFF, 0xFF,  # NSCOUNT 65535
        0xFF, 0xFF,  # ARCOUNT 65535
    ]), DROP, "a header of all one bits (QR=1)", id="qr-all-ones"),

    # ---------------------------------------------------------------------------------------------
    # Counts that lie
    case(bytes([
        0xB0, 0x20,  # ID
        *RD_QUERY,
        0x00, 0x05,  # QDCOUNT 5, but one question follows
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,  # question 1: example.com. A IN; then the message ends
    ]), FORMERR, "QDCOUNT 5 with one question", id="qdcount-5-one-question", hint=COUNT_HINT),
    case(bytes([
        0xB0, 0x21,  # ID
        *RD_QUERY,
        0xFF, 0xFF,  # QDCOUNT 65535, but one question follows
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,
    ]), FORMERR, "QDCOUNT 65535 with one question", id="qdcount-65535", hint=COUNT_HINT),
    case(bytes([
        0xB0, 0x22,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x01,  # ANCOUNT 1: a query carries no answers
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,  # question: example.com. A IN
        *pointer(12),  # answer: owner, a pointer to the question's name
        *A_IN,  # TYPE A, CLASS IN
        0x00, 0x00, 0x0E, 0x10,  # TTL 3600
        0x00, 0x04,  # RDLENGTH 4
        192, 0, 2, 1,  # RDATA 192.0.2.1
    ]), FORMERR, "ANCOUNT 1 in a query (with a well-formed answer record)",
        id="ancount-1", hint=AN_NS_HINT),
    case(bytes([
        0xB0, 0x23,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x01,  # ANCOUNT 1, and no record follows
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,
    ]), FORMERR, "ANCOUNT 1 in a query, with nothing after the question",
        id="ancount-1-missing", hint=AN_NS_HINT),
    case(bytes([
        0xB0, 0x24,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x03,  # ARCOUNT 3, and no record follows
        *EXAMPLE_COM, *A_IN,
    ]), FORMERR, "ARCOUNT 3 with nothing after the question",
        id="arcount-3-nothing", hint=COUNT_HINT),
    case(bytes([
        0xB0, 0x25,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x03,  # ARCOUNT 3, and one record follows
        *EXAMPLE_COM, *A_IN,
        0x00,  # OPT record: owner name, the root
        0x00, 0x29,  # TYPE OPT (41)
        0x04, 0xD0,  # CLASS: UDP payload size 1232
        0x00, 0x00, 0x00, 0x00,  # TTL: extended RCODE and flags
        0x00, 0x00,  # RDLENGTH 0; records 2 and 3 are missing
    ]), FORMERR, "ARCOUNT 3 with one OPT record", id="arcount-3-one-record", hint=COUNT_HINT),

    # ---------------------------------------------------------------------------------------------
    # Pointers: loops, forwards, into the header, cut in half
    case(bytes([
        0xB0, 0x30,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x03, *b"abc",  # offset 12: label "abc"
        *pointer(12),  # offset 16: to 12, where this name began: abc.abc.abc... forever
        *A_IN,
    ]), FORMERR, "a pointer back to the start of its own name (a loop)",
        id="pointer-loop", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x31,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *pointer(12),  # offset 12: a pointer to 12, itself
        *A_IN,
    ]), FORMERR, "a pointer to itself", id="self-pointer", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x32,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *pointer(14),  # offset 12: a pointer forward, to 14, whose 0x00 would read as the root
        *A_IN,  # offset 14: QTYPE A, QCLASS IN
    ]), FORMERR, "a pointer forward (to a later byte that reads as the root name)",
        id="forward-pointer", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x33,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,  # offset 12: example.com. A IN
        *pointer(AFTER_QUESTION),  # offset 29: record owner, a pointer to itself
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "an additional record's owner is a pointer to itself",
        id="self-pointer-in-record", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x34,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,
        0x03, *b"abc",  # offset 29: record owner, label "abc"
        *pointer(AFTER_QUESTION),  # offset 33: to 29, where the owner began: a loop
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "an additional record's owner points back to its own start (a loop)",
        id="loop-in-record", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x35,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x02,  # ARCOUNT 2
        *EXAMPLE_COM, *A_IN,
        0x00,  # offset 29: record 1, owner name: the root
        *PRIVATE_RR,
        0x00, 0x04,  # RDLENGTH 4
        *pointer(42),  # offset 40: a pointer to 42
        *pointer(40),  # offset 42: a pointer to 40: the two point at each other
        *pointer(42),  # offset 44: record 2, owner: to 42 (backwards), then 40 (backwards), then 42
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "two pointers pointing at each other, reached by a pointer that points backwards",
        id="pointer-ping-pong", hint=RUN_START_HINT),
    case(bytes([
        0xB0, 0x36,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,
        0xC3, 0xFF,  # offset 29: record owner, a pointer to 1023: past the end of the message
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "a pointer past the end of the message",
        id="pointer-past-the-end", hint=BACKWARDS_HINT),
    case(bytes([
        0xB0, 0x37,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *pointer(5),  # offset 12: a pointer to 5, inside the header (the QDCOUNT's low byte)
        *A_IN,
    ]), FORMERR, "a pointer into the header", id="pointer-into-the-header", hint=HEADER_HINT),
    case(bytes([
        0xB0, 0x38,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,
        0x01, *b"x",  # offset 29: record owner, label "x"
        *pointer(11),  # then a pointer to 11, the last byte of the header (ARCOUNT's low byte, 01)
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "a pointer to offset 11, the last byte of the header",
        id="pointer-to-offset-11", hint=HEADER_HINT),
    case(bytes([
        0xB0, 0x39,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xC0,  # offset 12: the first byte of a pointer, and the message ends
    ]), FORMERR, "a pointer cut in half (the message ends after its first byte)",
        id="truncated-pointer", hint=HALF_POINTER_HINT),
    case(bytes([
        0xB0, 0x3A,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,
        0x03, *b"www",  # offset 29: record owner, label "www"
        0xC0,  # then the first byte of a pointer, and the message ends
    ]), FORMERR, "a record's owner ends with half a pointer",
        id="truncated-pointer-in-record", hint=HALF_POINTER_HINT),
    case(pointer_chain(0xB03B, NAME_HOPS_MAX + 1), FORMERR,
         f"a name reached through {NAME_HOPS_MAX + 1} pointers, each pointing to the one before "
         f"(at most {NAME_HOPS_MAX})", id=f"pointer-chain-{NAME_HOPS_MAX + 1}", hint=HOPS_HINT),

    # ---------------------------------------------------------------------------------------------
    # Labels and names
    case(bytes([
        0xB0, 0x40,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x40, *b"a" * 64,  # a 64-octet label: 0x40 has the top bits 01, a label type, not a length
        0x00,  # root
        *A_IN,
    ]), FORMERR, "a 64-octet label (length byte 0x40)", id="label-64-octets", hint=LABEL_TYPE_HINT),
    case(bytes([
        0xB0, 0x41,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x3F, *b"a" * 63,  # 64 octets on the wire
        0x3F, *b"b" * 63,  # 128
        0x3F, *b"c" * 63,  # 192
        0x3E, *b"d" * 62,  # 255
        0x00,  # root: 256 octets, one more than a name may have
        *A_IN,
    ]), FORMERR, "a 256-octet name (at most 255, counted on the wire)",
        id="name-256-octets", hint=NAME_LENGTH_HINT),
    case(bytes([
        0xB0, 0x42,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *NAME_255, *A_IN,  # offset 12: a 255-octet name, A IN: legal
        0x01, *b"x",  # offset 271: record owner, label "x"
        *pointer(12),  # then a pointer to the 255-octet name: 2 + 255 = 257 octets
        *PRIVATE_RR,
        0x00, 0x00,  # RDLENGTH 0
    ]), FORMERR, "a pointer makes a 257-octet name of a 255-octet one",
        id="pointer-name-257-octets", hint=NAME_LENGTH_HINT),
    case(bytes([
        0xB0, 0x43,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x41, *b"x",  # top bits 01: an extended label type (RFC 6891), not a length
        0x00,  # root
        *A_IN,
    ]), FORMERR, "label type 0x40 (top bits 01)", id="label-type-0x40", hint=LABEL_TYPE_HINT),
    case(bytes([
        0xB0, 0x44,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x03, *b"www",  # label "www"
        0x83, *b"com",  # top bits 10: reserved, not a length (nor a pointer, which is 11)
        0x00,  # root
        *A_IN,
    ]), FORMERR, "label type 0x80 (top bits 10) after a good label",
        id="label-type-0x80", hint=LABEL_TYPE_HINT),

    # ---------------------------------------------------------------------------------------------
    # Bytes after the last record
    case(bytes([
        0xB0, 0x50,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *EXAMPLE_COM, *A_IN,  # a valid question
        0xDE, 0xAD, 0xBE, 0xEF,  # garbage: no count says anything follows
    ]), FORMERR, "4 bytes of garbage after a valid question",
        id="trailing-garbage", hint=TRAILING_HINT),
    case(bytes([
        0xB0, 0x51,  # ID
        *RD_QUERY,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,
        0x00,  # OPT record: owner name, the root
        0x00, 0x29,  # TYPE OPT (41)
        0x04, 0xD0,  # CLASS: UDP payload size 1232
        0x00, 0x00, 0x00, 0x00,  # TTL: extended RCODE and flags
        0x00, 0x00,  # RDLENGTH 0
        *EXAMPLE_COM, *A_IN,  # a second question that QDCOUNT does not count
    ]), FORMERR, "a question after the OPT record that no count declares",
        id="trailing-question", hint=TRAILING_HINT),

    # ---------------------------------------------------------------------------------------------
    # Extreme but legal: answered as if the extreme part were not there
    case(pointer_chain(0xB060, NAME_HOPS_MAX), LEGAL,
         f"a name reached through {NAME_HOPS_MAX} pointers, each pointing to the one before, in "
         "the additional section", id=f"pointer-chain-{NAME_HOPS_MAX}", hint=HOPS_EXACT_HINT),
]

# The query whose reply a LEGAL case must get: the same ID and question, nothing else.
PLAIN = {0xB060: plain_query(0xB060)}


def formerr_fields(sent, step):
    """Every field of a FORMERR reply: reply_fields() plus what a header-only reply fixes."""
    fields = g.reply_fields(sent, step, rcode=g.FORMERR)  # CD: copied or 0; RA=1 from stage 6
    fields.update(aa=0, tc=0, ad=0, ancount=0, nscount=0, arcount=0)
    if step < g.RA_FROM:  # RA says "recursion available": the servers up to stage 5 do not recurse
        fields.update(ra=0)
    return fields


def expect_echo(client, sent, reason):
    reply = client.exchange(sent, match_id=False, what=reason)
    g.expect_bytes(reply, sent, f"the echo of {reason}", dns=False,
                   hints=["stage 1 sends back exactly the bytes it received, DNS or not"])


def expect_formerr(client, step, sent, reason, hint=None):
    reply = client.exchange(sent, what=f"a malformed query ({reason})",
                            hints=["a malformed query gets a FORMERR reply, not silence: only "
                                   "datagrams under 12 bytes and responses (QR=1) are dropped"])
    g.expect_header(reply, sent, what=f"the reply to a malformed query ({reason})", step=step,
                    extra_hints=[hint, "a FORMERR reply is the header alone: every count 0"],
                    cause=g.CAUSE_LABEL_TYPE if hint is LABEL_TYPE_HINT else None,
                    **formerr_fields(sent, step))
    g.expect_formerr_body(reply, sent, step, f"the FORMERR reply to {reason}",
                          hints=["a FORMERR reply is the header alone: the question is not echoed"])


def expect_like_plain(client, step, sent, reason, hint=None):
    """A legal query (stage 3 on): its reply is, byte for byte, the reply to the same query without
    its additional section, which the server checks for shape and otherwise ignores."""
    reply = client.exchange(sent, what=reason)
    if len(reply) >= g.HEADER_SIZE and g.Header.parse(reply).rcode == g.FORMERR:
        g.fail_rejected(reply, sent, reason, hints=[hint] if hint else [])
    plain = PLAIN[g.Header.parse(sent).id]
    q = plain[g.HEADER_SIZE:]
    g.expect_correct_reply(step, sent, reply, q)
    want = client.exchange(plain, what="the same query without its additional section")
    g.expect_bytes(reply, want, f"the reply to {reason}", sent=sent, qlen=len(q),
                   hints=["the additional section is checked for shape and otherwise ignored: "
                          "the reply must be the one the query gets without it"])


def of_kind(*verdicts):
    return [c for c in CASES if c.values[1] in verdicts]


@pytest.mark.stage(1, until=1)
@pytest.mark.parametrize("sent,verdict,reason,hint", CASES)
def test_hostile_datagram_is_echoed(client, step, sent, verdict, reason, hint):
    """Stage 1 knows no DNS: every datagram comes back as it was, hostile or not."""
    expect_echo(client, sent, reason)
    g.expect_still_answers(client, step, after=reason)


@pytest.mark.stage(2)
@pytest.mark.parametrize("sent,verdict,reason,hint", of_kind(DROP))
def test_hostile_datagram_is_dropped(client, step, sent, verdict, reason, hint):
    """Under 12 bytes, or QR=1: no reply at all, and the server goes on."""
    client.expect_no_reply(sent, what=reason,
                           hints=[hint, "a datagram under 12 bytes is not a DNS message, and QR=1 "
                                  "marks a response: drop both, without a reply"],
                           cause=("datagrams shorter than a header are answered, not dropped"
                                  if len(sent) < g.HEADER_SIZE else
                                  "responses (QR=1) are answered, not dropped"))
    g.expect_still_answers(client, step, after=reason)


@pytest.mark.stage(2, until=2)
@pytest.mark.parametrize("sent,verdict,reason,hint", of_kind(FORMERR, LEGAL))
def test_hostile_query_gets_the_header_alone(client, step, sent, verdict, reason, hint):
    """Stage 2 reads the header only: whatever follows it, the reply is the header, NOERROR."""
    reply = client.exchange(sent, what=reason,
                            hints=["stage 2 answers every datagram of 12 bytes or more with QR=0, "
                                   "whatever follows the header"])
    g.expect_correct_reply(step, sent, reply, None)
    g.expect_still_answers(client, step, after=reason)


@pytest.mark.stage(3)
@pytest.mark.parametrize("sent,verdict,reason,hint", of_kind(FORMERR))
def test_hostile_query_gets_formerr(client, step, sent, verdict, reason, hint):
    """A malformed query: FORMERR, the header only, and the server goes on."""
    expect_formerr(client, step, sent, reason, hint)
    g.expect_still_answers(client, step, after=reason)


@pytest.mark.stage(3)
@pytest.mark.parametrize("sent,verdict,reason,hint", of_kind(LEGAL))
def test_extreme_but_legal_query_is_answered(client, step, sent, verdict, reason, hint):
    """A query at a limit, not over it: the reply it would get without the extreme part."""
    expect_like_plain(client, step, sent, reason, hint)
    g.expect_still_answers(client, step, after=reason)


# --------------------------------------------------------------------------------------------------
# A burst of random and mutated datagrams

HOSTILE_BURST_SEED = 1035
HOSTILE_BURST_COUNT = 3000
HOSTILE_BURST_CHUNK = 250  # datagrams sent before each check that the server still answers
SETTLE_WAIT = 10.0  # seconds (times DNS_TEST_TIMEOUT_SCALE) for g.settle() to get its reply

GOOD_QUERIES = [
    plain_query(0x1111),  # example.com. A IN
    g.query(0x2222, "www.example.com.", qtype=15),  # MX
    pointer_chain(0x3333, 4),  # a short legal chain in the additional section
    bytes([
        0x44, 0x44,  # ID
        0x00, 0x00,  # flags: QR=0 OPCODE=0 RD=0
        0x00, 0x02,  # QDCOUNT 2 (legal at stage 5)
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *EXAMPLE_COM, *A_IN,  # offset 12: example.com. A IN
        0x04, *b"mail", *pointer(12), *A_IN,  # mail + pointer to 12: mail.example.com. A IN
        0x00, 0x00, 0x29, 0x04, 0xD0, 0, 0, 0, 0, 0x00, 0x00,  # OPT: payload 1232, no options
    ]),
]


def burst(seed, count):
    """`count` datagrams, the same for a given seed, in four kinds by turn: random bytes; a good
    query with a few bytes changed, cut or extended; one of CASES with the same treatment; a query
    header followed by a random run of labels, pointers and bad label types."""
    rng = random.Random(seed)
    cases = [p.values[0] for p in CASES]
    for i in range(count):
        kind = i % 4
        if kind == 0:
            d = bytearray(rng.randbytes(rng.choice([rng.randint(0, 16), rng.randint(0, 600)])))
        elif kind in (1, 2):
            d = bytearray(rng.choice(GOOD_QUERIES if kind == 1 else cases))
            for _ in range(rng.randint(0 if kind == 2 else 1, 4)):
                if d:
                    d[rng.randrange(len(d))] = rng.getrandbits(8)
            cut = rng.random()
            if cut < 0.25 and d:
                d = d[:rng.randint(0, len(d))]
            elif cut < 0.35:
                d += rng.randbytes(rng.randint(1, 20))
        else:
            body = bytearray()
            for _ in range(rng.randint(0, 12)):
                r = rng.random()
                if r < 0.3:  # a pointer, mostly to small offsets: the header, this name, the end
                    body += bytes(pointer(rng.choice([rng.randint(0, 40), rng.getrandbits(14)])))
                elif r < 0.4:  # a bad label type: 01xxxxxx or 10xxxxxx
                    body.append(rng.choice([0x40, 0x80]) | rng.getrandbits(6))
                else:
                    n = rng.choice([rng.randint(0, 63), 63])
                    body += bytes([n]) + rng.randbytes(n)
            if rng.random() < 0.6:
                body += b"\x00" + bytes(A_IN)
            counts = [rng.choice([1, 1, 2, 16, 17]), rng.choice([0, 0, 0, 1]), 0,
                      rng.choice([0, 0, 1, 3])]
            d = bytearray(g.header(rng.getrandbits(16), rng.choice([0, g.RD]), *counts) + body)
        yield bytes(d)


def pending(client, limit):
    """The datagrams waiting on `client`'s socket from the server (at most `limit`), without
    waiting."""
    got = []
    client.sock.setblocking(False)
    try:
        for _ in range(limit):  # bounded: the caller sent at most `limit` datagrams
            data, addr = client.sock.recvfrom(65536)
            if addr == client.address:
                got.append(data)
    except (BlockingIOError, ConnectionRefusedError):
        pass
    finally:
        client.sock.setblocking(True)
    return got


def check_burst_replies(step, replies, sent, first, earlier=()):
    """What replies to junk may be: an echo of something sent (stage 1); from stage 2, a reply
    to something sent (its ID: of this chunk, or of an `earlier` one, whose answer a server that
    forwards or resolves may send after the settle query's), QR=1, 12 to 512 bytes; from stage 3,
    a FORMERR is the header alone."""
    ids = {d[:2] for d in [*sent, *earlier] if len(d) >= g.HEADER_SIZE}
    sent_set = set(sent)
    for reply in replies:
        problem = None
        if step == 1:
            if reply not in sent_set:
                problem = "an echo of something that was not sent"
        elif len(reply) < g.HEADER_SIZE:
            problem = "a reply shorter than a header"
        elif reply[:2] not in ids:
            problem = "a reply whose ID is no query's of the burst so far"
        elif not reply[2] & 0x80:
            problem = "a reply with QR=0"
        elif step <= 5 and len(reply) > 512:
            problem = "a reply over 512 bytes"
        elif (step >= 3 and reply[3] & 0x0F == g.FORMERR and len(reply) != g.HEADER_SIZE
              and not any(d[:2] == reply[:2] and g.formerr_with_opt(reply, d, step)
                          for d in [*sent, *earlier])):
            problem = ("a FORMERR reply that is more than the header"
                       + (" (or the header and an OPT record)" if step >= g.EDNS_FROM else ""))
        if problem:
            g.fail(f"during the burst, datagrams #{first}-#{first + len(sent) - 1}: {problem}",
                   got=g.hexs(reply, 48) + (f"   {g.Header.parse(reply).describe()}"
                                            if len(reply) >= g.HEADER_SIZE else ""),
                   hints=["a reply is built from the query it answers: ID copied, QR=1; a "
                          "FORMERR reply is the 12-byte header alone"])


@pytest.mark.stage(1, until=1)
def test_hostile_burst_is_echoed(server, new_client, step, tmp_path):
    """The burst below, against the echo server: it keeps running and echoing."""
    hostile_burst(server, new_client, step, tmp_path)


@pytest.mark.stage(2)
def test_hostile_burst(server, new_client, step, tmp_path):
    """The burst below: the server keeps running and answering, its replies look like replies."""
    hostile_burst(server, new_client, step, tmp_path)


def hostile_burst(server, new_client, step, tmp_path):
    """3000 datagrams (fixed seed), random or mutated from good queries and from the cases above,
    sent in chunks of 250: after each chunk the server must still be running, its replies to the
    chunk must look like replies for the stage, and a good query must get a correct reply."""
    sent = list(burst(HOSTILE_BURST_SEED, HOSTILE_BURST_COUNT))
    saved = tmp_path / "hostile-burst.txt"
    saved.write_text("".join(f"#{i} {d.hex()}\n" for i, d in enumerate(sent)))
    blaster = new_client(server)
    checker = new_client(server, timeout=2.0)
    for first in range(0, HOSTILE_BURST_COUNT, HOSTILE_BURST_CHUNK):  # 12 chunks
        chunk = sent[first:first + HOSTILE_BURST_CHUNK]
        for k, d in enumerate(chunk):
            blaster.send(d)
            if k % 50 == 49:
                time.sleep(0.002)  # a breath: the loopback queue is not the test
        last = first + len(chunk) - 1
        g.settle(checker, server, SETTLE_WAIT)
        if not server.alive():
            g.fail(f"the server died during the hostile burst, at or before datagram #{last} "
                   f"({server.exit_text()})",
                   details=[f"the datagrams (hex, numbered) are in {saved}"],
                   hints=["a malformed datagram must get FORMERR or be dropped, never crash the "
                          "server",
                          f"look in the server's log for a crash or a sanitizer report: "
                          f"{server.log_path}"])
        check_burst_replies(step, pending(blaster, 2 * len(sent)), chunk, first,
                            earlier=sent[:first])
        g.expect_still_answers(checker, step,
                               after=f"datagrams #{first}-#{last} of a burst of hostile datagrams "
                                     f"(hex in {saved})")
