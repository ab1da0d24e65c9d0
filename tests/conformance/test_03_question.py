"""Stage 3, question: the reply is the stage-2 header plus the question, byte for byte as sent (letter
case kept), QDCOUNT 1. A malformed query gets FORMERR, header only; the additional section (dig's
OPT record) is checked for shape and not echoed."""

import dns.message
import dns.rdatatype
import pytest

import dnsgrader as g

L63 = ["a" * 63, "b" * 63, "c" * 63]

NAMES = [
    pytest.param(".", id="root"),
    pytest.param("com.", id="one-label"),
    pytest.param("www.example.com.", id="three-labels"),
    pytest.param("a.b.c.d.e.f.g.h.i.j.example.", id="eleven-labels"),
    pytest.param("x.y", id="one-octet-labels"),
    pytest.param(".".join(L63[:2]) + ".example.", id="63-octet-labels"),
    # 64 + 64 + 64 + 62 + 1 (root) = 255 octets, the largest name there is
    pytest.param(".".join(L63) + "." + "d" * 61 + ".", id="255-octet-name"),
    pytest.param("ExAmPle.COM.", id="mixed-case"),
    pytest.param("xn--bcher-kva.example-1.net.", id="digits-and-hyphens"),
]

TYPES_AND_CLASSES = [
    pytest.param(1, 1, id="A-IN"),
    pytest.param(28, 1, id="AAAA-IN"),
    pytest.param(15, 1, id="MX-IN"),
    pytest.param(16, 1, id="TXT-IN"),
    pytest.param(65, 1, id="HTTPS-IN"),
    pytest.param(255, 1, id="ANY-IN"),
    pytest.param(16, 3, id="TXT-CH"),
    pytest.param(1, 3, id="A-CH"),
]


def ask(client, step, id_, name, qtype=1, qclass=1, rd=1):
    q = g.question(name, qtype, qclass)
    sent = g.header(id_, g.make_flags(rd=rd), 1) + q
    return sent, q, client.exchange(sent)


@pytest.mark.stage(3)
@pytest.mark.parametrize("name", NAMES)
def test_question_echoed(client, step, name):
    sent, q, reply = ask(client, step, 0x2A5C, name)
    g.expect_header(reply, sent, step=step, id=0x2A5C, qr=1, opcode=0, rd=1, qdcount=1)
    g.expect_question(reply, sent, q, exact=False)


@pytest.mark.stage(3)
@pytest.mark.parametrize("qtype,qclass", TYPES_AND_CLASSES)
def test_qtype_and_qclass_echoed(client, step, qtype, qclass):
    sent, q, reply = ask(client, step, 0x3B6D, "example.org.", qtype, qclass, rd=0)
    g.expect_header(reply, sent, step=step, id=0x3B6D, qr=1, opcode=0, rd=0, qdcount=1)
    g.expect_question(reply, sent, q, exact=False)


@pytest.mark.stage(3, until=3)
@pytest.mark.parametrize("name,qtype,qclass,rd", [
    pytest.param("www.example.com.", 1, 1, 1, id="A-IN-rd"),
    pytest.param("ExAmPle.COM.", 15, 1, 0, id="mixed-case-MX"),
    pytest.param(".", 2, 1, 1, id="root-NS"),
    pytest.param("version.bind.", 16, 3, 0, id="TXT-CH"),
])
def test_reply_is_exactly_header_and_question(client, step, name, qtype, qclass, rd):
    sent, q, reply = ask(client, step, 0xC35A, name, qtype, qclass, rd)
    g.expect_correct_reply(step, sent, reply, q)


@pytest.mark.stage(3)
@pytest.mark.parametrize("edns", [False, True], ids=["plain", "edns"])
def test_dnspython_takes_it_as_the_response(client, step, edns):
    """A real DNS library (dnspython) parses the reply and accepts it as the answer to its query."""
    m = dns.message.make_query("ExAmPle.COM.", "MX", use_edns=0 if edns else None)
    m.id = 0x2B4D
    sent = m.to_wire()
    reply = client.exchange(sent)
    g.expect_answered(reply, sent)
    try:
        r = dns.message.from_wire(reply)
    except Exception as e:  # any parse error is the finding
        g.fail("dnspython cannot parse the reply", expected="a well-formed DNS message",
               got=f"{type(e).__name__}: {e}; the reply: {g.hexs(reply)}", sent=sent)
    if not m.is_response(r):
        g.fail("dnspython does not take the reply as the response to its query",
               expected="the query's ID, QR=1, the same OPCODE and the same question",
               got=f"{g.Header.parse(reply).describe()}; question {[str(x) for x in r.question]}",
               sent=sent)
    got_name = r.question[0].name.to_text()  # is_response() saw the question, so there is one
    if got_name != "ExAmPle.COM.":
        g.fail("the question's name lost its letter case", expected="ExAmPle.COM.", got=got_name,
               hints=["echo the name's bytes as sent; compare names case-insensitively only"])
    if step == 3 and (r.rcode() != 0 or r.answer or r.authority or r.additional or r.edns >= 0):
        g.fail("a stage-3 reply holds the header and the question only",
               expected="RCODE NOERROR, no answer, authority or additional records, no OPT",
               got=f"RCODE {r.rcode()}, {len(r.answer)} answer, {len(r.authority)} authority, "
                   f"{len(r.additional)} additional, OPT {'present' if r.edns >= 0 else 'absent'}",
               hints=["the additional section (dig's OPT record) is read and ignored, not echoed"])


# --------------------------------------------------------------------------------------------------
# Malformed queries: FORMERR, header only. Each message is written out field by field.

QUERY_HEADER_RD = [0x01, 0x00]  # flags: QR=0 OPCODE=0 (QUERY) RD=1
QNAME_EXAMPLE_COM = [
    0x07, *b"example",  # label "example"
    0x03, *b"com",  # label "com"
    0x00,  # root: the name ends
]
A_IN = [0x00, 0x01, 0x00, 0x01]  # QTYPE A, QCLASS IN

FORMERR_CASES = [
    pytest.param(bytes([
        0xF0, 0x20,  # ID
        0x01, 0x05,  # flags: RD=1, RCODE=5: a query has no RCODE of its own (NSD: FORMERR)
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM, *A_IN,
    ]), "the query has an RCODE set: only a response carries one", id="rcode-set"),
    pytest.param(bytes([
        0xF0, 0x01,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x00,  # QDCOUNT 0
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
    ]), "QDCOUNT is 0: there is no question", id="qdcount-0"),
    pytest.param(bytes([
        0xF0, 0x02,  # ID
        *QUERY_HEADER_RD,
        0x01, 0x01,  # QDCOUNT 257 (0x0101), but one question follows
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM, *A_IN,
    ]), "QDCOUNT is 257 (0x0101) and one question follows (read from either byte alone, it looks "
        "like 1)", id="qdcount-257"),
    pytest.param(bytes([
        0xF0, 0x03,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x07, *b"exam",  # a 7-octet label with 4 octets left: it runs past the end
    ]), "a label runs past the end of the message", id="truncated-label"),
    pytest.param(bytes([
        0xF0, 0x04,  # ID
        0x00, 0x00,  # flags: QR=0 OPCODE=0 RD=0
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x07, *b"example",  # label "example"
        0x03, *b"com",  # label "com", then the message ends: no root label, no QTYPE/QCLASS
    ]), "the name has no terminating zero byte (root label)", id="name-without-root"),
    pytest.param(bytes([
        0xF0, 0x05,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x41, *b"x",  # top bits 01: an extended label type (RFC 6891), not a length
        0x00,  # root
        *A_IN,
    ]), "a label byte with top bits 01 (0x40, extended label type)", id="label-type-0x40"),
    pytest.param(bytes([
        0xF0, 0x06,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x83, *b"com",  # top bits 10: reserved, not a length (nor a pointer, which is 11)
        0x00,  # root
        *A_IN,
    ]), "a label byte with top bits 10 (0x80, reserved)", id="label-type-0x80"),
    pytest.param(bytes([
        0xF0, 0x07,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x40, *b"a" * 64,  # a 64-octet label: labels are at most 63 (0x40 is also the 01 type bits)
        0x00,  # root
        *A_IN,
    ]), "a 64-octet label (at most 63)", id="label-64-octets"),
    pytest.param(bytes([
        0xF0, 0x08,  # ID
        *QUERY_HEADER_RD,
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
    ]), "a 256-octet name (at most 255, counted on the wire)", id="name-256-octets"),
    pytest.param(bytes([
        0xF0, 0x09,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM,  # then the message ends: no QTYPE, no QCLASS
    ]), "QTYPE and QCLASS are missing", id="missing-qtype"),
    pytest.param(bytes([
        0xF0, 0x0A,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM,
        0x00, 0x01,  # QTYPE A
        0x00,  # QCLASS cut to one byte
    ]), "QCLASS is cut to one byte", id="qclass-one-byte"),
    pytest.param(bytes([
        0xF0, 0x0B,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x03, *b"abc",  # offset 12: label "abc"
        0xC0, 0x0C,  # offset 16: pointer to 12, where this name began: abc.abc.abc... forever
        *A_IN,
    ]), "a pointer back to the start of its own name (a loop: abc.abc.abc...)", id="pointer-loop"),
    pytest.param(bytes([
        0xF0, 0x0C,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xC0, 0x0C,  # offset 12: a pointer to 12, itself
        *A_IN,
    ]), "a pointer to itself", id="self-pointer"),
    pytest.param(bytes([
        0xF0, 0x0D,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xC0, 0x0E,  # offset 12: a pointer forward, to 14 (a 0x00 there reads as the root name)
        *A_IN,  # offset 14: QTYPE A, QCLASS IN
    ]), "a pointer forward (pointers must point to a prior occurrence)", id="forward-pointer"),
    pytest.param(bytes([
        0xF0, 0x0E,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xC0, 0x0E,  # offset 12: pointer to 14
        0xC0, 0x0C,  # offset 14: pointer to 12: the two point at each other
        *A_IN,
    ]), "two pointers pointing at each other", id="pointer-ping-pong"),
    pytest.param(bytes([
        0xF0, 0x0F,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x01,  # ANCOUNT 1: a query carries no answers
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM, *A_IN,
        *QNAME_EXAMPLE_COM,  # answer: owner name
        0x00, 0x01, 0x00, 0x01,  # TYPE A, CLASS IN
        0x00, 0x00, 0x0E, 0x10,  # TTL 3600
        0x00, 0x04,  # RDLENGTH 4
        192, 0, 2, 1,  # RDATA 192.0.2.1
    ]), "ANCOUNT is 1 in a query (a query carries no answers)", id="ancount-1"),
    pytest.param(bytes([
        0xF0, 0x10,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x01,  # NSCOUNT 1: nor authority records
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM, *A_IN,
        0x00,  # authority record: owner name, the root
        0x00, 0x02, 0x00, 0x01,  # TYPE NS, CLASS IN
        0x00, 0x00, 0x0E, 0x10,  # TTL 3600
        0x00, 0x05,  # RDLENGTH 5
        0x03, *b"ns1", 0x00,  # RDATA: ns1.
    ]), "NSCOUNT is 1 in a query", id="nscount-1"),
    pytest.param(bytes([
        0xF0, 0x11,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1, but no record follows
        *QNAME_EXAMPLE_COM, *A_IN,
    ]), "ARCOUNT is 1 but the additional record is missing", id="additional-missing"),
    pytest.param(bytes([
        0xF0, 0x12,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *QNAME_EXAMPLE_COM, *A_IN,
        0x00,  # OPT record: owner name, the root
        0x00, 0x29,  # TYPE OPT (41)
        0x10,  # CLASS (the UDP payload size) cut after one byte
    ]), "the additional record is cut short", id="additional-cut"),
    pytest.param(bytes([
        0xF0, 0x13,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x01,  # ARCOUNT 1
        *QNAME_EXAMPLE_COM, *A_IN,
        0x00,  # OPT record: owner name, the root
        0x00, 0x29,  # TYPE OPT (41)
        0x10, 0x00,  # CLASS: UDP payload size 4096
        0x00, 0x00, 0x00, 0x00,  # TTL: extended RCODE and flags
        0x00, 0x04,  # RDLENGTH 4, but no RDATA follows
    ]), "the additional record's RDLENGTH runs past the end", id="rdlength-past-end"),
    pytest.param(bytes([
        0xF0, 0x14,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        *QNAME_EXAMPLE_COM, *A_IN,
        0x00,  # one byte after the last declared record
    ]), "a byte after the last record the header declares", id="trailing-byte"),
    pytest.param(bytes([
        0xF0, 0x15,  # ID
        *QUERY_HEADER_RD,
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0x81, *b"a" * 129,  # top bits 10 (reserved): read as a length, 129 octets follow it
        0x00,  # root
        *A_IN,
    ]), "a label byte 0x81 (top bits 10), followed by 129 octets as if it were a length",
        id="label-type-0x81-fits"),
]

# The mistake a server shows when it answers one of these instead of FORMERR, where only one
# mistake makes that possible: each of these is a length byte over 63 a careless reader accepts.
CASE_CAUSES = {"label-64-octets": g.CAUSE_LABEL_TYPE, "label-type-0x81-fits": g.CAUSE_LABEL_TYPE,
               "label-type-0x40": g.CAUSE_LABEL_TYPE, "label-type-0x80": g.CAUSE_LABEL_TYPE}
LABEL_TYPE_HINT = ("the top two bits of a length byte say what it is: 00 a label of 0-63 octets, "
                   "11 a pointer, 01 (0x40) and 10 (0x80) label types we do not know: FORMERR")
FORMERR_CASES = [pytest.param(*p.values, CASE_CAUSES.get(p.id), id=p.id) for p in FORMERR_CASES]


def expect_formerr(client, step, sent, reason, cause=None):
    """FORMERR, the header alone; `cause`: the mistake a reply that is not FORMERR shows."""
    reply = client.exchange(sent, what=f"a malformed query ({reason})",
                            hints=["a malformed query gets a FORMERR reply, not silence: only "
                                   "datagrams under 12 bytes and responses (QR=1) are dropped"])
    g.expect_header(reply, sent, what=f"the reply to a malformed query ({reason})", step=step,
                    extra_hints=[LABEL_TYPE_HINT if cause == g.CAUSE_LABEL_TYPE else None,
                                 "a FORMERR reply is the header alone: every count 0"],
                    cause=cause, **g.reply_fields(sent, step, rcode=g.FORMERR))
    g.expect_formerr_body(reply, sent, step, f"the FORMERR reply to a malformed query ({reason})",
                          hints=["a FORMERR reply is the header alone: the question is not echoed"])


@pytest.mark.stage(3)
@pytest.mark.parametrize("sent,reason,cause", FORMERR_CASES)
def test_malformed_query_gets_formerr(client, step, sent, reason, cause):
    expect_formerr(client, step, sent, reason, cause)
    g.expect_still_answers(client, step, after=f"a malformed query ({reason})")


QDCOUNT_2 = bytes([
    0xE2, 0x01,  # ID
    *QUERY_HEADER_RD,
    0x00, 0x02,  # QDCOUNT 2
    0x00, 0x00,  # ANCOUNT
    0x00, 0x00,  # NSCOUNT
    0x00, 0x00,  # ARCOUNT
    *QNAME_EXAMPLE_COM, *A_IN,  # question 1: example.com. A IN
    0x03, *b"www", *QNAME_EXAMPLE_COM, 0x00, 0x1C, 0x00, 0x01,  # question 2: www.example.com. AAAA IN
])


@pytest.mark.stage(3, until=4)
def test_two_questions_get_formerr(client, step):
    """Until stage 5 a query has exactly one question (as almost every server requires)."""
    expect_formerr(client, step, QDCOUNT_2, "QDCOUNT 2: this stage answers one question only")
    g.expect_still_answers(client, step, after="a query with two questions")


@pytest.mark.stage(3)
@pytest.mark.parametrize("opcode", [1, 2, 5], ids=lambda o: f"opcode-{o}")
def test_notimp_without_reading_the_question(client, step, opcode):
    sent = bytes([
        0x9D, 0x20 + opcode,  # ID
        opcode << 3 | 0x01, 0x00,  # flags: QR=0, OPCODE (bits 11-14), RD=1
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xC0, 0x0C, 0xFF,  # a question that would be FORMERR if it were read
    ])
    reply = client.exchange(sent)
    g.expect_header(reply, sent, step=step,
                    extra_hints=["for OPCODE != 0 the reply is NOTIMP before the question is read"],
                    **g.reply_fields(sent, step, rcode=g.NOTIMP))


# --------------------------------------------------------------------------------------------------
# The additional section: records are checked for shape, then ignored.

DIG_GOOGLE = bytes.fromhex(  # a real `dig google.com` query
    "4bdb"  # ID
    "0120"  # flags: RD=1 AD=1 (dig sets AD)
    "0001 0000 0000 0001"  # QDCOUNT 1, ARCOUNT 1
    "06676f6f676c6503636f6d00 0001 0001"  # google.com. A IN
    "00 0029 1000 00000000 0000"  # OPT: root, type 41, payload 4096, TTL 0, RDLENGTH 0
    .replace(" ", ""))
DIG_COOKIE = bytes.fromhex(
    "5ca1 0120 0001 0000 0000 0001"  # ID, flags RD AD, QDCOUNT 1, ARCOUNT 1
    "076578616d706c6503636f6d00 001c 0001"  # example.com. AAAA IN
    "00 0029 04d0 00000000 000c"  # OPT: payload 1232, RDLENGTH 12
    "000a 0008 0123456789abcdef"  # option COOKIE (10), 8 bytes: a client cookie
    .replace(" ", ""))
ADDITIONAL_A = bytes.fromhex(
    "a11c 0000 0001 0000 0000 0001"  # ID, flags 0, QDCOUNT 1, ARCOUNT 1
    "03777777076578616d706c65036f726700 0001 0001"  # www.example.org. A IN
    "00 0001 0001 00000e10 0004 c0000201"  # an A record for the root: 192.0.2.1, TTL 3600
    .replace(" ", ""))
ADDITIONAL_CASES = [
    pytest.param(DIG_GOOGLE, id="dig-google-opt"),
    pytest.param(DIG_COOKIE, id="dig-opt-cookie"),
    pytest.param(ADDITIONAL_A, id="additional-a-record"),
]


def question_of(sent):
    """The question bytes of a one-question query with a plain name."""
    return sent[g.HEADER_SIZE:g.name_end(sent, g.HEADER_SIZE) + 4]


@pytest.mark.stage(3, until=3)
def test_dig_query_reply_exactly(client, step):
    reply = client.exchange(DIG_GOOGLE, what="dig's query for google.com (with an OPT record)")
    expected = bytes.fromhex(
        "4bdb"  # ID, copied
        "8100"  # QR=1, RD=1 copied, AD=0
        "0001 0000 0000 0000"  # QDCOUNT 1, ARCOUNT 0: the OPT record is not echoed
        "06676f6f676c6503636f6d00 0001 0001".replace(" ", ""))  # the question, as sent
    g.expect_header(reply, DIG_GOOGLE, step=step, **g.reply_fields(DIG_GOOGLE, step, qdcount=1))
    hints, cause = g.question_findings(reply[g.HEADER_SIZE:], question_of(DIG_GOOGLE), DIG_GOOGLE)
    g.expect_bytes(reply, expected, "the reply to dig's query", sent=DIG_GOOGLE, qlen=16,
                   hints=hints, cause=cause)


@pytest.mark.stage(3, until=3)
@pytest.mark.parametrize("sent", ADDITIONAL_CASES)
def test_additional_section_is_not_echoed(client, step, sent):
    reply = client.exchange(sent)
    g.expect_header(reply, sent, step=step, **g.reply_fields(sent, step, qdcount=1))
    g.expect_question(reply, sent, question_of(sent), exact=True)


@pytest.mark.stage(3)
@pytest.mark.parametrize("sent", ADDITIONAL_CASES)
def test_additional_section_is_not_formerr(client, step, sent):
    reply = client.exchange(sent)
    # A FORMERR here is reported first, as a well-formed query rejected (expect_header).
    g.expect_header(reply, sent, step=step, id=g.Header.parse(sent).id, qr=1, qdcount=1)
    g.expect_question(reply, sent, question_of(sent), exact=False)


PADDED = bytes([
    0x9A, 0xD1,  # ID
    0x01, 0x20,  # flags: RD=1 AD=1
    0x00, 0x01,  # QDCOUNT 1
    0x00, 0x00,  # ANCOUNT
    0x00, 0x00,  # NSCOUNT
    0x00, 0x01,  # ARCOUNT 1
    *QNAME_EXAMPLE_COM, *A_IN,
    0x00,  # OPT record: owner name, the root
    0x00, 0x29,  # TYPE OPT (41)
    0x10, 0x00,  # CLASS: UDP payload size 4096
    0x00, 0x00, 0x00, 0x00,  # TTL: extended RCODE and flags
    0x04, 0xB4,  # RDLENGTH 1204
    0x00, 0x0C,  # option PADDING (12, RFC 7830)
    0x04, 0xB0,  # option length 1200
    *bytes(1200),  # the padding: zeros
])  # 1244 bytes in all


@pytest.mark.stage(3)
def test_query_longer_than_512_bytes(client, step):
    """A padded query of 1244 bytes is well formed; a server that receives into a 512-byte buffer
    sees its OPT record cut short and answers FORMERR."""
    reply = client.exchange(PADDED, what="a padded 1244-byte query")
    # A FORMERR is reported first (expect_header), with the 512-byte buffer among its hints.
    g.expect_header(reply, PADDED, step=step, id=0x9AD1, qr=1, rd=1)
    g.expect_header(reply, PADDED, step=step, qdcount=1)
    g.expect_question(reply, PADDED, question_of(PADDED), exact=step == 3)
