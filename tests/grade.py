#!/usr/bin/python3
"""grade: runs the conformance tests that apply to one stage and prints a stage-by-stage report.

    tests/grade.py --step N [--build-dir DIR] [--server-cmd 'CMD ... {port} ...']

Grades build/step-N, or any server in any language with --server-cmd ({port} is replaced by the port
to listen on). Tests are grouped by the stage that introduced them; a stage whose tests no longer
apply at stage N (stage 1's echo, once the server speaks DNS) shows as n/a. Exit status 0 when every
test passes, 1 otherwise, 2 for a bad command line.
"""

import argparse
import os
import shlex
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFORMANCE = HERE / "conformance"
sys.path.insert(0, str(CONFORMANCE))

try:
    import pytest

    import dnsgrader as g
except ImportError as e:
    sys.exit(f"grade.py needs pytest and dnspython ({e}). Run it with Debian's /usr/bin/python3 "
             "(apt-get install python3-pytest python3-dnspython), or use `make grade`.")


class Collector:
    """A pytest plugin that keeps each test's outcome, stage and failure text."""

    def __init__(self):
        self.tests = {}  # nodeid -> dict(stage, outcome, text, log); in run order
        self.not_applicable = {}  # stage -> the last stage its deselected tests apply to
        self.collect_errors = []
        self.progress = 0
        self.started = time.monotonic()

    def pytest_deselected(self, items):
        for item in items:
            marker = item.get_closest_marker("stage")
            if marker is not None and item.get_closest_marker("dns_not_applicable"):
                first, last = g.stage_range(marker)
                self.not_applicable[first] = max(last, self.not_applicable.get(first, 0))

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(report)

    def pytest_runtest_logreport(self, report):
        props = dict(report.user_properties)
        t = self.tests.setdefault(report.nodeid, dict(stage=props.get("stage"), outcome="passed",
                                                     text=None, log=None, when=None))
        if report.failed and t["outcome"] != "failed":
            t.update(outcome="failed", text=report.longreprtext, when=report.when)
            for title, content in report.sections:
                if title.startswith("server log"):
                    t["log"] = (title, content)
        elif report.skipped and t["outcome"] == "passed":
            t["outcome"] = "skipped"
        if report.when == "teardown":
            mark = {"passed": ".", "failed": "F", "skipped": "s"}[t["outcome"]]
            self.progress += 1
            sys.stdout.write(mark + ("\n" if self.progress % 72 == 0 else ""))
            sys.stdout.flush()

    def summary_line(self, deselected):
        """pytest's own summary ("2 failed, 25 passed, 3 deselected, 1 error in 3.10s"): a failure in
        a fixture (e.g. a server that would not start) is an error there, a failure here."""
        counts = {}
        for t in self.tests.values():
            key = "error" if t["outcome"] == "failed" and t["when"] != "call" else t["outcome"]
            counts[key] = counts.get(key, 0) + 1
        counts["error"] = counts.get("error", 0) + len(self.collect_errors)
        counts["deselected"] = deselected
        parts = [f"{counts[k]} {k}{'s' if k == 'error' and counts[k] > 1 else ''}"
                 for k in ("failed", "passed", "skipped", "deselected", "error") if counts.get(k)]
        return ", ".join(parts or ["no tests ran"]) + f" in {time.monotonic() - self.started:.2f}s"


class Deselected:
    """Counts every deselected test (not applicable, or the grader's own selftests)."""

    def __init__(self):
        self.count = 0

    def pytest_deselected(self, items):
        self.count += len(items)


def short_name(nodeid):
    return nodeid.split("::")[-1]


def indent(text, n, max_lines=None):
    lines = text.rstrip("\n").split("\n")
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines] + [f"[... {len(lines) - max_lines} more lines]"]
    return "\n".join(" " * n + line for line in lines)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `grade.py | head` ends quietly
    ap = argparse.ArgumentParser(description="Grade one stage of the DNS server workbook.")
    ap.add_argument("--step", type=int, required=True, choices=range(1, g.LAST_STAGE + 1),
                    metavar="N", help=f"the stage to grade, 1 to {g.LAST_STAGE}")
    ap.add_argument("--build-dir", default=None,
                    help="where step-N is (default: build/ at the top of the checkout)")
    ap.add_argument("--server-cmd", default=None,
                    help="grade this command instead; {port} is replaced by the port to listen on")
    args = ap.parse_args()
    if args.server_cmd is not None and "{port}" not in args.server_cmd:
        ap.error("--server-cmd must contain {port}, e.g. 'python3 my.py --port {port}'")

    build_dir = Path(args.build_dir).resolve() if args.build_dir else HERE.parent / "build"
    if args.server_cmd is not None:
        target = f"'{args.server_cmd}'"
    else:
        target = os.path.relpath(build_dir / f"step-{args.step}")
    print(f"Grading stage {args.step} against {target}")

    # --run-slow: a grade never leaves a test out for being slow (only selftests are marked so).
    pytest_args = [str(CONFORMANCE), f"--rootdir={CONFORMANCE}", f"--steps={args.step}",
                   f"--build-dir={build_dir}", "-m", "not selftest", "--run-slow",
                   "-p", "no:cacheprovider", "-p", "no:terminal"]
    if args.server_cmd is not None:
        pytest_args.append(f"--server-cmd={args.server_cmd}")
    collector, deselected = Collector(), Deselected()
    status = pytest.main(pytest_args, plugins=[collector, deselected])
    if collector.progress % 72:
        print()

    if collector.collect_errors:
        for r in collector.collect_errors:
            print(f"error collecting {r.nodeid}:\n{indent(r.longreprtext, 2, 30)}")
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        print("Result: ERROR (the tests could not run; see above)")
        return 2

    by_stage = {}
    for nodeid, t in collector.tests.items():
        if t["stage"] is not None:
            by_stage.setdefault(t["stage"], []).append((nodeid, t))

    print()
    print("stage  what          result  passed  failed")
    failing = []
    for stage in range(1, args.step + 1):
        name = g.STAGE_NAMES[stage]
        tests = by_stage.get(stage, [])
        passed = sum(t["outcome"] == "passed" for _, t in tests)
        failed = sum(t["outcome"] == "failed" for _, t in tests)
        if not tests:
            if stage in collector.not_applicable:
                until = collector.not_applicable[stage]
                why = f"(its tests do not apply from stage {until + 1} on)"
            else:
                why = "(no tests for this stage yet)"
            print(f"  {stage}    {name:<12}  n/a     {why}")
            continue
        result = "FAIL" if failed else "PASS"
        if failed:
            failing.append(stage)
        note = ""
        if stage in collector.not_applicable:
            until = collector.not_applicable[stage]
            note = f"   (its other tests do not apply from stage {until + 1} on)"
        print(f"  {stage}    {name:<12}  {result:<6}  {passed:>6}  {failed:>6}{note}")

    for stage in failing:
        tests = [(n, t) for n, t in by_stage[stage] if t["outcome"] == "failed"]
        nodeid, t = tests[0]
        where = "" if t["when"] == "call" else f" (during {t['when']})"
        print(f"\nfirst failure in stage {stage}: {short_name(nodeid)}{where}")
        print(indent(t["text"], 2, 40))
        if t["log"]:
            title, content = t["log"]
            print(f"  {title}:")
            print(indent(content, 4, 15))
        if len(tests) > 1:
            print(f"  ({len(tests) - 1} more failures in stage {stage})")

    ran_any = bool(collector.tests)
    ok = status == pytest.ExitCode.OK and not failing and ran_any and not collector.collect_errors
    if failing:
        cmd = [sys.executable, "-m", "pytest", os.path.relpath(CONFORMANCE), f"--steps={args.step}"]
        if args.server_cmd is not None:
            cmd.append(f"--server-cmd={args.server_cmd}")
        elif args.build_dir:
            cmd.append(f"--build-dir={os.path.relpath(build_dir)}")
        print(f"\nevery failure in full: {shlex.join(cmd)}")
    if not ran_any:
        print("\nno test ran")
    if ok:
        print(f"\nResult: PASS (stage {args.step})")
    elif failing:
        stages = ", ".join(str(s) for s in failing)
        print(f"\nResult: FAIL (stage{'s' if len(failing) > 1 else ''} {stages})")
    else:
        print(f"\nResult: FAIL (pytest exit status {int(status)})")
    print(f"pytest: {collector.summary_line(deselected.count)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
