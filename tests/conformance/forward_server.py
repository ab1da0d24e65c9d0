#!/usr/bin/python3
"""forward_server: a stand-in "learner server" for stage 6 (forwarding), right or with one mistake, for
the grader's own tests (test_grading.py) and for trying the stage-6 tests without the build.

    forward_server.py --port P --resolver ADDRESS:PORT [--zone FILE]... [--upstream-timeout MS]
                      [--upstream-tries N] [--max-pending N] [--backend BINARY] [MISTAKE]...

Local zones are build/step-5's (--backend, default build/step-5 at the top of the checkout), run on
a free port behind it: every datagram goes to it first, as the client sent it, and its reply is
relayed (RA set) unless the query is a well-formed one with RD=1 whose questions step-5 refuses
(not in a local zone). Those questions are forwarded, each as its own query (RD=1, a random ID,
from a socket of its own on a port the kernel picks), retried on timeout; the first reply from the
resolver's address and port with that ID and question is taken. The reply merges the parts in
question order: the first RCODE that is not NOERROR, the sections one after the other; SERVFAIL
for a part with no reply after every try, or at once when --max-pending parts are waiting.

Mistakes, on request:
--sequential-ids  the upstream IDs count 1, 2, 3, ...;
--one-socket      every upstream query leaves from one socket (one source port);
--accept-any      the first datagram to come back is taken, whoever sent it and whatever it says;
--blocking        waits for the upstream's reply before reading the next query;
--no-ra           RA stays 0.
"""

import argparse
import io
import itertools
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rrset

import dnswire

QR, RD, RA, AA, TC = 0x8000, 0x0100, 0x0080, 0x0400, 0x0200
OPCODE_MASK = 0x7800
NOERROR, FORMERR, SERVFAIL, NOTIMP, REFUSED = 0, 1, 2, 4, 5
REPO = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def positive(text):
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def resolver_address(text):
    host, sep, port = text.rpartition(":")
    socket.inet_pton(socket.AF_INET, host)  # IPv4 literals only: no name is looked up
    if not sep or not 0 < int(port) < 65536:
        raise ValueError(text)
    return host, int(port)


def name_wire(labels):
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


class Part:
    """One question of a client's query: answered locally, or forwarded."""

    def __init__(self, labels, qtype, qclass):
        self.labels, self.qtype, self.qclass = labels, qtype, qclass
        self.name = dns.name.Name([*labels, b""])  # compares without case
        self.rcode, self.aa, self.tc = NOERROR, False, False
        self.sections = ([], [], [])
        self.done = False

    def wire(self):
        """The question in wire form."""
        return name_wire(self.labels) + struct.pack("!HH", self.qtype, self.qclass)

    def take(self, msg):
        self.rcode, self.done = msg.rcode(), True
        self.aa, self.tc = bool(msg.flags & AA), bool(msg.flags & TC)
        self.sections = (msg.answer, msg.authority, msg.additional)


class Job:
    """A client's query waiting for its forwarded parts."""

    def __init__(self, client, data, query, parts):
        self.client, self.data, self.query, self.parts = client, data, query, parts


class Attempt:
    def __init__(self, job, part, sock, id_, deadline, tries_left):
        self.job, self.part, self.sock, self.id = job, part, sock, id_
        self.deadline, self.tries_left = deadline, tries_left


class Forwarder:
    def __init__(self, args, front, backend):
        self.args, self.front, self.backend = args, front, backend
        self.resolver = args.resolver
        self.sel = selectors.DefaultSelector()
        self.sel.register(front, selectors.EVENT_READ, None)
        self.attempts = set()
        self.ids = itertools.count(1)
        self.shared = None
        if args.one_socket:
            self.shared = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.shared.bind(("127.0.0.1", 0))
            self.sel.register(self.shared, selectors.EVENT_READ, "shared")

    # ---- the client side

    def ask_backend(self, data):
        """step-5's reply to `data` (it answers at once), or None."""
        self.backend.send(data)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # bounded by the deadline
            self.backend.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                reply = self.backend.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if reply[:2] == data[:2]:
                return reply
        return None

    def with_ra(self, reply):
        if self.args.no_ra or len(reply) < 4:
            return reply
        flags = struct.unpack("!H", reply[2:4])[0] | RA
        return reply[:2] + struct.pack("!H", flags) + reply[4:]

    def on_query(self, data, client):
        if len(data) < 12 or data[2] & 0x80:
            return  # shorter than a header, or a response: dropped
        reply = self.ask_backend(data)
        flags = struct.unpack("!H", data[2:4])[0]
        rcode = reply[3] & 0xF if reply and len(reply) >= 4 else None
        if reply is None:
            return
        try:
            query = dnswire.Query(data, max_questions=dnswire.QUESTIONS_MAX)
        except dnswire.Malformed:
            query = None
        if (rcode in (FORMERR, NOTIMP) or not flags & RD or query is None or flags & OPCODE_MASK
                or (query.qdcount == 1 and rcode != REFUSED)):
            self.front.sendto(self.with_ra(reply), client)
            return
        parts = []
        for labels, qtype, qclass, _, _ in query.questions:
            part = Part(labels, qtype, qclass)
            single = struct.pack("!6H", random.getrandbits(16), 0, 1, 0, 0, 0) + part.wire()
            local = self.ask_backend(single)
            msg = dns.message.from_wire(local) if local else None
            if msg is not None and msg.rcode() != REFUSED:
                part.take(msg)
            parts.append(part)
        job = Job(client, data, query, parts)
        waiting = [p for p in parts if not p.done]
        if len(self.attempts) + len(waiting) > self.args.max_pending:
            for p in waiting:  # no room: SERVFAIL at once
                p.rcode, p.done = SERVFAIL, True
        else:
            for p in waiting:
                self.send_upstream(job, p, self.args.upstream_tries - 1)
        self.maybe_finish(job)
        if self.args.blocking:
            while not all(p.done for p in parts):  # bounded: every attempt has a deadline
                self.step(upstream_only=True)

    # ---- the upstream side

    def new_id(self):
        return next(self.ids) & 0xFFFF if self.args.sequential_ids else random.getrandbits(16)

    def send_upstream(self, job, part, tries_left):
        id_ = self.new_id()
        wire = struct.pack("!6H", id_, RD, 1, 0, 0, 0) + part.wire()
        if self.shared is not None:
            sock = self.shared
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
        attempt = Attempt(job, part, sock, id_,
                          time.monotonic() + self.args.upstream_timeout / 1000, tries_left)
        if self.shared is None:
            self.sel.register(sock, selectors.EVENT_READ, attempt)
        self.attempts.add(attempt)
        sock.sendto(wire, self.resolver)

    def drop(self, attempt):
        self.attempts.discard(attempt)
        if self.shared is None:
            self.sel.unregister(attempt.sock)
            attempt.sock.close()

    def acceptable(self, attempt, data, peer):
        if self.args.accept_any:
            return True
        if peer != self.resolver or data[:2] != struct.pack("!H", attempt.id):
            return False
        try:
            msg = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError):
            return False
        if len(msg.question) != 1:
            return False
        q = msg.question[0]
        return (q.name == attempt.part.name and q.rdtype == attempt.part.qtype
                and q.rdclass == attempt.part.qclass)

    def on_upstream(self, sock, attempt):
        try:
            data, peer = sock.recvfrom(65536)
        except (BlockingIOError, ConnectionRefusedError):
            return
        if attempt is None:  # the shared socket: whose is it?
            mine = [a for a in self.attempts if self.args.accept_any or
                    data[:2] == struct.pack("!H", a.id)]
            if not mine:
                return
            attempt = mine[0]
        if not self.acceptable(attempt, data, peer):
            return
        try:
            msg = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError):
            return
        self.drop(attempt)
        attempt.part.take(msg)
        self.maybe_finish(attempt.job)

    def expire(self, now):
        for attempt in [a for a in self.attempts if a.deadline <= now]:
            self.drop(attempt)
            if attempt.tries_left > 0:
                self.send_upstream(attempt.job, attempt.part, attempt.tries_left - 1)
            else:
                attempt.part.rcode, attempt.part.done = SERVFAIL, True
                self.maybe_finish(attempt.job)

    def maybe_finish(self, job):
        if not all(p.done for p in job.parts):
            return
        q = job.query
        flags = QR | (q.flags & RD) | (0 if self.args.no_ra else RA)
        rcode = next((p.rcode for p in job.parts if p.rcode != NOERROR), NOERROR)
        if all(p.aa for p in job.parts):
            flags |= AA
        if any(p.tc for p in job.parts):
            flags |= TC
        out = io.BytesIO()
        out.write(bytes(12))
        out.write(job.data[12:q.question_end])
        compress = {}
        counts = []
        for i in range(3):
            n = 0
            for p in job.parts:
                for rrset in p.sections[i]:
                    n += rrset.to_wire(out, compress)
            counts.append(n)
        wire = bytearray(out.getvalue())
        wire[:12] = struct.pack("!6H", q.id, flags | rcode, q.qdcount, *counts)
        self.front.sendto(bytes(wire), job.client)

    # ---- the loop

    def step(self, upstream_only=False):
        now = time.monotonic()
        deadline = min((a.deadline for a in self.attempts), default=now + 0.05)
        for key, _ in self.sel.select(timeout=max(0.0, min(0.05, deadline - now))):
            if key.fileobj is self.front:
                if upstream_only:
                    continue
                try:
                    data, client = self.front.recvfrom(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    continue
                try:
                    self.on_query(data, client)
                except Exception as e:  # a stand-in's bug: say it, and go on
                    print(f"forward_server: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            else:
                self.on_upstream(key.fileobj, key.data if key.data != "shared" else None)
        self.expire(time.monotonic())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--zone", action="append", default=[])
    ap.add_argument("--resolver", type=resolver_address, required=True)
    ap.add_argument("--upstream-timeout", type=positive, default=2000)
    ap.add_argument("--upstream-tries", type=positive, default=2)
    ap.add_argument("--max-pending", type=positive, default=4096)
    ap.add_argument("--backend", default=str(REPO / "build" / "step-5"))
    for mistake in ("sequential-ids", "one-socket", "accept-any", "blocking", "no-ra"):
        ap.add_argument(f"--{mistake}", action="store_true")
    args = ap.parse_args()

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        front.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    front.bind((args.address, args.port))
    backend_port = free_port()
    zones = [w for z in args.zone for w in ("--zone", z)]
    if not zones:  # step-5 needs a zone: one that answers nothing the tests ask
        empty = Path(os.environ.get("TMPDIR", "/tmp")) / f"forward-server-{os.getpid()}.zone"
        empty.write_text("empty.invalid. 60 IN SOA ns.empty.invalid. h.empty.invalid. 1 1 1 1 1\n")
        zones = ["--zone", str(empty)]
    child = subprocess.Popen([args.backend, "--port", str(backend_port), *zones],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    backend = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    backend.connect(("127.0.0.1", backend_port))
    probe = struct.pack("!6H", 0xFEED, 0, 1, 0, 0, 0) + b"\x00\x00\x01\x00\x01"
    forwarder = Forwarder(args, front, backend)
    for _ in range(100):  # the backend is up once it answers (at most ~2 s)
        if child.poll() is not None or forwarder.ask_backend(probe) is not None:
            break
        time.sleep(0.02)

    def stop(*_):
        child.terminate()
        child.wait()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"forward_server listening on {args.address}:{args.port}/udp, forwarding to "
          f"{args.resolver[0]}:{args.resolver[1]}", file=sys.stderr, flush=True)
    while child.poll() is None:
        forwarder.step()
    sys.exit(1)


if __name__ == "__main__":
    main()
