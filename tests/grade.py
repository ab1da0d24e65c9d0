#!/usr/bin/python3
"""grade: runs the conformance tests that apply to one stage and prints a stage-by-stage report.

    tests/grade.py --step N [--part K] [--build-dir DIR] [--server-cmd 'CMD ... {port} ...'] [-k EXPR]

Grades build/step-N, or any server in any language with --server-cmd: the grader fills in {port},
from stage 4 on the zone files its tests serve ({zone}, {zones}), and at stage 6 the ADDRESS:PORT
of the upstream resolver its tests run ({resolver}; see --help). Tests are grouped
by the stage that introduced them; a stage whose tests no longer apply at stage N (stage 1's echo,
once the server speaks DNS) shows as n/a. Stage 4 is graded in parts, one line each; --part K
grades it up to part K.

When tests fail, the report shows one in full, chosen by rank(): the earliest stage (and part) that
fails, and in it a failure whose check diagnosed the mistake behind it (its cause: "QR is not set in
replies") before any failure that only shows a symptom; then one line per cause and one per other
failure. Exit status 0 when every test passes, 1 otherwise, 2 for a bad command line.
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

OTHERS_SHOWN = 15  # one-line failures listed after the first one
# The modules of the workbook's own tests (the grader's, the sandbox's): every test in them is a
# selftest, never graded, so a grade does not even collect them (it starts sooner).
SELFTEST_MODULES = ("test_grading.py", "test_sandbox.py")


class Collector:
    """A pytest plugin that keeps each test's outcome, stage, part, failure text and cause."""

    def __init__(self):
        self.tests = {}  # nodeid -> dict(...); in run order
        self.not_applicable = {}  # stage -> the last stage its deselected tests apply to
        self.later_parts = set()  # (stage, part) left out by --part
        self.left_out = set()  # stages with tests that apply but were left out (by -k, ...)
        self.collect_errors = []
        self.progress = 0
        self.started = time.monotonic()

    def pytest_deselected(self, items):
        for item in items:
            marker = item.get_closest_marker("stage")
            if marker is not None and item.get_closest_marker("dns_not_applicable"):
                first, last = g.stage_range(marker)
                self.not_applicable[first] = max(last, self.not_applicable.get(first, 0))
            if item.get_closest_marker("dns_later_part"):
                self.later_parts.add(g.part_of(item))
            elif marker is not None and not item.get_closest_marker("dns_not_applicable"):
                self.left_out.add(marker.args[0])

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(report)

    def pytest_runtest_logreport(self, report):
        props = report.user_properties
        first = dict(props)
        t = self.tests.setdefault(report.nodeid, dict(
            stage=first.get("stage"), part=first.get("part"), outcome="passed", text=None, log=None,
            when=None, cause=None, crash=None, notes=[], order=len(self.tests)))
        t["notes"] += [v for k, v in props if k == "note"]
        if report.failed and t["outcome"] != "failed":
            t.update(outcome="failed", text=report.longreprtext, when=report.when,
                     cause=first.get("cause"), crash=first.get("crash"))
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
    """Counts every deselected test (not applicable, a later part, or the grader's selftests)."""

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


def where(t):
    """"3" or "4.2": the stage (and part) a test belongs to."""
    return f"{t['stage']}.{t['part']}" if t["part"] is not None else str(t["stage"])


def failure_text(t):
    """What the report shows of a failure: the check's message, or one line for an exception that no
    check raised (never a Python traceback)."""
    if t["crash"]:
        return (f"the grader could not read what the server sent: {t['crash']}\n"
                "(run the test alone, below, for the details)")
    return t["text"] or "(no message)"


def rank(t):
    """The order failures are shown in: by stage and part (a later stage builds on the earlier ones,
    and a learner passes the parts in turn), and within one, a failure whose check named its cause
    before those that only show a symptom; then the order the tests ran in."""
    return (t["stage"] or 0, t["part"] or 0, 0 if t["cause"] else 1, t["order"])


def other_lines(others, nodeids):
    """The failures after the first, ranked: one line per cause ("cause: QR is not set in replies:
    57 tests, stages 2-3, e.g. test_id_copied[step-3-id-1234]"), then one line per failure without
    a cause, at most OTHERS_SHOWN in all."""
    lines, by_cause = [], {}
    for t in others:
        if t["cause"]:
            by_cause.setdefault(t["cause"], []).append(t)
    for cause, tests in by_cause.items():
        stages = sorted({where(t) for t in tests})
        span = stages[0] if len(stages) == 1 else f"{stages[0]} to {stages[-1]}"
        lines.append(f"  cause: {cause}: {len(tests)} test{'s' if len(tests) > 1 else ''} "
                     f"(stage {span}), e.g. {short_name(nodeids[id(tests[0])])}")
    plain = [t for t in others if not t["cause"]]
    for t in plain[:max(OTHERS_SHOWN - len(lines), 3)]:
        lines.append(f"  {where(t):<4} {short_name(nodeids[id(t)])}   "
                     f"{failure_text(t).split(chr(10), 1)[0]}")
    shown = len(lines) - len(by_cause)
    if len(plain) > shown:
        lines.append(f"  ... and {len(plain) - shown} more")
    return lines


def notes_text(tests):
    """One line per behaviour the tests of a stage noted (dnsgrader.NOTE_TEXTS), e.g. "queries of
    several questions get FORMERR, as RFC 9619 says"; both values, with counts, if both were seen."""
    seen = {}
    for _, t in tests:
        for key, value in t["notes"]:
            seen.setdefault(key, {}).setdefault(value, 0)
            seen[key][value] += 1
    lines = []
    for key, values in seen.items():
        texts = g.NOTE_TEXTS.get(key, {})
        if len(values) == 1:
            (value,) = values
            text = texts.get(value, f"{key}: {value}")
            if text:
                lines.append(text)
        else:
            lines.append("; ".join(f"{texts.get(v) or f'{key}: {v}'} ({n} test{'s' if n > 1 else ''})"
                                   for v, n in values.items()))
    return lines


NAME_WIDTH = 33  # "4.3  referrals, CNAME, wildcards"


def row(label, name, result, passed=None, failed=None, note=""):
    """One line of the table: a stage ("1", "udp echo") or a part ("", "4.1  fixed answers")."""
    counts = f"  {passed:>6}  {failed:>6}" if passed is not None else "  "
    return f"  {label:<5}{name:<{NAME_WIDTH}}  {result:<6}{counts}{note}"


def epilog():
    parts = "\n".join(f"  {s}.{k}  {name}" for s, p in g.PARTS.items() for k, name in p.items())
    return (f"placeholders in --server-cmd (filled by the grader):\n{g.placeholders_help()}\n"
            "A value no placeholder takes is appended as the workbook's own option (--zone FILE\n"
            "for each zone file, --resolver ADDRESS:PORT, --root-hints FILE, --ns-port P), so a\n"
            "server that takes the workbook's options needs only {port}. Anything else in braces\n"
            "is an error.\n\n"
            f"parts (--part K grades stage 4 up to part K):\n{parts}\n\n"
            "examples:\n"
            "  tests/grade.py --step 3 --server-cmd 'python3 my.py --port {port}'\n"
            "  tests/grade.py --step 4 --part 1 --server-cmd './my-server -p {port} -z {zone}'\n"
            "  tests/grade.py --step 5 --server-cmd 'java -jar dns.jar {port} {zones}'\n"
            "  tests/grade.py --step 6 --server-cmd 'python3 fwd.py --port {port} --zone {zone} "
            "--resolver {resolver}'\n"
            "  tests/grade.py --step 7 --server-cmd 'python3 res.py --port {port} --root-hints "
            "{root_hints} --ns-port {ns_port}'")


def main():
    ap = argparse.ArgumentParser(description="Grade one stage of the DNS server workbook.",
                                 epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", type=int, required=True, choices=range(1, g.LAST_STAGE + 1),
                    metavar="N", help=f"the stage to grade, 1 to {g.LAST_STAGE}")
    ap.add_argument("--part", type=int, default=None, metavar="K",
                    help="of a stage graded in parts (4), grade parts 1 to K only")
    ap.add_argument("--build-dir", default=None,
                    help="where step-N is (default: build/ at the top of the checkout)")
    ap.add_argument("--server-cmd", default=None,
                    help="grade this command instead; {port} is replaced by the port to listen on "
                         "(other placeholders: below)")
    ap.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                    help="only the tests whose names match EXPR (as pytest -k), e.g. "
                         "'question_echoed'")
    args = ap.parse_args()
    if args.server_cmd is not None:
        problem = g.check_command(args.server_cmd, args.step)
        if problem:
            ap.error(f"--server-cmd: {problem}")
    if args.part is not None:
        parts = g.PARTS.get(args.step)
        if parts is None:
            ap.error(f"--part: stage {args.step} is not graded in parts (stage "
                     f"{', '.join(map(str, g.PARTS))} is)")
        if args.part not in parts:
            ap.error(f"--part: stage {args.step} has parts 1 to {max(parts)}")

    build_dir = Path(args.build_dir).resolve() if args.build_dir else HERE.parent / "build"
    if args.server_cmd is not None:
        target = f"'{args.server_cmd}'"
    else:
        target = os.path.relpath(build_dir / f"step-{args.step}")
    upto = f" up to part {args.step}.{args.part}" if args.part else ""
    only = f", tests matching '{args.keyword}'" if args.keyword else ""
    print(f"Grading stage {args.step}{upto} against {target}{only}")

    # --run-slow: a grade never leaves a test out for being slow (only selftests are marked so).
    pytest_args = [str(CONFORMANCE), f"--rootdir={CONFORMANCE}", f"--steps={args.step}",
                   f"--build-dir={build_dir}", "-m", "not selftest", "--run-slow",
                   "-p", "no:cacheprovider", "-p", "no:terminal",
                   *(f"--ignore={CONFORMANCE / m}" for m in SELFTEST_MODULES)]
    if args.server_cmd is not None:
        pytest_args.append(f"--server-cmd={args.server_cmd}")
    if args.part is not None:
        pytest_args.append(f"--part={args.part}")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    collector, deselected = Collector(), Deselected()
    status = pytest.main(pytest_args, plugins=[collector, deselected])
    if collector.progress % 72:
        print()

    for r in collector.collect_errors:
        last = [line for line in r.longreprtext.strip().split("\n") if line.strip()][-1:]
        print(f"error collecting {r.nodeid}: {last[0].strip() if last else '?'}")
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        print("Result: ERROR (the tests could not run; see above)")
        return 2

    by_stage = {}
    for nodeid, t in collector.tests.items():
        if t["stage"] is not None:
            by_stage.setdefault(t["stage"], []).append((nodeid, t))

    print()
    print(f"stage  {'what':<{NAME_WIDTH}}  result  passed  failed")
    failing = []  # "2", "4.2": what failed, for the result line
    for stage in range(1, args.step + 1):
        name = g.STAGE_NAMES[stage]
        tests = by_stage.get(stage, [])
        passed = sum(t["outcome"] == "passed" for _, t in tests)
        failed = sum(t["outcome"] == "failed" for _, t in tests)
        if not tests:
            if args.keyword and stage in collector.left_out:
                why = f"(none of its tests matches -k '{args.keyword}')"
            elif stage in collector.not_applicable:
                until = collector.not_applicable[stage]
                why = f"(its tests do not apply from stage {until + 1} on)"
            else:
                why = "(no tests for this stage yet)"
            print(row(str(stage), name, "n/a", note=why))
            continue
        note = ""
        if stage in collector.not_applicable:
            until = collector.not_applicable[stage]
            note = f"   (its other tests do not apply from stage {until + 1} on)"
        print(row(str(stage), name, "FAIL" if failed else "PASS", passed, failed, note))
        if stage in g.PARTS:
            for k, part_name in g.PARTS[stage].items():
                in_part = [t for _, t in tests if t["part"] == k]
                label = f"{stage}.{k}"
                if (stage, k) in collector.later_parts or (args.part and k > args.part):
                    print(row("", f"{label}  {part_name}", "-",
                              note=f"not graded (up to part {stage}.{args.part} only)"))
                    continue
                if not in_part:
                    print(row("", f"{label}  {part_name}", "n/a", note="(no test selected)"))
                    continue
                p_failed = sum(t["outcome"] == "failed" for t in in_part)
                p_passed = sum(t["outcome"] == "passed" for t in in_part)
                print(row("", f"{label}  {part_name}", "FAIL" if p_failed else "PASS", p_passed,
                          p_failed))
                if p_failed:
                    failing.append(label)
        elif failed:
            failing.append(str(stage))
        for line in notes_text(tests):
            print(f"       {line}")

    failures = sorted((t for t in collector.tests.values() if t["outcome"] == "failed"), key=rank)
    nodeids = {id(t): n for n, t in collector.tests.items()}
    if failures:
        first = failures[0]
        during = "" if first["when"] == "call" else f", during {first['when']}"
        print(f"\nthe failure to look at first: {short_name(nodeids[id(first)])} "
              f"(stage {where(first)}{during})")
        if first["cause"]:
            print(f"  cause: {first['cause']}")
        print(indent(failure_text(first), 2, 45))
        if first["log"]:
            title, content = first["log"]
            print(f"  {title}:")
            print(indent(content, 4, 15))
        others = failures[1:]
        if others:
            print(f"\nthe other {len(others)} failure{'s' if len(others) > 1 else ''}:")
            for line in other_lines(others, nodeids):
                print(line if len(line) <= 150 else line[:147] + "...")

    ran_any = bool(collector.tests)
    ok = (status == pytest.ExitCode.OK and not failures and ran_any
          and not collector.collect_errors)
    if failures:
        cmd = [sys.executable, "-m", "pytest", os.path.relpath(CONFORMANCE), f"--steps={args.step}"]
        if args.part is not None:
            cmd.append(f"--part={args.part}")
        if args.server_cmd is not None:
            cmd.append(f"--server-cmd={args.server_cmd}")
        elif args.build_dir:
            cmd.append(f"--build-dir={os.path.relpath(build_dir)}")
        if args.keyword:
            cmd += ["-k", args.keyword]
        print(f"\nevery failure in full: {shlex.join(cmd)}")
    if not ran_any:
        print("\nno test ran")
    if ok:
        print(f"\nResult: PASS (stage {args.step}{upto})")
    elif failing:
        stages = [s for s in failing if "." not in s]
        parts = [s for s in failing if "." in s]
        text = []
        if stages:
            text.append(f"stage{'s' if len(stages) > 1 else ''} {', '.join(stages)}")
        if parts:
            text.append(f"part{'s' if len(parts) > 1 else ''} {', '.join(parts)}")
        print(f"\nResult: FAIL ({'; '.join(text)})")
    else:
        print(f"\nResult: FAIL (pytest exit status {int(status)})")
    print(f"pytest: {collector.summary_line(deselected.count)}")
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `grade.py | head` ends quietly
    sys.exit(main())
