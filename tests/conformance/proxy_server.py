#!/usr/bin/python3
"""proxy_server: a stand-in "learner server" made of a real one (build/step-N) behind a UDP proxy that
changes what it does, for the grader's own tests (test_grading.py) of behaviours that only a
complete server shows.

    proxy_server.py --port P [--copy-cd] [--formerr-multi] [--type-zero] -- SERVER [ARG]...

It starts `SERVER --port Q ARG...` on a free port Q (its output goes to the proxy's), relays every
datagram to it and every reply back, in the server's order, and exits with the server's status when
the server exits, or stops it on SIGTERM and exits 0. What it changes, on
request, are behaviours the RFCs allow, not mistakes:

--copy-cd        the reply to a query with CD=1 has CD=1 (RFC 4035 3.2.2);
--formerr-multi  a query of more than one question gets FORMERR, the header alone, without reaching
                 the server (RFC 9619).

and one mistake, a reply that reads but not as what was asked:

--type-zero      the TYPE of every answer record is 0 (a field left unset); its RDATA is the
                 server's.
"""

import argparse
import collections
import selectors
import signal
import socket
import struct
import subprocess
import sys

QR, OPCODE_MASK, RD, CD = 0x8000, 0x7800, 0x0100, 0x0010
FORMERR = 1


def name_end(data, pos):
    """The offset just after the name at `pos` (its labels up to the root, or a pointer)."""
    while data[pos] and data[pos] & 0xC0 != 0xC0:  # bounded: moves forwards
        pos += 1 + data[pos]
    return pos + (2 if data[pos] & 0xC0 == 0xC0 else 1)


def type_zero(data):
    """`data` with the TYPE of each answer record set to 0; `data` as it is if it does not read."""
    try:
        qdcount, ancount = struct.unpack("!HH", data[4:8])
        pos = 12
        for _ in range(qdcount):
            pos = name_end(data, pos) + 4
        out = bytearray(data)
        for _ in range(ancount):
            pos = name_end(data, pos)
            out[pos:pos + 2] = b"\0\0"
            pos += 10 + struct.unpack("!H", data[pos + 8:pos + 10])[0]
        return bytes(out)
    except (IndexError, struct.error):
        return data


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--copy-cd", action="store_true")
    ap.add_argument("--formerr-multi", action="store_true")
    ap.add_argument("--type-zero", action="store_true")
    ap.add_argument("server", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.server[1:] if args.server[:1] == ["--"] else args.server
    if not command:
        ap.error("no server command after --")

    # The port first: the grader chose it a moment ago, and another process may take it if we wait.
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", args.port))
    backend = ("127.0.0.1", free_port())
    child = subprocess.Popen([command[0], "--port", str(backend[1]), *command[1:]],
                             stdin=subprocess.DEVNULL)

    def stop(*_):
        child.terminate()
        child.wait()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # One socket towards the server for every client: its replies then come back in the order it
    # sent them, and each goes to the oldest query still waiting with its ID (those before it got
    # no reply: the server dropped them). Per-client sockets would let a reply overtake another.
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        up.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    up.connect(backend)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        front.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    waiting = collections.deque(maxlen=100000)  # (client address, ID bytes, CD asked)
    sel = selectors.DefaultSelector()
    sel.register(front, selectors.EVENT_READ)
    sel.register(up, selectors.EVENT_READ)
    print(f"proxy listening on 127.0.0.1:{args.port}/udp, for the server on port {backend[1]}",
          file=sys.stderr, flush=True)
    while child.poll() is None:
        for key, _ in sel.select(timeout=0.05):
            try:
                data, peer = key.fileobj.recvfrom(65536)
            except ConnectionRefusedError:  # the server is not listening yet
                continue
            if key.fileobj is up:  # a reply from the server
                while waiting and waiting[0][1] != data[:2]:
                    waiting.popleft()
                if not waiting:
                    continue
                client, _, cd = waiting.popleft()
                if cd and args.copy_cd and len(data) >= 4:
                    data = data[:2] + struct.pack("!H", struct.unpack("!H", data[2:4])[0] | CD) \
                        + data[4:]
                if args.type_zero:
                    data = type_zero(data)
                front.sendto(data, client)
                continue
            cd = False  # a datagram from a client
            if len(data) >= 12:
                id_, flags, qdcount = struct.unpack("!HHH", data[:6])
                if (args.formerr_multi and not flags & QR and not flags & OPCODE_MASK
                        and qdcount > 1):
                    front.sendto(struct.pack("!6H", id_, QR | (flags & RD) | FORMERR, 0, 0, 0, 0),
                                 peer)
                    continue
                cd = bool(flags & CD)
            waiting.append((peer, data[:2], cd))
            try:
                up.send(data)
            except ConnectionRefusedError:
                pass
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)


if __name__ == "__main__":
    main()
