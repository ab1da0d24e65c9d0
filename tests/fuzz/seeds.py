#!/usr/bin/env python3
"""seeds.py: writes the fuzzers' seed corpus, tests/fuzz/corpus/<target>/.

The seeds are small, named for what they are, and made here byte by byte so anyone can see why
each exists: real queries (a dig capture, several questions with pointers), hostile names (loops,
self and forward pointers, pointers into the header, label types 01 and 10, names one octet too
long, pointer chains one hop too long), the replies build/step-5 gives for the example zones
(captured over UDP on 127.0.0.1), and zone-file snippets.

    tests/fuzz/seeds.py            # rewrite the corpus (starts build/step-5 to capture replies)
    tests/fuzz/seeds.py edns tcp resolve upstream   # only these (made here, no capture)

Needs only the Python standard library and a built build/step-5 (`make`).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 41, 255
IN, CH = 1, 3


def header(id_=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!6H", id_, flags, qd, an, ns, ar)


def name(text):
    """Uncompressed wire form of a dotted name ("" or "." is the root)."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ptr(offset):
    return struct.pack("!H", 0xC000 | offset)


def question(wire, qtype=A, qclass=IN):
    return wire + struct.pack("!HH", qtype, qclass)


def query(text, qtype=A, qclass=IN, id_=0x1234, flags=0x0100):
    return header(id_, flags) + question(name(text), qtype, qclass)


OPT_RR = b"\0" + struct.pack("!HHIH", OPT, 4096, 0, 0)  # EDNS(0), 4096-byte payload, no options


def wire_seeds():
    """Messages for the wire-format targets: name {label: bytes}."""
    s = {}
    # dig 9.18 `dig google.com`: RD AD, one question, an EDNS OPT record.
    s["dig-google"] = bytes.fromhex(
        "4bdb0120000100000000000106676f6f676c6503636f6d00000100010000291000000000000000")
    # Three questions whose names point into each other: www.example.com at 12, then
    # mail + pointer to example.com (offset 16), then a pointer to the whole first name.
    m = header(qd=3) + question(name("www.example.com"), A)
    m += question(b"\x04mail" + ptr(16), MX)
    m += question(ptr(12), AAAA)
    s["multi-question-pointers"] = m
    s["edns-opt"] = header(ar=1) + question(name("www.example.com")) + OPT_RR
    s["edns-opt-option"] = (header(ar=1) + question(name("example.com"), SOA) + b"\0" +
                            struct.pack("!HHIH", OPT, 1232, 0, 8) +
                            struct.pack("!HH", 10, 4) + b"\x01\x02\x03\x04")  # a COOKIE-ish option
    s["mixed-case"] = query("WwW.ExAmPlE.CoM")
    # Hostile names, each at offset 12.
    s["self-pointer"] = header() + question(ptr(12))
    s["pointer-into-own-name"] = header() + question(b"\x01a" + ptr(12))
    s["forward-pointer"] = header() + question(ptr(20)) + name("example.com")
    s["pointer-into-header"] = header() + question(ptr(4))
    # Two names that point at each other: the second is read only if the first passes.
    s["pointer-loop"] = header(qd=2) + question(b"\x01a" + ptr(22)) + question(b"\x01b" + ptr(12))
    s["label-type-01-0x40"] = header() + question(b"\x40" + b"x" * 64 + b"\0")
    s["label-type-10-0x80"] = header() + question(b"\x80\x00")
    s["label-63"] = header() + question(b"\x3f" + b"a" * 63 + b"\0")
    # 255 octets on the wire (the limit), then 256.
    s["name-255"] = header() + question((b"\x3f" + b"a" * 63) * 3 + b"\x3d" + b"b" * 61 + b"\0")
    s["name-256"] = header() + question((b"\x3f" + b"a" * 63) * 3 + b"\x3e" + b"b" * 62 + b"\0")
    # 127 one-octet labels = 255 octets: the most labels a name can have.
    s["labels-127"] = header() + question(b"\x01x" * 127 + b"\0")
    # A root name, then 129 pointers each pointing at the one before: the last needs 129 hops.
    # The ID is the last pointer's offset, where fuzz_name makes one extra read.
    chain = b"\0"
    for k in range(129):
        chain += ptr(12 + (0 if k == 0 else 1 + 2 * (k - 1)))
    s["pointer-chain-129"] = header(id_=13 + 2 * 128, qd=0) + chain
    # The same inside a query: a record whose RDATA is a chain of `links` pointers, then a
    # record whose owner points at its end, which takes links + 1 hops (128 is the limit).
    for links in (127, 128):
        m = header(ar=2) + question(b"\0")
        m += b"\0" + struct.pack("!HHIH", TXT, IN, 0, 2 * links)
        prev = 12
        for _ in range(links):
            at = len(m)
            m += ptr(prev)
            prev = at
        m += ptr(prev) + struct.pack("!HHIH", TXT, IN, 0, 0)
        s[f"pointer-hops-{links + 1}-in-a-record"] = m
    s["truncated-label"] = header() + b"\x07examp"
    s["truncated-pointer"] = header() + b"\xc0"
    s["no-qtype"] = header() + name("example.com")
    s["short-5-bytes"] = b"\x12\x34\x01\x00\x00"
    s["header-only"] = header(qd=0)
    s["qdcount-17"] = header(qd=17) + question(name("a.example.com")) * 17
    s["answer-in-query"] = header(an=1) + question(name("example.com")) + ptr(12) + \
        struct.pack("!HHIH", A, IN, 60, 4) + b"\xc0\x00\x02\x01"
    # The one query with an authority record that is accepted (RFC 1995 3): IXFR with the
    # client's SOA (root names, serial 1), and the same with an A record instead (FORMERR).
    soa = b"\x00\x00" + struct.pack("!IIIII", 1, 0, 0, 0, 0)
    s["ixfr-soa-in-authority"] = header(ns=1) + question(name("example.com"), 251) + ptr(12) + \
        struct.pack("!HHIH", SOA, IN, 0, len(soa)) + soa
    s["ixfr-a-in-authority"] = header(ns=1) + question(name("example.com"), 251) + ptr(12) + \
        struct.pack("!HHIH", A, IN, 0, 4) + b"\xc0\x00\x02\x01"
    s["trailing-byte"] = query("example.com") + b"\0"
    s["opcode-notify"] = query("example.com", SOA, flags=0x2400)
    s["qr-set"] = query("example.com", flags=0x8100)
    s["class-ch"] = query("version.bind", TXT, CH)
    return s


def answer_queries():
    """Questions about the example zones, one kind of answer each (docs/04-answer.md)."""
    q = {
        "q-www-a": query("www.example.com"),
        "q-apex-soa": query("example.com", SOA),
        "q-apex-ns": query("example.com", NS),
        "q-apex-mx": query("example.com", MX),
        "q-apex-any": query("example.com", ANY),
        "q-apex-txt": query("example.com", TXT),
        "q-ns2-aaaa": query("ns2.example.com", AAAA),
        "q-v6only-a-nodata": query("v6only.example.com"),
        "q-ftp-cname-chain": query("ftp.example.com"),
        "q-ext-cname-out": query("ext.example.com"),
        "q-info-txt": query("info.example.com", TXT),
        "q-b-empty-nonterminal": query("b.example.com"),
        "q-wild-txt": query("anything.wild.example.com", TXT),
        "q-sub-referral": query("host.sub.example.com"),
        "q-nxdomain": query("nope.example.com"),
        "q-refused": query("example.org"),
        "q-ptr": query("80.2.0.192.in-addr.arpa", PTR),
        "q-mixed-case": query("WwW.ExAmPlE.CoM"),
    }
    m = header(qd=3) + question(name("www.example.com"), A)
    m += question(b"\x04mail" + ptr(16), MX)
    m += question(b"\x03ftp" + ptr(16), A)
    q["q-three-questions"] = m
    many = header(qd=16) + question(name("example.com"), ANY)
    for label in ["www", "mail", "mail2", "ns1", "ns2", "ftp", "web", "ext", "info", "v6only",
                  "b", "a.b", "x.wild", "sub", "nope"]:
        many += question(name(label + ".example.com"), A)
    q["q-sixteen-questions"] = many
    return q


ZONE_SNIPPETS = {
    "minimal": "$ORIGIN example.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n  NS ns\nns A 192.0.2.1\n",
    "parentheses": ("@ 3600 IN SOA ns1.example.com. root.example.com. (\n  1 ; serial\n"
                    "  1h30m 15m 2w 5m )\n@ NS ns1\nns1 IN 300 A 192.0.2.53\n"),
    "txt-escapes": ('@ 1h IN SOA a. b. 1 1 1 1 1\ninfo TXT "a\\"b" "\\\\" "\\065\\066" plain\n'
                    'caps TXT "()" ";"\n'),
    "cname-chain-loop": ("@ 60 SOA a. b. 1 1 1 1 1\na CNAME b\nb CNAME c\nc CNAME a\n"
                         "d CNAME a.example.com.\n"),
    "cname-chain-10": "@ 60 SOA a. b. 1 1 1 1 1\n" + "".join(
        f"c{i} CNAME c{i + 1}\n" for i in range(10)) + "c10 A 192.0.2.10\n*.w CNAME c0\n",
    # 17 names with 5 RRsets each: 16 ANY questions in one query overflow a section.
    "many-rrsets": "@ 60 SOA a. b. 1 1 1 1 1\n@ MX 1 n0\n" + "".join(
        f"n{i} A 192.0.2.{i}\nn{i} AAAA 2001:db8::{i}\nn{i} MX 10 n{(i + 1) % 16}\n"
        f"n{i} TXT \"t{i}\"\nn{i} PTR p{i}\n" for i in range(16)),
    "delegation-glue": ("@ 60 SOA ns1 hm 1 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\n"
                        "sub NS ns1.sub\nsub NS ns.example.net.\nns1.sub A 192.0.2.153\n"
                        "deep.sub A 192.0.2.9\n"),
    "wildcard-mx": ("@ 60 SOA ns1 hm 1 1 1 1 1\n*.w MX 10 mail\n*.w TXT \"w\"\nmail A 192.0.2.25\n"
                    "mail AAAA 2001:db8::25\n@ MX 0 mail\n"),
    "escaped-names": ("$ORIGIN ex\\.ample.com.\n@ 60 SOA a\\.b. c\\\\d. 1 1 1 1 1\n"
                      "\\065\\000x PTR \\@.\nodd\\ name A 192.0.2.7\n"),
    "long-names": ("@ 60 SOA a. b. 1 1 1 1 1\n" + "x" * 63 + " A 192.0.2.1\n" +
                   ".".join(["y" * 60] * 3) + " A 192.0.2.2\n"),
    "err-no-soa": "$TTL 60\nwww A 192.0.2.1\n",
    "err-second-soa": "@ 60 SOA a. b. 1 1 1 1 1\n@ 60 SOA a. b. 2 1 1 1 1\n",
    "err-cname-and-data": "@ 60 SOA a. b. 1 1 1 1 1\nw CNAME x\nw A 192.0.2.1\n",
    "err-unknown-type": "@ 60 SOA a. b. 1 1 1 1 1\nw AAA ::1\nw SRV 0 0 53 x\n",
    "err-unclosed-paren": "@ 60 SOA a. b. ( 1 1 1 1 1\n",
    "err-label-64": "@ 60 SOA a. b. 1 1 1 1 1\n" + "z" * 64 + " A 192.0.2.1\n",
    "err-ttl-too-big": "@ 4294967295 SOA a. b. 1 1 1 1 1\n",
    "err-class-ch": "@ 60 CH SOA a. b. 1 1 1 1 1\n",
    "err-outside-zone": "@ 60 SOA a. b. 1 1 1 1 1\nwww.example.net. A 192.0.2.1\n",
    "err-bad-escape": '@ 60 SOA a. b. 1 1 1 1 1\nt TXT "\\25"\nu TXT "\\999"\n',
    "directives": ("$ORIGIN example.org.\n$TTL 1w2d3h4m5s\n@ SOA ns hm 4294967295 0 0 0 0\n"
                   "$ORIGIN sub.example.org.\nwww A 192.0.2.1\n$INCLUDE other\n"),
}


def capture_replies(queries):
    """Starts build/step-5 on a free port with the example zones; returns {label: reply}."""
    exe = os.path.join(ROOT, "build", "step-5")
    if not os.access(exe, os.X_OK):
        sys.exit("seeds.py: build/step-5 is not built; run `make` first")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(
        [exe, "--port", str(port), "--zone", os.path.join(ROOT, "zones", "example.com.zone"),
         "--zone", os.path.join(ROOT, "zones", "2.0.192.in-addr.arpa.zone"),
         "--log-level", "error"])
    replies = {}
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Not on the server's port (free until the server binds it): the query would come back
        # to this socket and pass for the reply.
        for _ in range(10):  # bounded: the kernel picks ports at random, a repeat is rare
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] != port:
                break
            sock.close()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.2)
        for label, q in queries.items():
            for _ in range(25):  # the server may still be starting
                sock.sendto(q, ("127.0.0.1", port))
                try:
                    replies[label], _ = sock.recvfrom(65536)
                    break
                except socket.timeout:
                    continue
            else:
                sys.exit("seeds.py: build/step-5 gave no reply to " + label)
    finally:
        server.terminate()
        server.wait()
    return replies


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for label, data in seeds.items():
        with open(os.path.join(d, label), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)


def rr(owner, rtype, rdata, ttl=3600, rclass=IN):
    """A record: `owner` already in wire form (a name, or a pointer)."""
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def soa(zone, serial=1, minimum=300):
    return name("ns1." + zone) + name("hostmaster." + zone) + struct.pack(
        "!IIIII", serial, 7200, 3600, 1209600, minimum)


def opt_rr(payload=1232, ext_rcode=0, version=0, flags=0, options=b"", owner=b"\0"):
    return owner + struct.pack("!HHBBHH", OPT, payload, ext_rcode, version, flags,
                               len(options)) + options


def edns_seeds():
    """Queries and replies with OPT records of every kind edns.c judges."""
    q = query("www.example.com")
    s = {}
    s["q-opt"] = header(ar=1) + q[12:] + opt_rr()
    s["q-opt-4096-do"] = header(ar=1) + q[12:] + opt_rr(4096, flags=0x8000)
    s["q-opt-payload-100"] = header(ar=1) + q[12:] + opt_rr(100)
    s["q-opt-version-1"] = header(ar=1) + q[12:] + opt_rr(version=1)
    s["q-opt-options"] = header(ar=1) + q[12:] + opt_rr(
        options=struct.pack("!HH", 10, 8) + b"cookie!!" + struct.pack("!HH", 12, 0))
    s["q-opt-option-too-long"] = header(ar=1) + q[12:] + opt_rr(
        options=struct.pack("!HH", 10, 9) + b"cookie!!")
    s["q-opt-option-cut"] = header(ar=1) + q[12:] + opt_rr(options=b"\0\x0a\0")
    s["q-two-opts"] = header(ar=2) + q[12:] + opt_rr() + opt_rr(512)
    s["q-opt-owner-not-root"] = header(ar=1) + q[12:] + opt_rr(owner=name("example.com"))
    s["q-opt-owner-pointer"] = header(ar=1) + q[12:] + opt_rr(owner=ptr(12))
    s["q-opt-after-a"] = header(ar=2) + q[12:] + rr(ptr(12), A, b"\xc0\0\x02\1") + opt_rr()
    s["q-ixfr-soa-opt"] = header(ns=1, ar=1) + question(name("example.com"), 251) + rr(
        ptr(12), SOA, b"\0\0" + bytes(20)) + opt_rr()
    s["q-no-opt"] = q
    a = rr(ptr(12), A, b"\xc0\0\x02\1")
    s["r-answer-opt"] = header(flags=0x8580, an=1, ar=1) + q[12:] + a + opt_rr()
    s["r-badvers"] = header(flags=0x8100, ar=1) + q[12:] + opt_rr(ext_rcode=1)
    s["r-opt-in-answer"] = header(flags=0x8180, an=1) + q[12:] + opt_rr()
    s["r-opt-in-authority"] = header(flags=0x8180, ns=1) + q[12:] + opt_rr()
    s["r-no-opt"] = header(flags=0x8580, an=1) + q[12:] + a
    s["r-arcount-ffff"] = header(flags=0x8580, an=1, ar=0xFFFF) + q[12:] + a
    return s


def tcp_seeds():
    """Byte streams of a TCP connection: byte 0 is how many cut bytes follow (the sizes of the
    reads, and of the sends of the replies: fuzz_tcp.c), then the stream."""
    def frame(m):
        return struct.pack("!H", len(m)) + m

    def seed(cuts, stream):
        return bytes([len(cuts)]) + bytes(cuts) + stream

    q1, q2 = query("www.example.com"), query("example.com", MX, id_=0x4321)
    big = header(flags=0x8180, an=1) + b"\0" + struct.pack("!HHIH", TXT, IN, 60, 3000) + \
        (b"\xff" + b"t" * 255) * 11 + b"\x8b" + b"t" * 139
    return {
        "one-query": seed([], frame(q1)),
        "pipelined-3": seed([], frame(q1) + frame(q2) + frame(q1)),
        "byte-at-a-time": seed([1], frame(q1) + frame(q2)),
        "split-in-prefix": seed([1, 40, 3], frame(q1) + frame(q2) + frame(q1)),
        "zero-length": seed([0], frame(b"") + frame(q1) + frame(b"")),
        "partial-last": seed([7], frame(q1) + frame(q2)[:10]),
        "prefix-only": seed([], frame(q1) + b"\x01"),
        "large-message": seed([200, 0, 1], frame(big) + frame(q1)),
        "large-byte-at-a-time": seed([1], frame(q1) + frame(big)),
        "many-small": seed([129, 3], b"".join(frame(query(f"n{i}.example")) for i in range(40))),
        "length-ffff-partial": seed([], b"\xff\xff" + q1),
    }


def resolve_seeds():
    """What name servers reply to a resolver (fuzz_resolve.c): events, each a byte (0: a reply,
    whose length follows in 2 bytes, then the reply; 2: a timeout; 3: a failure; the high
    nibble moves the clock), walking down from the sandbox's root as step 8 does. The
    client's question is the first reply's."""
    def ev(reply, clock=0):
        return bytes([clock << 4]) + struct.pack("!H", len(reply)) + reply

    def reply(qname, qtype=A, flags=0x8000, an=b"", ns=b"", ar=b"", counts=(0, 0, 0), rcode=0):
        return header(0x1234, flags | rcode, 1, *counts) + question(name(qname), qtype) + \
            an + ns + ar

    def referral(qname, zone, servers, glue=True, qtype=A, extra=b"", extra_count=0):
        ns = b"".join(rr(name(zone), NS, name(s), 172800) for s in servers)
        ar = b"".join(rr(name(s), A, bytes([127, 0, 0, 10 + i]), 172800)
                      for i, s in enumerate(servers)) if glue else b""
        return reply(qname, qtype, ns=ns, ar=ar + extra,
                     counts=(0, len(servers), (len(servers) if glue else 0) + extra_count))

    def answer(qname, records, count, qtype=A, aa=True, ar=b"", arcount=0):
        return reply(qname, qtype, 0x8400 if aa else 0x8000, an=records,
                     counts=(count, 0, arcount), ar=ar)

    def negative(qname, zone, rcode, qtype=A):
        return reply(qname, qtype, 0x8400, ns=rr(name(zone), SOA, soa(zone), 3600),
                     counts=(0, 1, 0), rcode=rcode)

    www = "www.example.com"
    root_ref = referral(www, "com", ["a.gtld.test", "b.gtld.test"])
    com_ref = referral(www, "example.com", ["ns1.example.com", "ns2.example.com"])
    a_www = rr(name(www), A, b"\xc0\0\x02\x01")
    s = {}
    s["walk-answer"] = ev(root_ref) + ev(com_ref) + ev(answer(www, a_www, 1))
    # The same answer with every name compressed, and an OPT at the end.
    m = header(0x1234, 0x8400, 1, 2, 1, 2) + question(name(www))
    m += rr(ptr(12), A, b"\xc0\0\x02\x01") + rr(ptr(12), A, b"\xc0\0\x02\x02")
    m += rr(ptr(16), NS, b"\x03ns1" + ptr(16)) + rr(b"\x03ns1" + ptr(16), A, b"\x7f\0\0\x0b")
    m += opt_rr()
    s["walk-answer-compressed-opt"] = ev(root_ref) + ev(com_ref) + ev(m)
    chain = rr(name(www), CNAME, name("web.example.com")) + \
        rr(name("web.example.com"), CNAME, name("host.example.com")) + \
        rr(name("host.example.com"), A, b"\xc0\0\x02\x05")
    s["walk-cname-chain"] = ev(root_ref) + ev(com_ref) + ev(answer(www, chain, 3))
    # A CNAME inside the zone whose target's data did not come: asked again.
    s["walk-cname-same-zone"] = ev(root_ref) + ev(com_ref) + ev(answer(
        www, rr(name(www), CNAME, name("web.example.com")), 1)) + ev(answer(
            "web.example.com", rr(name("web.example.com"), A, b"\xc0\0\x02\x06"), 1))
    # A CNAME out of the zone, with the target's A: not believed; the walk starts again.
    out = rr(name(www), CNAME, name("www.example.net")) + \
        rr(name("www.example.net"), A, b"\x06\x06\x06\x06")
    s["walk-cname-out-of-zone"] = ev(root_ref) + ev(com_ref) + ev(answer(www, out, 2)) + \
        ev(referral("www.example.net", "net", ["a.gtld.test"])) + \
        ev(referral("www.example.net", "example.net", ["ns.example.net"])) + \
        ev(answer("www.example.net", rr(name("www.example.net"), A, b"\xc0\0\x02\x07"), 1))
    # A CNAME loop, and a chain past the limit.
    loop = rr(name(www), CNAME, name("a.example.com")) + \
        rr(name("a.example.com"), CNAME, name(www))
    s["walk-cname-loop"] = ev(root_ref) + ev(com_ref) + ev(answer(www, loop, 2))
    long_chain = b"".join(rr(name(f"c{i}.example.com" if i else www), CNAME,
                             name(f"c{i + 1}.example.com")) for i in range(10))
    s["walk-cname-10"] = ev(root_ref) + ev(com_ref) + ev(answer(www, long_chain, 10))
    s["walk-nxdomain"] = ev(root_ref) + ev(com_ref) + ev(negative(www, "example.com", 3))
    s["walk-nodata"] = ev(root_ref) + ev(com_ref) + ev(negative(www, "example.com", 0))
    s["walk-nodata-no-soa"] = ev(root_ref) + ev(com_ref) + ev(answer(www, b"", 0))
    # Lame and failing servers: SERVFAIL, REFUSED, TC, a timeout, a failure, garbage.
    # Each takes one address of the eight com. servers; the seventh refers on.
    root_ref8 = referral(www, "com", ["%s.gtld.test" % c for c in "abcdefgh"])
    s["lame-servers"] = ev(root_ref8) + ev(reply(www, rcode=2)) + ev(reply(www, rcode=5)) + \
        ev(reply(www, flags=0x8200)) + b"\x02\x13" + ev(b"\x12\x34\x80") + ev(com_ref) + \
        ev(answer(www, a_www, 1))
    # Poison: a com. server's referral with glue and an answer for names outside com.
    poison = referral(www, "example.com", ["ns1.example.com", "ns.example.org"],
                      extra=rr(name("ns.example.org"), A, b"\x06\x06\x06\x06") +
                      rr(name("www.example.org"), A, b"\x06\x06\x06\x06"), extra_count=2)
    s["poison-glue"] = ev(root_ref) + ev(poison) + ev(answer(www, a_www, 1))
    s["poison-answer"] = ev(root_ref) + ev(com_ref) + ev(answer(
        www, a_www + rr(name("www.example.org"), A, b"\x06\x06\x06\x06") +
        rr(name("com"), NS, name("evil.example.com")), 3))
    # Referrals that do not go down: to the same zone, up, sideways.
    s["referral-up"] = ev(root_ref8) + ev(referral(www, "", ["a.root-servers.test"])) + \
        ev(referral(www, "com", ["a.gtld.test"])) + ev(referral(www, "org", ["a.gtld.test"])) + \
        ev(com_ref) + ev(answer(www, a_www, 1))
    # A glueless delegation: the NS name is resolved first (a sub-resolution).
    s["glueless"] = ev(root_ref) + ev(referral(www, "example.com", ["ns.example.net"], False)) + \
        ev(referral("ns.example.net", "net", ["a.gtld.test"])) + \
        ev(referral("ns.example.net", "example.net", ["ns1.example.net"])) + \
        ev(answer("ns.example.net", rr(name("ns.example.net"), A, b"\x7f\0\0\x14"), 1)) + \
        ev(answer(www, a_www, 1))
    # Referrals down to the deadline: each a label deeper.
    deep = b""
    labels = ["l%d" % i for i in range(12)]
    qname = ".".join(labels) + ".example.com"
    for i in range(1, 12):
        zone = ".".join(labels[-i:]) + ".example.com"
        deep += ev(referral(qname, zone, ["ns." + zone]), clock=1)
    s["deep-referrals"] = ev(referral(qname, "com", ["a.gtld.test"])) + deep
    # Time passes between replies (TTLs of 0 and 1 s expire, the deadline comes).
    short = reply(www, ns=rr(name("com"), NS, name("a.gtld.test"), 0) +
                  rr(name("com"), NS, name("b.gtld.test"), 1),
                  ar=rr(name("a.gtld.test"), A, b"\x7f\0\0\x0a", 1), counts=(0, 2, 1))
    s["short-ttls"] = ev(short) + ev(com_ref, clock=5) + ev(answer(www, a_www, 1), clock=2)
    s["mx-any"] = ev(referral("example.com", "com", ["a.gtld.test"], qtype=MX)) + \
        ev(referral("example.com", "example.com", ["ns1.example.com"], qtype=MX)) + \
        ev(answer("example.com", rr(name("example.com"), MX, b"\0\x0a" + name("mail.example.com")),
                  1, qtype=MX))
    return s


def upstream_seeds():
    """What the network does to one query of a resolver (fuzz_upstream.c): events, each a byte
    (bits 0-2: 0 a datagram, 1 TCP bytes, 2 an ICMP error, 3 the TCP server closes, 4 it
    resets, 5 TCP send room, 6 the next connect() refused, 7 nothing; bit 3 the ID is made the
    query's; bit 4 the datagram comes from another port; bits 5-7 the clock moves)."""
    FIX, BADPORT = 8, 16

    def dgram(m, flags=FIX):
        return bytes([flags]) + struct.pack("!H", len(m)) + m

    def tcp(m, chunk=0, flags=FIX, framed=True):
        data = struct.pack("!H", len(m)) + m if framed else m
        return bytes([1 | flags]) + struct.pack("!H", len(data)) + data + bytes([chunk])

    www = question(name("www.example.com"))
    ans = header(0, 0x8400, 1, 1) + www + rr(ptr(12), A, b"\xc0\0\x02\x01")
    ans_opt = header(0, 0x8400, 1, 1, 0, 1) + www + rr(ptr(12), A, b"\xc0\0\x02\x01") + opt_rr()
    tc = header(0, 0x8600, 1) + www
    other = header(0, 0x8400, 1, 1) + question(name("www.example.org")) + \
        rr(ptr(12), A, b"\x06\x06\x06\x06")
    upper = header(0, 0x8400, 1, 1) + question(name("WWW.EXAMPLE.COM")) + \
        rr(ptr(12), A, b"\xc0\0\x02\x01")
    wait = bytes([0xE7])  # nothing happens, 0.7 timeouts pass
    # The question asked is the first datagram's: a seed that starts otherwise starts with
    # this, a reply from the wrong port (ignored).
    first = dgram(ans, FIX | BADPORT)
    return {
        "udp-answer": dgram(ans),
        "udp-answer-opt": dgram(ans_opt),
        "udp-answer-upper-case": dgram(upper),
        "udp-wrong-id-then-right": dgram(ans, 0) + dgram(ans),
        "udp-wrong-port-then-right": dgram(ans, FIX | BADPORT) + dgram(ans),
        "udp-other-question": first + dgram(other) + dgram(ans),
        "udp-query-not-reply": dgram(header(0, 0x0000, 1) + www) + dgram(ans),
        "udp-short": first + dgram(b"\0\0\x84") + dgram(ans),
        "udp-icmp-refused": dgram(ans, 0) + b"\x02" + dgram(ans),
        "udp-timeouts": dgram(ans, 0) + wait * 3 + dgram(ans),
        "udp-all-time-out": first + wait * 8,
        "tc-then-tcp": dgram(tc) + tcp(ans),
        "tc-then-tcp-byte-at-a-time": dgram(tc) + tcp(ans_opt, 1),
        # The connection takes 3 bytes, then none (send() retried on a timer), then the rest.
        "tc-then-tcp-send-in-pieces": first + bytes([5, 3]) + dgram(tc) + b"\x27" * 3 +
        bytes([5, 255]) + b"\x27" * 3 + tcp(ans, 7),
        "tc-then-tcp-wrong-id": dgram(tc) + tcp(ans, 0, 0) + dgram(ans),
        "tc-then-tcp-tc": dgram(tc) + tcp(tc),
        "tc-then-tcp-length-5": dgram(tc) + tcp(b"\0\x05abcde", framed=False) + dgram(ans),
        "tc-then-tcp-closed": dgram(tc) + tcp(ans[:20], framed=False) + b"\x03" + dgram(ans),
        "tc-then-tcp-reset": dgram(tc) + b"\x04" + dgram(ans),
        "tc-then-connect-refused": b"\x06" + dgram(tc) + dgram(ans),
        "tc-then-tcp-times-out": dgram(tc) + wait * 2 + dgram(ans),
        # A server that predates EDNS (step 9 asks again without the OPT) and one that says
        # BADVERS; and a FORMERR that carries an OPT (not a refusal of it).
        "formerr-no-opt": dgram(header(0, 0x8001, 1) + www) + dgram(ans),
        "notimp-no-opt": dgram(header(0, 0x8004, 1) + www) + dgram(ans),
        "badvers": dgram(header(0, 0x8000, 1, 0, 0, 1) + www + opt_rr(ext_rcode=1)) + dgram(ans),
        "formerr-with-opt": dgram(header(0, 0x8001, 1, 0, 0, 1) + www + opt_rr()),
        "tcp-formerr-no-opt": dgram(tc) + tcp(header(0, 0x8001, 1) + www) + dgram(ans),
    }


def main():
    only = sys.argv[1:]  # e.g. `seeds.py edns tcp resolve`: rewrite only those corpora
    if only:
        for target in only:
            if target not in ("edns", "tcp", "resolve", "upstream"):
                sys.exit("seeds.py: only edns, tcp, resolve and upstream can be written alone")
            shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
        if "edns" in only:
            write("edns", edns_seeds())
            write("edns", wire_seeds())
        if "tcp" in only:
            write("tcp", tcp_seeds())
        if "resolve" in only:
            write("resolve", resolve_seeds())
        if "upstream" in only:
            write("upstream", upstream_seeds())
        return
    shutil.rmtree(CORPUS, ignore_errors=True)
    wire = wire_seeds()
    questions = answer_queries()
    replies = {"r" + label[1:]: data for label, data in capture_replies(questions).items()}
    # A few replies to hostile queries too (header-only FORMERR and NOTIMP).
    hostile = {k: wire[k] for k in ["multi-question-pointers", "opcode-notify", "qdcount-17",
                                    "self-pointer", "dig-google"]}
    replies.update({"r-" + k: v for k, v in capture_replies(hostile).items()})

    write("query", wire)
    write("query", {k: questions[k] for k in ["q-three-questions", "q-sixteen-questions"]})
    write("name", wire)
    write("name", {k: replies[k] for k in ["r-apex-mx", "r-sub-referral", "r-ptr"]})
    write("answer", questions)
    hops = ["pointer-hops-128-in-a-record", "pointer-hops-129-in-a-record"]
    write("answer", {k: wire[k] for k in ["dig-google", "multi-question-pointers", "edns-opt",
                                          "self-pointer", "opcode-notify", "qr-set"] + hops})
    write("roundtrip", replies)
    write("roundtrip", {k: wire[k] for k in ["dig-google", "multi-question-pointers",
                                             "answer-in-query"] + hops})
    # An upstream's replies, as the forwarder relays them (step 6): the same real replies.
    write("relay", replies)
    write("relay", {k: wire[k] for k in ["dig-google", "multi-question-pointers",
                                         "answer-in-query"] + hops})
    write("trace", replies)
    write("trace", wire)
    zones = dict(ZONE_SNIPPETS)
    for f in ["example.com.zone", "2.0.192.in-addr.arpa.zone"]:
        with open(os.path.join(ROOT, "zones", f)) as z:
            zones["zones-" + f] = z.read()
    write("zone", zones)
    # Step 9's OPT record and TCP framing, step 8's resolver on name servers' replies, and
    # the network's doings to one query of steps 7 and 9.
    write("edns", edns_seeds())
    write("edns", wire_seeds())
    write("edns", replies)
    write("tcp", tcp_seeds())
    write("resolve", resolve_seeds())
    write("upstream", upstream_seeds())

    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(CORPUS) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(CORPUS))
    print(f"seeds.py: {count} seeds, {total} bytes, in {os.path.relpath(CORPUS, ROOT)}/")


if __name__ == "__main__":
    main()
