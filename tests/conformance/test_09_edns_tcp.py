"""Stage 9, EDNS(0) and TCP: the caching resolver of stage 8 (its options, and --zone for local
data), which now also

  - speaks EDNS(0) (RFC 6891): a query with an OPT record gets one back (owner the root, payload
    1232, version 0, DO=0, no options, whatever options the query carried); a UDP reply may then be
    as long as the query's payload size (below 512 counts as 512, above 1232 as 1232) before TC is
    set; a query without an OPT gets no OPT back. EDNS version above 0: BADVERS (extended RCODE 16:
    RCODE 0 in the header, 1 in the OPT's TTL) with an OPT. Two OPT records, an OPT outside the
    additional section or owned by another name than the root: FORMERR;
  - listens on TCP at the same address and port (RFC 1035 4.2.2, RFC 7766): each message with its
    2-byte length before it; several queries per connection, pipelined, answered in any order;
    messages that arrive in pieces put together; idle connections closed after --tcp-timeout MS
    (10000); at most --tcp-max N connections (256), the oldest idle one closed to make room; no TC
    over TCP; a slow or stalled client never delays UDP or another connection;
  - resolves with an OPT in its queries (payload 1232); a name server that answers FORMERR,
    NOTIMP or BADVERS to it is asked again without; TC from a name server: asked again over TCP.

The pooled stage-9 server has the fake hierarchy's root hints and port, and the stage-9 zone
(zonedata.EDNS9, edns9.test.): TXT RRsets whose replies take 419 (t400), 999 (t1000) and 3,079
(t3000) bytes without an OPT, and a few names of each kind of answer. The tests of
--tcp-max and --tcp-timeout get servers of their own (--tcp-max 4, --tcp-timeout 300). The
resolution tests build zones in the fake hierarchy (fake_hierarchy.py), whose servers truncate a
UDP reply to 512 bytes or the query's payload size and record the OPT of every query.

The TCP helpers (dnsgrader.TcpClient: length-prefixed send and receive, pieces, pipelining,
waiting for the server to close) and the OPT helpers (dnsgrader.opt_record, reply_opt) are
dnsgrader's. Every wait is short: the file takes about 3 s."""

import itertools
import shutil
import subprocess
import time

import dns.rdatatype
import pytest

import dnsgrader as g
import fake_hierarchy as fh
import test_07_recursion as t7
import zonedata
from fake_hierarchy import Server
from test_04_answer import Reply, record_texts

S = g.TIMEOUT_SCALE
scope = t7.scope  # the fixture: this test's part of the fake tree

E = zonedata.E  # "edns9.test.", the stage-9 zone the pooled server serves
SIZES = {name: len(zonedata.txt_strings(name[1:], *shape)) for name, shape in
         zonedata.TXT_RRSETS.items()}  # records in each big TXT RRset
TCP_ARGS_MAX = ("--tcp-max", "4")
TCP_MAX = 4
IDLE_MS = 300
TCP_ARGS_IDLE = ("--tcp-timeout", str(IDLE_MS))
QUICK = 0.5  # s: "at once" for a reply that must not wait for anything else (well under 1 s)

CAUSE_NO_OPT = "a query with an OPT record gets no OPT record back (EDNS is not spoken)"
CAUSE_OPT_UNASKED = "a reply to a query without an OPT record carries one"
CAUSE_OPT_PAYLOAD = "the reply's OPT record does not advertise a payload size of 1232"
CAUSE_DO_COPIED = "the DO bit is copied into the reply (this server does no DNSSEC)"
CAUSE_OPTIONS_ECHOED = "the query's EDNS options are echoed in the reply"
CAUSE_OPT_COPIED = "the query's OPT record is copied into the reply"
CAUSE_PAYLOAD_IGNORED = "the requestor's UDP payload size is not used: replies stop at 512 bytes"
CAUSE_PAYLOAD_EXCEEDED = "a UDP reply is longer than the requestor's payload size (or 1232)"
CAUSE_SMALL_PAYLOAD = "an EDNS payload size below 512 is used as it is (it counts as 512)"
CAUSE_NO_BADVERS = "an EDNS version above 0 does not get BADVERS"
CAUSE_OPT_MISUSE = "a query with two OPT records, or one out of place, does not get FORMERR"
CAUSE_TC_OVER_TCP = "replies over TCP are truncated like UDP ones"
CAUSE_TCP_DIFFERS = "a reply over TCP differs from the same reply over UDP"
CAUSE_NOT_PIPELINED = "only the first query of a TCP connection is answered"
CAUSE_PIECES = "a TCP message that arrives in pieces is not put together"
CAUSE_TCP_BLOCKS = "a slow or stalled TCP client blocks the server"
CAUSE_TCP_LIMIT = "the TCP connections are not bounded by --tcp-max (the oldest idle one closed)"
CAUSE_IDLE = "idle TCP connections are not closed after --tcp-timeout"
CAUSE_BUSY_CLOSED = "a TCP connection in use is closed by the idle timeout"
CAUSE_NO_UPSTREAM_OPT = "queries to name servers carry no OPT record (payload 1232)"
CAUSE_NO_EDNS_FALLBACK = "a name server that rejects EDNS is not asked again without it"
CAUSE_BIG_LOST = "a big answer does not reach the client whole (EDNS or TCP)"

EDNS_HINT = ("a query with an OPT record (RFC 6891) gets one back, the last record of the "
             "additional section: owner the root (00), TYPE 41, CLASS 1232 (our UDP payload "
             "size), TTL 0 (extended RCODE 0, version 0, DO=0), RDLENGTH 0")
SIZE_HINT = ("over UDP a reply may take the query's payload size (its OPT's CLASS), at least 512 "
             "and at most our 1232; without an OPT, 512; what does not fit: TC=1")

ids = itertools.count(0x9001)


def next_id():
    return next(ids) & 0xFFFF


def make(name, qtype="A", payload=None, rd=1, id_=None, **opt):
    """(the query, its question's bytes, "name TYPE"): with an OPT record of `payload` (and
    opt_record()'s other arguments) unless payload is None."""
    code = dns.rdatatype.from_text(qtype)
    id_ = next_id() if id_ is None else id_
    sent = g.edns_query(id_, name, code, payload, rd=rd, **opt)
    return sent, g.question(name, code), f"{name} {qtype}" + (
        f" (EDNS payload {payload})" if payload is not None else "")


def udp(client, step, name, qtype="A", payload=None, **opt):
    """Asks over UDP; returns the Reply (test_04's: raw, header, dnspython's reading)."""
    sent, q, what = make(name, qtype, payload, **opt)
    raw = client.exchange(sent, what=what)
    g.expect_answered(raw, sent)
    return Reply(sent, q, raw, what, step)


def tcp(conn, step, name, qtype="A", payload=None, timeout=None, **opt):
    """Asks over the TCP connection `conn`; returns the Reply."""
    sent, q, what = make(name, qtype, payload, **opt)
    raw = conn.exchange(sent, timeout=timeout, what=what + " over TCP")
    g.expect_answered(raw, sent)
    return Reply(sent, q, raw, what + " over TCP", step)


def header_line(raw):
    return f"{g.hexs(raw[:g.HEADER_SIZE])}   {g.Header.parse(raw).describe()}"


def expect_opt(r, hints=(), ext_rcode=0):
    """The reply carries one OPT record: root, payload 1232, the extended RCODE given, version 0,
    DO=0, Z=0, no options. Returns it."""
    opt = g.reply_opt(r.raw, r.sent, f"the reply to {r.what}", hints=[EDNS_HINT])
    if opt is None:
        g.fail(f"the reply to {r.what} has no OPT record", sent=r.sent,
               expected="an OPT record in the additional section: payload 1232, version 0",
               got=header_line(r.raw), hints=[*hints, EDNS_HINT], cause=CAUSE_NO_OPT)
    sent_opt = g.opt_records(r.sent)[0]
    wrong, causes = [], []
    if opt.payload != g.OUR_PAYLOAD:
        wrong.append(f"payload size (CLASS) {opt.payload}, expected {g.OUR_PAYLOAD}")
        causes.append(CAUSE_OPT_COPIED if opt.payload == sent_opt.payload else CAUSE_OPT_PAYLOAD)
    if opt.ext_rcode != ext_rcode:
        wrong.append(f"extended RCODE (the TTL's upper byte) {opt.ext_rcode}, expected "
                     f"{ext_rcode}")
    if opt.version != 0:
        wrong.append(f"version {opt.version}, expected 0 (the highest version this server speaks)")
    if opt.do:
        wrong.append("DO=1, expected 0: the server does no DNSSEC, so its replies leave DO "
                     "clear (RFC 3225 3 has DNSSEC-aware servers copy it)")
        causes.append(CAUSE_DO_COPIED)
    if opt.z:
        wrong.append(f"Z=0x{opt.z:04X}, expected 0 (RFC 6891 6.1.4: set to zero)")
    if opt.options:
        wrong.append(f"{len(opt.options)} option(s), expected none: options the server does not "
                     "know are ignored, not echoed (RFC 6891 6.1.2)")
        causes.append(CAUSE_OPTIONS_ECHOED if opt.rdata == sent_opt.rdata else None)
    if wrong:
        g.fail(f"the reply to {r.what}: its OPT record is wrong", details=wrong,
               expected="OPT: owner ., payload 1232, extended RCODE "
                        f"{ext_rcode}, version 0, DO=0, Z=0, no options",
               got=opt.describe(), sent=r.sent, hints=[*hints, EDNS_HINT],
               cause=next((c for c in causes if c), None))
    return opt


def expect_no_opt(r, hints=()):
    opt = g.reply_opt(r.raw, r.sent, f"the reply to {r.what}")
    if opt is not None:
        g.fail(f"the reply to {r.what} carries an OPT record, and the query had none",
               expected="no OPT record (RFC 6891 7: only a requestor that sent one gets one)",
               got=opt.describe(), sent=r.sent, hints=list(hints), cause=CAUSE_OPT_UNASKED)


def without_opt(records):
    return [x for x in records if " OPT " not in x]


def sections(r):
    """The reply's header fields and records (dig-like lines, OPT left out), for comparing."""
    hdr = r.hdr
    fields = {f: getattr(hdr, f) for f in ("qr", "opcode", "aa", "tc", "rd", "ra", "rcode",
                                           "qdcount", "ancount", "nscount")}
    return fields, {s: record_texts(getattr(r.msg, s)) for s in ("answer", "authority",
                                                                  "additional")}


def expect_same_answer(r, base, hints=(), cause=None):
    """`r` holds the same header (ID aside) and records as `base` (OPT records aside)."""
    (f1, s1), (f2, s2) = sections(r), sections(base)
    s1["additional"], s2["additional"] = without_opt(s1["additional"]), without_opt(
        s2["additional"])
    if f1 == f2 and s1 == s2:
        return
    details = [f"{k}: {f1[k]} here, {f2[k]} in the reply to {base.what}" for k in f1
               if f1[k] != f2[k]]
    for s in s1:
        if s1[s] != s2[s]:
            details += [f"{s} section here:", *[f"    {x}" for x in s1[s] or ["(none)"]],
                        f"{s} section of the reply to {base.what}:",
                        *[f"    {x}" for x in s2[s] or ["(none)"]]]
    g.fail(f"the reply to {r.what} differs from the reply to {base.what}", details=details,
           sent=r.sent, hints=list(hints), cause=cause)


def expect_whole_txt(r, name, hints=(), cause=None):
    """TC=0, and the answer is the whole TXT RRset `name` of the stage-9 zone."""
    count = SIZES[name]
    got = [x for x in record_texts(r.msg.answer) if " TXT " in x]
    if r.hdr.tc or len(got) != count:
        g.fail(f"the reply to {r.what} is not the whole RRset ({len(r.raw)} bytes)",
               expected=f"TC=0 and the {count} TXT records of {name}.{E}",
               got=f"TC={r.hdr.tc} and {len(got)} TXT records; {header_line(r.raw)}", sent=r.sent,
               hints=list(hints), cause=cause)


# --------------------------------------------------------------------------------------------------
# EDNS: the OPT record


OPT_CASES = [
    pytest.param(dict(payload=4096), id="payload-4096"),
    pytest.param(dict(payload=512), id="payload-512"),
    pytest.param(dict(payload=1232, do=True), id="do-bit"),
    pytest.param(dict(payload=1232, options=[(65001, b"\x01\x02\x03")]), id="unknown-option"),
    pytest.param(dict(payload=1232, options=[(10, bytes.fromhex("0123456789abcdef")),
                                             (12, bytes(16))]), id="cookie-and-padding"),
]


@pytest.mark.stage(9)
@pytest.mark.parametrize("opt", OPT_CASES)
def test_opt_gets_an_opt_back(client, step, opt):
    """www.edns9.test. A with an OPT record: the reply has one too (root, payload 1232, version 0,
    DO=0, no options whatever the query carried), and the same answer as without EDNS."""
    r = udp(client, step, f"www.{E}", "A", **opt)
    g.expect_header(r.raw, r.sent, what=f"the reply header to {r.what}", step=step,
                    id=g.Header.parse(r.sent).id, qr=1, rcode=g.NOERROR, qdcount=1, tc=0)
    expect_opt(r)
    base = udp(client, step, f"www.{E}", "A")
    expect_same_answer(r, base, hints=["EDNS changes the size a reply may take and adds the OPT "
                                       "record, nothing else"])


@pytest.mark.stage(9)
def test_no_opt_without_edns(client, step):
    """A query without an OPT record gets a reply without one (RFC 6891 7)."""
    r = udp(client, step, f"www.{E}", "A")
    expect_no_opt(r, hints=["add an OPT record to a reply only when the query had one"])


SIZE_CASES = [  # name, the query's payload (None: no OPT), TC expected, the size limit
    pytest.param("t1000", 1232, 0, 1232, id="t1000-edns-1232-whole"),
    pytest.param("t1000", 4096, 0, 1232, id="t1000-edns-4096-whole"),
    pytest.param("t1000", None, 1, 512, id="t1000-plain-tc"),
    pytest.param("t1000", 600, 1, 600, id="t1000-edns-600-tc"),
    pytest.param("t1000", 100, 1, 512, id="t1000-edns-100-tc"),
    pytest.param("t400", 100, 0, 512, id="t400-edns-100-whole"),
    pytest.param("t3000", 4096, 1, 1232, id="t3000-edns-4096-tc"),
]


@pytest.mark.stage(9)
@pytest.mark.parametrize("name,payload,tc,limit", SIZE_CASES)
def test_reply_size_follows_the_payload_size(client, step, name, payload, tc, limit):
    """TXT RRsets of 419, 999 and 3,079 bytes (without an OPT) asked over UDP with and without
    EDNS: a reply takes up to the query's payload size (512 when it says less, 1232 at most), never
    more; what does not fit sets TC. A reply to an EDNS query carries an OPT, TC or not."""
    r = udp(client, step, f"{name}.{E}", "TXT", payload)
    size = SIZES[name]
    if len(r.raw) > limit:
        g.fail(f"the reply to {r.what} is {len(r.raw)} bytes, over the limit",
               expected=f"at most {limit} bytes" + (
                   f" (a payload of {payload} counts as {limit})" if payload and payload != limit
                   else ""),
               got=f"{len(r.raw)} bytes; {header_line(r.raw)}", sent=r.sent, hints=[SIZE_HINT],
               cause=CAUSE_PAYLOAD_EXCEEDED)
    if r.hdr.tc != tc:
        if tc:
            g.fail(f"the reply to {r.what}: TC=0, but the RRset does not fit in {limit} bytes",
                   got=header_line(r.raw), sent=r.sent, hints=[SIZE_HINT])
        cause = (CAUSE_SMALL_PAYLOAD if payload is not None and payload < 512
                 else CAUSE_PAYLOAD_IGNORED)
        g.fail(f"the reply to {r.what}: TC=1 ({len(r.raw)} bytes), but the {size} TXT records "
               f"fit in {limit} bytes", got=header_line(r.raw), sent=r.sent,
               hints=[SIZE_HINT, "an OPT's payload below 512 is read as 512 (RFC 6891 6.2.5)"
                      if payload is not None and payload < 512 else None], cause=cause)
    if not tc:
        expect_whole_txt(r, name, hints=[SIZE_HINT])
    if payload is None:
        expect_no_opt(r)
    else:
        expect_opt(r, hints=["a truncated reply carries the OPT record too: the client learns "
                             "our payload size from it"] if tc else ())


@pytest.mark.stage(9)
@pytest.mark.parametrize("version", [1, 255])
def test_edns_version_above_0_gets_badvers(client, step, version):
    """An OPT of version 1 or 255: BADVERS (RCODE 16 = 1 in the OPT's extended RCODE, 0 in the
    header), with an OPT of version 0 (the highest this server speaks), and no answer."""
    r = udp(client, step, f"www.{E}", "A", 1232, version=version)
    hint = ("RFC 6891 6.1.3: a version the server does not implement gets BADVERS, RCODE 16: its "
            "low 4 bits (0) in the header, the upper 8 (1) in the OPT's TTL; the reply's OPT "
            "says version 0, and nothing is answered")
    opt = g.reply_opt(r.raw, r.sent, f"the reply to {r.what}")
    if opt is None or opt.ext_rcode != 1 or r.hdr.rcode != 0 or r.hdr.ancount:
        g.fail(f"the reply to {r.what} is not BADVERS",
               expected="RCODE 0 in the header, an OPT with extended RCODE 1 (16 in all), "
                        "version 0, ANCOUNT 0",
               got=header_line(r.raw) + "; " + (opt.describe() if opt else "no OPT record"),
               sent=r.sent, hints=[hint], cause=CAUSE_NO_BADVERS)
    expect_opt(r, hints=[hint], ext_rcode=1)
    g.expect_header(r.raw, r.sent, what=f"the reply header to {r.what}", step=step,
                    id=r.hdr.id, qr=1, opcode=0, rd=1, rcode=0, ancount=0)


def opt_misuse(case):
    """A query for www.edns9.test. A whose OPT use is malformed."""
    id_ = next_id()
    q = g.question(f"www.{E}", 1)
    opt = g.opt_record(1232)
    if case == "two-opts":
        return g.header(id_, g.RD, 1, 0, 0, 2) + q + opt + g.opt_record(4096)
    if case == "owner-not-root":
        return g.header(id_, g.RD, 1, 0, 0, 1) + q + g.opt_record(1232, owner=g.name_wire(E))
    if case == "opt-in-authority":
        return g.header(id_, g.RD, 1, 0, 1, 0) + q + opt
    raise ValueError(case)


@pytest.mark.stage(9)
@pytest.mark.parametrize("case,what", [
    ("two-opts", "two OPT records"),
    ("owner-not-root", "an OPT record owned by edns9.test., not the root"),
    ("opt-in-authority", "an OPT record in the authority section"),
])
def test_malformed_opt_gets_formerr(client, step, case, what):
    """RFC 6891 6.1.1: one OPT at most, in the additional section, owned by the root; else
    FORMERR: the header alone, or the header and an OPT record."""
    sent = opt_misuse(case)
    raw = client.exchange(sent, what=f"a query with {what}")
    hint = ("RFC 6891 6.1.1: a message has at most one OPT record, in the additional section, "
            "owned by the root: anything else is FORMERR")
    if len(raw) < g.HEADER_SIZE or g.Header.parse(raw).rcode != g.FORMERR:
        g.fail(f"the reply to a query with {what} is not FORMERR", expected="RCODE 1 (FORMERR)",
               got=header_line(raw) if len(raw) >= g.HEADER_SIZE else g.hexs(raw), sent=sent,
               hints=[hint], cause=CAUSE_OPT_MISUSE)
    g.expect_header(raw, sent, what=f"the reply to a query with {what}", step=step,
                    **g.reply_fields(sent, step, rcode=g.FORMERR))
    g.expect_formerr_body(raw, sent, step, f"the FORMERR reply to a query with {what}",
                          hints=["a FORMERR reply is the header alone (or the header and an OPT "
                                 "record): the question is not echoed"])


# --------------------------------------------------------------------------------------------------
# TCP


TCP_NAMES = [
    pytest.param(f"www.{E}", "A", id="A"),
    pytest.param(E, "MX", id="MX-with-additional"),
    pytest.param(f"alias.{E}", "A", id="CNAME"),
    pytest.param(f"nosuch.{E}", "A", id="NXDOMAIN"),
    pytest.param(f"www.{E}", "TXT", id="NODATA"),
    pytest.param(f"t400.{E}", "TXT", id="TXT-419-bytes"),
]


@pytest.mark.stage(9)
@pytest.mark.parametrize("name,qtype", TCP_NAMES)
def test_tcp_reply_is_the_udp_reply(client, new_tcp_client, server, step, name, qtype):
    """The same query over UDP and over TCP (RFC 1035 4.2.2: a 2-byte length, then the message):
    the same header and records."""
    sent, q, what = make(name, qtype)
    raw = client.exchange(sent, what=what)
    g.expect_answered(raw, sent)
    by_udp = Reply(sent, q, raw, what, step)
    conn = new_tcp_client(server)
    raw = conn.exchange(sent, what=what + " over TCP")
    g.expect_answered(raw, sent)
    by_tcp = Reply(sent, q, raw, what + " over TCP", step)
    expect_same_answer(by_tcp, by_udp, cause=CAUSE_TCP_DIFFERS, hints=[
        "a query over TCP is answered exactly as over UDP (only the size limit differs): the "
        "same handler for both, the TCP reply sent with its length before it"])


@pytest.mark.stage(9)
@pytest.mark.parametrize("payload", [None, 512, 1232], ids=["plain", "edns-512", "edns-1232"])
def test_big_rrset_whole_over_tcp(new_tcp_client, server, step, payload):
    """t3000.edns9.test. TXT (3,079 bytes) over TCP: the whole RRset, TC=0, with or without EDNS
    (RFC 7766 8: a UDP payload size does not apply to TCP; a TCP message takes up to 65535
    bytes)."""
    conn = new_tcp_client(server)
    r = tcp(conn, step, f"t3000.{E}", "TXT", payload)
    expect_whole_txt(r, "t3000", cause=CAUSE_TC_OVER_TCP if r.hdr.tc else None, hints=[
        "over TCP a reply may take 65535 bytes: TC is for UDP only (RFC 7766 8)"])
    if payload is not None:
        expect_opt(r)
    else:
        expect_no_opt(r)


PIPELINE_NAMES = [(f"www.{E}", 1), (E, 15), (f"alias.{E}", 1), (f"txt.{E}", 16),
                  (f"nosuch.{E}", 1)]
PIPELINED = 100


@pytest.mark.stage(9)
def test_pipelined_queries_on_one_connection(new_tcp_client, server, step):
    """100 queries written at once on one connection (RFC 7766 6.2.1.1: pipelining), for five
    names in turn: each gets its reply (matched by ID: they may come in any order), with its
    question."""
    conn = new_tcp_client(server, timeout=3.0)
    first = next_id()
    for _ in range(PIPELINED):
        next_id()
    queries = {}
    for i in range(PIPELINED):
        name, qtype = PIPELINE_NAMES[i % len(PIPELINE_NAMES)]
        id_ = (first + i) & 0xFFFF
        queries[id_] = (g.query(id_, name, qtype, rd=1), g.question(name, qtype))
    conn.send_raw(g.tcp_framed([m for m, _ in queries.values()]))
    got, wrong = {}, []
    deadline = time.monotonic() + 3.0 * S
    while len(got) < PIPELINED:  # bounded by the deadline
        left = deadline - time.monotonic()
        m = conn.receive(max(left, 0) / S) if left > 0 else None
        if m is None:
            break
        id_ = int.from_bytes(m[:2], "big")
        if id_ not in queries or id_ in got:
            wrong.append(f"a message with ID 0x{id_:04X}: "
                         + ("answered twice" if id_ in got else "no query had that ID"))
            continue
        got[id_] = m
        sent, q = queries[id_]
        if m[g.HEADER_SIZE:g.HEADER_SIZE + len(q)].lower() != q.lower():
            wrong.append(f"the reply with ID 0x{id_:04X} does not carry its query's question")
    missing = [i for i in queries if i not in got]
    if missing or wrong:
        cause = CAUSE_NOT_PIPELINED if len(got) <= 1 else None
        g.fail(f"{PIPELINED} queries pipelined on one TCP connection: {len(got)} answered",
               details=[*wrong[:5], f"no reply to {len(missing)} of them, IDs "
                        + ", ".join(f"0x{i:04X}" for i in missing[:10])
                        + (" ..." if len(missing) > 10 else "")]
               + ([f"the connection was {conn.closed} by the server"] if conn.closed else []),
               hints=["one read may bring several messages, or part of one: keep what comes in a "
                      "buffer per connection, and answer every whole message in it before "
                      "reading again (RFC 7766 6.2.1.1)", g.TCP_HINT], cause=cause)


PIECES = [
    pytest.param("length-split", id="length-split"),
    pytest.param("byte-by-byte", id="byte-by-byte"),
    pytest.param("second-message-cut", id="second-message-cut"),
]


@pytest.mark.stage(9)
@pytest.mark.parametrize("how", PIECES)
def test_query_in_pieces(new_tcp_client, server, step, how):
    """A query sent in pieces, 20 ms apart: its 2-byte length split in two; every byte alone; or a
    whole query and the first half of a second one, then the rest. Each is answered."""
    conn = new_tcp_client(server)
    sent, q, what = make(f"www.{E}", "A")
    framed = g.tcp_framed([sent])
    pieces, expect = [], [sent]
    if how == "length-split":
        pieces = [framed[:1], framed[1:2], framed[2:9], framed[9:]]
    elif how == "byte-by-byte":
        pieces = [framed[i:i + 1] for i in range(len(framed))]
    else:
        second, _, _ = make(f"alias.{E}", "A")
        both = framed + g.tcp_framed([second])
        cut = len(framed) + 1 + len(second) // 2
        pieces, expect = [both[:cut], both[cut:]], [sent, second]
    gap = 0.02 if len(pieces) < 10 else 0.005
    for i, p in enumerate(pieces):
        if i:
            time.sleep(gap)
        conn.send_raw(p)
    for m in expect:
        reply = conn.receive(1.0, lambda d, m=m: d[:2] == m[:2])
        if reply is None:
            g.fail(f"a TCP query sent in pieces ({how}: {len(pieces)} sends) got no reply"
                   + (f": the connection was {conn.closed}" if conn.closed else " within 1 s"),
                   sent=m, details=[f"pieces: {' | '.join(g.hexs(p, 12) for p in pieces[:6])}"
                                    + (" ..." if len(pieces) > 6 else "")],
                   hints=["recv() returns what has arrived, maybe a part of a message, maybe its "
                          "length byte alone: keep it in the connection's buffer and wait for "
                          "the rest (2 bytes of length, then that many) before answering",
                          g.TCP_HINT], cause=CAUSE_PIECES)
        g.expect_answered(reply, m)


def timed_udp(client, sent):
    """(the reply or None, seconds): a UDP exchange, waiting QUICK at most."""
    client.drain()
    start = time.monotonic()
    client.send(sent)
    reply, _ = client.receive(QUICK, lambda d: d[:2] == sent[:2])
    return reply, time.monotonic() - start


def timed_tcp(conn, sent):
    start = time.monotonic()
    conn.send(sent)
    reply = conn.receive(QUICK, lambda d: d[:2] == sent[:2])
    return reply, time.monotonic() - start


def expect_not_delayed(client, new_tcp_client, server, what, hint):
    """A UDP query and a query on a new TCP connection are each answered within QUICK s."""
    sent, _, _ = make(f"www.{E}", "A")
    reply, took = timed_udp(client, sent)
    if reply is None:
        g.fail(f"while {what}, a UDP query got no reply within {QUICK * S:g} s", sent=sent,
               hints=[hint], cause=CAUSE_TCP_BLOCKS)
    other = new_tcp_client(server)
    sent, _, _ = make(f"www.{E}", "A")
    reply, took = timed_tcp(other, sent)
    if reply is None:
        g.fail(f"while {what}, a query on another TCP connection got no reply within "
               f"{QUICK * S:g} s" + (f" (the connection was {other.closed})" if other.closed
                                     else ""), sent=sent, hints=[hint], cause=CAUSE_TCP_BLOCKS)


SLOW_HINT = ("never wait for one client: a non-blocking socket per connection in the event loop, "
             "read what is there and come back when more arrives (RFC 7766 6.2.2)")


@pytest.mark.stage(9)
def test_slow_tcp_client_delays_nobody(client, new_tcp_client, server, step):
    """Two connections hold a query half sent (one byte of its length; its length and 5 bytes),
    and one of them sends a byte every 0.1 s: meanwhile a UDP query and a query on a third
    connection are each answered within 0.5 s; at the end the slow query is answered too."""
    slow, half = new_tcp_client(server), new_tcp_client(server)
    sent, _, _ = make(f"www.{E}", "A")
    framed = g.tcp_framed([sent])
    slow.send_raw(framed[:1])
    half_sent, _, _ = make(f"mail.{E}", "A")
    half.send_raw(g.tcp_framed([half_sent])[:7])
    at = 1
    for _ in range(2):  # the slow client keeps trickling while the others are served
        expect_not_delayed(client, new_tcp_client, server,
                           f"a TCP client has sent {at} byte(s) of a {len(framed)}-byte query",
                           SLOW_HINT)
        time.sleep(0.1)
        slow.send_raw(framed[at:at + 1])
        at += 1
    slow.send_raw(framed[at:])
    reply = slow.receive(1.0, lambda d: d[:2] == sent[:2])
    if reply is None:
        g.fail("the slow TCP client's query, once all its bytes had come, got no reply", sent=sent,
               hints=[SLOW_HINT, g.TCP_HINT], cause=CAUSE_PIECES)


@pytest.mark.stage(9)
def test_client_that_does_not_read_delays_nobody(client, new_tcp_client, server, step):
    """A connection with a small receive buffer sends 1,500 queries for t3000 (4.6 MB of replies)
    and reads none: the server's writes to it cannot go on (RFC 7766 6.2.2: partial writes), yet a
    UDP query and a query on another connection are each answered within 0.5 s."""
    stalled = new_tcp_client(server, rcvbuf=4096)
    queries = [g.query(0x5000 + i, f"t3000.{E}", 16) for i in range(1500)]
    stalled.sock.setblocking(False)
    data, sent = g.tcp_framed(queries), 0
    deadline = time.monotonic() + 0.5
    while sent < len(data) and time.monotonic() < deadline:  # bounded by the deadline
        try:
            sent += stalled.sock.send(data[sent:])
        except BlockingIOError:
            time.sleep(0.005)  # the server has stopped reading this connection: fair enough
        except OSError:
            break  # the server closed it: fair enough too
    time.sleep(0.1)  # the server writes what it can, until the connection's buffers are full
    expect_not_delayed(client, new_tcp_client, server,
                       "a TCP client does not read its replies (the server's writes to it block)",
                       "a write that would block must not stop the loop: keep what is left "
                       "of the reply in the connection's buffer, wait for the socket to become "
                       "writable (POLLOUT), and meanwhile serve everyone else; a partial write() "
                       "is normal")


@pytest.mark.stage(9)
def test_connection_limit_closes_the_oldest_idle(server_with_args, new_tcp_client, new_client,
                                                 step):
    """--tcp-max 4: seven connections opened one after the other, 20 ms apart, each asks one query;
    the server closes the oldest idle ones (the first three) to make room, the newest are served,
    and UDP still is."""
    srv = server_with_args(*TCP_ARGS_MAX)
    conns = []
    for i in range(TCP_MAX + 3):
        if i:
            time.sleep(0.02)  # idle times 20 ms apart: which is the oldest is clear
        c = new_tcp_client(srv)
        conns.append(c)
        sent, _, _ = make(f"www.{E}", "A")
        c.send(sent)
        reply = c.receive(1.0, lambda d, s=sent: d[:2] == s[:2])
        if reply is None:
            g.fail(f"--tcp-max {TCP_MAX}: connection {i + 1} of {TCP_MAX + 3}, opened one after "
                   "the other (each earlier one asked one query and is idle), got no reply"
                   + (f": the server {conn_end(c)} it" if c.closed else ""), sent=sent,
                   hints=["at the limit, close the connection idle the longest and serve the new "
                          "one (RFC 7766 6.2.3: a server may close idle connections when it is "
                          "short of them); a new client must not be turned away"],
                   cause=CAUSE_TCP_LIMIT)
    still = [i + 1 for i, c in enumerate(conns[:3]) if c.wait_closed(0.3) is None]
    if still:
        g.fail(f"--tcp-max {TCP_MAX}: {TCP_MAX + 3} connections opened, and connection(s) "
               f"{', '.join(map(str, still))} (the oldest, idle) still open",
               expected=f"at most {TCP_MAX} open: the server closes the oldest idle ones, "
                        "1 to 3, as 5 to 7 come",
               hints=["count the open connections; at --tcp-max, close the one idle the longest "
                      "before taking a new one"], cause=CAUSE_TCP_LIMIT)
    for i in (TCP_MAX + 2, TCP_MAX - 1):  # the newest, then the oldest that stays
        sent, _, _ = make(f"www.{E}", "A")
        conns[i].send(sent)
        if conns[i].receive(1.0, lambda d, s=sent: d[:2] == s[:2]) is None:
            g.fail(f"--tcp-max {TCP_MAX}: after connections 1 to 3 were closed, connection "
                   f"{i + 1} got no reply to a second query" + (
                       f" (the server {conn_end(conns[i])} it)" if conns[i].closed else ""),
                   sent=sent, hints=["close only as many connections as the limit needs, the "
                                     "oldest idle first"], cause=CAUSE_TCP_LIMIT)
    g.expect_still_answers(new_client(srv), step, after=f"{TCP_MAX + 3} TCP connections with "
                                                        f"--tcp-max {TCP_MAX}")


def conn_end(c):
    return "reset" if c.closed == "reset" else "closed"


@pytest.mark.stage(9)
@pytest.mark.parametrize("how", ["after-a-query", "never-used"])
def test_idle_connection_is_closed(server_with_args, new_tcp_client, step, how):
    """--tcp-timeout 300: a connection idle for 300 ms (after its query was answered, or from
    the start) is closed by the server (the client reads end of file) within about 1 s, and not
    at once."""
    srv = server_with_args(*TCP_ARGS_IDLE)
    conn = new_tcp_client(srv)
    if how == "after-a-query":
        tcp(conn, step, f"www.{E}", "A")
    took = conn.wait_closed(1.5)
    if took is None:
        g.fail(f"--tcp-timeout {IDLE_MS}: a TCP connection idle "
               f"{'since its query was answered' if how == 'after-a-query' else 'from the start'}"
               " is still open 1.5 s later",
               expected=f"the server closes it after {IDLE_MS} ms (the client reads end of file)",
               hints=["keep each connection's time of last activity; the event loop's timeout "
                      "is the nearest expiry, and on waking it closes those idle too long (RFC "
                      "7766 6.2.3)"], cause=CAUSE_IDLE)
    if took < 0.1:
        g.fail(f"--tcp-timeout {IDLE_MS}: the server closed an idle TCP connection after "
               f"{took * 1000:.0f} ms", expected=f"closed after about {IDLE_MS} ms of idleness",
               hints=["a connection stays open for more queries until it has been idle for "
                      "--tcp-timeout (RFC 7766 6.2.3: do not close after one reply)"],
               cause=CAUSE_IDLE)


@pytest.mark.stage(9)
def test_busy_connection_stays_open(server_with_args, new_tcp_client, step):
    """--tcp-timeout 300: a connection that asks a query every 150 ms is never idle that long:
    all five queries, over 600 ms, are answered on it."""
    srv = server_with_args(*TCP_ARGS_IDLE)
    conn = new_tcp_client(srv)
    for i in range(5):
        if i:
            time.sleep(0.15)
        sent, _, _ = make(f"www.{E}", "A")
        conn.send(sent)
        if conn.receive(1.0, lambda d, s=sent: d[:2] == s[:2]) is None:
            g.fail(f"--tcp-timeout {IDLE_MS}: query {i + 1} of 5, {150 * i} ms after the first, "
                   "got no reply" + (f" (the server {conn_end(conn)} the connection)"
                                     if conn.closed else ""), sent=sent,
                   hints=["the idle time counts from the connection's last activity (a query "
                          "read, a reply written), not from its opening"], cause=CAUSE_BUSY_CLOSED)


# --------------------------------------------------------------------------------------------------
# Resolving with EDNS


def txt_lines(owner, tag, count, size):
    return [f"{owner} 300 IN TXT {t}" for t in zonedata.txt_strings(tag, count, size)]


@pytest.mark.stage(9)
def test_upstream_queries_carry_an_opt(client, step, scope):
    """Every query the resolver sends to a name server carries an OPT record: version 0, payload
    1232 (RFC 6891 6.2.5: a resolver advertises what it can take)."""
    z = scope.zone("opt")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.91"], [Server(f"ns.{z}")])
    r, _ = t7.ask(client, step, scope, f"www.{z}")
    t7.expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.91"])
    bad = [s for s in scope.queries() if s.edns != 0 or s.payload != g.OUR_PAYLOAD]
    if bad:
        g.fail(f"{len(bad)} of the {len(scope.queries())} queries to name servers for "
               f"www.{z} do not carry an OPT record of version 0 and payload 1232",
               details=scope.lines(), sent=r.sent, cause=CAUSE_NO_UPSTREAM_OPT,
               hints=["put an OPT record in every query to a name server: owner the root, TYPE 41, "
                      "CLASS 1232 (the UDP payload we take), TTL 0, RDLENGTH 0; it lets the "
                      "server answer up to 1232 bytes over UDP instead of 512"])


@pytest.mark.stage(9)
def test_big_answers_reach_the_client_whole(client, new_tcp_client, server, step, scope):
    """A zone with TXT RRsets of about 1,000 bytes (mid) and 3,000 bytes (big): mid comes whole
    over UDP to a client with EDNS 1232 (the name server's UDP reply fits the resolver's 1232);
    big is truncated by the name server over UDP, fetched over TCP by the resolver, comes whole
    to a client over TCP, and with TC=1 (at most 1232 bytes) over UDP."""
    z = scope.zone("big")
    mid_lines = txt_lines(f"mid.{z}", "m", 5, 180)
    big_lines = txt_lines(f"big.{z}", "b", 15, 190)
    ns = Server(f"ns.{z}")
    scope.add_zone(z, mid_lines + big_lines, [ns])
    hints = ["with an OPT of 1232 in its queries the resolver gets up to 1232 bytes over UDP; a "
             "longer answer comes with TC=1 and is asked again over TCP; the client's own "
             "payload size, or TCP, decides how much of it the client gets"]
    sent, q, what = make(f"mid.{z}", "TXT", 1232)
    raw = client.exchange(sent, what=what, timeout=2.0)
    g.expect_answered(raw, sent)
    r = Reply(sent, q, raw, what, step)
    if r.hdr.tc:
        g.fail(f"the reply to {r.what} ({len(raw)} bytes) has TC=1; the answer takes about "
               "1,000 bytes and fits in 1232", got=header_line(raw), sent=sent,
               details=scope.lines(), hints=[SIZE_HINT, *hints], cause=CAUSE_BIG_LOST)
    t7.expect_resolved(r, scope, g.NOERROR, mid_lines, hints=hints, cause=CAUSE_BIG_LOST)
    expect_opt(r)
    conn = new_tcp_client(server, timeout=2.0)
    r = tcp(conn, step, f"big.{z}", "TXT")
    if r.hdr.tc:
        g.fail(f"the reply to {r.what} has TC=1: over TCP the whole answer (about 3,000 bytes) "
               "fits", got=header_line(r.raw), sent=r.sent, details=scope.lines(),
               hints=hints, cause=CAUSE_TC_OVER_TCP)
    t7.expect_resolved(r, scope, g.NOERROR, big_lines, hints=hints, cause=CAUSE_BIG_LOST)
    if not scope.queries(server=ns.address, transport="tcp"):
        g.fail(f"{ns.address} answered big.{z} TXT over UDP with TC=1 and was not asked over TCP",
               details=scope.lines(), sent=r.sent, cause=t7.CAUSE_TC_USED,
               hints=["a TC=1 reply is incomplete: ask the same server over TCP (RFC 7766)"])
    r = udp(client, step, f"big.{z}", "TXT", 1232)
    if not r.hdr.tc or len(r.raw) > g.OUR_PAYLOAD:
        g.fail(f"the reply to {r.what} over UDP: {len(r.raw)} bytes, TC={r.hdr.tc}",
               expected="TC=1 and at most 1232 bytes: the answer takes about 3,000",
               got=header_line(r.raw), sent=r.sent, hints=[SIZE_HINT],
               cause=CAUSE_PAYLOAD_EXCEEDED if len(r.raw) > g.OUR_PAYLOAD else None)
    expect_opt(r)


@pytest.mark.stage(9)
@pytest.mark.parametrize("error", list(fh.EDNS_REJECTERS))
def test_name_server_rejecting_edns_is_asked_without(client, step, scope, error):
    """The zone's only server answers a query with an OPT record with FORMERR, NOTIMP (neither with
    an OPT) or BADVERS, as a server that does not speak EDNS may: the resolver asks it again
    without an OPT and gets the answer (RFC 6891 7)."""
    z = scope.zone(f"no-edns-{error}")
    ns = Server(f"ns.{z}", address=fh.EDNS_REJECTERS[error], edns_error=error)
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.92"], [ns])
    hint = (f"a name server that answers {error.upper()} to a query with an OPT record may not "
            "speak EDNS: ask it again without the OPT (RFC 6891 7), and use that answer")
    r, _ = t7.ask(client, step, scope, f"www.{z}", timeout=2.0, hints=[hint],
                  cause=CAUSE_NO_EDNS_FALLBACK)
    asked = scope.queries(server=ns.address, name=f"www.{z}")
    plain = [s for s in asked if s.edns < 0]
    t7.expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.92"], hints=[hint],
                       cause=None if plain else CAUSE_NO_EDNS_FALLBACK)
    if not plain:
        g.fail(f"{ns.address} was never asked www.{z} without an OPT record",
               details=scope.lines(), sent=r.sent, hints=[hint], cause=CAUSE_NO_EDNS_FALLBACK)


# --------------------------------------------------------------------------------------------------
# Real clients

TOOLS = {
    # tool: (Debian package, argv for (port, name, type), what its output shows of our OPT or None)
    "dig": ("bind9-dnsutils", lambda p, n, t: [
        "dig", "+time=2", "+tries=1", "-p", str(p), "@127.0.0.1", n, t], "udp: 1232"),
    "dig+tcp": ("bind9-dnsutils", lambda p, n, t: [
        "dig", "+tcp", "+time=2", "+tries=1", "-p", str(p), "@127.0.0.1", n, t], "udp: 1232"),
    "kdig+edns": ("knot-dnsutils", lambda p, n, t: [
        "kdig", "+edns", "+time=2", "+retry=0", "-p", str(p), "@127.0.0.1", n, t],
        "UDP size: 1232"),
    "kdig+edns+tcp": ("knot-dnsutils", lambda p, n, t: [
        "kdig", "+edns", "+tcp", "+time=2", "+retry=0", "-p", str(p), "@127.0.0.1", n, t],
        "UDP size: 1232"),
    "drill-b1232": ("ldnsutils", lambda p, n, t: [
        "drill", "-b", "1232", "-p", str(p), "@127.0.0.1", n, t], "udp: 1232"),
    "drill-tcp": ("ldnsutils", lambda p, n, t: [
        "drill", "-t", "-p", str(p), "@127.0.0.1", n, t], None),
}
CLIENT_QUERIES = [  # name, type, what the output must show, asked over TCP only
    ("A", f"www.{E}", "A", ["192.0.2.80", "192.0.2.81"], False),
    ("TXT-999-bytes", f"t1000.{E}", "TXT", ['"100000', '"100004'], False),
    ("TXT-3079-bytes", f"t3000.{E}", "TXT", ['"300000', '"300014'], True),  # TC over UDP
]
CLIENT_CASES = [pytest.param(tool, name, qtype, expected, id=f"{label}-{tool}")
                for label, name, qtype, expected, tcp_only in CLIENT_QUERIES for tool in TOOLS
                if not tcp_only or "tcp" in tool]


@pytest.mark.stage(9)
@pytest.mark.parametrize("tool,name,qtype,expected", CLIENT_CASES)
def test_client_tools_with_edns_and_tcp(server, step, tool, name, qtype, expected):
    """dig (EDNS with a cookie, by default), kdig +edns and drill -b 1232, over UDP and TCP: each
    shows the answer, and our OPT (payload 1232) when it sent one, with no complaint. The 999-byte
    TXT comes whole over UDP with EDNS; the 3,079-byte one is asked over TCP only."""
    import test_clients as tc
    package, command, opt_shown = TOOLS[tool]
    binary = command(0, name, qtype)[0]
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed (Debian package {package}: "
                    f"apt-get install {package})")
    argv = command(server.port, name, qtype)
    r = None
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass
    if r is None:
        g.fail(f"{' '.join(argv)} did not finish within 10 s",
               hints=["is the server still running? see its log below"])
    out = r.stdout + r.stderr
    shown = [f"  {line}" for line in out.rstrip().splitlines()] or ["  (no output)"]
    complaints = [line.strip() for line in out.splitlines()
                  if tc.COMPLAINTS.search(line) and "status:" not in line
                  and "rcode:" not in line]
    wanted = expected + ["NOERROR"] + ([opt_shown] if opt_shown else [])
    missing = [e for e in wanted if e not in out]
    if r.returncode != 0 or complaints or missing:
        g.fail(f"{tool} on {name} {qtype}: " + (
            f"exit status {r.returncode}" if r.returncode != 0 else
            "a complaint about the reply" if complaints else "the expected answer is not shown"),
            expected=f"exit status 0, status NOERROR, showing {', '.join(wanted)}, no warning",
            got=(f"exit status {r.returncode}; " if r.returncode != 0 else "")
            + (f"complaints: {complaints}" if complaints else
               f"missing: {missing}" if missing else ""),
            details=[f"command: {' '.join(argv)}", "its output:", *shown],
            hints=["run the same command by hand against `make step-9`; a client that shows no "
                   "OPT pseudosection got a reply without an OPT record; one that times out over "
                   "TCP got no length-prefixed reply", EDNS_HINT])


# --------------------------------------------------------------------------------------------------
# The command line

BAD_TCP_OPTIONS = [
    pytest.param("--tcp-timeout", "0", id="tcp-timeout-0"),
    pytest.param("--tcp-timeout", "abc", id="tcp-timeout-abc"),
    pytest.param("--tcp-max", "0", id="tcp-max-0"),
    pytest.param("--tcp-max", "-1", id="tcp-max-negative"),
    pytest.param("--tcp-max", "5x", id="tcp-max-5x"),
]


@pytest.mark.stage(9)
@pytest.mark.build_only
@pytest.mark.parametrize("option,value", BAD_TCP_OPTIONS)
def test_bad_tcp_option_exits_2(dns_settings, step, fake_hierarchy, tmp_path, option, value):
    """--tcp-timeout and --tcp-max take whole numbers of at least 1: 0, -1, abc or 5x is a message
    naming the option and exit status 2."""
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.fail(g.missing_binary(binary), pytrace=False)
    argv = t7.bad_option_argv([str(binary), "--port", str(g.free_udp_port())],
                              ["{hints}", option, value], fake_hierarchy, tmp_path)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=3 * S,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        r = None
    name = option.lstrip("-")
    if r is None or r.returncode != 2 or name not in r.stderr:
        got = ("still running after 3 s" if r is None else
               f"{g.exit_text(r.returncode)}; stderr: {r.stderr.strip()[:300]!r}")
        g.fail(f"step-{step} {option} {value!r}",
               expected=f"exit status 2 and a message naming {option} on stderr", got=got,
               details=[f"command: {' '.join(argv)}"],
               hints=["check --tcp-timeout (milliseconds) and --tcp-max (connections) before "
                      "serving: whole numbers of at least 1, nothing after the digits"])
