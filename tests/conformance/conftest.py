"""conftest: options (--steps, --build-dir, --server-cmd, --run-slow), the stage and slow markers,
and the pool of servers under test.

A test says which stages it applies to with @pytest.mark.stage(introduced, until=None) and asks for
the `step` it runs against through the `server` or `client` fixtures; it is then run once per listed
step in its range, with ids like test_id_copied[step-2]. Tests whose range contains none of the
listed steps are deselected.

Tests marked @pytest.mark.slow (the grader's slowest selftests) are deselected too unless
--run-slow is given or DNS_TEST_SLOW=1 is set; CI runs them (.ci/run).
"""

import hashlib
import os
import re
import shlex
from pathlib import Path

import pytest

import dnsgrader as g

REPO = Path(__file__).resolve().parents[2]


class Settings:
    def __init__(self, steps, build_dir, server_cmd, run_slow):
        self.steps = steps  # sorted list of ints
        self.build_dir = build_dir  # absolute Path
        self.server_cmd = server_cmd  # str with {port}, or None
        self.run_slow = run_slow  # run the tests marked slow


def pytest_addoption(parser):
    group = parser.getgroup("dns", "DNS workbook conformance tests")
    group.addoption("--steps", metavar="1,2,3",
                    help="the steps to test, comma-separated (default: every build-dir/step-N found)")
    group.addoption("--build-dir", metavar="DIR",
                    help="where the step-N binaries are (default: build/ at the top of the checkout)")
    group.addoption("--server-cmd", metavar="CMD",
                    help="test this command instead of build-dir/step-N (one step only); {port} in it "
                         "is replaced by the port to listen on, e.g. 'python3 my.py --port {port}'")
    group.addoption("--run-slow", action="store_true",
                    help="also run the tests marked slow (the grader's slowest selftests); "
                         "DNS_TEST_SLOW=1 does the same. `-m slow --run-slow` runs only those")


def _settings(config):
    build = config.getoption("--build-dir")
    build_dir = (Path(config.invocation_params.dir) / build).resolve() if build else REPO / "build"
    cmd = config.getoption("--server-cmd")
    text = config.getoption("--steps")
    if text:
        try:
            steps = sorted({int(s) for s in text.split(",") if s.strip()})
        except ValueError:
            raise pytest.UsageError(f"--steps {text}: expected numbers like 1,2,3") from None
        bad = [s for s in steps if not 1 <= s <= g.LAST_STAGE]
        if bad or not steps:
            raise pytest.UsageError(f"--steps {text}: steps are 1 to {g.LAST_STAGE}")
    else:
        # Every step that is built; none at all leaves only the selftests.
        steps = [n for n in range(1, g.LAST_STAGE + 1) if (build_dir / f"step-{n}").exists()]
    if cmd is not None:
        if len(steps) != 1:
            raise pytest.UsageError("--server-cmd tests one server: give exactly one step, "
                                    "e.g. --steps 3")
        if "{port}" not in cmd:
            raise pytest.UsageError("--server-cmd must contain {port}, "
                                    "e.g. 'python3 my.py --port {port}'")
    slow_env = os.environ.get("DNS_TEST_SLOW", "").strip()
    if slow_env not in ("", "0", "1"):
        raise pytest.UsageError(f"DNS_TEST_SLOW={slow_env!r}: expected 1 (run the slow tests) or 0")
    return Settings(steps, build_dir, cmd, config.getoption("--run-slow") or slow_env == "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "stage(introduced, until=None): the stages a test applies to "
                                       f"(until None = every later stage, up to {g.LAST_STAGE})")
    config.addinivalue_line("markers", "build_only: tests the build's command line; not run with "
                                       "--server-cmd")
    config.addinivalue_line("markers", "selftest: tests the grader itself; not run with --server-cmd")
    config.addinivalue_line("markers", "slow: takes seconds; run only with --run-slow or "
                                       "DNS_TEST_SLOW=1")
    config.addinivalue_line("markers", "dns_not_applicable: (internal) no listed step is in the "
                                       "test's stage range")
    config.dns_settings = _settings(config)
    config.dns_exits = []  # servers that did not exit with 0 on SIGTERM at the end


def pytest_generate_tests(metafunc):
    if "step" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("stage")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} talks to a server but has no "
                                "@pytest.mark.stage(introduced, until=None)")
    first, last = g.stage_range(marker)
    steps = [s for s in metafunc.config.dns_settings.steps if first <= s <= last]
    if steps:
        metafunc.parametrize("step", steps, ids=[f"step-{s}" for s in steps])
    else:
        # Parametrized with a placeholder that pytest_collection_modifyitems deselects: pytest would
        # report an empty parameter list as "skipped", and these tests are not skipped, they do not
        # apply.
        metafunc.parametrize("step", [pytest.param(0, marks=pytest.mark.dns_not_applicable)],
                             ids=["n/a"])


@pytest.hookimpl(trylast=True)  # after -m and -k: count only slow tests they kept
def pytest_collection_modifyitems(config, items):
    settings = config.dns_settings
    graded_cmd = settings.server_cmd is not None
    keep, drop = [], []
    config.dns_slow_left_out = 0
    for item in items:
        if (item.get_closest_marker("dns_not_applicable")
                or (graded_cmd and item.get_closest_marker("build_only"))
                or (graded_cmd and item.get_closest_marker("selftest"))):
            drop.append(item)
            continue
        if item.get_closest_marker("slow") and not settings.run_slow:
            config.dns_slow_left_out += 1
            drop.append(item)
            continue
        marker = item.get_closest_marker("stage")
        if marker is not None:
            first, last = g.stage_range(marker)
            item.user_properties += [("stage", first), ("until", last)]
            if hasattr(item, "callspec") and "step" in item.callspec.params:
                item.user_properties.append(("step", item.callspec.params["step"]))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --------------------------------------------------------------------------------------------------
# Servers


def log_name(step, extra):
    """A file name for the log of step-N started with `extra`: readable, one per set of arguments,
    and without the slashes of any path among them ("step-4-zone-zone4.test.zone-1a2b3c.log")."""
    if not extra:
        return f"step-{step}.log"
    words = [re.sub(r"[^A-Za-z0-9._]+", "-", a.rsplit("/", 1)[-1]).strip("-") for a in extra]
    digest = hashlib.sha1("\0".join(extra).encode()).hexdigest()[:6]
    return "-".join(["step", str(step), *filter(None, words)])[:100] + f"-{digest}.log"


# What a step needs on its command line to start at all, given when a test passes nothing of its
# own: the authoritative stages serve the workbook's example zones (as `make step-4` does).
ZONES = Path(__file__).resolve().parents[2] / "zones"
STEP_DEFAULT_ARGS = {
    4: ["--zone", str(ZONES / "example.com.zone"), "--zone", str(ZONES / "2.0.192.in-addr.arpa.zone")],
    5: ["--zone", str(ZONES / "example.com.zone"), "--zone", str(ZONES / "2.0.192.in-addr.arpa.zone")],
}


def default_args(step, extra):
    """`extra`, or the step's defaults when `extra` says nothing about zones."""
    if "--zone" in extra or any(a.startswith("--zone=") for a in extra):
        return list(extra)
    return [*STEP_DEFAULT_ARGS.get(step, []), *extra]


class Pool:
    """One server process per (step, extra arguments), started on first use, kept for the session."""

    def __init__(self, settings, log_dir):
        self.settings = settings
        self.log_dir = log_dir
        self.servers = {}
        self.failed_start = {}  # key -> message of the first failed start (later tests fail fast)

    def command(self, step, port, extra):
        if self.settings.server_cmd is not None:
            cmd = self.settings.server_cmd.replace("{port}", str(port))
            return dict(shell_cmd=" ".join([cmd] + [shlex.quote(a) for a in extra]))
        return dict(argv=[str(self.settings.build_dir / f"step-{step}"), "--port", str(port),
                          *default_args(step, extra)])

    def label(self, step, extra):
        return " ".join([f"step-{step}", *extra])

    def start(self, step, extra):
        key = (step, tuple(extra))
        if self.settings.server_cmd is None:
            binary = self.settings.build_dir / f"step-{step}"
            if not binary.exists():
                raise g.ServerStartError(g.missing_binary(binary))
        port = g.free_udp_port()
        srv = g.ServerProcess(self.label(step, extra), port=port,
                              log_path=self.log_dir / log_name(step, extra),
                              **self.command(step, port, extra))
        srv.start()
        try:
            srv.wait_ready()
        except g.ServerStartError:
            srv.stop()
            raise
        self.servers[key] = srv
        return srv

    def get(self, step, extra, nodeid):
        key = (step, tuple(extra))
        if key in self.failed_start:
            pytest.fail(f"the server could not be started (see the first failing test for its log): "
                        f"{self.failed_start[key]}", pytrace=False)
        srv = self.servers.get(key)
        died = None
        if srv is not None and not srv.alive():
            died = (f"the {srv.label} server had died before this test started, after "
                    f"{srv.last_test} ({srv.exit_text()}); it has been restarted for the next tests.\n"
                    f"  the end of its log:\n{g.indent(srv.log_tail(30), 4)}")
            srv = None
        if srv is None:
            error = None
            try:
                srv = self.start(step, extra)
            except g.ServerStartError as e:
                error = str(e)
            if error is not None:  # failed outside the except block: no "During handling..." noise
                self.failed_start[key] = error.split("\n", 1)[0]
                pytest.fail((died + "\n" if died else "") + error, pytrace=False)
        srv.last_test = nodeid
        if died:
            pytest.fail(died, pytrace=False)
        return srv

    def stop_all(self):
        """Stops every server; returns (server, how it ended) for those that did not exit with 0."""
        exits = []
        for srv in self.servers.values():
            already = not srv.alive()
            status = srv.stop()
            if already:
                exits.append((srv, f"it had already exited by itself ({g.exit_text(status)})"))
            elif status != 0:
                exits.append((srv, f"on SIGTERM it ended with {g.exit_text(status)}, "
                                   "not exit status 0"))
        return exits


@pytest.fixture(scope="session")
def dns_settings(pytestconfig):
    return pytestconfig.dns_settings


@pytest.fixture(scope="session")
def server_pool(pytestconfig, tmp_path_factory):
    pool = Pool(pytestconfig.dns_settings, tmp_path_factory.mktemp("server-logs"))
    yield pool
    pytestconfig.dns_exits += pool.stop_all()


def _watch(request, srv):
    """Remembers where the server's log stood when the test began, for the failure report."""
    if not hasattr(request.node, "dns_servers"):
        request.node.dns_servers = []
    request.node.dns_servers.append((srv, srv.log_size()))


@pytest.fixture
def server(step, server_pool, request):
    """The pooled server for `step`, with default options."""
    srv = server_pool.get(step, (), request.node.nodeid)
    _watch(request, srv)
    return srv


@pytest.fixture
def server_with_args(step, server_pool, request):
    """server_with_args(*extra): the pooled server for `step` started with extra options."""
    def get(*extra):
        srv = server_pool.get(step, extra, request.node.nodeid)
        _watch(request, srv)
        return srv
    return get


@pytest.fixture
def new_client():
    """new_client(server, timeout=1.0): another client socket; closed after the test."""
    made = []

    def make(srv, timeout=1.0):
        c = g.Client(srv.address, srv, timeout)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(server, new_client):
    """A client of `server`: exchange(), expect_no_reply(), send(), receive()."""
    return new_client(server)


@pytest.fixture
def spawn(step, dns_settings, tmp_path):
    """spawn(*args, ready=True): a fresh, unpooled build/step-N process (for the command-line tests);
    stopped after the test. process=: a subclass of g.ServerProcess (e.g. one that pipes stdout)."""
    started = []

    def run(*args, ready=True, port=None, host="127.0.0.1", process=g.ServerProcess):
        port = port or g.free_udp_port(host)
        binary = dns_settings.build_dir / f"step-{step}"
        if not binary.exists():
            pytest.fail(g.missing_binary(binary), pytrace=False)
        srv = process(f"step-{step}", argv=[str(binary), "--port", str(port), *default_args(step, args)],
                      port=port, host=host, log_path=tmp_path / f"spawned-{len(started)}.log")
        srv.start()
        started.append(srv)
        if ready:
            error = None
            try:
                srv.wait_ready()
            except g.ServerStartError as e:
                error = str(e)
            if error is not None:
                pytest.fail(error, pytrace=False)
        return srv
    yield run
    for srv in started:
        srv.stop()


# --------------------------------------------------------------------------------------------------
# Reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for srv, offset in getattr(item, "dns_servers", []):
        text = srv.log_since(offset).strip()
        if text:
            report.sections.append((f"server log: {srv.label}, during this test ({srv.log_path})",
                                    text))


def pytest_terminal_summary(terminalreporter, config):
    left_out = getattr(config, "dns_slow_left_out", 0)
    if left_out:
        terminalreporter.write_line(f"{left_out} slow test{'s' if left_out > 1 else ''} not run "
                                    "(deselected): add --run-slow or set DNS_TEST_SLOW=1 to run "
                                    f"{'them' if left_out > 1 else 'it'}")
    for srv, how in getattr(config, "dns_exits", []):
        terminalreporter.write_line(
            f"warning: at the end of the tests, {srv.label}: {how}\n"
            f"  the end of its log ({srv.log_path}):\n{g.indent(srv.log_tail(20), 4)}", yellow=True)
