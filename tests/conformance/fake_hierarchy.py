"""fake_hierarchy: a small fake DNS tree of authoritative servers for the stage-7 (iterative
resolver) tests.

It runs in a thread of the pytest process. Every fake server has an address of its own in
127.0.1.0/24 (the sandbox internet uses 127.0.0.2-.26, the servers under test 127.0.0.1), and they
all listen on ONE port, UDP and TCP, chosen free on every address: the `{ns_port}` the resolver is
given (--ns-port). Started once per session (conftest.py's `fake_hierarchy` fixture, when a
stage-7 server is first needed); the root hints file naming the fake root servers is written then:
the `{root_hints}` placeholder (--root-hints).

The tree:

    .           a.root-servers.test (127.0.1.1), b.root-servers.test (127.0.1.2)   fixed
                (and the records of scope.add_root_records(), for stage 8)
    test.       ns.nic.test (127.0.1.3)                                          fixed, grows
    <label>-<tag>.test.   per test: each test adds zones of its own, delegated by test.

Tests share the pooled resolver, so each builds its own little hierarchy under names no other test
uses: `scope = hier.scope()` gives a tag ("t7"), `scope.zone("a")` is "a-t7.test.", and
`scope.add_zone(apex, records, servers=[...], parent=None)` (also `soa_ttl=`, `minimum=`: its
SOA's TTL and MINIMUM) serves a zone on fake servers and
delegates it from its parent (test. unless `parent` is another zone of the test), with glue for the
name servers that have an address and are asked to get it. Each of a zone's servers is
`Server(name, address=None, behaviour="ok", ...)`; an address is taken from the pool
127.0.1.10-.59 when none is given (addresses are reused by later tests: what a server does is kept
per address *and zone*, so that is harmless). A server asked about a name in no zone it serves
answers REFUSED (lame).

Behaviours (per server of a zone):
    ok          answers from the zone: the records (AA=1), a referral to a child zone (NS in
                authority, the glue the zone holds in additional), NODATA or NXDOMAIN with the SOA
    silent      never answers
    refused, servfail, formerr   that RCODE, no records (a lame server answers REFUSED)
    upward      a referral to the root: ". NS" and the root servers' addresses (a lame referral)
    truncate    over UDP: TC=1 with a bogus answer (TRUNCATED_A); over TCP: the real answer
    deep        every name below the apex gets a referral one label further down, to the same
                server: an endless descent (a resolver must stop after its referral limit)
    delay_ms    (with any of the above) the reply leaves that much later; others are served meanwhile
    forge       before the real reply (FORGE_GAP_MS later), forged ones carrying FORGED_A: another
                ID; from another address (FORGER_ADDRESS, the same port); from another port of the
                server's address; the query's ID but another question
    extra_answer, extra_authority, extra_additional   records added to every reply of that server
                (out-of-bailiwick data: an answer carrying a record for another domain, a
                referral with addresses for names outside the zone)
    (the chaos behaviours of test_resolver_attacks.py, a hostile server; see CHAOS_BEHAVIOURS)
    garbage         random bytes (0 to 600 of them), over UDP or TCP
    garbage-records the query's ID, QR=1, its question, counts that claim records, random bytes
    cut             the real reply cut short in the middle of its records (no TC)
    pointer-loop    the query's ID and question, then a record whose owner name is a compression
                    pointer loop (in turn: a pointer to itself, two pointing at each other, a
                    question name pointing at itself)
    self-referral   every name gets a referral to the zone itself (its own NS and glue): no closer
    qr0             an answer carrying FORGED_A, with QR=0 (a query, not a reply)
    other-question  an answer carrying FORGED_A for the asked name, under another question
    unrelated       the real answer, then UNRELATED_COUNT records the question did not ask for
                    (other names inside and outside the zone, other types of the same name)
    A Server(address="") is a name in an NS RRset and nothing more: no address, no glue, served
    nowhere (NS sets of hundreds of names that lead nowhere).
    edns_error  (stage 9) "formerr", "notimp" or "badvers": a server that does not speak EDNS
                answers a query carrying an OPT record with that error (FORMERR and NOTIMP
                without an OPT, BADVERS with one); without an OPT it answers as its behaviour says

Sizes, as a real server: over UDP a reply is at most 512 bytes, or the payload size of the query's
OPT record (RFC 6891; at least 512); a longer one goes out with TC=1 and empty sections (the OPT
kept), and the resolver must ask again over TCP, which has no such limit. A query with an OPT
gets one back (payload FAKE_PAYLOAD). Every reply of the stage-7 and stage-8 tests is far smaller.

The tests' spoofing side (test_resolver_attacks.py): `hier.send_from(address, packets)` sends
datagrams from the UDP socket of the fake server at `address` itself (its address and the
one port: what a reply of that server carries), so a forged reply can claim any server's address
and port; `FORGER_ADDRESS` is the socket of an address that serves nothing.

Every query received is recorded (`Seen`: the server's address, UDP or TCP, the source address and
port, ID, RD, the question, when), also those not answered: `scope.queries()` has those whose name
is inside one of the test's zones, wherever they went (the root and test. included).
"""

import heapq
import itertools
import random
import select
import socket
import struct
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

ROOT_SERVERS = [("a.root-servers.test.", "127.0.1.1"), ("b.root-servers.test.", "127.0.1.2")]
TLD = "test."
TLD_SERVER = ("ns.nic.test.", "127.0.1.3")
FORGER_ADDRESS = "127.0.1.60"  # forged replies "from another address" leave from here
POOL = [f"127.0.1.{i}" for i in range(10, 60)]  # the tests' own name servers
# (stage 9) Addresses of their own for the servers that reject EDNS (Server(edns_error=...)): a
# resolver may remember that an address does not speak EDNS, and the pool's addresses are reused.
EDNS_REJECTERS = {"formerr": "127.0.1.61", "notimp": "127.0.1.62", "badvers": "127.0.1.63"}
ADDRESSES = ([a for _, a in ROOT_SERVERS] + [TLD_SERVER[1]] + POOL + [FORGER_ADDRESS]
             + list(EDNS_REJECTERS.values()))

FORGED_A = "203.0.113.66"  # what forged and out-of-bailiwick records say
TRUNCATED_A = "203.0.113.77"  # what the truncated UDP reply of a `truncate` server says
FORGE_GAP_MS = 30
TTL = 3600
TICK = 0.05  # s: the thread looks at its stop flag at least this often
# The hostile servers of the chaos tests (test_resolver_attacks.py): their replies are made (or
# spoilt) on the wire, after the real reply is built (FakeHierarchy._chaos_wire), except the
# referral to itself and the extra records, which are messages.
CHAOS_BEHAVIOURS = ("garbage", "garbage-records", "cut", "pointer-loop", "self-referral", "qr0",
                    "other-question", "unrelated")
BEHAVIOURS = ("ok", "silent", "refused", "servfail", "formerr", "upward", "truncate",
              "deep") + CHAOS_BEHAVIOURS
UNRELATED_COUNT = 200  # records an `unrelated` server adds to its answer (well over 512 bytes)
GARBAGE_MAX = 600  # bytes of a `garbage` reply, at most
EDNS_ERRORS = ("formerr", "notimp", "badvers")
UDP_PLAIN_MAX = 512  # a UDP reply to a query without EDNS (RFC 1035 4.2.1)
FAKE_PAYLOAD = 4096  # the UDP payload size the fake servers advertise in their OPT records


def norm(name):
    """A name as a key: lower case, with its final dot."""
    text = str(name)
    return (text if text.endswith(".") else text + ".").lower()


def under(name, apex):
    """True if `name` is `apex` or below it (whole labels, without case)."""
    n, a = norm(name), norm(apex)
    return a == "." or n == a or n.endswith("." + a)


def rrsets(lines):
    """dnspython RRsets from "owner TTL CLASS TYPE RDATA" lines, grouped by owner and type."""
    out = {}
    for line in lines:
        owner, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        key = (norm(owner), rdtype.upper())
        rr = dns.rrset.from_text(owner, int(ttl), rdclass, rdtype, rdata)
        if key in out:
            out[key].add(rr[0])
        else:
            out[key] = rr
    return list(out.values())


class Server:
    """One name server of a zone: its name, address (None: one from the pool) and behaviour."""

    def __init__(self, name, address=None, behaviour="ok", glue=True, delay_ms=0, forge=False,
                 extra_answer=(), extra_authority=(), extra_additional=(), edns_error=None):
        assert behaviour in BEHAVIOURS, behaviour
        assert edns_error in (None, *EDNS_ERRORS), edns_error
        self.name, self.address, self.behaviour, self.glue = norm(name), address, behaviour, glue
        self.edns_error = edns_error
        self.delay_ms, self.forge = delay_ms, forge
        self.extra = (list(extra_answer), list(extra_authority), list(extra_additional))


class Zone:
    """A zone's records ({name: {rdtype: RRset}}) and the authoritative lookup of RFC 1034 4.3.2
    (no wildcards)."""

    def __init__(self, apex, lines, ttl=TTL, minimum=300):
        self.apex = norm(apex)
        self.origin = dns.name.from_text(self.apex)
        self.nodes = {}
        self.add([f"{self.apex} {ttl} IN SOA ns.{self.apex.lstrip('.')} "
                  f"hostmaster.{self.apex.lstrip('.')} 1 7200 3600 1209600 {minimum}"
                  if self.apex != "." else
                  f". {ttl} IN SOA a.root-servers.test. hostmaster.test. 1 7200 3600 1209600 "
                  f"{minimum}"])
        self.add(lines)

    @property
    def soa(self):
        return self.nodes[self.origin][dns.rdatatype.SOA]

    def add(self, lines):
        for rrset in rrsets(lines):
            node = self.nodes.setdefault(rrset.name, {})
            if rrset.rdtype in node:
                for rr in rrset:
                    node[rrset.rdtype].add(rr)
            else:
                node[rrset.rdtype] = rrset

    def lookup(self, qname, qtype):
        """(rcode, aa, answer, authority, additional) for a question inside the zone."""
        qname = dns.name.from_text(norm(qname))
        # A delegation on the way down from the apex (the apex's own NS is not one).
        depth = len(self.origin.labels)
        for i in range(depth + 1, len(qname.labels) + 1):
            cut = dns.name.Name(qname.labels[-i:])
            ns = self.nodes.get(cut, {}).get(dns.rdatatype.NS)
            if ns is not None and not (cut == qname and qtype == dns.rdatatype.DS):
                return dns.rcode.NOERROR, False, [], [ns], self.addresses(ns)
        answer = []
        name = qname
        for _ in range(9):  # a CNAME chain inside the zone, bounded
            node = self.nodes.get(name)
            if node is None:
                if answer:
                    return dns.rcode.NOERROR, True, answer, [], []
                if any(n.is_subdomain(name) for n in self.nodes):
                    return dns.rcode.NOERROR, True, [], [self.soa], []  # an empty non-terminal
                return dns.rcode.NXDOMAIN, True, [], [self.soa], []
            if qtype == dns.rdatatype.ANY:
                return dns.rcode.NOERROR, True, answer + list(node.values()), [], []
            if qtype in node:
                return dns.rcode.NOERROR, True, answer + [node[qtype]], [], []
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None:
                return dns.rcode.NOERROR, True, answer, ([self.soa] if not answer else []), []
            answer.append(cname)
            name = cname[0].target
            if not name.is_subdomain(self.origin):
                break  # out of the zone: the resolver follows it
        return dns.rcode.NOERROR, True, answer, [], []

    def addresses(self, ns):
        out = []
        for rr in ns:
            for t in (dns.rdatatype.A, dns.rdatatype.AAAA):
                found = self.nodes.get(rr.target, {}).get(t)
                if found is not None:
                    out.append(found)
        return out


class Seen:
    """One query a fake server received."""

    def __init__(self, server, transport, src, raw, at):
        self.server, self.transport, self.src, self.at = server, transport, src, at
        self.host, self.port = src
        self.raw = raw
        self.id = self.flags = None
        self.qname, self.qtype, self.error = "", None, None
        self.edns, self.payload = -1, 0  # the OPT record's version (-1: none) and payload size
        if len(raw) >= 12:
            self.id, self.flags = struct.unpack("!HH", raw[:4])
        try:
            self.message = dns.message.from_wire(raw)
            if self.message.question:
                self.qname = self.message.question[0].name.to_text()
                self.qtype = self.message.question[0].rdtype
            self.edns, self.payload = self.message.edns, self.message.payload
        except (dns.exception.DNSException, ValueError) as e:
            self.message = None
            self.error = f"{type(e).__name__}: {e}"

    @property
    def rd(self):
        return (self.flags or 0) >> 8 & 1

    @property
    def qr(self):
        return (self.flags or 0) >> 15 & 1

    def describe(self):
        what = (f"{self.qname} {dns.rdatatype.to_text(self.qtype)}" if self.qtype is not None
                else self.error or "no question")
        ident = f"ID 0x{self.id:04X}" if self.id is not None else "(no header)"
        edns = (f", EDNS {self.payload}" + (f" version {self.edns}" if self.edns else "")
                if self.edns >= 0 else "")
        return (f"{self.server} ({self.transport.upper()}) from port {self.port}: {ident} "
                f"RD={self.rd}{edns}: {what}")


class Scope:
    """One test's part of the tree: its zones, and the queries about names inside them."""

    def __init__(self, hier, tag):
        self.hier, self.tag = hier, tag
        self.zones = []  # apexes (normalised)
        self.started = time.monotonic()

    def zone(self, label):
        """The name of a zone of this test: "<label>-<tag>.test."."""
        return f"{label}-{self.tag}.{TLD}"

    def address(self):
        return self.hier.address()

    def add_zone(self, apex, records=(), servers=(), parent=None, parent_glue=None, soa_ttl=TTL,
                 minimum=300, ns_ttl=TTL):
        """Serves the zone `apex` (records: "owner TTL IN TYPE RDATA" lines, "{z}" replaced by the
        apex) on `servers` (Server objects; each gets an address from the pool if it has none) and
        delegates it from `parent` (a Zone of this test, or test.): NS records, and glue for each
        server with an address and glue=True. `parent_glue` ({name: address}) overrides the glue
        the parent gives (an address that is not the server's, for a name outside it...). The
        zone's SOA has the TTL `soa_ttl` and the MINIMUM `minimum` (stage 8's negative caching).
        `ns_ttl` is the TTL of the NS records and their addresses, in the zone and in the
        delegation (0: records that must not be kept, yet are needed for this resolution).
        Returns the Zone."""
        apex = norm(apex)
        lines = [r.replace("{z}", apex) for r in records]
        for s in servers:
            if s.address is None and not s.name.endswith(".invalid."):
                s.address = self.hier.address()
        ns_lines = [f"{apex} {ns_ttl} IN NS {s.name}" for s in servers]
        own = [f"{s.name} {ns_ttl} IN A {s.address}" for s in servers
               if s.address and under(s.name, apex)]
        zone = Zone(apex, lines + ns_lines + own, soa_ttl, minimum)
        glue = {s.name: s.address for s in servers if s.address and s.glue}
        if parent_glue is not None:
            glue.update(parent_glue)
        delegating = parent if parent is not None else self.hier.tld
        with self.hier.lock:
            delegating.add(ns_lines + [f"{n} {ns_ttl} IN A {a}" for n, a in glue.items()])
            for s in servers:
                if s.address:
                    self.hier.assign(s.address, zone, s)
        self.zones.append(apex)
        return zone

    def add_root_records(self, records):
        """Records the root servers themselves answer (AA=1), for names just below the root
        ("<label>-<tag>."): a resolution that asks the root and nothing else, and puts one RRset,
        the answer, into a cache (stage 8's eviction test). Their names count as this test's."""
        with self.hier.lock:
            self.hier.root.add(records)
        for line in records:
            name = norm(line.split()[0])
            if name not in self.zones:
                self.zones.append(name)

    def serve(self, address, zone, server):
        """Serves `zone` on `address` too (without delegating anything to it)."""
        with self.hier.lock:
            self.hier.assign(address, zone, server)

    def queries(self, server=None, name=None, transport=None):
        """The queries received about names inside this test's zones (or about `name` only), at
        any server (or at the address `server`), over any transport (or "udp"/"tcp")."""
        out = []
        for s in self.hier.seen():
            if not s.qname:
                continue
            if name is not None and norm(s.qname) != norm(name):
                continue
            if name is None and not any(under(s.qname, z) for z in self.zones):
                continue
            if server is not None and s.server != server:
                continue
            if transport is not None and s.transport != transport:
                continue
            out.append(s)
        return out

    def lines(self, limit=12, **which):
        """What the fake servers received, one line each, for a failure's details."""
        seen = self.queries(**which)
        if not seen:
            return ["the fake name servers received no query about this test's names"]
        t0 = seen[0].at
        out = [f"the fake name servers received {len(seen)} quer"
               f"{'y' if len(seen) == 1 else 'ies'} about this test's names:"]
        out += [f"    +{(s.at - t0) * 1000:.0f} ms  {s.describe()}" for s in seen[:limit]]
        if len(seen) > limit:
            out.append(f"    ... and {len(seen) - limit} more")
        return out


class FakeHierarchy:
    """The servers: start(), scope(), stop()."""

    def __init__(self, hints_path):
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self.hints_path = hints_path
        self._seen = []
        self._zones = {}  # address -> {apex: (Zone, Server)}
        self._timers = []
        self._seq = itertools.count()
        self._pool = itertools.cycle(POOL)
        self._tags = itertools.count(1)
        self._stop = False
        self.errors = []
        self.udp, self.tcp, self.conns = {}, {}, {}  # address -> socket; conn -> (address, buf)
        self.port = self._bind_all()
        self._other_ports = {}  # address -> a socket on another port (forged "port")
        self._chaos_turn = itertools.count()  # which variant a pointer-loop reply takes
        self._random = random.Random()  # the garbage (reproducible: seed it)
        self.root = Zone(".", [f". {TTL} IN NS {n}" for n, _ in ROOT_SERVERS]
                         + [f"{n} {TTL} IN A {a}" for n, a in ROOT_SERVERS]
                         + [f"{TLD} {TTL} IN NS {TLD_SERVER[0]}",
                            f"{TLD_SERVER[0]} {TTL} IN A {TLD_SERVER[1]}"])
        self.tld = Zone(TLD, [f"{TLD} {TTL} IN NS {TLD_SERVER[0]}",
                              f"{TLD_SERVER[0]} {TTL} IN A {TLD_SERVER[1]}"])
        for name, address in ROOT_SERVERS:
            self.assign(address, self.root, Server(name, address))
        self.assign(TLD_SERVER[1], self.tld, Server(*TLD_SERVER))
        hints_path.write_text(
            "; the root hints of the stage-7 tests' fake hierarchy (fake_hierarchy.py): every\n"
            f"; server listens on port {self.port} (--ns-port), UDP and TCP\n"
            + "".join(f".                        3600000      NS    {n.upper()}\n"
                      f"{n.upper():<25}3600000      A     {a}\n" for n, a in ROOT_SERVERS)
            + "; End of file\n")
        self._thread = threading.Thread(target=self._run, name="fake-hierarchy", daemon=True)

    def _bind_all(self):
        for _ in range(30):  # bounded: a port taken on some address is rare
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((ADDRESSES[0], 0))
                port = s.getsockname()[1]
            made = []
            try:
                for a in ADDRESSES:
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    made.append(u)
                    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                    u.bind((a, port))
                    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    made.append(t)
                    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    t.bind((a, port))
                    t.listen(64)
                    u.setblocking(False)
                    t.setblocking(False)
                    self.udp[a], self.tcp[a] = u, t
                return port
            except OSError:
                for s in made:
                    s.close()
                self.udp, self.tcp = {}, {}
        raise RuntimeError("no port is free on every fake name server address (127.0.1.x)")

    # ---- the tests' side

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        self._thread.join(5)
        for s in [*self.udp.values(), *self.tcp.values(), *self.conns,
                  *self._other_ports.values()]:
            s.close()

    def scope(self):
        return Scope(self, f"t{next(self._tags)}")

    def address(self):
        with self.lock:
            return next(self._pool)

    def assign(self, address, zone, server):
        self._zones.setdefault(address, {})[zone.apex] = (zone, server)

    def seen(self):
        with self.lock:
            return list(self._seen)

    def wait_queries(self, predicate, count, timeout):
        """Waits until `count` recorded queries satisfy predicate(seen), or `timeout` s."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:  # bounded by the deadline
                got = [s for s in self._seen if predicate(s)]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self._cond.wait(left)

    def send_from(self, address, packets, until=None):
        """Sends each of `packets` ((bytes, (host, port)) pairs) from the UDP socket of the fake
        server at `address` (its address and the one port, as a reply of that server), from the
        calling thread; when the socket's buffer is full, waits for room (at most until the
        monotonic time `until`, if given). Returns how many were sent. For the spoofing tests:
        the datagrams are the test's, and nothing is recorded."""
        sock = self.udp[address]
        sent = 0
        for wire, dest in packets:
            while True:  # bounded: until the kernel takes it, or `until`
                try:
                    sock.sendto(wire, dest)
                    sent += 1
                    break
                except (BlockingIOError, InterruptedError):
                    if until is not None and time.monotonic() >= until:
                        return sent
                    select.select([], [sock], [], 0.01)
                except OSError:
                    break  # an ICMP error of an earlier datagram, reported here: go on
        return sent

    # ---- the thread

    def _run(self):
        by_sock = {s: ("udp", a) for a, s in self.udp.items()}
        by_sock.update({s: ("listen", a) for a, s in self.tcp.items()})
        while not self._stop:
            now = time.monotonic()
            wait = TICK if not self._timers else max(0.0, min(TICK, self._timers[0][0] - now))
            try:
                socks = list(by_sock) + list(self.conns)
                readable, _, _ = select.select(socks, [], [], wait)
                for sock in readable:
                    if sock in self.conns:
                        self._tcp_data(sock)
                        continue
                    kind, address = by_sock[sock]
                    if kind == "listen":
                        try:
                            conn, _ = sock.accept()
                        except OSError:
                            continue
                        conn.setblocking(False)
                        self.conns[conn] = (address, b"")
                        continue
                    for _ in range(200):  # bounded: what is queued now
                        try:
                            data, src = sock.recvfrom(65536)
                        except (BlockingIOError, ConnectionRefusedError):
                            break
                        self._query(address, "udp", src, data, sock)
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    _, _, fn, args = heapq.heappop(self._timers)
                    fn(*args)
            except Exception as e:  # a bug of the tests: keep serving, say it at the end
                self.errors.append(f"{type(e).__name__}: {e}")

    def _tcp_data(self, conn):
        address, buf = self.conns[conn]
        try:
            chunk = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            del self.conns[conn]
            conn.close()
            return
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            msg, buf = buf[2:2 + n], buf[2 + n:]
            self._query(address, "tcp", conn.getpeername(), msg, conn)
        if conn in self.conns:
            self.conns[conn] = (address, buf)

    def _later(self, delay, fn, *args):
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn, args))

    def _send(self, sock, transport, wire, dest):
        try:
            if transport == "tcp":
                sock.setblocking(True)
                sock.settimeout(1.0)
                sock.sendall(struct.pack("!H", len(wire)) + wire)
                sock.setblocking(False)
            else:
                sock.sendto(wire, dest)
        except OSError:
            pass  # the resolver went away (a closed TCP connection): nothing to do

    def _query(self, address, transport, src, data, sock):
        seen = Seen(address, transport, src, data, time.monotonic())
        with self.lock:
            self._seen.append(seen)
            self._cond.notify_all()
            zones = dict(self._zones.get(address, {}))
        msg = seen.message
        if msg is None or seen.qr or len(msg.question) != 1 or msg.opcode() != 0:
            return
        q = msg.question[0]
        match = [z for apex, z in zones.items() if under(q.name, apex)]
        if not match:
            reply = dns.message.make_response(msg, our_payload=FAKE_PAYLOAD)
            reply.set_rcode(dns.rcode.REFUSED)
            self._send(sock, transport, reply.to_wire(max_size=65535), src)
            return
        zone, server = max(match, key=lambda zs: len(zs[0].origin.labels))
        if server.behaviour == "silent":
            return
        with self.lock:
            if server.edns_error and msg.edns >= 0:
                reply = self._edns_error(msg, server.edns_error)
            else:
                reply = self._answer(msg, zone, server, transport)
        wire = self._sized(reply, msg, transport)
        if server.behaviour in CHAOS_BEHAVIOURS:
            wire = self._chaos_wire(server.behaviour, msg, seen.raw, wire)
        delay = server.delay_ms / 1000
        if server.forge and transport == "udp":
            self._forge(address, msg, src, sock)
            delay += FORGE_GAP_MS / 1000
        if delay > 0:
            self._later(delay, self._send, sock, transport, wire, src)
        else:
            self._send(sock, transport, wire, src)

    @staticmethod
    def _sized(reply, msg, transport):
        """The reply's wire form; over UDP, when it is longer than the query allows (512 bytes, or
        its OPT's payload size), TC=1 with every section emptied, the OPT kept."""
        wire = reply.to_wire(max_size=65535)
        limit = max(UDP_PLAIN_MAX, msg.payload) if msg.edns >= 0 else UDP_PLAIN_MAX
        if transport == "udp" and len(wire) > limit:
            reply.answer, reply.authority, reply.additional = [], [], []
            reply.flags |= dns.flags.TC
            wire = reply.to_wire(max_size=65535)
        return wire

    @staticmethod
    def _edns_error(msg, error):
        """The reply of a server that does not speak EDNS to a query with an OPT record."""
        reply = dns.message.make_response(msg, our_payload=FAKE_PAYLOAD)
        if error == "badvers":
            reply.set_rcode(dns.rcode.BADVERS)  # the upper bits go into the OPT record's TTL
        else:
            reply.use_edns(False)
            reply.set_rcode(dns.rcode.FORMERR if error == "formerr" else dns.rcode.NOTIMP)
        return reply

    def _answer(self, msg, zone, server, transport):
        q = msg.question[0]
        reply = dns.message.make_response(msg, our_payload=FAKE_PAYLOAD)
        b = server.behaviour
        if b in ("refused", "servfail", "formerr"):
            reply.set_rcode({"refused": dns.rcode.REFUSED, "servfail": dns.rcode.SERVFAIL,
                             "formerr": dns.rcode.FORMERR}[b])
            return reply
        if b == "upward":
            ns = self.root.nodes[self.root.origin][dns.rdatatype.NS]
            reply.authority = [ns]
            reply.additional = self.root.addresses(ns)
            return reply
        if b == "self-referral":
            ns = zone.nodes[zone.origin][dns.rdatatype.NS]
            reply.authority = [ns]
            reply.additional = zone.addresses(ns)
            return reply
        if b in ("qr0", "other-question"):
            asked = q.name if b == "qr0" else dns.name.Name((b"other",) + q.name.labels)
            reply.question = [dns.rrset.RRset(asked, q.rdclass, q.rdtype)]
            reply.flags |= dns.flags.AA
            reply.answer = rrsets([f"{q.name} 300 IN A {FORGED_A}"])
            return reply
        if b == "truncate" and transport == "udp":
            reply.flags |= dns.flags.TC | dns.flags.AA
            reply.answer = rrsets([f"{q.name} 300 IN A {TRUNCATED_A}"])
            return reply
        if b == "deep" and len(q.name.labels) > len(zone.origin.labels) + 1:
            child = dns.name.Name(q.name.labels[-(len(zone.origin.labels) + 1):])
            reply.authority = rrsets([f"{child} {TTL} IN NS {server.name}"])
            reply.additional = rrsets([f"{server.name} {TTL} IN A {server.address}"])
            return reply
        rcode, aa, answer, authority, additional = zone.lookup(q.name, q.rdtype)
        reply.set_rcode(rcode)
        if aa:
            reply.flags |= dns.flags.AA
        reply.answer = [self._owned(r, q.name) for r in answer]
        reply.authority, reply.additional = list(authority), list(additional)
        extra_answer, extra_authority, extra_additional = server.extra
        reply.answer += rrsets(extra_answer)
        reply.authority += rrsets(extra_authority)
        reply.additional += rrsets(extra_additional)
        if b == "unrelated":
            reply.answer += self._unrelated(q.name, zone)
        return reply

    @staticmethod
    def _unrelated(qname, zone):
        """UNRELATED_COUNT records no question asked for: other names inside the zone and outside
        it (FORGED_A), and other types of the asked name."""
        lines = []
        for i in range(UNRELATED_COUNT):
            kind = i % 4
            if kind == 0:
                lines.append(f"u{i}.{zone.apex} 300 IN A {FORGED_A}")
            elif kind == 1:
                lines.append(f"u{i}.elsewhere-unrelated.test. 300 IN A {FORGED_A}")
            elif kind == 2:
                lines.append(f"{qname} 300 IN TXT \"unrelated {i}\"")
            else:
                lines.append(f"u{i}.{zone.apex} 300 IN CNAME u{i + 1}.elsewhere-unrelated.test.")
        return rrsets(lines)

    def _chaos_wire(self, behaviour, msg, raw, wire):
        """The reply of a hostile server, on the wire: from the real reply `wire` to the query
        `msg` (`raw`, as received)."""
        rnd = self._random
        if behaviour == "qr0":
            return wire[:2] + bytes([wire[2] & 0x7F]) + wire[3:]
        if behaviour == "garbage":
            return bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(GARBAGE_MAX + 1)))
        question = raw[12:12 + len(msg.question[0].name.to_wire()) + 4]
        qend = 12 + len(question)
        if behaviour == "cut":
            # Somewhere after the question and before the end: inside a record (the zone's
            # servers always send one, at least the SOA or an A record).
            return wire[:rnd.randrange(qend + 1, len(wire))] if len(wire) > qend + 1 else wire
        if behaviour == "garbage-records":
            head = struct.pack("!6H", msg.id, 0x8400, 1, rnd.randrange(1, 11),
                               rnd.randrange(6), rnd.randrange(6))
            return head + question + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(401)))
        if behaviour == "pointer-loop":
            a_rr = struct.pack("!HHIH", 1, 1, 300, 4) + bytes(int(x) for x in FORGED_A.split("."))
            turn = next(self._chaos_turn) % 3
            if turn == 0:  # an answer whose owner is a pointer to itself
                head = struct.pack("!6H", msg.id, 0x8400, 1, 1, 0, 0)
                return head + question + struct.pack("!H", 0xC000 | qend) + a_rr
            if turn == 1:  # two answers whose owners point at each other (forwards, backwards)
                head = struct.pack("!6H", msg.id, 0x8400, 1, 2, 0, 0)
                second = qend + 2 + len(a_rr)
                return (head + question + struct.pack("!H", 0xC000 | second) + a_rr
                        + struct.pack("!H", 0xC000 | qend) + a_rr)
            # the question's name is a pointer to itself (offset 12), then an answer
            head = struct.pack("!6H", msg.id, 0x8400, 1, 1, 0, 0)
            return head + struct.pack("!H", 0xC000 | 12) + question[-4:] + \
                struct.pack("!H", 0xC000 | 12) + a_rr
        return wire

    @staticmethod
    def _owned(rrset, qname):
        """The first RRset of an answer carries the question's name as asked (letter case)."""
        if rrset.name == qname:
            copy = dns.rrset.RRset(qname, rrset.rdclass, rrset.rdtype)
            copy.update(rrset)
            return copy
        return rrset

    def _forge(self, address, msg, dest, sock):
        """Forged replies, each carrying FORGED_A: another ID; from FORGER_ADDRESS; from another
        port of `address`; the right ID and source, another question."""
        q = msg.question[0]

        def forged(name, id_):
            m = dns.message.make_query(name, q.rdtype)
            m.id = id_
            r = dns.message.make_response(m)
            r.flags |= dns.flags.AA
            r.answer = rrsets([f"{name} 300 IN A {FORGED_A}"]) if q.rdtype == dns.rdatatype.A \
                else rrsets([f"{name} 300 IN AAAA 2001:db8::66"])
            return r.to_wire()
        if address not in self._other_ports:
            other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            other.bind((address, 0))
            self._other_ports[address] = other
        for s, wire in ((sock, forged(q.name, (msg.id + 0x5A5A) & 0xFFFF)),
                        (self.udp[FORGER_ADDRESS], forged(q.name, msg.id)),
                        (self._other_ports[address], forged(q.name, msg.id)),
                        (sock, forged(dns.name.Name((b"forged",) + q.name.labels), msg.id))):
            self._send(s, "udp", wire, dest)
