#!/usr/bin/python3
"""resolver_server: a stand-in "learner server" for stage 7 (an iterative resolver) and, with
--cache, stage 8 (the same with a cache), right or with one classic mistake, for the grader's own tests (test_grading.py) and for trying the
stage-7 tests without the build. It needs dnspython: run it with /usr/bin/python3 (Debian's
python3-dnspython), as test_grading.py does with the interpreter running the tests.

    resolver_server.py --port P --root-hints FILE [--ns-port P] [--ns-timeout MS] [--deadline MS]
                       [--address A] [--cache [--cache-size N]] [--mistake M]...

What it does, per the stage-7 contract:
  - a datagram shorter than a header, or a response, is dropped; OPCODE != 0 gets NOTIMP and a
    malformed query FORMERR (the header alone, as dnswire.py reads queries: up to 16 questions);
    RD=0 gets REFUSED; a class other than IN gets REFUSED too (the contract says nothing of it);
  - each client query is handled by a thread of its own (a slow resolution delays no other); each
    question is resolved by itself, and the reply merges them in question order, the RCODE the
    first that is not NOERROR;
  - a question is resolved from the root hints down (RD=0 in every query it sends), following
    referrals; glue is used only for names inside the zone that sent the referral, else the name
    server's name is resolved first (a name already being resolved up the stack is skipped);
    records outside the zone of the server that sent them are ignored; a CNAME whose target has
    no answer in the same reply is followed from the root (at most 8 links; a loop: SERVFAIL);
    NXDOMAIN and NODATA carry the SOA the server gave;
  - every query to a name server has a random ID and leaves from a new socket on a port the
    kernel picks; only a reply from the address and port asked, with that ID and question, is
    taken; a timeout (--ns-timeout), SERVFAIL, REFUSED, FORMERR, a lame or upward referral: the
    next address of the zone's servers; none left: SERVFAIL. A TC reply is asked again over TCP,
    of the same server; the truncated one is never used;
  - per question at most 30 referrals, 100 queries to name servers, and --deadline ms;
  - the reply: the client's ID and questions as sent, QR=1, RD copied, RA=1, AA=0; answer = the
    CNAME chain then the final RRset; the SOA in authority for NXDOMAIN and NODATA. Over 512
    bytes: TC=1 and no records.
  - --zone FILE is accepted and ignored (this stand-in has no local data; the tests give none).

With --cache, per the stage-8 contract (class Cache):
  - the RRsets of answers (CNAMEs included), and from referrals the NS RRset and the glue used
    (inside the referring zone) are kept, keyed by owner (without case), type and class, with an
    absolute expiry; NXDOMAIN per name and NODATA per name and type (RFC 2308) with the SOA, for
    min(SOA TTL, SOA MINIMUM); a negative answer without an SOA is not kept;
  - trust (RFC 2181 5.4.1): an answer's data is never replaced by a referral's NS or glue while
    fresh; records outside the bailiwick of their server are never seen by the cache (stage 7
    already ignores them);
  - a question is answered from the cache when every link of its CNAME chain and its end (an
    RRset, NXDOMAIN or NODATA) are fresh, with the remaining TTLs (never below 0); else the walk
    starts at the deepest cached delegation whose servers have a cached address (else the root),
    from the name the cached links lead to;
  - at most --cache-size RRsets (100000; negative entries count), least recently used evicted,
    expired entries dropped when met or when the cache is full;
  - RD=0: answered from the cache alone; a question the cache cannot answer gets REFUSED.

Mistakes, on request (--mistake, repeatable):
  oob-glue          uses any glue, even for names outside the zone that sent the referral;
  rd-upstream       sends RD=1 to the name servers;
  no-cname-follow   returns a CNAME into another zone as it is, without resolving its target;
  first-server-only gives up (SERVFAIL) when the first server asked does not answer well;
  trust-tc          uses a truncated (TC=1) reply as it is, without asking over TCP;
  (with --cache)
  ttl-not-decremented   answers from the cache with the TTLs as they came;
  no-negative-cache     keeps no NXDOMAIN or NODATA: they are asked again every time.
"""

import argparse
import collections
import io
import random
import signal
import socket
import struct
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

import dnswire

QR, OPCODE, RD, RA, TC = 0x8000, 0x7800, 0x0100, 0x0080, 0x0200
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
CNAME_LINKS_MAX = 8
REFERRALS_MAX = 30
QUERIES_MAX = 100
THREADS_MAX = 2000
CACHE_SIZE = 100000
MISTAKES = ("oob-glue", "rd-upstream", "no-cname-follow", "first-server-only", "trust-tc",
            "ttl-not-decremented", "no-negative-cache")
# Trust (RFC 2181 5.4.1): what may replace what in the cache.
GLUE, REFERRAL, ANSWER = 0, 1, 2


class GiveUp(Exception):
    """The resolution went over one of its bounds: SERVFAIL."""


class Budget:
    """What one question may still spend."""

    def __init__(self, deadline_s):
        self.deadline = time.monotonic() + deadline_s
        self.queries = 0
        self.referrals = 0

    def query(self):
        self.queries += 1
        if self.queries > QUERIES_MAX:
            raise GiveUp(f"more than {QUERIES_MAX} queries")
        if time.monotonic() >= self.deadline:
            raise GiveUp("the deadline passed")

    def referral(self):
        self.referrals += 1
        if self.referrals > REFERRALS_MAX:
            raise GiveUp(f"more than {REFERRALS_MAX} referrals")


def read_hints(path):
    """The IPv4 addresses of the root servers in a named.root-format file: the A records of the
    names the NS records of "." point to. Raises ValueError if there are none."""
    ns, addresses = [], {}
    with open(path) as f:
        for line in f:
            words = line.split(";", 1)[0].split()
            if len(words) < 4:
                continue
            if words[2].upper() == "IN" and len(words) >= 5:
                del words[2]
            owner, _, rtype, rdata = words[0].lower(), words[1], words[2].upper(), words[3]
            if rtype == "NS" and owner == ".":
                ns.append(rdata.lower().rstrip(".") + ".")
            elif rtype == "A":
                socket.inet_pton(socket.AF_INET, rdata)
                addresses.setdefault(owner.rstrip(".") + ".", []).append(rdata)
    roots = [a for n in ns for a in addresses.get(n, [])]
    if not roots:
        raise ValueError("no IPv4 address for any NS of the root")
    return roots


def find(section, name, rdtype):
    return [r for r in section if r.name == name and r.rdclass == dns.rdataclass.IN
            and (r.rdtype == rdtype or rdtype == dns.rdatatype.ANY)]


def key_name(name):
    return name.canonicalize()  # lower case: the cache's keys ignore letter case


class Cache:
    """RRsets and negative answers, each with an absolute expiry (time.monotonic()), at most `size`
    of them, the least recently used evicted first. Keys: ("rr", name, type), ("nx", name),
    ("nodata", name, type) (class IN only: the stand-in resolves nothing else)."""

    def __init__(self, size, mistakes):
        self.size = size
        self.mistakes = mistakes
        self.entries = collections.OrderedDict()  # key -> (expiry, rank, RRset or SOA RRset)
        self.lock = threading.Lock()

    def _put(self, key, ttl, rank, rrset):
        now = time.monotonic()
        with self.lock:
            old = self.entries.get(key)
            if old is not None and old[0] > now and old[1] > rank:
                return  # RFC 2181 5.4.1: fresher trust stays
            self.entries[key] = (now + ttl, rank, rrset)
            self.entries.move_to_end(key)
            if len(self.entries) > self.size:
                for k in [k for k, e in self.entries.items() if e[0] <= now]:
                    del self.entries[k]
            while len(self.entries) > self.size:  # bounded: one entry removed each time
                self.entries.popitem(last=False)

    def _get(self, key):
        """(remaining seconds, rank, RRset) of a fresh entry, else None; a hit is used."""
        now = time.monotonic()
        with self.lock:
            e = self.entries.get(key)
            if e is None:
                return None
            if e[0] <= now:
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return e[0] - now, e[1], e[2]

    def _aged(self, found):
        """A copy of the RRset with its remaining TTL."""
        left, _, rrset = found
        copy = rrset.copy()
        if "ttl-not-decremented" not in self.mistakes:
            copy.ttl = max(0, int(left))
        return copy

    def add(self, rrset, rank):
        if rrset.rdclass != dns.rdataclass.IN or rrset.ttl <= 0:
            return
        self._put(("rr", key_name(rrset.name), rrset.rdtype), rrset.ttl, rank, rrset)
        if rank == ANSWER:
            with self.lock:
                self.entries.pop(("nx", key_name(rrset.name)), None)

    def add_negative(self, name, rdtype, nxdomain, soa):
        """NXDOMAIN (for the name) or NODATA (for the name and type), for min(SOA TTL, MINIMUM)."""
        if "no-negative-cache" in self.mistakes or not soa:
            return
        soa = soa[0]
        ttl = min(soa.ttl, soa[0].minimum)
        if ttl <= 0:
            return
        key = ("nx", key_name(name)) if nxdomain else ("nodata", key_name(name), rdtype)
        self._put(key, ttl, ANSWER, soa)

    def rrset(self, name, rdtype):
        found = self._get(("rr", key_name(name), rdtype))
        return None if found is None else self._aged(found)

    def answer(self, name, rdtype):
        """What the cache says of `name` `rdtype`: ("done", rcode, answer, authority) when the CNAME
        chain and its end are all fresh, else ("walk", chain so far, the name to walk from)."""
        chain, names = [], {key_name(name)}
        for _ in range(CNAME_LINKS_MAX + 1):
            found = self.rrset(name, rdtype)
            if found is not None:
                return "done", NOERROR, chain + [found], []
            nx = self._get(("nx", key_name(name)))
            if nx is not None:
                return "done", NXDOMAIN, chain, [self._aged(nx)]
            nodata = self._get(("nodata", key_name(name), rdtype))
            if nodata is not None:
                return "done", NOERROR, chain, [self._aged(nodata)]
            cname = self.rrset(name, dns.rdatatype.CNAME) if rdtype != dns.rdatatype.CNAME \
                else None
            if cname is None:
                break
            chain.append(cname)
            name = cname[0].target
            if key_name(name) in names:
                return "done", SERVFAIL, chain, []
            names.add(key_name(name))
        else:
            return "done", SERVFAIL, chain, []
        return "walk", chain, name

    def delegation(self, name):
        """(zone, [addresses]) of the deepest cached delegation above `name` whose servers have a
        cached address, or None."""
        for depth in range(len(name.labels), 0, -1):
            cut = dns.name.Name(name.labels[-depth:])
            ns = self.rrset(cut, dns.rdatatype.NS)
            if ns is None:
                continue
            addresses = []
            for rr in ns:
                a = self.rrset(rr.target, dns.rdatatype.A)
                if a is not None:
                    addresses += [x.address for x in a]
            if addresses:
                return cut, addresses
        return None


class Resolver:
    def __init__(self, roots, port, timeout_s, deadline_s, mistakes, cache=None):
        self.roots, self.port = roots, port
        self.timeout, self.deadline = timeout_s, deadline_s
        self.mistakes = set(mistakes)
        self.cache = cache

    # ---- one query to one name server

    def matches(self, reply, query):
        return (reply.id == query.id and reply.flags & dns.flags.QR and len(reply.question) == 1
                and reply.question[0].name == query.question[0].name
                and reply.question[0].rdtype == query.question[0].rdtype
                and reply.question[0].rdclass == query.question[0].rdclass)

    def ask(self, address, name, rdtype, budget):
        """The reply of the server at `address` to `name` `rdtype`, or None (no reply in time)."""
        budget.query()
        q = dns.message.make_query(name, rdtype)
        q.id = random.getrandbits(16)
        q.flags = dns.flags.RD if "rd-upstream" in self.mistakes else 0
        server = (address, self.port)
        end = min(time.monotonic() + self.timeout, budget.deadline)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("0.0.0.0", 0))
            s.sendto(q.to_wire(), server)
            while True:  # bounded by `end`
                left = end - time.monotonic()
                if left <= 0:
                    return None
                s.settimeout(left)
                try:
                    data, peer = s.recvfrom(65535)
                except socket.timeout:
                    return None
                except ConnectionRefusedError:
                    continue
                if peer != server:
                    continue
                try:
                    reply = dns.message.from_wire(data)
                except (dns.exception.DNSException, ValueError):
                    continue
                if not self.matches(reply, q):
                    continue
                if reply.flags & dns.flags.TC and "trust-tc" not in self.mistakes:
                    return self.ask_tcp(server, name, rdtype, budget)
                return reply

    def ask_tcp(self, server, name, rdtype, budget):
        budget.query()
        q = dns.message.make_query(name, rdtype)
        q.id = random.getrandbits(16)
        q.flags = dns.flags.RD if "rd-upstream" in self.mistakes else 0
        wire = q.to_wire()
        left = min(self.timeout, budget.deadline - time.monotonic())
        if left <= 0:
            return None
        try:
            with socket.create_connection(server, timeout=left) as s:
                s.sendall(struct.pack("!H", len(wire)) + wire)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    chunk = s.recv(65536)
                    if not chunk:
                        return None
                    buf += chunk
            reply = dns.message.from_wire(buf[2:2 + struct.unpack("!H", buf[:2])[0]])
        except (OSError, dns.exception.DNSException, ValueError):
            return None
        return reply if self.matches(reply, q) else None

    # ---- one walk from the root

    def classify(self, reply, name, rdtype, zone):
        """What a reply from a server of `zone` says about `name`:
        ("done", rcode, answer, authority), ("cname", answer, target), ("referral", NS RRset),
        or None (lame: try the next server). Records outside `zone` are ignored."""
        answer, owner = [], name
        for _ in range(CNAME_LINKS_MAX + 2):
            if not owner.is_subdomain(zone):
                break
            found = find(reply.answer, owner, rdtype)
            if found:
                return "done", NOERROR, answer + found, []
            cname = find(reply.answer, owner, dns.rdatatype.CNAME)
            if not cname:
                break
            answer.append(cname[0])
            owner = cname[0][0].target
        soa = [r for r in reply.authority if r.rdtype == dns.rdatatype.SOA
               and r.name.is_subdomain(zone) and owner.is_subdomain(r.name)]
        if answer:
            if reply.rcode() == dns.rcode.NXDOMAIN and soa:
                return "done", NXDOMAIN, answer, soa[:1]
            if "no-cname-follow" in self.mistakes:
                return "done", NOERROR, answer, []
            return "cname", answer, owner
        if reply.rcode() == dns.rcode.NXDOMAIN:
            return "done", NXDOMAIN, [], soa[:1]
        ns = [r for r in reply.authority if r.rdtype == dns.rdatatype.NS]
        if ns and not soa:
            cut = ns[0].name
            if cut.is_subdomain(zone) and cut != zone and name.is_subdomain(cut):
                return "referral", ns[0]
            return None  # upward or sideways: lame
        if soa or reply.flags & dns.flags.AA:
            return "done", NOERROR, [], soa[:1]
        return None

    def addresses(self, ns, reply, zone, budget, stack):
        """The addresses of a referral's servers, one at a time: the usable glue first (names
        inside `zone`, which sent it), then the other names resolved (not those being resolved
        up the stack)."""
        glueless = []
        for rr in ns:
            glue = find(reply.additional, rr.target, dns.rdatatype.A)
            if glue and (rr.target.is_subdomain(zone) or "oob-glue" in self.mistakes):
                if self.cache is not None and rr.target.is_subdomain(zone):
                    self.cache.add(glue[0], GLUE)
                for a in glue[0]:
                    yield a.address
            else:
                glueless.append(rr.target)
        for target in glueless:
            if target in stack:
                continue
            rcode, answer, _ = self.resolve(target, dns.rdatatype.A, budget, stack + (target,))
            for rrset in answer:
                if rrset.rdtype == dns.rdatatype.A:
                    for a in rrset:
                        yield a.address

    def walk(self, name, rdtype, budget, stack):
        """Asks from the root down: ("done", ...) or ("cname", ...) as classify() says, or
        ("done", SERVFAIL, [], []) when no server of a zone answers usefully."""
        zone, servers = dns.name.root, iter(self.roots)
        cached = self.cache.delegation(name) if self.cache is not None else None
        if cached is not None:
            zone, servers = cached[0], iter(cached[1])
        while True:  # bounded by budget.referral()
            referral = None
            for address in servers:
                reply = self.ask(address, name, rdtype, budget)
                outcome = None
                if reply is not None and reply.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    outcome = self.classify(reply, name, rdtype, zone)
                if outcome is None:
                    if "first-server-only" in self.mistakes:
                        return "done", SERVFAIL, [], []
                    continue
                if outcome[0] != "referral":
                    self.remember(outcome, name, rdtype)
                    return outcome
                referral = (outcome[1], reply)
                break
            if referral is None:
                return "done", SERVFAIL, [], []
            budget.referral()
            ns, reply = referral
            if self.cache is not None:
                self.cache.add(ns, REFERRAL)
            servers = self.addresses(ns, reply, zone, budget, stack)
            zone = ns.name

    def remember(self, outcome, name, rdtype):
        """Puts an answer (its RRsets; a negative one with its SOA) into the cache."""
        if self.cache is None:
            return
        answer = outcome[2] if outcome[0] == "done" else outcome[1]
        for rrset in answer:
            self.cache.add(rrset, ANSWER)
        if outcome[0] != "done" or outcome[1] not in (NOERROR, NXDOMAIN) or \
                (outcome[1] == NOERROR and any(r.rdtype == rdtype for r in answer)):
            return
        owner = answer[-1][0].target if answer and answer[-1].rdtype == dns.rdatatype.CNAME \
            else name
        self.cache.add_negative(owner, rdtype, outcome[1] == NXDOMAIN, outcome[3])

    def resolve(self, name, rdtype, budget, stack=()):
        """(rcode, answer RRsets: the CNAME chain then the final RRset, authority RRsets)."""
        chain, names = [], {name}
        while True:  # bounded: at most CNAME_LINKS_MAX links
            if self.cache is not None:
                cached = self.cache.answer(name, rdtype)
                if cached[0] == "done":
                    _, rcode, answer, authority = cached
                    return rcode, chain + answer, authority
                _, links, target = cached
                if links:
                    chain += links
                    names.update(r.name for r in links)
                    if target in names or \
                            sum(1 for r in chain if r.rdtype == dns.rdatatype.CNAME) > CNAME_LINKS_MAX:
                        return SERVFAIL, chain, []
                    names.add(target)
                    name = target
            outcome = self.walk(name, rdtype, budget, stack)
            if outcome[0] == "done":
                _, rcode, answer, authority = outcome
                chain += answer
                links = sum(1 for r in chain if r.rdtype == dns.rdatatype.CNAME)
                if links > CNAME_LINKS_MAX and rdtype != dns.rdatatype.CNAME:
                    return SERVFAIL, chain, []
                return rcode, chain, authority
            _, answer, target = outcome
            chain += answer
            links = sum(1 for r in chain if r.rdtype == dns.rdatatype.CNAME)
            if target in names or links > CNAME_LINKS_MAX:
                return SERVFAIL, chain, []
            names.add(target)
            name = target


class Server:
    def __init__(self, sock, resolver):
        self.sock, self.resolver = sock, resolver
        self.active = 0
        self.lock = threading.Lock()

    def header_only(self, query_id, flags, rcode):
        return struct.pack("!6H", query_id, QR | (flags & (OPCODE | RD)) | RA | rcode, 0, 0, 0, 0)

    def on_datagram(self, data, client):
        if len(data) < 12 or data[2] & 0x80:
            return None
        query_id, flags = struct.unpack("!HH", data[:4])
        if (flags >> 11) & 0xF:
            return self.header_only(query_id, flags, NOTIMP)
        try:
            query = dnswire.Query(data, max_questions=dnswire.QUESTIONS_MAX)
        except dnswire.Malformed:
            return self.header_only(query_id, flags, FORMERR)
        if not flags & RD:
            return self.reply(data, query, [self.from_cache(labels, qtype, qclass)
                                            for labels, qtype, qclass, _, _ in query.questions])
        with self.lock:
            if self.active >= THREADS_MAX:
                return self.reply(data, query, [(SERVFAIL, [], [])])
            self.active += 1
        threading.Thread(target=self.resolve_all, args=(data, query, client), daemon=True).start()
        return None

    def from_cache(self, labels, qtype, qclass):
        """RD=0: what the cache alone says of a question, or REFUSED."""
        cache = self.resolver.cache
        if cache is None or qclass != dns.rdataclass.IN:
            return REFUSED, [], []
        cached = cache.answer(dns.name.Name([*labels, b""]), qtype)
        return cached[1:] if cached[0] == "done" and cached[1] != SERVFAIL else (REFUSED, [], [])

    def resolve_one(self, labels, qtype, qclass):
        if qclass != dns.rdataclass.IN:
            return REFUSED, [], []
        name = dns.name.Name([*labels, b""])
        try:
            return self.resolver.resolve(name, qtype, Budget(self.resolver.deadline))
        except GiveUp:
            return SERVFAIL, [], []

    def resolve_all(self, data, query, client):
        try:
            parts = [self.resolve_one(labels, qtype, qclass)
                     for labels, qtype, qclass, _, _ in query.questions]
            self.sock.sendto(self.reply(data, query, parts), client)
        except Exception as e:  # a stand-in's bug: say it, and go on
            print(f"resolver_server: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        finally:
            with self.lock:
                self.active -= 1

    def reply(self, data, query, parts):
        rcode = next((p[0] for p in parts if p[0] != NOERROR), NOERROR)
        flags = QR | (query.flags & RD) | RA | rcode
        out = io.BytesIO()
        out.write(bytes(12))
        out.write(data[12:query.question_end])
        compress, counts = {}, []
        for section in (1, 2):
            n = 0
            for p in parts:
                for rrset in p[section]:
                    n += rrset.to_wire(out, compress)
            counts.append(n)
        wire = out.getvalue()
        if len(wire) > 512:
            return struct.pack("!6H", query.id, flags | TC, query.qdcount, 0, 0, 0) + \
                data[12:query.question_end]
        return struct.pack("!6H", query.id, flags, query.qdcount, counts[0], counts[1], 0) + \
            wire[12:]

    def serve(self):
        while True:
            data, client = self.sock.recvfrom(65536)
            try:
                reply = self.on_datagram(data, client)
            except Exception as e:  # a stand-in's bug: say it, and go on
                print(f"resolver_server: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                continue
            if reply is not None:
                self.sock.sendto(reply, client)


def positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def port_number(text):
    value = int(text)
    if not 0 < value < 65536:
        raise ValueError(text)
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=port_number, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--root-hints", required=True, metavar="FILE")
    ap.add_argument("--ns-port", type=port_number, default=53, metavar="P")
    ap.add_argument("--ns-timeout", type=positive, default=800, metavar="MS")
    ap.add_argument("--deadline", type=positive, default=5000, metavar="MS")
    ap.add_argument("--zone", action="append", default=[])
    ap.add_argument("--cache", action="store_true", help="stage 8: keep what is learnt")
    ap.add_argument("--cache-size", type=positive, default=CACHE_SIZE, metavar="N")
    ap.add_argument("--mistake", action="append", default=[], choices=MISTAKES)
    args = ap.parse_args()
    try:
        roots = read_hints(args.root_hints)
    except (OSError, ValueError) as e:
        ap.error(f"--root-hints {args.root_hints}: {e}")

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    sock.bind((args.address, args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    cache = Cache(args.cache_size, set(args.mistake)) if args.cache else None
    resolver = Resolver(roots, args.ns_port, args.ns_timeout / 1000, args.deadline / 1000,
                        args.mistake, cache)
    print(f"resolver_server listening on {args.address}:{args.port}/udp, root servers "
          f"{', '.join(roots)} port {args.ns_port}"
          + (f", a cache of {args.cache_size} RRsets" if cache is not None else "")
          + (f", mistakes: {', '.join(args.mistake)}" if args.mistake else ""),
          file=sys.stderr, flush=True)
    Server(sock, resolver).serve()


if __name__ == "__main__":
    main()
