"""Stage 5, compression (RFC 1035 4.1.4): the stage-4 server, now writing names compressed and
answering queries of up to 16 questions, whose names may point into each other.

  - a name that repeats (a suffix of) an earlier name ends with a pointer (two bytes, 11 then the
    14-bit offset): the first answer's owner, the question's name, is c0 0c (offset 12), and the
    names inside NS, CNAME, MX and SOA RDATA are compressed too;
  - a query of 1 to 16 questions gets all the answers in one reply; its RCODE is the first that is
    not NOERROR among the questions; 0 or more than 16 questions: FORMERR. RFC 9619 (2024) says a
    query of more than one question is malformed: a server that answers it with FORMERR, the header
    alone, passes these tests too, and grade.py says which of the two it saw;
  - hostile pointers (loops, forward pointers, names over 255 octets) get FORMERR, and the server
    keeps answering.

The zones are test_04_answer.py's (served by the same fixtures); every stage-4 test also runs at
stage 5. Stage 6 serves its zones the same way: these tests run there too (RD=0: nothing is
forwarded)."""

import signal
import socket
import struct
import subprocess

import pytest

import dnsgrader as g
# The fixtures and checks of stage 4 (auth and asker are fixtures).
from test_04_answer import (  # noqa: F401
    UDP_MAX, WWW_A, _lines, asker, auth, expect_reply, expect_section, parse_reply)

# --------------------------------------------------------------------------------------------------
# Reading a message byte by byte (pointers included): where each name is and how it was written.


class WireError(Exception):
    pass


def read_name(data, off):
    """Reads the name at `off`: (labels as bytes, offset just after it where it is written, pointers
    followed). Raises WireError for what RFC 1035 forbids: a pointer that does not point before the
    name it is in (each pointer of a name points before the previous one's target, as dnspython
    checks: no loops), an unknown label type, a name over 255 octets, or running past the end."""
    labels, end, jumps, pos, octets, limit = [], None, 0, off, 1, off
    while True:  # bounded: pointer targets strictly decrease, labels move forwards
        if pos >= len(data):
            raise WireError(f"the name at offset {off} runs past the end of the message")
        n = data[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise WireError(f"a pointer cut in half at offset {pos}")
            target = (n & 0x3F) << 8 | data[pos + 1]
            if target >= limit:
                raise WireError(f"the pointer at offset {pos} points to {target}: not before the "
                                f"name it is part of (offset {limit})")
            if end is None:
                end = pos + 2
            jumps += 1
            pos = limit = target
            continue
        if n & 0xC0:
            raise WireError(f"label type 0x{n & 0xC0:02x} at offset {pos}")
        if n == 0:
            break
        labels.append(data[pos + 1:pos + 1 + n])
        octets += n + 1
        if octets > 255:
            raise WireError(f"the name at offset {off} is over 255 octets long")
        pos += n + 1
    return labels, (pos + 1 if end is None else end), jumps


def name_text(labels):
    return ".".join(l.decode("ascii", "backslashreplace") for l in labels) + "."


class Name:
    """One name found in a message: where, how long on the wire, how many pointers, its labels."""

    def __init__(self, data, off, where):
        self.off, self.where = off, where
        self.labels, self.end, self.jumps = read_name(data, off)
        self.wire_len = self.end - off

    def suffixes(self):
        low = [l.lower() for l in self.labels]
        return {tuple(low[i:]) for i in range(len(low))}

    def text(self):
        return name_text(self.labels)


RDATA_NAMES = {2: "NS", 5: "CNAME", 12: "PTR", 6: "SOA", 15: "MX"}


def walk(data):
    """Every name of a message in order, and its questions and records:
    (names, questions [(Name, qtype, qclass)], records [dict(section, owner, type, rdata_off,
    rdlength, rdata_names)]). Raises WireError."""
    if len(data) < g.HEADER_SIZE:
        raise WireError("shorter than a header")
    counts = struct.unpack("!4H", data[4:12])
    names, questions, records = [], [], []
    pos = g.HEADER_SIZE
    for i in range(counts[0]):
        n = Name(data, pos, f"question {i + 1}")
        names.append(n)
        if n.end + 4 > len(data):
            raise WireError(f"question {i + 1} is cut short")
        qtype, qclass = struct.unpack("!HH", data[n.end:n.end + 4])
        questions.append((n, qtype, qclass))
        pos = n.end + 4
    for section, count in zip(("answer", "authority", "additional"), counts[1:]):
        for i in range(count):
            owner = Name(data, pos, f"{section} record {i + 1}: owner")
            names.append(owner)
            if owner.end + 10 > len(data):
                raise WireError(f"{section} record {i + 1} is cut short")
            rtype, _, _, rdlength = struct.unpack("!HHIH", data[owner.end:owner.end + 10])
            rdata_off = owner.end + 10
            if rdata_off + rdlength > len(data):
                raise WireError(f"the RDATA of {section} record {i + 1} runs past the end")
            rec = dict(section=section, index=i + 1, owner=owner, type=rtype, rdata_off=rdata_off,
                       rdlength=rdlength, rdata_names=[])
            if rtype in RDATA_NAMES:
                at = rdata_off + (2 if rtype == 15 else 0)  # MX: the preference comes first
                for k in range(2 if rtype == 6 else 1):  # SOA: MNAME, RNAME
                    n = Name(data, at, f"{section} record {i + 1}: {RDATA_NAMES[rtype]} RDATA")
                    if n.end > rdata_off + rdlength:
                        raise WireError(f"a name in the RDATA of {section} record {i + 1} runs past "
                                        "its RDLENGTH")
                    names.append(n)
                    rec["rdata_names"].append(n)
                    at = n.end
            records.append(rec)
            pos = rdata_off + rdlength
    if pos != len(data):
        raise WireError(f"{len(data) - pos} bytes after the last record")
    return names, questions, records


def walk_or_fail(raw, sent, what):
    error = None
    try:
        return walk(raw)
    except WireError as e:
        error = str(e)
    g.fail(f"the reply to {what} is not a well-formed message", got=error,
           details=[f"the reply ({len(raw)} bytes): {g.hexs(raw, 96)}"], sent=sent,
           hints=["a pointer is 11 then a 14-bit offset of an earlier name or suffix in the "
                  "same message, counted from the first byte of the header"])


# --------------------------------------------------------------------------------------------------
# Writing: compressed names


@pytest.mark.stage(5, until=6)
@pytest.mark.parametrize("name,qtype", [
    pytest.param("www.zone4.test.", "A", id="A"),
    pytest.param("zone4.test.", "MX", id="MX"),
    pytest.param("web.zone4.test.", "A", id="CNAME-chain"),
    pytest.param("FoO.wild.zone4.test.", "TXT", id="wildcard-mixed-case"),
    pytest.param("WwW.ZoNe4.TeSt.", "A", id="mixed-case"),
])
def test_first_answer_owner_points_to_the_question(asker, name, qtype):
    """The first answer's owner is the question's name, which starts at offset 12: it is written as
    the two bytes c0 0c (a pointer to offset 12), and still reads as the query's name, case kept."""
    r = asker.ask(name, qtype)
    at = g.HEADER_SIZE + len(r.q)
    g.expect_header(r.raw, r.sent, what=f"the reply to {r.what}", step=r.step, qr=1, rcode=g.NOERROR,
                    qdcount=1)
    if r.hdr.ancount == 0:
        g.fail(f"the reply to {r.what} has no answer", expected="ANCOUNT > 0", got="ANCOUNT 0",
               sent=r.sent)
    got = r.raw[at:at + 2]
    if got != b"\xc0\x0c":
        hints = ["the owner of the first answer repeats the question's name: write the pointer "
                 "c0 0c (top two bits 11, offset 12, where the question's name starts) instead"]
        if r.raw[at:at + len(r.q) - 4].lower() == r.q[:-4].lower():
            hints.append("the name is written out in full: is the compression table filled with the "
                         "question's name (and each of its suffixes) before the answers are written?")
        elif got[:1] and got[0] & 0xC0 == 0xC0:
            hints.append(f"a pointer to offset {(got[0] & 0x3F) << 8 | got[1]}: the offset counts "
                         "from the first byte of the header (the ID), so the question's name is at 12")
        g.fail(f"the reply to {r.what}: the first answer's owner is not a pointer to the question",
               expected=f"c0 0c at byte {at} (just after the question)",
               got=g.hex_at(r.raw, at, 8), sent=r.sent, hints=hints)
    owners = [rrset.name.to_text() for rrset in r.msg.answer]
    if owners[0] != name:
        g.fail(f"the reply to {r.what}: the first answer's owner does not read as the query's name",
               expected=name, got=owners[0], sent=r.sent)


@pytest.mark.stage(5, until=6)
@pytest.mark.parametrize("name,qtype", [
    pytest.param("zone4.test.", "MX", id="MX-and-additional"),
    pytest.param("zone4.test.", "NS", id="NS-and-additional"),
    pytest.param("ftp.zone4.test.", "A", id="CNAME-chain"),
    pytest.param("zone4.test.", "SOA", id="SOA"),
    pytest.param("www.zone4.test.", "AAAA", id="NODATA-SOA"),
    pytest.param("nosuch.zone4.test.", "A", id="NXDOMAIN-SOA"),
    pytest.param("www.sub.zone4.test.", "A", id="referral"),
    pytest.param("www.g.zone4.test.", "A", id="referral-with-much-glue"),
])
def test_repeated_names_are_pointers(asker, name, qtype):
    """Every name of the reply — owners, and the names in NS, CNAME, MX and SOA RDATA — that repeats
    a name or suffix already written (compared without case) ends with a pointer; and every pointer
    points to an earlier byte. All these names are under zone4.test, which the question holds."""
    r = asker.ask(name, qtype)
    names, _, _ = walk_or_fail(r.raw, r.sent, r.what)
    seen = set()
    plain = []
    for n in names:
        if n.jumps == 0 and any(s in seen for s in n.suffixes()):
            plain.append(n)
        seen |= n.suffixes()
    if plain:
        n = plain[0]
        in_rdata = "RDATA" in n.where
        g.fail(f"the reply to {r.what}: {len(plain)} name(s) written in full although they repeat "
               "an earlier name or suffix",
               details=[f"{p.where} at byte {p.off}: {p.text()} ({p.wire_len} bytes: "
                        f"{g.hex_at(r.raw, p.off, min(p.wire_len, 24))})" for p in plain[:6]],
               expected=f"{n.text()} ending with a pointer (c0 xx) to where it, or a suffix of it, "
                        "was written before",
               got=f"{n.wire_len} bytes, no pointer", sent=r.sent,
               hints=["the names inside NS, CNAME, MX, PTR and SOA RDATA go through the compression "
                      "table too (RFC 1035 4.1.4), and RDLENGTH counts the compressed RDATA"
                      if in_rdata else
                      "every owner name goes through the compression table: look up the longest "
                      "suffix already written, write the labels before it, then the pointer"])


def uncompressed_size(msg):
    """What the reply would take with no compression at all: the header, each question's name in full
    and the fixed fields, each record written in full (dnspython's to_wire with compress=None)."""
    import io
    size = g.HEADER_SIZE
    for q in msg.question:
        size += len(q.name.to_wire()) + 4
    for section in (msg.answer, msg.authority, msg.additional):
        for rrset in section:
            f = io.BytesIO()
            rrset.to_wire(f, compress=None)
            size += len(f.getvalue())
    return size


@pytest.mark.stage(5, until=6)
@pytest.mark.parametrize("name,qtype", [
    pytest.param("www.sub.zone4.test.", "A", id="referral"),
    pytest.param("zone4.test.", "MX", id="MX"),
])
def test_compressed_reply_is_smaller(asker, name, qtype):
    """A referral and an MX answer repeat the zone's name many times: compressed, the reply is
    smaller than the same records written in full. The uncompressed size is computed from the reply
    itself (dnspython re-encodes the records it read with compress=None), so the test does not
    depend on the stage-4 binary nor on the server's record order; dnspython's own compressed
    encoding of the same message is shown for comparison."""
    r = asker.ask(name, qtype)
    full = uncompressed_size(r.msg)
    if len(r.raw) >= full:
        g.fail(f"the reply to {r.what} is not compressed",
               expected=f"fewer than {full} bytes (the same records without compression); "
                        f"dnspython compresses it to {len(r.msg.to_wire())} bytes",
               got=f"{len(r.raw)} bytes", sent=r.sent,
               hints=["write every owner name, and the names in NS, CNAME, MX and SOA RDATA, "
                      "through the compression table"])


# --------------------------------------------------------------------------------------------------
# Reading: queries of several questions, names pointing into each other

QUERY_FLAGS = g.make_flags(rd=0)
A_IN = struct.pack("!HH", 1, 1)
WWW_Q = b"\x03www\x05zone4\x04test\x00"  # at offset 12; "zone4.test." starts at 16 (0x10)
ZONE4_PTR = b"\xc0\x10"


def multi_query(id_, questions, qdcount=None):
    """A query whose question section is the given raw questions (name bytes + type/class)."""
    body = b"".join(questions)
    return g.header(id_, QUERY_FLAGS, len(questions) if qdcount is None else qdcount) + body


def answers_several_questions(raw, sent, what, step):
    """A query of several questions may get every question answered (the workbook's step 5) or
    FORMERR, the header alone (RFC 9619: QDCOUNT is at most 1). Notes which (grade.py prints it);
    returns True when the questions were answered, for the test to check the answers, False for a
    FORMERR reply, checked here."""
    if len(raw) >= g.HEADER_SIZE and g.Header.parse(raw).rcode == g.FORMERR:
        g.expect_header(raw, sent, what=f"the FORMERR reply to {what}", step=step,
                        extra_hints=["a FORMERR reply is the header alone: every count 0"],
                        **g.reply_fields(sent, step, rcode=g.FORMERR))
        g.expect_bytes(raw, raw[:g.HEADER_SIZE], f"the FORMERR reply to {what} (the header alone)",
                       sent=sent, hints=["a FORMERR reply is the header alone: the questions are "
                                         "not echoed"])
        g.note("multi_question", "formerr")
        return False
    g.note("multi_question", "answered")
    return True


def expect_questions_echoed(raw, sent, what):
    """The reply's questions read as the query's: same names (letter case kept), types and classes."""
    want = walk_or_fail(sent, None, f"(the test's own query) {what}")[1]
    got = walk_or_fail(raw, sent, what)[1]
    w = [(name_text(n.labels), t, c) for n, t, c in want]
    h = [(name_text(n.labels), t, c) for n, t, c in got]
    if w != h:
        g.fail(f"the reply to {what}: the questions do not read as the query's",
               details=["expected:", *_lines([f"{n} type {t} class {c}" for n, t, c in w]),
                        "got:", *_lines([f"{n} type {t} class {c}" for n, t, c in h])],
               sent=sent, hints=["echo every question, each name as sent (its case kept); names may "
                                 "be compressed in the reply, but must read the same"])


@pytest.mark.stage(5, until=6)
def test_second_question_points_into_the_first(asker, step):
    """Two questions; the second's name is the label "mail" then a pointer to offset 16, where
    "zone4.test." starts inside the first question (03 www 05 zone4 04 test 00): both are answered,
    in one reply with QDCOUNT 2."""
    sent = multi_query(0x5A01, [
        WWW_Q + A_IN,  # offset 12: www.zone4.test. A IN
        b"\x04mail" + ZONE4_PTR + A_IN,  # mail + pointer to 16: mail.zone4.test. A IN
    ])
    raw = asker.client.exchange(sent, what="two questions, the second pointing into the first")
    what = "www.zone4.test. A + mail.zone4.test. A (compressed)"
    if not answers_several_questions(raw, sent, what, step):
        return
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, id=0x5A01, qr=1, rd=0,
                    ra=1 if step >= g.RA_FROM else 0,
                    rcode=g.NOERROR, aa=1, tc=0, qdcount=2,
                    extra_hints=["a stage-5 server takes up to 16 questions: each is answered into "
                                 "the same reply", "the second name is 'mail' then the pointer "
                                 "c0 10: offset 16 is where 'zone4.test.' starts in the first"])
    expect_questions_echoed(raw, sent, what)
    r = parse_reply(raw, sent, what)
    expect_section(ReplyView(sent, raw, r, what), "answer",
                   [*WWW_A, "mail.zone4.test. 3600 IN A 192.0.2.25"])


class ReplyView:
    """Enough of test_04_answer.Reply for expect_section on a hand-made query."""

    def __init__(self, sent, raw, msg, what):
        self.sent, self.raw, self.msg, self.what = sent, raw, msg, what


@pytest.mark.stage(5, until=6)
@pytest.mark.parametrize("questions,rcode", [
    pytest.param([WWW_Q + A_IN, b"\x03def" + ZONE4_PTR + A_IN,
                  b"\x07example\x07invalid\x00" + A_IN], g.NXDOMAIN, id="noerror-nxdomain-refused"),
    pytest.param([b"\x07example\x07invalid\x00" + A_IN, WWW_Q + A_IN,
                  b"\x03def\xc0\x21" + A_IN], g.REFUSED, id="refused-first"),
    pytest.param([WWW_Q + struct.pack("!HH", 28, 1), b"\x03def" + ZONE4_PTR + A_IN],
                 g.NXDOMAIN, id="nodata-then-nxdomain"),
    pytest.param([WWW_Q + struct.pack("!HH", 28, 1), b"\x04mail" + ZONE4_PTR + A_IN],
                 g.NOERROR, id="all-noerror"),
])
def test_rcode_is_the_first_that_is_not_noerror(asker, step, questions, rcode):
    """Several questions, one RCODE: the first that is not NOERROR, in question order (def.zone4.test
    does not exist; example.invalid is not ours)."""
    sent = multi_query(0x5B00 + len(questions) + rcode, questions)
    what = f"a query of {len(questions)} questions"
    raw = asker.client.exchange(sent, what=what)
    if not answers_several_questions(raw, sent, what, step):
        return
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, qr=1, rcode=rcode,
                    qdcount=len(questions),
                    extra_hints=["the reply's RCODE is the first RCODE other than NOERROR among the "
                                 "questions' answers, taken in order"])
    expect_questions_echoed(raw, sent, what)
    parse_reply(raw, sent, what)


SIXTEEN = [
    WWW_Q + A_IN,  # 1, at offset 12
    *[bytes([len(label)]) + label + ZONE4_PTR + A_IN
      for label in (b"mail", b"mail2", b"ns1", b"ns2", b"v6only", b"txt", b"b", b"mixed", b"web",
                    b"ftp", b"eight-8")],  # 2-12: label + pointer to zone4.test.
    b"\x01a\x01b" + ZONE4_PTR + A_IN,  # 13: a.b.zone4.test.
    b"\x04host\x04wild" + ZONE4_PTR + A_IN,  # 14: host.wild.zone4.test.
    ZONE4_PTR + A_IN,  # 15: zone4.test. itself, a bare pointer
    b"\xc0\x0c" + struct.pack("!HH", 28, 1),  # 16: www.zone4.test. again (AAAA), a pointer to 12
]


@pytest.mark.stage(5, until=6)
def test_sixteen_questions_are_answered(asker, step):
    """16 questions, the most a query may carry: one reply, QDCOUNT 16, NOERROR (every name exists),
    each question echoed, at most 512 bytes, readable by dnspython."""
    sent = multi_query(0x5C10, SIXTEEN)
    what = "a query of 16 questions"
    raw = asker.client.exchange(sent, what=what)
    if not answers_several_questions(raw, sent, what, step):
        return
    hints = ["up to 16 questions are answered; 17 or more: FORMERR"]
    if len(raw) >= g.HEADER_SIZE and g.Header.parse(raw).rcode not in (g.NOERROR, g.FORMERR):
        # Which question is it? Ask each alone.
        for n, qtype, _ in walk_or_fail(sent, None, what)[1]:
            alone = asker.ask(n.text(), qtype)
            if alone.hdr.rcode != g.NOERROR:
                hints.append(f"asked alone, {alone.what} gets {g.RCODE_NAMES.get(alone.hdr.rcode)}"
                             " (every name of this query exists in zone4.test)")
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, qr=1, rcode=g.NOERROR,
                    qdcount=16, extra_hints=hints)
    expect_questions_echoed(raw, sent, what)
    parse_reply(raw, sent, what)
    if len(raw) > UDP_MAX:
        g.fail(f"the reply to {what} is longer than 512 bytes", got=f"{len(raw)} bytes", sent=sent)


@pytest.mark.stage(5, until=6)
def test_the_most_question_octets_are_answered(asker, step):
    """Two questions whose names add up to 300 octets, the most a query may carry (a 255-octet
    name and a 45-octet one, sharing nothing but the root): both answered (REFUSED: neither is
    ours), both echoed, no TC. 300 octets of names and 16 questions always fit in 512 bytes
    (12 + 300 + 16 x 4), so a reply can always repeat its questions."""
    sent = multi_query(0x5C20, [NAME_255 + A_IN, NAME_45 + A_IN])
    what = "a query of two questions, 255 + 45 = 300 octets of names"
    raw = asker.client.exchange(sent, what=what)
    if not answers_several_questions(raw, sent, what, step):
        return
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, qr=1, tc=0, qdcount=2,
                    rcode=g.REFUSED,
                    extra_hints=["names that add up to 300 octets are answered; more is FORMERR "
                                 "(the work a query costs grows with the octets of its names)"])
    expect_questions_echoed(raw, sent, what)
    parse_reply(raw, sent, what)


@pytest.mark.stage(5, until=6)
def test_rdata_names_keep_the_zones_case(asker):
    """ZONE4.TEST. NS: the answer's owner points at the question (c0 0c, so it reads ZONE4.TEST.),
    but the NS target is ns1.zone4.test. as the zone writes it: compression matches suffixes byte
    for byte, so the target cannot point into the question's upper-case labels."""
    r = asker.ask("ZONE4.TEST.", "NS")
    at = g.HEADER_SIZE + len(r.q)
    if r.raw[at:at + 2] != b"\xc0\x0c":
        g.fail("the answer's owner is not a pointer to the question", expected="c0 0c",
               got=g.hex_at(r.raw, at, 2), sent=r.sent)
    targets = sorted(rd.target.to_text() for rrset in r.msg.answer for rd in rrset)
    if targets != ["ns1.zone4.test.", "ns2.zone4.test."]:
        g.fail("the NS targets of ZONE4.TEST. changed letter case", sent=r.sent,
               expected="ns1.zone4.test. and ns2.zone4.test., as in the zone file",
               got=", ".join(targets),
               hints=["a compression pointer repeats the bytes it points to: match suffixes "
                      "byte for byte (case included), or 'zone4.test.' points into "
                      "'ZONE4.TEST.' of the question"])


def expect_formerr(client, step, sent, reason):
    reply = client.exchange(sent, what=f"a malformed query ({reason})")
    g.expect_header(reply, sent, what=f"the reply to a malformed query ({reason})", step=step,
                    extra_hints=["a FORMERR reply is the header alone: every count 0"],
                    **g.reply_fields(sent, step, rcode=g.FORMERR))
    g.expect_bytes(reply, reply[:g.HEADER_SIZE], f"the FORMERR reply ({reason})", sent=sent,
                   hints=["a FORMERR reply is the header alone: the questions are not echoed"])


NAME_255 = (b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
            + b"\x3d" + b"d" * 61 + b"\x00")  # 64 + 64 + 64 + 62 + 1 = 255 octets
NAME_45 = b"\x2b" + b"e" * 43 + b"\x00"  # 44 + 1 = 45 octets: 255 + 45 = 300
NAME_47 = b"\x2d" + b"e" * 45 + b"\x00"  # 46 + 1 = 47 octets: 255 + 47 = 302
X_ROOT = b"\x01x\x00"  # x., 3 octets: at offset 12 when it is the first question
Q2_AT = g.HEADER_SIZE + len(WWW_Q) + 4  # where a question after WWW_Q + A_IN starts: 32 (0x20)


def labels(*sizes):
    """Labels of the given lengths ("a" * n each), without the root: 1 + n octets each."""
    return b"".join(bytes([n]) + b"a" * n for n in sizes)


def pointer_chain_over_255():
    """Four questions: x., y + a pointer to it, z + a pointer to that, then 250 octets of labels
    + a pointer to z.y.x. (7 octets): the last name is 257 octets, reached through three pointers.
    The names add up to 3 + 5 + 7 + 257 = 272 octets, under the 300 a query may carry: only the
    length of the last one is wrong."""
    return [
        X_ROOT + A_IN,  # at 12
        b"\x01y\xc0\x0c" + A_IN,  # at 19: y.x.
        b"\x01z" + struct.pack("!H", 0xC000 | 19) + A_IN,  # at 27: z.y.x.
        labels(63, 63, 63, 57) + struct.pack("!H", 0xC000 | 27) + A_IN,  # 250 + 7 octets
    ]


HOSTILE = [
    pytest.param(multi_query(0xE501, []), "QDCOUNT 0: no question", id="qdcount-0"),
    pytest.param(multi_query(0xE502, SIXTEEN + [b"\x03def" + ZONE4_PTR + A_IN]),
                 "17 questions (at most 16)", id="qdcount-17"),
    pytest.param(multi_query(0xE503, SIXTEEN, qdcount=17),
                 "QDCOUNT 17 but 16 questions follow", id="qdcount-17-with-16-questions"),
    pytest.param(multi_query(0xE504, [WWW_Q + A_IN, bytes([0xC0, Q2_AT]) + A_IN]),
                 "the second name is a pointer to itself", id="self-pointer-in-question-2"),
    pytest.param(multi_query(0xE505, [WWW_Q + A_IN, b"\x03abc" + bytes([0xC0, Q2_AT]) + A_IN]),
                 "the second name points back to its own start: abc.abc.abc... (a loop)",
                 id="loop-in-question-2"),
    pytest.param(multi_query(0xE506, [b"\x03www" + bytes([0xC0, 12 + 4 + 2 + 4]) + A_IN,
                                      b"\x05zone4\x04test\x00" + A_IN]),
                 "the first name ends with a pointer forward, into the second question",
                 id="forward-pointer-into-question-2"),
    pytest.param(multi_query(0xE507, [X_ROOT + A_IN,
                                      labels(63, 63, 63, 61) + b"\xc0\x0c" + A_IN]),
                 "the second name is 254 octets of labels + a pointer to x. (3 octets): 257 "
                 "octets", id="pointer-makes-a-name-over-255"),
    pytest.param(multi_query(0xE508, pointer_chain_over_255()),
                 "a chain of pointers builds a 257-octet name in the fourth question",
                 id="pointer-chain-over-255"),
    pytest.param(multi_query(0xE509, [WWW_Q + A_IN, b"\x03def\xc1\xff" + A_IN]),
                 "the second name points past the end of the message", id="pointer-past-the-end"),
    pytest.param(multi_query(0xE50A, [WWW_Q + A_IN, b"\x03def\xc0"]),
                 "the second name ends with half a pointer", id="half-a-pointer"),
    pytest.param(multi_query(0xE50B, [NAME_255 + A_IN]
                             + [struct.pack("!HHH", 0xC000 | (12 + 64 * (i % 3)), 1, 1)
                                for i in range(15)]),
                 "16 names of 127 to 255 octets in 361 bytes, each a pointer into the first: more "
                 "than 300 octets of names, whose work would cost 60 normal queries",
                 id="question-octets-over-300"),
    pytest.param(multi_query(0xE50C, [NAME_255 + A_IN, NAME_47 + A_IN]),
                 "a 255-octet name and a 47-octet one: 302 octets of names, 2 more than a query "
                 "may carry", id="question-octets-302"),
]


@pytest.mark.stage(5, until=6)
@pytest.mark.parametrize("sent,reason", HOSTILE)
def test_hostile_questions_get_formerr(asker, step, sent, reason):
    """Malformed question sections, mostly with pointers: FORMERR (header only), and the server still
    answers a good query correctly afterwards."""
    expect_formerr(asker.client, step, sent, reason)
    g.expect_still_answers(asker.client, step, after=f"a malformed query ({reason})")
    r = asker.ask("www.zone4.test.", "A")
    expect_reply(r, g.NOERROR, aa=1, answer=WWW_A)


# --------------------------------------------------------------------------------------------------
# --workers N: several processes answering on one port (SO_REUSEPORT), from stage 5 on.


@pytest.mark.build_only
@pytest.mark.stage(5)
def test_workers_answer_on_one_port_and_stop_together(spawn, step):
    """With --workers 2, queries from many source ports (the kernel spreads them over the workers by
    a hash of the sender's address) are all answered correctly, and from stage 9 on queries over
    TCP too; one SIGTERM stops every worker: exit status 0, and the port is free again for a
    socket that does not share it."""
    srv = spawn("--workers", "2")
    q = g.question("www.example.com.", 1, 1)
    for i in range(40):  # 40 source ports: both workers get some, whatever the hash
        client = g.Client((srv.host, srv.port), srv)
        try:
            sent = g.header(0x5700 + i, g.RD, 1) + q
            reply = client.exchange(sent, what=f"query {i + 1} of 40 to --workers 2",
                                    hints=["each worker must answer on its own socket, bound to "
                                           "the same port with SO_REUSEPORT set before bind()"])
            g.expect_correct_reply(step, sent, reply, q)
        finally:
            client.close()
    if step >= 9:  # and over TCP: each worker has a listener of its own on the port
        for i in range(10):
            client = g.TcpClient((srv.host, srv.port), srv)
            try:
                sent = g.header(0x5800 + i, g.RD, 1) + q
                reply = client.exchange(sent, what=f"TCP query {i + 1} of 10 to --workers 2",
                                        hints=["each worker listens on TCP too, with SO_REUSEPORT"])
                g.expect_correct_reply(step, sent, reply, q)
            finally:
                client.close()
    srv.proc.send_signal(signal.SIGTERM)
    # 10 s, not the 2 s of a single process: three processes end here, and under the sanitizers
    # each one's exit runs a leak check (some 60 ms apiece on an idle machine, seconds on a busy
    # one). How fast a signal is seen under load is test_hostile.py's business; this test is about
    # every worker ending and being waited for, which a hung worker fails at any bound.
    try:
        status = srv.proc.wait(10 * g.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        status = None
    if status != 0:
        g.fail(f"step-{step} --workers 2 after SIGTERM", expected="exit status 0 within 10 s",
               got=g.exit_text(status), details=[f"its log:\n{g.indent(srv.log_tail(20), 4)}"],
               hints=["the parent passes the stop signal on to every worker and waits for each"])
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((srv.host, srv.port))
    except OSError as e:
        g.fail(f"step-{step} --workers 2 stopped, but its port {srv.port} is still taken ({e})",
               hints=["a worker survived its parent: the parent must wait for every worker"])
    finally:
        probe.close()


@pytest.mark.build_only
@pytest.mark.stage(5)
@pytest.mark.parametrize("args", [["--workers", "0"], ["--workers", "65"], ["--workers", "two"],
                                  ["--workers", "2", "--trace"]],
                         ids=["zero", "too-many", "not-a-number", "with-trace"])
def test_bad_workers_exit_2(spawn, step, args):
    """--workers takes 1 to 64; --trace needs one worker (the workers' lines would interleave)."""
    srv = spawn(*args, ready=False)
    try:
        status = srv.proc.wait(5 * g.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        status = None
    log = srv.log_since(0)
    if status != 2 or not log.strip():
        g.fail(f"step-{step} {' '.join(args)}", expected="exit status 2 and a message on stderr",
               got=f"{g.exit_text(status)}; stderr: {log.strip()[:300]!r}")
