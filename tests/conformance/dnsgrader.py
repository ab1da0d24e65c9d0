"""dnsgrader: raw DNS messages, a UDP client, server processes and "expected X, got Y" checks for the
conformance tests.

Everything here works on bytes, so a test says exactly what goes on the wire. The checks end a test
with fail(), a pytest failure without a traceback: a learner reads what was expected, what came back
(in hex where that helps) and a "hint:" line naming the likely mistake; when the check can tell the
mistake itself ("QR is not set in replies"), the failure carries it as its cause, and grade.py shows
failures with a cause first.

Also here: the stages and the parts of stage 4 (PARTS), and the placeholders of --server-cmd
(PLACEHOLDERS, expand_command()).
"""

import os
import random
import re
import shlex
import signal
import socket
import struct
import subprocess
import textwrap
import time

import pytest

import dnswire

# --------------------------------------------------------------------------------------------------
# Stages

LAST_STAGE = 9
STAGE_NAMES = {
    1: "udp echo",
    2: "header",
    3: "question",
    4: "answer",
    5: "compression",
    6: "forwarding",
    7: "recursion",
    8: "cache",
    9: "edns and tcp",
}


# From this stage on the server offers recursion (stage 6 forwards, 7 resolves): RA=1 in every
# reply, local answers and errors included. Before it, RA=0.
RA_FROM = 6

# From this stage on the server speaks EDNS(0) (RFC 6891: an OPT record in a query gets one back)
# and TCP (RFC 7766). Before it, an OPT record is read and ignored, and no reply carries one.
EDNS_FROM = 9


# Stages graded in parts (make grade STEP=4 PART=k): a learner passes them one at a time. Each test
# of such a stage carries @pytest.mark.part(stage, k); one without counts in the last part.
PARTS = {
    4: {
        1: "fixed answers",  # exact matches from a simple zone file; REFUSED; ANY, AXFR
        2: "negative answers",  # NXDOMAIN and NODATA with the SOA; AA; the longest apex
        3: "referrals, CNAME, wildcards",  # and the addresses in the additional section
        4: "master files, 512 bytes",  # $ORIGIN, $TTL, (...), blank owners; TC; every reply
    },
}


def part_of(item):
    """(stage, k) of a test of a stage with parts, else None."""
    marker = item.get_closest_marker("stage")
    if marker is None or marker.args[0] not in PARTS:
        return None
    stage = marker.args[0]
    part = item.get_closest_marker("part")
    return stage, (part.args[1] if part is not None else max(PARTS[stage]))


def stage_range(marker):
    """(introduced, until) of a @pytest.mark.stage(introduced, until=None) marker, until filled in."""
    introduced = marker.args[0]
    until = marker.kwargs.get("until", marker.args[1] if len(marker.args) > 1 else None)
    return introduced, (LAST_STAGE if until is None else until)


# --------------------------------------------------------------------------------------------------
# Building messages (RFC 1035 4.1)

HEADER_SIZE = 12  # six 16-bit fields
MAX_DATAGRAM = 65507  # 65535 - 20 (IPv4 header) - 8 (UDP header)

# Masks in the 16-bit flags word (bytes 2-3).
QR = 0x8000
OPCODE_MASK = 0x7800
OPCODE_SHIFT = 11
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
Z = 0x0040
AD = 0x0020
CD = 0x0010
RCODE_MASK = 0x000F

OPCODE_NAMES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = range(6)


def make_flags(qr=0, opcode=0, aa=0, tc=0, rd=0, ra=0, z=0, ad=0, cd=0, rcode=0):
    """The flags word from its fields."""
    return ((qr << 15) | (opcode << OPCODE_SHIFT) | (aa << 10) | (tc << 9) | (rd << 8) | (ra << 7)
            | (z << 6) | (ad << 5) | (cd << 4) | rcode)


def header(id_, flags, qdcount=0, ancount=0, nscount=0, arcount=0):
    """A 12-byte header."""
    return struct.pack("!6H", id_, flags, qdcount, ancount, nscount, arcount)


def name_wire(text):
    """A dotted name ("ExAmPle.COM." or ".") in wire form: length-prefixed labels, then the zero byte.
    Letter case is kept. No escapes; labels must be 1..63 bytes."""
    if text in ("", "."):
        return b"\x00"
    out = b""
    for label in text.rstrip(".").split("."):
        raw = label.encode("ascii")
        assert 1 <= len(raw) <= 63, f"bad label in a test name: {label!r}"
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def question(name, qtype=1, qclass=1):
    """A question section entry: the name, then QTYPE and QCLASS."""
    return name_wire(name) + struct.pack("!HH", qtype, qclass)


def query(id_, name="example.com.", qtype=1, qclass=1, rd=1, opcode=0):
    """A standard one-question query."""
    return header(id_, make_flags(opcode=opcode, rd=rd), 1) + question(name, qtype, qclass)


# The readiness probe (documented in README.md, because learners see it in their logs):
# ID 0xBEEF, RD=1, one question: probe.grader.invalid. A IN.
PROBE_QUERY = header(0xBEEF, RD, 1) + question("probe.grader.invalid.", 1, 1)

# The "are you still alive" query sent after hostile input: alive.grader.invalid. A IN, RD=1.
ALIVE_NAME = "alive.grader.invalid."


# --------------------------------------------------------------------------------------------------
# Reading messages


class Header:
    """The header of a message, parsed from its first 12 bytes."""

    FIELDS = ("id", "qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad", "cd", "rcode",
              "qdcount", "ancount", "nscount", "arcount")

    def __init__(self, id_, flags, qdcount, ancount, nscount, arcount):
        self.id, self.flags = id_, flags
        self.qdcount, self.ancount, self.nscount, self.arcount = qdcount, ancount, nscount, arcount
        self.qr = flags >> 15 & 1
        self.opcode = (flags & OPCODE_MASK) >> OPCODE_SHIFT
        self.aa, self.tc = flags >> 10 & 1, flags >> 9 & 1
        self.rd, self.ra = flags >> 8 & 1, flags >> 7 & 1
        self.z, self.ad, self.cd = flags >> 6 & 1, flags >> 5 & 1, flags >> 4 & 1
        self.rcode = flags & RCODE_MASK

    @classmethod
    def parse(cls, data):
        return cls(*struct.unpack("!6H", data[:HEADER_SIZE]))

    def replace(self, **fields):
        """A copy with some fields changed (any of FIELDS)."""
        values = {f: getattr(self, f) for f in self.FIELDS}
        values.update(fields)
        flags = make_flags(**{f: values[f] for f in ("qr", "opcode", "aa", "tc", "rd", "ra", "z",
                                                         "ad", "cd", "rcode")})
        return Header(values["id"], flags, values["qdcount"], values["ancount"], values["nscount"],
                      values["arcount"])

    def wire(self):
        return header(self.id, self.flags, self.qdcount, self.ancount, self.nscount, self.arcount)

    def describe(self, only=FIELDS):
        """"ID=0x1234 QR=1 OPCODE=0 ... AR=0": every field, or those of `only`."""
        names = {"qdcount": "QD", "ancount": "AN", "nscount": "NS", "arcount": "AR"}
        parts = []
        for f in self.FIELDS:
            if f not in only:
                continue
            value = getattr(self, f)
            if f == "id":
                parts.append(f"ID=0x{value:04X}")
            elif f == "rcode":
                parts.append(f"RCODE={value} {RCODE_NAMES.get(value, '')}".rstrip())
            else:
                parts.append(f"{names.get(f, f.upper())}={value}")
        return " ".join(parts)


def name_end(data, off):
    """The offset just after the uncompressed name at `off`, or None if it is not a plain, complete
    name (diagnostics only: the tests never need to decompress)."""
    while off < len(data):
        n = data[off]
        if n == 0:
            return off + 1
        if n & 0xC0:
            return None
        off += 1 + n
    return None


# --------------------------------------------------------------------------------------------------
# Showing bytes


def hexs(data, limit=64):
    """Bytes as hex in 16-bit groups, like a header diagram: "1234 8100 0001 ..."; long data is cut."""
    shown = data[:limit].hex()
    text = " ".join(shown[i:i + 4] for i in range(0, len(shown), 4))
    if len(data) > limit:
        text += f" ... (+{len(data) - limit} more bytes)"
    return text if data else "(no bytes)"


def hex_at(data, off, count=16):
    """A few bytes from `off` (for showing a difference deep inside a long message)."""
    if off >= len(data):
        return "(the message ends there)"
    more = " ..." if off + count < len(data) else ""
    return " ".join(f"{b:02x}" for b in data[off:off + count]) + more


def region(off, qlen=None):
    """What byte `off` of a message is, for a reply laid out as header + question of `qlen` bytes."""
    names = ["ID", "ID", "flags", "flags", "QDCOUNT", "QDCOUNT", "ANCOUNT", "ANCOUNT", "NSCOUNT",
             "NSCOUNT", "ARCOUNT", "ARCOUNT"]
    if off < HEADER_SIZE:
        return f"header: {names[off]}"
    if qlen is not None:
        if off < HEADER_SIZE + qlen - 4:
            return "question: QNAME"
        if off < HEADER_SIZE + qlen - 2:
            return "question: QTYPE"
        if off < HEADER_SIZE + qlen:
            return "question: QCLASS"
        return "after the question"
    return "after the header"


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def swap16(v):
    return ((v & 0xFF) << 8) | (v >> 8)


# --------------------------------------------------------------------------------------------------
# Failing with a readable message, and the cause behind it


class GraderFailure(pytest.fail.Exception):
    """A failed check: its message (shown without a traceback) and, when the check could tell, its
    cause: the mistake it diagnosed ("QR is not set in replies"), not just the symptom. grade.py
    shows failures with a cause first (conftest.py puts the cause in the test's report)."""

    def __init__(self, msg, cause=None):
        super().__init__(msg, pytrace=False)
        self.cause = cause


def fail(summary, expected=None, got=None, sent=None, details=(), hints=(), cause=None):
    """Ends the test with:
        <summary>
          <details...>
          expected: <expected>
          got:      <got>
          sent:     <sent>
          hint: <hint>   (one line per hint)
    `cause` names the mistake behind the failure when the check diagnosed it."""
    lines = [summary]
    lines += [f"  {d}" for d in details if d]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if sent is not None:
        lines.append(f"  sent:     {hexs(sent)}  ({len(sent)} byte{'' if len(sent) == 1 else 's'})")
    lines += [f"  hint: {h}" for h in hints if h]
    raise GraderFailure("\n".join(lines), cause)


# What a test saw where the contract allows more than one behaviour (e.g. CD copied or not): kept
# per test in NOTES, which conftest.py empties before each test and adds to its report; grade.py
# prints one line per key under the stage (NOTE_TEXTS says what each value means; None: no line).
NOTES = []
NOTE_TEXTS = {
    "cd": {"copied": "CD is copied from the query (RFC 4035 3.2.2 asks this of security-aware "
                     "servers)",
           "cleared": None},  # the usual: not worth a line
    "multi_question": {"formerr": "queries of several questions get FORMERR, as RFC 9619 says",
                       "answered": "queries of several questions get every question answered, "
                                   "as the workbook's step 5 does"},
    "formerr_opt": {"opt": "FORMERR replies to queries with an additional section carry an OPT "
                           "record (RFC 6891 7)",
                    "none": None},
}


def note(key, value):
    """Records that the server chose `value` for the behaviour `key` (a key of NOTE_TEXTS)."""
    NOTES.append((key, value))


# Causes several checks diagnose, worded once.
CAUSE_REJECTED = "a well-formed query was rejected with FORMERR"
CAUSE_OPT_ECHOED = "the query's additional section (e.g. dig's OPT record) is echoed"
CAUSE_LABEL_TYPE = "a length byte of 0x40-0xBF is taken as a label length (its top two bits " \
                   "are a label type)"
CAUSE_DIED = "the server died"


def _show(field, value):
    if field == "id":
        return f"0x{value:04X}"
    if field == "rcode":
        return f"{value} ({RCODE_NAMES.get(value, '?')})"
    if field == "opcode":
        return f"{value} ({OPCODE_NAMES.get(value, 'unassigned')})"
    if field.endswith("count") and value > 255:
        return f"{value} (0x{value:04X})"
    return str(value)


def _show_allowed(field, values):
    return " or ".join(_show(field, v) for v in values)


def _field_finding(field, allowed, got, sent_hdr, step, reply, sent):
    """(hint, cause) for one wrong header field: the likely mistake, and the mistake itself when the
    reply shows it beyond doubt (else cause is None)."""
    expected = allowed[0]
    sent_value = sent_hdr and getattr(sent_hdr, field)
    if field == "id":
        if got == swap16(expected):
            return ("the ID's two bytes are swapped: keep network byte order (big-endian, "
                    "ntohs/htons)", "the ID's bytes are swapped (byte order)")
        return "is the ID copied from the query (bytes 0-1)?", None
    if field == "qr":
        if expected == 1:
            return ("set QR, the top bit of byte 2 (flags | 0x8000): a reply with QR=0 looks like a "
                    "query and clients ignore it", "QR is not set in replies")
        return "QR must be 0 here", None
    if field == "opcode":
        hint = ("copy OPCODE from the query: bits 11-14 of the flags word, (flags >> 11) & 0xF "
                "(mask 0x7800)")
        return hint, ("OPCODE is not copied from the query" if got == 0 and expected != 0 else None)
    if field == "rd":
        if expected == 1:
            return ("copy RD (0x0100, the low bit of byte 2) from the query",
                    "RD is not copied from the query")
        return "RD must be copied from the query, not always set", "RD is always set, not copied"
    if field in ("aa", "tc", "ra", "z", "ad", "cd"):
        what = {"aa": "AA (authoritative answer, 0x0400)", "tc": "TC (truncated, 0x0200)",
                "ra": "RA (recursion available, 0x0080: set from stage 6 on)",
                "z": "Z (reserved, 0x0040)", "ad": "AD (0x0020)", "cd": "CD (0x0010)"}[field]
        if field == "ra" and got == 0 and 1 in allowed:
            return ("set RA (0x0080, the top bit of byte 3) in every reply: from stage 6 on the "
                    "server offers recursion, and says so in its local answers and errors too",
                    "RA is not set in replies (stage 6 on offers recursion)")
        if sent_hdr is not None and sent_value == got == 1 and 0 in allowed:
            # One hint for every flag copied (the details name them): the same text, kept once.
            return ("the flags set in the query came back: did you copy the whole flags word from "
                    "the query? copy only OPCODE and RD (CD may be copied too)",
                    "the query's flags word is copied into the reply")
        return f"{what} must be {_show_allowed(field, allowed)} in this reply", None
    if field == "rcode":
        if sent_hdr is not None and got == sent_value and got != NOERROR:
            return (f"RCODE {got} was copied from the query; a reply sets its own RCODE "
                    f"({RCODE_NAMES.get(expected)} here)", "the query's RCODE is copied")
        if expected == NOTIMP:
            return ("OPCODE is not 0 (not a standard QUERY): the reply must carry RCODE 4 NOTIMP, "
                    "without looking at the rest of the message",
                    "a query with OPCODE != 0 does not get NOTIMP" if got == NOERROR else None)
        if expected == FORMERR:
            return ("this query is malformed: reply with RCODE 1 FORMERR and the header only "
                    "(every count 0)", None)
        if expected == NOERROR and got == NOTIMP:
            return "NOTIMP is only for OPCODE != 0: is OPCODE read as (flags >> 11) & 0xF?", None
        return f"RCODE lives in the low 4 bits of byte 3; expected {RCODE_NAMES.get(expected)}", None
    if field.endswith("count"):
        section = {"qdcount": "question", "ancount": "answer", "nscount": "authority",
                   "arcount": "additional"}[field]
        if got == swap16(expected):
            return (f"{field.upper()} has its bytes swapped: counts are big-endian 16-bit fields",
                    "counts are written with their bytes swapped")
        if sent_hdr is not None and got == sent_value and got != expected:
            echoed = (sent is not None and len(reply) > HEADER_SIZE
                      and reply[HEADER_SIZE:] == sent[HEADER_SIZE:])
            if field == "arcount" and echoed:
                extra = len(sent) - HEADER_SIZE - _question_length(sent)
                return (f"ARCOUNT {got} was copied from the query and the {extra} bytes of its "
                        "additional section follow the question: the reply holds the header and "
                        "the question only (dig's OPT record is read, not echoed)", CAUSE_OPT_ECHOED)
            return (f"{field.upper()} was copied from the query: it must count the {section} "
                    f"records of the reply ({expected})", f"{field.upper()} is copied from the query")
        if field == "qdcount" and expected == 1:
            return "the reply carries the question, so QDCOUNT is 1", None
        if expected == 0 and step == 2:
            return "a stage-2 reply is the header alone: all four counts are 0", None
        if expected == 0:
            return f"the reply has no {section} section records here: {field.upper()} must be 0", None
    return None, None


def _question_length(sent):
    """How many bytes the question section of `sent` takes (0 if it cannot be read)."""
    try:
        q = dnswire.Query(sent, max_questions=dnswire.QUESTIONS_MAX)
    except dnswire.Malformed:
        return 0
    return q.question_end - HEADER_SIZE


def _expected_header(sent_hdr, allowed, got):
    """The header a correct reply would have, built from the query: ID, OPCODE and RD copied, QR=1,
    every other bit 0, then the checked fields (where several values are allowed, the one the reply
    has if it is one of them). Returns it with the set of fields the check leaves free."""
    values = dict(id=0, qr=1, opcode=0, aa=0, tc=0, rd=0, ra=0, z=0, ad=0, cd=0, rcode=NOERROR,
                  qdcount=0, ancount=0, nscount=0, arcount=0)
    if sent_hdr is not None:
        values.update(id=sent_hdr.id, opcode=sent_hdr.opcode, rd=sent_hdr.rd)
    for f, vals in allowed.items():
        values[f] = getattr(got, f) if getattr(got, f) in vals else vals[0]
    flags = make_flags(**{f: values[f] for f in ("qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad",
                                                 "cd", "rcode")})
    want = Header(values["id"], flags, values["qdcount"], values["ancount"], values["nscount"],
                  values["arcount"])
    return want, {f for f in Header.FIELDS if f not in allowed}


def _expected_text(want, free):
    """"1234 8100 0001 .... .... ....   ID=0x1234 QR=1 ... (other fields: any)": counts the check
    leaves free are dots, and only the checked fields are named."""
    groups = hexs(want.wire()).split()
    for i, f in enumerate(("qdcount", "ancount", "nscount", "arcount")):
        if f in free:
            groups[2 + i] = "...."
    text = want.describe(only=[f for f in Header.FIELDS if f not in free])
    return " ".join(groups) + "   " + text + ("   (the rest: any)" if free else "")


def expect_header(reply, sent, what="the reply header", step=None, extra_hints=(), cause=None,
                  **expected):
    """Checks the given header fields of `reply` (keys: Header.FIELDS; each a value, or a tuple of
    the values allowed). First the RCODE: a FORMERR to a well-formed query (dnswire.problem()) is
    reported as such, whatever else was asked. Then every wrong field at once, beside the header a
    correct reply would have, built from the query. `cause` names the mistake a wrong RCODE or
    count shows for this query (e.g. a malformed query answered)."""
    if len(reply) < HEADER_SIZE:
        fail(f"{what}: the reply is shorter than a DNS header",
             expected=f"at least {HEADER_SIZE} bytes", got=f"{len(reply)} bytes: {hexs(reply)}",
             sent=sent, hints=["every DNS message starts with the 12-byte header"],
             cause="replies shorter than a header are sent")
    got = Header.parse(reply)
    sent_hdr = Header.parse(sent) if sent is not None and len(sent) >= HEADER_SIZE else None
    allowed = {f: (v if isinstance(v, tuple) else (v,)) for f, v in expected.items()}
    if (got.rcode == FORMERR and FORMERR not in allowed.get("rcode", ()) and sent is not None
            and dnswire.problem(sent) is None):
        fail_rejected(reply, sent, what)
    if "cd" in allowed and len(allowed["cd"]) > 1 and sent_hdr is not None and sent_hdr.cd:
        note("cd", "copied" if got.cd else "cleared")
    wrong = [f for f in Header.FIELDS if f in allowed and getattr(got, f) not in allowed[f]]
    if not wrong:
        return got
    want, free = _expected_header(sent_hdr, allowed, got)
    findings = {f: _field_finding(f, allowed[f], getattr(got, f), sent_hdr, step, reply, sent)
                for f in wrong}
    # The cause: the first field that shows one, the test's own before the counts (a count is wrong
    # as a consequence when the RCODE is: a malformed query answered carries its question).
    # Their hints too: the RCODE's says what the counts must be.
    consequences = {f for f in wrong if f.endswith("count")} if "rcode" in wrong else set()
    causes = [findings[f][1] for f in wrong if not f.endswith("count")] + [cause]
    causes += [findings[f][1] for f in wrong if f.endswith("count") and f not in consequences]
    fail(f"{what}: wrong {', '.join(f.upper() for f in wrong)}",
         details=[f"{f.upper()}: expected {_show_allowed(f, allowed[f])}, got "
                  f"{_show(f, getattr(got, f))}" for f in wrong],
         expected=_expected_text(want, free),
         got=f"{hexs(reply[:HEADER_SIZE])}   {got.describe()}",
         sent=sent,
         hints=list(dict.fromkeys([findings[f][0] for f in wrong if f not in consequences]
                                  + list(extra_hints))),
         cause=next((c for c in causes if c), None))
    return got


def query_fields(sent):
    """The query, one line per field ("  12  03 77 77 77  length 3, then the label "www""), for a
    failure that must show what was sent."""
    rows = dnswire.describe_fields(sent)
    return [f"    {off:>4}  {shown:<27} {what}" for off, shown, what in rows]


def formerr_diagnosis(sent):
    """Hints for a FORMERR to the well-formed query `sent`: what is unusual about it (and still
    legal), then what a name reader with a common mistake would trip over in this very query."""
    hints = []
    if len(sent) > 512:
        cut = dnswire.problem(sent[:512])
        hints.append(f"the query is {len(sent)} bytes: is the receive buffer 512 bytes? recvfrom() "
                     "cuts longer datagrams silently" + (f" (cut at 512: {cut})" if cut else "")
                     + "; use 65536")
    hdr = Header.parse(sent)
    if hdr.arcount:
        hints.append(f"ARCOUNT is {hdr.arcount}: the additional section (dig's OPT record) is read "
                     "record by record — name, TYPE, CLASS, TTL, RDLENGTH, then RDLENGTH bytes — "
                     "and a query may carry it")
    odd = [n for n, bit in (("AA", AA), ("TC", TC), ("RA", RA), ("Z", Z), ("AD", AD), ("CD", CD))
           if hdr.flags & bit]
    if odd:
        hints.append(f"{'/'.join(odd)} set in a query do not make it malformed (dig sets AD): only "
                     "QR, OPCODE and RCODE decide how a query is handled")
    q = dnswire.Query(sent)
    labels, qtype, qclass = q.questions[0][:3]
    if qtype not in (1, 28) or qclass != 1:
        hints.append(f"any QTYPE and QCLASS is well formed (here {qtype} "
                     f"{dnswire.TYPE_NAMES.get(qtype, '')}, class {qclass}): they are read, not "
                     "judged")
    if not labels:
        hints.append("the root name is the single zero byte 00")
    elif max(len(l) for l in labels) == 63 or sum(len(l) + 1 for l in labels) + 1 == 255:
        hints.append("a label may have 63 octets and a name 255 (on the wire, the root included): "
                     "is a limit off by one?")
    try:
        dnswire.Query(sent, skip_len_only=True)
    except dnswire.Malformed as e:
        hints.append("a name reader that moves past a label by its length alone (pos += len; "
                     f"the length byte counts too: pos += 1 + len) rejects this query: {e}")
    return hints or ["this query is well formed: the server's log may say why it was rejected"]


def fail_rejected(reply, sent, what=None, hints=()):
    """A FORMERR to the well-formed query `sent`: says so, shows the query field by field, and what
    a reader with a common mistake would trip over (after `hints`, the test's own)."""
    fail(CAUSE_REJECTED + (f" ({what})" if what and what != "the reply header" else ""),
         details=["the query, field by field (offset, bytes, what they are):", *query_fields(sent)],
         expected="a reply that answers it: any RCODE but 1 (FORMERR)",
         got=f"{hexs(reply[:HEADER_SIZE])}   {Header.parse(reply).describe()}",
         sent=sent, hints=[*hints, *formerr_diagnosis(sent)], cause=CAUSE_REJECTED)


def formerr_with_opt(reply, sent, step):
    """True if `reply` is a FORMERR that a stage-9 server may send to `sent`: the header, then one
    OPT record and nothing else (RFC 6891 7: a responder that found the query's OPT record may
    say so in its error), the query having had an additional section."""
    if step < EDNS_FROM or len(reply) < HEADER_SIZE + 11 or len(sent) < HEADER_SIZE:
        return False
    hdr = Header.parse(reply)
    rest = reply[HEADER_SIZE:]
    return (Header.parse(sent).arcount > 0 and (hdr.qdcount, hdr.ancount, hdr.nscount,
                                                 hdr.arcount) == (0, 0, 0, 1)
            and rest[:3] == b"\x00\x00\x29"
            and len(rest) == 11 + int.from_bytes(rest[9:11], "big"))


def expect_formerr_body(reply, sent, step, what, hints=()):
    """A FORMERR reply is the header alone; from stage 9 on, when the query had an additional
    section, the header and one OPT record may be too (formerr_with_opt(); noted)."""
    if formerr_with_opt(reply, sent, step):
        note("formerr_opt", "opt")
        return
    expect_bytes(reply, reply[:HEADER_SIZE], what, sent=sent, hints=[
        *hints, "from stage 9 on an OPT record may follow the header" if step >= EDNS_FROM
        else None])


def expect_answered(reply, sent):
    """A well-formed query got something other than FORMERR (for tests that read the reply with
    dnspython or byte by byte rather than through expect_header)."""
    if (len(reply) >= HEADER_SIZE and Header.parse(reply).rcode == FORMERR
            and dnswire.problem(sent) is None):
        fail_rejected(reply, sent)


def reply_fields(sent, step, rcode=NOERROR, qdcount=0):
    """The header fields the contract fixes for a reply to `sent` at `step`, with `qdcount` questions.
    Stages 2 and 3 fix every bit but CD, which may be copied (RFC 4035 3.2.2: a security-aware
    server copies it) or 0; later stages only what they keep (ID, QR, OPCODE, RD, Z, QDCOUNT, and
    the RCODE when it is FORMERR or NOTIMP), and from stage 6 on, which offers recursion, RA=1 in
    every reply."""
    q = Header.parse(sent)
    fields = dict(id=q.id, qr=1, opcode=q.opcode, rd=q.rd, z=0, qdcount=qdcount)
    if step >= RA_FROM:
        fields.update(ra=1)
    if step <= 3 or rcode in (FORMERR, NOTIMP):
        fields.update(rcode=rcode)
    if step <= 3:
        fields.update(aa=0, tc=0, ra=0, ad=0, cd=(0, 1) if q.cd else 0, ancount=0, nscount=0,
                      arcount=0)
    return fields


def expect_bytes(got, expected, what, sent=None, qlen=None, hints=(), dns=True, cause=None):
    """Checks that `got` is exactly `expected`; names the first differing byte and, for a DNS message
    (dns=True; laid out as header + a question of `qlen` bytes if given), which field it is in."""
    if got == expected:
        return
    off = first_difference(got, expected)
    summary = (f"{what}: expected {len(expected)} bytes, got {len(got)}" if len(got) != len(expected)
               else f"{what}: same length ({len(got)} bytes), different bytes")
    long_ = max(len(got), len(expected)) > 64
    where = f" ({region(off, qlen)})" if dns else ""
    shown = 8 if long_ else 2
    details = [f"first difference at byte {off}{where}: expected "
               f"{hex_at(expected, off, shown)}, got {hex_at(got, off, shown)}"]
    fail(summary, details=details,
         expected=hexs(expected) if not long_ else f"{len(expected)} bytes: {hexs(expected, 32)}",
         got=hexs(got) if not long_ else f"{len(got)} bytes: {hexs(got, 32)}",
         sent=sent if sent is not None and sent != expected else None, hints=hints, cause=cause)


def question_findings(got_rest, q, sent=None):
    """(hints, cause): likely mistakes when the bytes after the header are not the question that was
    sent (`sent`, the whole query, tells an echoed additional section)."""
    if not got_rest:
        return ["the question is missing: from stage 3 on the reply carries the question after the "
                "header, byte for byte as sent"], None
    if got_rest.lower() == q.lower():
        return ["the question must be echoed as sent, letter case kept (ExAmPle.COM stays "
                "ExAmPle.COM): compare names case-insensitively, but copy the original bytes"], \
            "the question's letter case is changed"
    if len(got_rest) == len(q) - 1:
        return ["the question is one byte short: is the name's terminating zero byte (the root label) "
                "missing? QTYPE then reads as 256"], \
            "the name's terminating zero byte (the root label) is missing"
    if got_rest[:len(q)] == q and len(got_rest) > len(q):
        extra = got_rest[len(q):]
        after = sent[HEADER_SIZE + len(q):] if sent is not None else b""
        echoed = bool(after) and after.startswith(extra)
        return [f"{len(extra)} extra bytes after the question"
                + (": the query's additional section (dig's OPT record) is echoed" if echoed else "")
                + ": the reply holds the header and the question only (the additional section, "
                "e.g. dig's OPT record, is read, not echoed)"], (CAUSE_OPT_ECHOED if echoed else None)
    return ["the question (QNAME, QTYPE, QCLASS) must be copied from the query unchanged"], None


def expect_question(reply, sent, q, exact, what="the reply"):
    """Checks that the question `q` follows the header: exactly (nothing after it) or as a prefix."""
    rest = reply[HEADER_SIZE:]
    if (exact and rest == q) or (not exact and rest[:len(q)] == q):
        return
    hints, cause = question_findings(rest, q, sent)
    expect_bytes(reply if exact else reply[:HEADER_SIZE + len(q)], reply[:HEADER_SIZE] + q,
                 f"{what} (header + the question as sent)", sent=sent, qlen=len(q),
                 hints=hints, cause=cause)


def expect_correct_reply(step, sent, reply, q):
    """Checks the reply to a well-formed standard query `sent` (question bytes `q`) as far as the stage
    fixes it: stage 1 echoes; 2 is the header alone; 3 is header + question; later stages keep the
    header rules and the echoed question."""
    if step == 1:
        expect_bytes(reply, sent, "the echo", dns=False,
                     hints=["stage 1 sends back exactly the bytes it received"])
        return
    if step == 2:
        expect_header(reply, sent, step=step, **reply_fields(sent, step))
        echoed = len(reply) > HEADER_SIZE and reply[HEADER_SIZE:] == sent[HEADER_SIZE:]
        expect_bytes(reply, reply[:HEADER_SIZE], "a stage-2 reply (the header alone)", sent=sent,
                     hints=[("the rest of the query came back behind the header: " if echoed else "")
                            + "stage 2 replies with the 12-byte header only"])
        return
    if step == 3:
        expect_header(reply, sent, step=step, **reply_fields(sent, step, qdcount=1))
        expect_question(reply, sent, q, exact=True)
        return
    got = expect_header(reply, sent, step=step, **reply_fields(sent, step, qdcount=1))
    if got.rcode in (FORMERR, NOTIMP):
        fail("a well-formed standard query was rejected", expected="an RCODE other than FORMERR/NOTIMP",
             got=_show("rcode", got.rcode), sent=sent)
    expect_question(reply, sent, q, exact=False)


# --------------------------------------------------------------------------------------------------
# The client

# How long a reply to a dropped datagram may still come after the barrier's reply (expect_no_reply),
# in seconds (times DNS_TEST_TIMEOUT_SCALE): a server that hands each datagram to a thread may
# answer out of order, but not by much more than a scheduler's time slice.
NO_REPLY_GRACE = 0.05
# While waiting for a reply, how often to look whether the server process has exited (s).
SERVER_POLL = 0.05
# After the server has exited, how long to wait for a datagram it sent just before (s): loopback
# delivery is all but immediate.
EXITED_GRACE = 0.02


def _bigger_buffers(sock):
    # 1 MiB each way: a 65507-byte datagram must fit, with room for a burst of replies.
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)


class Client:
    """A UDP socket on 127.0.0.1 that talks to one server address. It is not connect()ed, so a reply
    from the wrong address is seen (and reported) instead of silently filtered out."""

    barrier_count = 0  # the low byte of the last barrier's ID (expect_no_reply)

    def __init__(self, address, server=None, timeout=1.0):
        self.address = address  # (host, port) of the server
        self.server = server  # a ServerProcess, to tell "no reply" from "the server died"
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _bigger_buffers(self.sock)
        self.sock.bind(("127.0.0.1", 0))
        self.strays = []  # (address, datagram) from anywhere but the server

    def close(self):
        self.sock.close()

    def drain(self):
        """Throws away whatever is already waiting (late replies to an earlier exchange)."""
        self.sock.setblocking(False)
        try:
            for _ in range(100000):  # bounded: the receive buffer holds far fewer
                self.sock.recvfrom(65536)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        finally:
            self.sock.setblocking(True)

    def send(self, data):
        self.sock.sendto(data, self.address)

    def receive(self, timeout=None, match=None):
        """Datagrams from the server until one satisfies match(data) (any, if match is None) or the
        timeout ends. Returns (the datagram or None, [the non-matching ones]). Once the server
        process has exited it waits EXITED_GRACE at most: the process sends nothing more."""
        wait = (self.timeout if timeout is None else timeout) * TIMEOUT_SCALE
        deadline = time.monotonic() + wait
        others = []
        exited = False
        try:
            while True:
                if not exited and self.server_exited():
                    exited = True
                    deadline = min(deadline, time.monotonic() + EXITED_GRACE)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, others
                # In slices, to notice a server that exits meanwhile.
                self.sock.settimeout(min(left, SERVER_POLL))
                try:
                    data, addr = self.sock.recvfrom(65536)
                except socket.timeout:
                    continue
                except ConnectionRefusedError:
                    continue
                if addr != self.address:
                    self.strays.append((addr, data))
                    continue
                if match is None or match(data):
                    return data, others
                others.append(data)
        finally:
            self.sock.settimeout(None)

    def server_exited(self):
        """True if the server under test is known to have exited (False without a ServerProcess)."""
        return self.server is not None and not self.server.alive()

    def exchange(self, data, timeout=None, match_id=True, what=None, hints=()):
        """Sends `data` and returns the server's reply: the first datagram whose ID (bytes 0-1) is the
        query's, or, with match_id=False, the first datagram. Fails the test if none comes."""
        self.drain()
        self.send(data)
        want = data[:2]
        reply, others = self.receive(timeout, (lambda d: d[:2] == want) if match_id and len(data) >= 2
                                     else None)
        if reply is not None:
            return reply
        wait = (self.timeout if timeout is None else timeout) * TIMEOUT_SCALE
        within = "" if self.server_exited() else f" within {wait:g} s"  # it stops waiting then
        details, more_hints, cause = [], list(hints), None
        if match_id and len(data) >= 2:
            qid = int.from_bytes(want, "big")
            summary = f"no reply with ID 0x{qid:04X}{within}"
            if others:
                ids = sorted({int.from_bytes(o[:2], "big") for o in others if len(o) >= 2})
                details.append(f"got {len(others)} datagram(s) with another ID: "
                               + ", ".join(f"0x{i:04X}" for i in ids))
                details.append(f"first of them: {hexs(others[0])}")
                if swap16(qid) in ids:
                    more_hints.insert(0, f"0x{swap16(qid):04X} is 0x{qid:04X} with its bytes swapped: "
                                      "keep the ID in network byte order (big-endian)")
                    cause = "the ID's bytes are swapped (byte order)"
                else:
                    more_hints.insert(0, f"is the ID copied from the query? a client drops a reply "
                                      f"whose ID is not its query's (0x{qid:04X})")
                    cause = "the ID is not copied from the query"
        else:
            summary = f"no reply{within}"
        if what:
            summary += f" to {what}"
        cause = self._explain_silence(details, more_hints) or cause
        fail(summary, sent=data, details=details, hints=more_hints, cause=cause)

    def expect_no_reply(self, data, wait=0.3, what="this datagram", hints=(), cause=None):
        """Sends `data` and fails if the server answers it, or dies.

        Rather than waiting a fixed time, it sends a barrier right after `data`: a good query
        (alive.grader.invalid. A IN, RD=1) with a fresh ID. A server that handles datagrams in turn
        has finished with `data` when the barrier's reply comes, so anything that came before that
        reply answered `data`; NO_REPLY_GRACE more catches a server that answers out of order (a
        thread per datagram). Only the ID of the barrier's reply is looked at (at stage 1 the echo
        of the barrier is its reply); expect_still_answers() checks what replies hold. `cause` names
        the mistake a reply shows (e.g. "responses (QR=1) are answered").
        If no datagram with the barrier's ID comes (the server died, hangs, or mangles IDs), the
        old way decides: `data` is sent again alone, and `wait` seconds must pass without a reply."""
        self.drain()
        barrier = self._barrier_for(data)
        self.send(data)
        self.send(barrier)
        reply, before = self.receive(match=lambda d: d[:2] == barrier[:2])
        if reply is not None:
            if before:
                self._fail_replied(data, before, what, hints,
                                   "it came before the reply to a good query sent after it", cause)
            answered = time.monotonic()
            # A copy of the barrier's reply is not a reply to `data` (a server that answers twice
            # is not what this checks).
            late, _ = self.receive(NO_REPLY_GRACE, match=lambda d: d != reply)
            if late is not None:
                after = (time.monotonic() - answered) * 1000
                after = f"{after:.0f} ms" if after >= 1 else "less than 1 ms"
                self._fail_replied(data, [late], what, hints,
                                   f"it came {after} after the reply to a good query sent after "
                                   "it: are datagrams answered out of order (a thread each?)", cause)
        elif not self.server_exited():
            self.drain()  # what came instead of the barrier's reply: it is not known what answered what
            self.send(data)
            # A barrier's reply that comes only now (a very slow server) answers the barrier.
            reply, _ = self.receive(wait, match=lambda d: d[:2] != barrier[:2])
            if reply is not None:
                self._fail_replied(data, [reply], what, hints, cause=cause)
        if self.server_exited():
            details = []
            if reply is None:  # it did not answer the barrier: which datagram was too much for it?
                details.append(f"a good query (alive.grader.invalid. A IN, ID 0x{barrier[0]:02X}"
                               f"{barrier[1]:02X}) followed it at once; the log says which of the "
                               "two the server was handling")
                if before:
                    details.append(f"before it died it sent {len(before)} datagram(s), the first: "
                                   f"{hexs(before[0], 24)}")
            fail(f"the server died after {what} ({self.server.exit_text()})", sent=data,
                 details=details,
                 hints=["dropping a datagram means not replying to it: the server must keep running",
                        f"look in the server's log for a crash or a sanitizer report: "
                        f"{self.server.log_path}"], cause=CAUSE_DIED)

    def _barrier_for(self, data):
        """The barrier sent after `data`: alive.grader.invalid. A IN, RD=1, with the next ID of
        0xBA01..0xBAFF that is not `data`'s (so a reply to `data` cannot pass for the barrier's)."""
        while True:  # at most two turns: only one ID is `data`'s
            Client.barrier_count = Client.barrier_count % 0xFF + 1
            id_ = 0xBA00 | Client.barrier_count
            if data[:2] != id_.to_bytes(2, "big"):
                return header(id_, RD, 1) + question(ALIVE_NAME, 1, 1)

    def _fail_replied(self, data, replies, what, hints, when=None, cause=None):
        """Fails because `replies` (at least one) answered `data`, which must get no reply."""
        first = replies[0]
        shown = hexs(first)
        if len(first) >= HEADER_SIZE:
            shown += f"   {Header.parse(first).describe()}"
        details = [when]
        if len(replies) > 1:
            details.append(f"and {len(replies) - 1} more datagram(s) before that reply")
        fail(f"expected no reply to {what}, got one ({len(first)} bytes)", expected="no reply",
             got=shown, sent=data, details=details, hints=hints, cause=cause)

    def _explain_silence(self, details, hints):
        """Adds what explains a missing reply; returns the cause if it shows one."""
        cause = None
        if self.strays:
            addr, d = self.strays[-1]
            details.append(f"a datagram came from {addr[0]}:{addr[1]} instead ({hexs(d, 24)})")
            hints.insert(0, f"replies must come from the address the query was sent to "
                            f"({self.address[0]}:{self.address[1]}): send them with the socket that "
                            "received the query")
            cause = "replies come from another address or port than the one queried"
        if self.server is not None and not self.server.alive():
            details.insert(0, f"the server is not running any more: {self.server.exit_text()}")
            hints.append(f"look in the server's log for a crash or a sanitizer report: "
                         f"{self.server.log_path}")
            cause = CAUSE_DIED
        elif not hints:
            hints.append("does the server send its reply to the address recvfrom() returned "
                         "(the client's address and port)?")
        return cause


# --------------------------------------------------------------------------------------------------
# EDNS(0), RFC 6891 (stage 9 on): the OPT pseudo-record, written into queries and read from replies


OPT_TYPE = 41
OUR_PAYLOAD = 1232  # the UDP payload size the workbook's server advertises (DNS flag day 2020)
UDP_PLAIN_MAX = 512  # a UDP reply without EDNS (RFC 1035 4.2.1); also the least an OPT may ask for
BADVERS = 16  # the extended RCODE for an EDNS version the responder does not implement


def opt_record(payload=OUR_PAYLOAD, version=0, do=False, ext_rcode=0, options=(), owner=b"\x00",
               z=0):
    """An OPT record: owner (the root), TYPE 41, CLASS = the UDP payload size, TTL = extended RCODE
    (8 bits), VERSION (8), DO (1) and Z (15), then RDLENGTH and the options ((code, bytes) pairs,
    each written as code, length, data)."""
    rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
    ttl = ext_rcode << 24 | version << 16 | (0x8000 if do else 0) | z
    return owner + struct.pack("!HHIH", OPT_TYPE, payload, ttl, len(rdata)) + rdata


def edns_query(id_, name, qtype=1, payload=OUR_PAYLOAD, rd=1, **opt):
    """A one-question query with an OPT record in its additional section (opt: opt_record()'s
    arguments), or none when payload is None."""
    if payload is None:
        return query(id_, name, qtype, rd=rd)
    return (header(id_, make_flags(rd=rd), 1, 0, 0, 1) + question(name, qtype)
            + opt_record(payload, **opt))


class Opt:
    """An OPT record read from a message: where it was, its owner, and its fields."""

    def __init__(self, section, owner, payload, ttl, rdata):
        self.section, self.owner, self.payload, self.ttl = section, owner, payload, ttl
        self.ext_rcode, self.version = ttl >> 24, ttl >> 16 & 0xFF
        self.do, self.z = ttl >> 15 & 1, ttl & 0x7FFF
        self.rdata = rdata
        self.options = []  # (code, data); a cut option is kept as (None, the rest)
        pos = 0
        while pos < len(rdata):  # bounded: each pass moves forwards
            if pos + 4 > len(rdata):
                self.options.append((None, rdata[pos:]))
                break
            code, n = struct.unpack("!HH", rdata[pos:pos + 4])
            self.options.append((code, rdata[pos + 4:pos + 4 + n]))
            pos += 4 + n

    def describe(self):
        opts = ", ".join(f"{c} ({len(d)} bytes)" if c is not None else "a cut option"
                         for c, d in self.options) or "none"
        return (f"OPT in the {self.section} section, owner {dnswire.name_text(self.owner)}, "
                f"payload {self.payload}, extended RCODE {self.ext_rcode}, version {self.version}, "
                f"DO={self.do}, Z=0x{self.z:04X}, options: {opts}")


SECTIONS = ("answer", "authority", "additional")


def message_records(data):
    """Every record of the message `data` after its questions: [(section, owner labels, TYPE, CLASS,
    TTL, RDATA)]. Raises dnswire.Malformed where the message does not read."""
    if len(data) < HEADER_SIZE:
        raise dnswire.Malformed("shorter than a header")
    counts = struct.unpack("!6H", data[:HEADER_SIZE])[2:]
    pos = HEADER_SIZE
    for _ in range(counts[0]):
        _, pos = dnswire.read_name(data, pos)
        pos += 4
    out = []
    for section, count in zip(SECTIONS, counts[1:]):
        for i in range(count):
            labels, end = dnswire.read_name(data, pos)
            if end + 10 > len(data):
                raise dnswire.Malformed(f"{section} record {i + 1} is cut short")
            rtype, rclass, ttl, rdlength = struct.unpack("!HHIH", data[end:end + 10])
            pos = end + 10 + rdlength
            if pos > len(data):
                raise dnswire.Malformed(f"the RDATA of {section} record {i + 1} runs past the end")
            out.append((section, labels, rtype, rclass, ttl, data[end + 10:pos]))
    if pos != len(data):
        raise dnswire.Malformed(f"{len(data) - pos} byte(s) after the last record")
    return out


def opt_records(data):
    """The OPT records of the message `data`, wherever they are (a list of Opt). Raises
    dnswire.Malformed where the message does not read."""
    return [Opt(section, labels, rclass, ttl, rdata)
            for section, labels, rtype, rclass, ttl, rdata in message_records(data)
            if rtype == OPT_TYPE]


def reply_opt(reply, sent, what="the reply", hints=()):
    """The one OPT record of `reply`, or None if it has none; fails the test if the reply does not
    read or has more than one, or one outside the additional section or with another owner than
    the root (RFC 6891 6.1.1)."""
    error = None
    try:
        opts = opt_records(reply)
    except dnswire.Malformed as e:
        error = str(e)
    if error is not None:
        fail(f"{what} does not read as a DNS message: {error}", got=hexs(reply, 96), sent=sent,
             hints=["every record is owner name, TYPE, CLASS, TTL, RDLENGTH, then RDLENGTH bytes; "
                    "the counts must match the records (the OPT record counts in ARCOUNT)"])
    bad = [o for o in opts if o.section != "additional" or o.owner]
    if len(opts) > 1 or bad:
        fail(f"{what}: " + (f"{len(opts)} OPT records" if len(opts) > 1 else
                            "an OPT record out of place"),
             expected="at most one OPT record, in the additional section, owned by the root (00)",
             got="; ".join(o.describe() for o in opts), sent=sent,
             hints=[*hints, "RFC 6891 6.1.1: one OPT record at most, the last thing in the "
                            "additional section, its owner the root"])
    return opts[0] if opts else None


# --------------------------------------------------------------------------------------------------
# TCP (RFC 1035 4.2.2, RFC 7766; stage 9 on): each message goes with its length before it, 2 bytes,
# big-endian, both ways. A connection carries many queries, pipelined; replies may come in any order.

TCP_CONNECT_TIMEOUT = 1.0  # s (times DNS_TEST_TIMEOUT_SCALE): loopback connects at once
CAUSE_NO_TCP = "the server does not accept TCP connections on its port"
CAUSE_NO_LENGTH = "TCP replies are sent without their 2-byte length prefix"
TCP_HINT = ("over TCP every message, query and reply, is preceded by its length in 2 bytes, "
            "big-endian (RFC 1035 4.2.2): read 2 bytes, then that many; write the length, then "
            "the message")


class TcpClient:
    """One TCP connection to the server: send() a message (its length is put before it),
    send_raw() any bytes (a message in pieces), receive() the next whole message, exchange() a
    query for its reply (matched by ID, RFC 7766 7: replies may come in any order), wait_closed()
    for the server to close the connection. Messages that came but were not asked for are kept in
    `pending`."""

    def __init__(self, address, server=None, timeout=1.0, rcvbuf=None):
        self.address, self.server, self.timeout = address, server, timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect(): it sets the window the server may fill
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        # Each send() its own segment: a message sent in pieces arrives in pieces.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""  # bytes received, not yet a whole message
        self.pending = []  # whole messages received, not yet taken
        self.closed = None  # None while open; "closed" (the server's FIN) or "reset"
        error = None
        self.sock.settimeout(TCP_CONNECT_TIMEOUT * TIMEOUT_SCALE)
        try:
            self.sock.connect(address)
        except ConnectionRefusedError:
            error = "refused"
        except (socket.timeout, OSError) as e:
            error = f"{type(e).__name__}: {e}"
        if error is not None:
            self.sock.close()
            dead = server is not None and not server.alive()
            fail(f"could not open a TCP connection to {address[0]}:{address[1]}: {error}"
                 + (f" (the server is not running: {server.exit_text()})" if dead else ""),
                 hints=["from stage 9 on the server listens on TCP too, on the same address and "
                        "port as UDP: socket(SOCK_STREAM), bind(), listen(), and accept() in the "
                        "event loop (RFC 7766: TCP is required, not optional)"]
                 if not dead else [f"look in the server's log: {server.log_path}"],
                 cause=CAUSE_DIED if dead else CAUSE_NO_TCP)

    def close(self):
        self.sock.close()

    def server_exited(self):
        return self.server is not None and not self.server.alive()

    def send_raw(self, data):
        """Sends `data` as it is (a piece of a message); False if the server closed the
        connection."""
        self.sock.settimeout(2.0 * TIMEOUT_SCALE)
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.closed = self.closed or "reset"
            return False
        except socket.timeout:
            fail(f"sending {len(data)} bytes over TCP blocked for 2 s: the server does not read "
                 "from the connection", hints=["read every readable connection in the event loop"])

    def send(self, message):
        """Sends `message` with its 2-byte length before it."""
        return self.send_raw(struct.pack("!H", len(message)) + message)

    def _take(self):
        """Moves the whole messages at the front of `buf` to `pending`."""
        while len(self.buf) >= 2:
            n = struct.unpack("!H", self.buf[:2])[0]
            if len(self.buf) < 2 + n:
                break
            self.pending.append(self.buf[2:2 + n])
            self.buf = self.buf[2 + n:]

    def _read(self, deadline):
        """Reads what comes before `deadline` (once); False when nothing more can come: the
        deadline passed or the connection is closed."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(min(left, SERVER_POLL))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return not self.server_exited()  # a dead server sends nothing more
        except (ConnectionResetError, ConnectionAbortedError):
            self.closed = "reset"
            return False
        if not chunk:
            self.closed = "closed"
            return False
        self.buf += chunk
        self._take()
        return True

    def receive(self, timeout=None, match=None):
        """The next whole message (the first for which match(message) holds, if given), or None when
        none comes within `timeout` s or the connection closes first."""
        wait = (self.timeout if timeout is None else timeout) * TIMEOUT_SCALE
        deadline = time.monotonic() + wait
        while True:  # bounded by the deadline
            for i, m in enumerate(self.pending):
                if match is None or match(m):
                    return self.pending.pop(i)
            if not self._read(deadline):
                return None

    def exchange(self, message, timeout=None, what=None, hints=()):
        """Sends `message` and returns the reply with its ID; fails the test if none comes."""
        self.send(message)
        return self.expect_reply(message, timeout, what, hints)

    def expect_reply(self, message, timeout=None, what=None, hints=()):
        """The reply to `message` (already sent): the message with its ID. Fails the test, saying
        why, if none comes."""
        want = message[:2]
        reply = self.receive(timeout, lambda m: m[:2] == want)
        if reply is not None:
            return reply
        self.fail_no_reply(message, timeout, what, hints)

    def fail_no_reply(self, message, timeout=None, what=None, hints=()):
        wait = (self.timeout if timeout is None else timeout) * TIMEOUT_SCALE
        qid = int.from_bytes(message[:2], "big")
        details, more, cause = [], list(hints), None
        if self.closed:
            summary = (f"the server {'reset' if self.closed == 'reset' else 'closed'} the TCP "
                       f"connection without a reply with ID 0x{qid:04X}")
        else:
            summary = f"no TCP reply with ID 0x{qid:04X} within {wait:g} s"
        if what:
            summary += f" (to {what})"
        if self.pending:
            ids = ", ".join(f"0x{int.from_bytes(m[:2], 'big'):04X}" for m in self.pending[:8])
            details.append(f"whole messages with other IDs came: {ids}")
        if self.buf:
            details.append(f"{len(self.buf)} bytes came that do not make a whole length-prefixed "
                           f"message: {hexs(self.buf, 32)}")
            if self.buf[:2] == message[:2]:
                more.insert(0, "the bytes start with the query's ID: the reply was sent without "
                               "the 2-byte length before it")
                cause = CAUSE_NO_LENGTH
        more.append(TCP_HINT)
        if self.server is not None and not self.server.alive():
            details.insert(0, f"the server is not running any more: {self.server.exit_text()}")
            more.append(f"look in the server's log for a crash or a sanitizer report: "
                        f"{self.server.log_path}")
            cause = CAUSE_DIED
        fail(summary, sent=message, details=details, hints=more, cause=cause)

    def wait_closed(self, timeout):
        """Waits up to `timeout` s (times DNS_TEST_TIMEOUT_SCALE) for the server to close the
        connection, reading (and keeping) whatever comes meanwhile. Returns the seconds it took, or
        None if it is still open."""
        start = time.monotonic()
        deadline = start + timeout * TIMEOUT_SCALE
        while not self.closed and time.monotonic() < deadline:  # bounded by the deadline
            self._read(deadline)
        return time.monotonic() - start if self.closed else None


def tcp_framed(messages):
    """The bytes of `messages` as they go over TCP: each with its 2-byte length before it."""
    return b"".join(struct.pack("!H", len(m)) + m for m in messages)


def expect_still_answers(client, step, after):
    """After hostile or dropped input: a well-formed query must still get a correct reply."""
    expect_still_answers.counter = (getattr(expect_still_answers, "counter", 0) + 1) & 0xFF
    id_ = 0x6A00 | expect_still_answers.counter
    q = question(ALIVE_NAME, 1, 1)
    sent = header(id_, RD, 1) + q
    reply = client.exchange(sent, what=f"a good query sent after {after}",
                            hints=[f"the server must keep answering after {after}"])
    expect_correct_reply(step, sent, reply, q)


# --------------------------------------------------------------------------------------------------
# The server command (--server-cmd, make grade SERVER=...): placeholders
#
# The grader fills what a stage's tests need into the learner's command. A placeholder stands for a
# value the fixtures provide (VALUE_KEY of the table: "zone" is the list of zone files a server is
# to serve); the build gets the same values as options (OPTION). The contract:
#
#   {port}        the UDP port to listen on, on 127.0.0.1: every command has it.
#   {zone}        one zone file (stages 4-6; from 9 on, the stage-9 zone). The word holding it,
#                 with the option word just before it if there is one (a word starting with "-"),
#                 is repeated once per zone file:
#                 `--zone {zone}` -> `--zone a.zone --zone b.zone`; `-z{zone}`, `--zone={zone}`
#                 and a bare `{zone}` work the same way. No zone files: the words vanish.
#   {zones}       every zone file, as separate words: `{zones}` -> `a.zone b.zone`.
#   {resolver}    the upstream resolver the stage-6 tests run (fake_upstream.py), as ADDRESS:PORT:
#                 `--resolver {resolver}` -> `--resolver 127.0.0.1:40123`.
#   {root_hints}  a root hints file (named.root format) naming the fake root servers of the stage-7
#                 tests (fake_hierarchy.py): `--root-hints {root_hints}`.
#   {ns_port}     the one port every fake name server listens on (UDP and TCP): `--ns-port {ns_port}`.
#
# A value the tests provide that no placeholder of the command takes is appended as the workbook's
# own option (`--zone FILE` for each zone file, `--resolver ADDRESS:PORT`, `--root-hints FILE`,
# `--ns-port P`), so a server that takes the workbook's options needs
# no placeholder but {port}. Anything else in braces ({Port}, {zonefile}) is an error, and so is a
# placeholder whose value no test of the graded stage provides ({resolver} at stage 4); only
# `${...}`, the shell's, is left alone.


class Placeholder:
    def __init__(self, name, key, kind, option, stages, what):
        self.name = name  # as written in the command, without braces
        self.key = key  # the value it takes: a key of the values a server is started with
        self.kind = kind  # "one": a single value; "each": repeat its word per value; "all": all
        self.option = option  # how the build takes the value, or None (not decided yet)
        # The stages whose tests provide it: (first, last), or a list of such ranges; None: none
        self.stages = None if stages is None else (
            [tuple(stages)] if isinstance(stages[0], int) else [tuple(r) for r in stages])
        self.what = what

    def covers(self, step):
        """True if the tests of `step` provide this placeholder's value."""
        return self.stages is not None and any(a <= step <= b for a, b in self.stages)

    def stages_text(self):
        """" (every stage)", " (stage 6)", " (stages 4-6, 9)" or "" (none yet), for the help."""
        if self.stages is None:
            return ""
        if self.stages == [(1, LAST_STAGE)]:
            return " (every stage)"
        parts = [str(a) if a == b else f"{a}-{b}" for a, b in self.stages]
        single = len(self.stages) == 1 and self.stages[0][0] == self.stages[0][1]
        return f" (stage{'' if single else 's'} {', '.join(parts)})"


PLACEHOLDERS = {p.name: p for p in [
    Placeholder("port", "port", "one", "--port", (1, LAST_STAGE),
                "the UDP port to listen on (127.0.0.1)"),
    Placeholder("zone", "zone", "each", "--zone", [(4, 6), (EDNS_FROM, LAST_STAGE)],
                "one zone file: the word holding it, and the option just before it, are repeated "
                "for each zone file (`--zone {zone}`)"),
    Placeholder("zones", "zone", "all", "--zone", [(4, 6), (EDNS_FROM, LAST_STAGE)],
                "every zone file, as separate words"),
    Placeholder("resolver", "resolver", "one", "--resolver", (6, 6),
                "the upstream resolver to forward to, as ADDRESS:PORT: the tests' fake upstream "
                "(127.0.0.1:PORT, fake_upstream.py)"),
    Placeholder("root_hints", "root_hints", "one", "--root-hints", (7, LAST_STAGE),
                "a root hints file (named.root format) naming the root servers of the tests' "
                "fake hierarchy (fake_hierarchy.py, on 127.0.1.x)"),
    Placeholder("ns_port", "ns_port", "one", "--ns-port", (7, LAST_STAGE),
                "the port every name server of the tests' fake hierarchy listens on, UDP and TCP "
                "(a hints file has no port)"),
]}
PLACEHOLDER_RE = re.compile(r"(?<!\$)\{([^{}\s]*)\}")


def provided(key, step):
    """True if the tests of `step` provide the value `key` (e.g. "zone", "resolver"): some
    placeholder takes it at that stage."""
    return any(p.key == key and p.covers(step) for p in PLACEHOLDERS.values())


def placeholders_help():
    """The table above, for grade.py --help and error messages."""
    lines = []
    for p in PLACEHOLDERS.values():
        where = p.stages_text()
        lines += textwrap.wrap(p.what + where, 98, initial_indent=f"  {{{p.name}}}".ljust(15),
                               subsequent_indent=" " * 15)
    return "\n".join(lines)


def check_command(cmd, step):
    """What is wrong with the server command `cmd` for grading stage `step`, or None."""
    names = PLACEHOLDER_RE.findall(cmd)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        return (f"unknown placeholder{'s' if len(unknown) > 1 else ''} "
                f"{', '.join('{' + n + '}' for n in unknown)} in the server command; the grader "
                f"fills these:\n{placeholders_help()}")
    if "port" not in names:
        return "the server command must contain {port}, e.g. 'python3 my.py --port {port}'"
    for n in names:
        p = PLACEHOLDERS[n]
        if p.kind == "one" and not p.covers(step):
            provided = ", ".join("{" + q.name + "}" for q in PLACEHOLDERS.values()
                                 if q.covers(step))
            return (f"{{{n}}} is not filled at stage {step}: {p.what}; the tests of stage {step} "
                    f"fill {provided}")
    return None


def _quote(value):
    return shlex.quote(str(value))


def expand_command(cmd, values):
    """The shell command for `cmd` with its placeholders filled from `values` ({"port": 5353, "zone":
    [files]}); values no placeholder takes are appended as the build's options. See above."""
    names = set(PLACEHOLDER_RE.findall(cmd))
    out = cmd
    each = [p for p in PLACEHOLDERS.values() if p.kind == "each" and p.name in names]
    for p in each:
        vals = values.get(p.key, [])
        token = "{" + p.name + "}"
        # The word holding {zone}, and the option word before it ("--zone {zone}").
        word = re.compile(r"(?:(?<=\s)|^)(-[^\s{}]*\s+)?(\S*" + re.escape(token) + r"\S*)")
        out = word.sub(lambda m: " ".join((m[1] or "") + m[2].replace(token, _quote(v))
                                          for v in vals), out)
    for p in PLACEHOLDERS.values():
        if p.name in names and p.kind != "each":
            v = values.get(p.key, [] if p.kind == "all" else "")
            text = " ".join(_quote(x) for x in v) if p.kind == "all" else _quote(v)
            out = re.sub(r"(?<!\$)\{" + p.name + r"\}", lambda _m: text, out)
    taken = {PLACEHOLDERS[n].key for n in names}
    for key, v in values.items():
        if key in taken or not v:
            continue
        option = next(p.option for p in PLACEHOLDERS.values() if p.key == key)
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            out += f" {option} {_quote(x)}"
    return out


def build_argv(binary, values):
    """The build's command line for `values`: --port P, then each value as its option."""
    argv = [str(binary)]
    for key, v in values.items():
        option = next(p.option for p in PLACEHOLDERS.values() if p.key == key)
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            argv += [option, str(x)]
    return argv


# --------------------------------------------------------------------------------------------------
# Server processes


def probe_socket(server_address):
    """A UDP socket on 127.0.0.1 for probing a server that may not have bound its port yet. The
    kernel may hand the probe the very port the server is about to take (it is free until then):
    a probe on it would receive its own query and take that for the server's reply. So never that
    port."""
    for _ in range(10):  # bounded: the kernel picks at random, a repeat is rare
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        if s.getsockname() != tuple(server_address):
            return s
        s.close()
    raise RuntimeError(f"the kernel keeps giving the probe socket {server_address}")


def free_udp_port(host="127.0.0.1"):
    """A port the OS says is free on `host` for UDP, and for TCP too (from stage 9 a server
    listens on both; a port a TCP client connection had as its own stays taken for TCP for a
    minute after the connection ends). The server binds it a moment later."""
    for _ in range(100):  # bounded: ports in TCP's TIME_WAIT are a few among thousands
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server's listener
            try:
                t.bind((host, port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no port on {host} is free for both UDP and TCP")


def exit_text(status):
    if status is None:
        return "still running"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    if status == 99:
        return "exit status 99 (what the sanitizers exit with: their report is in the log)"
    if status > 128 and status - 128 < 65:
        try:
            name = signal.Signals(status - 128).name
            return f"exit status {status} (a shell's way of saying killed by {name})"
        except ValueError:
            pass
    return f"exit status {status}"


class ServerStartError(Exception):
    pass


def missing_binary(path):
    return (f"{path} does not exist: build it first (make builds build/step-N, make SANITIZE=1 "
            "builds build/sanitize/step-N)")


class ServerProcess:
    """One server process: its command, port, log file (stdout and stderr together) and status."""

    def __init__(self, label, argv=None, shell_cmd=None, port=None, log_path=None, host="127.0.0.1"):
        self.label = label  # "step-3", for messages
        self.argv, self.shell_cmd = argv, shell_cmd
        self.host, self.port = host, port
        self.address = (host, port)
        self.log_path = log_path
        self.proc = None
        self.last_test = None  # nodeid of the last test that used it

    def command_text(self):
        return self.shell_cmd if self.shell_cmd is not None else " ".join(self.argv)

    def start(self):
        with open(self.log_path, "ab") as log:
            log.write(f"==== {self.command_text()}\n".encode())
            log.flush()
            try:
                if self.shell_cmd is not None:
                    # `exec`: the shell becomes the server, so SIGTERM reaches the server itself
                    # and its exit status is the server's, not that of a shell killed by the signal.
                    # A compound command ("cd x && ./srv") is left to the shell as it is.
                    simple = not any(c in self.shell_cmd for c in ";&|()`\n")
                    cmd = ("exec " + self.shell_cmd) if simple else self.shell_cmd
                    self.proc = subprocess.Popen(cmd, shell=True,
                                                 stdin=subprocess.DEVNULL,
                                                 stdout=log, stderr=subprocess.STDOUT,
                                                 start_new_session=True)
                else:
                    self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                raise ServerStartError(f"could not run {self.command_text()}: {e}") from e
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_text(self):
        return exit_text(self.proc.poll() if self.proc else None)

    def wait_ready(self, timeout=5.0, interval=0.1, first_interval=0.01):
        """Sends the readiness probe until any datagram comes back from the server's address: after
        `first_interval` s, then twice as long each time up to every `interval` s (a server that
        starts in a few milliseconds is not kept waiting 100 ms). Raises ServerStartError if the
        process exits or `timeout` passes."""
        timeout *= TIMEOUT_SCALE
        strays = set()  # addresses that answered but are not the server's
        with probe_socket(self.address) as s:
            deadline = time.monotonic() + timeout
            wait = first_interval
            while time.monotonic() < deadline:
                if not self.alive():
                    raise ServerStartError(
                        f"{self.label} exited before answering the readiness probe "
                        f"({self.exit_text()})\n  command: {self.command_text()}\n"
                        f"  its log:\n{indent(self.log_tail(40), 4)}")
                s.sendto(PROBE_QUERY, self.address)
                s.settimeout(wait)
                end = time.monotonic() + wait
                wait = min(2 * wait, interval)
                while time.monotonic() < end:
                    try:
                        _, addr = s.recvfrom(65536)
                    except socket.timeout:
                        break
                    except ConnectionRefusedError:
                        continue
                    if addr == self.address:
                        return
                    strays.add(addr)
        log = self.log_tail(40)
        hint = ""
        if strays:
            where = ", ".join(f"{h}:{p}" for h, p in sorted(strays))
            hint = (f"\n  hint: replies came from {where}, not from {self.host}:{self.port} where the "
                    "probe went: send replies with the socket that received the query")
        elif "listening on" in log and f":{self.port}/" not in log:
            hint = f"\n  hint: the log says it listens somewhere else: does it take --port {self.port}?"
        raise ServerStartError(
            f"{self.label} did not answer the readiness probe on {self.host}:{self.port} within "
            f"{timeout:g} s\n  command: {self.command_text()}\n"
            f"  probe: {hexs(PROBE_QUERY)}\n"
            f"  (ID 0xBEEF, RD=1, probe.grader.invalid. A IN; any reply from there counts)"
            f"{hint}\n  its log:\n{indent(log, 4)}")

    def stop(self, grace=2.0):
        """SIGTERM (to its process group), then SIGKILL after `grace` s. Returns the exit status."""
        grace *= TIMEOUT_SCALE
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset, max_chars=4000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if len(text) > max_chars:
            text = "[... earlier lines cut ...]\n" + text[-max_chars:].split("\n", 1)[-1]
        return text

    def log_tail(self, lines=30):
        text = self.log_since(0, max_chars=20000)
        return "\n".join(text.rstrip("\n").split("\n")[-lines:]) if text.strip() else "(empty)"


def indent(text, n):
    return "\n".join(" " * n + line for line in text.split("\n"))


# --------------------------------------------------------------------------------------------------
# A burst of junk: nothing may crash or wedge the server (used by the stage-1 and stage-2 tests).

BURST_SEED = 2053
BURST_COUNT = 2000


def burst_datagrams(seed, count):
    """`count` datagrams, the same for a given seed: random bytes, query-looking headers with random
    bodies, headers followed by hostile names (bad label types, stray pointers, missing root), and
    good queries with a few bytes changed."""
    rng = random.Random(seed)
    good = query(0x1234, "www.example.com.")
    for i in range(count):
        kind = i % 4
        if kind == 0:
            yield rng.randbytes(rng.randint(0, 600))
        elif kind == 1:
            flags = rng.getrandbits(16) & ~QR
            counts = [rng.choice([0, 1, 1, 2, 16, 0xFFFF, rng.getrandbits(16)]) for _ in range(4)]
            yield header(rng.getrandbits(16), flags, *counts) + rng.randbytes(rng.randint(0, 300))
        elif kind == 2:
            name = b""
            for _ in range(rng.randint(0, 8)):
                r = rng.random()
                if r < 0.2:  # a pointer, mostly to small offsets (into the header or this name)
                    name += bytes([0xC0 | rng.choice([0, 0, rng.getrandbits(6)]), rng.randint(0, 40)])
                elif r < 0.3:  # an extended (0x40) or unknown (0x80) label type
                    name += bytes([rng.choice([0x40, 0x80]) | rng.getrandbits(6)])
                else:
                    n = rng.randint(0, 63)
                    name += bytes([n]) + rng.randbytes(n)
            if rng.random() < 0.7:
                name += b"\x00"
            counts = (rng.choice([1, 1, 1, 2]), rng.choice([0, 0, 1]), 0, rng.choice([0, 0, 1]))
            yield (header(rng.getrandbits(16), rng.choice([0, RD]), *counts) + name
                   + rng.randbytes(rng.randint(0, 8)))
        else:
            d = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                d[rng.randrange(len(d))] = rng.getrandbits(8)
            cut = rng.random()
            if cut < 0.3:
                d = d[:rng.randint(12, len(d))]
            elif cut < 0.4:
                d += rng.randbytes(rng.randint(1, 20))
            yield bytes(d)


def burst_then_good_query(server, new_client, step, tmp_path):
    """Sends the burst in chunks of 100 (watching the process), waits until the server has handled
    all of it (settle()), then checks a good query still gets a correct reply for the stage."""
    sent = list(burst_datagrams(BURST_SEED, BURST_COUNT))
    saved = tmp_path / "burst-datagrams.txt"
    saved.write_text("".join(f"#{i} {d.hex()}\n" for i, d in enumerate(sent)))
    blaster = new_client(server)
    died_after = None
    for start in range(0, BURST_COUNT, 100):  # 20 chunks of 100, with a breath in between
        for d in sent[start:start + 100]:
            blaster.send(d)
        blaster.drain()
        # Pacing, not waiting for anything: as fast as they go, but not all into a full receive
        # buffer, where the kernel would drop most of them before the server saw them.
        time.sleep(0.002)
        if not server.alive():
            died_after = start + 99
            break
    checker = new_client(server, timeout=2.0)
    if died_after is None:
        settle(checker, server, 2.0)
    blaster.drain()
    if died_after is None and not server.alive():
        died_after = BURST_COUNT - 1
    if died_after is not None:
        fail(f"the server died during a burst of {BURST_COUNT} junk datagrams, at or before "
             f"datagram #{died_after} ({server.exit_text()})",
             details=[f"the datagrams (hex, numbered) are in {saved}"],
             hints=["a malformed datagram must get FORMERR or be dropped, never crash the server",
                    f"look in the server's log for a crash or a sanitizer report: {server.log_path}"],
             cause=CAUSE_DIED)
    expect_still_answers(checker, step, after=f"a burst of {BURST_COUNT} junk datagrams")


SETTLE_ID = 0x5E77  # the query that waits for the server to catch up after a burst


def settle(client, server, wait):
    """Sends the settle query (alive.grader.invalid. A IN, ID 0x5E77) every 0.2 s until its reply
    comes (the server has then handled every datagram sent before it), the server exits, or `wait`
    seconds (times DNS_TEST_TIMEOUT_SCALE) pass. A query sent while the server's receive buffer is
    full is lost, which is no fault; hence the repeats. Returns True if a reply came."""
    q = header(SETTLE_ID, RD, 1) + question(ALIVE_NAME)
    deadline = time.monotonic() + wait * TIMEOUT_SCALE
    while time.monotonic() < deadline and server.alive():  # bounded by the deadline
        client.send(q)
        reply, _ = client.receive(0.2, lambda d: d[:2] == q[:2])
        if reply is not None:
            return True
    return False


# --------------------------------------------------------------------------------------------------
# Slow servers: DNS_TEST_TIMEOUT_SCALE=N multiplies every wait above (replies, silence, the readiness
# probe, the grace before SIGKILL) by N, for servers run under valgrind (make memcheck sets 10).


def _timeout_scale():
    text = os.environ.get("DNS_TEST_TIMEOUT_SCALE", "").strip()
    try:
        scale = float(text) if text else 1.0
    except ValueError:
        raise SystemExit(f"DNS_TEST_TIMEOUT_SCALE={text!r}: expected a number such as 10") from None
    return max(scale, 1.0)


TIMEOUT_SCALE = _timeout_scale()
