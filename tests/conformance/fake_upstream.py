"""fake_upstream: a scriptable upstream resolver for the stage-6 (forwarding) tests.

It runs in a thread of the pytest process, on 127.0.0.1 and a port the OS chooses, and is started
once per session (conftest.py's `fake_upstream` fixture, only when a stage-6 test needs it; the
pooled stage-6 server is started with `--resolver 127.0.0.1:PORT`, the {resolver} placeholder).

Tests share one pooled server, and so this upstream: each test scripts names of its own
(`unique("ttl")` -> "ttl-7.fwd.test."), and says per name what the upstream does with a query for
it (`script(name, ...)`, see Script):

    answer, authority, additional   records, one "owner TTL CLASS TYPE RDATA" line each
    rcode                           e.g. NXDOMAIN (with an SOA line in authority)
    aa, tc                          the AA and TC bits of the reply
    delay_ms                        the reply leaves that long after the query came (other queries
                                    are answered meanwhile: a heap of timers, never a sleep)
    silent                          never answered; drop_first=N: the first N queries are not
    forge                           forged replies sent first, each a reply the server must ignore:
                                    "id" (another ID), "port" (from another port of 127.0.0.1),
                                    "address" (from 127.0.0.2, the upstream's port), "name" (the
                                    answer to another name), "type" (to another QTYPE), "class"
                                    (to QCLASS CH, its records IN all the same); they carry
                                    FORGED_A (203.0.113.66), the real reply follows gap_ms later
    after                           held until the reply for the query of that other name is sent:
                                    answers arrive in the other order than the queries
    recase                          the reply's question spells the name in other letter case (as
                                    a resolver using 0x20 randomisation might): still the same name

A name nobody scripted gets DEFAULT: NOERROR, and for QTYPE A the record `<QNAME> 300 IN A
198.51.100.53` (QNAME as received); other types get an empty answer (NODATA). The readiness probe
and the `alive.grader.invalid.` queries of the other stages' tests, forwarded at stage 6, are
answered so.

Every query received is recorded (`queries(name)`: Seen, with its ID, source address and port,
flags, counts and questions, and when it came), even those it does not answer.
"""

import heapq
import itertools
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
import dns.rdataclass
import dns.rdatatype
import dns.rrset

DEFAULT_A = "198.51.100.53"
DEFAULT_TTL = 300
FORGED_A = "203.0.113.66"  # what every forged reply says: a relayed reply with it took the bait
FORGED_TTL = 7
FORGE_KINDS = ("id", "port", "address", "name", "type", "class")
HOLD_MAX = 3.0  # s: a reply held for another name's (`after`) leaves anyway after this long
TICK = 0.05  # s: the thread looks at its stop flag at least this often


def norm(name):
    """A name as a key: lower case, with its final dot."""
    text = name if name.endswith(".") else name + "."
    return text.lower()


def default_answer(qname, qtype):
    """The records of the DEFAULT reply for a question (QNAME as the upstream received it)."""
    if qtype == dns.rdatatype.A:
        return [f"{qname} {DEFAULT_TTL} IN A {DEFAULT_A}"]
    return []


class Seen:
    """One datagram the upstream received: who sent it, its header and questions."""

    def __init__(self, raw, addr, at):
        self.raw, self.addr, self.at = raw, addr, at
        self.host, self.port = addr[0], addr[1]
        self.id = self.flags = self.qdcount = self.ancount = self.nscount = self.arcount = None
        self.questions = []  # (name as received, qtype, qclass)
        self.error = None  # why it could not be read, if it could not
        if len(raw) < 12:
            self.error = f"{len(raw)} bytes: shorter than a header"
            return
        (self.id, self.flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!6H", raw[:12])
        try:
            msg = dns.message.from_wire(raw)
        except (dns.exception.DNSException, ValueError) as e:
            self.error = f"{type(e).__name__}: {e}"
            return
        self.message = msg
        self.questions = [(q.name.to_text(), q.rdtype, q.rdclass) for q in msg.question]

    @property
    def qr(self):
        return self.flags >> 15 & 1

    @property
    def opcode(self):
        return self.flags >> 11 & 0xF

    @property
    def rd(self):
        return self.flags >> 8 & 1

    @property
    def name(self):
        """The first question's name as received ("" if none)."""
        return self.questions[0][0] if self.questions else ""

    def describe(self):
        qs = ", ".join(f"{n} {dns.rdatatype.to_text(t)} {dns.rdataclass.to_text(c)}"
                       for n, t, c in self.questions)
        if self.id is None:
            return f"from port {self.port}: {self.error}"
        return (f"ID 0x{self.id:04X} from port {self.port}, flags 0x{self.flags:04X} (RD={self.rd}), "
                f"QD={self.qdcount} AN={self.ancount} NS={self.nscount} AR={self.arcount}: "
                + (qs or self.error or "no question"))


class Script:
    """What the upstream does with queries for one name (see the module's docstring)."""

    def __init__(self, answer=(), authority=(), additional=(), rcode=dns.rcode.NOERROR, aa=False,
                 tc=False, delay_ms=0, silent=False, drop_first=0, forge=(), gap_ms=20, after=None,
                 recase=False):
        bad = [k for k in forge if k not in FORGE_KINDS]
        assert not bad, f"unknown forgeries {bad}: {FORGE_KINDS}"
        self.answer, self.authority, self.additional = list(answer), list(authority), list(additional)
        self.rcode, self.aa, self.tc = rcode, aa, tc
        self.delay_ms, self.silent, self.drop_first = delay_ms, silent, drop_first
        self.forge, self.gap_ms = tuple(forge), gap_ms
        self.after = norm(after) if after else None
        self.recase = recase
        self.count = 0  # queries received for the name


def rrsets(lines):
    """dnspython RRsets from "owner TTL CLASS TYPE RDATA" lines, grouped by owner and type."""
    out = {}
    for line in lines:
        owner, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        key = (owner.lower(), rdtype.upper())
        if key in out:
            out[key].add(dns.rrset.from_text(owner, int(ttl), rdclass, rdtype, rdata)[0])
        else:
            out[key] = dns.rrset.from_text(owner, int(ttl), rdclass, rdtype, rdata)
    return list(out.values())


class FakeUpstream:
    """The upstream: start(), script(), queries(), stop()."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, 0))
        self.address = self.sock.getsockname()
        self.resolver = f"{self.address[0]}:{self.address[1]}"  # what --resolver takes
        self._other_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # forge "port"
        self._other_port.bind((host, 0))
        self._other_addr = None  # forge "address": 127.0.0.2, our port (bound when first needed)
        self._lock = threading.Condition()
        self._scripts = {}  # norm(name) -> Script
        self._seen = []  # every Seen, in order
        self._timers = []  # heap of (due, seq, fn, args); touched by the thread only
        self._seq = itertools.count()
        self._held = {}  # norm(name) -> [(seq, fn, args)] waiting for that name's reply
        self._released = set()  # seqs of held replies already sent
        self._names = itertools.count(1)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)
        self.errors = []  # exceptions of the thread (a bug of the tests), shown by the fixture

    # ---- the tests' side

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        self._thread.join(5)
        for s in (self.sock, self._other_port, self._other_addr):
            if s is not None:
                s.close()

    def unique(self, label):
        """A name no other test uses: "<label>-<n>.fwd.test."."""
        return f"{label}-{next(self._names)}.fwd.test."

    def script(self, name, **behaviour):
        """Says what to do with queries for `name` (Script's keywords); returns the name."""
        with self._lock:
            self._scripts[norm(name)] = Script(**behaviour)
        return name

    def queries(self, name=None):
        """What was received (for `name`, compared without case: queries whose first question has
        it), in order of arrival."""
        with self._lock:
            seen = list(self._seen)
        if name is None:
            return seen
        return [s for s in seen if s.questions and norm(s.name) == norm(name)]

    def wait_queries(self, name, count, timeout):
        """Waits until `count` queries for `name` have come, or `timeout` s; returns them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:  # bounded by the deadline
                got = [s for s in self._seen if s.questions and norm(s.name) == norm(name)]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self._lock.wait(left)

    # ---- the thread

    def _run(self):
        self.sock.setblocking(False)
        while not self._stop:
            now = time.monotonic()
            wait = TICK if not self._timers else max(0.0, min(TICK, self._timers[0][0] - now))
            try:
                readable, _, _ = select.select([self.sock], [], [], wait)
                if readable:
                    for _ in range(1000):  # bounded: what is queued now, then the timers
                        try:
                            data, addr = self.sock.recvfrom(65536)
                        except (BlockingIOError, ConnectionRefusedError):
                            break
                        self._received(data, addr)
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    _, _, fn, args = heapq.heappop(self._timers)
                    fn(*args)
            except Exception as e:  # a bug of the tests: keep serving, say it at the end
                self.errors.append(f"{type(e).__name__}: {e}")

    def _later(self, delay, fn, *args):
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn, args))

    def _received(self, data, addr):
        seen = Seen(data, addr, time.monotonic())
        with self._lock:
            self._seen.append(seen)
            script = self._scripts.get(norm(seen.name)) if seen.questions else None
            if script is not None:
                script.count += 1
            self._lock.notify_all()
        if seen.error or seen.qr or not seen.questions:
            return  # not a query we can answer: recorded, and that is all
        if script is None:
            qname, qtype, _ = seen.questions[0]
            self._send(seen, self._reply(seen, default_answer(qname, qtype)))
            return
        if script.silent or script.count <= script.drop_first:
            return
        t = 0.0
        for kind in script.forge:
            self._later(t, self._forge, seen, kind)
        if script.forge:
            t += script.gap_ms / 1000
        t += script.delay_ms / 1000
        real = self._reply(seen, script.answer, script.authority, script.additional, script.rcode,
                           script.aa, script.tc, script.recase)
        if script.after:
            seq = next(self._seq)
            self._held.setdefault(script.after, []).append((seq, seen, real, t))
            self._later(HOLD_MAX, self._release_one, seq, seen, real)
        else:
            self._later(t, self._send, seen, real)

    def _reply(self, seen, answer=(), authority=(), additional=(), rcode=dns.rcode.NOERROR,
               aa=False, tc=False, recase=False):
        q = seen.message
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA | (dns.flags.AA if aa else 0) | (dns.flags.TC if tc else 0)
        r.set_rcode(rcode)
        if recase:
            qn = q.question[0]
            swapped = dns.name.from_text(qn.name.to_text().swapcase())
            r.question = [dns.rrset.RRset(swapped, qn.rdclass, qn.rdtype)]
        r.answer = rrsets(answer)
        r.authority = rrsets(authority)
        r.additional = rrsets(additional)
        return r.to_wire()

    def _send(self, seen, wire, sock=None):
        (sock or self.sock).sendto(wire, seen.addr)
        held = self._held.pop(norm(seen.name), [])
        for seq, other, real, t in held:
            self._later(t, self._release_one, seq, other, real)

    def _release_one(self, seq, seen, real):
        if seq not in self._released:
            self._released.add(seq)
            self._send(seen, real)

    def _forge(self, seen, kind):
        qname, qtype, qclass = seen.questions[0]
        q = seen.message
        sock = self.sock
        if kind == "name":
            other = "forged-" + qname
            q = dns.message.make_query(other, qtype, qclass)
            q.id = seen.id
            qname = other
        elif kind == "type":
            qtype = dns.rdatatype.AAAA if qtype == dns.rdatatype.A else dns.rdatatype.A
            q = dns.message.make_query(qname, qtype, qclass)
            q.id = seen.id
        elif kind == "class":
            other = dns.rdataclass.CH if qclass != dns.rdataclass.CH else dns.rdataclass.HS
            q = dns.message.make_query(qname, qtype, other)
            q.id = seen.id
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        if qtype == dns.rdatatype.A:
            r.answer = rrsets([f"{qname} {FORGED_TTL} IN A {FORGED_A}"])
        else:
            r.answer = rrsets([f"{qname} {FORGED_TTL} IN AAAA 2001:db8::66"])
        if kind == "id":
            r.id = (seen.id + 0x5A5A) & 0xFFFF
        elif kind == "port":
            sock = self._other_port
        elif kind == "address":
            if self._other_addr is None:
                self._other_addr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._other_addr.bind(("127.0.0.2", self.address[1]))
            sock = self._other_addr
        sock.sendto(r.to_wire(), seen.addr)
