"""dnsgrader: raw DNS messages, a UDP client, server processes and "expected X, got Y" checks for the
conformance tests.

Everything here works on bytes, so a test says exactly what goes on the wire. The checks end a test
with pytest.fail(pytrace=False): a learner reads what was expected, what came back (in hex where that
helps) and a "hint:" line naming the likely mistake, never a Python traceback.
"""

import os
import random
import signal
import socket
import struct
import subprocess
import time

import pytest

# --------------------------------------------------------------------------------------------------
# Stages

LAST_STAGE = 8
STAGE_NAMES = {
    1: "udp echo",
    2: "header",
    3: "question",
    4: "answer",
    5: "compression",
    6: "forwarding",
    7: "recursion",
    8: "cache",
}


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

    def describe(self):
        return (f"ID=0x{self.id:04X} QR={self.qr} OPCODE={self.opcode} AA={self.aa} TC={self.tc} "
                f"RD={self.rd} RA={self.ra} Z={self.z} AD={self.ad} CD={self.cd} "
                f"RCODE={self.rcode} {RCODE_NAMES.get(self.rcode, '')} QD={self.qdcount} "
                f"AN={self.ancount} NS={self.nscount} AR={self.arcount}").replace("  ", " ")


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
# Failing with a readable message


def fail(summary, expected=None, got=None, sent=None, details=(), hints=()):
    """Ends the test with:
        <summary>
          <details...>
          expected: <expected>
          got:      <got>
          sent:     <sent>
          hint: <hint>   (one line per hint)
    """
    lines = [summary]
    lines += [f"  {d}" for d in details if d]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if sent is not None:
        lines.append(f"  sent:     {hexs(sent)}  ({len(sent)} byte{'' if len(sent) == 1 else 's'})")
    lines += [f"  hint: {h}" for h in hints if h]
    pytest.fail("\n".join(lines), pytrace=False)


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


def _field_hint(field, expected, got, sent_hdr, step):
    """The likely mistake behind one wrong header field."""
    sent = sent_hdr and getattr(sent_hdr, field)
    if field == "id":
        if got == swap16(expected):
            return "the ID's two bytes are swapped: keep network byte order (big-endian, ntohs/htons)"
        return "is the ID copied from the query (bytes 0-1)?"
    if field == "qr":
        if expected == 1:
            return ("set QR, the top bit of byte 2 (flags | 0x8000): a reply with QR=0 looks like a "
                    "query and clients ignore it")
        return "QR must be 0 here"
    if field == "opcode":
        return ("copy OPCODE from the query: bits 11-14 of the flags word, (flags >> 11) & 0xF "
                "(mask 0x7800)")
    if field == "rd":
        if expected == 1:
            return "copy RD (0x0100, the low bit of byte 2) from the query"
        return "RD must be copied from the query, not always set"
    if field in ("aa", "tc", "ra", "z", "ad", "cd"):
        what = {"aa": "AA (authoritative answer, 0x0400)", "tc": "TC (truncated, 0x0200)",
                "ra": "RA (recursion available, 0x0080: set from stage 6 on)",
                "z": "Z (reserved, 0x0040)", "ad": "AD (0x0020)", "cd": "CD (0x0010)"}[field]
        copied = " — did you copy the whole flags word from the query? copy only OPCODE and RD" \
            if sent_hdr is not None and sent == got else ""
        return f"{what} must be {expected} in this reply{copied}"
    if field == "rcode":
        if sent_hdr is not None and got == sent and got != NOERROR:
            return (f"RCODE {got} was copied from the query; a reply sets its own RCODE "
                    f"({RCODE_NAMES.get(expected)} here)")
        if expected == NOTIMP:
            return ("OPCODE is not 0 (not a standard QUERY): the reply must carry RCODE 4 NOTIMP, "
                    "without looking at the rest of the message")
        if expected == FORMERR:
            return ("this query is malformed: reply with RCODE 1 FORMERR and the header only "
                    "(every count 0)")
        if expected == NOERROR and got == NOTIMP:
            return "NOTIMP is only for OPCODE != 0: is OPCODE read as (flags >> 11) & 0xF?"
        if expected == NOERROR and got == FORMERR:
            return "this query is well formed: why was it rejected? (the server's log may say)"
        return f"RCODE lives in the low 4 bits of byte 3; expected {RCODE_NAMES.get(expected)}"
    if field.endswith("count"):
        section = {"qdcount": "question", "ancount": "answer", "nscount": "authority",
                   "arcount": "additional"}[field]
        if got == swap16(expected):
            return f"{field.upper()} has its bytes swapped: counts are big-endian 16-bit fields"
        if sent_hdr is not None and got == sent and got != expected:
            return (f"{field.upper()} was copied from the query: it must count the {section} "
                    f"records of the reply ({expected})")
        if field == "qdcount" and expected == 1:
            return "the reply carries the question, so QDCOUNT is 1"
        if expected == 0 and step == 2:
            return "a stage-2 reply is the header alone: all four counts are 0"
        if expected == 0:
            return f"the reply has no {section} section records here: {field.upper()} must be 0"
    return None


def expect_header(reply, sent, what="the reply header", step=None, extra_hints=(), **expected):
    """Checks the given header fields of `reply` (keys: Header.FIELDS); reports every wrong field at
    once, with the expected and received headers side by side."""
    if len(reply) < HEADER_SIZE:
        fail(f"{what}: the reply is shorter than a DNS header",
             expected=f"at least {HEADER_SIZE} bytes", got=f"{len(reply)} bytes: {hexs(reply)}",
             sent=sent, hints=["every DNS message starts with the 12-byte header"])
    got = Header.parse(reply)
    sent_hdr = Header.parse(sent) if sent is not None and len(sent) >= HEADER_SIZE else None
    wrong = [f for f in Header.FIELDS if f in expected and getattr(got, f) != expected[f]]
    if not wrong:
        return got
    want = got.replace(**{f: expected[f] for f in wrong})
    fail(f"{what}: wrong {', '.join(f.upper() for f in wrong)}",
         details=[f"{f.upper()}: expected {_show(f, expected[f])}, got {_show(f, getattr(got, f))}"
                  for f in wrong],
         expected=f"{hexs(want.wire())}   {want.describe()}",
         got=f"{hexs(reply[:HEADER_SIZE])}   {got.describe()}",
         sent=sent,
         hints=[_field_hint(f, expected[f], getattr(got, f), sent_hdr, step) for f in wrong]
         + list(extra_hints))
    return got


def reply_fields(sent, step, rcode=NOERROR, qdcount=0):
    """The header fields the contract fixes for a reply to `sent` at `step`, with `qdcount` questions.
    Stages 2 and 3 fix every bit; later stages only what they keep (ID, QR, OPCODE, RD, Z, QDCOUNT,
    and the RCODE when it is FORMERR or NOTIMP)."""
    q = Header.parse(sent)
    fields = dict(id=q.id, qr=1, opcode=q.opcode, rd=q.rd, z=0, qdcount=qdcount)
    if step <= 3 or rcode in (FORMERR, NOTIMP):
        fields.update(rcode=rcode)
    if step <= 3:
        fields.update(aa=0, tc=0, ra=0, ad=0, cd=0, ancount=0, nscount=0, arcount=0)
    return fields


def expect_bytes(got, expected, what, sent=None, qlen=None, hints=(), dns=True):
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
         sent=sent if sent is not None and sent != expected else None, hints=hints)


def question_hints(got_rest, q):
    """Likely mistakes when the bytes after the header are not the question that was sent."""
    if not got_rest:
        return ["the question is missing: from stage 3 on the reply carries the question after the "
                "header, byte for byte as sent"]
    if got_rest.lower() == q.lower():
        return ["the question must be echoed as sent, letter case kept (ExAmPle.COM stays "
                "ExAmPle.COM): compare names case-insensitively, but copy the original bytes"]
    if len(got_rest) == len(q) - 1:
        return ["the question is one byte short: is the name's terminating zero byte (the root label) "
                "missing? QTYPE then reads as 256"]
    if got_rest[:len(q)] == q and len(got_rest) > len(q):
        return [f"{len(got_rest) - len(q)} extra bytes after the question: the reply holds the header "
                "and the question only (the additional section, e.g. dig's OPT record, is not echoed)"]
    return ["the question (QNAME, QTYPE, QCLASS) must be copied from the query unchanged"]


def expect_question(reply, sent, q, exact, what="the reply"):
    """Checks that the question `q` follows the header: exactly (nothing after it) or as a prefix."""
    rest = reply[HEADER_SIZE:]
    if (exact and rest == q) or (not exact and rest[:len(q)] == q):
        return
    expect_bytes(reply if exact else reply[:HEADER_SIZE + len(q)], reply[:HEADER_SIZE] + q,
                 f"{what} (header + the question as sent)", sent=sent, qlen=len(q),
                 hints=question_hints(rest, q))


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
        details, more_hints = [], list(hints)
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
                else:
                    more_hints.insert(0, f"is the ID copied from the query? a client drops a reply "
                                      f"whose ID is not its query's (0x{qid:04X})")
        else:
            summary = f"no reply{within}"
        if what:
            summary += f" to {what}"
        self._explain_silence(details, more_hints)
        fail(summary, sent=data, details=details, hints=more_hints)

    def expect_no_reply(self, data, wait=0.3, what="this datagram", hints=()):
        """Sends `data` and fails if the server answers it, or dies.

        Rather than waiting a fixed time, it sends a barrier right after `data`: a good query
        (alive.grader.invalid. A IN, RD=1) with a fresh ID. A server that handles datagrams in turn
        has finished with `data` when the barrier's reply comes, so anything that came before that
        reply answered `data`; NO_REPLY_GRACE more catches a server that answers out of order (a
        thread per datagram). Only the ID of the barrier's reply is looked at (at stage 1 the echo
        of the barrier is its reply); expect_still_answers() checks what replies hold.
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
                                   "it came before the reply to a good query sent after it")
            answered = time.monotonic()
            # A copy of the barrier's reply is not a reply to `data` (a server that answers twice
            # is not what this checks).
            late, _ = self.receive(NO_REPLY_GRACE, match=lambda d: d != reply)
            if late is not None:
                after = (time.monotonic() - answered) * 1000
                after = f"{after:.0f} ms" if after >= 1 else "less than 1 ms"
                self._fail_replied(data, [late], what, hints,
                                   f"it came {after} after the reply to a good query sent after "
                                   "it: are datagrams answered out of order (a thread each?)")
        elif not self.server_exited():
            self.drain()  # what came instead of the barrier's reply: it is not known what answered what
            self.send(data)
            # A barrier's reply that comes only now (a very slow server) answers the barrier.
            reply, _ = self.receive(wait, match=lambda d: d[:2] != barrier[:2])
            if reply is not None:
                self._fail_replied(data, [reply], what, hints)
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
                        f"{self.server.log_path}"])

    def _barrier_for(self, data):
        """The barrier sent after `data`: alive.grader.invalid. A IN, RD=1, with the next ID of
        0xBA01..0xBAFF that is not `data`'s (so a reply to `data` cannot pass for the barrier's)."""
        while True:  # at most two turns: only one ID is `data`'s
            Client.barrier_count = Client.barrier_count % 0xFF + 1
            id_ = 0xBA00 | Client.barrier_count
            if data[:2] != id_.to_bytes(2, "big"):
                return header(id_, RD, 1) + question(ALIVE_NAME, 1, 1)

    def _fail_replied(self, data, replies, what, hints, when=None):
        """Fails because `replies` (at least one) answered `data`, which must get no reply."""
        first = replies[0]
        shown = hexs(first)
        if len(first) >= HEADER_SIZE:
            shown += f"   {Header.parse(first).describe()}"
        details = [when]
        if len(replies) > 1:
            details.append(f"and {len(replies) - 1} more datagram(s) before that reply")
        fail(f"expected no reply to {what}, got one ({len(first)} bytes)", expected="no reply",
             got=shown, sent=data, details=details, hints=hints)

    def _explain_silence(self, details, hints):
        if self.strays:
            addr, d = self.strays[-1]
            details.append(f"a datagram came from {addr[0]}:{addr[1]} instead ({hexs(d, 24)})")
            hints.insert(0, f"replies must come from the address the query was sent to "
                            f"({self.address[0]}:{self.address[1]}): send them with the socket that "
                            "received the query")
        if self.server is not None and not self.server.alive():
            details.insert(0, f"the server is not running any more: {self.server.exit_text()}")
            hints.append(f"look in the server's log for a crash or a sanitizer report: "
                         f"{self.server.log_path}")
        elif not hints:
            hints.append("does the server send its reply to the address recvfrom() returned "
                         "(the client's address and port)?")


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
# Server processes


def free_udp_port(host="127.0.0.1"):
    """A UDP port the OS says is free on `host` (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
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
                    f"look in the server's log for a crash or a sanitizer report: {server.log_path}"])
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
