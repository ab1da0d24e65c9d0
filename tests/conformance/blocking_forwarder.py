#!/usr/bin/python3
"""blocking_forwarder: a stage-6 forwarder written the way first forwarders are: one loop that sends
a question upstream and waits for the answer before it reads the next query. A stand-in "learner
server" for chapter 6, which measures what that wait costs every other client. Standard library
only.

    blocking_forwarder.py --port P --resolver IP:PORT [--upstream-timeout MS] [--upstream-tries N]
                          [--max-pending N] [--zone FILE]...

One datagram at a time, in one loop (serve()):

  1. recvfrom() a client's datagram; drop it if it is shorter than a header or a response (QR=1);
  2. local zones (--zone; the grader passes its test zones): ask build/step-5, which this script
     runs on a free port behind it; its reply goes back with RA set, unless it is REFUSED to a
     query with RD=1 and one question (a name outside the local zones). A query of several
     questions gets FORMERR, as RFC 9619 allows;
  3. forward the question: RD=1, a random ID, from a new socket connected to the resolver (a port
     the kernel picks); then recv() on that socket until a reply with that ID and that question
     comes, at most --upstream-timeout ms (default 2000); nothing in time: again, with a new ID
     from a new port, --upstream-tries times in all (default 2). No reply after the last try, or
     ICMP "port unreachable": SERVFAIL. (--max-pending is accepted and always kept: one question
     waits at a time.)
  4. the client's reply: its own ID and its question as it wrote it, RD as it asked, RA=1, AA=0,
     TC and the RCODE and records of the upstream's reply (whose pointers still point where they
     did: the question has the same length); over 512 bytes, the header and question with TC.

Everything but the wait in step 3 is what stage 6 asks for. The wait is the mistake: while it lasts
nobody else is read, so one silent upstream holds up every query that comes after it, even those
the local zones could answer at once.
"""

import argparse
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dnswire

REPO = Path(__file__).resolve().parents[2]
UDP_MAX = 512  # no EDNS: the most a client takes
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
FORMERR, SERVFAIL, NOTIMP, REFUSED = 1, 2, 4, 5


def header(id_, flags, qd=0, an=0, ns=0, ar=0):
    return struct.pack("!6H", id_, flags, qd, an, ns, ar)


def name_wire(labels):
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def ask_upstream(resolver, labels, qtype, qclass, timeout, tries):
    """The resolver's reply to this one question (bytes), or None after `tries` tries."""
    for _ in range(tries):
        reply = ask_once(resolver, labels, qtype, qclass, timeout)
        if reply is not None:
            return reply
    return None


def ask_once(resolver, labels, qtype, qclass, timeout):
    """One try: the resolver's reply (bytes), or None. The blocking wait."""
    id_ = random.SystemRandom().getrandbits(16)  # not a counter: guessing it is the attack
    query = header(id_, RD, 1) + name_wire(labels) + struct.pack("!HH", qtype, qclass)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(resolver)  # a new port; the kernel drops datagrams from anyone else
        s.send(query)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # bounded by the deadline
            s.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                reply = s.recv(65536)  # <- here the whole server waits
            except socket.timeout:
                return None
            except ConnectionRefusedError:  # ICMP port unreachable: nobody listens there
                return None
            if is_reply_to(reply, id_, labels, qtype, qclass):
                return reply
    return None


def is_reply_to(reply, id_, labels, qtype, qclass):
    """Whether `reply` answers our query: QR, our ID, one question, ours (name in any case)."""
    if len(reply) < 12:
        return False
    rid, flags, qdcount = struct.unpack("!HHH", reply[:6])
    if rid != id_ or not flags & QR or qdcount != 1:
        return False
    try:
        got, end = dnswire.read_name(reply, 12)
    except dnswire.Malformed:
        return False
    return (end + 4 <= len(reply) and struct.unpack("!HH", reply[end:end + 4]) == (qtype, qclass)
            and [l.lower() for l in got] == [l.lower() for l in labels])


def relay(data, query, upstream):
    """The client's reply made of the upstream's: the client's ID, flags and question."""
    if upstream is None:
        return header(query.id, QR | (query.flags & RD) | RA | SERVFAIL, 1) + \
            data[12:query.question_end]
    flags = struct.unpack("!H", upstream[2:4])[0]
    flags = QR | (flags & (TC | 0xF)) | (query.flags & RD) | RA
    # The upstream's question has the same length as the client's (the same name, perhaps in
    # another case), so the records after it, and their pointers, stay where they were.
    reply = struct.pack("!HH", query.id, flags) + upstream[4:12] + data[12:query.question_end] + \
        upstream[query.question_end:]
    if len(reply) > UDP_MAX:
        return header(query.id, flags | TC, 1) + data[12:query.question_end]
    return reply


class Backend:
    """build/step-5 on a free port, serving the local zones; asked over a connected socket."""

    def __init__(self, zones):
        self.empty = None
        if not zones:  # step-5 needs a zone: one nobody asks about
            fd, self.empty = tempfile.mkstemp(suffix=".zone")
            os.write(fd, b"empty.invalid. 60 IN SOA ns.empty.invalid. h.empty.invalid. 1 1 1 1 1\n")
            os.close(fd)
            zones = [self.empty]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args = [str(REPO / "build" / "step-5"), "--port", str(port), "--log-level", "warn"]
        self.child = subprocess.Popen(args + [w for z in zones for w in ("--zone", z)],
                                      stdin=subprocess.DEVNULL)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        probe = header(0xFEED, 0, 1) + b"\x00\x00\x06\x00\x01"  # ". SOA": REFUSED, once it runs
        for _ in range(250):  # up to ~5 s for the zones to load
            if self.child.poll() is not None or self.ask(probe, 0.02) is not None:
                break

    def ask(self, data, timeout=1.0):
        """step-5's reply to `data` (it answers at once, or drops it), or None."""
        self.sock.send(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # bounded by the deadline
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                reply = self.sock.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if reply[:2] == data[:2]:
                return reply
        return None

    def stop(self):
        self.child.terminate()
        self.child.wait()
        if self.empty is not None:
            os.unlink(self.empty)


def answer(data, backend, resolver, timeout, tries):
    """The reply to one client datagram, or None to drop it."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    local = backend.ask(data)
    if local is None or len(local) < 12:
        return None
    with_ra = local[:3] + bytes([local[3] | RA]) + local[4:]  # RA is in byte 3, as the RCODE
    rcode = local[3] & 0xF
    if rcode in (FORMERR, NOTIMP):
        return with_ra
    try:
        query = dnswire.Query(data, max_questions=dnswire.QUESTIONS_MAX)
    except dnswire.Malformed:
        return with_ra
    if query.qdcount > 1:  # RFC 9619: a QUERY has one question
        return header(query.id, QR | (query.flags & RD) | RA | FORMERR)
    if not query.flags & RD or rcode != REFUSED:
        return with_ra
    labels, qtype, qclass, _, _ = query.questions[0]
    return relay(data, query, ask_upstream(resolver, labels, qtype, qclass, timeout, tries))


def serve(sock, backend, resolver, timeout, tries):
    """The loop: one datagram, its whole answer, then the next one."""
    while backend.child.poll() is None:
        data, client = sock.recvfrom(65536)
        reply = answer(data, backend, resolver, timeout, tries)
        if reply is not None:
            sock.sendto(reply, client)


def positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def resolver_address(text):
    host, _, port = text.rpartition(":")
    socket.inet_pton(socket.AF_INET, host)  # an IPv4 literal: no name is looked up
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--resolver", type=resolver_address, required=True)
    ap.add_argument("--upstream-timeout", type=positive, default=2000, metavar="MS")
    ap.add_argument("--upstream-tries", type=positive, default=2, metavar="N")
    ap.add_argument("--max-pending", type=positive, default=4096, metavar="N")
    ap.add_argument("--zone", action="append", default=[])
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    sock.bind((args.address, args.port))  # first: the port the grader chose is ours at once
    backend = Backend(args.zone)

    def stop(*_):
        backend.stop()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"blocking_forwarder listening on {args.address}:{args.port}/udp, forwarding to "
          f"{args.resolver[0]}:{args.resolver[1]}", file=sys.stderr, flush=True)
    serve(sock, backend, args.resolver, args.upstream_timeout / 1000, args.upstream_tries)
    backend.stop()
    sys.exit(1)


if __name__ == "__main__":
    main()
