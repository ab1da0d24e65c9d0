"""The sandbox internet (zones/sandbox/, `make sandbox`): its zones agree with each other and with
the serving table, tests/sandbox.sh starts and stops it, and a tiny iterative resolver, written
here, walks it from root.hints to every case it is built for.

The sandbox is the workbook's own infrastructure for the resolver stages (stage 7's resolver is
tested against it), not a stage's behaviour: these tests run once when a step from 7 on is listed
in --steps (their stage marker) and are deselected otherwise, and they are selftests, so a grade
(`make grade`, `-m "not selftest"`) and a run with --server-cmd leave them out. They need the
build's step-9 (`--build-dir`), and say so when it is missing.

Each run starts its own sandbox through tests/sandbox.sh, with a pid directory of its own and a
port free on every sandbox address, so a sandbox the user has running (`make sandbox`, port 5300)
is never touched; it is stopped at the end of the module, whatever failed.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

import dnsgrader as g

# The workbook's infrastructure: not graded, not --server-cmd; only with a resolver step listed.
pytestmark = [pytest.mark.selftest, pytest.mark.stage(7)]

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "zones" / "sandbox"
SCRIPT = REPO / "tests" / "sandbox.sh"
DEAD = "127.0.0.26"  # dead.flaky.test: in the zones, never in the serving table
# A sandbox server answers within milliseconds; only the dead one makes the walk wait this long.
TIMEOUT = 0.3
START_TRIES = 3  # another port only when the one chosen was taken meanwhile


# --------------------------------------------------------------------------------------------------
# The files


def serving_table():
    """zones/sandbox/servers as [(address, [zone file, ...]), ...]."""
    rows = []
    for line in (SANDBOX / "servers").read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            rows.append((words[0], words[1:]))
    return rows


def load_zones():
    """Every zone file of zones/sandbox/, as {origin: dns.zone.Zone} (dnspython checks that each
    has an SOA and NS at its apex)."""
    zones = {}
    for path in sorted(SANDBOX.glob("*.zone")):
        zone = dns.zone.from_file(str(path), origin=None, relativize=False)
        zones[zone.origin] = zone
    return zones


def read_hints(path=SANDBOX / "root.hints"):
    """A named.root-format file as {root server name: set of IPv4 addresses}."""
    hints = dns.zone.from_file(str(path), origin=dns.name.root, relativize=False,
                               check_origin=False)
    servers = {rr.target: set() for rr in hints.find_rdataset(dns.name.root, "NS")}
    for name in servers:
        servers[name] = {rr.address for rr in hints.find_rdataset(name, "A")}
    return servers


def file_origin(file):
    return dns.name.root if file == "root.zone" else dns.name.from_text(file[:-len(".zone")])


# --------------------------------------------------------------------------------------------------
# Starting and stopping it


def script(command, sandbox_dir, port, binary, check=True):
    env = {**os.environ, "SANDBOX_DIR": str(sandbox_dir), "SANDBOX_PORT": str(port),
           "SANDBOX_BINARY": str(binary), "SANDBOX_ARGS": ""}
    done = subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True,
                          timeout=30)
    if check and done.returncode != 0:
        pytest.fail(f"tests/sandbox.sh {command} exited with {done.returncode}:\n"
                    f"{done.stdout}{done.stderr}", pytrace=False)
    return done


def free_port(addresses):
    """A port no socket holds on any of `addresses`, for UDP or TCP (the sandbox's servers
    listen on both; the dead address is included: nothing may answer there)."""
    for _ in range(50):  # bounded: a port taken on one address only is rare
        port = g.free_udp_port(addresses[0])
        socks = []
        try:
            for a in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.fail("no port is free for UDP and TCP on every sandbox address")


def sandbox_pids(sandbox_dir):
    path = Path(sandbox_dir) / "pids"
    if not path.exists():
        return []
    return [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()]


def running(pid):
    """True if `pid` runs (a zombie, gone but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


@pytest.fixture(scope="module")
def sandbox_server(dns_settings):
    binary = dns_settings.build_dir / "step-9"
    if not binary.exists():
        pytest.skip(f"{binary} is not built: the sandbox is served by it (`make` builds it)")
    return binary


def start(sandbox_dir, binary):
    """Starts a sandbox with its pid file in `sandbox_dir`, on a port free on every sandbox
    address; returns the port."""
    addresses = [a for a, _ in serving_table()] + [DEAD]
    for attempt in range(START_TRIES):
        port = free_port(addresses)
        done = script("start", sandbox_dir, port, binary, check=False)
        if done.returncode == 0:
            return port
        # Another process (a test beside this one) may have bound the port meanwhile.
        if "in use" not in done.stderr or attempt == START_TRIES - 1:
            pytest.fail(f"tests/sandbox.sh start failed:\n{done.stdout}{done.stderr}",
                        pytrace=False)


def stop(sandbox_dir, binary):
    """Stops the sandbox of `sandbox_dir` and checks that none of its processes is left."""
    pids = sandbox_pids(sandbox_dir)
    done = script("stop", sandbox_dir, 0, binary, check=False)
    left = [p for p in pids if running(p)]
    assert not left, f"sandbox processes left after stop: {left}\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def sandbox(sandbox_server, tmp_path_factory):
    """A running sandbox: its port. Stopped at the end of the module, whatever failed."""
    sandbox_dir = tmp_path_factory.mktemp("sandbox")
    try:
        yield start(sandbox_dir, sandbox_server)
    finally:
        stop(sandbox_dir, sandbox_server)


# --------------------------------------------------------------------------------------------------
# A tiny iterative resolver


class Outcome:
    def __init__(self, rcode, answer, authority=(), note=""):
        self.rcode = rcode  # "NOERROR", "NXDOMAIN" or "SERVFAIL" (no server would answer)
        self.answer = answer  # the RRsets found, CNAMEs first, in the order they were followed
        self.authority = list(authority)  # of the last reply (the SOA of a negative answer)
        self.note = note

    def final(self, rdtype):
        return [rr for rrset in self.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
                for rr in rrset]

    def __repr__(self):
        rrsets = "\n".join(str(r) for r in self.answer + self.authority)
        return f"{self.rcode} {self.note}\n{rrsets}"


class Walk:
    """Resolves as a resolver without a cache does: ask a root server (root.hints), follow each
    referral to the servers it names, with their glue or else by resolving their names first
    (glueless), restart from the root at a CNAME's target, and try the next server when one
    does not answer (TIMEOUT) or refuses. `asked` records every query: (server, name, type,
    what came back)."""

    REFERRALS_MAX = 10  # more referrals than the sandbox is deep: a loop
    CNAMES_MAX = 8
    DEPTH_MAX = 3  # glueless lookups within glueless lookups

    def __init__(self, port):
        self.port = port
        self.roots = sorted(a for addrs in read_hints().values() for a in addrs)
        self.asked = []
        self.replies = []  # (server, reply) of every reply

    def ask(self, server, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        q.flags &= ~dns.flags.RD  # iterative: every server answers from its own zones
        try:
            reply = dns.query.udp(q, server, timeout=TIMEOUT, port=self.port)
        except dns.exception.Timeout:
            self.asked.append((server, str(name), rdtype, "timeout"))
            return None
        self.asked.append((server, str(name), rdtype, dns.rcode.to_text(reply.rcode())))
        self.replies.append((server, reply))
        return reply

    def ask_any(self, servers, name, rdtype):
        for server in servers:
            reply = self.ask(server, name, rdtype)
            if reply is not None and reply.rcode() != dns.rcode.REFUSED:
                return reply
        return None  # every one dead or lame

    def resolve(self, name, rdtype, depth=0):
        assert depth <= self.DEPTH_MAX, f"glueless lookups nested deeper than {self.DEPTH_MAX}"
        name = dns.name.from_text(name) if isinstance(name, str) else name
        want = dns.rdatatype.from_text(rdtype)
        answer = []
        for _ in range(self.CNAMES_MAX):
            servers = self.roots
            for _ in range(self.REFERRALS_MAX):
                reply = self.ask_any(servers, name, rdtype)
                if reply is None:
                    return Outcome("SERVFAIL", answer, note=f"no server answered for {name}")
                if reply.rcode() != dns.rcode.NOERROR:
                    return Outcome(dns.rcode.to_text(reply.rcode()), answer, reply.authority)
                # The answer: the records asked for, or CNAMEs towards them.
                owner = name
                for _ in range(self.CNAMES_MAX):
                    found = reply.get_rrset(reply.answer, owner, dns.rdataclass.IN, want)
                    if found is not None:
                        return Outcome("NOERROR", answer + [found])
                    cname = reply.get_rrset(reply.answer, owner, dns.rdataclass.IN,
                                            dns.rdatatype.CNAME)
                    if cname is None:
                        break
                    answer.append(cname)
                    owner = cname[0].target
                if owner != name:
                    name = owner  # a CNAME out of this server's zones: from the root again
                    break
                ns = [r for r in reply.authority if r.rdtype == dns.rdatatype.NS]
                if reply.flags & dns.flags.AA or not ns:
                    return Outcome("NOERROR", answer, reply.authority, note="NODATA")
                servers = self.servers_of(ns[0], reply, depth)
                if not servers:
                    return Outcome("SERVFAIL", answer,
                                   note=f"no address for {ns[0].name}'s servers")
            else:
                pytest.fail(f"more than {self.REFERRALS_MAX} referrals for {name}: a loop?\n"
                            + "\n".join(map(str, self.asked)))
        else:
            pytest.fail(f"more than {self.CNAMES_MAX} CNAMEs from {name}")

    def servers_of(self, ns, reply, depth):
        """The addresses of a referral's name servers: from its glue, else looked up (glueless)."""
        addresses = []
        for rr in ns:
            glue = reply.get_rrset(reply.additional, rr.target, dns.rdataclass.IN,
                                   dns.rdatatype.A)
            addresses += [a.address for a in glue] if glue is not None else []
        if addresses:
            return addresses
        for rr in ns:
            addresses += [a.address for a in self.resolve(rr.target, "A", depth + 1).final("A")]
        return addresses


def servers_asked(walk):
    return [server for server, *_ in walk.asked]


# --------------------------------------------------------------------------------------------------
# The files agree


def test_zones_delegations_and_serving_table_agree():
    """For every zone: its parent delegates it with the same NS set, every glue address is the
    address the name has where it is authoritative, and the serving table's lines for it are
    exactly the addresses of its name servers (but the dead one). root.hints names the root's
    servers. The only delegation without a zone is lame.test, on servers that do not serve it."""
    zones = load_zones()
    table = serving_table()
    served_by = {}
    for address, files in table:
        assert address.startswith("127.") and address != "127.0.0.1", address
        for f in files:
            assert (SANDBOX / f).exists(), f"servers: {address} serves {f}, which does not exist"
            served_by.setdefault(file_origin(f), set()).add(address)
    assert set(served_by) == set(zones), "every zone file is served, and only those"
    assert DEAD not in {a for a, _ in table}

    # Every name's address, wherever written (glue or authoritative), is one and the same.
    addresses = {}
    for origin, zone in zones.items():
        for name, node in zone.nodes.items():
            a = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.A)
            if a is not None:
                got = {rr.address for rr in a}
                assert addresses.setdefault(name, got) == got, \
                    f"{name} has {sorted(got)} in {origin}, {sorted(addresses[name])} elsewhere"

    def apex_ns(zone):
        return {rr.target for rr in zone.find_rdataset(zone.origin, "NS")}

    for origin, zone in zones.items():
        servers = {a for ns in apex_ns(zone) for a in addresses.get(ns, set())}
        assert served_by[origin] == servers - {DEAD}, \
            f"{origin}: its NS have the addresses {sorted(servers)}; the table serves it on " \
            f"{sorted(served_by[origin])}"
        if origin == dns.name.root:
            continue
        parent = max((z for z in zones if z != origin and origin.is_subdomain(z)),
                     key=lambda z: len(z))
        delegation = zones[parent].get_rdataset(origin, "NS")
        assert delegation is not None, f"{parent} does not delegate {origin}"
        assert {rr.target for rr in delegation} == apex_ns(zone), \
            f"{origin}: NS in {parent} and at the apex differ"

    # Delegations to zones that have no file: the lame one only.
    orphans = {}
    for origin, zone in zones.items():
        for name, node in zone.nodes.items():
            ns = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS)
            if name != origin and ns is not None and name not in zones:
                orphans[name] = {a for rr in ns for a in addresses[rr.target]}
    lame = dns.name.from_text("lame.test.")
    assert set(orphans) == {lame}
    assert orphans[lame] and all(a in {x for x, _ in table} for a in orphans[lame])

    hints = read_hints()
    root = zones[dns.name.root]
    assert set(hints) == apex_ns(root)
    for name, addrs in hints.items():
        assert addrs == addresses[name], f"root.hints: {name}"


def test_named_root_is_the_real_root_hints():
    """zones/named.root, the real hints (data only: nothing here sends to them): 13 servers,
    a to m.root-servers.net, each with an IPv4 and an IPv6 address, TTL 3600000."""
    path = REPO / "zones" / "named.root"
    hints = dns.zone.from_file(str(path), origin=dns.name.root, relativize=False,
                               check_origin=False)
    ns = hints.find_rdataset(dns.name.root, "NS")
    assert ns.ttl == 3600000
    assert sorted(str(rr.target).lower() for rr in ns) == \
        [f"{c}.root-servers.net." for c in "abcdefghijklm"]
    for rr in ns:
        assert len(hints.find_rdataset(rr.target, "A")) == 1
        assert len(hints.find_rdataset(rr.target, "AAAA")) == 1
    a = hints.find_rdataset("a.root-servers.net.", "A")
    assert a[0].address == "198.41.0.4"


# --------------------------------------------------------------------------------------------------
# Starting and stopping


def test_start_and_stop_are_idempotent_and_handle_a_stale_pid_file(sandbox_server, tmp_path):
    count = len(serving_table())
    try:
        port = start(tmp_path, sandbox_server)
        pids = sandbox_pids(tmp_path)
        assert len(pids) == count and all(running(p) for p in pids)
        again = script("start", tmp_path, port, sandbox_server)
        assert "already running" in again.stdout
        assert sandbox_pids(tmp_path) == pids
        assert script("status", tmp_path, port, sandbox_server).returncode == 0
        other = script("start", tmp_path, port + 1, sandbox_server, check=False)
        assert other.returncode == 1 and f"already running on port {port}" in other.stderr

        # One server gone: the others are stopped, and all start again.
        os.kill(pids[0], signal.SIGTERM)
        for _ in range(200):  # bounded: a server stops within milliseconds of SIGTERM
            if not running(pids[0]):
                break
            time.sleep(0.01)
        restarted = script("start", tmp_path, port, sandbox_server)
        assert f"{count - 1} of {count} name servers still running" in restarted.stdout
        assert not any(running(p) for p in pids)
        pids = sandbox_pids(tmp_path)
        assert len(pids) == count and all(running(p) for p in pids)

        assert f"stopped {count} name servers" in stop(tmp_path, sandbox_server).stdout
        assert stop(tmp_path, sandbox_server).stdout.strip() == "sandbox: not running"
        assert script("status", tmp_path, port, sandbox_server, check=False).returncode == 1

        # A stale pid file: one PID gone, one that another program has now (this one, which
        # must not be signalled).
        gone = subprocess.Popen(["true"])
        gone.wait()
        (tmp_path / "pids").write_text(f"{gone.pid} 127.0.0.2 {port}\n"
                                       f"{os.getpid()} 127.0.0.3 {port}\n")
        stale = script("start", tmp_path, port, sandbox_server)
        assert "stale pid file" in stale.stdout
        assert len(sandbox_pids(tmp_path)) == count
    finally:
        stop(tmp_path, sandbox_server)


# --------------------------------------------------------------------------------------------------
# Walking it


def test_root_servers_answer_the_priming_query_with_their_addresses(sandbox):
    hints = read_hints()
    for address in sorted(a for addrs in hints.values() for a in addrs):
        walk = Walk(sandbox)
        reply = walk.ask(address, dns.name.root, "NS")
        assert reply is not None and reply.flags & dns.flags.AA
        ns = reply.get_rrset(reply.answer, dns.name.root, dns.rdataclass.IN, dns.rdatatype.NS)
        assert {rr.target for rr in ns} == set(hints)
        for name, addrs in hints.items():
            a = reply.get_rrset(reply.additional, name, dns.rdataclass.IN, dns.rdatatype.A)
            assert a is not None and {rr.address for rr in a} == addrs


def test_in_zone_glue_and_several_addresses(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.example.com.", "A")
    assert got.rcode == "NOERROR", got
    assert sorted(rr.address for rr in got.final("A")) == ["192.0.2.80", "192.0.2.81",
                                                           "192.0.2.82"]
    assert servers_asked(walk) == ["127.0.0.2", "127.0.0.10", "127.0.0.20"]


def test_glueless_delegation(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.example.org.", "A")
    assert got.rcode == "NOERROR", got
    assert [rr.address for rr in got.final("A")] == ["198.51.100.80"]
    # org's referral names ns1.hosting.net without an address: looked up from the root.
    org = [r for s, r in walk.replies if s == "127.0.0.12"][0]
    assert not org.answer and not org.additional
    assert servers_asked(walk) == ["127.0.0.2", "127.0.0.12",  # www.example.org: no glue
                                   "127.0.0.2", "127.0.0.11", "127.0.0.23",  # ns1.hosting.net
                                   "127.0.0.23"]  # www.example.org again


def test_sub_delegation(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.lab.example.com.", "A")
    assert [rr.address for rr in got.final("A")] == ["192.0.2.90"], got
    assert servers_asked(walk) == ["127.0.0.2", "127.0.0.10", "127.0.0.20", "127.0.0.22"]


def test_cname_into_another_zone(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.example.net.", "A")
    assert [str(r.name) for r in got.answer] == ["www.example.net.", "www.example.com."], got
    assert got.answer[0].rdtype == dns.rdatatype.CNAME
    assert len(got.final("A")) == 3


def test_cname_chain_of_three_links_across_zones(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("alias.example.net.", "A")
    assert [(str(r.name), dns.rdatatype.to_text(r.rdtype)) for r in got.answer] == [
        ("alias.example.net.", "CNAME"), ("alias.example.org.", "CNAME"),
        ("alias.lab.example.com.", "CNAME"), ("www.example.com.", "A")], got
    answered = [s for s, *_, what in walk.asked if what == "NOERROR"]
    assert {"127.0.0.24", "127.0.0.23", "127.0.0.22", "127.0.0.20"} <= set(answered)


def test_nxdomain_and_nodata(sandbox):
    nx = Walk(sandbox).resolve("nosuch.example.com.", "A")
    assert nx.rcode == "NXDOMAIN", nx
    assert [str(r.name) for r in nx.authority if r.rdtype == dns.rdatatype.SOA] == ["example.com."]
    nodata = Walk(sandbox).resolve("mail.example.com.", "AAAA")
    assert nodata.rcode == "NOERROR" and nodata.note == "NODATA" and not nodata.answer, nodata
    assert [r.rdtype for r in nodata.authority] == [dns.rdatatype.SOA]
    tld = Walk(sandbox).resolve("nosuch.", "A")
    assert tld.rcode == "NXDOMAIN", tld


def test_wildcard(sandbox):
    got = Walk(sandbox).resolve("alice.users.example.net.", "TXT")
    assert [str(r.name) for r in got.answer] == ["alice.users.example.net."], got
    assert got.answer[0][0].strings == (b"synthesized from *.users.example.net",)


def test_mx_txt_aaaa(sandbox):
    mx = Walk(sandbox).resolve("example.com.", "MX")
    assert [(rr.preference, str(rr.exchange)) for rr in mx.final("MX")] == \
        [(10, "mail.example.com.")]
    txt = Walk(sandbox).resolve("example.com.", "TXT")
    assert [rr.strings for rr in txt.final("TXT")] == [(b"v=spf1 mx -all",)]
    aaaa = Walk(sandbox).resolve("www.example.com.", "AAAA")
    assert [rr.address for rr in aaaa.final("AAAA")] == ["2001:db8::80"]


def test_dead_server_beside_a_live_one(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.flaky.test.", "A")
    assert [rr.address for rr in got.final("A")] == ["203.0.113.80"], got
    assert walk.asked[-2:] == [(DEAD, "www.flaky.test.", "A", "timeout"),
                               ("127.0.0.25", "www.flaky.test.", "A", "NOERROR")]


def test_lame_delegation(sandbox):
    walk = Walk(sandbox)
    got = walk.resolve("www.lame.test.", "A")
    assert got.rcode == "SERVFAIL", got
    assert walk.asked[-2:] == [("127.0.0.23", "www.lame.test.", "A", "REFUSED"),
                               ("127.0.0.24", "www.lame.test.", "A", "REFUSED")]


# --------------------------------------------------------------------------------------------------
# The workbook's resolver in the sandbox, end to end


# Every case the sandbox holds, as a client asks it.
END_TO_END = [
    ("www.example.com.", "A"),         # in-zone glue, three addresses
    ("www.example.org.", "A"),         # glueless delegation
    ("www.lab.example.com.", "A"),     # sub-delegation
    ("www.example.net.", "A"),         # CNAME into another zone
    ("alias.example.net.", "A"),       # a chain of three CNAMEs across zones
    ("nosuch.example.com.", "A"),      # NXDOMAIN
    ("mail.example.com.", "AAAA"),     # NODATA
    ("nosuch.", "A"),                  # NXDOMAIN from the root
    ("alice.users.example.net.", "TXT"),  # wildcard
    ("example.com.", "MX"),
    ("example.com.", "TXT"),
    ("www.example.com.", "AAAA"),
    ("www.flaky.test.", "A"),          # a dead server beside a live one
    ("www.lame.test.", "A"),           # only lame servers: SERVFAIL
]


# The workbook's resolvers: step 7, and step 8 with its cache.
RESOLVER_STEPS = [7, 8]


def start_resolver(dns_settings, step, ns_port, label):
    """build/step-N resolving from the sandbox's root on `ns_port`, on a free port of 127.0.0.1;
    the started process (stop it)."""
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.skip(f"{binary} is not built (`make` builds it)")
    port = g.free_udp_port()
    srv = g.ServerProcess(f"step-{step} {label}", port=port,
                          argv=[str(binary), "--port", str(port), "--root-hints",
                                str(SANDBOX / "root.hints"), "--ns-port", str(ns_port),
                                "--ns-timeout", "300"],
                          log_path=Path(os.environ.get("TMPDIR", "/tmp"))
                          / f"step{step}-{label.replace(' ', '-')}-{port}.log")
    srv.start()
    try:
        srv.wait_ready()
    except BaseException:
        srv.stop()
        raise
    return srv


@pytest.fixture(scope="module", params=RESOLVER_STEPS, ids=[f"step-{n}" for n in RESOLVER_STEPS])
def resolver(request, dns_settings, sandbox):
    """(step, port) of build/step-N resolving in the module's sandbox."""
    srv = start_resolver(dns_settings, request.param, sandbox, "in the sandbox")
    try:
        yield request.param, srv.port
    finally:
        srv.stop()


def rrsets_text(rrsets):
    """RRsets as sorted text lines without TTLs: what must be the same, whoever resolved them."""
    return sorted(f"{r.name} {dns.rdataclass.to_text(r.rdclass)} {dns.rdatatype.to_text(r.rdtype)} "
                  f"{rd}" for r in rrsets for rd in r)


@pytest.mark.parametrize("name,rdtype", END_TO_END, ids=[f"{n}{t}" for n, t in END_TO_END])
def test_resolver_resolves_the_sandbox_like_a_resolver_walking_it(resolver, sandbox, name, rdtype):
    """build/step-7 and build/step-8, asked with RD=1, give what the walk above finds: the same
    RCODE, the same answer records (the CNAME chain and the final RRset), and the SOA of a
    negative answer; with the client's ID, RA=1 and AA=0."""
    step, port = resolver
    want = Walk(sandbox).resolve(name, rdtype)
    q = dns.message.make_query(name, rdtype)
    q.use_edns(False)
    reply = dns.query.udp(q, "127.0.0.1", port=port, timeout=3.0)
    got_rcode = dns.rcode.to_text(reply.rcode())
    context = f"{name} {rdtype}: step-{step} said\n{reply}\nthe walk found\n{want}"
    assert reply.id == q.id, context
    assert reply.flags & dns.flags.RA and not reply.flags & dns.flags.AA, context
    assert got_rcode == want.rcode, context
    if want.rcode == "SERVFAIL":
        return
    assert rrsets_text(reply.answer) == rrsets_text(want.answer), context
    want_soa = [r for r in want.authority if r.rdtype == dns.rdatatype.SOA]
    got_soa = [r for r in reply.authority if r.rdtype == dns.rdatatype.SOA]
    if not want.answer:
        assert rrsets_text(got_soa) == rrsets_text(want_soa), context


# --------------------------------------------------------------------------------------------------
# The workbook's resolver and unbound, pointed at the same root


UNBOUND = "/usr/sbin/unbound"
UNBOUND_CONF = """server:
    interface: 127.0.0.1@{port}
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    do-ip6: no
    # Every query leaves from 127.0.0.1, which cannot reach anything outside 127.0.0.0/8, and
    # the root is the sandbox's (the stub zone below), never the real one.
    outgoing-interface: 127.0.0.1
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    trust-anchor-file: ""
    auto-trust-anchor-file: ""
    # unbound answers test. itself (RFC 6761 special-use names): here it is a sandbox TLD.
    local-zone: "test." nodefault
remote-control:
    control-enable: no
stub-zone:
    name: "."
{stubs}
"""


@pytest.fixture(scope="module")
def at_port_53(sandbox_server, tmp_path_factory):
    """A sandbox on port 53, where unbound sends every query (it has no other port for name
    servers). Only as root, with unbound installed and port 53 free on the sandbox's addresses."""
    if not os.path.exists(UNBOUND):
        pytest.skip(f"{UNBOUND} is not installed (apt-get install unbound): no comparison")
    if os.geteuid() != 0:
        pytest.skip("port 53 needs root: no comparison with unbound")
    addresses = [a for a, _ in serving_table()] + [DEAD]
    for address in addresses:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((address, 53))
            except OSError:
                pytest.skip(f"port 53 is taken on {address}: no comparison with unbound")
    sandbox_dir = tmp_path_factory.mktemp("sandbox-53")
    env_before = os.environ.get("SANDBOX_LOW_PORT")
    os.environ["SANDBOX_LOW_PORT"] = "1"
    try:
        script("start", sandbox_dir, 53, sandbox_server)
        yield 53
    finally:
        stop(sandbox_dir, sandbox_server)
        if env_before is None:
            del os.environ["SANDBOX_LOW_PORT"]
        else:
            os.environ["SANDBOX_LOW_PORT"] = env_before


@pytest.fixture(scope="module")
def unbound(at_port_53, tmp_path_factory):
    """unbound on a free port of 127.0.0.1, its root the sandbox's root servers."""
    d = tmp_path_factory.mktemp("unbound")
    port = g.free_udp_port()
    stubs = "\n".join(f"    stub-addr: {a}@{at_port_53}" for addrs in read_hints().values()
                      for a in sorted(addrs))
    (d / "unbound.conf").write_text(UNBOUND_CONF.format(port=port, dir=d, stubs=stubs))
    proc = subprocess.Popen([UNBOUND, "-d", "-c", str(d / "unbound.conf")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "log", "w"))
    try:
        probe = dns.message.make_query("probe.invalid.", "A")
        for _ in range(50):  # bounded: 5 s for unbound to listen
            try:
                dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.1)
                break
            except (dns.exception.Timeout, ConnectionRefusedError):
                if proc.poll() is not None:
                    pytest.fail(f"unbound exited: {(d / 'log').read_text()}", pytrace=False)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture(scope="module", params=RESOLVER_STEPS, ids=[f"step-{n}" for n in RESOLVER_STEPS])
def resolver_at_53(request, dns_settings, at_port_53):
    srv = start_resolver(dns_settings, request.param, at_port_53, "on port 53")
    try:
        yield request.param, srv.port
    finally:
        srv.stop()


# Not the dead server's name: unbound never hears the dead address's "port unreachable" (its
# sockets are not connected) and backs off for many seconds, longer under load; the walk
# comparison above covers that name.
UNBOUND_CASES = [(n, t) for n, t in END_TO_END if n != "www.flaky.test."]


@pytest.mark.parametrize("name,rdtype", UNBOUND_CASES, ids=[f"{n}{t}" for n, t in UNBOUND_CASES])
def test_resolver_and_unbound_agree(unbound, resolver_at_53, name, rdtype):
    """The same question to build/step-7 (and step-8) and to unbound, all resolving from the
    sandbox's root: the same RCODE and the same answer records (TTLs aside), and the same SOA
    when negative."""
    step, port = resolver_at_53
    def ask(port, timeout):
        q = dns.message.make_query(name, rdtype)
        q.use_edns(False)
        return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    ours, theirs = ask(port, 6.0), ask(unbound, 8.0)
    context = f"{name} {rdtype}: step-{step} said\n{ours}\nunbound said\n{theirs}"
    assert dns.rcode.to_text(ours.rcode()) == dns.rcode.to_text(theirs.rcode()), context
    assert rrsets_text(ours.answer) == rrsets_text(theirs.answer), context
    if not theirs.answer and theirs.rcode() != dns.rcode.SERVFAIL:
        soa = [rrsets_text([r for r in m.authority if r.rdtype == dns.rdatatype.SOA])
               for m in (ours, theirs)]
        assert soa[0] == soa[1], context


# --------------------------------------------------------------------------------------------------
# The cache outlives the sandbox


def test_step_8_answers_from_its_cache_after_the_sandbox_is_gone(dns_settings, sandbox_server, tmp_path):
    """build/step-8 resolves a positive, a CNAME chain, an NXDOMAIN and a NODATA name in a sandbox
    of its own; the sandbox is stopped; the same questions get the same answers (from the cache,
    TTLs no higher than before), while a name never asked now gets SERVFAIL."""
    sandbox_dir = tmp_path / "sandbox"
    port = start(sandbox_dir, sandbox_server)
    srv = None
    try:
        srv = start_resolver(dns_settings, 8, port, "cache outliving the sandbox")
        questions = [("www.example.com.", "A"), ("alias.example.net.", "A"),
                     ("nosuch.example.com.", "A"), ("mail.example.com.", "AAAA")]

        def ask(name, rdtype):
            q = dns.message.make_query(name, rdtype)
            q.use_edns(False)
            return dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3.0)
        before = {qn: ask(*qn) for qn in questions}
        stop(sandbox_dir, sandbox_server)
        for qn in questions:
            after = ask(*qn)
            context = f"{qn}: before the sandbox stopped\n{before[qn]}\nafter\n{after}"
            assert after.rcode() == before[qn].rcode(), context
            assert rrsets_text(after.answer) == rrsets_text(before[qn].answer), context
            assert rrsets_text(after.authority) == rrsets_text(before[qn].authority), context
            assert all(a.ttl <= b.ttl for a, b in zip(after.answer + after.authority,
                                                      before[qn].answer + before[qn].authority)), context
        never = ask("www.example.org.", "A")
        assert never.rcode() == dns.rcode.SERVFAIL, f"a name never asked, no sandbox:\n{never}"
    finally:
        if srv is not None:
            srv.stop()
        stop(sandbox_dir, sandbox_server)
