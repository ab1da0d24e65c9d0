"""Stage 6, forwarding: the stage-5 server, now also a forwarder. It serves its zones (--zone, as at
stage 5) and sends every other question to an upstream resolver (--resolver ADDRESS:PORT), relaying
its reply:

  - a name inside a local zone is answered locally, by the rules of stage 5; every other question
    is forwarded, when the client asks for recursion (RD=1); with RD=0 there is no forwarding: the
    local answer, or REFUSED;
  - each forwarded question goes upstream as a query of its own: one question, RD=1, a fresh random
    ID, from a socket on a port the kernel picks at random. Only a reply from the resolver's address
    and port, with that ID and the same question (the name compared without case), is taken;
    anything else is ignored and the wait goes on. No reply within --upstream-timeout MS (2000):
    the query is sent again, --upstream-tries N (2) times in all; then SERVFAIL;
  - the reply's sections, TTLs, RCODE and TC are the upstream's, with the client's ID and question
    as sent, QR=1, RD copied, RA=1 (every stage-6 reply has RA=1, local answers too);
  - a query of several questions is split, one upstream query each, and answered once every part is
    back: the sections merged in question order, the RCODE the first that is not NOERROR;
  - a slow or silent upstream delays nothing else; at most --max-pending N (4096) questions wait
    upstream at once, and a forward beyond them gets SERVFAIL at once.

The upstream is fake_upstream.py, in this process, scripted per name: each test forwards names of
its own (`up.unique("label")` -> label-N.fwd.test.). The pooled server serves the simple test
zones of stages 4 and 5; the tests of timeouts and --max-pending get a server of their own with
short timeouts (SHORT_ARGS). These tests apply to stage 6 only: stage 7 resolves by itself."""

import itertools
import subprocess
import time

import dns.rcode
import dns.rdatatype
import pytest

import dnsgrader as g
import fake_upstream as fu
from test_04_answer import (NEG_SOA4, WWW_A, Reply, expect_reply, expect_section,
                            parse_reply)
from test_05_compression import answers_several_questions, expect_questions_echoed

# The server of the timing tests: each try waits 300 ms, two tries, at most 5 questions upstream.
TIMEOUT_MS, TRIES, MAX_PENDING = 300, 2, 5
SHORT_ARGS = ("--upstream-timeout", str(TIMEOUT_MS), "--upstream-tries", str(TRIES),
              "--max-pending", str(MAX_PENDING))
# The tests that keep a server busy with slow or many questions get a server process of their own
# (these options are the defaults, written out only to make it another process): a server that
# cannot answer two things at once then fails those tests alone, not every test after them while
# it works through its backlog.
BUSY_ARGS = ("--max-pending", "4096")
S = g.TIMEOUT_SCALE  # every wait and time limit below is multiplied by DNS_TEST_TIMEOUT_SCALE

FORWARD_HINT = ("a name in none of the local zones is forwarded when RD=1: a query of its own to "
                "--resolver, whose reply goes back to the client")
CAUSE_FORGED = "a reply that does not match the upstream query is accepted ({what})"
CAUSE_BLOCKING = "a slow upstream delays other queries: the server waits for it"
CAUSE_RD0_FORWARDED = "a query with RD=0 is forwarded"
CAUSE_ID_REUSED = "the client's ID is reused for the upstream query"
CAUSE_PREDICTABLE_IDS = "upstream query IDs are predictable (sequential)"
CAUSE_REPEATED_IDS = "upstream query IDs repeat (not drawn at random)"
CAUSE_ONE_PORT = "upstream queries leave from one source port"
CAUSE_NOT_SPLIT = "a query of several questions is forwarded whole, not split"
CAUSE_NO_RETRY = "a query the upstream does not answer is not sent again (--upstream-tries)"
CAUSE_NO_LIMIT = "--max-pending is not enforced"
CAUSE_UPSTREAM_ID = "the upstream's ID is relayed, not the client's"

ids = itertools.count(0x6001)
LOCAL_APEXES = ("zone4.test.", "lowttl.test.")  # the simple test zones the server serves


def is_local(name):
    return any(fu.norm(name) == a or fu.norm(name).endswith("." + a) for a in LOCAL_APEXES)


@pytest.fixture
def up(fake_upstream):
    return fake_upstream


def seen_lines(up, names):
    """What the upstream received for `names`, one line each, for a failure's details."""
    lines = []
    for name in names:
        seen = up.queries(name)
        if not seen and is_local(name):
            continue  # nothing to say: it is not to be forwarded
        lines.append(f"the upstream ({up.resolver}) received {len(seen)} quer"
                     f"{'y' if len(seen) == 1 else 'ies'} for {name}"
                     + (":" if seen else ""))
        t0 = seen[0].at if seen else 0
        lines += [f"    +{(s.at - t0) * 1000:.0f} ms: {s.describe()}" for s in seen[:6]]
    return lines


# An EDNS OPT record (RFC 6891): the root, TYPE 41, CLASS = UDP payload 1232, TTL 0, RDLENGTH 0.
OPT = b"\x00" + bytes.fromhex("0029 04d0 0000 0000 0000")


def make_query(name, qtype="A", rd=1, id_=None, flags=None, edns=False):
    """(the query, its question's bytes, "name TYPE")."""
    id_ = next(ids) & 0xFFFF if id_ is None else id_
    qtype_code = dns.rdatatype.from_text(qtype) if isinstance(qtype, str) else qtype
    q = g.question(name, qtype_code, 1)
    flags = g.make_flags(rd=rd) if flags is None else flags
    sent = g.header(id_, flags, 1, 0, 0, 1 if edns else 0) + q + (OPT if edns else b"")
    return sent, q, f"{name} {dns.rdatatype.to_text(qtype_code)}"


def receive(client, sent, up, names, what, timeout, hints=(), cause=None):
    """The reply to `sent` (its ID) within `timeout` s (times the scale); fails with what the
    upstream saw for `names` if none comes (`cause`: the mistake that silence shows, if nothing
    more precise does)."""
    reply, others = client.receive(timeout, lambda d: d[:2] == sent[:2])
    if reply is not None:
        return reply
    fail_no_reply(client, sent, up, names, what, timeout, others, hints, cause)


def fail_no_reply(client, sent, up, names, what, waited, others=(), hints=(), cause=None):
    """No reply to `sent` came within `waited` s (times the scale): says so, with what the upstream
    received for `names`, and what that shows."""
    upstream_ids = {s.id for n in names for s in up.queries(n)}
    details, more_hints = seen_lines(up, names), list(hints)
    relayed = [o for o in others if len(o) >= 2 and int.from_bytes(o[:2], "big") in upstream_ids]
    if relayed:
        details.insert(0, f"a reply came with the upstream query's ID: {g.hexs(relayed[0], 24)}")
        more_hints.insert(0, "the reply to the client carries the client's ID (and question), "
                             "not the upstream's: keep the client's query until the upstream "
                             "answers")
        cause = CAUSE_UPSTREAM_ID
    elif others:
        ids_seen = sorted({int.from_bytes(o[:2], "big") for o in others if len(o) >= 2})
        details.insert(0, f"{len(others)} datagram(s) came with another ID: "
                          + ", ".join(f"0x{i:04X}" for i in ids_seen[:8]))
        more_hints.insert(0, "the reply carries the client's ID, copied from its query")
        cause = "the ID is not copied from the query"
    elif names and all(is_local(n) for n in names):
        more_hints.append("a name inside a local zone is answered from the zone, with RD=1 or 0")
    elif names and not any(up.queries(n) for n in names):
        more_hints.append(FORWARD_HINT)
    elif names:
        more_hints.append("the upstream got the query (and answers it, unless the test made it "
                          "silent): is its reply taken? it comes from the resolver's address and "
                          "port, with the upstream query's ID and question")
    cause = client._explain_silence(details, more_hints) or cause  # the server died?
    g.fail(f"no reply to {what} within {waited * S:g} s", sent=sent, details=details,
           hints=more_hints, cause=cause)


def ask(client, step, up, name, qtype="A", rd=1, id_=None, flags=None, timeout=1.0, hints=(),
        edns=False, cause=None):
    """Sends `name` `qtype` IN (case kept, RD as given) and returns the Reply (test_04's)."""
    sent, q, what = make_query(name, qtype, rd, id_, flags, edns)
    client.drain()
    client.send(sent)
    raw = receive(client, sent, up, [name], what, timeout, hints, cause)
    g.expect_answered(raw, sent)
    return Reply(sent, q, raw, what, step)


def expect_relayed(r, rcode, tc=0, hints=(), cause=None):
    """The header of a relayed reply (the client's ID, QR=1, RD copied, RA=1, QDCOUNT 1, the
    upstream's RCODE and TC) and the client's question, as sent."""
    q = g.Header.parse(r.sent)
    g.expect_header(r.raw, r.sent, what=f"the reply header to {r.what}", step=r.step,
                    extra_hints=hints, cause=cause, id=q.id, qr=1, opcode=0, rd=q.rd, ra=1, z=0,
                    qdcount=1, rcode=rcode, tc=tc)
    g.expect_question(r.raw, r.sent, r.q, exact=False, what=f"the reply to {r.what}")


def expect_upstream_query(up, name, qtype, count=1, sent=None):
    """The upstream received `count` queries for `name`, each of one question (`name` without case,
    `qtype`, IN), RD=1, QR=0, OPCODE 0, no answer or authority records. Returns them."""
    seen = up.queries(name)
    whole = [s for s in up.queries() if any(fu.norm(n) == fu.norm(name) for n, _, _ in
                                            s.questions[1:])]
    if whole:
        g.fail(f"the upstream received a query of {whole[0].qdcount} questions, {name} among them",
               details=[f"got: {whole[0].describe()}"], sent=sent,
               hints=["split a query of several questions: one upstream query per question to "
                      "forward (a resolver answers one question per query, RFC 9619)"],
               cause=CAUSE_NOT_SPLIT)
    if len(seen) != count:
        g.fail(f"the upstream received {len(seen)} queries for {name}, expected {count}",
               details=seen_lines(up, [name]), sent=sent,
               hints=[FORWARD_HINT if not seen else
                      "one upstream query per forwarded question (and one more per try after a "
                      "timeout only)"])
    qtype_code = dns.rdatatype.from_text(qtype)
    for s in seen:
        problems = []
        if s.error:
            problems.append(f"unreadable: {s.error}")
        else:
            if s.qr or s.opcode:
                problems.append(f"QR={s.qr} OPCODE={s.opcode}: not a standard query")
            if not s.rd:
                problems.append("RD=0: the upstream is a resolver; it recurses only when asked")
            if s.qdcount != 1 or s.ancount or s.nscount:
                problems.append(f"QDCOUNT {s.qdcount} ANCOUNT {s.ancount} NSCOUNT {s.nscount}: one "
                                "question and nothing else")
            elif (fu.norm(s.name), s.questions[0][1:]) != (fu.norm(name), (qtype_code, 1)):
                problems.append(f"the question is {s.describe().split(': ', 1)[1]}")
        if problems:
            g.fail(f"the upstream query for {name} {qtype} is not what it should be",
                   details=[f"got: {s.describe()}", *problems], sent=sent,
                   hints=["forward each question as a query of its own: a fresh ID, flags RD=1 "
                          "(0x0100), QDCOUNT 1, the question as the client asked it"],
                   cause=CAUSE_NOT_SPLIT if s.qdcount and s.qdcount > 1 else None)
    return seen


# --------------------------------------------------------------------------------------------------
# Relaying what the upstream says


def _answer_cases():
    two_a = ["{n} 1234 IN A 192.0.2.1", "{n} 1234 IN A 192.0.2.2"]
    return [
        pytest.param("two-a", "A", dict(answer=two_a), id="two-A"),
        pytest.param("MiXeD", "A", dict(answer=["{n} 60 IN A 192.0.2.3"]), id="mixed-case"),
        pytest.param("ttl0", "AAAA", dict(answer=["{n} 0 IN AAAA 2001:db8::6"]), id="TTL-0"),
        pytest.param("mx", "MX", dict(
            answer=["{n} 86400 IN MX 10 mail.{n}", "{n} 86400 IN MX 20 mx2.example.net."],
            authority=["{n} 7200 IN NS ns1.{n}"],
            additional=["mail.{n} 5 IN A 192.0.2.25", "ns1.{n} 3600 IN AAAA 2001:db8::53"]),
            id="MX-authority-additional"),
        pytest.param("cname", "A", dict(answer=["{n} 300 IN CNAME www.example.net.",
                                                "www.example.net. 42 IN A 192.0.2.4"]),
                     id="CNAME-chain"),
        pytest.param("aa", "TXT", dict(answer=['{n} 3600 IN TXT "forwarded"'], aa=True),
                     id="TXT-with-AA"),
    ]


def fill(lines, name):
    return [line.replace("{n}", name) for line in lines]


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("label,qtype,script", _answer_cases())
def test_answer_is_relayed(client, step, up, label, qtype, script):
    """The upstream's answer goes back with the client's ID and question (letter case kept), its
    records and TTLs unchanged, RA=1; the upstream got one query of one question, RD=1."""
    name = up.unique(label)
    behaviour = {k: fill(v, name.lower()) if isinstance(v, list) else v for k, v in script.items()}
    up.script(name, **behaviour)
    r = ask(client, step, up, name, qtype)
    expect_relayed(r, g.NOERROR, hints=["the upstream's reply is relayed: its RCODE and sections, "
                                        "with the client's ID and question as sent"])
    hints = ["relay the upstream's records as they are: same records, same TTLs, in every section"]
    for section in ("answer", "authority", "additional"):
        expect_section(r, section, behaviour.get(section, []), hints=hints)
    queries = expect_upstream_query(up, name, qtype, sent=r.sent)
    if queries[0].id == g.Header.parse(r.sent).id:
        g.fail("the upstream query has the client's ID", details=seen_lines(up, [name]),
               sent=r.sent, hints=["each upstream query gets a fresh random ID: a client's ID is "
                                   "chosen by the client, and an attacker can be that client"],
               cause=CAUSE_ID_REUSED)


NEG_SOA = "{n} 60 IN SOA ns.{n} hostmaster.{n} 1 7200 3600 1209600 300"


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("rcode,script", [
    pytest.param(g.NXDOMAIN, dict(rcode=dns.rcode.NXDOMAIN, authority=[NEG_SOA]), id="NXDOMAIN"),
    pytest.param(g.NOERROR, dict(authority=[NEG_SOA]), id="NODATA"),
    pytest.param(g.SERVFAIL, dict(rcode=dns.rcode.SERVFAIL), id="SERVFAIL"),
    pytest.param(g.REFUSED, dict(rcode=dns.rcode.REFUSED), id="REFUSED"),
])
def test_negative_answer_is_relayed(client, step, up, rcode, script):
    """NXDOMAIN stays NXDOMAIN, with the SOA of the upstream's authority section and its TTL; so do
    NODATA, and an upstream's SERVFAIL or REFUSED."""
    name = up.unique(g.RCODE_NAMES[rcode].lower())
    behaviour = {k: fill(v, name) if isinstance(v, list) else v for k, v in script.items()}
    up.script(name, **behaviour)
    r = ask(client, step, up, name, "A")
    expect_relayed(r, rcode, hints=["the upstream's RCODE goes back as it is: NXDOMAIN stays "
                                    "NXDOMAIN, with the SOA in authority"])
    expect_section(r, "answer", [])
    expect_section(r, "authority", behaviour.get("authority", []),
                   hints=["a negative answer carries the upstream's SOA in authority, TTL unchanged"])


@pytest.mark.stage(6, until=6)
def test_upstream_tc_is_passed_on(client, step, up):
    """The upstream says its reply is truncated (TC=1): the client's reply says so too, so that the
    client asks again over TCP."""
    name = up.unique("tc")
    answer = [f"{name} 300 IN A 192.0.2.{i}" for i in (1, 2)]
    up.script(name, answer=answer, tc=True)
    r = ask(client, step, up, name, "A")
    expect_relayed(r, g.NOERROR, tc=1, hints=["TC=1 from the upstream is passed on: the client "
                                              "then knows the answer is incomplete"])
    expect_section(r, "answer", answer)


# --------------------------------------------------------------------------------------------------
# Local zones and RD


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("rd", [1, 0], ids=["rd-1", "rd-0"])
@pytest.mark.parametrize("name,qtype,rcode,aa,answer,authority", [
    pytest.param("www.zone4.test.", "A", g.NOERROR, 1, WWW_A, [], id="answer"),
    pytest.param("WwW.ZoNe4.TeSt.", "A", g.NOERROR, 1, WWW_A, [], id="mixed-case"),
    pytest.param("nosuch.zone4.test.", "A", g.NXDOMAIN, 1, [], [NEG_SOA4], id="nxdomain"),
    pytest.param("www.zone4.test.", "AAAA", g.NOERROR, 1, [], [NEG_SOA4], id="nodata"),
    pytest.param("www.sub.zone4.test.", "A", g.NOERROR, 0, [],
                 ["sub.zone4.test. 3600 IN NS ns1.sub.zone4.test.",
                  "sub.zone4.test. 3600 IN NS ns.elsewhere.invalid."], id="referral"),
])
def test_local_zone_is_answered_locally(client, step, up, rd, name, qtype, rcode, aa, answer,
                                        authority):
    """A name inside a local zone is answered from it, by the rules of stage 5, whatever RD says,
    and never forwarded; the reply has RA=1 (the server offers recursion)."""
    r = ask(client, step, up, name, qtype, rd=rd)
    expect_reply(r, rcode, aa=aa, answer=answer, authority=authority,
                 hints=["names inside a local zone (--zone) are answered from it as at stage 5, "
                        "with RA=1: only the others are forwarded"])
    if up.queries(name):
        g.fail(f"{name} is in a local zone, but the upstream received a query for it",
               details=seen_lines(up, [name]), sent=r.sent,
               hints=["look the name up in the local zones first: forward only what no local "
                      "zone contains"])


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("name", ["xzone4.test.", "zone4.test.example."])
def test_name_beside_a_local_zone_is_forwarded(client, step, up, name):
    """xzone4.test is not inside zone4.test (whole labels count), nor is zone4.test.example: both
    are forwarded, and get the upstream's default answer."""
    r = ask(client, step, up, name, "A")
    expect_relayed(r, g.NOERROR, hints=["a name is inside a zone when the zone's labels are its "
                                        "last labels, whole: compare label by label from the right"])
    expect_section(r, "answer", fu.default_answer(name, dns.rdatatype.A),
                   hints=[FORWARD_HINT, f"the fake upstream answers {fu.DEFAULT_A} for A queries "
                                        "of names no test scripted"])


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("local", [False, True], ids=["outside-our-zones", "local"])
def test_rd_0_is_not_forwarded(client, step, up, local):
    """RD=0: the client does not want recursion. A name outside the local zones gets REFUSED
    (AA=0, empty sections) and the upstream hears nothing of it; a local name gets its answer."""
    name = "v6only.zone4.test." if local else up.unique("rd0")
    r = ask(client, step, up, name, "AAAA" if local else "A", rd=0)
    if local:
        expect_reply(r, g.NOERROR, aa=1, answer=["v6only.zone4.test. 3600 IN AAAA 2001:db8::80"])
    # A forwarded query is sent before the next one is read: once a query sent after this one has
    # been answered through the upstream, the upstream would have had this one.
    after = up.unique("after-rd0")
    ask(client, step, up, after, "A")
    if up.queries(name):
        g.fail(f"the upstream received a query for {name}, asked with RD=0",
               details=seen_lines(up, [name]), sent=r.sent,
               hints=["RD=0 asks for no recursion: answer from the local zones, or REFUSED; "
                      "forward only when RD=1"], cause=CAUSE_RD0_FORWARDED)
    if not local:
        expect_reply(r, g.REFUSED, aa=0, additional=[],
                     hints=["RD=0 and a name in no local zone: REFUSED (RCODE 5), as at stage 5, "
                            "but with RA=1"])


# --------------------------------------------------------------------------------------------------
# What goes upstream


@pytest.mark.stage(6, until=6)
def test_upstream_query_has_one_question_and_rd(client, step, up):
    """The upstream query for a TXT question with CD, AD and an EDNS OPT record in the client's
    query: QR=0, OPCODE 0, RD=1, one question (the name, without case, TXT, IN), no answer or
    authority records, and an ID of its own."""
    name = up.unique("ShApE")
    up.script(name, answer=[f"{name.lower()} 300 IN TXT \"shape\""])
    flags = g.make_flags(rd=1, ad=1, cd=1)
    r = ask(client, step, up, name, "TXT", flags=flags, id_=0x6000, edns=True)
    expect_relayed(r, g.NOERROR)
    expect_upstream_query(up, name, "TXT", sent=r.sent)


@pytest.mark.stage(6, until=6)
def test_upstream_ids_and_ports_are_random(server, new_client, step, up):
    """100 questions, sent at once with the client's IDs 0x6100, 0x6101, ...: the upstream queries'
    IDs are the server's own, random (no run of near neighbours, at most 2 repeats: 100 random
    16-bit IDs repeat one by chance 7% of the time), and they leave from more than 50 source
    ports, none of them the port the server listens on."""
    client = new_client(server, timeout=2.0)
    names = [up.unique("rnd") for _ in range(100)]
    sent = {}
    for i, name in enumerate(names):
        q, _, _ = make_query(name, "A", id_=0x6100 + i)
        sent[q[:2]] = (q, name)
        client.send(q)
    got = collect(client, sent, 2.0)
    missing = [sent[k][1] for k in sent if k not in got]
    # The IDs and ports are this test's point: they are judged first, on the queries the
    # upstream saw, so that a slow server with predictable IDs is told about its IDs.
    seen = [s for n in names for s in up.queries(n)]
    order = sorted(seen, key=lambda s: s.at)
    up_ids = [s.id for s in order]
    client_ids = {fu.norm(n): 0x6100 + i for i, n in enumerate(names)}
    shown = ["upstream IDs in order of arrival: " + " ".join(f"{i:04x}" for i in up_ids[:24])
             + (" ..." if len(up_ids) > 24 else "")]
    copied = sum(s.id == client_ids[fu.norm(s.name)] for s in seen)
    if copied > 3:
        g.fail(f"{copied} of {len(seen)} upstream queries carry the client's ID", details=shown,
               hints=["draw a fresh random ID for each upstream query (getrandom(), or "
                      "/dev/urandom): the client's ID is the client's, and an attacker can be "
                      "that client"], cause=CAUSE_ID_REUSED)
    near = sum(1 for a, b in zip(up_ids, up_ids[1:])
               if min((a - b) & 0xFFFF, (b - a) & 0xFFFF) < 256)
    if near >= 10:
        g.fail(f"upstream IDs follow each other: {near} of {len(up_ids) - 1} differ from the one "
               "before by less than 256", details=shown,
               hints=["an ID an attacker can guess lets him forge the upstream's reply (RFC 5452): "
                      "draw each ID at random (getrandom(), or /dev/urandom)"],
               cause=CAUSE_PREDICTABLE_IDS)
    repeats = len(up_ids) - len(set(up_ids))
    if repeats > 2:
        g.fail(f"{repeats} upstream IDs of {len(up_ids)} repeat an earlier one", details=shown,
               hints=["draw each upstream ID at random, from the full 16 bits"],
               cause=CAUSE_REPEATED_IDS)
    ports = [s.port for s in order]
    if server.port in ports:
        g.fail("upstream queries leave from the port the server listens on "
               f"({server.port}): its port is known to anyone",
               hints=["send each upstream query from a socket of its own, bound to port 0: the "
                      "kernel picks a random port (RFC 5452: the port is 16 more bits to guess)"],
               cause=CAUSE_ONE_PORT)
    if len(set(ports)) <= 50:
        g.fail(f"100 upstream queries left from {len(set(ports))} source port(s)",
               details=["ports: " + " ".join(str(p) for p in ports[:20])
                        + (" ..." if len(ports) > 20 else "")],
               hints=["send each upstream query from a new socket bound to port 0: the kernel "
                      "picks a random port, which an attacker must guess besides the ID "
                      "(RFC 5452)"], cause=CAUSE_ONE_PORT)
    if missing:
        g.fail(f"{len(missing)} of 100 forwarded queries sent at once got no reply within "
               f"{2 * S:g} s", details=seen_lines(up, missing[:3]),
               hints=["every query gets its reply, however many wait upstream at once"])


def collect(client, sent, wait, start=None):
    """Replies to the queries of `sent` ({ID bytes: (query, ...)}) until all are in or `wait` s
    (times the scale) pass: {ID bytes: (reply, seconds after `start`, or after the call)}."""
    got = {}
    start = time.monotonic() if start is None else start
    deadline = time.monotonic() + wait * S
    while len(got) < len(sent):  # bounded by the deadline
        left = deadline - time.monotonic()
        if left <= 0:
            break
        d, _ = client.receive(left / S, lambda d: d[:2] in sent and d[:2] not in got)
        if d is None:
            break
        got[d[:2]] = (d, time.monotonic() - start)
    return got


# --------------------------------------------------------------------------------------------------
# Forged, stray and reordered replies


FORGERIES = {
    "id": "with another ID",
    "port": "from another port of the resolver's address",
    "address": "from another address (127.0.0.2), the resolver's port",
    "name": "to another name, with the query's ID",
    "type": "to another QTYPE, with the query's ID",
    "class": "to another QCLASS (CH), with the query's ID",
}


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("kinds", [[k] for k in FORGERIES] + [list(FORGERIES)],
                         ids=[*FORGERIES, "all-of-them"])
def test_forged_reply_is_ignored(client, step, up, kinds):
    """Before the upstream's real reply (20 ms later), forged ones arrive at the port the query left
    from, each saying 203.0.113.66: they are ignored, the wait goes on, and the real reply is
    relayed."""
    name = up.unique("forged")
    answer = [f"{name} 300 IN A 192.0.2.77"]
    up.script(name, answer=answer, forge=kinds)
    what = "; ".join(f"a reply {FORGERIES[k]}" for k in kinds)
    r = ask(client, step, up, name, "A")
    got = [rd.address for rrset in r.msg.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset]
    if fu.FORGED_A in got:
        g.fail(f"the forged reply was relayed ({what})",
               expected=f"{answer[0]} (the upstream's real reply, 20 ms after the forged one)",
               got=", ".join(f"A {a}" for a in got), sent=r.sent, details=seen_lines(up, [name]),
               hints=["take a reply only if it comes from the resolver's address and port and "
                      "carries the upstream query's ID and question (name without case, type, "
                      "class); ignore anything else and go on waiting (RFC 5452 9.1)"],
               cause=CAUSE_FORGED.format(what=", ".join(FORGERIES[k] for k in kinds)))
    expect_relayed(r, g.NOERROR)
    expect_section(r, "answer", answer)


@pytest.mark.stage(6, until=6)
def test_reply_in_other_letter_case_is_accepted(client, step, up):
    """The upstream's reply spells the question's name in other letter case (as a resolver using
    0x20 randomisation might): it is the same question, the reply is taken, and the client gets
    its own question back as it sent it."""
    name = up.unique("recase")
    answer = [f"{name} 300 IN A 192.0.2.78"]
    up.script(name, answer=answer, recase=True)
    r = ask(client, step, up, name, "A", hints=[
        "names compare without case: the upstream's question may differ from the query's in "
        "letter case and still be the same question"])
    expect_relayed(r, g.NOERROR)
    expect_section(r, "answer", answer)


@pytest.mark.stage(6, until=6)
def test_replies_in_the_other_order(server_with_args, new_client, step, up):
    """Two questions forwarded one after the other; the upstream answers the second first. Each
    client gets its own answer: replies are matched by ID and question, not by order."""
    first, second = up.unique("first"), up.unique("second")
    up.script(first, answer=[f"{first} 300 IN A 192.0.2.1"], after=second)
    up.script(second, answer=[f"{second} 300 IN A 192.0.2.2"])
    q1, qb1, what1 = make_query(first)
    q2, qb2, what2 = make_query(second)
    client = new_client(server_with_args(*BUSY_ARGS))
    client.drain()
    client.send(q1)
    up.wait_queries(first, 1, 1.0 * S)  # the second is asked once the first is upstream
    client.send(q2)
    sent = {q1[:2]: (q1, first), q2[:2]: (q2, second)}
    got = collect(client, sent, 2.0)
    if not up.queries(second):
        g.fail(f"the upstream never received the query for {second}, sent while the one for "
               f"{first} waited upstream", details=seen_lines(up, [first, second]), sent=q2,
               hints=["never wait for the upstream: send the query, keep it in a table of pending "
                      "queries, and go back to reading queries (and replies)"],
               cause=CAUSE_BLOCKING)
    for q, qb, what, name in ((q1, qb1, what1, first), (q2, qb2, what2, second)):
        if q[:2] not in got:
            fail_no_reply(client, q, up, [first, second], what, 2.0, hints=[
                "the upstream answered the second question first: match each reply to its "
                "upstream query by ID and question, not by order"])
        r = Reply(q, qb, got[q[:2]][0], what, step)
        expect_relayed(r, g.NOERROR)
        expect_section(r, "answer", [f"{name} 300 IN A 192.0.2.{1 if name == first else 2}"],
                       hints=["replies may come in any order: match each to its upstream query by "
                              "ID and question, then to the client's query it belongs to"])


# --------------------------------------------------------------------------------------------------
# Several questions


def multi(id_, names, rd=1):
    return g.header(id_, g.make_flags(rd=rd), len(names)) + b"".join(
        g.question(n, dns.rdatatype.from_text(t), 1) for n, t in names)


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("case", ["both-forwarded", "local-then-forwarded",
                                  "slow-forwarded-then-local"])
def test_two_questions_are_split_and_merged(client, step, up, case):
    """A query of two questions: each forwarded one goes upstream as a query of its own; the reply
    comes once both are answered, its sections in question order (the first question's records,
    then the second's, whichever came back first), its RCODE the first that is not NOERROR."""
    a, b = up.unique("qa"), up.unique("qb")
    if case == "both-forwarded":  # the first is answered after the second, which is NXDOMAIN
        up.script(a, answer=[f"{a} 300 IN A 192.0.2.31"], delay_ms=80)
        up.script(b, rcode=dns.rcode.NXDOMAIN, authority=fill([NEG_SOA], b))
        questions, forwarded = [(a, "A"), (b, "A")], [a, b]
        rcode, answer, authority = g.NXDOMAIN, [f"{a} 300 IN A 192.0.2.31"], fill([NEG_SOA], b)
    elif case == "local-then-forwarded":
        up.script(b, answer=[f"{b} 300 IN A 192.0.2.32"])
        questions, forwarded = [("www.zone4.test.", "A"), (b, "A")], [b]
        rcode, answer, authority = g.NOERROR, [*WWW_A, f"{b} 300 IN A 192.0.2.32"], []
    else:
        up.script(a, answer=[f"{a} 300 IN A 192.0.2.33"], delay_ms=100)
        questions, forwarded = [(a, "A"), ("nosuch.zone4.test.", "A")], [a]
        rcode, answer, authority = g.NXDOMAIN, [f"{a} 300 IN A 192.0.2.33"], [NEG_SOA4]
    sent = multi(next(ids), questions)
    what = " + ".join(f"{n} {t}" for n, t in questions)
    client.drain()
    client.send(sent)
    raw = receive(client, sent, up, forwarded, f"a query of two questions ({what})", 1.0)
    if not answers_several_questions(raw, sent, what, step):
        return
    for name in forwarded:
        expect_upstream_query(up, name, "A", sent=sent)
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, qr=1, rd=1, ra=1,
                    rcode=rcode, qdcount=2,
                    extra_hints=["the RCODE of a query of several questions is the first RCODE "
                                 "other than NOERROR among the questions' answers, in question "
                                 "order"])
    expect_questions_echoed(raw, sent, what)
    view = View(sent, raw, parse_reply(raw, sent, what), what)
    hint = ["merge the parts in question order: the first question's records, then the second's, "
            "in each section, whichever part came back first"]
    expect_section(view, "answer", answer, ordered=True, hints=hint)
    expect_section(view, "authority", authority, hints=hint)


class View:
    """Enough of test_04_answer.Reply for expect_section on a hand-made query."""

    def __init__(self, sent, raw, msg, what):
        self.sent, self.raw, self.msg, self.what = sent, raw, msg, what


# --------------------------------------------------------------------------------------------------
# Slow and silent upstreams


@pytest.mark.stage(6, until=6)
def test_slow_upstream_delays_nothing_else(server_with_args, new_client, step, up):
    """While the upstream takes 1.5 s over one question, a local name and another forwarded name
    are answered at once (under 300 ms each); then the slow one's reply is relayed too."""
    slow, fast = up.unique("slow"), up.unique("fast")
    up.script(slow, answer=[f"{slow} 300 IN A 192.0.2.91"], delay_ms=1500)
    up.script(fast, answer=[f"{fast} 300 IN A 192.0.2.92"])
    server = server_with_args(*BUSY_ARGS)
    waiting, other = new_client(server, timeout=3.0), new_client(server)
    q_slow, qb_slow, what_slow = make_query(slow)
    waiting.send(q_slow)
    up.wait_queries(slow, 1, 1.0 * S)  # it is upstream now
    limit = 0.3 * S
    for name in ("www.zone4.test.", fast):
        sent, qb, what = make_query(name)
        start = time.monotonic()
        other.send(sent)
        raw, _ = other.receive(1.0, lambda d: d[:2] == sent[:2])
        took = time.monotonic() - start
        if raw is None or took > limit:
            g.fail(f"{what} was not answered within {limit * 1000:.0f} ms while the upstream was "
                   "slow over another question",
                   expected=f"a reply within {limit * 1000:.0f} ms",
                   got=f"{took * 1000:.0f} ms" if raw else f"no reply within {1.0 * S:g} s",
                   sent=sent, details=seen_lines(up, [slow] if is_local(name) else [slow, name]),
                   hints=["never wait for the upstream: send the query, keep it in a table of "
                          "pending queries, and go back to the loop (poll() or select() on the "
                          "listening socket and the upstream sockets at once)"],
                   cause=CAUSE_BLOCKING)
        expect_relayed(Reply(sent, qb, raw, what, step), g.NOERROR)
    raw = receive(waiting, q_slow, up, [slow], what_slow, 3.0)
    r = Reply(q_slow, qb_slow, raw, what_slow, step)
    expect_relayed(r, g.NOERROR)
    expect_section(r, "answer", [f"{slow} 300 IN A 192.0.2.91"],
                   hints=["a reply 1.5 s late is within --upstream-timeout (2000 ms): relay it"])


@pytest.mark.stage(6, until=6)
def test_silent_upstream_gets_servfail(server_with_args, new_client, step, up):
    """With --upstream-timeout 300 --upstream-tries 2: a question the upstream never answers is
    asked twice, with two IDs, and gets SERVFAIL after about 600 ms (between 300 ms and 1.8 s); a
    question whose first query is lost is answered after the second."""
    srv = server_with_args(*SHORT_ARGS)
    silent, lost = up.unique("silent"), up.unique("lost-once")
    up.script(silent, silent=True)
    up.script(lost, answer=[f"{lost} 300 IN A 192.0.2.93"], drop_first=1)
    c1, c2 = new_client(srv, timeout=3.0), new_client(srv, timeout=3.0)
    q1, qb1, what1 = make_query(silent)
    q2, qb2, what2 = make_query(lost)
    start = time.monotonic()
    c1.send(q1)
    c2.send(q2)
    raw2 = receive(c2, q2, up, [lost], what2, 2.0 * TIMEOUT_MS / 1000 * 3)
    r2 = Reply(q2, qb2, raw2, what2, step)
    if len(up.queries(lost)) < 2:
        g.fail(f"{what2}: the upstream dropped the first query, and received no second",
               expected=f"a second query after {TIMEOUT_MS} ms (--upstream-timeout), then the "
                        "upstream's answer", got=f"{g.RCODE_NAMES.get(r2.hdr.rcode, r2.hdr.rcode)}"
                                                 f" after {(time.monotonic() - start) * 1000:.0f} ms",
               details=seen_lines(up, [lost]), sent=q2, cause=CAUSE_NO_RETRY,
               hints=["no reply within --upstream-timeout: send the query again (a fresh ID), up "
                      "to --upstream-tries queries in all"])
    expect_relayed(r2, g.NOERROR)
    expect_section(r2, "answer", [f"{lost} 300 IN A 192.0.2.93"])
    raw1 = receive(c1, q1, up, [silent], what1, 3.0)
    took = time.monotonic() - start
    r1 = Reply(q1, qb1, raw1, what1, step)
    expect_relayed(r1, g.SERVFAIL, hints=["no reply after every try: SERVFAIL (RCODE 2)"])
    expect_section(r1, "answer", [])
    total = TIMEOUT_MS * TRIES / 1000
    if not 0.5 * total <= took <= 3 * total * S:
        g.fail(f"SERVFAIL came {took * 1000:.0f} ms after the query",
               expected=f"about {total * 1000:.0f} ms (--upstream-timeout {TIMEOUT_MS} x "
                        f"--upstream-tries {TRIES}), between {0.5 * total * 1000:.0f} and "
                        f"{3 * total * S * 1000:.0f} ms", got=f"{took * 1000:.0f} ms", sent=q1,
               details=seen_lines(up, [silent]),
               hints=["each try waits --upstream-timeout ms for its reply before the next is sent; "
                      "SERVFAIL once the last has waited as long"])
    seen = up.queries(silent)
    if len(seen) != TRIES or len({s.id for s in seen}) != TRIES:
        g.fail(f"the upstream received {len(seen)} queries for {silent} with "
               f"{len({s.id for s in seen})} different IDs",
               expected=f"{TRIES} queries (--upstream-tries {TRIES}), each with an ID of its own",
               details=seen_lines(up, [silent]), sent=q1,
               cause=CAUSE_NO_RETRY if len(seen) < TRIES else None,
               hints=["send the query again after each --upstream-timeout, with a fresh random ID, "
                      "--upstream-tries times in all"])


@pytest.mark.stage(6, until=6)
def test_max_pending_gets_servfail_at_once(server_with_args, new_client, step, up):
    """With --max-pending 5: 20 questions the upstream never answers, sent at once. 5 wait upstream
    (SERVFAIL after 2 x 300 ms), the 15 others get SERVFAIL at once (under 200 ms); a local name is
    answered meanwhile; afterwards a forwarded question is answered again (nothing is left
    pending)."""
    srv = server_with_args(*SHORT_ARGS)
    flood, local = new_client(srv, timeout=3.0), new_client(srv)
    names = [up.unique("pending") for _ in range(20)]
    sent = {}
    for name in names:
        up.script(name, silent=True)
        q, _, _ = make_query(name)
        sent[q[:2]] = (q, name)
    start = time.monotonic()
    for q, _ in sent.values():
        flood.send(q)
    r = ask(local, step, up, "www.zone4.test.", "A", timeout=0.5, hints=[
        "a local name is answered at once, whatever waits upstream: is the server waiting for "
        "the upstream's replies to the 20 questions before?"], cause=CAUSE_BLOCKING)
    expect_reply(r, g.NOERROR, aa=1, answer=WWW_A,
                 hints=["--max-pending bounds the questions waiting upstream, not local answers"])
    got = collect(flood, sent, 3.0, start=start)
    missing = [sent[k][1] for k in sent if k not in got]
    if missing:
        g.fail(f"{len(missing)} of 20 queries got no reply within {3 * S:g} s",
               details=seen_lines(up, missing[:3]),
               hints=["a question beyond --max-pending gets SERVFAIL at once; one waiting "
                      "upstream gets SERVFAIL after its tries"])
    for k, (raw, _) in got.items():
        q, name = sent[k]
        rr = Reply(q, q[g.HEADER_SIZE:], raw, f"{name} A", step)
        expect_relayed(rr, g.SERVFAIL, hints=["the upstream answers none of these: SERVFAIL"])
    at_once = sum(1 for _, t in got.values() if t < 0.2 * S)
    asked = [n for n in names if up.queries(n)]
    if len(asked) > MAX_PENDING or at_once < len(names) - MAX_PENDING:
        g.fail(f"--max-pending {MAX_PENDING}: {len(asked)} of 20 silent questions went upstream, "
               f"{at_once} got SERVFAIL within {200 * S:g} ms",
               expected=f"at most {MAX_PENDING} upstream, the {len(names) - MAX_PENDING} others "
                        "SERVFAIL at once",
               details=["replies after (ms): " + " ".join(f"{t * 1000:.0f}" for _, t in
                                                          sorted(got.values(), key=lambda x: x[1]))],
               hints=["count the questions waiting upstream; when --max-pending of them wait, "
                      "answer a new one SERVFAIL at once instead of forwarding it"],
               cause=CAUSE_NO_LIMIT)
    after = up.unique("after-pending")
    r = ask(local, step, up, after, "A", timeout=1.0)
    expect_relayed(r, g.NOERROR, hints=["once the waiting questions got their SERVFAIL, their "
                                        "places are free again: is the pending count decreased "
                                        "after a timeout?"])
    expect_section(r, "answer", fu.default_answer(after, dns.rdatatype.A))


@pytest.mark.stage(6, until=6)
def test_many_queries_at_once(server_with_args, new_client, step, up):
    """200 questions sent at once, each scripted with an address of its own and a delay of 0 to
    49 ms (the replies come back in another order): each client's reply holds its own answer."""
    client = new_client(server_with_args(*BUSY_ARGS), timeout=3.0)
    sent, want = {}, {}
    for i in range(200):
        name = up.unique("many")
        address = f"198.18.{i // 250}.{i % 250 + 1}"
        up.script(name, answer=[f"{name} 300 IN A {address}"], delay_ms=(i * 37) % 50)
        q, qb, what = make_query(name, id_=0x7000 + i)
        sent[q[:2]] = (q, name)
        want[q[:2]] = (qb, what, [f"{name} 300 IN A {address}"])
    for q, _ in sent.values():
        client.send(q)
    got = collect(client, sent, 3.0)
    missing = [sent[k][1] for k in sent if k not in got]
    if missing:
        g.fail(f"{len(missing)} of 200 queries sent at once got no reply within {3 * S:g} s",
               details=seen_lines(up, missing[:3]),
               hints=["every forwarded query is answered, however many wait at once: a table of "
                      "pending queries, found again by the upstream socket (or ID) the reply "
                      "comes to"])
    for k, (raw, _) in got.items():
        qb, what, answer = want[k]
        r = Reply(sent[k][0], qb, raw, what, step)
        expect_relayed(r, g.NOERROR)
        expect_section(r, "answer", answer,
                       hints=["each reply goes to the client whose question it answers"])


# --------------------------------------------------------------------------------------------------
# The command line


BAD_OPTIONS = [
    pytest.param([], "resolver", id="no-resolver"),
    pytest.param(["--resolver", "garbage"], "resolver", id="resolver-garbage"),
    pytest.param(["--resolver", "127.0.0.1:65536"], "resolver", id="resolver-port-too-big"),
    pytest.param(["--resolver", "127.0.0.1:0"], "resolver", id="resolver-port-0"),
    pytest.param(["--resolver", "127.0.0.300:53"], "resolver", id="resolver-bad-address"),
    pytest.param(["{resolver}", "--upstream-timeout", "0"], "upstream-timeout", id="timeout-0"),
    pytest.param(["{resolver}", "--upstream-timeout", "abc"], "upstream-timeout",
                 id="timeout-abc"),
    pytest.param(["{resolver}", "--upstream-timeout", "-5"], "upstream-timeout",
                 id="timeout-negative"),
    pytest.param(["{resolver}", "--upstream-tries", "0"], "upstream-tries", id="tries-0"),
    pytest.param(["{resolver}", "--upstream-tries", "2x"], "upstream-tries", id="tries-2x"),
    pytest.param(["{resolver}", "--max-pending", "0"], "max-pending", id="max-pending-0"),
    pytest.param(["{resolver}", "--max-pending", "many"], "max-pending", id="max-pending-many"),
]


@pytest.mark.stage(6, until=6)
@pytest.mark.build_only
@pytest.mark.parametrize("args,option", BAD_OPTIONS)
def test_bad_forwarding_option_exits_2(dns_settings, step, up, test_zones, args, option):
    """A missing --resolver, or a bad value of a forwarding option: a message naming the option on
    stderr and exit status 2, at once. (Only numeric addresses: nothing is looked up.)"""
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.fail(g.missing_binary(binary), pytrace=False)
    words = [w for a in args for w in (["--resolver", up.resolver] if a == "{resolver}" else [a])]
    argv = [str(binary), "--port", str(g.free_udp_port()), "--zone", str(test_zones.simple[0]),
            *words]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=3 * S,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 2 or option not in r.stderr:
        got = ("still running after 3 s" if r is None else
               f"{g.exit_text(r.returncode)}; stderr: {r.stderr.strip()[:300]!r}")
        g.fail(f"step-{step} {' '.join(words) or '(no --resolver)'}",
               expected=f"exit status 2 and a message naming --{option} on stderr", got=got,
               details=[f"command: {' '.join(argv)}"],
               hints=["check every option before serving: --resolver is required, ADDRESS:PORT "
                      "(1.2.3.4:53 or [::1]:53); --upstream-timeout, --upstream-tries and "
                      "--max-pending are whole numbers of at least 1"])
