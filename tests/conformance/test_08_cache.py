"""Stage 8, cache: the iterative resolver of stage 7 keeps what it learns. It takes step 7's options
(--root-hints, --ns-port, --ns-timeout, --deadline, --zone) and --cache-size N (the most RRsets it
keeps, 100000 by default; a bad value: exit status 2), and:

  - keeps the RRsets of answers, and from referrals the NS RRset and the glue inside the referring
    zone, keyed by owner (without letter case), type and class, each with an absolute expiry;
    answers from the cache carry the remaining TTL (counting down, never below 0);
  - keeps negative answers (RFC 2308): NXDOMAIN per name, NODATA per name and type, for
    min(SOA TTL, SOA MINIMUM); answers from there carry the SOA with its remaining TTL;
  - starts each resolution at the deepest cached delegation (after www.X, mail.X is asked of X's
    servers only), and assembles a CNAME chain from cached links when all are fresh;
  - trusts by rank (RFC 2181 5.4.1): an authoritative answer is never replaced by glue or
    additional data; records outside the bailiwick of the server that sent them are never kept;
  - is bounded: at most --cache-size RRsets, the least recently used evicted first, expired
    entries dropped;
  - answers a cache hit with no query to any name server; a query with RD=0 from the cache alone
    (RA=1, AA=0), and REFUSED when the cache cannot answer it.

The tests use stage 7's fake hierarchy (fake_hierarchy.py), whose servers count every query they
receive: a cache hit is a question that reaches none of them. The pooled server's cache lasts the
whole session, so each test uses names of its own (its scope's zones). The eviction test has a
server of its own, with --cache-size 2, and names the fake root answers itself (one RRset per
resolution, no referral to keep); the bound test another, with --cache-size 50, and 2,000 names of
one zone, asked 50 at a time (about a second). The waits (TTLs running out) are few and short:
one test waits for positive records (1.1 s, then 1 s more), one for negative ones (2.1 s), each
checking several records at once."""

import subprocess
import time

import pytest

import dnsgrader as g
import fake_hierarchy as fh
import test_07_recursion as t7
from fake_hierarchy import Server
from test_04_answer import record_texts
from test_07_recursion import Reply, ask, expect_resolved, soa_line

S = g.TIMEOUT_SCALE
scope = t7.scope  # the fixture: this test's part of the fake tree

CAUSE_NOT_CACHED = "answers are not cached: the same question is resolved again"
CAUSE_CASE = "the cache's keys are case-sensitive: the same name in other letter case is a miss"
CAUSE_TTL_NOT_DECREMENTED = "answers from the cache carry the TTL as it came: it does not count down"
CAUSE_EXPIRED_USED = "an expired record is answered from the cache"
CAUSE_NO_NEGATIVE_CACHE = "negative answers (NXDOMAIN, NODATA) are not cached (RFC 2308)"
CAUSE_NEGATIVE_TOO_LONG = "a negative answer is kept longer than min(SOA TTL, SOA MINIMUM)"
CAUSE_NEGATIVE_TTL = ("answers from the negative cache carry an SOA TTL above what is left of "
                      "min(SOA TTL, SOA MINIMUM)")
CAUSE_NO_DELEGATION_CACHE = "cached delegations are not used: each resolution starts at the root"
CAUSE_CNAME_NOT_ASSEMBLED = "a CNAME chain is not assembled from cached links"
CAUSE_GLUE_REPLACES_ANSWER = "glue replaces an authoritative answer in the cache (RFC 2181 5.4.1)"
CAUSE_OOB_CACHED = "records outside the bailiwick of the server that sent them are cached"
CAUSE_RD0_NOT_FROM_CACHE = "a query with RD=0 is not answered from the cache"
CAUSE_UNBOUNDED = "the cache is not bounded by --cache-size"
CAUSE_NOT_LRU = "the cache evicts the oldest entry, not the least recently used"

CACHE_HINT = ("keep each RRset of an answer with its expiry (now + TTL), keyed by owner (lower "
              "case), type and class; look there before asking any name server")
NEGATIVE_HINT = ("keep a negative answer (RFC 2308): NXDOMAIN for the name, NODATA for the name "
                 "and type, with the SOA, for min(SOA TTL, SOA MINIMUM)")
TTL_HINT = ("keep the absolute expiry of each record, and answer with what is left of its TTL "
            "(expiry - now, never below 0), counting down by the second")


def ttls(r, section="answer"):
    """The TTLs of a reply's section, in order."""
    msg = r.msg
    return [int(x.split()[1]) for x in record_texts({"answer": msg.answer,
                                                     "authority": msg.authority,
                                                     "additional": msg.additional}[section])]


def new_queries(scope, before, **which):
    """The queries received about the test's names (or about `name`) since `before` of them."""
    return scope.queries(**which)[before:]


def expect_no_query(scope, before, r, summary, hints, cause, **which):
    """No query about the test's names (or `which`) reached a fake server since `before` of them."""
    late = new_queries(scope, before, **which)
    if late:
        g.fail(f"{summary}: the name servers received {len(late)} new quer"
               f"{'y' if len(late) == 1 else 'ies'}",
               details=[f"    {s.describe()}" for s in late[:6]] + scope.lines(), sent=r.sent,
               hints=hints, cause=cause)


def expect_a_query(scope, before, r, summary, hints, cause, **which):
    """Some query about the test's names (or `which`) reached a fake server since `before`."""
    if not new_queries(scope, before, **which):
        g.fail(f"{summary}: no name server was asked", details=scope.lines(), sent=r.sent,
               hints=hints, cause=cause)


def expect_ttls_at_most(r, section, limit, scope, what, hints, cause=None):
    """Every TTL of `section` is between 0 and `limit`."""
    got = ttls(r, section)
    bad = [t for t in got if not 0 <= t <= limit]
    if bad or not got:
        g.fail(f"the reply to {r.what} ({what}): TTLs {got} in the {section} section",
               expected=f"TTLs from 0 to {limit}", got=" ".join(record_texts(
                   {"answer": r.msg.answer, "authority": r.msg.authority}[section])),
               details=scope.lines(), sent=r.sent, hints=hints, cause=cause)


# --------------------------------------------------------------------------------------------------
# Hits


@pytest.mark.stage(8)
def test_second_query_is_answered_from_the_cache(client, step, scope):
    """www.<zone> A twice: the second reaches no name server, has the same records, and TTLs no
    higher than the first's."""
    z = scope.zone("hit")
    lines = ["www.{z} 300 IN A 192.0.2.1", "www.{z} 300 IN A 192.0.2.2"]
    scope.add_zone(z, lines, [Server(f"ns.{z}")])
    want = [x.replace("{z}", z) for x in lines]
    first, _ = ask(client, step, scope, f"www.{z}")
    expect_resolved(first, scope, g.NOERROR, want)
    before = len(scope.queries())
    second, _ = ask(client, step, scope, f"www.{z}")
    expect_no_query(scope, before, second, f"www.{z} A asked a second time", [CACHE_HINT],
                    CAUSE_NOT_CACHED)
    expect_resolved(second, scope, g.NOERROR, want, hints=[
        "an answer from the cache is the one the name server gave, TTLs counted down"])
    if any(b > a for a, b in zip(sorted(ttls(first)), sorted(ttls(second)))):
        g.fail(f"the reply to {second.what} from the cache: a TTL higher than in the first reply",
               expected=f"TTLs of at most {ttls(first)}", got=f"{ttls(second)}",
               sent=second.sent, hints=[TTL_HINT])


@pytest.mark.stage(8)
def test_other_letter_case_is_the_same_name(client, step, scope):
    """www.<zone> A, then WwW.<ZONE> A: the same name, answered from the cache (the question echoed
    as sent)."""
    z = scope.zone("case")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.3"], [Server(f"ns.{z}")])
    ask(client, step, scope, f"www.{z}")
    before = len(scope.queries())
    mixed = "WwW." + z.upper()
    r, _ = ask(client, step, scope, mixed)
    expect_no_query(scope, before, r, f"{mixed} A after www.{z} A", [
        "names are compared without letter case (RFC 4343): key the cache by the lower-case "
        "name"], CAUSE_CASE)
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.3"])


# --------------------------------------------------------------------------------------------------
# Time


@pytest.mark.stage(8)
def test_ttl_counts_down_then_the_record_expires(client, step, scope):
    """Three names cached at once: long A 300, short A 1 (TTL 1 s) and nosuch NXDOMAIN (SOA 300).
    1.1 s later long's TTL and the SOA's are at least 1 lower (never below 0), from the cache;
    2.1 s after the start short is asked of the name server again."""
    z = scope.zone("ttl")
    ns = Server(f"ns.{z}")
    zone = scope.add_zone(z, ["long.{z} 300 IN A 192.0.2.4", "short.{z} 1 IN A 192.0.2.5"], [ns])
    start = time.monotonic()
    long1, _ = ask(client, step, scope, f"long.{z}")
    short1, _ = ask(client, step, scope, f"short.{z}")
    neg1, _ = ask(client, step, scope, f"nosuch.{z}")
    expect_resolved(long1, scope, g.NOERROR, [f"long.{z} 300 IN A 192.0.2.4"])
    expect_resolved(short1, scope, g.NOERROR, [f"short.{z} 1 IN A 192.0.2.5"])
    expect_resolved(neg1, scope, g.NXDOMAIN, [], [soa_line(zone)])
    time.sleep(1.1 * S)
    before = len(scope.queries())
    long2, _ = ask(client, step, scope, f"long.{z}")
    expect_no_query(scope, before, long2, f"long.{z} A (TTL 300) asked again 1.1 s later",
                    [CACHE_HINT], CAUSE_NOT_CACHED)
    neg2, _ = ask(client, step, scope, f"nosuch.{z}")
    expect_no_query(scope, before, neg2, f"nosuch.{z} A (NXDOMAIN, SOA MINIMUM 300) asked again "
                    "1.1 s later", [NEGATIVE_HINT], CAUSE_NO_NEGATIVE_CACHE)
    expect_resolved(long2, scope, g.NOERROR, [f"long.{z} 300 IN A 192.0.2.4"])
    expect_resolved(neg2, scope, g.NXDOMAIN, [], [soa_line(zone)])
    # The SOA of a negative answer from the cache: what is left of min(SOA TTL, MINIMUM 300).
    for r, was, section, cap in ((long2, long1, "answer", 300), (neg2, neg1, "authority", 300)):
        now, then = ttls(r, section), [min(t, cap) for t in ttls(was, section)]
        if not now or not then or min(now) < 0 or max(now) > min(then) - 1:
            g.fail(f"the reply to {r.what}, from the cache 1.1 s after the first: TTLs {now} in "
                   f"the {section} section, the first reply's {then}",
                   expected=f"each at most {min(then) - 1 if then else '?'} (and at least 0)",
                   got=" ".join(record_texts(getattr(r.msg, section))), sent=r.sent,
                   cause=CAUSE_TTL_NOT_DECREMENTED, hints=[TTL_HINT])
    time.sleep(max(0.0, start + 2.1 * S - time.monotonic()))
    before = len(scope.queries(name=f"short.{z}"))
    short2, _ = ask(client, step, scope, f"short.{z}")
    expect_a_query(scope, before, short2, f"short.{z} A (TTL 1) asked again 2.1 s later",
                   ["a record whose TTL has run out is dropped from the cache, and asked again"],
                   CAUSE_EXPIRED_USED, name=f"short.{z}")
    expect_resolved(short2, scope, g.NOERROR, [f"short.{z} 1 IN A 192.0.2.5"])


# --------------------------------------------------------------------------------------------------
# Negative answers


@pytest.mark.stage(8)
@pytest.mark.parametrize("kind", ["nxdomain", "nodata"])
def test_negative_answer_is_cached_with_the_soa(client, step, scope, kind):
    """nosuch.<zone> A (NXDOMAIN) or www.<zone> AAAA (NODATA, www has an A record) twice: the
    second reaches no name server and carries the SOA, its TTL no higher than the first's."""
    z = scope.zone(kind)
    zone = scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.6"], [Server(f"ns.{z}")])
    name, qtype, rcode = ((f"nosuch.{z}", "A", g.NXDOMAIN) if kind == "nxdomain" else
                          (f"www.{z}", "AAAA", g.NOERROR))
    first, _ = ask(client, step, scope, name, qtype)
    expect_resolved(first, scope, rcode, [], [soa_line(zone)])
    before = len(scope.queries())
    second, _ = ask(client, step, scope, name, qtype)
    expect_no_query(scope, before, second, f"{name} {qtype} ({kind.upper()}) asked a second time",
                    [NEGATIVE_HINT], CAUSE_NO_NEGATIVE_CACHE)
    expect_resolved(second, scope, rcode, [], [soa_line(zone)], hints=[
        "an answer from the negative cache carries the SOA, with its remaining TTL"])
    expect_ttls_at_most(second, "authority", max(ttls(first, "authority") or [0]), scope,
                        "from the negative cache", [TTL_HINT])


@pytest.mark.stage(8)
def test_negative_answer_lasts_min_of_soa_ttl_and_minimum(client, step, scope):
    """Three negative answers cached at once, each for 1 s: NXDOMAIN and NODATA from a zone whose
    SOA has TTL 300 and MINIMUM 1, NXDOMAIN from one whose SOA has TTL 1 and MINIMUM 300. Asked
    again at once: from the cache, the SOA's TTL at most 1. Asked 2.1 s later: of the name servers
    again."""
    a, b = scope.zone("minimum"), scope.zone("soattl")
    za = scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.7"], [Server(f"ns.{a}")], soa_ttl=300,
                        minimum=1)
    zb = scope.add_zone(b, ["www.{z} 300 IN A 192.0.2.8"], [Server(f"ns.{b}")], soa_ttl=1,
                        minimum=300)
    cases = [(f"nosuch.{a}", "A", g.NXDOMAIN, za, "SOA TTL 300, MINIMUM 1"),
             (f"www.{a}", "AAAA", g.NOERROR, za, "SOA TTL 300, MINIMUM 1"),
             (f"nosuch.{b}", "A", g.NXDOMAIN, zb, "SOA TTL 1, MINIMUM 300")]
    # Asked twice within one second of the clock: a cache that counts whole seconds (time())
    # keeps a 1-second entry at least until the next second begins.
    frac = time.time() % 1
    if frac > 0.5:
        time.sleep(1.02 - frac)
    start = time.monotonic()
    for name, qtype, rcode, zone, _ in cases:
        r, _ = ask(client, step, scope, name, qtype)
        expect_resolved(r, scope, rcode, [], [soa_line(zone)])
    for name, qtype, rcode, zone, what in cases:
        before = len(scope.queries())
        r, _ = ask(client, step, scope, name, qtype)
        expect_no_query(scope, before, r, f"{name} {qtype} ({what}) asked a second time at once",
                        ["keep a negative answer for min(SOA TTL, SOA MINIMUM) (RFC 2308 5): "
                         "here 1 s"], CAUSE_NO_NEGATIVE_CACHE)
        expect_resolved(r, scope, rcode, [], [soa_line(zone)])
        expect_ttls_at_most(r, "authority", 1, scope, f"from the negative cache, {what}", [
            "a negative answer lives min(SOA TTL, SOA MINIMUM) (RFC 2308 3, 5): the SOA of an "
            "answer from the negative cache carries what is left of that"],
            CAUSE_NEGATIVE_TTL)
    time.sleep(max(0.0, start + 2.1 * S - time.monotonic()))
    for name, qtype, rcode, zone, what in cases:
        before = len(scope.queries(name=name))
        r, _ = ask(client, step, scope, name, qtype)
        expect_a_query(scope, before, r, f"{name} {qtype} ({what}) asked again 2.1 s later", [
            "a negative answer is kept min(SOA TTL, SOA MINIMUM) seconds (RFC 2308 5), here 1: "
            "then it is dropped and the name asked again"], CAUSE_NEGATIVE_TOO_LONG, name=name)
        expect_resolved(r, scope, rcode, [], [soa_line(zone)])


# --------------------------------------------------------------------------------------------------
# Delegations and CNAMEs


@pytest.mark.stage(8)
def test_cached_delegation_is_used(client, step, scope):
    """www.<zone> A, then mail.<zone> A: the second walk starts at the zone's cached delegation; no
    root server and not test.'s server hear of mail.<zone>, the zone's server does."""
    z = scope.zone("deleg")
    ns = Server(f"ns.{z}")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.9", "mail.{z} 300 IN A 192.0.2.10"], [ns])
    ask(client, step, scope, f"www.{z}")
    r, _ = ask(client, step, scope, f"mail.{z}")
    expect_resolved(r, scope, g.NOERROR, [f"mail.{z} 300 IN A 192.0.2.10"])
    above = [s for s in scope.queries(name=f"mail.{z}") if s.server in t7.ROOTS | {t7.TLD}]
    if above:
        g.fail(f"mail.{z} A, after www.{z} A: the root or test.'s server was asked again",
               details=[f"    {s.describe()}" for s in above] + scope.lines(), sent=r.sent,
               cause=CAUSE_NO_DELEGATION_CACHE,
               hints=[f"keep the NS RRset and the glue of each referral: the walk for mail.{z} "
                      f"starts at the deepest cached delegation ({z}), and asks its server"])
    t7.expect_asked(scope, f"mail.{z}", {f"the server of {z}": {ns.address}}, r.sent)


@pytest.mark.stage(8)
def test_cname_chain_from_cached_links(client, step, scope):
    """www.b A, then www.a CNAME (www.a is a CNAME for www.b, another zone): both links are cached,
    each by itself. Then www.a A: the chain is assembled from the cache, with no query: the
    CNAME, then the A record."""
    a, b = scope.zone("alias"), scope.zone("canon")
    scope.add_zone(a, [f"www.{a} 300 IN CNAME www.{b}"], [Server(f"ns.{a}")])
    scope.add_zone(b, [f"www.{b} 300 IN A 192.0.2.11"], [Server(f"ns.{b}")])
    ask(client, step, scope, f"www.{b}")
    c, _ = ask(client, step, scope, f"www.{a}", "CNAME")
    expect_resolved(c, scope, g.NOERROR, [f"www.{a} 300 IN CNAME www.{b}"])
    before = len(scope.queries())
    r, _ = ask(client, step, scope, f"www.{a}")
    expect_no_query(scope, before, r, f"www.{a} A, its CNAME and the target's A record cached",
                    ["when the cache holds a CNAME for the name, follow it in the cache: if every "
                     "link and the final RRset are fresh, answer the chain without asking anyone"],
                    CAUSE_CNAME_NOT_ASSEMBLED)
    expect_resolved(r, scope, g.NOERROR, [f"www.{a} 300 IN CNAME www.{b}",
                                          f"www.{b} 300 IN A 192.0.2.11"])


# --------------------------------------------------------------------------------------------------
# Trust


@pytest.mark.stage(8)
def test_glue_does_not_replace_an_authoritative_answer(client, step, scope, fake_hierarchy):
    """www.a A is answered by a's server (its address W, kept). Then host.b A: test. delegates b to
    www.a with glue saying another address (in test.'s bailiwick, but glue), which serves b too.
    www.a A asked again: still W (RFC 2181 5.4.1: glue ranks below an authoritative answer)."""
    a, b = scope.zone("trusted"), scope.zone("glued")
    real, bogus = scope.address(), scope.address()
    scope.add_zone(a, [f"www.{a} 300 IN A {real}"], [Server(f"ns.{a}")])
    zb = scope.add_zone(b, ["host.{z} 300 IN A 192.0.2.12"], [Server(f"www.{a}", address=real)],
                        parent_glue={f"www.{a}": bogus})
    scope.serve(bogus, zb, Server(f"www.{a}", address=bogus))
    first, _ = ask(client, step, scope, f"www.{a}")
    expect_resolved(first, scope, g.NOERROR, [f"www.{a} 300 IN A {real}"])
    r, _ = ask(client, step, scope, f"host.{b}")
    expect_resolved(r, scope, g.NOERROR, [f"host.{b} 300 IN A 192.0.2.12"])
    again, _ = ask(client, step, scope, f"www.{a}")
    hints = [f"test.'s referral for {b} carries www.{a} A {bogus} as glue: glue may be used to "
             f"reach {b}'s server, never to replace the answer {a}'s own server gave (RFC 2181 "
             "5.4.1: authoritative answer data ranks above glue)"]
    bad = bogus in " ".join(record_texts(again.msg.answer))
    expect_resolved(again, scope, g.NOERROR, [f"www.{a} 300 IN A {real}"], hints=hints,
                    cause=CAUSE_GLUE_REPLACES_ANSWER if bad else None)


@pytest.mark.stage(8)
def test_out_of_bailiwick_records_are_not_cached(client, step, scope):
    """a's server adds www.b A 203.0.113.66 (additional section) and "b NS ns.a" (authority) to
    every reply: names it does not speak for. After www.a A, www.b A is asked of b's server and
    answered with b's address."""
    a, b = scope.zone("gossip"), scope.zone("subject")
    scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.13"],
                   [Server(f"ns.{a}", extra_additional=[f"www.{b} 300 IN A {fh.FORGED_A}"],
                           extra_authority=[f"{b} 300 IN NS ns.{a}"])])
    nb = Server(f"ns.{b}")
    scope.add_zone(b, [f"www.{b} 300 IN A 192.0.2.14"], [nb])
    ask(client, step, scope, f"www.{a}")
    r, _ = ask(client, step, scope, f"www.{b}")
    used = fh.FORGED_A in " ".join(record_texts(r.msg.answer)) or \
        not scope.queries(server=nb.address, name=f"www.{b}")
    hints = [f"a server of {a} speaks for names inside {a} only: its records for {b} are never "
             f"kept, and www.{b} is asked of {b}'s servers"]
    expect_resolved(r, scope, g.NOERROR, [f"www.{b} 300 IN A 192.0.2.14"], hints=hints,
                    cause=CAUSE_OOB_CACHED if used else None)
    t7.expect_asked(scope, f"www.{b}", {f"the server of {b}": {nb.address}}, r.sent, hints,
                    cause=CAUSE_OOB_CACHED)


# --------------------------------------------------------------------------------------------------
# RD=0


@pytest.mark.stage(8)
def test_rd_0_is_answered_from_the_cache(client, step, scope):
    """www.<zone> A (RD=1), then the same with RD=0: answered from the cache (RD=0, RA=1, AA=0),
    with no query. other.<zone> A with RD=0, never asked: REFUSED, and no name server hears of
    it."""
    z = scope.zone("rdzero")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.15", "other.{z} 300 IN A 192.0.2.16"],
                   [Server(f"ns.{z}")])
    ask(client, step, scope, f"www.{z}")
    before = len(scope.queries())
    r, _ = ask(client, step, scope, f"www.{z}", rd=0)
    hints = ["RD=0 asks for no recursion: answer from the cache (and local data) alone, RA=1, "
             "AA=0; REFUSED only when the cache cannot answer"]
    if g.Header.parse(r.raw).rcode == g.REFUSED:
        g.fail(f"the reply to {r.what} with RD=0, a name in the cache: REFUSED",
               expected="NOERROR and the cached record", sent=r.sent, hints=hints,
               cause=CAUSE_RD0_NOT_FROM_CACHE)
    expect_no_query(scope, before, r, f"www.{z} A with RD=0", hints, t7.CAUSE_RD0_RESOLVED)
    expect_resolved(r, scope, g.NOERROR, [f"www.{z} 300 IN A 192.0.2.15"], hints=hints)
    r, _ = ask(client, step, scope, f"other.{z}", rd=0)
    ask(client, step, scope, f"www.{z}")  # a query behind it: had it been resolved, it would be
    walked = scope.queries(name=f"other.{z}")
    if walked:
        g.fail(f"the name servers received {len(walked)} queries for other.{z}, asked with RD=0 "
               "and not in the cache", details=scope.lines(name=f"other.{z}"), sent=r.sent,
               hints=hints, cause=t7.CAUSE_RD0_RESOLVED)
    expect_resolved(r, scope, g.REFUSED, [], [], hints=hints)


# --------------------------------------------------------------------------------------------------
# Bounds


@pytest.mark.stage(8)
def test_cache_size_evicts_the_least_recently_used(server_with_args, new_client, step, scope):
    """With --cache-size 2, names the root answers itself (one RRset each, no referral): r1, r2,
    r1 again (from the cache: r2 is now the least recently used), r3 (r2 evicted), r1 (still
    cached), r2 (asked of the root again)."""
    client = new_client(server_with_args("--cache-size", "2"))
    names = [f"r{i}-{scope.tag}." for i in (1, 2, 3)]
    scope.add_root_records([f"{n} 300 IN A 192.0.2.{20 + i}" for i, n in enumerate(names)])
    r1, r2, r3 = names

    def step_ask(name):
        before = len(scope.queries(name=name))
        r, _ = ask(client, step, scope, name)
        expect_resolved(r, scope, g.NOERROR, [f"{name} 300 IN A 192.0.2.{20 + names.index(name)}"])
        return r, len(scope.queries(name=name)) > before

    size_hint = ("--cache-size N: at most N RRsets; when full, drop the least recently used "
                 "(a hit makes an entry the most recently used)")
    step_ask(r1)
    step_ask(r2)
    again, asked = step_ask(r1)
    if asked:
        g.fail(f"with --cache-size 2: {r1} A, asked again right after {r1} and {r2}, was asked of "
               "the root again", details=scope.lines(), sent=again.sent, cause=CAUSE_NOT_CACHED,
               hints=[size_hint, "the fake root answers these names itself: each resolution "
                      "puts one RRset into the cache"])
    step_ask(r3)
    kept, kept_asked = step_ask(r1)
    evicted, evicted_asked = step_ask(r2)
    if not evicted_asked:
        g.fail(f"with --cache-size 2: {r2} A came from the cache after {r1}, {r3} and {r1} again "
               "were used since", details=scope.lines(), sent=evicted.sent, cause=CAUSE_UNBOUNDED,
               hints=[size_hint])
    if kept_asked:
        g.fail(f"with --cache-size 2: {r1} A, used after {r2}, was evicted when {r3} came in",
               details=scope.lines(), sent=kept.sent, cause=CAUSE_NOT_LRU, hints=[
                   size_hint, "move an entry to the front of the LRU list on every hit, and "
                   "evict from the back"])


BOUNDED_SIZE = 50  # --cache-size of the next test
BOUNDED_NAMES = 2000  # distinct names it asks, 40 times the cache
BOUNDED_WINDOW = 50  # queries in flight at once while it asks them
BOUNDED_CHECKED = 10  # names asked again, at each end


def ask_all(client, scope, names, address_of, window=BOUNDED_WINDOW):
    """Asks every name of `names` (A, RD=1), `window` queries in flight at a time, and checks that
    each gets NOERROR with its one A record, address_of(name). Fails at the first name the server
    leaves unanswered (or answers wrongly) for 2 s, saying how many were answered before."""
    client.drain()
    waiting = {}  # ID -> (name, query)
    todo = iter(enumerate(names))
    answered = 0
    hints = ["a cache that is full evicts an entry to make room: it never stops resolving, and "
             "never grows past --cache-size"]
    # Bounded: each pass takes one reply (or fails), and there are len(names) queries.
    while True:
        while len(waiting) < window:
            i, name = next(todo, (None, None))
            if name is None:
                break
            sent, _, _ = t7.make_query(name, "A", 1, id_=i + 1)
            waiting[i + 1] = (name, sent)
            client.send(sent)
        if not waiting:
            return
        raw, _ = client.receive(2.0, lambda d: len(d) >= 2 and
                                int.from_bytes(d[:2], "big") in waiting)
        if raw is None:
            name, sent = next(iter(waiting.values()))  # the oldest still waiting
            g.fail(f"with --cache-size {BOUNDED_SIZE}: no reply to {name} A within 2 s, after "
                   f"{answered} of {len(names)} names were answered",
                   details=scope.lines(limit=4), sent=sent, hints=hints,
                   cause="the server stops answering when the cache is full")
        name, sent = waiting.pop(int.from_bytes(raw[:2], "big"))
        r = Reply(sent, sent[g.HEADER_SIZE:], raw, f"{name} A", 8)
        expect_resolved(r, scope, g.NOERROR, [f"{name} 300 IN A {address_of(name)}"],
                        hints=hints)
        answered += 1


@pytest.mark.stage(8)
def test_tiny_cache_stays_bounded_over_thousands_of_names(server_with_args, new_client, step,
                                                          scope):
    """With --cache-size 50, 2,000 names of one zone (h0 to h1999, an A record each), asked once
    each, 50 in flight at a time: all answered. Then the last ten again: from the cache, no query.
    Then the first ten: each asked of the zone's server again, long since evicted (a cache that
    ignored --cache-size would still hold them). The server answers throughout."""
    client = new_client(server_with_args("--cache-size", str(BOUNDED_SIZE)))
    z = scope.zone("many")
    ns = Server(f"ns.{z}")
    names = [f"h{i}.{z}" for i in range(BOUNDED_NAMES)]

    def address_of(name):
        i = int(name.split(".")[0][1:])
        return f"198.51.100.{i % 250 + 1}"

    scope.add_zone(z, [f"{n} 300 IN A {address_of(n)}" for n in names], [ns])
    ask_all(client, scope, names, address_of)

    recent = names[-BOUNDED_CHECKED:]
    before = len(scope.queries())
    for name in recent:
        r, _ = ask(client, step, scope, name)
        expect_no_query(scope, before, r, f"with --cache-size {BOUNDED_SIZE}, {name} A asked again "
                        f"right after it and {BOUNDED_CHECKED - 1} others", [CACHE_HINT],
                        CAUSE_NOT_CACHED)
        expect_resolved(r, scope, g.NOERROR, [f"{name} 300 IN A {address_of(name)}"])

    for name in names[:BOUNDED_CHECKED]:
        before = len(scope.queries(name=name))
        r, _ = ask(client, step, scope, name)
        if len(scope.queries(name=name)) == before:
            g.fail(f"with --cache-size {BOUNDED_SIZE}: {name} A, asked again after "
                   f"{BOUNDED_NAMES - 1} other names, came from the cache",
                   expected=f"a query to {z}'s server: at most {BOUNDED_SIZE} RRsets are kept, "
                   f"and {name} was the least recently used long ago",
                   details=scope.lines(limit=4, name=name), sent=r.sent, cause=CAUSE_UNBOUNDED,
                   hints=["--cache-size N: at most N entries; when full, drop the least recently "
                          "used before adding one"])
        expect_resolved(r, scope, g.NOERROR, [f"{name} 300 IN A {address_of(name)}"])
    if client.server_exited():
        g.fail(f"with --cache-size {BOUNDED_SIZE}: the server exited after {BOUNDED_NAMES} "
               "names", cause="the server stops when the cache is full")


BAD_CACHE_SIZES = [pytest.param(v, id=f"cache-size-{i}") for i, v in
                   enumerate(["0", "-1", "abc", "10x", ""])]


@pytest.mark.stage(8)
@pytest.mark.build_only
@pytest.mark.parametrize("value", BAD_CACHE_SIZES)
def test_bad_cache_size_exits_2(dns_settings, step, fake_hierarchy, tmp_path, value):
    """--cache-size 0, -1, abc, 10x or empty: a message naming --cache-size, exit status 2."""
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.fail(g.missing_binary(binary), pytrace=False)
    check_bad_cache_size([str(binary), "--port", str(g.free_udp_port())], value, fake_hierarchy,
                         tmp_path, f"step-{step}")


def check_bad_cache_size(prefix, value, hier, tmp_path, label):
    """`prefix` (the program and --port P), the fake hierarchy's hints and port, then --cache-size
    `value`: exit status 2 at once, with a message naming --cache-size on stderr."""
    argv = t7.bad_option_argv(prefix, ["{hints}", "--cache-size", value], hier, tmp_path)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=3 * S,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 2 or "cache-size" not in r.stderr:
        got = ("still running after 3 s" if r is None else
               f"{g.exit_text(r.returncode)}; stderr: {r.stderr.strip()[:300]!r}")
        g.fail(f"{label} --cache-size {value!r}",
               expected="exit status 2 and a message naming --cache-size on stderr", got=got,
               details=[f"command: {' '.join(argv)}"],
               hints=["check --cache-size before serving: a whole number of at least 1 (the most "
                      "RRsets the cache keeps), nothing after the digits"])
