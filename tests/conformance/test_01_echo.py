"""Stage 1, udp echo: every datagram comes back, byte for byte, to the socket that sent it. Also the
command line every step shares (--port, --address, --help, bad options, signals, --trace), checked
on build/step-N only."""

import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dnsgrader as g

ZONES = Path(__file__).resolve().parents[2] / "zones"


def echo_hints(data, reply):
    """The likely mistake behind an echo that is not the datagram sent."""
    if reply is None:
        return []
    if len(reply) < len(data) and reply == data[:len(reply)]:
        if 0 in data and len(reply) == data.index(0):
            return [f"the echo stops at the first zero byte (byte {len(reply)}): the data is bytes, "
                    "not a C string; use the length recvfrom() returned, not strlen()"]
        return [f"only the first {len(reply)} bytes came back: is the receive buffer {len(reply)} "
                "bytes? recvfrom() cuts longer datagrams silently; make it 65536"]
    if len(reply) > len(data) and reply[:len(data)] == data:
        return [f"{len(reply) - len(data)} bytes too many: send exactly the length recvfrom() "
                "returned, not the size of the buffer"]
    return ["send back exactly the bytes recvfrom() returned, unchanged"]


@pytest.mark.stage(1, until=1)
@pytest.mark.parametrize("size", [0, 1, 12, 512, 1400, g.MAX_DATAGRAM], ids=lambda n: f"{n}-bytes")
def test_echo_of_size(client, size):
    data = bytes((i * 7 + 1) & 0xFF for i in range(size))  # no zero bytes in the first 36
    hints = []
    if size == 0:
        hints.append("an empty datagram is a datagram too: recvfrom() returning 0 is not an error or "
                     "an end of file for UDP; send 0 bytes back")
    if size > 512:
        hints.append("is the receive buffer big enough? the largest UDP datagram over IPv4 carries "
                     f"{g.MAX_DATAGRAM} bytes")
    reply = client.exchange(data, match_id=False, what=f"a {size}-byte datagram", hints=hints)
    g.expect_bytes(reply, data, f"the echo of a {size}-byte datagram", dns=False,
                       hints=echo_hints(data, reply))


@pytest.mark.stage(1, until=1)
def test_echo_of_random_datagrams(client):
    rng = random.Random(1035)
    for i in range(40):
        data = rng.randbytes(rng.randint(1, 2000))
        reply = client.exchange(data, match_id=False, what=f"random datagram #{i} ({len(data)} bytes)")
        g.expect_bytes(reply, data, f"the echo of random datagram #{i}", dns=False,
                       hints=echo_hints(data, reply))


@pytest.mark.stage(1, until=1)
def test_interleaved_clients_get_their_own_bytes(server, new_client):
    names = "ABC"
    clients = [new_client(server) for _ in names]
    rounds = 5
    for r in range(rounds):  # A0 B0 C0 A1 B1 C1 ...: the server sees the clients alternate
        for name, c in zip(names, clients):
            c.send(f"client {name}, datagram {r}".encode())
    # Then an end marker from each: its echo comes after everything the server sent that client
    # before, so once it is back (with the client's own datagrams) there is nothing left to wait for.
    for name, c in zip(names, clients):
        c.send(f"client {name}, end".encode())
    for name, c in zip(names, clients):
        want = [f"client {name}, datagram {r}".encode() for r in range(rounds)]
        end = f"client {name}, end".encode()
        got, ended = [], False
        for _ in range(len(names) * (rounds + 1)):  # bounded: no more datagrams than were sent
            d, _ = c.receive(1.0)
            if d is None:
                break
            if d == end:
                ended = True
            else:
                got.append(d)
            if ended and sum(x in want for x in got) >= rounds:  # an end may overtake: wait on
                break
        if sorted(got) != sorted(want):
            foreign = [d.decode("ascii", "replace") for d in got if d not in want]
            hints = []
            if foreign:
                hints.append("a client got another client's datagrams: reply to the address recvfrom() "
                             "returned for each datagram, not to the first client seen")
            elif len(got) < rounds:
                hints.append("some datagrams were not echoed: answer every datagram, from any client")
            g.fail(f"client {name} did not get back exactly its own {rounds} datagrams",
                   expected=", ".join(w.decode() for w in want),
                   got=", ".join(d.decode("ascii", "replace") for d in got) or "nothing", hints=hints)


@pytest.mark.stage(1, until=1)
def test_burst_of_junk_then_an_echo(server, new_client, step, tmp_path):
    """2000 datagrams of junk (fixed seed) as fast as they go: still running, still echoing."""
    g.burst_then_good_query(server, new_client, step, tmp_path)


# --------------------------------------------------------------------------------------------------
# The command line every step shares (build/step-N only: --server-cmd servers have their own).


def _run(binary, *args):
    if not binary.exists():
        g.fail(g.missing_binary(binary))
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=3,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        g.fail(f"{binary.name} {' '.join(args)} did not exit within 3 s",
               hints=["with --help or a bad option the program prints and exits, without opening "
                      "a socket"])


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_logs_where_it_listens(server, step):
    want = f"step-{step} listening on 127.0.0.1:{server.port}/udp"
    log = server.log_since(0)
    if want not in log:
        g.fail("the start-up line is missing from the log (stderr)", expected=want,
               got=g.indent(server.log_tail(5), 12).lstrip(),
               hints=["print it once the socket is bound, so a learner knows where to send queries"])


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_bad_option_prints_usage_and_exits_2(step, dns_settings):
    r = _run(dns_settings.build_dir / f"step-{step}", "--no-such-option")
    if r.returncode != 2 or "usage" not in r.stderr.lower():
        g.fail(f"step-{step} --no-such-option", expected="exit status 2 and the usage on stderr",
               got=f"{g.exit_text(r.returncode)}; stderr: {r.stderr.strip()[:300]!r}",
               hints=["2 is the conventional exit status for a bad command line"])


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_help_prints_usage_and_exits_0(step, dns_settings):
    r = _run(dns_settings.build_dir / f"step-{step}", "--help")
    if r.returncode != 0 or "--port" not in r.stdout:
        g.fail(f"step-{step} --help", expected="exit status 0 and the usage (naming --port) on stdout",
               got=f"{g.exit_text(r.returncode)}; stdout: {r.stdout.strip()[:300]!r}")


def expect_stops_cleanly(srv, step, sig, within, situation="", hints=()):
    """Waits `within` s (times DNS_TEST_TIMEOUT_SCALE) for the server to exit after `sig`; fails
    unless it exits with status 0 and logs "stopped by <SIG>"."""
    try:
        status = srv.proc.wait(within * g.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        status = None
    want = f"stopped by {sig.name}"
    if status != 0 or want not in srv.log_since(0):
        g.fail(f"step-{step} after {sig.name}{situation}",
               expected=f"exit status 0 within {within * g.TIMEOUT_SCALE:g} s and '{want}' in the log",
               got=g.exit_text(status) + ("" if want in srv.log_since(0) else f", no '{want}' line"),
               details=[f"its log:\n{g.indent(srv.log_tail(20), 4)}"],
               hints=[*hints, "under SANITIZE=1 a leak found at exit also turns the status into 99"])


@pytest.mark.build_only
@pytest.mark.stage(1)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP,
                                 signal.SIGXCPU], ids=lambda s: s.name)
def test_signal_stops_it_with_status_0(spawn, new_client, step, sig):
    """SIGTERM and SIGINT stop the server; so do SIGQUIT (as in NSD), SIGHUP (NSD reloads its
    zones then, but these steps read theirs once, and a server should go with its terminal) and
    SIGXCPU (the CPU-time limit is reached, and SIGKILL comes at the hard limit: better a line
    that says why)."""
    srv = spawn()
    g.expect_still_answers(new_client(srv), step, after="start-up")
    os.kill(srv.proc.pid, sig)
    expect_stops_cleanly(srv, step, sig, within=2, hints=[
        "a signal handler sets a flag; the receive loop sees pselect() or recvfrom() fail with "
        "EINTR, checks the flag, cleans up, logs the line and returns 0 (install it without "
        "SA_RESTART)",
        "a signal with no handler (and not ignored) kills the process without a word"])


def wait_for_log(srv, text, within):
    """True once `text` is in the server's log, False after `within` s (times the scale)."""
    deadline = time.monotonic() + within * g.TIMEOUT_SCALE
    while time.monotonic() < deadline:  # bounded by the deadline
        if text in srv.log_since(0):
            return True
        time.sleep(0.01)
    return text in srv.log_since(0)


# The signals a server goes on answering after: SIGUSR1, which it logs, and those it ignores on
# purpose, each with its reason in the table of common/server.c. The Linux-only ones where they
# exist; SIGRTMIN and SIGRTMAX stand for the real-time signals between them.
SIGNALS_IGNORED = [getattr(signal, name) for name in (
    "SIGUSR2", "SIGPIPE", "SIGXFSZ", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR",
    "SIGSTKFLT", "SIGRTMIN", "SIGRTMAX") if hasattr(signal, name)]


@pytest.mark.build_only
@pytest.mark.stage(1)
@pytest.mark.parametrize("sig", [signal.SIGUSR1, *SIGNALS_IGNORED], ids=lambda s: s.name)
def test_signal_that_does_not_stop_it(spawn, new_client, step, sig):
    """SIGUSR1 gets a log line (NSD logs its counters then; a step that counts will too); SIGUSR2,
    SIGPIPE, SIGXFSZ, the timers' SIGALRM, SIGVTALRM and SIGPROF, SIGIO, SIGPWR, SIGSTKFLT and the
    real-time signals are ignored on purpose: nothing here gives them a meaning, and their default
    action would kill the server without a word. Either way the server goes on answering."""
    srv = spawn()
    c = new_client(srv)
    g.expect_still_answers(c, step, after="start-up")
    os.kill(srv.proc.pid, sig)
    g.expect_still_answers(c, step, after=sig.name)
    # The line may come a moment after the reply (a datagram and a signal at once: the datagram
    # is answered first), hence a wait, of at most 2 s for what takes microseconds.
    if sig == signal.SIGUSR1 and not wait_for_log(srv, "SIGUSR1", 2):
        g.fail("no log line about SIGUSR1", expected="a line such as 'step-N SIGUSR1: no "
               "statistics to log at this stage; still answering'",
               got=g.indent(srv.log_tail(5), 12).lstrip())


# The flooders: each sends one query to the server as fast as it can, for at most FLOOD_LIMIT s
# (they are killed long before unless the test itself dies), and says "flooding" once going.
FLOOD_LIMIT = 10
FLOODER = """
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the replies: dropped, never read
s.connect((host, port))
q = bytes.fromhex(sys.argv[4])
end = time.monotonic() + limit
sent = 0
while time.monotonic() < end:
    for _ in range(200):
        try:
            s.send(q)
        except OSError:  # ECONNREFUSED once the server has gone, ENOBUFS: go on
            pass
    sent += 200
    if sent == 2000:
        print("flooding", flush=True)
"""


def lowest_priority(pid):
    """Gives `pid` the least CPU the scheduler gives: nice 19. With Linux's autogroup scheduling
    (the default on desktops), CPU time is shared between sessions first, and the server, started
    in a session of its own, would get half the machine whatever its nice value; so its session's
    group gets nice 19 too (best effort: /proc/PID/autogroup exists only there)."""
    os.setpriority(os.PRIO_PROCESS, pid, 19)
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write("19")
    except OSError:
        pass


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_sigterm_stops_it_under_a_flood(spawn, step):
    """Two processes send queries as fast as they can to a server running at the lowest priority
    (nice 19), so its queue stays full whatever the machine: a SIGTERM must still stop it, without
    waiting for the flood to end. Signals are blocked while the loop answers, so it must let them
    in between bounded batches."""
    srv = spawn()
    lowest_priority(srv.proc.pid)  # the slow side, even on an idle machine
    query = g.query(0xF100, "www.example.com.").hex()
    flooders = [subprocess.Popen([sys.executable, "-c", FLOODER, srv.host, str(srv.port),
                                  str(FLOOD_LIMIT), query],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 start_new_session=True)  # see lowest_priority()
                for _ in range(2)]
    want = "stopped by SIGTERM"
    try:
        for f in flooders:  # each says "flooding" after 2000 datagrams; at most 5 s to start
            ready, _, _ = select.select([f.stdout], [], [], 5 * g.TIMEOUT_SCALE)
            if not ready or not f.stdout.readline():
                g.fail("the flooder did not start (a fault of the test, not of the server)")
        time.sleep(0.2)  # the queue fills up in a few milliseconds at this rate
        os.kill(srv.proc.pid, signal.SIGTERM)
        # The log line, while the flood goes on: 2 s is hundreds of times what a batch of 64
        # answers takes, even at nice 19 on a busy 2-core machine under AddressSanitizer. A server
        # that looks at signals only once its queue is empty never gets there while flooded.
        stopped = wait_for_log(srv, want, 2)
    finally:
        for f in flooders:
            f.kill()
            f.wait()
            f.stdout.close()
    if not stopped:
        g.fail(f"step-{step} did not stop within 2 s of a SIGTERM sent while flooded",
               expected=f"'{want}' in the log", got=g.indent(srv.log_tail(5), 12).lstrip(),
               hints=["the loop answers queued datagrams with signals blocked: after a bounded "
                      "batch (say 64) it must let pending signals in (unblock them for a moment: "
                      "sigprocmask) even though more datagrams are waiting; pselect() cannot, as "
                      "it returns at once while the socket is readable"])
    # The flood is over: the exit itself (and, under SANITIZE=1, the leak check) runs unhurried.
    expect_stops_cleanly(srv, step, signal.SIGTERM, within=5, situation=" under a flood")


class TracedServer(g.ServerProcess):
    """A server whose stdout (the --trace output) is a pipe the test reads, and stderr the log."""

    def start(self):
        with open(self.log_path, "ab") as log:
            log.write(f"==== {self.command_text()} (stdout: a pipe)\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True)
        return self


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_trace_reader_going_away(spawn, new_client, step):
    """`build/step-N --trace | head -1`: once head has its line and exits, writes to stdout fail.
    The server must say so once in its log, stop tracing, and go on answering (with SIGPIPE at
    its default action, the first such write kills it without a word)."""
    srv = spawn("--trace", process=TracedServer)  # ready: the probe's trace is in the pipe
    first = srv.proc.stdout.readline()
    srv.proc.stdout.close()  # what head -1 does after its line
    if not first.startswith(b">>> received"):
        g.fail("--trace did not start with the received datagram", expected=">>> received ...",
               got=repr(first[:80]))
    c = new_client(srv)
    for i in range(3):
        g.expect_still_answers(c, step, after=f"the --trace reader went away ({i + 1})")
    if not wait_for_log(srv, "--trace", 2):
        g.fail("no log line saying that the trace can no longer be written",
               expected="one line on stderr, e.g. 'step-N warning: --trace: cannot write to "
                        "stdout (Broken pipe): tracing stops, answering goes on'",
               got=g.indent(srv.log_tail(5), 12).lstrip())
    lines = [l for l in srv.log_since(0).splitlines() if "--trace" in l and "====" not in l]
    if len(lines) != 1:
        g.fail(f"{len(lines)} log lines about the trace after 3 queries", expected="exactly one",
               got=g.indent("\n".join(lines[:5]), 12).lstrip(),
               hints=["say it once and stop tracing, rather than once per datagram"])
    status = srv.stop()
    if status != 0:
        g.fail(f"step-{step} --trace, its reader gone, then SIGTERM", expected="exit status 0",
               got=g.exit_text(status), details=[f"its log:\n{g.indent(srv.log_tail(20), 4)}"])


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_port_in_use_exits_1(spawn, step):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        srv = spawn(ready=False, port=port)
        try:
            status = srv.proc.wait(5 * g.TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            status = None
    want = f"cannot listen on 127.0.0.1:{port}/udp"
    if status != 1 or want not in srv.log_since(0):
        g.fail(f"step-{step} on a port already in use", expected=f"exit status 1 and '{want}: "
               "Address already in use' in the log", got=g.exit_text(status),
               details=[f"its log:\n{g.indent(srv.log_tail(10), 4)}"])


# --------------------------------------------------------------------------------------------------
# Start-up with a zone that takes a while to load (stages 4 to 6, which load zones in setup).

BIG_ZONE_NAMES = 100_000  # ~0.15 s to load (~0.5 s under AddressSanitizer), ~40 MiB in memory


@pytest.fixture(scope="module")
def big_zone(tmp_path_factory):
    """A zone of BIG_ZONE_NAMES names, big.test., written once per test module."""
    path = tmp_path_factory.mktemp("big-zone") / "big.test.zone"
    lines = ["$ORIGIN big.test.", "$TTL 3600",
             "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ IN NS ns1",
             "ns1 IN A 192.0.2.53"]
    lines += [f"h{i} IN A 192.0.2.{i % 250 + 1}" for i in range(BIG_ZONE_NAMES)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.build_only
@pytest.mark.stage(4, until=6)
def test_port_in_use_is_reported_before_the_zones_load(spawn, step, big_zone):
    """Bind first, then load: a port in use is reported at once, not after a long load."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        srv = spawn("--zone", str(big_zone), ready=False, port=port)
        try:
            status = srv.proc.wait(10 * g.TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            status = None
    log = srv.log_since(0)
    want = f"cannot listen on 127.0.0.1:{port}/udp"
    if status != 1 or want not in log or "loaded zone" in log:
        got = [g.exit_text(status)]
        if want not in log:
            got.append(f"no '{want}' line")
        if "loaded zone" in log:
            got.append("the zone was loaded first")
        g.fail(f"step-{step} --zone <{BIG_ZONE_NAMES} names> on a port already in use",
               expected=f"exit status 1 and '{want}', before any 'loaded zone' line",
               got=", ".join(got), details=[f"its log:\n{g.indent(srv.log_tail(10), 4)}"],
               hints=["bind the socket before setup() loads the zones: a busy port is then "
                      "reported at once, whatever the size of the zones"])


@pytest.mark.build_only
@pytest.mark.stage(4, until=6)
def test_sigterm_while_the_zones_load(spawn, step, big_zone):
    """SIGTERM while a big zone loads: the handlers are in place before setup() runs, so the
    server stops with status 0 and a log line, instead of being killed without one."""
    srv = spawn("--zone", str(ZONES / "example.com.zone"), "--zone", str(big_zone), ready=False)
    # The small zone is loaded first: once its line is in the log, the big one is loading, for
    # ~0.15 s or more; the log is polled every 2 ms.
    deadline = time.monotonic() + 5 * g.TIMEOUT_SCALE
    while "loaded zone example.com." not in srv.log_since(0):
        if time.monotonic() > deadline or not srv.alive():
            g.fail(f"step-{step} did not log 'loaded zone example.com.' within 5 s",
                   got=g.exit_text(srv.proc.poll()),
                   details=[f"its log:\n{g.indent(srv.log_tail(10), 4)}"])
        time.sleep(0.002)
    os.kill(srv.proc.pid, signal.SIGTERM)
    # 5 s: stopping takes microseconds; even letting the load finish first would take under 2 s.
    expect_stops_cleanly(srv, step, signal.SIGTERM, within=5, situation=" while loading its zones",
                         hints=["install the signal handlers before setup() loads the zones; a "
                                "signal without a handler kills the process without a word"])


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_address_option_binds_that_address(spawn, new_client, step):
    srv = spawn("--address", "127.0.0.2", host="127.0.0.2")
    g.expect_still_answers(new_client(srv), step, after="start-up on 127.0.0.2")
    elsewhere = ("127.0.0.1", srv.port)
    reply = reply_from(elsewhere, g.PROBE_QUERY, wait=0.3)
    if reply is not None:
        g.fail(f"expected no reply to a query sent to 127.0.0.1:{srv.port}, got one "
               f"({len(reply)} bytes)", expected="no reply",
               got=g.hexs(reply) + (f"   {g.Header.parse(reply).describe()}"
                                    if len(reply) >= g.HEADER_SIZE else ""), sent=g.PROBE_QUERY,
               hints=["with --address 127.0.0.2 the socket binds 127.0.0.2 only, not INADDR_ANY"])
    if not srv.alive():
        g.fail(f"the server died after a query sent to 127.0.0.1:{srv.port} ({srv.exit_text()})",
               hints=[f"look in the server's log for a crash or a sanitizer report: {srv.log_path}"])


def reply_from(address, data, wait):
    """Sends `data` to `address` from a connect()ed socket; returns the reply from there, or None if
    none came. No waiting when nothing is bound to that address: the kernel's ICMP "port
    unreachable" then ends the wait at once (recv fails with ECONNREFUSED on a connected socket);
    otherwise the wait is `wait` seconds (times DNS_TEST_TIMEOUT_SCALE)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.connect(address)
        s.settimeout(wait * g.TIMEOUT_SCALE)
        s.send(data)
        try:
            return s.recv(65536)
        except (ConnectionRefusedError, socket.timeout):
            return None


HOSTILE = [
    b"",
    b"\x12\x34\x01",
    # header + a label that runs past the end
    bytes.fromhex("1234 0100 0001 0000 0000 0000") + b"\x3fabc",
    # header + a name that is a pointer to itself
    bytes.fromhex("1235 0100 0001 0000 0000 0000 c00c 0001 0001"),
    # header + a 0x80-type label
    bytes.fromhex("1236 0100 0001 0000 0000 0000 8363 6f6d 0000 0100 01"),
    # a response (QR=1) with a question
    bytes.fromhex("1237 8180 0001 0000 0000 0000 0378 797a 0000 0100 01"),
    # every bit set
    b"\xff" * 600,
]


@pytest.mark.build_only
@pytest.mark.stage(1)
def test_trace_survives_hostile_datagrams(server_with_args, new_client, step):
    srv = server_with_args("--trace", "--log-level", "debug")
    c = new_client(srv)
    before = srv.log_size()
    for d in HOSTILE:
        c.send(d)
    g.expect_still_answers(c, step, after="hostile datagrams, with --trace on")
    if srv.log_size() == before:
        g.fail("--trace wrote nothing while datagrams came and went",
               hints=["--trace dumps every datagram received and sent, field by field"])
