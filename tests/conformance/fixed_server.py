#!/usr/bin/python3
"""fixed_server: a stand-in "learner server" that has done part 4.1 of stage 4 and no more: it answers
fixed records from zone files in the simple syntax, for the grader's own tests (test_grading.py:
`make grade STEP=4 PART=1` passes it).

    fixed_server.py --port P [--zone FILE]... [FILE]...

Its zone reader knows one kind of line only, "owner TTL class type rdata" with the owner in full:
the simple syntax of zonedata.py's SIMPLE_ZONES (types A, AAAA, NS, CNAME, PTR, MX, SOA, TXT; a zone
begins with its SOA). Stages 1 to 3 it does as question_server.py does; then for a query:

  - no zone's apex contains the name: REFUSED;
  - AXFR or IXFR: NOTIMP;
  - the name has records of QTYPE: them, AA=1 (ANY: the name's first RRset), the owner written as
    the query wrote it;
  - anything else: NXDOMAIN, AA=1, and no SOA: the negative answers of part 4.2 it does not know.

No compression, no 512-byte limit, no referrals, CNAME chains or wildcards (parts 4.2 to 4.4).
"""

import argparse
import re
import socket
import struct
import sys

import question_server as qs

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
AXFR, IXFR, ANY = 252, 251, 255
NXDOMAIN, NOTIMP, REFUSED = 3, 4, 5
AA = 0x0400


def name_wire(text):
    labels = [l for l in text.rstrip(".").split(".") if l]
    return b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\x00"


def key(text):
    """The lookup key of a name: lower case, no final dot."""
    return text.rstrip(".").lower()


def rdata(rtype, fields, line):
    """The RDATA of a record from its text fields."""
    if rtype == "A":
        return socket.inet_aton(fields[0])
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, fields[0])
    if rtype in ("NS", "CNAME", "PTR"):
        return name_wire(fields[0])
    if rtype == "MX":
        return struct.pack("!H", int(fields[0])) + name_wire(fields[1])
    if rtype == "SOA":
        return name_wire(fields[0]) + name_wire(fields[1]) + struct.pack("!5I", *map(int, fields[2:7]))
    if rtype == "TXT":
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        return b"".join(bytes([len(s)]) + s.encode() for s in (re.sub(r"\\(.)", r"\1", x)
                                                                 for x in strings))
    raise ValueError(f"unknown type {rtype}")


def load(path, zones):
    """Adds the zone of `path` to `zones` ({apex key: {name key: [(type, ttl, rdata)]}})."""
    records = None
    for number, line in enumerate(open(path, encoding="ascii").read().splitlines(), 1):
        owner, ttl, _class, rtype, *fields = line.split()
        try:
            entry = (TYPES[rtype], int(ttl), rdata(rtype, fields, line))
        except (KeyError, ValueError, IndexError, OSError) as e:
            sys.exit(f"{path}:{number}: {e}")
        if records is None:  # the first record is the SOA: its owner is the zone's apex
            records = zones.setdefault(key(owner), {})
        records.setdefault(key(owner), []).append(entry)


def answer(data, zones, mistakes):
    q, reply = qs.read_query(data, mistakes)
    if q is None:
        return reply
    labels, qtype, _, start, end = q.questions[0]
    question = data[start:end]
    owner = data[start:end - 4]  # the name as the query wrote it (no pointers in a lone question)
    name = b".".join(labels).decode("ascii", "replace").lower()
    apexes = [a for a in zones if name == a or name.endswith("." + a) or a == ""]
    if not apexes:
        return qs.header(q.id, mistakes.flags(q.flags, REFUSED), 1) + question
    if qtype in (AXFR, IXFR):
        return qs.header(q.id, mistakes.flags(q.flags, NOTIMP), 1) + question
    records = zones[max(apexes, key=len)].get(name, [])
    if qtype == ANY and records:
        qtype = records[0][0]
    found = [r for r in records if r[0] == qtype]
    if not found:
        return qs.header(q.id, mistakes.flags(q.flags, NXDOMAIN) | AA, 1) + question
    body = b"".join(owner + struct.pack("!HHIH", rtype, 1, ttl, len(rd)) + rd
                    for rtype, ttl, rd in found)
    return qs.header(q.id, mistakes.flags(q.flags) | AA, 1, len(found)) + question + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--zone", action="append", default=[])
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    zones = {}
    for path in args.zone + args.files:
        load(path, zones)
    if not zones:
        sys.exit("fixed_server: no zone file (--zone FILE)")
    mistakes = qs.Mistakes(argparse.Namespace())
    qs.serve(args.port, args.address, lambda data: answer(data, zones, mistakes))


if __name__ == "__main__":
    main()
