#!/usr/bin/python3
"""check-layout: checks the copy-on-change layout of steps/ (run by `make check-layout` and `make test`).

Step N is built from common/ plus, for each file name, the copy in the highest-numbered of
steps/01..N that has it (the Makefile's `overlay`). So that `make diff-step-N` is exactly the
chapter's code, and no build quietly uses the wrong copy of a file, this checks:

  1. the step directories are numbered 01, 02, ... without gaps, each holds a main.c, and holds
     only .c and .h files;
  2. no step file is identical to the file it overrides (a copy that changes nothing);
  3. every header of a step directory is included by some file of a step that uses it;
  4. no file includes a header from its own directory while a newer copy of that header is in
     the step being built: C looks in the including file's own directory first, so the older copy
     would win silently. The fix is to copy the including file into the newer step too;
  5. every tests/unit/NN-name/ directory belongs to a step directory of the same name.

Prints one line per problem and exits 1, or prints a summary and exits 0.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def step_dirs():
    return sorted(p for p in (ROOT / "steps").iterdir() if p.is_dir() and re.match(r"\d\d-", p.name))


def overlay(layers):
    """File name -> path of its newest copy among `layers` (oldest first)."""
    files = {}
    for layer in layers:
        for f in sorted(layer.iterdir()):
            if f.is_file():
                files[f.name] = f
    return files


def rel(path):
    return str(path.relative_to(ROOT))


def main():
    problems = []
    steps = step_dirs()
    common = ROOT / "common"

    # 1. Numbering and contents.
    for i, d in enumerate(steps, start=1):
        if int(d.name[:2]) != i:
            problems.append(f"{rel(d)}: expected step {i:02d} here: steps are numbered without gaps")
        if not (d / "main.c").is_file():
            problems.append(f"{rel(d)}: no main.c: every step directory has its own")
        for f in sorted(d.iterdir()):
            if f.suffix not in (".c", ".h"):
                problems.append(f"{rel(f)}: not a .c or .h file: no build uses it")

    used_headers = set()
    for n in range(1, len(steps) + 1):
        layers = [common] + steps[:n]
        files = overlay(layers)
        older = overlay(layers[:-1])
        newest_dir = steps[n - 1]

        # 2. A copy that changes nothing.
        for f in sorted(newest_dir.iterdir()):
            base = older.get(f.name)
            if base is not None and base.read_bytes() == f.read_bytes():
                problems.append(f"{rel(f)}: identical to {rel(base)}: delete it (step {n} "
                                f"uses the older copy anyway)")

        # 3 and 4. What each file of step N's build includes, and from where.
        for name, path in sorted(files.items()):
            for header in INCLUDE.findall(path.read_text(errors="replace")):
                own = path.parent / header
                chosen = own if own.is_file() else files.get(header)
                if chosen is not None:
                    used_headers.add(chosen)
                if own.is_file() and files.get(header) != own:
                    problems.append(
                        f"{rel(path)} includes \"{header}\" from its own directory, but step {n} "
                        f"has a newer {rel(files[header])}: copy {name} into "
                        f"{rel(files[header].parent)} too")

    for d in steps:
        for h in sorted(d.glob("*.h")):
            if h not in used_headers:
                problems.append(f"{rel(h)}: no file of any step includes it")

    # 5. Unit tests of step files live beside a step of the same name.
    unit = ROOT / "tests" / "unit"
    names = {d.name for d in steps}
    for d in sorted(p for p in unit.iterdir() if p.is_dir()):
        if d.name not in names:
            problems.append(f"{rel(d)}: no steps/{d.name}/ for these unit tests to test")

    for p in problems:
        print(f"check-layout: {p}")
    if problems:
        print(f"check-layout: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        return 1
    counts = ", ".join(f"{d.name[:2].lstrip('0')}: {len(list(d.iterdir()))}" for d in steps)
    print(f"check-layout: ok ({len(steps)} steps; files per step directory: {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
