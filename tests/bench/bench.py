#!/usr/bin/python3
"""bench: how fast the workbook's servers answer, against NSD and unbound, on 127.0.0.1.

`make bench` builds the servers and runs this script. It prints one Markdown table measured in
one run, then the performance targets with PASS or MISS. It

  1. starts every row's server, pinned to one core, timing process start -> first answer,
     and reads its resident memory (VmRSS) while idle;
  2. measures the rows in ROUNDS interleaved rounds (row A, B, C, A, B, C, ...), each round:
     - saturation: dnsperf, pinned to the other core, keeps 1000 queries in flight for
       SECONDS; the row gets the queries/s answered and the server's CPU use meanwhile;
     - fixed load: dnsperf offers RATE queries/s for SECONDS; the server's CPU time
       (utime + stime from /proc/PID/stat, summed over its processes) divided by the
       queries answered is its CPU cost per query;
  3. reads VmRSS again, after the load; the table shows the median of the rounds.

Only 127.0.0.1 is ever used, on ports 5300-5399, and for the resolver rows the sandbox internet
(zones/sandbox/), which the script starts for them on its 127.0.0.x addresses, port SANDBOX_PORT,
and stops at the end. Every dnsperf run has a time limit, every process started here is ended by
its pid at the end, on an error and on Ctrl-C.

Adding a row: append a Row to ROWS (see the forwarder and resolver rows at its end). A row whose
program is not built yet, or whose reference (nsd, unbound) is not installed, is skipped with a
line saying why. Python 3 standard library only.
"""

import argparse
import os
import random
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Two cores: the server under test gets one, dnsperf (and any upstream server) the other, so a
# server's numbers are not mixed with the load generator's.
SERVER_CPU = 1
CLIENT_CPU = 0

PORT_BASE = 5300  # ports 5300-5399 belong to the benchmark; row i listens on PORT_BASE + i
ADDRESS = "127.0.0.1"  # the only address the load goes to
# The sandbox internet of the resolver rows: its own copy (pid file and logs in the temporary
# directory), on the sandbox's addresses (127.0.0.2-.25, never 127.0.0.1) and a port of the
# benchmark's that no row uses there, so it never meets a `make sandbox` a reader has running.
SANDBOX_PORT = 5380
SANDBOX_HINTS = "zones/sandbox/root.hints"
SANDBOX_TABLE = "zones/sandbox/servers"

SMALL_ZONES = ["zones/example.com.zone", "zones/2.0.192.in-addr.arpa.zone"]
LARGE_ORIGIN = "large.example"  # RFC 2606: .example is reserved for documentation
LARGE_NAMES = 100_000
HOSTILE_COUNT = 20_000  # queries of each hostile kind per round
HOSTILE_RATE = 10_000  # q/s: well below saturation, so the cost is per query, not per backlog


# --- what is measured: one Row per line of the table ------------------------------------------

@dataclass
class Row:
    label: str  # first column of the table
    kind: str  # "step" (build/step-N), "nsd" or "unbound"
    queries: str  # query file: "small" or "large" (generated into BUILD/bench/)
    step: int = 0  # for kind "step"
    program: str = ""  # for kind "step": another binary instead of BUILD/step-N (a variant)
    zones: list = field(default_factory=list)  # zone files served (kinds step and nsd)
    args: list = field(default_factory=list)  # extra arguments; {upstream} = the upstream's port
    ref: str = ""  # label of the row this one is compared with (q/s and CPU), "" for none
    floor: str = ""  # label of the do-nothing server this one is compared with
    upstream: str = ""  # label of a row started first, on the client core, as this one's upstream
    warm: bool = False  # send every query once before measuring (to fill a cache)
    sandbox: bool = False  # resolves in the sandbox internet (started first); {sandbox} = its port
    cpus: str = ""  # taskset's CPU list for the server, if not SERVER_CPU alone


FLOOR = "step 1 (echo: the floor)"
STEP5 = "step 5, example zones"
NSD = "NSD, example zones"
STEP5_LARGE = "step 5, 100k names"
NSD_LARGE = "NSD, 100k names"
STEP5_WORKERS = "step 5, example zones, --workers 2"
STEP8 = "step 8 resolver, cache hits"
STEP9 = "step 9 resolver, cache hits"
UNBOUND_CACHE = "unbound resolver, cache hits"

ROWS = [
    Row(FLOOR, "step", "small", step=1),
    Row(STEP5, "step", "small", step=5, zones=SMALL_ZONES, ref=NSD, floor=FLOOR),
    Row(NSD, "nsd", "small", zones=SMALL_ZONES, floor=FLOOR),
    Row(STEP5_LARGE, "step", "large", step=5, zones=["@large"], ref=NSD_LARGE, floor=FLOOR),
    Row(NSD_LARGE, "nsd", "large", zones=["@large"], floor=FLOOR),
    # Two workers on this machine's two cores, so one of them shares dnsperf's core: what scaling
    # out can show on two cores (performance.md, "Scaling out").
    Row(STEP5_WORKERS, "step", "small", step=5, zones=SMALL_ZONES, args=["--workers", "2"],
        ref=STEP5, floor=FLOOR, cpus=f"{CLIENT_CPU},{SERVER_CPU}"),
    # Later steps: each is skipped until build/step-N exists. The upstream row (step 5 on the
    # example zones) is started on the client core before the row itself.
    Row("step 6 forwarder", "step", "small", step=6, args=["--resolver", "127.0.0.1:{upstream}"],
        ref="unbound forwarder", floor=FLOOR, upstream=STEP5),
    Row("unbound forwarder", "unbound", "small", args=["forward"], floor=FLOOR, upstream=STEP5),
    # The resolvers answering from their caches: each resolves the sandbox queries once from
    # the sandbox's root (the warm-up), then every query of the runs is a cache hit. unbound
    # gets the same root, through a stub zone per sandbox zone (it has no option for the port
    # of the servers a referral names), and its cache.
    Row(STEP8, "step", "sandbox", step=8,
        args=["--root-hints", SANDBOX_HINTS, "--ns-port", "{sandbox}"], ref=UNBOUND_CACHE,
        floor=FLOOR, warm=True, sandbox=True),
    Row(STEP9, "step", "sandbox", step=9,
        args=["--root-hints", SANDBOX_HINTS, "--ns-port", "{sandbox}"], ref=UNBOUND_CACHE,
        floor=FLOOR, warm=True, sandbox=True),
    Row(UNBOUND_CACHE, "unbound", "sandbox", args=["sandbox"], floor=FLOOR, warm=True,
        sandbox=True),
]


@dataclass
class Target:
    text: str
    row: str
    metric: str  # "qps_vs_ref", "cpu_vs_floor" or "rss_idle_mib"
    limit: float
    at_least: bool  # True: value >= limit passes; False: value <= limit passes


TARGETS = [
    Target("step 5 worst query CPU <= 3 x a normal query's", STEP5, "worst_vs_normal", 3.0,
           False),
    Target("step 5 saturation >= 1.0 x NSD's", STEP5, "qps_vs_ref", 1.0, True),
    Target("step 5 CPU/query <= 1.15 x the floor's", STEP5, "cpu_vs_floor", 1.15, False),
    Target("step 5 CPU/query <= 1.15 x the floor's, 100k names", STEP5_LARGE, "cpu_vs_floor",
           1.15, False),
    Target("step 5 idle RSS <= 4 MiB", STEP5, "rss_idle_mib", 4.0, False),
    Target("step 8 cache hits: saturation >= 1.0 x unbound's", STEP8, "qps_vs_ref", 1.0, True),
    Target("step 9 cache hits: saturation >= 1.0 x unbound's", STEP9, "qps_vs_ref", 1.0, True),
    Target("step 8 cache hits: CPU/query <= 1.15 x the floor's", STEP8, "cpu_vs_floor", 1.15,
           False),
    Target("step 9 cache hits: CPU/query <= 1.15 x the floor's", STEP9, "cpu_vs_floor", 1.15,
           False),
    Target("step 9 idle RSS <= 8 MiB", STEP9, "rss_idle_mib", 8.0, False),
]


# --- the files the runs read ------------------------------------------------------------------

# Realistic traffic on the example zones, with its weight: mostly addresses, some mail, name
# server and text look-ups, CNAMEs, names that do not exist, a referral and a reverse look-up.
SMALL_MIX = [
    ("example.com", "A", 6), ("example.com", "AAAA", 3), ("example.com", "MX", 3),
    ("example.com", "NS", 2), ("example.com", "TXT", 2), ("example.com", "SOA", 1),
    ("www.example.com", "A", 12), ("www.example.com", "AAAA", 4),  # AAAA: NODATA
    ("mail.example.com", "A", 4), ("mail2.example.com", "A", 2), ("ns1.example.com", "A", 2),
    ("ns2.example.com", "AAAA", 2), ("v6only.example.com", "AAAA", 2),
    ("web.example.com", "A", 4), ("ftp.example.com", "A", 2),  # CNAME, CNAME chain
    ("ext.example.com", "A", 1),  # CNAME leaving the zone
    ("info.example.com", "TXT", 2), ("host7.wild.example.com", "TXT", 2),  # wildcard
    ("b.example.com", "A", 1),  # empty non-terminal: NODATA
    ("nonexistent.example.com", "A", 4), ("nope.example.com", "AAAA", 2),  # NXDOMAIN
    ("printer.example.com", "A", 2),  # NXDOMAIN
    ("www.sub.example.com", "A", 2),  # referral
    ("80.2.0.192.in-addr.arpa", "PTR", 2), ("99.2.0.192.in-addr.arpa", "PTR", 1),  # NXDOMAIN
]


# What a resolver is asked, in the sandbox internet (zones/sandbox/): addresses and other types,
# CNAMEs (within a zone, to another zone, a chain through three zones), a wildcard, a zone whose
# server has no glue, and negative answers (NXDOMAIN, NODATA). No flaky.test.: a dead server's
# back-off is not what a cache hit costs. TTLs are 300 s (www.example.com, negative answers) or
# more: the whole benchmark takes a few minutes, so the warm-up's answers mostly last it out.
SANDBOX_MIX = [
    ("www.example.com", "A", 12), ("www.example.com", "AAAA", 4), ("example.com", "MX", 3),
    ("example.com", "NS", 2), ("example.com", "TXT", 2), ("mail.example.com", "A", 4),
    ("mail.example.com", "AAAA", 2),  # NODATA
    ("www.lab.example.com", "A", 3), ("alias.lab.example.com", "A", 2),  # CNAME to example.com
    ("www.example.net", "A", 3),  # CNAME to www.example.com
    ("alias.example.net", "A", 2),  # a chain through three zones
    ("host7.users.example.net", "A", 2),  # wildcard
    ("www.example.org", "A", 3),  # its server, ns1.hosting.net, has no glue
    ("www.hosting.net", "A", 2),
    ("nosuch.example.com", "A", 4), ("nope.example.org", "AAAA", 1),  # NXDOMAIN
]


def write_mix(path, mix, seed):
    lines = [f"{name} {qtype}\n" for name, qtype, weight in mix for _ in range(weight)]
    random.Random(seed).shuffle(lines)  # interleaved, as real traffic is; fixed seed: same file
    with open(path, "w") as f:
        f.writelines(lines)


def write_small_queries(path):
    write_mix(path, SMALL_MIX, 1)


def write_large_zone(zone_path, queries_path):
    """A zone of LARGE_NAMES names (apex included) and queries drawn from it.

    Of every 20 names: 16 hosts (A; every other one an AAAA too), 2 aliases (CNAME to a host),
    1 mail domain (MX naming a host, and an A) and 1 text name (TXT). The queries: 70%
    addresses, 10% CNAMEs, 5% MX, 5% TXT and 10% names that do not exist (NXDOMAIN). The same
    seed gives the same files, so runs compare."""
    rng = random.Random(2)
    hosts, aliases, mails, texts = [], [], [], []
    out = [f"; {LARGE_NAMES} names generated by tests/bench/bench.py\n",
           f"$ORIGIN {LARGE_ORIGIN}.\n$TTL 3600\n",
           "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n",
           "@ IN NS ns1\n@ IN NS ns2\n",
           "ns1 IN A 192.0.2.53\nns2 IN A 198.51.100.53\n"]
    # The apex, ns1 and ns2 are 3 names: the loop adds the rest.
    for i in range(LARGE_NAMES - 3):
        kind = i % 20
        if kind < 16:
            name = f"host{i}"
            out.append(f"{name} IN A 192.0.2.{i % 250 + 1}\n")
            if i % 2 == 0:
                out.append(f"{name} IN AAAA 2001:db8::{i % 65536:x}\n")
            hosts.append(name)
        elif kind < 18:
            name = f"alias{i}"
            out.append(f"{name} IN CNAME host{i - kind}\n")
            aliases.append(name)
        elif kind == 18:
            name = f"mx{i}"  # the exchange is a host, so the reply has its address too
            out.append(f"{name} IN MX 10 host{i - kind}\n{name} IN A 192.0.2.25\n")
            mails.append(name)
        else:
            name = f"txt{i}"
            out.append(f'{name} IN TXT "generated record {i}" "for the benchmark"\n')
            texts.append(name)
    with open(zone_path, "w") as f:
        f.writelines(out)

    queries = []
    for _ in range(50_000):
        p = rng.random()
        if p < 0.50:
            queries.append(f"{rng.choice(hosts)}.{LARGE_ORIGIN} A\n")
        elif p < 0.70:
            queries.append(f"{rng.choice(hosts)}.{LARGE_ORIGIN} AAAA\n")
        elif p < 0.80:
            queries.append(f"{rng.choice(aliases)}.{LARGE_ORIGIN} A\n")
        elif p < 0.85:
            queries.append(f"{rng.choice(mails)}.{LARGE_ORIGIN} MX\n")
        elif p < 0.90:
            queries.append(f"{rng.choice(texts)}.{LARGE_ORIGIN} TXT\n")
        else:
            queries.append(f"missing{rng.randrange(10**6)}.{LARGE_ORIGIN} A\n")
    with open(queries_path, "w") as f:
        f.writelines(queries)


# --- processes --------------------------------------------------------------------------------

STARTED = []  # every Popen started here, so that cleanup() can end each by its pid


def start(cmd, cpu, log_path):
    log = open(log_path, "wb")
    # A session of its own: Ctrl-C reaches only this script, which then ends the children in
    # order instead of leaving them half-stopped.
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    log.close()
    STARTED.append(p)
    return p


def descendants(pid):
    """pid and every process below it (NSD forks a server and a zone-transfer process)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def stop(p):
    if p.poll() is not None:
        return
    tree = descendants(p.pid)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for pid in tree[1:]:  # children the server should have ended with itself
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cleanup():
    for p in reversed(STARTED):
        stop(p)
    STARTED.clear()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy so far: user, nice, system, irq and softirq
    (interrupt time too, since a task's own CPU time includes the interrupts it ran)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return sum(int(fields[i]) for i in (1, 2, 3, 6, 7)) / CLK_TCK


def own_seconds():
    """CPU seconds of this script and of the children it waited for (the dnsperf runs)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def cpu_seconds(pid):
    """utime + stime of pid and its descendants (all threads), in seconds."""
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return total / CLK_TCK


def rss_kib(pid):
    """VmRSS summed over pid and its descendants, in KiB."""
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def dns_query(qid, name, qtype=1):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l)
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(
        ">HH", qtype, 1)


# --- hostile queries: what one query can cost at most -----------------------------------------

def deep_name(zone="example.com"):
    """As many one-letter labels under `zone` as fit in 255 octets: the deepest name there is
    (121 labels under example.com)."""
    zone_octets = sum(len(l) + 1 for l in zone.split(".")) + 1
    return ".".join(["a"] * ((255 - zone_octets) // 2)) + "." + zone


def many_questions_query(qid):
    """16 questions in 361 bytes: a 255-octet name, then 15 pointers into it, each a name of up
    to 255 octets: what costs a server the most work per byte it is sent."""
    name = b"".join(bytes([len(l)]) + l.encode() for l in deep_name().split(".")) + b"\0"
    q = struct.pack(">HHHHHH", qid, 0x0100, 16, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
    for i in range(15):
        q += struct.pack(">HHH", 0xC000 | (12 + 2 * i), 1, 1)
    return q


QUESTION_OCTETS_MAX = 300  # MSG_QUESTION_OCTETS_MAX (common/msg.h): names a query may hold
WILD = "wild.example.com"  # *.wild.example.com answers every name below it with a TXT record
TXT = 16


def questions_query(qid, questions):
    """A query of the given (name, qtype) questions, every name written in full."""
    q = struct.pack(">HHHHHH", qid, 0x0100, len(questions), 0, 0, 0)
    for name, qtype in questions:
        q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
        q += struct.pack(">HH", qtype, 1)
    return q


def wild_names(octets):
    """Names under WILD, one per entry of `octets` (each name's length on the wire): a first
    label of its own (b, c, d, ...), then as many one-letter labels as fit, the most labels there
    can be in that length (one of two letters when the length is odd). A name shares all but its
    first label with a longer one, so a reply to several of them is short enough to be written
    out (names that shared nothing but WILD would make a reply of 4 x 255 octets a header with
    TC, which costs less)."""
    names = []
    wild = sum(len(l) + 1 for l in WILD.split(".")) + 1  # 18 octets, the root included
    for i, n in enumerate(octets):
        free = n - wild - 2  # after the label of its own
        odd = free % 2  # then one label "aa", 3 octets; the others "a", 2 octets each
        labels = ["a"] * ((free - 3 * odd) // 2) + ["aa"] * odd
        names.append(".".join([chr(ord("b") + i)] + labels + [WILD]))
    return names


def wild_query(qid, octets):
    return questions_query(qid, [(name, TXT) for name in wild_names(octets)])


# name, what it is, the query's bytes (ID 0: the sender sets it)
HOSTILE = [
    ("normal", "www.example.com A: a normal answer", lambda: dns_query(0, "www.example.com")),
    ("deep", "the deepest name, NXDOMAIN", lambda: dns_query(0, deep_name())),
    ("deep-wild", "the deepest name under a wildcard", lambda: dns_query(0, deep_name("wild.example.com"), 16)),
    ("16 questions", "16 questions of up to 255 octets in 361 bytes", lambda: many_questions_query(0)),
    # Several questions each answered by the wildcard, whose answer repeats the name: four of 255
    # octets, the dearest query step 5 answered before MSG_QUESTION_OCTETS_MAX was lowered from
    # 1024 to 300 (now FORMERR); then the dearest within 300 octets, in two long names or in as
    # many short ones as fit; and 16 questions that each follow two CNAMEs (ftp -> web -> www).
    ("4 wild 255", "4 names of 255 octets under the wildcard, 1,020 octets",
     lambda: wild_query(0, [255] * 4)),
    ("wild 300", "2 names under the wildcard, 255 + 45 = 300 octets",
     lambda: wild_query(0, [255, QUESTION_OCTETS_MAX - 255])),
    ("15 wild", "15 names of 20 octets under the wildcard, 300 octets",
     lambda: wild_query(0, [20] * 15)),
    ("16 chains", "16 times ftp.example.com A, 2 CNAMEs each, 272 octets",
     lambda: questions_query(0, [("ftp.example.com", 1)] * 16)),
]


def send_paced(port, query, count, rate):
    """Sends `query` `count` times at `rate` q/s (in 1 ms batches) from this process, counting
    the replies; returns how many came back. Run on the client core (see --send)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        got = sent = 0
        t0 = time.monotonic()
        while sent < count:
            due = min(count, int((time.monotonic() - t0) * rate) + 1)
            while sent < due:
                q = struct.pack(">H", sent & 0xFFFF) + query[2:]
                try:
                    s.sendto(q, (ADDRESS, port))
                    sent += 1
                except BlockingIOError:
                    break
            while True:
                try:
                    s.recv(65536)
                    got += 1
                except BlockingIOError:
                    break
            time.sleep(0.001)
        end = time.monotonic() + 1.0  # the last replies
        while got < sent and time.monotonic() < end:
            try:
                s.recv(65536)
                got += 1
            except BlockingIOError:
                time.sleep(0.001)
        return got


def wait_first_answer(p, port, name, limit):
    """Returns once the server answers a query for `name`; raises after `limit` seconds."""
    t0 = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.01)
        query = dns_query(0xBEEF, name)
        while time.monotonic() - t0 < limit:
            if p.poll() is not None:
                raise RuntimeError(f"exited with status {p.returncode} before answering")
            s.sendto(query, (ADDRESS, port))
            try:
                data = s.recv(4096)
                if data[:2] == query[:2]:
                    return
            except (socket.timeout, ConnectionRefusedError):
                pass
    raise RuntimeError(f"no answer within {limit:.0f} s")


def dnsperf(port, queries, seconds, rate=None, once=False):
    """Runs dnsperf on the client core; returns what it counted.

    4 sockets, 1000 queries in flight, 2 threads: on one core, 2 threads keep a server busier
    than 1 (with -T 1 the echo server sat idle 10-35% of a saturation run, dnsperf being the
    bottleneck; with -T 2 it is busy ~99%). -t 2: a query lost at the very end of a run waits
    2 s, not the default 5."""
    cmd = ["taskset", "-c", str(CLIENT_CPU), "dnsperf", "-s", ADDRESS, "-p", str(port), "-d",
           queries, "-c", "4", "-T", "2", "-q", "1000", "-t", "2",
           "-O", "suppress=timeout"]
    cmd += ["-n", "1"] if once else ["-l", str(seconds)]
    if rate:
        cmd += ["-Q", str(rate)]
    # Bounded twice: dnsperf's own -l, and this timeout should dnsperf hang.
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30,
                       start_new_session=True)
    out = r.stdout

    def num(pattern):
        m = re.search(pattern, out)
        if m is None:
            raise RuntimeError(f"dnsperf gave no '{pattern}':\n{out[-2000:]}{r.stderr[-2000:]}")
        return float(m.group(1))

    return {
        "sent": num(r"Queries sent:\s+(\d+)"),
        "completed": num(r"Queries completed:\s+(\d+)"),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "reply_bytes": num(r"Average packet size:.*response (\d+)"),
    }


# --- the servers ------------------------------------------------------------------------------

def nsd_config(tmp, port, zone_files):
    """An nsd.conf serving the zone files, on 127.0.0.1@port, all state in `tmp`.

    One server process, as step 5 has one loop. username "": no chroot, no privilege drop, so
    it runs from a temporary directory as whoever runs the benchmark. Rate limiting off (NSD's
    parser accepts the rrl- options even when built without it). The socket buffers of step 5
    (4 MiB). No remote control."""
    zones = ""
    for path in zone_files:
        origin = zone_origin(path)
        zones += f"zone:\n    name: \"{origin}\"\n    zonefile: \"{path}\"\n"
    conf = f"""# generated by tests/bench/bench.py
server:
    server-count: 1
    ip-address: {ADDRESS}@{port}
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    pidfile: "{tmp}/nsd.pid"
    database: "{tmp}/nsd.db"
    xfrdfile: "{tmp}/xfrd.state"
    zonelistfile: "{tmp}/zone.list"
    logfile: "{tmp}/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    receive-buffer-size: 4194304
    send-buffer-size: 4194304
remote-control:
    control-enable: no
{zones}"""
    path = os.path.join(tmp, "nsd.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def sandbox_zones():
    """{zone: [addresses]} of the sandbox internet, from its serving table (zones/sandbox/servers:
    an address, then zone files named ZONE.zone, "root.zone" for the root)."""
    zones = {}
    with open(os.path.join(ROOT, SANDBOX_TABLE)) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            for file in words[1:]:
                zone = file[:-len(".zone")]
                zones.setdefault("." if zone == "root" else zone + ".", []).append(words[0])
    return zones


def unbound_config(tmp, port, mode, upstream_port, sandbox_port=0):
    """An unbound.conf on 127.0.0.1@port.

    mode "forward": sends everything to 127.0.0.1@upstream_port with its cache kept empty
    (cache-max-ttl 0), like a forwarder without a cache. mode "sandbox": an iterative resolver
    in the sandbox internet: a stub zone for each of its zones, naming the zone's servers on
    sandbox_port (a referral would send unbound to port 53, where nothing of the sandbox
    listens, and from where it must never go out of 127.0.0.0/8), every query leaving from
    127.0.0.1; it caches, and the row warms the cache before measuring."""
    if mode == "forward":
        where = f"""forward-zone:
    name: "."
    forward-addr: {ADDRESS}@{upstream_port}"""
    elif mode == "sandbox":
        where = "\n".join(f"""stub-zone:
    name: "{zone}"
""" + "\n".join(f"    stub-addr: {a}@{sandbox_port}" for a in addresses)
                          for zone, addresses in sandbox_zones().items())
    else:
        raise ValueError(mode)
    conf = f"""# generated by tests/bench/bench.py
server:
    interface: {ADDRESS}@{port}
    port: {port}
    num-threads: 1
    do-ip6: no
    username: ""
    chroot: ""
    directory: "{tmp}"
    pidfile: "{tmp}/unbound.pid"
    logfile: "{tmp}/unbound.log"
    use-syslog: no
    verbosity: 0
    module-config: "iterator"
    do-not-query-localhost: no
    qname-minimisation: no
    ratelimit: 0
    ip-ratelimit: 0
    so-rcvbuf: 4m
    so-sndbuf: 4m
    outgoing-interface: {ADDRESS}
    trust-anchor-file: ""
    auto-trust-anchor-file: ""
    # unbound answers test. itself (RFC 6761 special-use names): here it is a sandbox TLD.
    local-zone: "test." nodefault
    {"cache-max-ttl: 0" if mode == "forward" else "# the cache is kept"}
{where}
remote-control:
    control-enable: no
"""
    path = os.path.join(tmp, "unbound.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def program(name):
    """The path of an installed program, looking in /usr/sbin too (not on every user's PATH)."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def zone_origin(path):
    with open(path) as f:
        for line in f:
            if line.startswith("$ORIGIN"):
                return line.split()[1].rstrip(".")
    raise RuntimeError(f"{path}: no $ORIGIN")


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.build = os.path.abspath(os.path.join(ROOT, opts.build_dir))
        self.dir = os.path.join(self.build, "bench")
        os.makedirs(self.dir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="dns-bench-")
        self.results = {}  # label -> dict of measures
        self.skipped = []  # (label, why)
        self.files = {}
        self.others_pct = 0.0
        self.hostile_results = {}  # label -> {kind: (CPU µs/query, answered)}
        self.sandbox_dir = None  # the sandbox's pid file and logs, once started
        self.sandbox_server = (os.path.join(ROOT, opts.sandbox_server) if opts.sandbox_server
                               else os.path.join(self.build, "step-5"))

    def prepare(self):
        small_q = os.path.join(self.dir, "queries-small.txt")
        large_zone = os.path.join(self.dir, f"{LARGE_ORIGIN}.zone")
        large_q = os.path.join(self.dir, "queries-large.txt")
        sandbox_q = os.path.join(self.dir, "queries-sandbox.txt")
        write_small_queries(small_q)
        write_large_zone(large_zone, large_q)  # 0.2 s: cheaper than checking it is current
        write_mix(sandbox_q, SANDBOX_MIX, 3)
        self.files = {"small": small_q, "large": large_q, "@large": large_zone,
                      "sandbox": sandbox_q}

    def sandbox_script(self, action):
        env = dict(os.environ, SANDBOX_DIR=self.sandbox_dir, SANDBOX_PORT=str(SANDBOX_PORT),
                   SANDBOX_BINARY=self.sandbox_server)
        env.pop("SANDBOX_ARGS", None)
        # On the client core, as an upstream is: the sandbox's servers inherit the affinity.
        return subprocess.run(["taskset", "-c", str(CLIENT_CPU),
                               os.path.join(ROOT, "tests", "sandbox.sh"), action],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)

    def start_sandbox(self):
        """Starts the benchmark's own sandbox internet, once; raises RuntimeError if it cannot."""
        if self.sandbox_dir is not None:
            return
        self.sandbox_dir = os.path.join(self.tmp, "sandbox")
        r = self.sandbox_script("start")
        if r.returncode != 0:
            raise RuntimeError(f"the sandbox did not start: {(r.stdout + r.stderr).strip()}")
        print(f"  start  the sandbox internet: {os.path.relpath(self.sandbox_server, ROOT)} on "
              f"its 127.0.0.x addresses, port {SANDBOX_PORT}", flush=True)

    def stop_sandbox(self):
        """Stops the sandbox if this run started it (by the pids sandbox.sh recorded)."""
        if self.sandbox_dir is not None and os.path.exists(os.path.join(self.sandbox_dir, "pids")):
            self.sandbox_script("stop")

    def zone_paths(self, row):
        return [self.files[z] if z.startswith("@") else os.path.join(ROOT, z) for z in row.zones]

    def probe_name(self, row):
        """A name the row's server answers: for a resolver, its first resolution (the sandbox
        has www.example.com too)."""
        return f"host0.{LARGE_ORIGIN}" if row.queries == "large" else "www.example.com"

    def missing(self, row):
        """Why the row's program cannot run here, or None."""
        if row.kind == "step":
            if not os.path.exists(self.step_program(row)):
                path = os.path.relpath(self.step_program(row), ROOT)
                return f"{path} is not built (no such step yet)"
        elif program(row.kind) is None:
            return f"{row.kind} is not installed (sudo apt-get install {row.kind})"
        if row.sandbox and not os.path.exists(self.sandbox_server):
            path = os.path.relpath(self.sandbox_server, ROOT)
            return f"{path}, the sandbox's name server, is not built"
        return None

    def why_skip(self, row):
        """Why the row is skipped, or None."""
        why = self.missing(row)
        if why:
            return why
        # A reference runs only when a row compared with it can (unbound without a step 6 to
        # compare with would only cost time). Rows chosen by --rows always run.
        users = [r for r in ROWS if r.ref == row.label]
        if users and self.opts.rows is None and all(self.missing(u) for u in users):
            names = ", ".join(u.label for u in users)
            return f"nothing to compare it with ({names}: not available)"
        return None

    def step_program(self, row):
        return row.program or os.path.join(self.build, f"step-{row.step}")

    def command(self, row, port, upstream_port):
        work = os.path.join(self.tmp, f"{port}")
        os.makedirs(work, exist_ok=True)
        args = [a.format(upstream=upstream_port, sandbox=SANDBOX_PORT) for a in row.args]
        if row.kind == "step":
            cmd = [self.step_program(row), "--address", ADDRESS, "--port", str(port),
                   "--log-level", "warn"]
            for z in self.zone_paths(row):
                cmd += ["--zone", z]
            return cmd + args
        if row.kind == "nsd":
            return [program("nsd"), "-d", "-c", nsd_config(work, port, self.zone_paths(row))]
        if row.kind == "unbound":
            conf = unbound_config(work, port, args[0], upstream_port, SANDBOX_PORT)
            return [program("unbound"), "-d", "-c", conf]
        raise ValueError(row.kind)

    def launch(self, row, port, cpu, upstream_port=0):
        """Starts the row's server; returns (process, seconds from start to first answer)."""
        log = os.path.join(self.tmp, f"{port}.log")
        cmd = self.command(row, port, upstream_port)
        t0 = time.monotonic()
        p = start(cmd, cpu, log)
        try:
            wait_first_answer(p, port, self.probe_name(row), 120)
            return p, time.monotonic() - t0
        except RuntimeError as e:
            with open(log, errors="replace") as f:
                raise RuntimeError(f"{row.label}: {e}\n{f.read()[-1500:]}") from None

    def start_row(self, row, port):
        """Starts the row's server (and its upstream); records load time and idle RSS."""
        up_port = port + 50  # an upstream listens 50 ports above its row
        if row.sandbox:
            self.start_sandbox()
        if row.upstream:
            up_row = next(r for r in ROWS if r.label == row.upstream)
            self.launch(up_row, up_port, CLIENT_CPU)
        p, load_s = self.launch(row, port, row.cpus or SERVER_CPU, up_port)
        time.sleep(0.3)  # let start-up work (NSD's forks) settle before the idle reading
        if row.warm:  # one pass over the queries fills the cache
            dnsperf(port, self.files[row.queries], self.opts.seconds, once=True)
        return {"proc": p, "port": port, "load_ms": load_s * 1000, "rss_idle": rss_kib(p.pid),
                "rounds": []}

    def measure_round(self, row, m):
        """One saturation run and one fixed-load run against a running server."""
        p, queries = m["proc"], self.files[row.queries]
        cpu0, t0 = cpu_seconds(p.pid), time.monotonic()
        sat = dnsperf(m["port"], queries, self.opts.seconds)
        cpu1, t1 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(0.3)  # the saturation run's queue drains
        cpu2 = cpu_seconds(p.pid)
        fixed = dnsperf(m["port"], queries, self.opts.seconds, rate=self.opts.rate)
        cpu3 = cpu_seconds(p.pid)
        m["rounds"].append({
            "qps": sat["qps"],
            "sat_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
            "sat_lost_pct": 100 * (1 - sat["completed"] / max(sat["sent"], 1)),
            "fixed_qps": fixed["qps"],
            "us_per_query": (cpu3 - cpu2) * 1e6 / max(fixed["completed"], 1),
            "reply_bytes": fixed["reply_bytes"],
        })

    def run(self):
        """Starts every server, then measures them in interleaved rounds.

        The machine's speed drifts (a virtual machine's neighbours, caches, frequency): measuring
        row A fully and then row B would put the drift into the A/B ratio. Round after round of
        A, B, C, ... spreads it over every row, and the median of the rounds drops an outlier.
        Servers not being measured sleep in select/epoll meanwhile."""
        running = []
        for i, row in enumerate(ROWS):
            if self.opts.rows is not None and not any(w in row.label for w in self.opts.rows):
                continue
            why = self.why_skip(row)
            if why:
                self.skipped.append((row.label, why))
                print(f"  skip   {row.label}: {why}", flush=True)
                continue
            try:
                m = self.start_row(row, PORT_BASE + i)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                self.skipped.append((row.label, f"failed: {str(e).splitlines()[0]}"))
                print(f"  FAILED {row.label}\n{e}", flush=True)
                continue
            print(f"  start  {row.label}: answering after {m['load_ms']:.0f} ms", flush=True)
            running.append((row, m))

        # CPU that neither the servers nor dnsperf used during the rounds: other work on the
        # machine (another build, a test run), which makes every figure noisier.
        def ours():
            return own_seconds() + sum(cpu_seconds(m["proc"].pid) for _, m in running)

        busy0, ours0, t0 = machine_busy_seconds(), ours(), time.monotonic()
        for r in range(self.opts.rounds):
            print(f"  round  {r + 1}/{self.opts.rounds}:", end="", flush=True)
            for row, m in list(running):
                try:
                    self.measure_round(row, m)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    self.skipped.append((row.label, f"failed: {str(e).splitlines()[0]}"))
                    print(f"\n  FAILED {row.label}\n{e}", flush=True)
                    running.remove((row, m))
                    stop(m["proc"])
                    continue
                print(f" {m['rounds'][-1]['qps'] / 1000:.0f}k", end="", flush=True)
            print(" q/s", flush=True)
        other = (machine_busy_seconds() - busy0) - (ours() - ours0)
        self.others_pct = 100 * max(other, 0) / max(time.monotonic() - t0, 1e-9)

        for row, m in running:
            m["rss_after"] = rss_kib(m["proc"].pid)
            m["procs"] = len(descendants(m["proc"].pid))
            for key in m["rounds"][0]:
                m[key] = median([x[key] for x in m["rounds"]])
            self.results[row.label] = m

    def hostile(self):
        """CPU per query of each HOSTILE query against step 5 and NSD: a server's worst query
        should cost no more than a few normal ones, or a trickle of them is a denial of
        service. Each kind is sent HOSTILE_COUNT times at HOSTILE_RATE q/s by a paced sender on
        the client core; the server's CPU time over the queries sent is its cost."""
        rows = [r for r in ROWS if r.label in (STEP5, NSD) and not self.why_skip(r)]
        for i, row in enumerate(rows):
            port = PORT_BASE + 90 + i
            try:
                p, _ = self.launch(row, port, SERVER_CPU)
            except RuntimeError as e:
                self.skipped.append((f"{row.label}, hostile queries", str(e).splitlines()[0]))
                continue
            time.sleep(0.3)
            costs = {}
            for kind, _, make in HOSTILE:
                rounds = []
                for _ in range(self.opts.rounds):
                    cpu0 = cpu_seconds(p.pid)
                    r = subprocess.run(
                        ["taskset", "-c", str(CLIENT_CPU), sys.executable, os.path.abspath(__file__),
                         "--send", str(port), make().hex(), str(HOSTILE_COUNT), str(HOSTILE_RATE)],
                        capture_output=True, text=True, timeout=60)
                    answered = int(r.stdout.strip() or 0)
                    cpu1 = cpu_seconds(p.pid)
                    # Per query sent, not answered: a query a server drops costs it too.
                    rounds.append((cpu1 - cpu0) * 1e6 / HOSTILE_COUNT)
                costs[kind] = (median(rounds), answered)
            stop(p)
            self.hostile_results[row.label] = costs
            print(f"  hostile {row.label}: " + ", ".join(
                f"{k} {v[0]:.1f} µs" for k, v in costs.items()), flush=True)

    def hostile_table(self):
        labels = list(self.hostile_results)
        if not labels:
            return ""
        head = "| query | " + " | ".join(f"{l}: CPU µs/query | × normal" for l in labels) + " |"
        lines = [head, "|---|" + "--:|--:|" * len(labels)]
        for kind, what, make in HOSTILE:
            cells = []
            for l in labels:
                cost, answered = self.hostile_results[l][kind]
                normal = self.hostile_results[l]["normal"][0]
                note = "" if answered >= 0.97 * HOSTILE_COUNT else f" ({answered:,} answered)"
                cells.append(f"{cost:.1f}{note} | {cost / normal:.2f}")
            lines.append(f"| {what} ({len(make())} bytes) | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    # --- the report ---------------------------------------------------------------------------

    def ratio(self, row, metric, other):
        a, b = self.results.get(row.label), self.results.get(other)
        if a is None or b is None or not b[metric]:
            return None
        return a[metric] / b[metric]

    def table(self):
        o = self.opts
        lines = [
            f"| server | start → 1st answer | RSS idle | RSS after load | saturation q/s | × ref "
            f"| × floor | server CPU at saturation | CPU µs/query at {o.rate // 1000}k q/s | × ref "
            f"| × floor | reply bytes |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]

        def x(v):
            return "—" if v is None else f"{v:.2f}"

        for row in ROWS:
            m = self.results.get(row.label)
            if m is None:
                continue
            label = row.label + (f" ({m['procs']} processes)" if m["procs"] > 1 else "")
            lost = f" ({m['sat_lost_pct']:.1f}% lost)" if m["sat_lost_pct"] >= 1 else ""
            fixed_note = ("" if m["fixed_qps"] >= 0.97 * o.rate
                          else f" (at only {m['fixed_qps']:,.0f} q/s)")
            lines.append(
                f"| {label} | {m['load_ms']:.0f} ms | {m['rss_idle'] / 1024:.1f} MiB "
                f"| {m['rss_after'] / 1024:.1f} MiB | {m['qps']:,.0f}{lost} "
                f"| {x(self.ratio(row, 'qps', row.ref))} | {x(self.ratio(row, 'qps', row.floor))} "
                f"| {m['sat_cpu_pct']:.0f}% | {m['us_per_query']:.2f}{fixed_note} "
                f"| {x(self.ratio(row, 'us_per_query', row.ref))} "
                f"| {x(self.ratio(row, 'us_per_query', row.floor))} | {m['reply_bytes']:.0f} |")
        return "\n".join(lines)

    def targets(self):
        lines = []
        rows = {r.label: r for r in ROWS}
        for t in TARGETS:
            row, m = rows[t.row], self.results.get(t.row)
            if t.metric == "worst_vs_normal":
                costs = self.hostile_results.get(t.row)
                if costs is None:
                    lines.append(f"  ----  {t.text}: not measured")
                    continue
                worst = max(costs, key=lambda k: costs[k][0])
                value = costs[worst][0] / costs["normal"][0]
                ok = value <= t.limit
                lines.append(f"  {'PASS' if ok else 'MISS'}  {t.text}: {value:.2f} x ({worst})")
                continue
            if m is None:
                lines.append(f"  ----  {t.text}: not measured ('{t.row}' did not run)")
                continue
            if t.metric == "qps_vs_ref":
                value, shown = self.ratio(row, "qps", row.ref), "{:.2f} x"
            elif t.metric == "cpu_vs_floor":
                value, shown = self.ratio(row, "us_per_query", row.floor), "{:.2f} x"
            else:
                value, shown = m["rss_idle"] / 1024, "{:.1f} MiB"
            if value is None:
                lines.append(f"  ----  {t.text}: its reference did not run")
                continue
            ok = value >= t.limit if t.at_least else value <= t.limit
            caveat = ""
            if t.metric == "qps_vs_ref":
                busy = [self.results[r]["sat_cpu_pct"] for r in (t.row, row.ref)]
                if min(busy) < 90:
                    caveat = (f" (servers at {busy[0]:.0f}% and {busy[1]:.0f}% CPU: dnsperf, "
                              f"not the servers, set part of these figures)")
            lines.append(f"  {'PASS' if ok else 'MISS'}  {t.text}: {shown.format(value)}{caveat}")
        return "\n".join(lines)

    def rounds(self):
        """Every round's two figures, to judge the spread behind each median."""
        lines = []
        for label, m in self.results.items():
            qps = " ".join(f"{x['qps'] / 1000:.0f}k" for x in m["rounds"])
            cpu = " ".join(f"{x['us_per_query']:.2f}" for x in m["rounds"])
            lines.append(f"  {label:<34} q/s {qps:<22} µs/query {cpu}")
        return "\n".join(lines)

    def notes(self):
        notes = [f"- other work on the machine during the rounds: {self.others_pct:.0f}% of a core"
                 + (" (figures are noisier than on an idle machine)" if self.others_pct > 10
                    else "")]
        for label, m in self.results.items():
            if m["sat_cpu_pct"] < 90:
                notes.append(
                    f"- {label}: the server used {m['sat_cpu_pct']:.0f}% of its core at "
                    f"saturation, so the load generator, not the server, set that q/s figure.")
        return "\n".join(notes)


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def check_tools():
    """dnsperf is required, nsd is wanted: installed when run as root, else the apt-get line."""
    missing = [pkg for pkg, path in (("dnsperf", "/usr/bin/dnsperf"), ("nsd", "/usr/sbin/nsd"))
               if not os.path.exists(path)]
    if not missing:
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"bench: installing {' '.join(missing)}", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        log = "/tmp/dns-workbook-bench-apt.log"
        with open(log, "w") as f:
            ok = subprocess.run(["apt-get", "update", "-qq"], stdout=f, stderr=f, env=env,
                                timeout=600).returncode == 0 and subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                stdout=f, stderr=f, env=env, timeout=600).returncode == 0
        if not ok:
            print(f"bench: apt-get failed; its output is in {log}", file=sys.stderr)
    else:
        print(f"bench: missing Debian packages: {' '.join(missing)}\n"
              f"bench: install them with:\n    sudo apt-get install {' '.join(missing)}",
              file=sys.stderr)
    if not os.path.exists("/usr/bin/dnsperf"):
        return False
    return True  # without nsd its rows are skipped with a line saying so


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--seconds", type=int, default=4, help="each dnsperf run (default 4)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="measurements of every row, interleaved; the table shows the median")
    ap.add_argument("--rate", type=int, default=40000, help="fixed load in q/s (default 40000)")
    ap.add_argument("--rows", nargs="*", help="run only rows whose label contains one of these")
    ap.add_argument("--no-hostile", action="store_true", help="skip the hostile-query costs")
    ap.add_argument("--sandbox-server",
                    help="the sandbox's name server, for the resolver rows (default: step 5 of "
                    "--build-dir)")
    ap.add_argument("--send", nargs=4, metavar=("PORT", "HEX", "COUNT", "RATE"),
                    help=argparse.SUPPRESS)  # internal: the paced sender of bench.hostile()
    opts = ap.parse_args()
    if opts.send:
        port, query, count, rate = opts.send
        print(send_paced(int(port), bytes.fromhex(query), int(count), int(rate)))
        return 0

    if not check_tools():
        return 1
    # This script only sleeps and polls, but it stays off the server's core all the same.
    os.sched_setaffinity(0, {CLIENT_CPU})
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored (as `cmd &` in a
    # script does); SIGTERM exits through the same clean-up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(opts)
    started = time.monotonic()
    try:
        bench.prepare()
        print(f"bench: {os.cpu_count()} cores, server on cpu {SERVER_CPU}, dnsperf on cpu "
              f"{CLIENT_CPU}; {opts.seconds} s per dnsperf run", flush=True)
        bench.run()
        if not opts.no_hostile:
            bench.hostile()
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping every server started", file=sys.stderr)
        return 130
    finally:
        cleanup()
        bench.stop_sandbox()
        shutil.rmtree(bench.tmp, ignore_errors=True)

    uname = os.uname()
    print(f"\n{os.cpu_count()} x {cpu_model()}, Linux {uname.release}. dnsperf -c 4 -T 2 -q 1000 "
          f"-l {opts.seconds}: saturation; the same with -Q {opts.rate}: CPU/query. Medians of "
          f"{opts.rounds} interleaved rounds. × ref: against the row's reference (NSD for "
          f"step 5, one worker for --workers 2, unbound for steps 6, 8 and 9); × floor: against "
          f"{FLOOR}. Steps 8 and 9 and unbound resolve in the sandbox internet, warmed with the "
          f"query set: every query measured "
          f"is a cache hit.\n")
    print(bench.table())
    print("\nrounds:\n" + bench.rounds())
    if bench.hostile_results:
        print(f"\nhostile queries: each kind {HOSTILE_COUNT:,} times at {HOSTILE_RATE:,} q/s, "
              f"CPU per query sent (median of {opts.rounds} rounds):\n")
        print(bench.hostile_table())
    notes = bench.notes()
    if notes:
        print("\n" + notes)
    for label, why in bench.skipped:
        print(f"- skipped {label}: {why}")
    print("\ntargets (read from the table above, not enforced):")
    print(bench.targets())
    print(f"\nbench: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
