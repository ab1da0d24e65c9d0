"""The grader's own tests: tests/grade.py run as a learner would, against echo_server.py (a stand-in
learner server that is right at stage 1 and wrong after it) and against the real build; and the
barrier of expect_no_reply(), against header_server.py (a stand-in stage-2 server, right or with
one mistake)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GRADE = HERE.parent / "grade.py"
ECHO = f"{sys.executable} {HERE / 'echo_server.py'}"
HEADER = f"{sys.executable} {HERE / 'header_server.py'}"

pytestmark = pytest.mark.selftest  # not part of grading; not run with --server-cmd

ROW = re.compile(r"^\s+(\d)\s+(\S+(?: \S+)*)\s{2,}(PASS|FAIL|n/a)\b(?:\s+(\d+)\s+(\d+))?", re.M)


def grade(*args):
    r = subprocess.run([sys.executable, str(GRADE), *args], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    rows = {int(m[1]): dict(what=m[2], result=m[3], passed=m[4] and int(m[4]),
                            failed=m[5] and int(m[5])) for m in ROW.finditer(r.stdout)}
    return r, rows


def show(r):
    return f"exit status {r.returncode}\n--- stdout:\n{r.stdout}\n--- stderr:\n{r.stderr}"


def first_failure(stdout, stage):
    """The text of 'first failure in stage N: ...' up to the next blank line."""
    m = re.search(rf"^first failure in stage {stage}: .*?(?=^\S|\Z)", stdout, re.M | re.S)
    return m[0] if m else ""


def test_echo_server_fails_stages_2_and_3_with_clear_messages():
    r, rows = grade("--step", "3", "--server-cmd", f"{ECHO} --port {{port}}")
    assert r.returncode == 1, show(r)
    assert rows[1]["result"] in ("n/a", "PASS"), show(r)
    assert rows[2]["result"] == "FAIL" and rows[2]["failed"] > 0, show(r)
    assert rows[3]["result"] == "FAIL" and rows[3]["failed"] > 0, show(r)
    assert rows[3]["passed"] == 0, show(r)  # an echo has QR=0: no stage-3 test may pass
    for stage in (2, 3):
        text = first_failure(r.stdout, stage)
        assert "QR: expected 1, got 0" in text, show(r)
        assert re.search(r"^\s+expected: [0-9a-f]{4} ", text, re.M), show(r)
        assert re.search(r"^\s+got: +[0-9a-f]{4} ", text, re.M), show(r)
        assert "hint: set QR" in text, show(r)
    assert "Result: FAIL (stages 2, 3)" in r.stdout, show(r)
    assert re.search(r"^pytest: \d+ failed, \d+ passed", r.stdout, re.M), show(r)
    assert "Traceback" not in r.stdout + r.stderr, show(r)


def test_echo_server_passes_stage_1():
    r, rows = grade("--step", "1", "--server-cmd", f"{ECHO} --port {{port}}")
    assert r.returncode == 0, show(r)
    assert set(rows) == {1} and rows[1]["what"] == "udp echo", show(r)
    assert rows[1]["result"] == "PASS" and rows[1]["passed"] > 0 and rows[1]["failed"] == 0, show(r)
    assert "Result: PASS (stage 1)" in r.stdout, show(r)
    assert re.search(r"^pytest: \d+ passed", r.stdout, re.M), show(r)


def test_a_512_byte_buffer_fails_stage_1_and_says_so():
    r, rows = grade("--step", "1", "--server-cmd", f"{ECHO} --buffer 512 --port {{port}}")
    assert r.returncode == 1, show(r)
    assert rows[1]["result"] == "FAIL", show(r)
    text = first_failure(r.stdout, 1)
    assert "got 512" in text and "is the receive buffer 512 bytes?" in text, show(r)


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


def test_bad_server_cmd_is_a_usage_error():
    r, _ = grade("--step", "3", "--server-cmd", "python3 my.py")
    assert r.returncode == 2 and "{port}" in r.stderr, show(r)


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


# --------------------------------------------------------------------------------------------------
# expect_no_reply() sends a good query right behind the datagram that must be dropped and takes
# that query's reply as the sign that the server is done with the datagram: these prove it passes
# a server that drops what it must, and still catches one that answers, in turn or out of order.

DROP_TESTS = ["test_02_header.py::test_datagram_shorter_than_a_header_is_dropped",
              "test_02_header.py::test_response_is_dropped"]


def suite(server_options, *tests):
    """The conformance tests `tests` (node ids) at stage 2, against header_server.py."""
    cmd = f"{HEADER} {server_options} --port {{port}}"
    return subprocess.run([sys.executable, "-m", "pytest", *tests, "--steps", "2",
                           f"--server-cmd={cmd}", "-p", "no:cacheprovider", "-q"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          cwd=HERE)


def test_a_server_that_drops_what_it_must_passes_the_drop_tests():
    r = suite("", *DROP_TESTS)
    assert r.returncode == 0 and re.search(r"^\d+ passed", r.stdout, re.M), show(r)


def test_a_reply_to_a_response_is_caught():
    r = suite("--answer-responses", f"{DROP_TESTS[1]}[step-2-header-only]")
    assert r.returncode == 1, show(r)
    assert "expected no reply to a response (QR=1), got one (12 bytes)" in r.stdout, show(r)
    assert "it came before the reply to a good query sent after it" in r.stdout, show(r)
    assert re.search(r"^\s+got: +2b3c 8100 0000 ", r.stdout, re.M), show(r)
    assert "hint: QR=1 marks a response" in r.stdout, show(r)


def test_a_reply_after_the_next_reply_is_caught():
    """The reply to the response comes after the reply to the query sent behind it, as a server
    with a thread per datagram may send it: the grace after the barrier catches it."""
    r = suite("--answer-responses-late", f"{DROP_TESTS[1]}[step-2-header-only]")
    assert r.returncode == 1, show(r)
    assert "expected no reply to a response (QR=1), got one (12 bytes)" in r.stdout, show(r)
    assert "after the reply to a good query sent after it: are datagrams answered out of order" \
        in r.stdout, show(r)


def test_a_server_that_dies_on_a_short_datagram_is_reported():
    r = suite("--exit-on-short", f"{DROP_TESTS[0]}[step-2-5-bytes]")
    assert r.returncode == 1, show(r)
    assert "the server died after a 5-byte datagram (exit status 3)" in r.stdout, show(r)
    assert "a good query (alive.grader.invalid. A IN, ID 0xBA" in r.stdout, show(r)
