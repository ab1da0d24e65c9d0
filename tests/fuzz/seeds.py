#!/usr/bin/env python3
"""seeds.py: writes the fuzzers' seed corpus, tests/fuzz/corpus/<target>/.

The seeds are small, named for what they are, and made here byte by byte so anyone can see why
each exists: real queries (a dig capture, several questions with pointers), hostile names (loops,
self and forward pointers, pointers into the header, label types 01 and 10, names one octet too
long, pointer chains one hop too long), the replies build/step-5 gives for the example zones
(captured over UDP on 127.0.0.1), and zone-file snippets.

    tests/fuzz/seeds.py            # rewrite the corpus (starts build/step-5 to capture replies)

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


def main():
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

    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(CORPUS) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(CORPUS))
    print(f"seeds.py: {count} seeds, {total} bytes, in {os.path.relpath(CORPUS, ROOT)}/")


if __name__ == "__main__":
    main()
