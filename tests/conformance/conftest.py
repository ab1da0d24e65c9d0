"""conftest: options (--steps, --build-dir, --server-cmd, --part, --run-slow), the stage, part and
slow markers, and the pool of servers under test.

A test says which stages it applies to with @pytest.mark.stage(introduced, until=None) and asks for
the `step` it runs against through the `server` or `client` fixtures; it is then run once per listed
step in its range, with ids like test_id_copied[step-2]. Tests whose range contains none of the
listed steps are deselected. A selftest of what one stage needs (a stand-in server of that stage,
the resolvers' sandbox) carries the marker without asking for a `step`: it runs once when a listed
step is in its range, and is deselected otherwise. A test of a stage graded in parts (stage 4,
dnsgrader.PARTS) also carries @pytest.mark.part(4, k); --part K deselects the tests of that
stage's later parts.

Every server is started with what its stage needs: `server` with the step's defaults (from stage 4
on the simple test zones of zonedata.py), `server_with(zone=[...])` with other values. The values
become the build's options (--zone FILE) or fill the placeholders of --server-cmd
(dnsgrader.expand_command: {port}, {zone}, {zones}, ...).

Tests marked @pytest.mark.slow (the grader's slowest selftests) are deselected too unless
--run-slow is given or DNS_TEST_SLOW=1 is set; CI runs them (.ci/run).

Each test's report carries, in its user_properties, its stage (and part), and what grade.py ranks
and notes by: the cause of its failure (dnsgrader.GraderFailure), an exception that is no check's
("crash": one line), and the behaviours it saw where more than one is allowed (dnsgrader.note).
"""

import hashlib
import os
import re
from pathlib import Path

import pytest

import dnsgrader as g
import fake_hierarchy as hierarchy_module
import fake_upstream as upstream_module
import zonedata

REPO = Path(__file__).resolve().parents[2]


class Settings:
    def __init__(self, steps, build_dir, server_cmd, run_slow, part):
        self.steps = steps  # sorted list of ints
        self.build_dir = build_dir  # absolute Path
        self.server_cmd = server_cmd  # str with {port} (and other placeholders), or None
        self.run_slow = run_slow  # run the tests marked slow
        self.part = part  # the last part of a stage graded in parts to run, or None: all


def pytest_addoption(parser):
    group = parser.getgroup("dns", "DNS workbook conformance tests")
    group.addoption("--steps", metavar="1,2,3",
                    help="the steps to test, comma-separated (default: every build-dir/step-N found)")
    group.addoption("--build-dir", metavar="DIR",
                    help="where the step-N binaries are (default: build/ at the top of the checkout)")
    group.addoption("--server-cmd", metavar="CMD",
                    help="test this command instead of build-dir/step-N (one step only); {port} in it "
                         "is replaced by the port to listen on, e.g. 'python3 my.py --port {port}', "
                         "and {zone}/{zones} by the zone files (see dnsgrader.PLACEHOLDERS)")
    group.addoption("--part", metavar="K", type=int,
                    help="of a stage graded in parts (4), run parts 1 to K only")
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
        problem = g.check_command(cmd, steps[0])
        if problem:
            raise pytest.UsageError(f"--server-cmd: {problem}")
    part = config.getoption("--part")
    if part is not None:
        parted = [s for s in g.PARTS if s in steps]
        if not parted or not 1 <= part <= max(g.PARTS[parted[0]]):
            raise pytest.UsageError(f"--part {part}: parts are for stage "
                                    + ", ".join(f"{s} (1 to {max(p)})" for s, p in g.PARTS.items()))
    slow_env = os.environ.get("DNS_TEST_SLOW", "").strip()
    if slow_env not in ("", "0", "1"):
        raise pytest.UsageError(f"DNS_TEST_SLOW={slow_env!r}: expected 1 (run the slow tests) or 0")
    return Settings(steps, build_dir, cmd, config.getoption("--run-slow") or slow_env == "1", part)


def pytest_configure(config):
    config.addinivalue_line("markers", "stage(introduced, until=None): the stages a test applies to "
                                       f"(until None = every later stage, up to {g.LAST_STAGE})")
    config.addinivalue_line("markers", "part(stage, k): the part of its stage a test belongs to "
                                       "(stages graded in parts: dnsgrader.PARTS)")
    config.addinivalue_line("markers", "build_only: tests the build's command line; not run with "
                                       "--server-cmd")
    config.addinivalue_line("markers", "selftest: tests the grader itself; not run with --server-cmd")
    config.addinivalue_line("markers", "slow: takes seconds; run only with --run-slow or "
                                       "DNS_TEST_SLOW=1")
    config.addinivalue_line("markers", "dns_not_applicable: (internal) no listed step is in the "
                                       "test's stage range")
    config.addinivalue_line("markers", "dns_later_part: (internal) of a part after --part")
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
        marker = item.get_closest_marker("stage")
        if marker is not None and not item.get_closest_marker("dns_not_applicable"):
            # Also a test that asks for no step (a selftest of one stage's stand-ins).
            first, last = g.stage_range(marker)
            if not any(first <= s <= last for s in settings.steps):
                item.add_marker(pytest.mark.dns_not_applicable)
        if (item.get_closest_marker("dns_not_applicable")
                or (graded_cmd and item.get_closest_marker("build_only"))
                or (graded_cmd and item.get_closest_marker("selftest"))):
            drop.append(item)
            continue
        # A selftest of a stage in parts is of no part: --part leaves it in.
        part = g.part_of(item) if "step" in getattr(item, "fixturenames", ()) else None
        part_marker = item.get_closest_marker("part")
        if part_marker is not None and (part is None or part_marker.args[0] != part[0]
                                        or part_marker.args[1] not in g.PARTS[part[0]]):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.part{part_marker.args} does "
                                    "not name a part of the stage that introduced the test")
        if part is not None and settings.part is not None and part[1] > settings.part:
            item.add_marker(pytest.mark.dns_later_part)
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
            if part is not None:
                item.user_properties.append(("part", part[1]))
            if hasattr(item, "callspec") and "step" in item.callspec.params:
                item.user_properties.append(("step", item.callspec.params["step"]))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --------------------------------------------------------------------------------------------------
# Servers


def log_name(step, values):
    """A file name for the log of step-N started with `values`: readable, one per set of values, and
    without the slashes of any path among them ("step-4-zone4.test.zone-child...-1a2b3c.log")."""
    if not values:
        return f"step-{step}.log"
    flat = [str(x) for _, v in values for x in v]
    words = [re.sub(r"[^A-Za-z0-9._]+", "-", a.rsplit("/", 1)[-1]).strip("-") for a in flat]
    digest = hashlib.sha1("\0".join(flat).encode()).hexdigest()[:6]
    return "-".join(["step", str(step), *filter(None, words)])[:100] + f"-{digest}.log"


# What `spawn` (the build's command-line tests) gives a step that needs arguments to start at all,
# when the test passes nothing of its own: the authoritative stages serve the workbook's example
# zones (as `make step-4` does), stage 6 too, and forwards to the fake upstream (the stages that
# provide "resolver", dnsgrader.PLACEHOLDERS). Pooled servers get the test zones instead
# (step_values()).
ZONES = Path(__file__).resolve().parents[2] / "zones"
EXAMPLE_ZONES = ["--zone", str(ZONES / "example.com.zone"),
                 "--zone", str(ZONES / "2.0.192.in-addr.arpa.zone")]
STEP_DEFAULT_ARGS = {4: EXAMPLE_ZONES, 5: EXAMPLE_ZONES, 6: EXAMPLE_ZONES}


def _has_option(args, option):
    return option in args or any(a.startswith(option + "=") for a in args)


def default_args(step, extra, resolver=None):
    """`extra`, after the step's defaults when `extra` says nothing about zones, and `--resolver
    resolver` when it says nothing about a resolver (for `spawn`)."""
    out = list(extra)
    if not _has_option(extra, "--zone"):
        out = [*STEP_DEFAULT_ARGS.get(step, []), *out]
    if resolver is not None and not _has_option(extra, "--resolver"):
        out = ["--resolver", resolver, *out]
    return out


def step_values(step, zones, resolver=None, hierarchy=None):
    """What the pooled `server` of `step` is started with: the values its stage's tests need (the
    keys of dnsgrader.PLACEHOLDERS). Stages 4 to 6 serve the simple test zones; stage 6 forwards
    the rest to `resolver`, the fake upstream's ADDRESS:PORT; stage 7 on resolves from the fake
    hierarchy's root (`hierarchy`: its root hints file and port), with no zone of its own at
    stages 7 and 8, and from stage 9 on with the stage-9 zone (zonedata.EDNS_ZONES: big TXT
    RRsets for EDNS and TCP), answered before any resolution. A later stage adds its line here."""
    values = {}
    if g.provided("zone", step):
        values["zone"] = [str(p) for p in (zones.edns if step >= g.EDNS_FROM else zones.simple)]
    if g.provided("resolver", step):
        values["resolver"] = resolver
    if g.provided("root_hints", step):
        values["root_hints"] = str(hierarchy.hints_path)
        values["ns_port"] = str(hierarchy.port)
    return values


def resolver_for(step, request):
    """The fake upstream's ADDRESS:PORT for a step that forwards (started on first use), else None."""
    if not g.provided("resolver", step):
        return None
    return request.getfixturevalue("fake_upstream").resolver


def hierarchy_for(step, request):
    """The fake hierarchy (fake_hierarchy.py; started on first use) for a step that resolves by
    itself, else None."""
    if not g.provided("root_hints", step):
        return None
    return request.getfixturevalue("fake_hierarchy")


def hierarchy_values(step, request):
    """{"root_hints": FILE, "ns_port": P} for a step that resolves, else {}."""
    hier = hierarchy_for(step, request)
    if hier is None:
        return {}
    return {"root_hints": str(hier.hints_path), "ns_port": str(hier.port)}


class Pool:
    """One server process per (step, values), started on first use, kept for the session."""

    def __init__(self, settings, log_dir):
        self.settings = settings
        self.log_dir = log_dir
        self.servers = {}
        self.failed_start = {}  # key -> message of the first failed start (later tests fail fast)

    @staticmethod
    def key(step, values):
        return step, tuple((k, tuple(v) if isinstance(v, (list, tuple)) else (v,))
                           for k, v in sorted(values.items()))

    def command(self, step, port, values):
        """The build's argv, or the shell command of --server-cmd. The value "args" (the build's
        command-line tests: server_with_args) is appended as it is."""
        full = {"port": port, **values}
        extra = list(full.pop("args", []))
        if self.settings.server_cmd is not None:
            cmd = g.expand_command(self.settings.server_cmd, full)
            return dict(shell_cmd=" ".join([cmd, *map(g.shlex.quote, extra)]))
        return dict(argv=g.build_argv(self.settings.build_dir / f"step-{step}", full) + extra)

    def label(self, step, values):
        """"step-4" or "step-4 (zone: zone4.test.zone, ...)", for messages."""
        shown = [f"{k}: " + ", ".join(Path(str(x)).name for x in v) for k, v in values]
        return f"step-{step}" + (f" ({'; '.join(shown)})" if shown else "")

    def start(self, step, values):
        key = self.key(step, values)
        if self.settings.server_cmd is None:
            binary = self.settings.build_dir / f"step-{step}"
            if not binary.exists():
                raise g.ServerStartError(g.missing_binary(binary))
        for attempt in range(3):  # bounded: another port only when this one was taken meanwhile
            port = g.free_udp_port()
            srv = g.ServerProcess(self.label(step, key[1]), port=port,
                                  log_path=self.log_dir / log_name(step, key[1]),
                                  **self.command(step, port, values))
            srv.start()
            try:
                srv.wait_ready()
                break
            except g.ServerStartError as e:
                exited = not srv.alive()
                srv.stop()
                # The port was free when chosen, but another process (a test running beside this
                # one) may bind it before the server does: then try another, twice at most.
                taken = exited and re.search(r"address already in use", srv.log_tail(5), re.I)
                if not taken or attempt == 2:
                    raise e
        self.servers[key] = srv
        return srv

    def get(self, step, values, nodeid):
        key = self.key(step, values)
        if key in self.failed_start:
            raise g.GraderFailure(f"the server could not be started (see the first failing test "
                                  f"for its log): {self.failed_start[key]}", "the server does not start")
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
                srv = self.start(step, values)
            except g.ServerStartError as e:
                error = str(e)
            if error is not None:  # failed outside the except block: no "During handling..." noise
                self.failed_start[key] = error.split("\n", 1)[0]
                raise g.GraderFailure((died + "\n" if died else "") + error,
                                      g.CAUSE_DIED if died else "the server does not start")
        srv.last_test = nodeid
        if died:
            raise g.GraderFailure(died, g.CAUSE_DIED)
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
def test_zones(tmp_path_factory):
    """The zone files of zonedata.py (.simple, .full: lists of paths), written once per session."""
    return zonedata.ZoneFiles(tmp_path_factory.getbasetemp() / "test-zones")


@pytest.fixture(scope="session")
def fake_upstream():
    """The scriptable upstream resolver of the stage-6 tests (fake_upstream.py), in a thread of
    this process on 127.0.0.1:<free port>; started on first use, stopped at the end."""
    upstream = upstream_module.FakeUpstream().start()
    yield upstream
    upstream.stop()
    assert not upstream.errors, f"the fake upstream's thread failed: {upstream.errors[:3]}"


@pytest.fixture(scope="session")
def fake_hierarchy(tmp_path_factory):
    """The fake DNS tree of the stage-7 tests (fake_hierarchy.py): a root, test. and the zones the
    tests add, on 127.0.1.x, all on one port, in a thread of this process; its root hints file is
    written into the session's temporary directory. Started on first use, stopped at the end."""
    hints = tmp_path_factory.mktemp("fake-hierarchy") / "root.hints"
    hier = hierarchy_module.FakeHierarchy(hints).start()
    yield hier
    hier.stop()
    assert not hier.errors, f"the fake hierarchy's thread failed: {hier.errors[:3]}"


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
def server(step, server_pool, request, test_zones):
    """The pooled server for `step`, started with what the step needs (step_values())."""
    srv = server_pool.get(step, step_values(step, test_zones, resolver_for(step, request),
                                            hierarchy_for(step, request)),
                          request.node.nodeid)
    _watch(request, srv)
    return srv


@pytest.fixture
def server_with(step, server_pool, request):
    """server_with(**values): the pooled server for `step` started with these values instead of the
    step's, e.g. server_with(zone=[path, ...]) (keys: those of dnsgrader.PLACEHOLDERS); a step that
    forwards gets the fake upstream as its resolver unless `values` name one, a step that resolves
    the fake hierarchy's root hints and port."""
    def get(**values):
        resolver = resolver_for(step, request)
        if resolver is not None:
            values = {"resolver": resolver, **values}
        values = {**hierarchy_values(step, request), **values}
        srv = server_pool.get(step, {k: [str(x) for x in v] if isinstance(v, (list, tuple))
                                     else str(v) for k, v in values.items()}, request.node.nodeid)
        _watch(request, srv)
        return srv
    return get


@pytest.fixture
def server_with_args(step, server_pool, request, test_zones):
    """server_with_args(*extra): the pooled server for `step`, started with what the step needs and
    these options after them (the build's command-line tests, e.g. "--trace")."""
    def get(*extra):
        values = {**step_values(step, test_zones, resolver_for(step, request),
                                hierarchy_for(step, request)),
                  "args": [str(a) for a in extra]}
        srv = server_pool.get(step, values, request.node.nodeid)
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
def new_tcp_client():
    """new_tcp_client(server, timeout=1.0, rcvbuf=None): a TCP connection to the server
    (dnsgrader.TcpClient, stage 9 on); closed after the test."""
    made = []

    def make(srv, timeout=1.0, rcvbuf=None):
        c = g.TcpClient(srv.address, srv, timeout, rcvbuf)
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
def spawn(step, dns_settings, tmp_path, request):
    """spawn(*args, ready=True): a fresh, unpooled build/step-N process (for the command-line tests);
    stopped after the test. process=: a subclass of g.ServerProcess (e.g. one that pipes stdout).
    Stage 6 gets the example zones and `--resolver` (the fake upstream) unless `args` has them;
    stage 7 on `--root-hints` and `--ns-port` (the fake hierarchy) unless `args` has them."""
    started = []
    resolver = resolver_for(step, request)
    resolving = hierarchy_values(step, request)

    def run(*args, ready=True, port=None, host="127.0.0.1", process=g.ServerProcess):
        port = port or g.free_udp_port(host)
        binary = dns_settings.build_dir / f"step-{step}"
        if not binary.exists():
            pytest.fail(g.missing_binary(binary), pytrace=False)
        argv = [str(binary), "--port", str(port), *default_args(step, args, resolver)]
        for key, option in (("root_hints", "--root-hints"), ("ns_port", "--ns-port")):
            if key in resolving and not _has_option(args, option):
                argv += [option, resolving[key]]
        srv = process(f"step-{step}", argv=argv, port=port, host=host,
                      log_path=tmp_path / f"spawned-{len(started)}.log")
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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    g.NOTES.clear()


def _crash_text(excinfo):
    """One line for an exception no check raised (a reply the grader could not read, or a bug of
    the grader): what, and where in the tests."""
    where = ""
    for entry in reversed(excinfo.traceback):
        path = Path(str(entry.path))
        if path.parent == Path(__file__).parent:
            where = f" ({path.name}:{entry.lineno + 1})"
            break
    text = str(excinfo.value).strip().split("\n", 1)[0]
    return f"{excinfo.type.__name__}{': ' + text if text else ''}{where}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and isinstance(call.excinfo.value, pytest.fail.Exception):
        # A check's message is the whole story: no "During handling of the above exception"
        # chain when it failed inside an except block (the report is written after this).
        call.excinfo.value.__suppress_context__ = True
    outcome = yield
    report = outcome.get_result()
    # A list of this report's own: pytest hands every report the item's list itself.
    report.user_properties = list(report.user_properties)
    if report.when == "call":
        report.user_properties += [("note", n) for n in g.NOTES]
    if call.excinfo is not None and report.failed:
        value = call.excinfo.value
        if isinstance(value, g.GraderFailure):
            if value.cause:
                report.user_properties.append(("cause", value.cause))
        elif not isinstance(value, (pytest.fail.Exception, pytest.skip.Exception)):
            report.user_properties.append(("crash", _crash_text(call.excinfo)))
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
