#!/usr/bin/python3
"""soak: a bounded soak test of step 9 (`make soak`): mixed load and faults, memory and fds watched.

For --seconds (default 600) the script sends a steady mix of queries to build/step-9, which
resolves in a private copy of the sandbox internet (zones/sandbox/, on 127.0.0.x), and checks that

  - the server never crashes: it is alive at every sample and exits 0 on SIGTERM at the end;
  - its memory and descriptors stay flat: RSS at the end of the warm-up (a minute after the last
    fault) against the highest RSS after it: growth under --rss-tolerance (10 %); the descriptor
    count once every client has gone equals the count before any load;
  - every well-formed query is answered as expected, before --deadline, and every hostile one is
    dropped or answered FORMERR (or BADVERS) as the chapters' rules say. A query without a reply is
    a failure unless its absence is explained (printed with the reason).

The load (per second, before --rate scaling; UDP unless said otherwise):
  hit       names the cache holds after their first resolution (NOERROR, an answer)
  miss      a new name each time under the wildcard *.users.example.net (NOERROR, an answer)
  nxdomain  a new name each time under example.com (NXDOMAIN)
  nodata    mail.example.com AAAA, users.example.net A (NOERROR, no answer)
  big       big.example.com TXT (with and without EDNS): TC, then again over TCP (10 TXT records)
  flaky     a new name under flaky.test, whose first server is dead (NXDOMAIN, within --deadline)
  lame      www.lame.test, a lame delegation (SERVFAIL)
  dead      a new name under lab.example.com: NXDOMAIN until its only server is stopped, then
            SERVFAIL within --deadline
  tcp       connections of 1 to 4 pipelined queries (hit, miss, nxdomain, big)
  hostile   short datagrams and QR=1 messages (dropped: no reply), a bad label, trailing bytes,
            two OPTs, an OPT not owned by the root, an OPT option overrunning its RDLENGTH
            (FORMERR, the header alone), EDNS version 1 (BADVERS), random bytes with QR=0
            (FORMERR or NOTIMP, the header alone); over TCP, a QR=1 message, a zero-length message
            and a bad label before a good query on one connection (only the good one and the
            FORMERR answered)
  slow-ok   a TCP query trickled a byte at a time, whole well within --tcp-timeout (answered)
  slow-idle a TCP query trickled a byte every 0.7 s: the server closes it after --tcp-timeout
  no-read   a TCP client that pipelines big queries and never reads: the server closes it after
            --tcp-timeout (its replies are bounded: tcp.h's TCP_OUT_BACKLOG_MAX)
  flood     twice per run (at 60 % and 85 %), --tcp-max + 16 silent connections at once: the
            server closes the idlest to make room; TCP clients caught by it are explained, not
            failures.

Faults: at a sixth of the run, example.com's second server (127.0.0.21) is stopped (SIGTERM) by its
PID from the sandbox's pid file: a datagram to it is refused at once (ICMP port unreachable, which
the resolver's connected sockets hear). At a quarter of the run, lab.example.com's only server
(127.0.0.22) is frozen (SIGSTOP): its socket stays open and swallows queries, as a server that is
down on a real network does, so the resolver waits for --ns-timeout and answers SERVFAIL within
--deadline.
The warm-up ends a minute after the last fault (half the run at most); the floods come after it.
flaky.test's dead server (127.0.0.26) never runs.

The resolver runs with small limits, so that the run reaches them: --cache-size 2000 (full after
some 20 s of about 120 new names a second, then evicting), --tcp-max 64, --tcp-timeout 3000,
--deadline 3000. With the default 100,000 entries the cache would still be filling at the end of ten
minutes, and RSS would grow with it by design. --valgrind runs the server under valgrind's memcheck
instead (with --rate 0.2: valgrind is slow), to find leaks on the paths the load takes.

Every few seconds (--sample) it records the server's VmRSS and descriptor count (/proc/PID/status,
/proc/PID/fd) and the answered and timed-out counts per kind, to BUILD/soak/samples.csv, and prints
a progress line every 30 s. At the end it prints a summary table and the verdicts, and exits 1 if
any fails. Only 127.0.0.0/8 is used; every process started here is stopped by its pid at the end,
on an error and on Ctrl-C.
"""

import argparse
import collections
import errno
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import dns.message
import dns.rcode

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HINTS = "zones/sandbox/root.hints"
ADDRESS = "127.0.0.1"

A, AAAA, TXT, MX, NS = 1, 28, 16, 15, 2
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4
TCP_ESTABLISHED = 1

HIT_NAMES = [("www.example.com", A), ("www.example.com", AAAA), ("example.com", MX),
             ("example.com", TXT), ("www.example.org", A), ("www.example.net", A),
             ("alias.example.net", A), ("www.flaky.test", A), ("alice.users.example.net", TXT)]
NODATA_NAMES = [("mail.example.com", AAAA), ("users.example.net", A)]

# Queries per second of each kind at --rate 1.
UDP_RATES = {"hit": 300, "miss": 60, "nxdomain": 40, "nodata": 30, "big": 10, "flaky": 10,
             "lame": 5, "dead": 10}
HOSTILE_KINDS = ["h-short", "h-qr1", "h-badlabel", "h-trailing", "h-two-opts", "h-opt-owner",
                 "h-opt-overrun", "h-badvers", "h-random"]
HOSTILE_RATE = 5  # each
TCP_CONN_RATE = 10  # connections per second of kind tcp
TCP_HOSTILE_RATE = 2
SLOW_OK_CLIENTS, SLOW_IDLE_CLIENTS, NO_READ_CLIENTS = 3, 2, 2
TCP_WORKERS = 6

# What each kind is expected to get, for the table.
EXPECT = {
    "hit": "NOERROR + answer", "miss": "NOERROR + answer", "nxdomain": "NXDOMAIN",
    "nodata": "NOERROR, no answer", "big": "TC (then TCP)", "big-tcp": "NOERROR, 10 TXT",
    "flaky": "NXDOMAIN", "lame": "SERVFAIL", "dead": "NXDOMAIN, SERVFAIL once down",
    "tcp": "as its UDP kind", "h-short": "dropped", "h-qr1": "dropped",
    "h-badlabel": "FORMERR, header", "h-trailing": "FORMERR, header",
    "h-two-opts": "FORMERR, header", "h-opt-owner": "FORMERR, header",
    "h-opt-overrun": "FORMERR, header", "h-badvers": "BADVERS + OPT",
    "h-random": "FORMERR/NOTIMP, header", "tcp-hostile": "only good+FORMERR answered",
    "slow-ok": "answered", "slow-idle": "closed at --tcp-timeout", "no-read": "closed by server",
    "flood": "idlest closed, still serving",
}
ORDER = ["hit", "miss", "nxdomain", "nodata", "big", "big-tcp", "flaky", "lame", "dead", "tcp",
         "tcp-hostile"] + HOSTILE_KINDS + ["slow-ok", "slow-idle", "no-read", "flood"]
TRANSPORT = {k: "udp" for k in UDP_RATES}
TRANSPORT.update({k: "udp" for k in HOSTILE_KINDS})
TRANSPORT.update({"big-tcp": "tcp", "tcp": "tcp", "tcp-hostile": "tcp", "slow-ok": "tcp",
                  "slow-idle": "tcp", "no-read": "tcp", "flood": "tcp"})


# --- wire format -------------------------------------------------------------------------------

def wire_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def opt_rr(payload=1232, version=0, options=b"", owner=b"\0", rdlen=None):
    ttl = version << 16
    rdlen = len(options) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", 41, payload, ttl, rdlen) + options


def query(qid, name, qtype, edns=False, flags=0x0100):
    q = wire_name(name) + struct.pack("!HH", qtype, 1)
    hdr = struct.pack("!6H", qid, flags, 1, 0, 0, 1 if edns else 0)
    return hdr + q + (opt_rr() if edns else b"")


def question_of(wire):
    """The question section of a one-question query (uncompressed, as we wrote it)."""
    i = 12
    while wire[i] != 0:
        i += wire[i] + 1
    return wire[12:i + 5].lower()


def hostile(kind, qid, rnd):
    """A hostile datagram of `kind` with ID `qid` (where it has one)."""
    good = query(qid, "www.example.com", A)
    if kind == "h-short":
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 12)))
    if kind == "h-qr1":  # a well-formed response: never answered (two servers could loop)
        return struct.pack("!H", qid) + b"\x81\x80" + good[4:]
    if kind == "h-badlabel":  # label type 0x40 (extended label): FORMERR
        return struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + b"\x41xyz\0" + struct.pack("!HH", A, 1)
    if kind == "h-trailing":
        return good + b"\xde\xad\xbe\xef"
    if kind == "h-two-opts":
        return struct.pack("!6H", qid, 0x0100, 1, 0, 0, 2) + good[12:] + opt_rr() + opt_rr()
    if kind == "h-opt-owner":
        return _with_opt(qid, opt_rr(owner=wire_name("x")))
    if kind == "h-opt-overrun":  # a COOKIE option saying 8 bytes where RDLENGTH leaves 0
        return _with_opt(qid, opt_rr(options=struct.pack("!HH", 10, 8), rdlen=4))
    if kind == "h-badvers":
        return _with_opt(qid, opt_rr(version=1))
    if kind == "h-random":  # random bytes, QR=0
        b = bytearray(rnd.getrandbits(8) for _ in range(rnd.randrange(12, 80)))
        b[0:2] = struct.pack("!H", qid)
        b[2] &= 0x7F
        return bytes(b)
    raise ValueError(kind)


def _with_opt(qid, opt):
    good = query(qid, "www.example.com", A)
    return struct.pack("!6H", qid, 0x0100, 1, 0, 0, 1) + good[12:] + opt


def header(reply):
    return struct.unpack("!6H", reply[:12])


# --- the verdict on one reply ------------------------------------------------------------------

class Checker:
    """Decides what a reply (or its absence) to a query of some kind means."""

    def __init__(self, deadline_ms):
        self.late_ms = deadline_ms + 500  # an answer later than this broke --deadline
        self.lab_down_at = None  # time.monotonic() when lab.example.com's server was stopped
        self.deadline = deadline_ms / 1000

    def udp(self, kind, q, reply, sent):
        """(outcome, reason): outcome is ok, bad or explained."""
        if len(reply) < 12:
            return "bad", "reply under 12 bytes"
        _id, flags, qd, an, ns, ar = header(reply)
        rcode = flags & 0xF
        tc = bool(flags & 0x0200)
        if not flags & 0x8000:
            return "bad", "QR=0 in reply"
        if kind.startswith("h-"):
            return self.hostile(kind, reply, rcode, qd, an, ns, ar)
        if qd != 1 or question_of(reply) != question_of(q):
            return "bad", "question not echoed"
        if rcode == SERVFAIL and kind != "lame" and kind != "dead":
            return "bad", "SERVFAIL"
        want = {"hit": NOERROR, "miss": NOERROR, "nodata": NOERROR, "big": NOERROR,
                "nxdomain": NXDOMAIN, "flaky": NXDOMAIN, "lame": SERVFAIL,
                "big-tcp": NOERROR}.get(kind)
        if kind == "dead":
            down = self.lab_down_at
            if down is None or sent < down - self.deadline:
                want = NXDOMAIN
            elif sent > down + self.deadline + 1:
                want = SERVFAIL
            else:
                want = rcode if rcode in (NXDOMAIN, SERVFAIL) else NXDOMAIN
        if rcode != want:
            return "bad", "%s, not %s" % (dns.rcode.to_text(rcode), dns.rcode.to_text(want))
        if kind == "big":
            return ("ok", None) if tc else ("bad", "no TC for a 2 KB answer over UDP")
        if tc:
            return "bad", "TC on a small answer"
        if kind in ("hit", "miss") and an < 1:
            return "bad", "no answer"
        if kind == "nodata" and an != 0:
            return "bad", "answer in NODATA"
        if kind == "big-tcp" and an != 10:
            return "bad", "%d TXT records, not 10" % an
        return "ok", None

    def hostile(self, kind, reply, rcode, qd, an, ns, ar):
        counts = (qd, an, ns, ar)
        if kind in ("h-short", "h-qr1"):
            return "bad", "answered; must be dropped"
        if kind == "h-badvers":
            try:
                m = dns.message.from_wire(reply)
            except Exception as e:  # noqa: BLE001 - any parse failure is the verdict
                return "bad", "unparsable BADVERS reply: %s" % type(e).__name__
            if m.rcode() != dns.rcode.BADVERS or m.edns < 0:
                return "bad", "%s, not BADVERS with an OPT" % dns.rcode.to_text(m.rcode())
            return "ok", None
        if kind == "h-random":
            if rcode in (FORMERR, NOTIMP) and len(reply) == 12 and counts == (0, 0, 0, 0):
                return "ok", None
            return "bad", "%s, %d bytes" % (dns.rcode.to_text(rcode), len(reply))
        if rcode != FORMERR:
            return "bad", "%s, not FORMERR" % dns.rcode.to_text(rcode)
        if len(reply) != 12 or counts != (0, 0, 0, 0):
            return "bad", "FORMERR not the header alone"
        return "ok", None


# --- statistics --------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = collections.Counter()
        self.ok = collections.Counter()
        self.bad = collections.Counter()
        self.timeout = collections.Counter()
        self.explained = collections.Counter()
        self.reasons = collections.defaultdict(collections.Counter)  # kind -> reason -> n
        self.lat = collections.defaultdict(list)  # kind -> seconds
        self.examples = []  # first failures, for the report

    def sent_one(self, kind, n=1):
        with self.lock:
            self.sent[kind] += n

    def record(self, kind, outcome, reason=None, latency=None):
        with self.lock:
            if outcome == "ok":
                self.ok[kind] += 1
            elif outcome == "bad":
                self.bad[kind] += 1
            elif outcome == "timeout":
                self.timeout[kind] += 1
            else:
                self.explained[kind] += 1
            if reason:
                self.reasons[kind][("%s: %s" % (outcome, reason))] += 1
                if outcome in ("bad", "timeout") and len(self.examples) < 20:
                    self.examples.append("%.1f s %s: %s %s" % (
                        time.monotonic() - T0, kind, outcome, reason))
            if latency is not None:
                self.lat[kind].append(latency)

    def snapshot(self):
        with self.lock:
            return {k: (self.ok[k] + self.bad[k] + self.explained[k], self.timeout[k])
                    for k in ORDER}


T0 = time.monotonic()


# --- the UDP engine ----------------------------------------------------------------------------

class UdpEngine(threading.Thread):
    """Sends the UDP kinds at their rates from one socket and matches the replies by ID."""

    def __init__(self, ctx):
        super().__init__(name="udp", daemon=True)
        self.ctx = ctx
        self.rnd = random.Random(1)
        self.sock = self.new_socket()
        # Hostile datagrams that must be dropped go from sockets of their own, so that any
        # reply at all to them, even one without an ID to match, is seen.
        self.drop_socks = {k: self.new_socket() for k in ("h-short", "h-qr1")}
        self.pending = {}  # id -> (kind, query, sent)
        self.order = collections.deque()  # (sent, id) in sending order, for timeouts
        self.next_id = 1
        self.serial = 0
        self.timeout = ctx.deadline_ms / 1000 + 1.5

    def new_socket(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((ADDRESS, 0))
        s.setblocking(False)
        return s

    def alloc_id(self):
        for _ in range(65536):
            qid = self.next_id
            self.next_id = (self.next_id + 1) & 0xFFFF
            if qid not in self.pending:
                return qid
        raise RuntimeError("no free ID")

    def unique(self, prefix, zone):
        self.serial += 1
        return "%s%d-%x.%s" % (prefix, self.serial, self.rnd.getrandbits(24), zone)

    def make(self, kind, qid):
        r = self.rnd
        if kind == "hit":
            name, qtype = r.choice(HIT_NAMES)
            return query(qid, name, qtype, edns=r.random() < 0.5)
        if kind == "miss":
            return query(qid, self.unique("s", "users.example.net"), A, edns=r.random() < 0.5)
        if kind == "nxdomain":
            return query(qid, self.unique("nx", "example.com"), A)
        if kind == "nodata":
            name, qtype = r.choice(NODATA_NAMES)
            return query(qid, name, qtype)
        if kind == "big":
            return query(qid, "big.example.com", TXT, edns=r.random() < 0.5)
        if kind == "flaky":
            return query(qid, self.unique("f", "flaky.test"), A)
        if kind == "lame":
            return query(qid, "www.lame.test", A)
        if kind == "dead":
            return query(qid, self.unique("d", "lab.example.com"), A)
        return hostile(kind, qid, r)

    def send(self, kind, now):
        qid = self.alloc_id()
        q = self.make(kind, qid)
        sock = self.drop_socks.get(kind, self.sock)
        try:
            sock.sendto(q, (ADDRESS, self.ctx.port))
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS):
                self.ctx.stats.record(kind, "explained", "client send buffer full")
                self.ctx.stats.sent_one(kind)
                return
            raise
        self.ctx.stats.sent_one(kind)
        if kind in self.drop_socks:
            self.ctx.stats.record(kind, "ok")  # counted dropped unless a reply turns up
            return
        self.pending[qid] = (kind, q, now)
        self.order.append((now, qid))

    def receive(self, sock):
        ctx = self.ctx
        while True:
            try:
                reply = sock.recv(65535)
            except BlockingIOError:
                return
            now = time.monotonic()
            if sock is not self.sock:
                kind = [k for k, s in self.drop_socks.items() if s is sock][0]
                with ctx.stats.lock:
                    ctx.stats.ok[kind] -= 1
                ctx.stats.record(kind, "bad", "answered; must be dropped")
                continue
            if len(reply) < 2:
                ctx.stats.record("h-random", "bad", "stray reply under 2 bytes")
                continue
            qid = struct.unpack("!H", reply[:2])[0]
            entry = self.pending.pop(qid, None)
            if entry is None:
                ctx.late += 1  # after its timeout was counted (or a reply to nothing we sent)
                continue
            kind, q, sent = entry
            outcome, reason = ctx.checker.udp(kind, q, reply, sent)
            latency = now - sent
            if outcome == "ok" and latency * 1000 > ctx.checker.late_ms:
                outcome, reason = "bad", "answered after --deadline"
            ctx.stats.record(kind, outcome, reason, latency)
            if kind == "big" and outcome == "ok":
                ctx.tcp_jobs.put(("big-tcp", [("big-tcp", "big.example.com", TXT)]))

    def expire(self, now):
        while self.order and self.order[0][0] + self.timeout < now:
            sent, qid = self.order.popleft()
            entry = self.pending.get(qid)
            if entry is None or entry[2] != sent:
                continue
            del self.pending[qid]
            self.ctx.stats.record(entry[0], "timeout", "no reply in %.1f s" % self.timeout)

    def run(self):
        ctx = self.ctx
        rates = {k: v * ctx.rate for k, v in UDP_RATES.items()}
        rates.update({k: HOSTILE_RATE * ctx.rate for k in HOSTILE_KINDS})
        credit = {k: self.rnd.random() for k in rates}
        socks = [self.sock] + list(self.drop_socks.values())
        last = time.monotonic()
        tick = 0.005
        while not ctx.stop_load.is_set():
            now = time.monotonic()
            dt, last = now - last, now
            for k, r in rates.items():
                credit[k] += r * dt
                while credit[k] >= 1:
                    credit[k] -= 1
                    self.send(k, now)
            readable, _, _ = select.select(socks, [], [], tick)
            for s in readable:
                self.receive(s)
            self.expire(time.monotonic())
        # Drain: every query sent gets its reply or its timeout.
        end = time.monotonic() + self.timeout + 0.5
        while (self.pending or time.monotonic() < end - self.timeout) and time.monotonic() < end:
            readable, _, _ = select.select(socks, [], [], 0.05)
            for s in readable:
                self.receive(s)
            self.expire(time.monotonic())
        for s in socks:
            s.close()


# --- TCP clients -------------------------------------------------------------------------------

def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def recv_exact(sock, n, until):
    data = b""
    while len(data) < n:
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed by the server")
        data += chunk
    return data


def tcp_connect(ctx, timeout=2.0):
    s = socket.create_connection((ADDRESS, ctx.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class TcpWorker(threading.Thread):
    """Takes jobs from ctx.tcp_jobs: one connection, its queries pipelined, every reply read."""

    def __init__(self, ctx, i):
        super().__init__(name="tcp-%d" % i, daemon=True)
        self.ctx = ctx
        self.rnd = random.Random(100 + i)

    def run(self):
        ctx = self.ctx
        while True:
            job = ctx.tcp_jobs.get()
            if job is None:
                return
            try:
                self.do(*job)
            except Exception as e:  # noqa: BLE001 - a client bug must not end the soak silently
                ctx.stats.record("tcp", "bad", "client error %s" % e)

    def do(self, label, items):
        ctx, r = self.ctx, self.rnd
        start = time.monotonic()
        expect = {}  # id -> (kind, query or None: no reply wanted)
        wire = b""
        for kind, name, qtype in items:
            qid = r.getrandbits(16)
            while qid in expect:
                qid = r.getrandbits(16)
            if kind == "t-qr1":
                q = hostile("h-qr1", qid, r)
                expect[qid] = ("t-qr1", None)
            elif kind == "t-zero":
                wire += struct.pack("!H", 0)
                continue
            elif kind == "t-badlabel":
                q = hostile("h-badlabel", qid, r)
                expect[qid] = ("h-badlabel", q)
            else:
                q = query(qid, name, qtype, edns=r.random() < 0.5)
                expect[qid] = (kind, q)
            wire += frame(q)
        want = sum(1 for v in expect.values() if v[1] is not None)
        for _ in items:
            ctx.stats.sent_one(label)
        until = start + ctx.deadline_ms / 1000 + 1.5
        got = 0
        failure = None
        try:
            with tcp_connect(ctx) as s:
                s.sendall(wire)
                while got < want:
                    n = struct.unpack("!H", recv_exact(s, 2, until))[0]
                    reply = recv_exact(s, n, until)
                    qid = struct.unpack("!H", reply[:2])[0] if len(reply) >= 2 else None
                    kind, q = expect.pop(qid, (None, None))
                    if kind is None or q is None:
                        failure = ("bad", "a reply to nothing asked, or to a QR=1 message")
                        break
                    got += 1
                    checked = "big-tcp" if kind == "big" else kind
                    outcome, reason = ctx.checker.udp(checked, q, reply, start)
                    if outcome == "ok" and (time.monotonic() - start) * 1000 > ctx.checker.late_ms:
                        outcome, reason = "bad", "answered after --deadline"
                    ctx.stats.record(label, outcome, reason and "%s: %s" % (kind, reason),
                                     time.monotonic() - start)
        except TimeoutError:
            failure = ("timeout", "no reply in time")
        except OSError as e:
            failure = ("bad", "connection: %s" % (e.strerror or e))
        if failure:
            outcome, reason = failure
            if ctx.in_flood(start):
                outcome, reason = "explained", "closed by a --tcp-max flood (%s)" % reason
            for _ in range(max(want - got, 1)):
                ctx.stats.record(label, outcome, reason)
        # The QR=1 and empty messages: no reply came for them (one would have been a failure).
        for _ in range(len(items) - want):
            ctx.stats.record(label, "ok")


def tcp_scheduler(ctx):
    """Puts tcp and tcp-hostile jobs on the queue at their rates."""
    r = random.Random(7)
    mix = [("hit",) + HIT_NAMES[0], ("hit",) + HIT_NAMES[4], ("big", "big.example.com", TXT)]
    serial = 0
    period = 1.0 / (TCP_CONN_RATE * ctx.rate)
    hostile_every = max(1, round(TCP_CONN_RATE / TCP_HOSTILE_RATE))
    n = 0
    while not ctx.stop_load.wait(period):
        n += 1
        items = []
        for _ in range(r.randint(1, 4)):
            pick = r.random()
            serial += 1
            if pick < 0.2:
                items.append(("miss", "t%d.users.example.net" % serial, A))
            elif pick < 0.35:
                items.append(("nxdomain", "tnx%d.example.com" % serial, A))
            else:
                items.append(r.choice(mix))
        ctx.tcp_jobs.put(("tcp", items))
        if n % hostile_every == 0:
            ctx.tcp_jobs.put(("tcp-hostile", [("t-qr1", "", 0), ("t-zero", "", 0),
                                              ("t-badlabel", "", 0),
                                              ("hit", "www.example.com", A)]))


def slow_ok_client(ctx, i):
    """A query trickled a byte every 40 ms: whole well before --tcp-timeout, so answered."""
    r = random.Random(200 + i)
    while not ctx.stop_load.is_set():
        start = time.monotonic()
        ctx.stats.sent_one("slow-ok")
        qid = r.getrandbits(16)
        msg = frame(query(qid, "www.example.com", A))
        delay = min(0.04, ctx.tcp_timeout_ms / 1000 / 3 / len(msg))
        try:
            with tcp_connect(ctx) as s:
                for b in msg:
                    s.sendall(bytes([b]))
                    time.sleep(delay)
                until = time.monotonic() + ctx.deadline_ms / 1000 + 1.5
                n = struct.unpack("!H", recv_exact(s, 2, until))[0]
                reply = recv_exact(s, n, until)
                if header(reply)[0] == qid and header(reply)[1] & 0xF == NOERROR:
                    ctx.stats.record("slow-ok", "ok", None, time.monotonic() - start)
                else:
                    ctx.stats.record("slow-ok", "bad", "wrong reply")
        except (OSError, TimeoutError) as e:
            if ctx.in_flood(start):
                ctx.stats.record("slow-ok", "explained", "closed by a --tcp-max flood")
            else:
                ctx.stats.record("slow-ok", "bad", "%s" % (getattr(e, "strerror", None) or
                                                         type(e).__name__))
        ctx.stop_load.wait(0.2)


def slow_idle_client(ctx, i):
    """A query trickled a byte every 0.7 s: bytes are not activity, so the server closes the
    connection --tcp-timeout after it opened, before the query is whole."""
    r = random.Random(300 + i)
    timeout = ctx.tcp_timeout_ms / 1000
    while not ctx.stop_load.is_set():
        start = time.monotonic()
        ctx.stats.sent_one("slow-idle")
        msg = frame(query(r.getrandbits(16), "www.example.com", A))
        closed_after = None
        try:
            with tcp_connect(ctx) as s:
                s.setblocking(False)
                for b in msg:
                    try:
                        s.send(bytes([b]))
                    except OSError:
                        closed_after = time.monotonic() - start
                        break
                    readable, _, _ = select.select([s], [], [], 0.7)
                    if readable:
                        try:
                            data = s.recv(100)
                        except OSError:
                            data = b""
                        closed_after = time.monotonic() - start
                        if data:
                            ctx.stats.record("slow-idle", "bad", "a reply to half a query")
                            closed_after = -1
                        break
                    if time.monotonic() - start > timeout + 3:
                        break
        except OSError as e:
            ctx.stats.record("slow-idle", "bad", "connect: %s" % e.strerror)
            continue
        if closed_after == -1:
            pass
        elif closed_after is None:
            ctx.stats.record("slow-idle", "bad", "still open %.1f s after --tcp-timeout" % 3)
        elif ctx.in_flood(start):
            ctx.stats.record("slow-idle", "explained", "closed by a --tcp-max flood",
                             closed_after)
        elif closed_after < timeout - 0.2 or closed_after > timeout + 1.5:
            ctx.stats.record("slow-idle", "bad", "closed after %.2f s, not --tcp-timeout" %
                             closed_after, closed_after)
        else:
            ctx.stats.record("slow-idle", "ok", None, closed_after)
        ctx.stop_load.wait(0.2)


def tcp_state(s):
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def no_read_client(ctx, i):
    """Pipelines big queries and never reads. The server stops reading it once its replies back up
    (TCP_OUT_BACKLOG_MAX), and closes it --tcp-timeout after its last activity."""
    r = random.Random(400 + i)
    timeout = ctx.tcp_timeout_ms / 1000
    while not ctx.stop_load.is_set():
        start = time.monotonic()
        ctx.stats.sent_one("no-read")
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(2)
            s.connect((ADDRESS, ctx.port))
        except OSError as e:
            ctx.stats.record("no-read", "bad", "connect: %s" % e.strerror)
            ctx.stop_load.wait(1)
            continue
        with s:
            s.setblocking(False)
            last_send = time.monotonic()
            sent = 0
            while sent < 2000 and time.monotonic() - start < 2:
                try:
                    s.send(frame(query(r.getrandbits(16), "big.example.com", TXT)))
                    sent += 1
                    last_send = time.monotonic()
                except BlockingIOError:
                    time.sleep(0.05)
                except OSError:
                    break
            closed_after = None
            limit = last_send + timeout + 2
            while time.monotonic() < limit:
                if tcp_state(s) != TCP_ESTABLISHED:
                    closed_after = time.monotonic() - last_send
                    break
                time.sleep(0.1)
            if closed_after is None:
                # The server's FIN may wait behind replies we never took: read them now; the
                # connection must end right after them.
                s.setblocking(True)
                s.settimeout(1.0)
                try:
                    while s.recv(65536):
                        pass
                    closed_after = time.monotonic() - last_send
                except OSError as e:
                    if e.errno == errno.ECONNRESET:
                        closed_after = time.monotonic() - last_send
        if closed_after is not None:
            ctx.stats.record("no-read", "ok", None, closed_after)
        elif ctx.in_flood(start):
            ctx.stats.record("no-read", "explained", "closed by a --tcp-max flood")
        else:
            ctx.stats.record("no-read", "bad", "not closed %.1f s after its last query" %
                             (timeout + 2))
        ctx.stop_load.wait(0.5)


def flood(ctx):
    """--tcp-max + 16 silent connections at once for 1.5 s: the server closes the idlest ones to
    make room; it must go on serving. ok if at least 16 of ours were closed by it."""
    extra = 16
    ctx.stats.sent_one("flood")
    ctx.flood_windows.append((time.monotonic(), time.monotonic() + 30))
    conns = []
    try:
        for _ in range(ctx.tcp_max + extra):
            try:
                conns.append(tcp_connect(ctx, timeout=1))
            except OSError:
                break
        time.sleep(1.5)
        closed = 0
        for c in conns:
            c.setblocking(False)
            try:
                if c.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        ctx.flood_closed.append(closed)
        if closed >= extra:
            ctx.stats.record("flood", "ok")
        else:
            ctx.stats.record("flood", "bad", "%d of %d closed" % (closed, len(conns)))
    finally:
        for c in conns:
            c.close()
        start, _ = ctx.flood_windows[-1]
        ctx.flood_windows[-1] = (start, time.monotonic() + 1)


# --- processes ---------------------------------------------------------------------------------

def port_free(addr, port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        # As the servers do: the TIME_WAIT a run before left on the port is no obstacle.
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_ports(first):
    for p in range(first, first + 60, 2):
        if port_free("127.0.0.2", p) and port_free("127.0.0.20", p) and \
                port_free(ADDRESS, p + 1):
            return p, p + 1
    raise SystemExit("soak: no free port pair from %d" % first)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def sandbox(ctx, action):
    env = dict(os.environ, SANDBOX_DIR=ctx.sandbox_dir, SANDBOX_PORT=str(ctx.ns_port),
               SANDBOX_BINARY=ctx.binary, SANDBOX_ARGS="--log-level info")
    return subprocess.run(["tests/sandbox.sh", action], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_ns(ctx, address, sig=signal.SIGTERM):
    """Sends `sig` to the sandbox's server for `address`, by its PID from the pid file."""
    with open(os.path.join(ctx.sandbox_dir, "pids")) as f:
        for line in f:
            pid, addr, port = line.split()
            if addr != address:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as c:
                args = c.read().replace(b"\0", b" ").decode()
            if " --address %s --port %s " % (addr, port) not in args:
                raise RuntimeError("PID %s is not the server for %s" % (pid, addr))
            os.kill(int(pid), sig)
            if sig == signal.SIGSTOP:
                ctx.frozen.append(int(pid))
            return int(pid)
    raise RuntimeError("no server for %s in the pid file" % address)


class Ctx:
    pass


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def ms(x):
    return "—" if x is None else ("%.0f" % (x * 1000) if x >= 0.01 else "%.1f" % (x * 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rate", type=float, default=1.0, help="scales every rate (default 1)")
    ap.add_argument("--sample", type=float, default=2.0, help="seconds between samples")
    ap.add_argument("--port", type=int, default=5470, help="first port tried for the sandbox "
                    "(the resolver takes the next one)")
    ap.add_argument("--cache-size", type=int, default=2000)
    ap.add_argument("--tcp-max", type=int, default=64)
    ap.add_argument("--tcp-timeout", type=int, default=3000)
    ap.add_argument("--deadline", type=int, default=3000)
    ap.add_argument("--ns-timeout", type=int, default=800)
    ap.add_argument("--rss-tolerance", type=float, default=10.0, help="percent (default 10)")
    ap.add_argument("--valgrind", action="store_true",
                    help="run the server under valgrind's memcheck (slow: use --rate 0.2 or less); "
                    "its log goes to BUILD/soak/valgrind.log and the RSS check is skipped")
    args = ap.parse_args()

    os.chdir(ROOT)
    try:
        os.nice(5)
    except OSError:
        pass
    ctx = Ctx()
    ctx.binary = os.path.join(args.build_dir, "step-9")
    if not os.access(ctx.binary, os.X_OK):
        raise SystemExit("soak: %s is not built (make %s)" % (ctx.binary, ctx.binary))
    out_dir = os.path.join(args.build_dir, "soak")
    os.makedirs(out_dir, exist_ok=True)
    ctx.sandbox_dir = os.path.abspath(os.path.join(out_dir, "sandbox"))
    ctx.ns_port, ctx.port = pick_ports(args.port)
    ctx.deadline_ms, ctx.tcp_timeout_ms, ctx.tcp_max = args.deadline, args.tcp_timeout, args.tcp_max
    ctx.rate = args.rate
    ctx.stats = Stats()
    ctx.checker = Checker(args.deadline)
    ctx.stop_load = threading.Event()
    ctx.late = 0
    ctx.flood_windows = []
    ctx.frozen = []
    ctx.flood_closed = []
    # Whether a client that started at `start` (and ended now) lived through a flood.
    ctx.in_flood = lambda start: any(a <= time.monotonic() and start <= b
                                     for a, b in list(ctx.flood_windows))
    import queue
    ctx.tcp_jobs = queue.Queue()

    server = None
    log_path = os.path.join(out_dir, "step-9.log")
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    failures = []
    try:
        r = sandbox(ctx, "start")
        if r.returncode != 0:
            # Seen once: a server not seen listening in time on a busy machine. Once more.
            print("soak: the sandbox did not start; trying again:\n" + r.stdout.rstrip())
            sandbox(ctx, "stop")
            time.sleep(1)
            r = sandbox(ctx, "start")
        if r.returncode != 0:
            raise SystemExit("soak: the sandbox did not start:\n" + r.stdout)
        cmd = [ctx.binary, "--root-hints", HINTS, "--ns-port", str(ctx.ns_port),
               "--address", ADDRESS, "--port", str(ctx.port),
               "--cache-size", str(args.cache_size), "--tcp-max", str(args.tcp_max),
               "--tcp-timeout", str(args.tcp_timeout), "--deadline", str(args.deadline),
               "--ns-timeout", str(args.ns_timeout)]
        ctx.valgrind_log = None
        if args.valgrind:
            ctx.valgrind_log = os.path.join(out_dir, "valgrind.log")
            cmd = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect,possible",
                   "--errors-for-leak-kinds=definite,indirect,possible",
                   "--log-file=" + ctx.valgrind_log] + cmd
        log = open(log_path, "w")
        server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  close_fds=True)
        pid = server.pid
        # Wait until it answers.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.settimeout(0.2)
        for _ in range(250 if args.valgrind else 50):
            probe.sendto(query(0xBEEF, "www.example.com", A), (ADDRESS, ctx.port))
            try:
                probe.recv(512)
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("soak: step-9 exited at once; its log: %s" % log_path)
        probe.close()
        time.sleep(0.3)
        base_fds, base_rss = fd_count(pid), rss_kib(pid)
        ctx.cpu_start = cpu_seconds(pid)
        print("soak: %s (PID %d) on %s:%d, sandbox on port %d (%s), %g s of load; samples every "
              "%g s to %s/samples.csv" % (ctx.binary, pid, ADDRESS, ctx.port, ctx.ns_port,
                                          ctx.sandbox_dir, args.seconds, args.sample, out_dir))
        print("soak: %s" % " ".join(cmd))
        print("soak: idle before load: RSS %d KiB, %d fds" % (base_rss, base_fds))
        sys.stdout.flush()

        global T0
        T0 = time.monotonic()
        threads = [UdpEngine(ctx)] + [TcpWorker(ctx, i) for i in range(TCP_WORKERS)]
        threads.append(threading.Thread(target=tcp_scheduler, args=(ctx,), daemon=True))
        for i in range(SLOW_OK_CLIENTS):
            threads.append(threading.Thread(target=slow_ok_client, args=(ctx, i), daemon=True))
        for i in range(SLOW_IDLE_CLIENTS):
            threads.append(threading.Thread(target=slow_idle_client, args=(ctx, i), daemon=True))
        for i in range(NO_READ_CLIENTS):
            threads.append(threading.Thread(target=no_read_client, args=(ctx, i), daemon=True))
        for t in threads:
            t.start()

        T = args.seconds
        # The faults come early, so that most of the run is the steady state they leave: the
        # warm-up ends a minute after the last one (half the run at most, for short runs). A frozen
        # server holds each of its resolutions for --ns-timeout: more in flight, more memory, a
        # working set the warm-up must include. The floods fall after it.
        last_fault = T / 4
        warmup = min(last_fault + 60.0, T / 2)
        events = [(T / 6, "stop ns2.example.com (127.0.0.21)"),
                  (last_fault, "freeze ns.lab.example.com (127.0.0.22)"),
                  (0.6 * T, "flood"),
                  (0.85 * T, "flood")]
        event_log = []
        samples = []  # (t, rss, fds, snapshot)
        csv = open(os.path.join(out_dir, "samples.csv"), "w")
        csv.write("t,rss_kib,fds," + ",".join("%s_answered,%s_timeout" % (k, k) for k in ORDER)
                  + "\n")
        next_sample = 0.0
        next_print = 30.0
        prev_answered, prev_t = 0, 0.0
        while True:
            t = time.monotonic() - T0
            if t >= T:
                break
            while events and events[0][0] <= t:
                _at, what = events.pop(0)
                if what == "flood":
                    threading.Thread(target=flood, args=(ctx,), daemon=True).start()
                    event_log.append((t, "--tcp-max flood: %d connections" % (args.tcp_max + 16)))
                else:
                    addr = what.split("(")[1].rstrip(")")
                    freeze = what.startswith("freeze")
                    killed = stop_ns(ctx, addr, signal.SIGSTOP if freeze else signal.SIGTERM)
                    if addr == "127.0.0.22":
                        ctx.checker.lab_down_at = time.monotonic()
                    event_log.append((t, "%s: %s to PID %d%s" % (
                        what, "SIGSTOP" if freeze else "SIGTERM", killed,
                        " (its socket stays open: queries to it vanish, no ICMP refusal)"
                        if freeze else " (queries to it are refused at once by ICMP)")))
                print("soak: %5.0f s  %s" % (t, event_log[-1][1]))
            if t >= next_sample:
                if server.poll() is not None:
                    failures.append("the server exited during the load (status %s) at %.0f s" %
                                    (server.returncode, t))
                    break
                snap = ctx.stats.snapshot()
                rss, fds = rss_kib(pid), fd_count(pid)
                samples.append((t, rss, fds, snap))
                csv.write("%.1f,%d,%d,%s\n" % (t, rss, fds, ",".join(
                    "%d,%d" % snap[k] for k in ORDER)))
                csv.flush()
                next_sample += args.sample
                if t >= next_print:
                    answered = sum(a for a, _ in snap.values())
                    tmo = sum(b for _, b in snap.values())
                    print("soak: %5.0f s  RSS %6d KiB  fds %3d  answered %7d (%4.0f/s)  timed out "
                          "%d  bad %d" % (t, rss, fds, answered,
                                          (answered - prev_answered) / (t - prev_t), tmo,
                                          sum(ctx.stats.bad.values())))
                    sys.stdout.flush()
                    prev_answered, prev_t = answered, t
                    next_print += 30
            time.sleep(min(0.2, max(0.0, next_sample - (time.monotonic() - T0))))
        load_end = time.monotonic() - T0

        # Stop the load; let every client finish (its reply, timeout or close).
        ctx.stop_load.set()
        for _ in range(TCP_WORKERS):
            ctx.tcp_jobs.put(None)
        for t in threads:
            t.join(timeout=args.deadline / 1000 + args.tcp_timeout / 1000 + 10)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            failures.append("client threads did not finish: %s" % ", ".join(stuck))
        alive_after_load = server.poll() is None
        # Every connection the clients left is closed by now, or within --tcp-timeout.
        end_fds = None
        wait_until = time.monotonic() + args.tcp_timeout / 1000 + 5
        while alive_after_load and time.monotonic() < wait_until:
            end_fds = fd_count(pid)
            if end_fds == base_fds:
                break
            time.sleep(0.2)
        end_rss = rss_kib(pid) if alive_after_load else None
        if alive_after_load:
            ctx.cpu_used = cpu_seconds(pid) - ctx.cpu_start
        if alive_after_load:
            server.send_signal(signal.SIGUSR1)
            time.sleep(0.3)
            server.send_signal(signal.SIGTERM)
            try:
                status = server.wait(timeout=60 if args.valgrind else 10)
            except subprocess.TimeoutExpired:
                server.kill()
                status = "none: still running 10 s after SIGTERM (killed)"
        else:
            status = server.returncode
        server = None
        log.close()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        return 130
    finally:
        ctx.stop_load.set()
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
        for frozen in ctx.frozen:
            try:
                os.kill(frozen, signal.SIGCONT)  # so that the sandbox's SIGTERM ends it
            except OSError:
                pass
        sandbox(ctx, "stop")

    return report(ctx, args, samples, event_log, base_fds, base_rss, end_fds, end_rss, status,
                  failures, warmup, load_end, log_path)


def report(ctx, args, samples, event_log, base_fds, base_rss, end_fds, end_rss, status, failures,
           warmup, load_end, log_path):
    st = ctx.stats
    print()
    print("## soak: %g s of load on step 9 (%d samples)" % (load_end, len(samples)))
    print()
    print("| kind | over | expected | sent | as expected | wrong | timed out | explained "
          "| p50 ms | p99 ms | max ms |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for k in ORDER:
        if not st.sent[k] and not st.ok[k]:
            continue
        lat = st.lat.get(k, [])
        print("| %s | %s | %s | %d | %d | %d | %d | %d | %s | %s | %s |" % (
            k, TRANSPORT[k], EXPECT[k], st.sent[k], st.ok[k], st.bad[k], st.timeout[k],
            st.explained[k], ms(percentile(lat, 50)), ms(percentile(lat, 99)),
            ms(max(lat) if lat else None)))
    total_sent = sum(st.sent.values())
    print("| all | | | %d | %d | %d | %d | %d | | | |" % (
        total_sent, sum(st.ok.values()), sum(st.bad.values()), sum(st.timeout.values()),
        sum(st.explained.values())))
    print()
    if getattr(ctx, "cpu_used", None) is not None:
        print("server CPU: %.1f s over %.0f s of load (%.0f %% of a core)" % (
            ctx.cpu_used, load_end, ctx.cpu_used * 100 / max(load_end, 1)))
    print("%.0f queries/s offered on average (UDP and TCP, hostile included); late replies "
          "(after their timeout was counted): %d" % (total_sent / max(load_end, 1), ctx.late))
    for k in ORDER:
        for reason, n in sorted(st.reasons.get(k, {}).items()):
            print("  %s: %s (%d)" % (k, reason, n))
    if st.examples:
        print("first failures:")
        for e in st.examples:
            print("  " + e)
    print()
    print("events:")
    for t, what in event_log:
        print("  %5.0f s  %s" % (t, what))
    if ctx.flood_closed:
        print("  floods: connections the server closed for new ones: %s" %
              ", ".join(map(str, ctx.flood_closed)))

    # Memory and descriptors.
    after = [s for s in samples if s[0] >= warmup]
    minute1 = [s for s in samples if s[0] >= 60]
    at_warmup = after[0] if after else None
    print()
    print("| resource | idle before load | at %.0f s (warm-up end) | min after | max after | "
          "last sample | idle at the end |" % warmup)
    print("|---|--:|--:|--:|--:|--:|--:|")
    if at_warmup:
        rss_after = [s[1] for s in after]
        fds_after = [s[2] for s in after]
        print("| RSS KiB | %d | %d | %d | %d | %d | %s |" % (
            base_rss, at_warmup[1], min(rss_after), max(rss_after), after[-1][1], end_rss))
        print("| fds | %d | %d | %d | %d | %d | %s |" % (
            base_fds, at_warmup[2], min(fds_after), max(fds_after), after[-1][2], end_fds))
        growth = (max(rss_after) - at_warmup[1]) * 100.0 / at_warmup[1]
        end_growth = (after[-1][1] - at_warmup[1]) * 100.0 / at_warmup[1]
        if minute1 and warmup != 60:
            print("(from minute 1, before the last fault: RSS %d KiB at %.0f s, max after %d KiB: "
                  "%+.1f %%)" % (minute1[0][1], minute1[0][0], max(s[1] for s in minute1),
                                 (max(s[1] for s in minute1) - minute1[0][1]) * 100.0 /
                                 minute1[0][1]))
    else:
        growth = end_growth = None
    fd_max = max((s[2] for s in samples), default=None)

    # The log's closing statistics.
    print()
    try:
        with open(log_path) as f:
            for line in f:
                if "SIGUSR1" in line or "at exit" in line or "warn" in line or "error" in line:
                    if "SIGUSR1" in line:
                        continue
                    print("server: " + line.rstrip())
    except OSError:
        pass

    # Verdicts.
    checks = []
    checks.append(("no crash: alive at every sample, exit status 0 on SIGTERM",
                   status == 0 and not any("exited" in f for f in failures),
                   "exit status %s" % status))
    if growth is not None and args.valgrind:
        print("(RSS under valgrind is valgrind's: not checked)")
    elif growth is not None:
        checks.append(("RSS flat after warm-up: max growth from %.0f s < %g %%" %
                       (warmup, args.rss_tolerance), growth < args.rss_tolerance,
                       "%+.1f %% max, %+.1f %% at the last sample" % (growth, end_growth)))
    checks.append(("fds back to the idle count once clients are gone",
                   end_fds == base_fds, "%s at the end, %d before load" % (end_fds, base_fds)))
    bound = base_fds + args.tcp_max + 64
    checks.append(("fds bounded during load (<= idle + --tcp-max + 64 upstream)",
                   fd_max is not None and fd_max <= bound, "max %s, bound %d" % (fd_max, bound)))
    wrong = sum(st.bad.values())
    tmo = sum(st.timeout.values())
    checks.append(("every query answered as expected or dropped as the rules say", wrong == 0,
                   "%d wrong" % wrong))
    checks.append(("no query without a reply unexplained", tmo == 0, "%d timed out" % tmo))
    dead_lat = st.lat.get("dead", []) + st.lat.get("flaky", [])
    if dead_lat:
        checks.append(("dead part answered within --deadline (%d ms)" % args.deadline,
                       max(dead_lat) * 1000 <= args.deadline + 500,
                       "max %s ms" % ms(max(dead_lat))))
    for f in failures:
        checks.append((f, False, ""))
    if getattr(ctx, "valgrind_log", None):
        try:
            with open(ctx.valgrind_log) as f:
                vg = f.read()
        except OSError:
            vg = "(no log)"
        print("valgrind: %s" % (ctx.valgrind_log if vg.strip() else "nothing reported (empty log)"))
        for line in vg.splitlines()[:80]:
            print("  " + line)
        checks.append(("valgrind: no error, no leak", not vg.strip(), ctx.valgrind_log))
    print()
    ok = True
    for what, passed, detail in checks:
        ok = ok and passed
        print("%s  %s%s" % ("PASS" if passed else "FAIL", what, ": " + detail if detail else ""))
    print()
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
