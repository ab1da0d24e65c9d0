#!/usr/bin/python3
"""weak_resolver: tests/conformance/resolver_server.py (the stage-7 stand-in resolver) with one
more mistake, to show that each attack test of test_resolver_attacks.py can fail:

    weak_resolver.py --weak M [resolver_server.py's options]

  any-id            takes a reply whatever its ID
  any-sender        takes a reply from any address and port
  any-question      takes a reply whatever its question
  qr0               takes a "reply" with QR=0
  keep-all-answers  passes on every record of the answer section, asked for or not
  unbounded         no limit on queries, referrals or CNAME links, and no deadline

e.g. make grade STEP=7 SERVER='tests/chaos/weak_resolver.py --weak any-id --port {port}'
(docs/hardening.md shows which test fails for each)."""

import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rdatatype  # noqa: E402
import resolver_server as rs  # noqa: E402

WEAK = ("any-id", "any-sender", "any-question", "qr0", "keep-all-answers", "unbounded")


def weaken(weak):
    def matches(self, reply, query):
        return ((reply.id == query.id or "any-id" in weak)
                and (reply.flags & dns.flags.QR or "qr0" in weak)
                and ("any-question" in weak or (
                    len(reply.question) == 1
                    and reply.question[0].name == query.question[0].name
                    and reply.question[0].rdtype == query.question[0].rdtype
                    and reply.question[0].rdclass == query.question[0].rdclass)))
    rs.Resolver.matches = matches

    if "any-sender" in weak:
        def ask(self, address, name, rdtype, budget):
            budget.query()
            q = dns.message.make_query(name, rdtype)
            q.id = rs.random.getrandbits(16)
            q.flags = 0
            end = min(time.monotonic() + self.timeout, budget.deadline)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("0.0.0.0", 0))
                s.sendto(q.to_wire(), (address, self.port))
                while time.monotonic() < end:  # bounded by `end`
                    s.settimeout(max(0.001, end - time.monotonic()))
                    try:
                        data, _ = s.recvfrom(65535)  # from anyone
                        reply = dns.message.from_wire(data)
                    except socket.timeout:
                        return None
                    except (OSError, dns.exception.DNSException, ValueError):
                        continue
                    if self.matches(reply, q):
                        if reply.flags & dns.flags.TC:
                            return self.ask_tcp((address, self.port), name, rdtype, budget)
                        return reply
            return None
        rs.Resolver.ask = ask

    if "keep-all-answers" in weak:
        classify = rs.Resolver.classify

        def classify_all(self, reply, name, rdtype, zone):
            outcome = classify(self, reply, name, rdtype, zone)
            if outcome is not None and outcome[0] == "done" and outcome[2]:
                return ("done", outcome[1], list(reply.answer), outcome[3])
            return outcome
        rs.Resolver.classify = classify_all

    if "unbounded" in weak:
        rs.QUERIES_MAX = rs.REFERRALS_MAX = rs.CNAME_LINKS_MAX = 10 ** 9
        rs.Budget.__init__ = lambda self, deadline_s: (
            setattr(self, "deadline", time.monotonic() + 3600) or
            setattr(self, "queries", 0) or setattr(self, "referrals", 0))


def main():
    argv, weak = [sys.argv[0]], set()
    args = iter(sys.argv[1:])
    for a in args:
        if a == "--weak":
            w = next(args, None)
            if w not in WEAK:
                sys.exit(f"weak_resolver: --weak {w}: one of {', '.join(WEAK)}")
            weak.add(w)
        else:
            argv.append(a)
    sys.argv = argv
    weaken(weak)
    rs.main()


if __name__ == "__main__":
    main()
