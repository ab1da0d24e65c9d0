"""Stage 1, udp echo: every datagram comes back, byte for byte, to the socket that sent it. Also the
command line every step shares (--port, --address, --help, bad options, signals, --trace), checked
on build/step-N only."""

import os
import random
import signal
import socket
import subprocess

import pytest

import dnsgrader as g


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


@pytest.mark.build_only
@pytest.mark.stage(1)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_it_with_status_0(spawn, new_client, step, sig):
    srv = spawn()
    g.expect_still_answers(new_client(srv), step, after="start-up")
    os.kill(srv.proc.pid, sig)
    try:
        status = srv.proc.wait(2)
    except subprocess.TimeoutExpired:
        status = None
    if status != 0:
        g.fail(f"step-{step} after {sig.name}", expected="exit status 0 within 2 s",
               got=g.exit_text(status),
               details=[f"its log:\n{g.indent(srv.log_tail(20), 4)}"],
               hints=["a signal handler sets a flag; the receive loop sees recvfrom() fail with EINTR, "
                      "checks the flag, cleans up and returns 0 (install it without SA_RESTART)",
                      "under SANITIZE=1 a leak found at exit also turns the status into 99"])


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
