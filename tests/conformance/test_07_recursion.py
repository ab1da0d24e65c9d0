"""Stage 7, recursion: an iterative resolver. It takes --root-hints FILE (named.root format, the
`{root_hints}` placeholder) and --ns-port P (the port of every name server it asks, `{ns_port}`),
--ns-timeout MS (800), --deadline MS (5000) and --zone FILE (local data, optional; the tests give
none), and answers each question it is asked with RD=1 by asking name servers itself:

  - from the root hints down, with RD=0 (RFC 1034 5.3.3), following referrals; glue only for names
    inside the zone that sent the referral, else the name server's name is resolved first;
    CNAMEs followed across zones (at most 8 links; a loop: SERVFAIL); NXDOMAIN and NODATA with the
    SOA of the authority section;
  - the reply: the client's ID and question as sent, QR=1, RD copied, RA=1, AA=0; the answer is
    the CNAME chain, then the final RRset; a negative answer carries the SOA in authority;
  - a server that does not answer in --ns-timeout, answers SERVFAIL, REFUSED or FORMERR, or gives a
    lame or upward referral: the next address of that zone's servers; none left: SERVFAIL. A TC
    reply is asked again over TCP of the same server and never used itself. At most 30 referrals,
    100 queries to name servers and --deadline per client query;
  - a random ID and source port per query; only a reply from the address and port asked, with that
    ID and question, is taken; records outside the bailiwick of the server that sent them are not
    used;
  - many resolutions at once, none waiting for another; several questions resolved one by one and
    merged (the RCODE the first that is not NOERROR); RD=0 gets REFUSED.

The name servers are fake_hierarchy.py's, in this process, on 127.0.1.x and one port: a fixed root
and test., and per test zones of its own ("<label>-<tag>.test.", `scope.zone(label)`), delegated
from test. (or from another of its zones) and served by fake servers that behave as the test says
(silent, lame, truncating, forging...). Each counts what it receives, so a test checks the walk as
well as the answer. The pooled server has the defaults; the tests of timeouts get a server of their
own with --ns-timeout 200 --deadline 700 (SHORT_ARGS), those that keep a server busy another one.

Records are compared without their TTLs (a resolver may pass a TTL on as it came, and a cache,
stage 8, counts it down): a TTL may be lower than the server's, never higher."""

import itertools
import subprocess
import time

import dns.rdatatype
import pytest

import dnsgrader as g
import fake_hierarchy as fh
from fake_hierarchy import Server
from test_04_answer import Reply, parse_reply, record_texts
from test_05_compression import answers_several_questions, expect_questions_echoed

S = g.TIMEOUT_SCALE  # every wait and time limit below is multiplied by DNS_TEST_TIMEOUT_SCALE
NS_TIMEOUT_MS, DEADLINE_MS = 200, 700
SHORT_ARGS = ("--ns-timeout", str(NS_TIMEOUT_MS), "--deadline", str(DEADLINE_MS))
# The tests that keep a server busy get a process of their own (these are the defaults, written
# out only to make it another process): a resolver that cannot do two things at once then fails
# those tests alone.
BUSY_ARGS = ("--ns-timeout", "800", "--deadline", "5000")
ROOTS = {a for _, a in fh.ROOT_SERVERS}
TLD = fh.TLD_SERVER[1]

CAUSE_CNAME_NOT_FOLLOWED = "a CNAME into another zone is not followed"
CAUSE_NO_NEXT_SERVER = "a server that fails ends the resolution: the next server is not asked"
CAUSE_TC_USED = "a truncated (TC=1) reply is used: it is not asked again over TCP"
CAUSE_FORGED = "a forged reply (wrong ID, address, port or question) is accepted"
CAUSE_OOB_GLUE = "glue outside the bailiwick of the delegating zone is used"
CAUSE_OOB_ANSWER = "records outside the bailiwick of the server that sent them are used"
CAUSE_RD_UPSTREAM = "queries to name servers ask for recursion (RD=1)"
CAUSE_PREDICTABLE_IDS = "query IDs are predictable (sequential)"
CAUSE_REPEATED_IDS = "query IDs repeat (not drawn at random)"
CAUSE_ONE_PORT = "queries to name servers leave from one source port"
CAUSE_UNBOUNDED = "a resolution is not bounded (referrals, queries, deadline)"
CAUSE_BLOCKING = "a slow resolution delays other queries: the server waits for it"
CAUSE_RD0_RESOLVED = "a query with RD=0 is resolved"
CAUSE_NO_GLUELESS = "a delegation without glue is not followed (its NS names are not resolved)"

ids = itertools.count(0x7101)

WALK_HINT = ("start at a root server of --root-hints, ask with RD=0, and follow each referral to "
             "the servers it names (RFC 1034 5.3.3): the root refers to test., test. to the "
             "test's zone, whose servers answer")


@pytest.fixture
def scope(fake_hierarchy):
    """This test's part of the fake tree: scope.zone(label), scope.add_zone(...), scope.queries()."""
    return fake_hierarchy.scope()


def make_query(name, qtype="A", rd=1, id_=None):
    """(the query, its question's bytes, "name TYPE")."""
    id_ = next(ids) & 0xFFFF if id_ is None else id_
    code = dns.rdatatype.from_text(qtype)
    q = g.question(name, code, 1)
    return g.header(id_, g.make_flags(rd=rd), 1) + q, q, f"{name} {qtype}"


def fail_no_reply(client, sent, scope, what, waited, hints=(), cause=None):
    details, more = scope.lines(), list(hints)
    if not scope.queries():
        more.append(WALK_HINT)
    cause = client._explain_silence(details, more) or cause
    g.fail(f"no reply to {what} within {waited * S:g} s", sent=sent, details=details, hints=more,
           cause=cause)


def ask(client, step, scope, name, qtype="A", rd=1, timeout=2.0, hints=(), cause=None):
    """Sends `name` `qtype` IN with RD as given; returns the Reply (test_04's) and how long it took
    (s)."""
    sent, q, what = make_query(name, qtype, rd)
    client.drain()
    start = time.monotonic()
    client.send(sent)
    raw, _ = client.receive(timeout, lambda d: d[:2] == sent[:2])
    took = time.monotonic() - start
    if raw is None:
        fail_no_reply(client, sent, scope, what, timeout, hints, cause)
    g.expect_answered(raw, sent)
    return Reply(sent, q, raw, what, step), took


def _key(line):
    """A record line without its TTL, lower case: "owner IN TYPE rdata"."""
    owner, _, rest = line.split(None, 2)
    return f"{owner} {rest}".lower()


def rrset_order(keys):
    """(owner, type) of each RRset in order of appearance (the records of one RRset in any order)."""
    order = []
    for k in keys:
        owner, _, rtype = k.split()[:3]
        if not order or order[-1] != (owner, rtype):
            order.append((owner, rtype))
    return order


def expect_records(r, section, expected, scope, ordered=False, hints=(), cause=None):
    """The records of `section` are `expected` ("owner TTL IN TYPE RDATA" lines), compared without
    letter case and TTL (a TTL may be lower, not higher); with ordered, their RRsets in that order."""
    got = record_texts({"answer": r.msg.answer, "authority": r.msg.authority,
                        "additional": r.msg.additional}[section])
    want_keys, got_keys = [_key(x) for x in expected], [_key(x) for x in got]
    same = sorted(want_keys) == sorted(got_keys)
    if same and (not ordered or rrset_order(want_keys) == rrset_order(got_keys)):
        ttl = {_key(x): int(x.split()[1]) for x in expected}
        higher = [x for x in got if int(x.split()[1]) > ttl[_key(x)]]
        if not higher:
            return
        g.fail(f"the reply to {r.what}: a TTL in the {section} section is higher than the name "
               "server's", details=["the server's:", *[f"    {x}" for x in expected], "got:",
                                    *[f"    {x}" for x in got]], sent=r.sent,
               hints=["pass each record's TTL on as the name server gave it (a cache counts it "
                      "down, never up)"])
    details = [f"expected ({len(expected)}, TTLs not compared):",
               *([f"    {x}" for x in expected] or ["    (none)"]),
               f"got ({len(got)}):", *([f"    {x}" for x in got] or ["    (none)"])]
    g.fail(f"the reply to {r.what}: " + ("the right records in the wrong order in the "
                                         f"{section} section" if same else f"wrong {section} section"),
           details=details + scope.lines(), sent=r.sent, hints=list(hints), cause=cause)


def expect_resolved(r, scope, rcode, answer=(), authority=None, hints=(), cause=None):
    """The header (the client's ID, QR=1, OPCODE 0, RD copied, RA=1, AA=0, Z=0, QDCOUNT 1, `rcode`),
    the question as sent, the answer (in order) and, if given, the authority section."""
    q = g.Header.parse(r.sent)
    expect_rcode(r, scope, rcode, hints, cause)
    g.expect_header(r.raw, r.sent, what=f"the reply header to {r.what}", step=r.step,
                    extra_hints=hints, id=q.id, qr=1, opcode=0, rd=q.rd, ra=1, aa=0, z=0,
                    qdcount=1, rcode=rcode)
    g.expect_question(r.raw, r.sent, r.q, exact=False, what=f"the reply to {r.what}")
    expect_records(r, "answer", list(answer), scope, ordered=True, hints=[
        *hints, "the answer holds the CNAME chain from the question's name, link by link, then "
                "the final RRset"], cause=cause)
    if authority is not None:
        expect_records(r, "authority", list(authority), scope, hints=[
            *hints, "a negative answer (NXDOMAIN, or NODATA: NOERROR and no answer) carries the "
                    "SOA the name server gave in its authority section (RFC 2308)"])


def expect_rcode(r, scope, rcode, hints=(), cause=None):
    """The reply's RCODE is `rcode`; if not, the failure shows what the fake servers received."""
    got = g.Header.parse(r.raw)
    if got.rcode == rcode:
        return
    more = list(hints)
    if got.rcode == g.SERVFAIL and not scope.queries():
        more.append(WALK_HINT)
    g.fail(f"the reply to {r.what}: RCODE {g.RCODE_NAMES.get(got.rcode, got.rcode)}, expected "
           f"{g.RCODE_NAMES[rcode]}", details=scope.lines(), sent=r.sent,
           got=f"{g.hexs(r.raw[:g.HEADER_SIZE])}   {got.describe()}", hints=more, cause=cause)


def soa_line(zone):
    return record_texts([zone.soa])[0]


def expect_asked(scope, name, servers, sent, hints=(), cause=None):
    """Each of `servers` ({label: set of addresses}) received a query for `name` (any of the set)."""
    for label, addresses in servers.items():
        if not any(s.server in addresses for s in scope.queries(name=name)):
            g.fail(f"{label} ({', '.join(sorted(addresses))}) received no query for {name}",
                   details=scope.lines(), sent=sent, hints=[*hints, WALK_HINT], cause=cause)


# --------------------------------------------------------------------------------------------------
# The walk


# Until stage 7: from stage 8 on a cache may hold test.'s delegation and rightly skip the root
# (test_08_cache.py checks that walk).
@pytest.mark.stage(7, until=7)
def test_answer_through_root_tld_and_zone_with_glue(client, step, scope):
    """www.<zone> A: the root refers to test., test. to the zone (with glue for its server), whose
    server answers two A records. Each of the three was asked, with the question's name."""
    z = scope.zone("glue")
    ns = Server(f"ns1.{z}")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.1", "www.{z} 300 IN A 192.0.2.2"], [ns])
    r, _ = ask(client, step, scope, f"www.{z}")
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.1",
                                          f"www.{z} 300 IN A 192.0.2.2"])
    expect_asked(scope, f"www.{z}", {"a root server": ROOTS, "the server of test.": {TLD},
                                     f"the server of {z}": {ns.address}}, r.sent)


@pytest.mark.stage(7)
def test_glueless_delegation(client, step, scope):
    """A zone whose name server is named in another zone, without glue: the resolver resolves the
    server's name first (a walk of its own, from the root), then asks it."""
    a, b = scope.zone("glueless"), scope.zone("hoster")
    ns_a = Server(f"ns2.{b}", glue=False)
    ns_b = Server(f"ns.{b}")
    scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.10"], [ns_a])
    scope.add_zone(b, [f"ns2.{b} 300 IN A {ns_a.address}"], [ns_b])
    r, _ = ask(client, step, scope, f"www.{a}")
    hint = (f"test. refers {a} to ns2.{b} without an address (glue): resolve ns2.{b} A first, "
            "from the root, then ask that address")
    expect_resolved(r, scope, g.NOERROR, [f"www.{a} 300 IN A 192.0.2.10"], hints=[hint],
                    cause=CAUSE_NO_GLUELESS)
    expect_asked(scope, f"ns2.{b}", {f"the server of {b}": {ns_b.address}}, r.sent, [hint])


@pytest.mark.stage(7)
def test_sub_delegation(client, step, scope):
    """test. delegates the zone, the zone delegates sub.<zone> to a server of its own (in-zone
    glue): three referrals, the last from the zone's server."""
    z = scope.zone("parent")
    ns = Server(f"ns1.{z}")
    parent = scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.20"], [ns])
    sub_ns = Server(f"ns.sub.{z}")
    scope.add_zone(f"sub.{z}", ["www.{z} 300 IN A 192.0.2.21"], [sub_ns], parent=parent)
    r, _ = ask(client, step, scope, f"www.sub.{z}")
    expect_resolved(r, scope, g.NOERROR, [f"www.sub.{z} 300 IN A 192.0.2.21"],
                    hints=[f"{z}'s server refers sub.{z} to its own server: follow referrals "
                           "until a server answers"])
    expect_asked(scope, f"www.sub.{z}", {f"the server of sub.{z}": {sub_ns.address}}, r.sent)


# --------------------------------------------------------------------------------------------------
# CNAMEs


def chain_zones(scope, count, final="192.0.2.30"):
    """Two zones, a and b, on servers of their own, and a chain of `count` CNAMEs l1.a -> l2.b ->
    l3.a -> ... ending at an A record: each link leads into the other zone. Returns the question's
    name and the answer's lines."""
    a, b = scope.zone("links"), scope.zone("knils")
    zone_of = [a, b]
    names = [f"l{i}.{zone_of[(i - 1) % 2]}" for i in range(1, count + 2)]
    records = {a: [], b: []}
    lines = []
    for i, name in enumerate(names):
        line = (f"{name} 300 IN CNAME {names[i + 1]}" if i < count else f"{name} 300 IN A {final}")
        records[zone_of[i % 2]].append(line)
        lines.append(line)
    scope.add_zone(a, records[a], [Server(f"ns.{a}")])
    scope.add_zone(b, records[b], [Server(f"ns.{b}")])
    return names[0], lines


@pytest.mark.stage(7)
def test_cname_into_another_zone(client, step, scope):
    """www.a is a CNAME for www.b, a zone on other servers: a's server answers the CNAME alone; the
    resolver resolves www.b from the root and answers the CNAME, then the A record."""
    a, b = scope.zone("alias"), scope.zone("target")
    scope.add_zone(a, [f"www.{a} 300 IN CNAME www.{b}"], [Server(f"ns.{a}")])
    nb = Server(f"ns.{b}")
    scope.add_zone(b, [f"www.{b} 300 IN A 192.0.2.40"], [nb])
    r, _ = ask(client, step, scope, f"www.{a}")
    cname = [f"www.{a} 300 IN CNAME www.{b}"]
    cause = CAUSE_CNAME_NOT_FOLLOWED if record_texts(r.msg.answer) and \
        [_key(x) for x in record_texts(r.msg.answer)] == [_key(x) for x in cname] else None
    expect_resolved(r, scope, g.NOERROR, [*cname, f"www.{b} 300 IN A 192.0.2.40"],
                    hints=[f"a CNAME whose target is in another zone is followed: resolve www.{b} "
                           "from the root, then answer the CNAME and the target's records"],
                    cause=cause)
    expect_asked(scope, f"www.{b}", {f"the server of {b}": {nb.address}}, r.sent)


@pytest.mark.stage(7)
@pytest.mark.parametrize("links", [3, 8], ids=["3-links", "8-links"])
def test_cname_chain_across_zones(client, step, scope, links):
    """A chain of CNAMEs, each into the other of two zones: every link is resolved from the root;
    the answer is the chain in order, then the A record. 8 links is the most there may be."""
    first, lines = chain_zones(scope, links)
    r, _ = ask(client, step, scope, first, timeout=3.0)
    expect_resolved(r, scope, g.NOERROR, lines,
                    hints=["follow each CNAME to its target, wherever it is; the answer lists the "
                           "links in order, then the final RRset; at most 8 links"],
                    cause=CAUSE_CNAME_NOT_FOLLOWED if len(r.msg.answer) == 1 else None)


@pytest.mark.stage(7)
@pytest.mark.parametrize("case", ["loop", "9-links"])
def test_cname_loop_or_too_long_chain_gets_servfail(client, step, scope, case):
    """loop.a -> loop.b -> loop.a: SERVFAIL, soon and with few queries; a chain of 9 links (one more
    than 8) too."""
    if case == "loop":
        a, b = scope.zone("loop"), scope.zone("pool")
        scope.add_zone(a, [f"loop.{a} 300 IN CNAME loop.{b}"], [Server(f"ns.{a}")])
        scope.add_zone(b, [f"loop.{b} 300 IN CNAME loop.{a}"], [Server(f"ns.{b}")])
        first = f"loop.{a}"
    else:
        first, _ = chain_zones(scope, 9)
    r, _ = ask(client, step, scope, first, timeout=3.0)
    expect_resolved_rcode(r, scope, g.SERVFAIL, hints=[
        "stop following CNAMEs after 8 links, or at a name already seen: SERVFAIL"])
    expect_bounded(scope, r.sent)


def expect_resolved_rcode(r, scope, rcode, hints=(), cause=None):
    """Only the header: the client's ID, QR=1, RD copied, RA=1, QDCOUNT 1 and `rcode` (the sections
    of a SERVFAIL are not checked)."""
    q = g.Header.parse(r.sent)
    expect_rcode(r, scope, rcode, hints, cause)
    g.expect_header(r.raw, r.sent, what=f"the reply header to {r.what}", step=r.step,
                    extra_hints=hints, id=q.id, qr=1, opcode=0, rd=q.rd, ra=1, z=0, qdcount=1,
                    rcode=rcode)
    g.expect_question(r.raw, r.sent, r.q, exact=False, what=f"the reply to {r.what}")


def expect_bounded(scope, sent, limit=100):
    seen = scope.queries()
    if len(seen) > limit:
        g.fail(f"the fake name servers received {len(seen)} queries for one client query",
               expected=f"at most {limit} (30 referrals, 100 queries, --deadline per client query)",
               details=scope.lines(limit=8), sent=sent, cause=CAUSE_UNBOUNDED,
               hints=["count the queries and referrals of each client query, and give up "
                      "(SERVFAIL) past the bounds; never resolve a name you are already resolving"])


# --------------------------------------------------------------------------------------------------
# Negative answers


@pytest.mark.stage(7)
@pytest.mark.parametrize("via_cname", [False, True], ids=["direct", "after-a-cname"])
def test_nxdomain_carries_the_soa(client, step, scope, via_cname):
    """nosuch.<zone>: NXDOMAIN, the zone's SOA in authority, AA=0 (the resolver is not the
    authority). After a CNAME into another zone: the CNAME in the answer, the target zone's SOA."""
    a, b = scope.zone("nx"), scope.zone("xn")
    za = scope.add_zone(a, [f"alias.{a} 300 IN CNAME nosuch.{b}"], [Server(f"ns.{a}")])
    zb = scope.add_zone(b, ["www.{z} 300 IN A 192.0.2.50"], [Server(f"ns.{b}")])
    name = f"alias.{a}" if via_cname else f"nosuch.{a}"
    r, _ = ask(client, step, scope, name)
    expect_resolved(r, scope, g.NXDOMAIN,
                    [f"alias.{a} 300 IN CNAME nosuch.{b}"] if via_cname else [],
                    [soa_line(zb if via_cname else za)],
                    hints=["the authoritative server's NXDOMAIN is passed on, with the SOA of its "
                           "authority section"])


@pytest.mark.stage(7)
def test_nodata_carries_the_soa(client, step, scope):
    """www.<zone> AAAA where www has an A record only: NOERROR, no answer, the zone's SOA."""
    z = scope.zone("nodata")
    zone = scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.60"], [Server(f"ns.{z}")])
    r, _ = ask(client, step, scope, f"www.{z}", "AAAA")
    expect_resolved(r, scope, g.NOERROR, [], [soa_line(zone)],
                    hints=["NODATA: NOERROR, an empty answer, and the SOA the server gave"])


# --------------------------------------------------------------------------------------------------
# Servers that fail


@pytest.mark.stage(7)
def test_dead_first_server_then_a_live_one(server_with_args, new_client, step, scope):
    """With --ns-timeout 200 --deadline 700: the zone's first server never answers, the second
    does: the answer comes after one timeout, within the deadline."""
    srv = server_with_args(*SHORT_ARGS)
    z = scope.zone("dead")
    dead, live = Server(f"dead.{z}", behaviour="silent"), Server(f"live.{z}")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.70"], [dead, live])
    r, took = ask(new_client(srv, timeout=2.0), step, scope, f"www.{z}", timeout=2.0)
    cause = CAUSE_NO_NEXT_SERVER if not scope.queries(server=live.address) else None
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.70"], cause=cause,
                    hints=[f"no reply within --ns-timeout ({NS_TIMEOUT_MS} ms): ask the next "
                           "address of the zone's servers"])
    limit = (DEADLINE_MS / 1000 + 0.3) * S
    if took > limit:
        g.fail(f"the answer came {took * 1000:.0f} ms after the query",
               expected=f"within --deadline {DEADLINE_MS} ms (plus {300 * S:g} ms)",
               details=scope.lines(), sent=r.sent,
               hints=["one timeout of --ns-timeout, then the next server"])


@pytest.mark.stage(7)
@pytest.mark.parametrize("behaviour", ["servfail", "refused", "formerr", "upward"])
def test_next_server_after_a_bad_reply(client, step, scope, behaviour):
    """The zone's first server answers SERVFAIL, REFUSED (lame), FORMERR, or with a referral to the
    root (upward): the second is asked, and its answer used."""
    z = scope.zone(behaviour)
    bad, good = Server(f"bad.{z}", behaviour=behaviour), Server(f"good.{z}")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.71"], [bad, good])
    r, _ = ask(client, step, scope, f"www.{z}")
    cause = CAUSE_NO_NEXT_SERVER if not scope.queries(server=good.address) else None
    what = {"servfail": "SERVFAIL", "refused": "REFUSED (a lame server)", "formerr": "FORMERR",
            "upward": "a referral to the root (upward: not closer to the name)"}[behaviour]
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.71"], cause=cause,
                    hints=[f"a server that answers {what} has no answer for us: ask the next "
                           "address of the zone's servers"])


@pytest.mark.stage(7)
@pytest.mark.parametrize("behaviours", [("refused", "refused"), ("refused", "upward", "servfail")],
                         ids=["two-lame", "lame-upward-servfail"])
def test_only_bad_servers_gets_servfail(client, step, scope, behaviours):
    """Every server of the zone is lame, refers upward or fails: SERVFAIL, after asking each."""
    z = scope.zone("lame")
    servers = [Server(f"ns{i}.{z}", behaviour=b) for i, b in enumerate(behaviours, 1)]
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.72"], servers)
    r, _ = ask(client, step, scope, f"www.{z}")
    expect_resolved_rcode(r, scope, g.SERVFAIL, hints=[
        "when no server of a zone gives a usable reply, the resolution fails: SERVFAIL"])
    for s in servers:
        if not scope.queries(server=s.address, name=f"www.{z}"):
            g.fail(f"the zone's server {s.name} ({s.address}) was not asked before SERVFAIL",
                   details=scope.lines(), sent=r.sent,
                   hints=["try every address of the zone's servers before giving up"])


@pytest.mark.stage(7)
def test_every_server_silent_gets_servfail_by_the_deadline(server_with_args, new_client, step,
                                                           scope):
    """With --ns-timeout 200 --deadline 700: six servers, none answers (six timeouts would take
    1.2 s): SERVFAIL by the deadline."""
    srv = server_with_args(*SHORT_ARGS)
    z = scope.zone("silent")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.73"],
                   [Server(f"ns{i}.{z}", behaviour="silent") for i in range(6)])
    r, took = ask(new_client(srv, timeout=3.0), step, scope, f"www.{z}", timeout=3.0)
    expect_resolved_rcode(r, scope, g.SERVFAIL, hints=["no server answers: SERVFAIL"])
    limit = (DEADLINE_MS / 1000 + 0.4) * S
    if took > limit:
        g.fail(f"SERVFAIL came {took * 1000:.0f} ms after the query",
               expected=f"by --deadline {DEADLINE_MS} ms (plus {400 * S:g} ms)",
               details=scope.lines(), sent=r.sent, cause=CAUSE_UNBOUNDED,
               hints=["the deadline bounds the whole resolution: once it passes, SERVFAIL, "
                      "whatever servers are left to try"])


@pytest.mark.stage(7)
def test_truncated_reply_is_asked_again_over_tcp(client, step, scope):
    """The zone's server answers over UDP with TC=1 (and a record that must not be used): the
    resolver asks the same server over TCP (RFC 7766: a 2-byte length, then the message) and uses
    that answer."""
    z = scope.zone("tc")
    ns = Server(f"ns.{z}", behaviour="truncate")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.74"], [ns])
    r, _ = ask(client, step, scope, f"www.{z}")
    used = fh.TRUNCATED_A in " ".join(record_texts(r.msg.answer))
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.74"],
                    cause=CAUSE_TC_USED if used else None,
                    hints=["a reply with TC=1 is incomplete: ask the same server again over TCP, "
                           "and use only that reply"])
    if not scope.queries(server=ns.address, transport="tcp"):
        g.fail(f"{ns.address} sent TC=1, and was not asked over TCP", details=scope.lines(),
               sent=r.sent, cause=CAUSE_TC_USED,
               hints=["connect() to the same address and port over TCP, send the query with a "
                      "2-byte length before it, read the length, then the reply (RFC 7766)"])


# --------------------------------------------------------------------------------------------------
# Spoofing


@pytest.mark.stage(7)
def test_forged_replies_are_ignored(client, step, scope):
    """Before the real reply, the zone's server (and a neighbour) send forged ones, each saying
    203.0.113.66: with another ID, from another address, from another port, and for another
    question. Only the real one is taken."""
    z = scope.zone("forge")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.75"], [Server(f"ns.{z}", forge=True)])
    r, _ = ask(client, step, scope, f"www.{z}")
    used = fh.FORGED_A in " ".join(record_texts(r.msg.answer))
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.75"],
                    cause=CAUSE_FORGED if used else None,
                    hints=["take a reply only from the address and port the query went to, with "
                           "its ID and its question; ignore anything else and keep waiting"])


@pytest.mark.stage(7)
def test_out_of_bailiwick_glue_is_not_used(client, step, scope):
    """<zone> delegates sub.<zone> to host.<other zone>, and gives an address for it (glue) that is
    not the real one: a name outside <zone> is not <zone>'s to vouch for. The resolver resolves
    host.<other zone> itself, and never asks the address of the bad glue."""
    a, b = scope.zone("bail"), scope.zone("iwick")
    host, bogus = scope.address(), scope.address()
    parent = scope.add_zone(a, [], [Server(f"ns.{a}")])
    nb = Server(f"ns.{b}")
    scope.add_zone(b, [f"host.{b} 300 IN A {host}"], [nb])
    sub = scope.add_zone(f"sub.{a}", ["www.{z} 300 IN A 192.0.2.76"],
                         [Server(f"host.{b}", address=host)], parent=parent,
                         parent_glue={f"host.{b}": bogus})
    scope.serve(bogus, fh.Zone(sub.apex, [f"www.{sub.apex} 300 IN A {fh.FORGED_A}"]),
                Server(f"host.{b}", address=bogus))
    r, _ = ask(client, step, scope, f"www.sub.{a}")
    hints = [f"{a}'s servers may give addresses for names inside {a} only: host.{b} is not, so "
             f"resolve it (from the root, through {b}'s servers)"]
    used = bool(scope.queries(server=bogus))
    expect_resolved(r, scope, g.NOERROR, [f"www.sub.{a} 300 IN A 192.0.2.76"], hints=hints,
                    cause=CAUSE_OOB_GLUE if used else None)
    if used:
        g.fail(f"the resolver asked {bogus}, the address {a}'s server gave for host.{b}",
               details=scope.lines(), sent=r.sent, hints=hints, cause=CAUSE_OOB_GLUE)
    expect_asked(scope, f"host.{b}", {f"the server of {b}": {nb.address}}, r.sent, hints)


@pytest.mark.stage(7)
def test_out_of_bailiwick_answer_records_are_ignored(client, step, scope):
    """www.a is a CNAME for www.b; a's server adds an A record for www.b (203.0.113.66), which is
    not its to give: the resolver ignores it and asks b's server."""
    a, b = scope.zone("poison"), scope.zone("victim")
    scope.add_zone(a, [f"www.{a} 300 IN CNAME www.{b}"],
                   [Server(f"ns.{a}", extra_answer=[f"www.{b} 300 IN A {fh.FORGED_A}"])])
    nb = Server(f"ns.{b}")
    scope.add_zone(b, [f"www.{b} 300 IN A 192.0.2.77"], [nb])
    r, _ = ask(client, step, scope, f"www.{a}")
    used = fh.FORGED_A in " ".join(record_texts(r.msg.answer))
    hints = [f"a server of {a} speaks for names inside {a} only: its record for www.{b} is "
             f"ignored, and www.{b} resolved from the root"]
    expect_resolved(r, scope, g.NOERROR, [f"www.{a} 300 IN CNAME www.{b}",
                                          f"www.{b} 300 IN A 192.0.2.77"],
                    hints=hints, cause=CAUSE_OOB_ANSWER if used else None)
    expect_asked(scope, f"www.{b}", {f"the server of {b}": {nb.address}}, r.sent, hints,
                 cause=CAUSE_OOB_ANSWER)


# --------------------------------------------------------------------------------------------------
# What goes to the name servers


@pytest.mark.stage(7)
def test_queries_to_name_servers_have_rd_0(client, step, scope):
    """Every query the resolver sends has RD=0 (it asks for no recursion: the servers are
    authoritative), QR=0 and one question."""
    z = scope.zone("rd")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.78"], [Server(f"ns.{z}")])
    r, _ = ask(client, step, scope, f"www.{z}")
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.78"])
    bad = [s for s in scope.queries() if s.rd or s.qr or s.message is None
           or len(s.message.question) != 1]
    if bad:
        rd = any(s.rd for s in bad)
        g.fail(f"{len(bad)} of {len(scope.queries())} queries to the name servers are not "
               "iterative queries", details=[f"got: {s.describe()}" for s in bad[:5]],
               sent=r.sent, cause=CAUSE_RD_UPSTREAM if rd else None,
               hints=["an iterative resolver sends flags 0x0000: QR=0, OPCODE 0, RD=0 (RFC 1034 "
                      "5.3.3), and one question"])


@pytest.mark.stage(7)
def test_query_ids_and_ports_are_random(server, new_client, step, scope):
    """30 names resolved at once: the queries the fake servers receive have random IDs (no run of
    near neighbours, at most 2 repeats) from many source ports, none the port the server listens
    on."""
    z = scope.zone("random")
    names = [f"h{i}.{z}" for i in range(30)]
    scope.add_zone(z, [f"{n} 300 IN A 198.18.0.{i + 1}" for i, n in enumerate(names)],
                   [Server(f"ns.{z}")])
    client = new_client(server, timeout=3.0)
    sent = {}
    for n in names:
        q, _, _ = make_query(n)
        sent[q[:2]] = (q, n)
        client.send(q)
    got = collect(client, sent, 3.0)
    if len(got) < len(sent):
        g.fail(f"{len(sent) - len(got)} of {len(sent)} queries sent at once got no reply within "
               f"{3 * S:g} s", details=scope.lines())
    order = sorted(scope.queries(), key=lambda s: s.at)
    up_ids = [s.id for s in order]
    shown = ["IDs in order of arrival: " + " ".join(f"{i:04x}" for i in up_ids[:24])
             + (" ..." if len(up_ids) > 24 else "")]
    near = sum(1 for a, b in zip(up_ids, up_ids[1:]) if min((a - b) & 0xFFFF, (b - a) & 0xFFFF) < 256)
    if near >= max(5, len(up_ids) // 10):
        g.fail(f"query IDs follow each other: {near} of {len(up_ids) - 1} differ from the one "
               "before by less than 256", details=shown, cause=CAUSE_PREDICTABLE_IDS,
               hints=["draw each ID at random (getrandom(), /dev/urandom): a guessable ID lets an "
                      "attacker forge a name server's reply (RFC 5452)"])
    repeats = len(up_ids) - len(set(up_ids))
    if repeats > 2:
        g.fail(f"{repeats} query IDs of {len(up_ids)} repeat an earlier one", details=shown,
               cause=CAUSE_REPEATED_IDS, hints=["draw each ID at random, from the full 16 bits"])
    ports = [s.port for s in order if s.transport == "udp"]
    if server.port in ports or len(set(ports)) <= len(ports) // 2:
        g.fail(f"{len(ports)} queries left from {len(set(ports))} source port(s)"
               + (f", the server's own port {server.port} among them" if server.port in ports
                  else ""),
               details=["ports: " + " ".join(map(str, ports[:20]))], cause=CAUSE_ONE_PORT,
               hints=["send each query from a new socket bound to port 0: the kernel picks a "
                      "random port, 16 more bits an attacker must guess (RFC 5452)"])


def collect(client, sent, wait, start=None):
    """Replies to the queries of `sent` ({ID bytes: ...}) until all are in or `wait` s pass:
    {ID bytes: (reply, seconds after `start`)}."""
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
# Bounds


@pytest.mark.stage(7)
@pytest.mark.parametrize("case", ["ns-names-need-each-other", "endless-referrals"])
def test_delegation_loop_ends_in_servfail(client, step, scope, case):
    """Two zones whose name servers are named in each other, without glue (each NS name needs the
    other zone's servers first), or a server that refers every name one label further down, to
    itself (40 labels: more than 30 referrals): SERVFAIL within --deadline (5 s), and at most 100
    queries reach the fake servers."""
    a, b = scope.zone("cycle"), scope.zone("elcyc")
    if case == "ns-names-need-each-other":
        scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.80"], [Server(f"ns.{b}", glue=False)])
        scope.add_zone(b, ["www.{z} 300 IN A 192.0.2.81"], [Server(f"ns.{a}", glue=False)])
        name = f"www.{a}"
    else:
        scope.add_zone(a, [], [Server(f"ns.{a}", behaviour="deep")])
        name = ".".join(f"d{i}" for i in range(40, 0, -1)) + "." + a
    r, took = ask(client, step, scope, name, timeout=6.0, cause=CAUSE_UNBOUNDED)
    expect_resolved_rcode(r, scope, g.SERVFAIL, hints=[
        "a name server's name that needs itself (through the other zone) cannot be resolved; a "
        "walk of more than 30 referrals is a loop: SERVFAIL"])
    expect_bounded(scope, r.sent)


# --------------------------------------------------------------------------------------------------
# Many at once


@pytest.mark.stage(7)
def test_slow_zone_delays_no_other_name(server_with_args, new_client, step, scope, fake_hierarchy):
    """A zone's server takes 600 ms to answer (within --ns-timeout 800): meanwhile another name is
    resolved at once (under 300 ms); then the slow answer comes too."""
    srv = server_with_args(*BUSY_ARGS)
    slow_z, fast_z = scope.zone("slow"), scope.zone("fast")
    slow_ns = Server(f"ns.{slow_z}", delay_ms=600)
    scope.add_zone(slow_z, ["www.{z} 300 IN A 192.0.2.90"], [slow_ns])
    scope.add_zone(fast_z, ["www.{z} 300 IN A 192.0.2.91"], [Server(f"ns.{fast_z}")])
    waiting, other = new_client(srv, timeout=3.0), new_client(srv)
    q_slow, qb_slow, what_slow = make_query(f"www.{slow_z}")
    waiting.send(q_slow)
    fake_hierarchy.wait_queries(lambda s: s.server == slow_ns.address, 1, 2.0 * S)
    r, took = ask(other, step, scope, f"www.{fast_z}", timeout=1.5)
    limit = 0.3 * S
    if took > limit:
        g.fail(f"www.{fast_z} A was answered {took * 1000:.0f} ms after the query, while another "
               "resolution waited for a slow server",
               expected=f"a reply within {limit * 1000:.0f} ms", got=f"{took * 1000:.0f} ms",
               sent=r.sent, details=scope.lines(), cause=CAUSE_BLOCKING,
               hints=["never wait for one name server's reply: keep each resolution's state in a "
                      "table and go back to the loop (poll() on the listening socket and every "
                      "query's socket)"])
    expect_resolved(r, scope, g.NOERROR, [f"www.{fast_z} 300 IN A 192.0.2.91"])
    raw, _ = waiting.receive(3.0, lambda d: d[:2] == q_slow[:2])
    if raw is None:
        fail_no_reply(waiting, q_slow, scope, what_slow, 3.0, hints=[
            "a reply 600 ms late is within --ns-timeout (800 ms): use it"])
    expect_resolved(Reply(q_slow, qb_slow, raw, what_slow, step), scope, g.NOERROR,
                    [f"www.{slow_z} 300 IN A 192.0.2.90"])


@pytest.mark.stage(7)
def test_fifty_names_at_once(server_with_args, new_client, step, scope):
    """50 names of one zone, sent at once: each client query gets its own name's address."""
    client = new_client(server_with_args(*BUSY_ARGS), timeout=3.0)
    z = scope.zone("fifty")
    names = [f"n{i}.{z}" for i in range(50)]
    scope.add_zone(z, [f"{n} 300 IN A 198.18.1.{i + 1}" for i, n in enumerate(names)],
                   [Server(f"ns1.{z}"), Server(f"ns2.{z}")])
    sent = {}
    for i, n in enumerate(names):
        q, qb, what = make_query(n, id_=0x7800 + i)
        sent[q[:2]] = (q, qb, what, f"{n} 300 IN A 198.18.1.{i + 1}")
        client.send(q)
    got = collect(client, sent, 4.0)
    missing = [sent[k][2] for k in sent if k not in got]
    if missing:
        g.fail(f"{len(missing)} of 50 queries sent at once got no reply within {4 * S:g} s",
               details=[f"e.g. {', '.join(missing[:3])}", *scope.lines()],
               hints=["every query is resolved, however many are in flight at once"])
    for k, (raw, _) in got.items():
        q, qb, what, line = sent[k]
        expect_resolved(Reply(q, qb, raw, what, step), scope, g.NOERROR, [line],
                        hints=["each reply goes to the client whose question it answers"])


# --------------------------------------------------------------------------------------------------
# The client's query


@pytest.mark.stage(7)
def test_several_questions_are_resolved_and_merged(client, step, scope):
    """Two questions: www.a A (an answer) and nosuch.b A (NXDOMAIN): resolved each, merged in
    question order, the RCODE the first that is not NOERROR (NXDOMAIN), b's SOA in authority."""
    a, b = scope.zone("first"), scope.zone("second")
    scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.95"], [Server(f"ns.{a}")])
    zb = scope.add_zone(b, ["www.{z} 300 IN A 192.0.2.96"], [Server(f"ns.{b}")])
    sent = g.header(next(ids) & 0xFFFF, g.RD, 2) + g.question(f"www.{a}") + \
        g.question(f"nosuch.{b}")
    what = f"www.{a} A + nosuch.{b} A"
    client.drain()
    client.send(sent)
    raw, _ = client.receive(3.0, lambda d: d[:2] == sent[:2])
    if raw is None:
        fail_no_reply(client, sent, scope, f"a query of two questions ({what})", 3.0)
    if not answers_several_questions(raw, sent, what, step):
        return
    g.expect_header(raw, sent, what=f"the reply to {what}", step=step, qr=1, rd=1, ra=1, aa=0,
                    rcode=g.NXDOMAIN, qdcount=2,
                    extra_hints=["the RCODE of a query of several questions is the first RCODE "
                                 "other than NOERROR among the questions' answers, in order"])
    expect_questions_echoed(raw, sent, what)
    view = Reply.__new__(Reply)
    view.sent, view.q, view.raw, view.what, view.step = sent, b"", raw, what, step
    view.msg = parse_reply(raw, sent, what)
    hint = ["resolve each question by itself, then merge: the first's records, then the second's, "
            "in each section"]
    expect_records(view, "answer", [f"www.{a} 300 IN A 192.0.2.95"], scope, hints=hint)
    expect_records(view, "authority", [soa_line(zb)], scope, hints=hint)


@pytest.mark.stage(7)
def test_rd_0_is_refused(client, step, scope):
    """RD=0: the client asks for no recursion, and there is no local data: REFUSED, RA=1, AA=0, no
    records; no name server hears of the name."""
    z = scope.zone("norec")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.97", "other.{z} 300 IN A 192.0.2.98"],
                   [Server(f"ns.{z}")])
    r, _ = ask(client, step, scope, f"www.{z}", rd=0)
    # Another name, asked after it and resolved: had the first been resolved, its walk would have
    # begun by the time this one's has ended.
    ask(client, step, scope, f"other.{z}", rd=1)
    walked = scope.queries(name=f"www.{z}")
    hints = ["RD=0 asks for no recursion: answer from local data (--zone) or REFUSED, as at "
             "stage 5, with RA=1"]
    if walked:
        g.fail(f"the name servers received {len(walked)} queries for www.{z}, asked with RD=0",
               details=scope.lines(name=f"www.{z}"), sent=r.sent, hints=hints,
               cause=CAUSE_RD0_RESOLVED)
    expect_resolved(r, scope, g.REFUSED, [], [], hints=hints)


# --------------------------------------------------------------------------------------------------
# The command line


BAD_OPTIONS = [
    pytest.param(["--ns-port", "{ns_port}"], "root-hints", id="no-root-hints"),
    pytest.param(["--root-hints", "/nonexistent/root.hints", "--ns-port", "{ns_port}"],
                 "root-hints", id="root-hints-missing-file"),
    pytest.param(["--root-hints", "{empty_hints}", "--ns-port", "{ns_port}"], "root-hints",
                 id="root-hints-without-addresses"),
    pytest.param(["{hints}", "--ns-port", "0"], "ns-port", id="ns-port-0"),
    pytest.param(["{hints}", "--ns-port", "abc"], "ns-port", id="ns-port-abc"),
    pytest.param(["{hints}", "--ns-port", "65536"], "ns-port", id="ns-port-too-big"),
    pytest.param(["{hints}", "--ns-timeout", "0"], "ns-timeout", id="ns-timeout-0"),
    pytest.param(["{hints}", "--ns-timeout", "x"], "ns-timeout", id="ns-timeout-x"),
    pytest.param(["{hints}", "--deadline", "0"], "deadline", id="deadline-0"),
    pytest.param(["{hints}", "--deadline", "-1"], "deadline", id="deadline-negative"),
]

EMPTY_HINTS = ("; a hints file whose root servers have no address\n"
               ".                        3600000      NS    A.ROOT-SERVERS.TEST.\n")


def bad_option_argv(prefix, args, hier, tmp_path):
    """`prefix` (the program and --port P) then `args` with {hints}, {ns_port} and {empty_hints}
    filled in."""
    empty = tmp_path / "empty.hints"
    empty.write_text(EMPTY_HINTS)
    words = []
    for a in args:
        if a == "{hints}":
            words += ["--root-hints", str(hier.hints_path), "--ns-port", str(hier.port)]
        else:
            words.append(a.replace("{ns_port}", str(hier.port))
                         .replace("{empty_hints}", str(empty)))
    return [*prefix, *words]


def check_bad_option(argv, option, label):
    """Runs `argv`: it must exit with status 2 at once, with a message naming --`option` on
    stderr."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=3 * S,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 2 or option not in r.stderr:
        got = ("still running after 3 s" if r is None else
               f"{g.exit_text(r.returncode)}; stderr: {r.stderr.strip()[:300]!r}")
        g.fail(f"{label} {' '.join(argv[3:])}",
               expected=f"exit status 2 and a message naming --{option} on stderr", got=got,
               details=[f"command: {' '.join(argv)}"],
               hints=["check every option before serving: --root-hints is required, a file that "
                      "exists and names at least one root server with an IPv4 address; "
                      "--ns-port is 1 to 65535; --ns-timeout and --deadline are whole numbers of "
                      "at least 1"])


@pytest.mark.stage(7)
@pytest.mark.build_only
@pytest.mark.parametrize("args,option", BAD_OPTIONS)
def test_bad_resolver_option_exits_2(dns_settings, step, fake_hierarchy, tmp_path, args, option):
    """A missing --root-hints, a hints file that does not exist or names no root server address, or
    a bad --ns-port, --ns-timeout or --deadline: a message naming the option, exit status 2."""
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.fail(g.missing_binary(binary), pytrace=False)
    argv = bad_option_argv([str(binary), "--port", str(g.free_udp_port())], args, fake_hierarchy,
                           tmp_path)
    check_bad_option(argv, option, f"step-{step}")


@pytest.mark.stage(7)
@pytest.mark.build_only
def test_local_zone_is_answered_first(spawn, step, scope):
    """With --zone, the names of that zone are answered from it (AA=1, nothing asked of the name
    servers), with RD=1 and with RD=0; a name outside it with RD=0 gets REFUSED, unasked."""
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    from pathlib import Path
    zone = Path(__file__).resolve().parents[2] / "zones" / "2.0.192.in-addr.arpa.zone"
    srv = spawn("--zone", str(zone))
    before = len(scope.queries())
    for rd in (True, False):
        q = dns.message.make_query("1.2.0.192.in-addr.arpa.", "PTR", use_edns=False)
        if not rd:
            q.flags &= ~dns.flags.RD
        r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2.0)
        got = (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AA),
               [str(rr) for rrset in r.answer for rr in rrset])
        if got != ("NOERROR", True, ["example.com."]):
            g.fail(f"1.2.0.192.in-addr.arpa. PTR (RD={int(rd)}) from the --zone given",
                   expected="NOERROR, AA=1, the PTR record example.com. from the zone file",
                   got=f"{got[0]}, AA={int(got[1])}, answer {got[2]}",
                   hints=["names inside a --zone are answered from it first, as step 5 answers "
                          "them, before any resolution"])
    q = dns.message.make_query(f"www.{scope.zone('rd0')}", "A", use_edns=False)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2.0)
    if r.rcode() != dns.rcode.REFUSED:
        g.fail("a name outside the local zone, asked with RD=0",
               expected="REFUSED (RD=0: only what the server holds itself)",
               got=dns.rcode.to_text(r.rcode()))
    if len(scope.queries()) != before:
        g.fail("the name servers were asked while the answers were local or refused",
               expected="no query", got=f"{len(scope.queries()) - before} queries",
               details=scope.lines())
