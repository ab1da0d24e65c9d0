"""Attacks on the resolvers (stages 7 to 9): an off-path spoofer, and a chaos hierarchy of hostile
name servers. docs/hardening.md explains each attack, what the server must do, and the figures.

Spoofing. A zone's only server answers 1 s late (SPOOF_DELAY_MS). While the resolution waits for
it, the test sends forged replies that say www.<zone> is 203.0.113.66 (fake_hierarchy.FORGED_A),
with a delegation of the zone to a forger (127.0.1.60) for a cache to keep, every one from the
server's own address and port (fake_hierarchy.send_from: the fake server's socket itself, so the
source is exactly the one the resolver asked):

  - random-ports: SPOOF_COUNT replies with random IDs to random ports of 127.0.0.1 (the ports of
    the ephemeral range no other process holds: nothing else on this host is hit);
  - aimed: SPOOF_COUNT replies to the port the query came from (read from the fake server's
    record of the query), with every ID but the right one, drawn at random: the attacker has
    seen the port, and must still guess the ID;
  - singles: one reply each with the right ID and port but another question (name, or type),
    from another address, from another port of the server's address, with QR=0.

None may be taken: the client gets the true records, and from stage 8 on the same question asked
again is answered from the cache with the true records, and another name of the zone is asked of
the true server, never of the forger. For the workbook's build only, the test reads the server's
counter "forged replies ignored" (SIGUSR1) to show that the flood reached it.

Chaos. A zone's servers reply garbage, messages cut short in a record, compression pointer loops,
referrals to the zone itself, referrals to the root (from a TLD), NS sets of hundreds of names
(glueless, leading nowhere, pointing at each other, or silent), 0-TTL records, CNAME chains of 100
links, replies with QR=0 or another question, answers full of unrelated records. The resolver runs
with --ns-timeout 200 --deadline 2000 (CHAOS_ARGS); for each case the client's query ends within
the deadline with SERVFAIL or the right answer (never 203.0.113.66), at most 100 queries reach the
fake servers (RESOLVE_QUERIES_MAX), and the server still answers a good query after it. For the
build only, every case is asked again and again, all at once, CHAOS_ROUNDS times (--ns-timeout 600
--deadline 3000: the fake servers are slower when busy), from stage 8 on with a cache of 100
entries (full after one round): the server's resident memory (VmRSS) must stay flat after the
first round.

The long versions (`make chaos`, tests/chaos/chaos.mk) set DNS_SPOOF_COUNT=50000 and
DNS_CHAOS_ROUNDS; DNS_ATTACK_REPORT=FILE makes each test append its figures to FILE (JSON lines)."""

import itertools
import json
import os
import random
import re
import signal
import socket
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import dnsgrader as g
import fake_hierarchy as fh
import test_07_recursion as t7
from fake_hierarchy import Server
from test_04_answer import Reply, record_texts

S = g.TIMEOUT_SCALE
scope = t7.scope  # the fixture: this test's part of the fake tree


def _env_int(name, default, low, high):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"{name}={text!r}: expected a whole number") from None
    if not low <= value <= high:
        raise pytest.UsageError(f"{name}={value}: expected {low} to {high}")
    return value


SPOOF_COUNT = _env_int("DNS_SPOOF_COUNT", 5000, 1, 65535)  # forged replies per flood
CHAOS_ROUNDS = _env_int("DNS_CHAOS_ROUNDS", 3, 2, 1000)  # rounds of the memory test
# The slow server's delay: the flood must be over before its reply leaves (Python sends some
# 60,000 datagrams a second here; 50,000 take about 1 s).
SPOOF_DELAY_MS = _env_int("DNS_SPOOF_DELAY_MS", 1000 if SPOOF_COUNT <= 10000 else 3000, 100, 20000)
SPOOF_ARGS = ("--ns-timeout", str(SPOOF_DELAY_MS + 2000), "--deadline",
              str(2 * SPOOF_DELAY_MS + 6000))
NS_TIMEOUT_MS, DEADLINE_MS = 200, 2000
CHAOS_ARGS = ("--ns-timeout", str(NS_TIMEOUT_MS), "--deadline", str(DEADLINE_MS))
# The rounds send every case at once, and the fake servers are one Python thread that takes some
# 20 ms to build each big reply (a referral to 200 or 300 names, 200 unrelated records): a reply
# may wait ~0.3 s behind the others, so the rounds' server waits longer for each name server.
ROUND_NS_TIMEOUT_MS, ROUND_DEADLINE_MS = 600, 3000
ROUND_ARGS = ("--ns-timeout", str(ROUND_NS_TIMEOUT_MS), "--deadline", str(ROUND_DEADLINE_MS))
QUERIES_MAX = 100  # per client question (the workbook's RESOLVE_QUERIES_MAX)
LATE_MS = 500  # a reply may come this long after --deadline (scheduling, the reply's own trip)
# Growth of VmRSS allowed between the end of the first round and the end of the last: the
# allocator's arenas settle in the first round; a leak of a few bytes per upstream query shows
# over many rounds (make chaos), and make memcheck finds the smaller ones.
RSS_SLACK_KIB = 512
CACHE_SIZE = 100  # --cache-size of the memory test's server (stage 8 on): full after one round

CAUSE_FORGED = "a forged reply (wrong ID, address, port or question) is accepted"
CAUSE_POISONED = "a forged reply is cached: a later question uses its data"
CAUSE_UNBOUNDED = "a resolution is not bounded (referrals, queries, deadline)"
CAUSE_CHAOS_USED = "a malformed or mismatched reply of a name server is used"
CAUSE_DIED = g.CAUSE_DIED
CAUSE_MEMORY = "memory grows with every round of hostile replies (a leak)"

ids = (0x5100 + i & 0xFFFF for i in itertools.count())


def report(test, **figures):
    """Appends the test's figures to $DNS_ATTACK_REPORT (one JSON object per line), if set."""
    path = os.environ.get("DNS_ATTACK_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": test, **figures}) + "\n")


def build_pid(srv, dns_settings):
    """The pid of the server process when it is the workbook's build (not --server-cmd), else
    None: the counters and /proc figures are the build's, never a grade."""
    if dns_settings.server_cmd is not None or srv.proc is None or not srv.alive():
        return None
    return srv.proc.pid


def forged_counter(srv, pid):
    """The build's counter "forged replies ignored", read from the log line SIGUSR1 makes (None
    if it does not come within 2 s)."""
    if pid is None:
        return None
    offset = srv.log_size()
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + 2.0 * S
    while time.monotonic() < end:
        with open(srv.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        m = re.search(r"SIGUSR1: .*forged replies ignored (\d+)\)", text)
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    return None


def cache_entries(srv, pid):
    """The build's counter "cache entries" (stage 8 on), from the log line SIGUSR1 makes, or
    None."""
    if pid is None:
        return None
    offset = srv.log_size()
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + 2.0 * S
    while time.monotonic() < end:
        with open(srv.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        if re.search(r"SIGUSR1: .*\n", text):
            m = re.search(r"SIGUSR1: .*cache entries (\d+)", text)
            return int(m.group(1)) if m else None
        time.sleep(0.02)
    return None


def vm_rss_kib(pid):
    """VmRSS of the process, in KiB (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def expect_alive(srv, what):
    if not srv.alive():
        g.fail(f"the server died during {what} ({srv.exit_text()})",
               details=["the end of its log:", *srv.log_tail(15).split("\n")], cause=CAUSE_DIED)


# --------------------------------------------------------------------------------------------------
# Spoofing


def ports_in_use_by_others(server_pid):
    """The UDP ports on 127.0.0.1 (or any address) held by sockets other than the server's
    (Linux: /proc/net/udp, udp6 and /proc/PID/fd), or None where /proc does not tell."""
    mine = set()
    if server_pid is not None:
        try:
            for fd in os.listdir(f"/proc/{server_pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{server_pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    mine.add(link[8:-1])
        except OSError:
            pass
    taken = set()
    for table, local in (("/proc/net/udp", ("0100007F", "00000000")),
                         ("/proc/net/udp6", ("0" * 32, "0000000000000000FFFF00000100007F"))):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            if table.endswith("udp"):
                return None
            continue
        for row in rows:
            fields = row.split()
            address, port = fields[1].split(":")
            if address in local and fields[9] not in mine:
                taken.add(int(port, 16))
    return taken


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def spoof_zone(scope):
    """A zone whose only server answers SPOOF_DELAY_MS late: (zone, server, www's lines, mail's)."""
    z = scope.zone("spoof")
    slow = Server(f"ns.{z}", delay_ms=SPOOF_DELAY_MS)
    www = [f"www.{z} 300 IN A 192.0.2.140", f"www.{z} 300 IN A 192.0.2.141"]
    mail = [f"mail.{z} 300 IN A 192.0.2.142"]
    scope.add_zone(z, www + mail, [slow])
    return z, slow, www, mail


def forged_reply(query, z, marker=fh.FORGED_A, qname=None, qtype=None, qr=True):
    """A reply to the resolver's query `query` (dnspython, as the fake server received it): AA=1,
    the answer "<qname> A marker", and a delegation of the zone to ns.forged.<z> at the forger's
    address (loopback: a resolver that believes it still sends nothing off this host)."""
    r = dns.message.make_response(query)
    asked = query.question[0]
    if qname is not None or qtype is not None:
        r.question = [dns.rrset.RRset(dns.name.from_text(qname) if qname else asked.name,
                                      asked.rdclass, qtype if qtype is not None else asked.rdtype)]
    r.flags |= dns.flags.AA
    if not qr:
        r.flags &= ~dns.flags.QR
    r.answer = fh.rrsets([f"{asked.name} 300 IN A {marker}"])
    r.authority = fh.rrsets([f"{z} 300 IN NS ns.forged.{z}"])
    r.additional = fh.rrsets([f"ns.forged.{z} 300 IN A {fh.FORGER_ADDRESS}"])
    return r.to_wire()


def with_id(wire, id_):
    return id_.to_bytes(2, "big") + wire[2:]


def wait_for_query(fake_hierarchy, scope, server, name, sent):
    found = fake_hierarchy.wait_queries(
        lambda s: s.server == server.address and s.transport == "udp" and s.message is not None
        and fh.norm(s.qname) == fh.norm(name), 1, 3.0 * S)
    if not found:
        g.fail(f"the resolver did not ask {server.address} about {name} within {3 * S:g} s",
               details=scope.lines(), sent=sent, hints=[t7.WALK_HINT])
    return found[0]


def receive_reply(client, sent, qb, what, step, scope, wait):
    raw, _ = client.receive(wait, lambda d: d[:2] == sent[:2])
    if raw is None:
        t7.fail_no_reply(client, sent, scope, what, wait)
    g.expect_answered(raw, sent)
    return Reply(sent, qb, raw, what, step)


def expect_true_records(r, scope, lines, markers, hints):
    got = " ".join(record_texts(r.msg.answer + r.msg.authority + r.msg.additional))
    taken = [m for m in markers if m in got]
    t7.expect_resolved(r, scope, g.NOERROR, lines, hints=hints,
                       cause=CAUSE_FORGED if taken else None)


def expect_not_poisoned(client, step, scope, slow, z, www, mail, before):
    """Stage 8 on: www again comes from the cache (the true records, no query), and mail.<z> is
    asked of the true server, never of the forger's address."""
    if step < 8:
        return
    r, _ = t7.ask(client, step, scope, f"www.{z}", timeout=(SPOOF_DELAY_MS / 1000 + 3))
    expect_true_records(r, scope, www, [fh.FORGED_A], hints=[
        "what the cache holds for www is what the true server said"])
    again = [s for s in scope.queries(server=slow.address, name=f"www.{z}")][before:]
    if again:
        g.fail(f"www.{z} A, asked again at once, was resolved again ({len(again)} queries)",
               details=scope.lines(), sent=r.sent, cause=CAUSE_POISONED,
               hints=["the true answer is cached like any other (stage 8)"])
    r, _ = t7.ask(client, step, scope, f"mail.{z}", timeout=(SPOOF_DELAY_MS / 1000 + 3))
    hints = [f"the forged replies delegated {z} to ns.forged.{z} ({fh.FORGER_ADDRESS}): nothing "
             "of a reply that was not taken may be kept"]
    if scope.queries(server=fh.FORGER_ADDRESS):
        g.fail(f"the resolver asked {fh.FORGER_ADDRESS}, the forged delegation's server",
               details=scope.lines(), sent=r.sent, hints=hints, cause=CAUSE_POISONED)
    expect_true_records(r, scope, mail, [fh.FORGED_A], hints=hints)


@pytest.mark.stage(7)
@pytest.mark.parametrize("attack", ["random-ports", "aimed"])
def test_spoofed_flood_is_ignored(server_with_args, new_client, step, scope, fake_hierarchy,
                                  dns_settings, attack):
    """While the resolver waits 1 s for the zone's only server, SPOOF_COUNT forged replies come
    from that server's address and port, with random IDs to random ports (random-ports), or with
    every ID but the right one to the query's own port (aimed): the client gets the true records;
    from stage 8 on they are cached, and nothing of the forgeries is."""
    srv = server_with_args(*SPOOF_ARGS)
    pid = build_pid(srv, dns_settings)
    z, slow, www, mail = spoof_zone(scope)
    client = new_client(srv)
    counted_before = forged_counter(srv, pid)
    sent, qb, what = t7.make_query(f"www.{z}", id_=next(ids))
    client.drain()
    start = time.monotonic()
    client.send(sent)
    seen = wait_for_query(fake_hierarchy, scope, slow, f"www.{z}", sent)
    template = forged_reply(seen.message, z)
    rnd = random.Random()
    dest = (seen.host, seen.port)
    if attack == "aimed":
        wrong = rnd.sample(range(0x10000), min(SPOOF_COUNT + 1, 0x10000))
        wrong = [i for i in wrong if i != seen.id][:SPOOF_COUNT]
        packets = [(with_id(template, i), dest) for i in wrong]
    else:
        taken = ports_in_use_by_others(pid if pid is not None else None)
        if taken is None:
            pytest.skip("no /proc/net/udp: the ports other processes hold cannot be avoided")
        low, high = ephemeral_range()
        ports = [p for p in range(low, high + 1) if p not in taken]
        packets = [(with_id(template, rnd.getrandbits(16)), (seen.host, rnd.choice(ports)))
                   for _ in range(SPOOF_COUNT)]
    flood_start = time.monotonic()
    count = fake_hierarchy.send_from(slow.address, packets,
                                     until=seen.at + SPOOF_DELAY_MS / 1000)
    flood_s = time.monotonic() - flood_start
    r = receive_reply(client, sent, qb, what, step, scope, SPOOF_DELAY_MS / 1000 + 4)
    took = time.monotonic() - start
    expect_alive(srv, "the flood")
    expect_true_records(r, scope, www, [fh.FORGED_A], hints=[
        "take a reply only from the address and port the query went to, with its ID and its "
        "question; ignore anything else and keep waiting (RFC 5452)"])
    before = len(scope.queries(server=slow.address, name=f"www.{z}"))
    expect_not_poisoned(client, step, scope, slow, z, www, mail, before)
    counted = forged_counter(srv, pid)
    ignored = None if counted is None or counted_before is None else counted - counted_before
    report("spoof-flood", step=step, attack=attack, forged=SPOOF_COUNT, sent=count,
           flood_ms=round(flood_s * 1000), before_real_reply=count == SPOOF_COUNT,
           answer_ms=round(took * 1000), counted_ignored=ignored)
    if count < SPOOF_COUNT:
        g.fail(f"only {count} of {SPOOF_COUNT} forged replies could be sent before the true one "
               f"({flood_s * 1000:.0f} ms)",
               hints=["a slow machine: set DNS_SPOOF_DELAY_MS higher (the slow server's delay)"])
    if attack == "aimed" and pid is not None and ignored is not None and ignored < 1:
        g.fail(f"the build counted {ignored} forged replies ignored after {count} aimed at its "
               "query's port: the flood did not reach it, so this test tested nothing",
               details=[f"the query left from port {seen.port}"])


SINGLES = {
    # kind: (marker, what)
    "wrong-name": ("203.0.113.1", "the right ID and port, another name in the question"),
    "wrong-type": ("203.0.113.2", "the right ID and port, another type (AAAA) in the question"),
    "wrong-address": ("203.0.113.3", f"the right ID, port and question, from {fh.FORGER_ADDRESS}"),
    "wrong-source-port": ("203.0.113.4", "the right ID, port and question, from another port of "
                                         "the server's address"),
    "qr0": ("203.0.113.5", "the right ID, port and question, from the server, with QR=0"),
}


@pytest.mark.stage(7)
def test_aimed_single_forgeries_are_ignored(server_with_args, new_client, step, scope,
                                            fake_hierarchy):
    """While the resolver waits 1 s for the zone's only server, it gets forged replies with the
    query's own ID sent to its own port: one with another name in the question, one with another
    type, one from another address, one from another port of the server's address, one with QR=0;
    each says another address (203.0.113.1-5): the client gets the true records."""
    srv = server_with_args(*SPOOF_ARGS)
    z, slow, www, mail = spoof_zone(scope)
    client = new_client(srv)
    sent, qb, what = t7.make_query(f"www.{z}", id_=next(ids))
    client.drain()
    client.send(sent)
    seen = wait_for_query(fake_hierarchy, scope, slow, f"www.{z}", sent)
    dest = (seen.host, seen.port)
    q = seen.message
    name = q.question[0].name
    wires = {
        "wrong-name": forged_reply(q, z, SINGLES["wrong-name"][0],
                                   qname=f"other.{name.to_text()}"),
        "wrong-type": forged_reply(q, z, SINGLES["wrong-type"][0], qtype=dns.rdatatype.AAAA),
        "wrong-address": forged_reply(q, z, SINGLES["wrong-address"][0]),
        "wrong-source-port": forged_reply(q, z, SINGLES["wrong-source-port"][0]),
        "qr0": forged_reply(q, z, SINGLES["qr0"][0], qr=False),
    }
    fake_hierarchy.send_from(slow.address, [(wires["wrong-name"], dest),
                                            (wires["wrong-type"], dest), (wires["qr0"], dest)])
    fake_hierarchy.send_from(fh.FORGER_ADDRESS, [(wires["wrong-address"], dest)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind((slow.address, 0))
        other.sendto(wires["wrong-source-port"], dest)
    r = receive_reply(client, sent, qb, what, step, scope, SPOOF_DELAY_MS / 1000 + 4)
    got = " ".join(record_texts(r.msg.answer + r.msg.authority + r.msg.additional))
    taken = [k for k, (marker, _) in SINGLES.items() if marker in got]
    if taken:
        g.fail(f"the reply to {what} carries the data of a forged reply: "
               + "; ".join(SINGLES[k][1] for k in taken),
               got=", ".join(record_texts(r.msg.answer)), sent=sent, details=scope.lines(),
               cause=CAUSE_FORGED,
               hints=["check every reply: from the address and port the query went to, QR=1, its "
                      "ID, and its question (name without case, type and class)"])
    expect_true_records(r, scope, www, [], hints=[])
    before = len(scope.queries(server=slow.address, name=f"www.{z}"))
    expect_not_poisoned(client, step, scope, slow, z, www, mail, before)


# --------------------------------------------------------------------------------------------------
# Chaos


TRUE_A = ["192.0.2.150", "192.0.2.151"]


def bad_server(behaviour):
    """A zone whose only server behaves so: SERVFAIL."""
    def build(scope, hier):
        z = scope.zone(behaviour)
        scope.add_zone(z, [f"www.{{z}} 300 IN A {a}" for a in TRUE_A],
                       [Server(f"ns.{z}", behaviour=behaviour)])
        return f"www.{z}", None
    return build


def upward_from_tld(scope, hier):
    """A TLD of the test's own, delegated by the root, whose server refers every name back to the
    root: SERVFAIL."""
    tld = f"tld-{scope.tag}."
    scope.add_zone(tld, ["www.{z} 300 IN A 192.0.2.152"],
                   [Server(f"ns.{tld}", behaviour="upward")], parent=hier.root)
    return f"www.{tld}", None


def hundreds_glueless(scope, hier):
    """300 NS names in another zone, without glue, none of which exists there: SERVFAIL."""
    a, b = scope.zone("hundreds"), scope.zone("nowhere")
    scope.add_zone(b, [], [Server(f"ns.{b}")])
    scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.153"],
                   [Server(f"ns{i}.{b}", address="") for i in range(300)])
    return f"www.{a}", None


def hundreds_mutual(scope, hier):
    """Two zones, each delegated to 200 names in the other, without glue: SERVFAIL."""
    a, b = scope.zone("mutual"), scope.zone("lautum")
    scope.add_zone(a, ["www.{z} 300 IN A 192.0.2.154"],
                   [Server(f"ns{i}.{b}", address="") for i in range(200)])
    scope.add_zone(b, ["www.{z} 300 IN A 192.0.2.155"],
                   [Server(f"ns{i}.{a}", address="") for i in range(200)])
    return f"www.{a}", None


def hundreds_silent(scope, hier):
    """300 NS names with glue, every one silent: SERVFAIL by the deadline."""
    z = scope.zone("silent300")
    scope.add_zone(z, ["www.{z} 300 IN A 192.0.2.156"],
                   [Server(f"ns{i}.{z}", behaviour="silent") for i in range(300)])
    return f"www.{z}", None


def zero_ttl(scope, hier):
    """Every record of the zone and of its delegation has TTL 0: the right answer, every time."""
    z = scope.zone("zerottl")
    lines = [f"www.{z} 0 IN A 192.0.2.157", f"www.{z} 0 IN A 192.0.2.158"]
    scope.add_zone(z, lines, [Server(f"ns.{z}"), Server(f"ns2.{z}")], soa_ttl=0, minimum=0,
                   ns_ttl=0)
    return f"www.{z}", lines


def cname_100(scope, hier):
    """A chain of 100 CNAMEs, each into the other of two zones: SERVFAIL (8 links at most)."""
    first, _ = t7.chain_zones(scope, 100)
    return first, None


def unrelated(scope, hier):
    """The right A RRset, then 200 records nobody asked for: the right answer, and only it."""
    z = scope.zone("unrelated")
    lines = [f"www.{z} 300 IN A {a}" for a in TRUE_A]
    scope.add_zone(z, lines, [Server(f"ns.{z}", behaviour="unrelated")])
    return f"www.{z}", lines


def broken_but_one(scope, hier):
    """Three servers send a reply with QR=0, another question, a pointer loop; the fourth is good:
    the right answer, whatever order they are asked in (three timeouts fit the deadline)."""
    z = scope.zone("allbutone")
    lines = [f"www.{z} 300 IN A {a}" for a in TRUE_A]
    scope.add_zone(z, lines, [Server(f"bad1.{z}", behaviour="qr0"),
                              Server(f"bad2.{z}", behaviour="other-question"),
                              Server(f"bad3.{z}", behaviour="pointer-loop"),
                              Server(f"good.{z}")])
    return f"www.{z}", lines


CASES = {
    "garbage": bad_server("garbage"),
    "garbage-records": bad_server("garbage-records"),
    "cut-mid-record": bad_server("cut"),
    "pointer-loop": bad_server("pointer-loop"),
    "referral-to-itself": bad_server("self-referral"),
    "upward-referral-from-tld": upward_from_tld,
    "ns-300-glueless": hundreds_glueless,
    "ns-200-each-other": hundreds_mutual,
    "ns-300-silent": hundreds_silent,
    "zero-ttl": zero_ttl,
    "cname-chain-100": cname_100,
    "qr-0": bad_server("qr0"),
    "other-question": bad_server("other-question"),
    "unrelated-records": unrelated,
    "broken-but-one": broken_but_one,
}


def good_zone(scope):
    z = scope.zone("good")
    line = f"www.{z} 300 IN A 192.0.2.159"
    scope.add_zone(z, [line], [Server(f"ns.{z}")])
    return f"www.{z}", [line]


def check_chaos_reply(r, scope, case, expected, took, count, since=0, bound=True,
                      deadline_ms=DEADLINE_MS):
    """Within the deadline, at most QUERIES_MAX queries (those of scope.queries() from `since` on:
    `count` of them; not checked if not `bound`), and SERVFAIL or the right answer."""
    limit = (deadline_ms + LATE_MS) / 1000 * S
    if took > limit:
        g.fail(f"{case}: the reply to {r.what} came {took * 1000:.0f} ms after the query",
               expected=f"within --deadline {deadline_ms} ms (plus {LATE_MS * S:g} ms)",
               details=scope.lines(), sent=r.sent, cause=CAUSE_UNBOUNDED,
               hints=["--deadline bounds a whole client question, sub-resolutions included"])
    if bound and count > QUERIES_MAX:
        seen = scope.queries()[since:since + count]
        tcp = sum(1 for s in seen if s.transport == "tcp")
        names = len({fh.norm(s.qname) for s in seen})
        g.fail(f"{case}: the fake name servers received {count} queries for one client question",
               expected=f"at most {QUERIES_MAX}",
               details=[f"{count - tcp} over UDP, {tcp} over TCP (after a TC reply), about "
                        f"{names} names", *scope.lines(limit=8)], sent=r.sent,
               cause=CAUSE_UNBOUNDED,
               hints=["count every query a client question causes (sub-resolutions of NS names, "
                      "CNAME targets, TCP retries included) and give up past the bound"])
    got = " ".join(record_texts(r.msg.answer + r.msg.authority + r.msg.additional))
    used = fh.FORGED_A in got or fh.TRUNCATED_A in got
    if expected is None:
        t7.expect_resolved_rcode(r, scope, g.SERVFAIL, cause=CAUSE_CHAOS_USED if used else None,
                                 hints=["no server of the zone gave a usable reply: SERVFAIL"])
    else:
        t7.expect_resolved(r, scope, g.NOERROR, expected, cause=CAUSE_CHAOS_USED if used else None,
                           hints=["the answer holds what was asked (the CNAME chain and the final "
                                  "RRset) and nothing else a server added"])


def chaos_ask(client, step, scope, case, name, expected):
    sent, qb, what = t7.make_query(name, id_=next(ids))
    client.drain()
    start = time.monotonic()
    client.send(sent)
    wait = (DEADLINE_MS + LATE_MS) / 1000 + 1.5
    raw, _ = client.receive(wait, lambda d: d[:2] == sent[:2])
    took = time.monotonic() - start
    if raw is None:
        t7.fail_no_reply(client, sent, scope, f"{what} ({case})", wait,
                         hints=[f"every client question ends by --deadline ({DEADLINE_MS} ms): "
                                "the answer, or SERVFAIL"], cause=CAUSE_UNBOUNDED)
    g.expect_answered(raw, sent)
    return Reply(sent, qb, raw, what, step), took


@pytest.mark.stage(7)
@pytest.mark.parametrize("case", list(CASES))
def test_chaos_server(server_with_args, new_client, step, fake_hierarchy, case):
    """A zone whose servers misbehave as `case` says (CASES): with --ns-timeout 200 --deadline
    2000, the client's query ends within the deadline with SERVFAIL or the right answer (never
    the data of a bad reply), at most 100 queries reach the fake servers, and the server answers a
    good query after. The cases with an answer are asked twice (from stage 8 on, the second may
    come from the cache; with TTL 0 it must not)."""
    srv = server_with_args(*CHAOS_ARGS)
    client = new_client(srv)
    sc = fake_hierarchy.scope()
    name, expected = CASES[case](sc, fake_hierarchy)
    figures = []
    try:
        for _ in range(1 if expected is None else 2):
            before = len(sc.queries())
            r, took = chaos_ask(client, step, sc, case, name, expected)
            # Queries still in flight when the reply left land a moment later: count them too.
            time.sleep(0.05)
            count = len(sc.queries()) - before
            figures.append((round(took * 1000), count))
            expect_alive(srv, case)
            check_chaos_reply(r, sc, case, expected, took, count, before)
    finally:
        report("chaos-case", step=step, case=case,
               rcode="SERVFAIL" if expected is None else "NOERROR",
               ms=[f[0] for f in figures], queries=[f[1] for f in figures])
    good = fake_hierarchy.scope()
    good_name, good_lines = good_zone(good)
    r, _ = t7.ask(client, step, good, good_name, timeout=(DEADLINE_MS + LATE_MS) / 1000)
    t7.expect_resolved(r, good, g.NOERROR, good_lines,
                       hints=[f"after {case}, the server still resolves a good name"])


@pytest.mark.stage(7)
@pytest.mark.build_only
@pytest.mark.slow  # 10 s a step: make chaos and CI's slow run have it, make test does not
def test_chaos_rounds_memory_stays_flat(spawn, step, fake_hierarchy, new_client):
    """Build only: a fresh server (--ns-timeout 600 --deadline 3000, from stage 8 on
    --cache-size 100) gets every chaos case and a good name at once, CHAOS_ROUNDS times: each round every query ends within the deadline with
    SERVFAIL or the right answer and at most 100 queries; VmRSS (/proc/PID/status) after the last
    round is at most RSS_SLACK_KIB above what it was after the first."""
    # From stage 8 on the cache is kept small, so that it is full after the first round: a cache
    # that fills up (300 NS names resolved to NXDOMAIN, a few at a time) is growth by design.
    srv = spawn(*ROUND_ARGS, *(("--cache-size", str(CACHE_SIZE)) if step >= 8 else ()))
    pid = srv.proc.pid
    if vm_rss_kib(pid) is None:
        pytest.skip("no /proc/PID/status: resident memory cannot be read here")
    client = new_client(srv, timeout=1.0)
    chosen = [c.strip() for c in os.environ.get("DNS_CHAOS_CASES", "").split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        raise pytest.UsageError(f"DNS_CHAOS_CASES: no case {', '.join(unknown)} (cases: "
                                f"{', '.join(CASES)})")
    cases = {}
    for case, build in CASES.items():
        if chosen and case not in chosen:
            continue
        sc = fake_hierarchy.scope()
        name, expected = build(sc, fake_hierarchy)
        cases[case] = (sc, name, expected)
    good = fake_hierarchy.scope()
    cases["good"] = (good, *good_zone(good))
    rss, entries, worst_ms, worst_queries, over = [], [], 0, 0, {}
    start_all = time.monotonic()
    for round_ in range(CHAOS_ROUNDS):
        sent = {}
        before = {case: len(sc.queries()) for case, (sc, _, _) in cases.items()}
        client.drain()
        start = time.monotonic()
        for case, (sc, name, expected) in cases.items():
            q, qb, what = t7.make_query(name, id_=next(ids))
            sent[q[:2]] = (case, q, qb, what)
            client.send(q)
        got = t7.collect(client, sent, (ROUND_DEADLINE_MS + LATE_MS) / 1000 + 1.5, start)
        time.sleep(0.05)
        expect_alive(srv, f"round {round_ + 1}")
        missing = [sent[k][0] for k in sent if k not in got]
        if missing:
            g.fail(f"round {round_ + 1}: no reply for {', '.join(missing)}",
                   cause=CAUSE_UNBOUNDED, hints=["every client question ends by --deadline"])
        for k, (raw, took) in got.items():
            case, q, qb, what = sent[k]
            sc, _, expected = cases[case]
            count = len(sc.queries()) - before[case]
            g.expect_answered(raw, q)
            # The bound is checked after the memory (test_chaos_server checks it per case).
            check_chaos_reply(Reply(q, qb, raw, what, step), sc, f"round {round_ + 1}, {case}",
                              expected, took, count, before[case], bound=False,
                              deadline_ms=ROUND_DEADLINE_MS)
            worst_ms, worst_queries = max(worst_ms, took * 1000), max(worst_queries, count)
            if count > QUERIES_MAX:
                over.setdefault(case, []).append(count)
        rss.append(vm_rss_kib(pid))
        entries.append(cache_entries(srv, pid))
    growth = rss[-1] - rss[0]
    report("chaos-rounds", step=step, rounds=CHAOS_ROUNDS, questions=CHAOS_ROUNDS * len(cases),
           seconds=round(time.monotonic() - start_all, 1), worst_ms=round(worst_ms),
           worst_queries=worst_queries, over_bound=over, rss_kib_first=rss[0], rss_kib_last=rss[-1],
           rss_kib_max=max(rss), growth_kib=growth, rss_kib=rss,
           cache_entries=entries)
    if growth > RSS_SLACK_KIB:
        g.fail(f"VmRSS grew by {growth} KiB from the end of round 1 to the end of round "
               f"{CHAOS_ROUNDS}", expected=f"at most {RSS_SLACK_KIB} KiB",
               details=[f"VmRSS (KiB) after each round: {' '.join(map(str, rss))}"],
               cause=CAUSE_MEMORY,
               hints=["free what a resolution holds on every way it ends: SERVFAIL, the deadline, "
                      "a reply thrown away; run make memcheck"])
    if over:
        g.fail(f"more than {QUERIES_MAX} queries reached the fake servers for one client question",
               details=[f"{case}: {', '.join(map(str, counts))} queries (rounds where it went over)"
                        for case, counts in over.items()], cause=CAUSE_UNBOUNDED,
               hints=["count every query a client question causes (TCP retries included)"])
