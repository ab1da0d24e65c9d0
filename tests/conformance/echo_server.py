#!/usr/bin/python3
"""echo_server: a tiny UDP echo server, a stand-in "learner server" for the grader's own tests.

    echo_server.py --port P [--buffer N] [--exit-after N]

It passes stage 1 and fails everything after it. Two mistakes on request, to test the grader:
--buffer N receives into an N-byte buffer, so longer datagrams come back cut short (the classic
512-byte buffer); --exit-after N exits with status 3 after echoing N datagrams (a crash).
"""

import argparse
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--buffer", type=int, default=65535, help="receive buffer size (default 65535)")
    ap.add_argument("--exit-after", type=int, default=None, help="exit with status 3 after N datagrams")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    sock.bind((args.address, args.port))
    print(f"echo listening on {args.address}:{args.port}/udp", file=sys.stderr, flush=True)
    count = 0
    while args.exit_after is None or count < args.exit_after:
        data, peer = sock.recvfrom(args.buffer)
        sock.sendto(data, peer)
        count += 1
    sys.exit(3)


if __name__ == "__main__":
    main()
