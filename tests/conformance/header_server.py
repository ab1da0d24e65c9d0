#!/usr/bin/python3
"""header_server: a tiny stage-2 server (the reply is the header alone), a stand-in "learner server"
for the grader's own tests of expect_no_reply().

    header_server.py --port P [--answer-responses | --answer-responses-late | --exit-on-short]

Without options it does what stage 2 documents: a datagram under 12 bytes or with QR=1 is dropped;
any other gets the header alone, ID, OPCODE and RD copied, QR=1, NOTIMP for an OPCODE but 0, every
count 0. One mistake on request:
--answer-responses       answers a response (QR=1) like a query, in turn;
--answer-responses-late  the same, but only after answering the next datagram, as a server that
                         hands each datagram to a thread might (out of order, with no delay to
                         time: deterministic);
--exit-on-short          exits with status 3 on a datagram under 12 bytes (a crash).
"""

import argparse
import signal
import socket
import struct
import sys

HEADER_SIZE = 12
QR, OPCODE_MASK, RD = 0x8000, 0x7800, 0x0100
NOTIMP = 4


def reply_to(data):
    """The stage-2 reply to a datagram of at least 12 bytes: the header alone."""
    id_, flags = struct.unpack("!HH", data[:4])
    out = QR | (flags & (OPCODE_MASK | RD))
    if flags & OPCODE_MASK:
        out |= NOTIMP
    return struct.pack("!6H", id_, out, 0, 0, 0, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    mistake = ap.add_mutually_exclusive_group()
    mistake.add_argument("--answer-responses", action="store_true")
    mistake.add_argument("--answer-responses-late", action="store_true")
    mistake.add_argument("--exit-on-short", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.address, args.port))
    print(f"header listening on {args.address}:{args.port}/udp", file=sys.stderr, flush=True)
    held = []  # (reply, peer) for --answer-responses-late
    while True:
        data, peer = sock.recvfrom(65535)
        if len(data) < HEADER_SIZE:
            if args.exit_on_short:
                print(f"exiting on a {len(data)}-byte datagram", file=sys.stderr, flush=True)
                sys.exit(3)
            continue
        if data[2] & 0x80:  # QR=1: a response
            if args.answer_responses:
                sock.sendto(reply_to(data), peer)
            elif args.answer_responses_late:
                held.append((reply_to(data), peer))
            continue
        sock.sendto(reply_to(data), peer)
        for reply, to in held:
            sock.sendto(reply, to)
        held.clear()


if __name__ == "__main__":
    main()
