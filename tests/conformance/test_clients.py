"""Real DNS clients — dig (BIND), kdig (Knot) and drill (ldns) — query the authoritative server
(stages 4 to 6, serving the simple zones of zonedata.py): each must show the expected answer and print
no warning about the reply (a malformed message, a question or ID mismatch, trailing bytes...).

Two things these clients do on their own:
  - dig sets RD by default and, when the reply says RA=0, prints ";; WARNING: recursion requested
    but not available". That is right for an authoritative server (it does not recurse), so dig is
    run with +norec, as one queries an authoritative server;
  - dig adds an EDNS OPT record (with a cookie option) to its queries, and kdig does with +edns. The
    server ignores EDNS at these stages: the reply carries no OPT, which both accept silently (a
    client must fall back to plain DNS when a server does not do EDNS, RFC 6891 7).
A missing tool skips its tests, naming the Debian package that provides it."""

import re
import shutil
import subprocess

import pytest

import dnsgrader as g
from test_04_answer import auth  # noqa: F401  (a fixture)

# (name, type, status, what must appear in the output), each in the part of stage 4 that makes
# the server answer it (test_04_answer.py)
QUERIES = [
    pytest.param("www.zone4.test.", "A", "NOERROR", ["192.0.2.80", "192.0.2.81"], id="A",
                 marks=pytest.mark.part(4, 1)),
    pytest.param("zone4.test.", "MX", "NOERROR", ["mail.zone4.test.", "mail2.zone4.test.",
                                                  "192.0.2.25"], id="MX", marks=pytest.mark.part(4, 3)),
    pytest.param("ftp.zone4.test.", "A", "NOERROR", ["CNAME", "web.zone4.test.", "192.0.2.81"],
                 id="CNAME-chain", marks=pytest.mark.part(4, 3)),
    pytest.param("www.sub.zone4.test.", "A", "NOERROR", ["ns1.sub.zone4.test.", "192.0.2.153"],
                 id="referral", marks=pytest.mark.part(4, 3)),
    pytest.param("nosuch.zone4.test.", "A", "NXDOMAIN", ["hostmaster.zone4.test."], id="NXDOMAIN",
                 marks=pytest.mark.part(4, 2)),
    pytest.param("foo.wild.zone4.test.", "TXT", "NOERROR", ['"wild"'], id="wildcard",
                 marks=pytest.mark.part(4, 3)),
]

TOOLS = {
    # tool: (Debian package, the command for (port, name, type))
    "dig": ("bind9-dnsutils", lambda port, name, qtype: [
        "dig", "+norec", "+time=2", "+tries=1", "-p", str(port), "@127.0.0.1", name, qtype]),
    "kdig": ("knot-dnsutils", lambda port, name, qtype: [
        "kdig", "+time=2", "+retry=0", "-p", str(port), "@127.0.0.1", name, qtype]),
    "kdig+edns": ("knot-dnsutils", lambda port, name, qtype: [
        "kdig", "+edns", "+time=2", "+retry=0", "-p", str(port), "@127.0.0.1", name, qtype]),
    "drill": ("ldnsutils", lambda port, name, qtype: [
        "drill", "-p", str(port), "@127.0.0.1", name, qtype]),
}

# What a client prints when it does not like a reply (any case).
COMPLAINTS = re.compile(r"warning|malformed|bad (packet|reply|response|label|compression)|mismatch"
                        r"|trailing|garbage|error|timed out|no servers could be reached|couldn't"
                        r"|failed|unexpected|truncated|invalid packet", re.IGNORECASE)


@pytest.mark.stage(4, until=6)
@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("name,qtype,status,expected", QUERIES)
def test_client_reads_the_reply_without_complaint(auth, step, tool, name, qtype, status, expected):
    package, command = TOOLS[tool]
    binary = command(0, name, qtype)[0]
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed (Debian package {package}: "
                    f"apt-get install {package})")
    argv = command(auth.port, name, qtype)
    r = None
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass
    if r is None:
        g.fail(f"{' '.join(argv)} did not finish within 10 s",
               hints=["is the server still running? see its log below"])
    out = r.stdout + r.stderr
    shown = [f"  {line}" for line in out.rstrip().splitlines()] or ["  (no output)"]
    complaints = [line.strip() for line in out.splitlines()
                  if COMPLAINTS.search(line) and "status:" not in line and "rcode:" not in line]
    missing = [e for e in expected + [status] if e not in out]
    if r.returncode != 0 or complaints or missing:
        g.fail(f"{tool} on {name} {qtype}: " + (
            f"exit status {r.returncode}" if r.returncode != 0 else
            "a complaint about the reply" if complaints else "the expected answer is not shown"),
            expected=f"exit status 0, status {status}, showing {', '.join(expected)}, no warning",
            got=(f"exit status {r.returncode}; " if r.returncode != 0 else "")
            + (f"complaints: {complaints}" if complaints else
               f"missing: {missing}" if missing else ""),
            details=[f"command: {' '.join(argv)}", "its output:", *shown],
            hints=["run the same command by hand against `make step-N` to see the whole exchange; "
                   "a client that complains usually found a count that does not match the records, "
                   "an RDLENGTH that does not match the RDATA, or a bad pointer"])
