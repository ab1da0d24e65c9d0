"""The grader's own tests: tests/grade.py run as a learner would, against stand-in learner servers
and against the real build; and the barrier of expect_no_reply(), against header_server.py.

The stand-ins, each right or with one mistake a learner made:
  echo_server.py      stage 1 (and wrong after it): a 512-byte buffer, a crash;
  header_server.py    stage 2: answers responses (in turn, or late), dies on a short datagram;
  question_server.py  stage 3: forgets QR, moves past a label by its length alone, echoes the OPT
                      record, takes 0x40-0xBF as a label length, cuts the last byte off every
                      reply; or copies CD (allowed);
  fixed_server.py     stage 4 up to part 4.1: fixed answers from simple zone files;
  proxy_server.py     build/step-N behind a proxy that does what the RFCs allow differently: copies
                      CD, answers a query of several questions with FORMERR (RFC 9619); or
                      writes TYPE 0 in the answer's records;
  forward_server.py   stage 6 (build/step-5 for the local zones): sequential upstream IDs, one
                      upstream socket, any reply accepted, blocking on the upstream, RA left 0;
  resolver_server.py  stage 7, against the fake hierarchy: out-of-bailiwick glue used, RD=1 sent
                      to name servers, no CNAME followed across zones, giving up after the first
                      server, a truncated reply used; with --cache, stage 8: TTLs not counted
                      down, no negative cache.
For each mistake the report's first failure must name it (its cause); for what the RFCs allow, the
grade must pass and say what it saw; for a reply the grader cannot read, the report says so in one
line, with no Python traceback.

Every grade (and every run of the suite against header_server.py) is a process of its own; they
all start together the first time a test asks for one (the `runs` fixture), since each waits on
the network far more than it computes, and each test then reads its report. A run is a selftest of
the stage it grades, and so is each test that reads it (@pytest.mark.stage(N, until=N)): a test
runs when --steps lists its stage, and only the runs of the stages of the tests selected start."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import dnsgrader as g
import test_07_recursion as test_07
import test_08_cache as test_08

HERE = Path(__file__).resolve().parent
GRADE = HERE.parent / "grade.py"
ECHO = f"{sys.executable} {HERE / 'echo_server.py'}"
HEADER = f"{sys.executable} {HERE / 'header_server.py'}"
QUESTION = f"{sys.executable} {HERE / 'question_server.py'}"
FIXED = f"{sys.executable} {HERE / 'fixed_server.py'}"
PROXY = f"{sys.executable} {HERE / 'proxy_server.py'}"
FORWARD = f"{sys.executable} {HERE / 'forward_server.py'}"
RESOLVER = f"{sys.executable} {HERE / 'resolver_server.py'}"

pytestmark = pytest.mark.selftest  # not part of grading; not run with --server-cmd

ROW = re.compile(r"^\s+(\d)\s+(\S+(?: \S+)*)\s{2,}(PASS|FAIL|n/a)\b(?:\s+(\d+)\s+(\d+))?", re.M)
PART_ROW = re.compile(r"^\s+(\d)\.(\d)\s+(\S+(?: \S+)*)\s{2,}(PASS|FAIL|n/a|-)(?=\s|$)", re.M)


def rows_of(stdout):
    """{stage: dict(what, result, passed, failed)} and {"4.1": result} from a report."""
    rows = {int(m[1]): dict(what=m[2], result=m[3], passed=m[4] and int(m[4]),
                            failed=m[5] and int(m[5])) for m in ROW.finditer(stdout)}
    parts = {f"{m[1]}.{m[2]}": m[4] for m in PART_ROW.finditer(stdout)}
    return rows, parts


def grade(*args):
    """grade.py run alone, for the slow tests."""
    r = subprocess.run([sys.executable, str(GRADE), *args], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return r, rows_of(r.stdout)[0]


def show(r):
    return f"exit status {r.returncode}\n--- stdout:\n{r.stdout}\n--- stderr:\n{r.stderr}"


def lead(stdout):
    """The failure the report shows first, in full: 'the failure to look at first: ...' up to the
    next line that is not indented."""
    m = re.search(r"^the failure to look at first: .*?(?=^\S|\Z)", stdout, re.M | re.S)
    return m[0] if m else ""


# --------------------------------------------------------------------------------------------------
# The runs

# expect_no_reply() sends a good query right behind the datagram that must be dropped and takes
# that query's reply as the sign that the server is done with the datagram: the "suite-*" runs
# prove it passes a server that drops what it must, and still catches one that answers, in turn or
# out of order.
DROP_TESTS = ["test_02_header.py::test_datagram_shorter_than_a_header_is_dropped",
              "test_02_header.py::test_response_is_dropped"]


def suite(server_options, *tests):
    """The command running the conformance tests `tests` (node ids) at stage 2 against
    header_server.py."""
    cmd = f"{HEADER} {server_options} --port {{port}}"
    return [sys.executable, "-m", "pytest", *tests, "--steps", "2", f"--server-cmd={cmd}",
            "-p", "no:cacheprovider", "-q"]


def grade_cmd(*args):
    return [sys.executable, str(GRADE), *args]


# The stage-6 stand-in, graded on the stage-6 tests that show each mistake; the one that passes
# leaves out the three that measure time, which all the grades running at once could slow down.
FORWARD_RIGHT = "test_06 and not slow_upstream and not silent_upstream and not max_pending"
FORWARD_MISTAKES = {
    "sequential-ids": "test_upstream_ids",
    "one-socket": "test_upstream_ids",
    "accept-any": "test_forged_reply",
    "blocking": "test_slow_upstream",
    "no-ra": "test_answer_is_relayed",
}


def forward_grade(build_dir, option, keyword):
    cmd = (f"{FORWARD} {option} --backend {build_dir / 'step-5'} --port {{port}} --zone {{zone}} "
           "--resolver {resolver}")
    return grade_cmd("--step", "6", "--server-cmd", cmd, "-k", keyword)


# The stage-7 stand-in (it needs no build): graded whole but for the three tests that measure time,
# which all the grades running at once could slow down; each mistake on the tests that show it.
RESOLVER_RIGHT = "not slow_zone and not every_server_silent and not dead_first_server"
RESOLVER_MISTAKES = {
    "oob-glue": "test_out_of_bailiwick_glue",
    "rd-upstream": "test_queries_to_name_servers_have_rd_0",
    "no-cname-follow": "test_cname_into_another_zone",
    "first-server-only": "test_next_server or test_dead_first_server",
    "trust-tc": "test_truncated_reply",
}


def resolver_grade(option, keyword):
    cmd = (f"{RESOLVER} {option} --port {{port}} --root-hints {{root_hints}} "
           "--ns-port {ns_port}")
    return grade_cmd("--step", "7", "--server-cmd", cmd, "-k", keyword)


# The stage-8 stand-in: resolver_server.py --cache, graded whole (stages 2, 3, 7 and 8) but for
# stage 7's three timed tests; each cache mistake on the stage-8 tests.
CACHE_MISTAKES = {
    "ttl-not-decremented": "test_08",
    "no-negative-cache": "test_08",
}


def cache_grade(option, keyword):
    cmd = (f"{RESOLVER} --cache {option} --port {{port}} --root-hints {{root_hints}} "
           "--ns-port {ns_port}")
    return grade_cmd("--step", "8", "--server-cmd", cmd, "-k", keyword)


def all_runs(build_dir):
    """name -> (the stage it is a selftest of, the command of the run, or None when what it needs
    is not built)."""
    step5 = build_dir / "step-5"
    built5 = step5.exists()
    forwards = {f"forward-{m}": (6, forward_grade(build_dir, f"--{m}", k) if built5 else None)
                for m, k in FORWARD_MISTAKES.items()}
    resolvers = {f"resolver-{m}": (7, resolver_grade(f"--mistake {m}", k))
                 for m, k in RESOLVER_MISTAKES.items()}
    caches = {f"cache-{m}": (8, cache_grade(f"--mistake {m}", k))
              for m, k in CACHE_MISTAKES.items()}
    return {
        **forwards,
        **resolvers,
        **caches,
        "cache": (8, cache_grade("", RESOLVER_RIGHT)),
        "no-cache-8": (8, grade_cmd("--step", "8", "--server-cmd",
                                    f"{RESOLVER} --port {{port}} --root-hints {{root_hints}} "
                                    "--ns-port {ns_port}", "-k", "test_08")),
        "resolver": (7, resolver_grade("", RESOLVER_RIGHT)),
        "forward": (6, forward_grade(build_dir, "", FORWARD_RIGHT) if built5 else None),
        # The drop tests against header_server.py
        "suite-drops": (2, suite("", *DROP_TESTS)),
        "suite-answers-responses": (2, suite("--answer-responses",
                                             f"{DROP_TESTS[1]}[step-2-header-only]")),
        "suite-answers-late": (2, suite("--answer-responses-late",
                                        f"{DROP_TESTS[1]}[step-2-header-only]")),
        "suite-exit-on-short": (2, suite("--exit-on-short", f"{DROP_TESTS[0]}[step-2-5-bytes]")),
        # Grades
        "echo-1": (1, grade_cmd("--step", "1", "--server-cmd", f"{ECHO} --port {{port}}")),
        "echo-512": (1, grade_cmd("--step", "1",
                                  "--server-cmd", f"{ECHO} --buffer 512 --port {{port}}")),
        "echo-3": (3, grade_cmd("--step", "3", "--server-cmd", f"{ECHO} --port {{port}}")),
        "no-qr": (3, grade_cmd("--step", "3",
                               "--server-cmd", f"{QUESTION} --no-qr --port {{port}}")),
        "skip-length": (3, grade_cmd("--step", "3",
                                     "--server-cmd", f"{QUESTION} --skip-length --port {{port}}")),
        "echo-additional": (3, grade_cmd("--step", "3", "--server-cmd",
                                         f"{QUESTION} --echo-additional --port {{port}}")),
        "long-labels": (3, grade_cmd("--step", "3",
                                     "--server-cmd", f"{QUESTION} --long-labels --port {{port}}")),
        "copy-cd": (3, grade_cmd("--step", "3",
                                 "--server-cmd", f"{QUESTION} --copy-cd --port {{port}}")),
        "cut-last-byte": (3, grade_cmd("--step", "3", "--server-cmd",
                                       f"{QUESTION} --cut-last-byte --port {{port}}",
                                       "-k", "test_dnspython_takes_it_as_the_response")),
        "fixed-part-1": (4, grade_cmd("--step", "4", "--part", "1",
                                      "--server-cmd", f"{FIXED} --port {{port}} --zone {{zone}}")),
        "fixed": (4, grade_cmd("--step", "4",
                               "--server-cmd", f"{FIXED} --port {{port}} {{zones}}")),
        "formerr-multi": (5, grade_cmd("--step", "5", "--server-cmd",
                                       f"{PROXY} --formerr-multi --copy-cd --port {{port}} "
                                       f"-- {step5}") if built5 else None),
        "type-zero": (5, grade_cmd("--step", "5", "--server-cmd",
                                   f"{PROXY} --type-zero --port {{port}} -- {step5}",
                                   "-k", "test_rdata_names_keep_the_zones_case")
                      if built5 else None),
        "build-5-multi": (5, grade_cmd("--step", "5", "--build-dir", str(build_dir), "-k",
                                       "test_05_compression") if built5 else None),
    }


class Runs:
    """The runs of all_runs() for `stages`, started at once; runs[name] waits for one."""

    def __init__(self, build_dir, stages):
        runs = all_runs(build_dir)
        self.stages = stages
        self.stage = {name: stage for name, (stage, _) in runs.items()}
        self.procs = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True, stdin=subprocess.DEVNULL, cwd=HERE)
                      for name, (stage, cmd) in runs.items() if cmd is not None and stage in stages}
        self.done = {}

    def __getitem__(self, name):
        """(the CompletedProcess, its stage rows, its part rows)."""
        if name not in self.procs:
            stage = self.stage[name]  # a KeyError: no such run
            if stage not in self.stages:
                pytest.fail(f"{name} is a run of stage {stage}, not started: the test reading it "
                            f"needs @pytest.mark.stage({stage}, until={stage})", pytrace=False)
            pytest.skip(f"{name}: the build it needs is not there")
        if name not in self.done:
            proc = self.procs[name]
            out, err = proc.communicate(timeout=120)
            r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            self.done[name] = (r, *rows_of(out))
        return self.done[name]

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def stage_of(item):
    marker = item.get_closest_marker("stage")
    return marker.args[0] if marker is not None else None


@pytest.fixture(scope="module")
def runs(dns_settings, request):
    """The runs of the stages whose tests here were selected (their @pytest.mark.stage)."""
    stages = {stage_of(item) for item in request.session.items
              if item.module is request.module and "runs" in item.fixturenames}
    started = Runs(dns_settings.build_dir, stages)
    yield started
    started.stop()


# --------------------------------------------------------------------------------------------------
# Stage 1: the echo server


@pytest.mark.stage(1, until=1)
def test_echo_server_passes_stage_1(runs):
    r, rows, _ = runs["echo-1"]
    assert r.returncode == 0, show(r)
    assert set(rows) == {1} and rows[1]["what"] == "udp echo", show(r)
    assert rows[1]["result"] == "PASS" and rows[1]["passed"] > 0 and rows[1]["failed"] == 0, show(r)
    assert "Result: PASS (stage 1)" in r.stdout, show(r)
    assert re.search(r"^pytest: \d+ passed", r.stdout, re.M), show(r)


@pytest.mark.stage(1, until=1)
def test_a_512_byte_buffer_fails_stage_1_and_says_so(runs):
    r, rows, _ = runs["echo-512"]
    assert r.returncode == 1, show(r)
    assert rows[1]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert "got 512" in text and "is the receive buffer 512 bytes?" in text, show(r)


@pytest.mark.stage(3, until=3)
def test_echo_server_fails_stages_2_and_3_with_clear_messages(runs):
    r, rows, _ = runs["echo-3"]
    assert r.returncode == 1, show(r)
    assert rows[1]["result"] in ("n/a", "PASS"), show(r)
    assert rows[2]["result"] == "FAIL" and rows[2]["failed"] > 0, show(r)
    assert rows[3]["result"] == "FAIL" and rows[3]["failed"] > 0, show(r)
    assert rows[3]["passed"] == 0, show(r)  # an echo has QR=0: no stage-3 test may pass
    text = lead(r.stdout)
    assert "(stage 2)" in text.split("\n", 1)[0], show(r)
    assert "cause: QR is not set in replies" in text, show(r)
    assert "QR: expected 1, got 0" in text, show(r)
    assert re.search(r"^\s+expected: [0-9a-f]{4} ", text, re.M), show(r)
    assert re.search(r"^\s+got: +[0-9a-f]{4} ", text, re.M), show(r)
    assert "hint: set QR" in text, show(r)
    # The stage-3 failures share the cause: one line for them all.
    assert re.search(r"^  cause: QR is not set in replies: \d+ tests \(stage 2 to 3\)", r.stdout,
                     re.M), show(r)
    assert "Result: FAIL (stages 2, 3)" in r.stdout, show(r)
    assert re.search(r"^pytest: \d+ failed, \d+ passed", r.stdout, re.M), show(r)
    assert "Traceback" not in r.stdout + r.stderr, show(r)


@pytest.mark.stage(1, until=1)
@pytest.mark.slow  # a restart for nearly every stage-1 test
def test_a_server_that_dies_is_reported_and_restarted():
    r, rows = grade("--step", "1", "--server-cmd", f"{ECHO} --exit-after 2 --port {{port}}")
    assert r.returncode == 1, show(r)
    assert rows[1]["result"] == "FAIL" and rows[1]["passed"] >= 2, show(r)  # restarted, so >1 pass
    # The first failure is the test after the echo that ends the server: the server is found gone
    # during that test, or, if it had finished exiting when the test began, during its setup.
    assert ("the server is not running any more: exit status 3" in r.stdout
            or re.search(r"server had died before this test started, after \S+ \(exit status 3\)",
                         r.stdout)), show(r)
    assert f"cause: {g.CAUSE_DIED}" in r.stdout, show(r)


# --------------------------------------------------------------------------------------------------
# The command line: placeholders and parts


def usage_error(capsys, monkeypatch, *args):
    """grade.py's command line checked in this process (it exits before running any test): the
    exit status and what it printed on stderr."""
    sys.path.insert(0, str(GRADE.parent))
    try:
        import grade as grade_module
    finally:
        sys.path.remove(str(GRADE.parent))
    monkeypatch.setattr(sys, "argv", ["grade.py", *args])
    with pytest.raises(SystemExit) as e:
        grade_module.main()
    return e.value.code, capsys.readouterr().err


def test_bad_server_cmd_is_a_usage_error(capsys, monkeypatch):
    status, err = usage_error(capsys, monkeypatch, "--step", "3", "--server-cmd", "python3 my.py")
    assert status == 2 and "{port}" in err, err


@pytest.mark.parametrize("stage,cmd,words", [
    (4, "my --port {port} --zone {zonefile}", ["unknown placeholder {zonefile}", "{zones}"]),
    (3, "my --port {Port}", ["unknown placeholder {Port}"]),
    (4, "my --port {port} --forward {resolver}", ["{resolver} is not filled at stage 4",
                                                  "fill {port}, {zone}, {zones}"]),
], ids=["unknown", "letter-case", "not-at-this-stage"])
def test_bad_placeholder_is_a_usage_error(capsys, monkeypatch, stage, cmd, words):
    status, err = usage_error(capsys, monkeypatch, "--step", str(stage), "--server-cmd", cmd)
    assert status == 2 and all(w in err for w in words), err


def test_part_only_for_a_stage_in_parts(capsys, monkeypatch):
    status, err = usage_error(capsys, monkeypatch, "--step", "3", "--part", "1")
    assert status == 2 and "not graded in parts" in err, err
    status, err = usage_error(capsys, monkeypatch, "--step", "4", "--part", "5")
    assert status == 2 and "parts 1 to 4" in err, err


@pytest.mark.parametrize("cmd,expanded", [
    ("s --port {port}", "s --port 53 --zone /z/a.zone --zone '/z/b c.zone'"),
    ("s --port {port} --zone {zone} -v", "s --port 53 --zone /z/a.zone --zone '/z/b c.zone' -v"),
    ("s -p {port} -z{zone}", "s -p 53 -z/z/a.zone -z'/z/b c.zone'"),
    ("s --port={port} --zone={zone}", "s --port=53 --zone=/z/a.zone --zone='/z/b c.zone'"),
    ("s {zones} --port {port}", "s /z/a.zone '/z/b c.zone' --port 53"),
    ("s --port {port} {zone}", "s --port 53 /z/a.zone '/z/b c.zone'"),
    ("cd d && ./s --port {port} ${HOME} {zones}", "cd d && ./s --port 53 ${HOME} /z/a.zone "
                                                 "'/z/b c.zone'"),
], ids=["appended", "repeated-option", "short-option", "equals", "all", "bare", "shell"])
def test_placeholders_are_filled(cmd, expanded):
    assert g.expand_command(cmd, {"port": 53, "zone": ["/z/a.zone", "/z/b c.zone"]}) == expanded


def test_resolver_placeholder_is_filled_or_appended():
    values = {"port": 53, "zone": ["/z/a.zone"], "resolver": "127.0.0.1:5353"}
    assert g.expand_command("s -p {port} -r {resolver} {zones}", values) == \
        "s -p 53 -r 127.0.0.1:5353 /z/a.zone"
    assert g.expand_command("s --port {port}", values) == \
        "s --port 53 --zone /z/a.zone --resolver 127.0.0.1:5353"
    assert g.check_command("s --port {port} --zone {zone} --resolver {resolver}", 6) is None


def test_zone_placeholder_without_zones_vanishes():
    assert g.expand_command("s --port {port} --zone {zone} -v", {"port": 53}) == "s --port 53  -v"
    assert g.check_command("s --port {port} --zone {zone}", 3) is None


# --------------------------------------------------------------------------------------------------
# expect_no_reply() against header_server.py


@pytest.mark.stage(2, until=2)
def test_a_server_that_drops_what_it_must_passes_the_drop_tests(runs):
    r, _, _ = runs["suite-drops"]
    assert r.returncode == 0 and re.search(r"^\d+ passed", r.stdout, re.M), show(r)


@pytest.mark.stage(2, until=2)
def test_a_reply_to_a_response_is_caught(runs):
    r, _, _ = runs["suite-answers-responses"]
    assert r.returncode == 1, show(r)
    assert "expected no reply to a response (QR=1), got one (12 bytes)" in r.stdout, show(r)
    assert "it came before the reply to a good query sent after it" in r.stdout, show(r)
    assert re.search(r"^\s+got: +2b3c 8100 0000 ", r.stdout, re.M), show(r)
    assert "hint: QR=1 marks a response" in r.stdout, show(r)


@pytest.mark.stage(2, until=2)
def test_a_reply_after_the_next_reply_is_caught(runs):
    """The reply to the response comes after the reply to the query sent behind it, as a server
    with a thread per datagram may send it: the grace after the barrier catches it."""
    r, _, _ = runs["suite-answers-late"]
    assert r.returncode == 1, show(r)
    assert "expected no reply to a response (QR=1), got one (12 bytes)" in r.stdout, show(r)
    assert "after the reply to a good query sent after it: are datagrams answered out of order" \
        in r.stdout, show(r)


@pytest.mark.stage(2, until=2)
def test_a_server_that_dies_on_a_short_datagram_is_reported(runs):
    r, _, _ = runs["suite-exit-on-short"]
    assert r.returncode == 1, show(r)
    assert "the server died after a 5-byte datagram (exit status 3)" in r.stdout, show(r)
    assert "a good query (alive.grader.invalid. A IN, ID 0xBA" in r.stdout, show(r)


# --------------------------------------------------------------------------------------------------
# Mistakes: the first failure names them


@pytest.mark.stage(3, until=3)
@pytest.mark.parametrize("name,stage,cause,words", [
    pytest.param("no-qr", 2, "QR is not set in replies", ["QR: expected 1, got 0", "hint: set QR"],
                 id="forgetting-QR"),
    pytest.param("skip-length", 2, g.CAUSE_REJECTED,
                 ["length 3, then the label \"www\"", "any RCODE but 1 (FORMERR)",
                  "pos += 1 + len"], id="wrong-length-byte"),
    pytest.param("echo-additional", 3, g.CAUSE_OPT_ECHOED,
                 ["ARCOUNT 1 was copied from the query and the 11 bytes of its additional section "
                  "follow the question"], id="echoing-the-OPT-record"),
    pytest.param("long-labels", 3, g.CAUSE_LABEL_TYPE,
                 ["the top two bits of a length byte say what it is"], id="0x40-0xBF-as-a-length"),
])
def test_a_mistake_is_named_by_the_first_failure(runs, name, stage, cause, words):
    """The report of a server with one mistake leads with a failure that names it (its cause)."""
    r, rows, _ = runs[name]
    assert r.returncode == 1 and rows[stage]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert f"(stage {stage})" in text.split("\n", 1)[0], show(r)
    assert f"  cause: {cause}\n" in text, show(r)
    assert all(w in text for w in words), show(r)
    assert "Traceback" not in r.stdout + r.stderr, show(r)


@pytest.mark.stage(3, until=3)
def test_a_rejected_query_is_not_reported_as_a_wrong_count(runs):
    """The FORMERR to a good query is what the first failure says, and the header it shows as
    expected is built from the query (never the bad reply's own RCODE and counts)."""
    r, _, _ = runs["skip-length"]
    text = lead(r.stdout)
    assert "wrong QDCOUNT" not in text and "RCODE=1 FORMERR QD=1" not in text, show(r)
    assert re.search(r"^\s+got: +1234 8101 0000 ", text, re.M), show(r)


# --------------------------------------------------------------------------------------------------
# A reply the grader cannot read: said in one line, never with a Python traceback

# What pytest and Python print of an exception: none of it belongs in a report.
TRACEBACK = re.compile(r"Traceback|During handling of the above exception|direct cause of the "
                       r"following exception|^\s*E {3}|^>\s", re.M)


@pytest.mark.stage(3, until=3)
def test_a_reply_dnspython_cannot_parse_is_said_without_an_exception_chain(runs):
    """question_server.py --cut-last-byte: every reply loses its last byte, and dnspython cannot
    parse it. The check that says so catches dnspython's exception and fails inside the except
    block; the report shows the check's message alone, in full for the first failure and as its
    first line for the other, never Python's "During handling of the above exception" chain
    (conftest.py drops it) nor dnspython's message where the check's belongs."""
    r, rows, _ = runs["cut-last-byte"]
    assert r.returncode == 1 and rows[3]["result"] == "FAIL", show(r)
    lines = lead(r.stdout).rstrip("\n").split("\n")
    assert lines[0].startswith("the failure to look at first: "
                               "test_dnspython_takes_it_as_the_response[step-3-plain]"), show(r)
    assert lines[1] == "  dnspython cannot parse the reply", show(r)
    assert re.fullmatch(r"  +got: +FormError: .+; the reply: 2b4d 8100 0001 [0-9a-f ]+ 0f00",
                        lines[3]), show(r)
    assert re.search(r"^  3 +test_dnspython_takes_it_as_the_response\[step-3-edns\] +dnspython "
                     r"cannot parse the reply$", r.stdout, re.M), show(r)
    assert not TRACEBACK.search(r.stdout + r.stderr), show(r)


@pytest.mark.stage(5, until=5)
def test_a_reply_no_check_can_read_is_one_line(runs):
    """proxy_server.py --type-zero: the answer's records come back with TYPE 0, which dnspython
    reads as records of an unknown type, and test_rdata_names_keep_the_zones_case, reading the NS
    targets of ZONE4.TEST., fails on an exception that no check raised. The report says so in one
    line, what the grader could not read and where (grade.py's failure_text(), conftest.py's
    _crash_text()), then how to see the details: no traceback, pytest's or Python's. (Should that
    test learn to check each record's TYPE first, grade here another reply it does not expect.)"""
    r, rows, _ = runs["type-zero"]
    assert r.returncode == 1 and rows[5]["result"] == "FAIL", show(r)
    lines = lead(r.stdout).rstrip("\n").split("\n")
    assert lines[0].startswith("the failure to look at first: "
                               "test_rdata_names_keep_the_zones_case[step-5] (stage 5)"), show(r)
    assert re.fullmatch(r"  the grader could not read what the server sent: [A-Za-z]+Error: \S.* "
                        r"\(test_05_compression\.py:\d+\)", lines[1]), show(r)
    assert lines[2] == "  (run the test alone, below, for the details)", show(r)
    assert all(line.startswith("  server log") or line.startswith("    ")
               for line in lines[3:]), show(r)
    assert not TRACEBACK.search(r.stdout + r.stderr), show(r)


# --------------------------------------------------------------------------------------------------
# What the RFCs allow passes, and the report says what it saw


@pytest.mark.stage(3, until=3)
def test_copying_cd_passes_and_is_said(runs):
    r, _, _ = runs["copy-cd"]
    assert r.returncode == 0 and "Result: PASS (stage 3)" in r.stdout, show(r)
    assert re.search(r"^\s+2\s+header .*\n\s+CD is copied from the query \(RFC 4035", r.stdout,
                     re.M), show(r)


@pytest.mark.stage(5, until=5)
def test_formerr_for_several_questions_passes_stage_5(runs):
    """RFC 9619: a query of several questions may get FORMERR. The build behind proxy_server.py
    --formerr-multi --copy-cd passes stage 5, and the report says which behaviour it saw."""
    r, _, _ = runs["formerr-multi"]
    assert r.returncode == 0 and "Result: PASS (stage 5)" in r.stdout, show(r)
    assert re.search(r"^\s+5\s+compression .*\n\s+queries of several questions get FORMERR, as "
                     r"RFC 9619 says$", r.stdout, re.M), show(r)
    assert re.search(r"^\s+4\s+answer .*\n(\s+4\.\d.*\n)*\s+CD is copied from the query", r.stdout,
                     re.M), show(r)


@pytest.mark.stage(5, until=5)
def test_answering_several_questions_is_said(runs):
    r, _, _ = runs["build-5-multi"]
    assert r.returncode == 0, show(r)
    assert "queries of several questions get every question answered" in r.stdout, show(r)


# --------------------------------------------------------------------------------------------------
# Stage 6: forwarding


@pytest.mark.stage(6, until=6)
def test_a_right_forwarder_passes_stage_6(runs):
    """forward_server.py, its local zones served by build/step-5, passes the stage-6 tests (but the
    three that measure time, see FORWARD_RIGHT)."""
    r, rows, _ = runs["forward"]
    assert r.returncode == 0 and "Result: PASS (stage 6)" in r.stdout, show(r)
    assert rows[6]["what"] == "forwarding" and rows[6]["passed"] > 20, show(r)


@pytest.mark.stage(6, until=6)
@pytest.mark.parametrize("mistake,cause", [
    ("sequential-ids", "upstream query IDs are predictable (sequential)"),
    ("one-socket", "upstream queries leave from one source port"),
    ("accept-any", "a reply that does not match the upstream query is accepted (with another ID)"),
    ("blocking", "a slow upstream delays other queries: the server waits for it"),
    ("no-ra", "RA is not set in replies (stage 6 on offers recursion)"),
])
def test_a_forwarding_mistake_is_named(runs, mistake, cause):
    r, rows, _ = runs[f"forward-{mistake}"]
    assert r.returncode == 1 and rows[6]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert "(stage 6)" in text.split("\n", 1)[0], show(r)
    assert f"  cause: {cause}\n" in text, show(r)
    assert "hint: " in text and "Traceback" not in r.stdout + r.stderr, show(r)


# --------------------------------------------------------------------------------------------------
# Stage 7: recursion


@pytest.mark.stage(7, until=7)
def test_a_right_resolver_passes_stage_7(runs):
    """resolver_server.py passes the tests of stage 7 and those of stages 2 and 3 that still apply
    (but the three stage-7 tests that measure time, see RESOLVER_RIGHT)."""
    r, rows, _ = runs["resolver"]
    assert r.returncode == 0 and "Result: PASS (stage 7)" in r.stdout, show(r)
    assert rows[7]["what"] == "recursion" and rows[7]["passed"] > 20, show(r)
    assert rows[2]["result"] == rows[3]["result"] == "PASS", show(r)
    assert rows[4]["result"] == rows[5]["result"] == rows[6]["result"] == "n/a", show(r)


@pytest.mark.stage(7, until=7)
@pytest.mark.parametrize("mistake,cause", [
    ("oob-glue", "glue outside the bailiwick of the delegating zone is used"),
    ("rd-upstream", "queries to name servers ask for recursion (RD=1)"),
    ("no-cname-follow", "a CNAME into another zone is not followed"),
    ("first-server-only", "a server that fails ends the resolution: the next server is not asked"),
    ("trust-tc", "a truncated (TC=1) reply is used: it is not asked again over TCP"),
])
def test_a_resolution_mistake_is_named(runs, mistake, cause):
    r, rows, _ = runs[f"resolver-{mistake}"]
    assert r.returncode == 1 and rows[7]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert "(stage 7)" in text.split("\n", 1)[0], show(r)
    assert f"  cause: {cause}\n" in text, show(r)
    assert "hint: " in text and "Traceback" not in r.stdout + r.stderr, show(r)


@pytest.mark.stage(7, until=7)
@pytest.mark.parametrize("args,option", test_07.BAD_OPTIONS)
def test_the_stand_in_resolver_checks_its_options(fake_hierarchy, tmp_path, args, option):
    """The stage-7 command-line test (build only) passes resolver_server.py: its checks hold."""
    prefix = [sys.executable, str(HERE / "resolver_server.py"), "--port", str(g.free_udp_port())]
    test_07.check_bad_option(test_07.bad_option_argv(prefix, args, fake_hierarchy, tmp_path),
                             option, "resolver_server.py")


def test_root_hints_and_ns_port_placeholders():
    values = {"port": 53, "root_hints": "/h/root.hints", "ns_port": "5301"}
    assert g.expand_command("r -p {port} -H {root_hints} -P {ns_port}", values) == \
        "r -p 53 -H /h/root.hints -P 5301"
    assert g.expand_command("r --port {port}", values) == \
        "r --port 53 --root-hints /h/root.hints --ns-port 5301"
    assert g.check_command("r --port {port} --root-hints {root_hints} --ns-port {ns_port}", 7) \
        is None
    assert "{root_hints} is not filled at stage 6" in \
        g.check_command("r --port {port} --root-hints {root_hints}", 6)


def test_stage_9_placeholders():
    """Stage 9 fills what stage 8 does and its zone ({zone}, {zones}); --steps 9 is valid."""
    assert g.LAST_STAGE >= 9 and g.STAGE_NAMES[9] == "edns and tcp"
    cmd = "r --port {port} --root-hints {root_hints} --ns-port {ns_port} --zone {zone}"
    assert g.check_command(cmd, 9) is None
    assert all(g.provided(k, 9) for k in ("zone", "root_hints", "ns_port"))
    assert not g.provided("zone", 7) and not g.provided("zone", 8) and g.provided("zone", 6)
    values = {"port": 53, "root_hints": "/h/root.hints", "ns_port": "5301",
              "zone": ["/z/edns9.test.zone"]}
    assert g.expand_command(cmd, values) == \
        "r --port 53 --root-hints /h/root.hints --ns-port 5301 --zone /z/edns9.test.zone"
    assert g.expand_command("r --port {port}", values) == \
        ("r --port 53 --root-hints /h/root.hints --ns-port 5301 --zone /z/edns9.test.zone")
    assert "(stages 4-6, 9" in g.placeholders_help()


# --------------------------------------------------------------------------------------------------
# Stage 8: cache


@pytest.mark.stage(8, until=8)
def test_a_right_cache_passes_stage_8(runs):
    """resolver_server.py --cache passes the tests of stage 8, and those of stages 2, 3 and 7 that
    still apply (but the three stage-7 tests that measure time, see RESOLVER_RIGHT)."""
    r, rows, _ = runs["cache"]
    assert r.returncode == 0 and "Result: PASS (stage 8)" in r.stdout, show(r)
    assert rows[8]["what"] == "cache" and rows[8]["passed"] >= 12, show(r)
    assert rows[7]["result"] == rows[2]["result"] == rows[3]["result"] == "PASS", show(r)


@pytest.mark.stage(8, until=8)
def test_a_resolver_without_a_cache_fails_stage_8_and_says_so(runs):
    """resolver_server.py without --cache (a right stage-7 resolver) fails stage 8, led by
    "answers are not cached"."""
    r, rows, _ = runs["no-cache-8"]
    assert r.returncode == 1 and rows[8]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert "(stage 8)" in text.split("\n", 1)[0], show(r)
    assert f"  cause: {test_08.CAUSE_NOT_CACHED}\n" in text, show(r)


@pytest.mark.stage(8, until=8)
@pytest.mark.parametrize("mistake,cause", [
    ("ttl-not-decremented", test_08.CAUSE_TTL_NOT_DECREMENTED),
    ("no-negative-cache", test_08.CAUSE_NO_NEGATIVE_CACHE),
])
def test_a_cache_mistake_is_named(runs, mistake, cause):
    r, rows, _ = runs[f"cache-{mistake}"]
    assert r.returncode == 1 and rows[8]["result"] == "FAIL", show(r)
    text = lead(r.stdout)
    assert "(stage 8)" in text.split("\n", 1)[0], show(r)
    assert f"  cause: {cause}\n" in text, show(r)
    assert "hint: " in text and "Traceback" not in r.stdout + r.stderr, show(r)


@pytest.mark.stage(8, until=8)
@pytest.mark.parametrize("value", test_08.BAD_CACHE_SIZES)
def test_the_stand_in_cache_checks_its_size(fake_hierarchy, tmp_path, value):
    """The stage-8 command-line test (build only) passes resolver_server.py --cache."""
    prefix = [sys.executable, str(HERE / "resolver_server.py"), "--cache", "--port",
              str(g.free_udp_port())]
    test_08.check_bad_cache_size(prefix, value, fake_hierarchy, tmp_path,
                                 "resolver_server.py --cache")


# --------------------------------------------------------------------------------------------------
# Stage 4 in parts


@pytest.mark.stage(4, until=4)
def test_fixed_answers_pass_part_1(runs):
    """fixed_server.py answers fixed records from the simple zone files ({zone} after --zone):
    part 4.1 passes, the later parts are not graded."""
    r, rows, parts = runs["fixed-part-1"]
    assert r.returncode == 0 and "Result: PASS (stage 4 up to part 4.1)" in r.stdout, show(r)
    assert rows[4]["result"] == "PASS" and parts["4.1"] == "PASS", show(r)
    assert parts["4.2"] == parts["4.3"] == parts["4.4"] == "-", show(r)
    assert "not graded (up to part 4.1 only)" in r.stdout, show(r)


@pytest.mark.stage(4, until=4)
def test_fixed_answers_fail_the_later_parts_one_line_each(runs):
    """Graded whole ({zones}), the same server passes 4.1 and fails the rest, part by part; the
    first failure shown is of part 4.2, the next one to do."""
    r, rows, parts = runs["fixed"]
    assert r.returncode == 1 and rows[4]["result"] == "FAIL", show(r)
    assert parts == {"4.1": "PASS", "4.2": "FAIL", "4.3": "FAIL", "4.4": "FAIL"}, show(r)
    assert "(stage 4.2)" in lead(r.stdout).split("\n", 1)[0], show(r)
    assert "Result: FAIL (parts 4.2, 4.3, 4.4)" in r.stdout, show(r)
    # The full-syntax zone is too much for its reader: said as such, in one line.
    assert re.search(r"^  cause: the server does not start: \d+ tests \(stage 4.4\)", r.stdout,
                     re.M), show(r)


# --------------------------------------------------------------------------------------------------
# The build


def pytest_generate_tests(metafunc):
    # The build is graded at the highest listed step only: grading re-runs every test of that
    # stage, so once per step would double the suite's time.
    if "graded_step" in metafunc.fixturenames:
        steps = metafunc.config.dns_settings.steps[-1:]
        na = pytest.param(0, marks=pytest.mark.dns_not_applicable)
        metafunc.parametrize("graded_step", steps or [na], ids=[f"step-{s}" for s in steps] or ["n/a"])


@pytest.mark.build_only
@pytest.mark.slow  # every test of the stage again; the conformance run has just passed them anyway
def test_the_build_passes(graded_step, dns_settings):
    r, rows = grade("--step", str(graded_step), "--build-dir", str(dns_settings.build_dir))
    assert r.returncode == 0, show(r)
    assert f"Result: PASS (stage {graded_step})" in r.stdout, show(r)
    assert rows[graded_step]["result"] == "PASS", show(r)
