#!/usr/bin/python3
"""summary: the figures of `make chaos` (tests/chaos/chaos.mk), one table per attack, from the JSON
lines test_resolver_attacks.py appends to $DNS_ATTACK_REPORT.

    summary.py FIGURES.jsonl [SECONDS]

Standard library only. Exits 1 if the file is missing or empty (no test ran)."""

import json
import sys
from collections import defaultdict


def table(rows, head):
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  " + "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            runs = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print(f"chaos: no figures ({e}): did any test run?", file=sys.stderr)
        return 1
    if not runs:
        print("chaos: no figures: no test ran", file=sys.stderr)
        return 1
    took = f" in {sys.argv[2]} s" if len(sys.argv) > 2 else ""
    print(f"chaos: summary{took}")

    floods = [r for r in runs if r["test"] == "spoof-flood"]
    if floods:
        print("\nspoofing: forged replies from the slow server's own address and port "
              "(none taken: the test passed only if the client got the true records)")
        table([(f"step-{r['step']}", r["attack"], r["sent"], r["flood_ms"], r["answer_ms"],
                "-" if r["counted_ignored"] is None else r["counted_ignored"])
               for r in floods],
              ("step", "attack", "forged", "flood ms", "answer ms", "counted ignored"))

    cases = [r for r in runs if r["test"] == "chaos-case"]
    if cases:
        print("\nchaos cases (--ns-timeout 200 --deadline 2000): ms to the reply / queries "
              "at the fake servers, per ask")
        steps = sorted({r["step"] for r in cases})
        by = defaultdict(dict)
        for r in cases:
            by[r["case"]][r["step"]] = " ".join(f"{ms}/{q}" for ms, q in zip(r["ms"],
                                                                             r["queries"]))
            by[r["case"]]["rcode"] = r["rcode"]
        table([(case, v["rcode"], *[v.get(s, "-") for s in steps]) for case, v in by.items()],
              ("case", "expected", *[f"step-{s}" for s in steps]))

    rounds = [r for r in runs if r["test"] == "chaos-rounds"]
    if rounds:
        print("\nchaos rounds (every case at once, --ns-timeout 600 --deadline 3000; build only): "
              "VmRSS after round 1 and after the last")
        table([(f"step-{r['step']}", r["rounds"], r["questions"], r["seconds"], r["worst_ms"],
                r["worst_queries"], r["rss_kib_first"], r["rss_kib_last"], r["growth_kib"],
                "-" if not r.get("cache_entries") or r["cache_entries"][-1] is None
                else r["cache_entries"][-1])
               for r in rounds],
              ("step", "rounds", "questions", "s", "worst ms", "worst queries", "RSS KiB first",
               "last", "growth", "cache entries"))
        for r in rounds:
            for case, counts in (r.get("over_bound") or {}).items():
                print(f"  step-{r['step']}: {case} went over 100 queries in {len(counts)} rounds "
                      f"(at most {max(counts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
