#!/usr/bin/python3
"""question_server: a small stage-3 server (the reply is the header and the question), a stand-in
"learner server" for the grader's own tests (test_grading.py).

    question_server.py --port P [--copy-cd] [MISTAKE]

Without options it does what stage 3 documents: a datagram under 12 bytes or with QR=1 is dropped;
OPCODE != 0 gets NOTIMP, the header alone; a malformed query (dnswire.py's rules: exactly one
question, no answer or authority records, additional records of the right shape, nothing after
them, pointers that point backwards, labels of 63 octets at most, names of 255) gets FORMERR, the
header alone; any other query gets its header (ID, OPCODE, RD copied, QR=1, QDCOUNT 1) and its
question as sent. --copy-cd copies CD too, as RFC 4035 3.2.2 asks of a security-aware server: not a
mistake. One mistake on request, each one a learner made:

--no-qr             forgets to set QR;
--skip-length       moves past a label by its length alone (pos += len, not 1 + len): every name
                    but the root is read wrong, and rejected;
--echo-additional   echoes the rest of the query after the question (dig's OPT record), with ARCOUNT
                    copied;
--long-labels       takes any length byte up to 0xBF as a label length (only 11 is a pointer);
--cut-last-byte     sends every reply but its last byte (one less than its length given to
                    sendto): the question's QCLASS is cut short and no DNS library reads it.

fixed_server.py builds its stage-4 answers on this file's reading of queries.
"""

import argparse
import signal
import socket
import struct
import sys

import dnswire

QR, OPCODE_MASK, RD, CD = 0x8000, 0x7800, 0x0100, 0x0010
FORMERR, NOTIMP = 1, 4


def header(id_, flags, qd=0, an=0, ns=0, ar=0):
    return struct.pack("!6H", id_, flags, qd, an, ns, ar)


class Mistakes:
    def __init__(self, args):
        self.no_qr = getattr(args, "no_qr", False)
        self.copy_cd = getattr(args, "copy_cd", False)
        self.echo_additional = getattr(args, "echo_additional", False)
        self.cut_last_byte = getattr(args, "cut_last_byte", False)
        self.reader = dict(skip_len_only=getattr(args, "skip_length", False),
                           length_bits=getattr(args, "long_labels", False))

    def flags(self, query_flags, rcode=0):
        """The reply's flags: QR, OPCODE and RD (and CD with --copy-cd) from the query, an RCODE."""
        keep = OPCODE_MASK | RD | (CD if self.copy_cd else 0)
        return (0 if self.no_qr else QR) | (query_flags & keep) | rcode

    def sent(self, reply):
        """What is sent of `reply` (None: nothing)."""
        return reply[:-1] if self.cut_last_byte and reply else reply


def read_query(data, mistakes, max_questions=1):
    """(the Query, None) for a query to answer; (None, reply) for one answered or dropped here (reply
    None: dropped): under 12 bytes, QR=1, OPCODE != 0, or malformed."""
    if len(data) < dnswire.HEADER_SIZE:
        return None, None
    id_, flags = struct.unpack("!HH", data[:4])
    if flags & QR:
        return None, None
    if flags & OPCODE_MASK:
        return None, header(id_, mistakes.flags(flags, NOTIMP))
    try:
        return dnswire.Query(data, max_questions, **mistakes.reader), None
    except dnswire.Malformed:
        return None, header(id_, mistakes.flags(flags, FORMERR))


def answer(data, mistakes):
    """The stage-3 reply to `data`, or None to drop it."""
    q, reply = read_query(data, mistakes)
    if q is None:
        return reply
    if mistakes.echo_additional:
        return header(q.id, mistakes.flags(q.flags), 1, 0, 0, q.arcount) + data[12:]
    return header(q.id, mistakes.flags(q.flags), 1) + data[12:q.question_end]


def serve(port, address, respond):
    """Answers each datagram with respond(data) (None: no reply), until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
    sock.bind((address, port))
    print(f"listening on {address}:{port}/udp", file=sys.stderr, flush=True)
    while True:
        data, peer = sock.recvfrom(65536)
        reply = respond(data)
        if reply is not None:
            sock.sendto(reply, peer)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--copy-cd", action="store_true")
    mistake = ap.add_mutually_exclusive_group()
    for name in ("--no-qr", "--skip-length", "--echo-additional", "--long-labels",
                 "--cut-last-byte"):
        mistake.add_argument(name, action="store_true")
    args = ap.parse_args()
    mistakes = Mistakes(args)
    serve(args.port, args.address, lambda data: mistakes.sent(answer(data, mistakes)))


if __name__ == "__main__":
    main()
