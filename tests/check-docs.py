#!/usr/bin/python3
"""check-docs: every printed output the chapters mark as checked is what the programs print now.

    tests/check-docs.py [--build-dir DIR] [-v] [--list] [FILE.md ...]     (default: docs/*.md)

`make check-docs` runs it (CI too, after `make test`). It finds the fenced blocks of each chapter
that follow a marker, runs what they show against the real programs, and prints a unified diff
for each block whose printed text differs from what came out. Exit status 0 when every checked
block matches (or was skipped, with a line saying why), 1 otherwise, 2 for a malformed marker.
Python 3 standard library only. `--list` lists the checked blocks; `-v` prints each block's real
output, normalised, to see what a new block would have to print.

THE MARKER. An HTML comment on the line right before a fenced block (a rendered page does not
show it):

    <!-- check: server=3 args='--trace' compare=trace vary=id
    printf '\\x12\\x34...' | python3 send.py
    -->
    ```
    >>> received 18 bytes from 127.0.0.1:51713
    ...
    ```

The first line holds the options (split like a shell line); the lines after it, up to `-->`, are
hidden commands, run before the block's own. `<!-- check -->` alone checks a block with no
server. In the block, a line starting with `$ ` is a command, continued on the next lines while
bash says it is incomplete (an open quote, a trailing `|` or `\\`, an open brace); every other
line is output. A command that only sets a shell variable (`Q='\\x12...'`) holds for the block's
later commands, as it would in one terminal. What is compared is the block as a whole: the
commands as printed, each followed by its output (standard output and standard error together,
in order), unless compare= says otherwise; a block without a `$ ` line is compared with what its
hidden commands printed. Options:

  server=N        before the block, start build/step-N on the checker's port as `make step-N`
                  would: steps 4 and 5 with the Makefile's default --zone options, step 6 through
                  its STEP_LAUNCH_6, tests/with-upstream.sh, which first starts the upstream
                  (build/step-5 serving the example zones) on the port after the checker's (2054
                  in the text), step 7 through its STEP_LAUNCH_7, tests/with-sandbox.sh, which
                  first starts the checker's own sandbox internet if it is not running (see
                  below); wait until it logs "listening on", and stop it, upstream and all
                  (SIGTERM to its process group), after the block (the sandbox runs on)
  args='...'      more arguments for that server (e.g. '--trace' or '--zone /tmp/x.zone')
  compare=out     the default: the block's commands and their output
  compare=trace   the server's standard output (what --trace prints) after the commands
  compare=log     the server's standard error (its log) after the commands
  start           the block's first command that starts a server itself (`make step-N ...` or
                  `build/step-N ...`) runs in the background, after the commands before it; once
                  it logs "listening on", the hidden commands and the commands after it run, and
                  its output is what it printed by the end of the block, when it is stopped
  excerpt         the block shows some of the lines: each printed line must come out, in the
                  printed order, but lines left out are not errors (blank lines are ignored)
  cat-creates     each `$ cat PATH` in the block first writes PATH from the lines printed under
                  it, so a block can show a file and use it
  save=PATH       the block is a file the reader saves (send.py): it is written, not run, and
                  before any block runs (a later chapter uses the sender an earlier one saved)
  quote=FILE      the block quotes source code: cut at its `...` lines, each piece must be a run
                  of consecutive lines of FILE (a path from the repository root), in order, the
                  same but for an indentation the quote may leave out
  vary=LIST       what this block's output may vary in, comma-separated, from: id (the DNS ID in
                  --trace dumps and summaries, for queries dig makes), cookie (the bytes of dig's
                  COOKIE option in a trace), time (durations: `real 0m0.128s`, "0.565 seconds"),
                  counts (how many tests ran, which changes with every test added: in a `make
                  grade` report, the progress lines after "Grading stage ..." (one line, however
                  many the dots take), the passed column of each stage and part (and the failed
                  column of a FAIL line; a PASS line's 0 stays), "the other N failures", a cause
                  line's "N tests", "... and N more", and the whole `pytest:` summary line, its
                  time included; in a CUnit run summary, the Total, Ran and Passed columns)
  mask=REGEX      (repeatable) every match of REGEX, in the printed and in the real text, becomes
                  <varies>: for counts that cannot be the same twice (datagrams in a second)
  before='CMD'    (repeatable) a command run before the server starts (it writes a zone file the
                  server reads), where the hidden commands run once it listens; a marker line of
                  its own may start with before=
  env=NAME=VALUE  (repeatable) an environment variable for the block's commands, for a shell
                  variable the prose defines (H='\x12\x34...' in chapter 3)
  needs=TOOL      (repeatable) skip the block, with a line saying so, when TOOL is not on PATH
                  (kdig, drill); needs=root skips it unless the checker may open a raw socket
                  (root, with CAP_NET_RAW)
  timeout=S       seconds each command may take (default 30)

Everything a checked block runs is the printed command itself, rewritten only so that it runs
beside anything else on the machine:

  - 2053, the workbook's port, becomes a free 127.0.0.1 port the checker picked, and 2054 (a
    second server's) the port after it, in commands, hidden commands and saved files;
    `build/step-N` run without --port and `make step-N` get `--port` the first. Every command
    and server runs with UPSTREAM_PORT set to the second port (so the upstream `make step-6`
    starts is on it too) and without RESOLVER (so it starts one). Servers listen
    on 127.0.0.1 only.
  - the sandbox internet of step 7 (`make sandbox`, tests/sandbox.sh) is the checker's own, never
    the reader's: 5300, its port in the text, becomes a third free port (free on every address
    of zones/sandbox/servers), build/sandbox (its pid file and logs) a temporary directory, and
    every command and server runs with SANDBOX_PORT and SANDBOX_DIR set to those (so the sandbox
    `make step-7` starts is the checker's) and without ROOT_HINTS, NS_PORT, SANDBOX_ARGS and
    SANDBOX_BINARY; `make sandbox` and `make sandbox-stop` become the tests/sandbox.sh start and
    stop they run, with that port and directory. It starts when a block starts it (`make
    sandbox`, or a step-7 server), runs on from block to block as the reader's would, and is
    stopped at the end.
  - /tmp/ becomes a temporary directory of the checker's, one per run, shared by the blocks in
    the order the chapters print them (a file one block writes, a later one reads; chapter 5
    serves chapter 4's /tmp/big.test.zone) and removed at the end; a file saved with save=NAME
    is written there, and NAME in commands means that copy. (Checking one chapter alone, a file
    an earlier chapter's block writes is not there.)
  - build/ becomes --build-dir when that is not build.
  - make's own variables (MAKEFLAGS, MAKELEVEL, ...) are taken out of the environment, so that a
    `make step-N` in a block runs as the reader's would, not as a sub-make.

Commands run with bash, from the repository root. In the real output those rewrites are undone
(the port reads 2053 again, the directory /tmp). Then both texts, printed and real, go through
the same normalisations, and nothing else is ignored:

  - tabs expanded, trailing spaces and trailing blank lines dropped;
  - a client's port, 127.0.0.1:N for any N but 2053 and 2054, becomes 127.0.0.1:<port>;
  - what dig, kdig and drill make up or measure: `id: N`, `Query time: N msec`, the `WHEN:`
    date, the hex of `COOKIE:`, dig's version in its `; <<>> DiG ... <<>>` line, kdig's
    `;; Time` date and its `(UDP) in N ms`;
  - the Makefile line in make's `make: *** [Makefile:N: grade] Error 1`, which moves whenever
    the Makefile is edited above that rule;
  - what vary= and mask= name for the block.

A printed line `...` stands for any number of lines (none included); a printed line that ends in
`...` stands for any line that begins with what comes before the `...`.
"""

import argparse
import atexit
import difflib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = "2053"  # the port the chapters print
SANDBOX_PORT = "5300"  # the sandbox internet's port the chapters print (step 7)
LISTENING = re.compile(r"listening on \S+/udp")

# Every process the checker started, by process group, so none outlives it.
STARTED = []


def stop(proc, timeout=5):
    """SIGTERM to the process's group (it runs in a session of its own), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    # Whatever the group left behind (a server a command put in the background).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all():
    for p in list(STARTED):
        stop(p, timeout=1)


def free_for_tcp(address, port):
    """Whether a server could listen on `address`:`port` over TCP (step 9 does, beside UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((address, port))
        except OSError:
            return False
    return True


def free_ports():
    """Two consecutive ports on 127.0.0.1 that nothing is bound to now (UDP and TCP), for 2053
    and 2054."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                if free_for_tcp("127.0.0.1", port) and free_for_tcp("127.0.0.1", port + 1):
                    return port
    raise RuntimeError("no two free consecutive ports on 127.0.0.1")


def sandbox_addresses():
    """The addresses of the sandbox internet's name servers (zones/sandbox/servers)."""
    try:
        with open(os.path.join(ROOT, "zones", "sandbox", "servers"), encoding="utf-8") as f:
            lines = [line.split("#", 1)[0].split() for line in f]
    except OSError:
        return []
    return [words[0] for words in lines if words]


def free_sandbox_port(avoid):
    """A UDP port nothing is bound to on any address of the sandbox (nor on 127.0.0.1), and not
    one of `avoid`: the checker's sandbox listens there, beside any the reader runs on 5300."""
    addresses = ["127.0.0.1"] + sandbox_addresses()
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
        if str(port) in avoid or port < 1024:
            continue
        ok = True
        for address in addresses:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    b.bind((address, port))
                except OSError:
                    ok = False
                    break
            if not free_for_tcp(address, port):  # the sandbox's servers listen on TCP too
                ok = False
                break
        if ok:
            return port
    raise RuntimeError("no UDP port free on every address of the sandbox")


class MarkerError(Exception):
    pass


class Block:
    """One checked block: where it is, its options, hidden commands and printed lines."""

    def __init__(self, path, line, options, hidden, lines):
        self.path, self.line, self.hidden, self.lines = path, line, hidden, lines
        self.server = None
        self.args = ""
        self.compare = "out"
        self.start = self.excerpt = self.cat_creates = False
        self.save = None
        self.quote = None
        self.vary = set()
        self.masks = []
        self.needs = []
        self.env = []
        self.before = []
        self.timeout = 30.0
        try:
            words = shlex.split(options)
        except ValueError as e:
            raise MarkerError(f"{path}:{line}: marker: {e}")
        for w in words:
            key, _, value = w.partition("=")
            if key == "server" and value.isdigit():
                self.server = int(value)
            elif key == "args":
                self.args = value
            elif key == "compare" and value in ("out", "trace", "log"):
                self.compare = value
            elif key == "start" and not value:
                self.start = True
            elif key == "excerpt" and not value:
                self.excerpt = True
            elif key == "cat-creates" and not value:
                self.cat_creates = True
            elif key == "save" and value:
                self.save = value
            elif key == "quote" and value:
                self.quote = value
            elif key == "vary" and set(value.split(",")) <= {"id", "cookie", "time", "counts"}:
                self.vary |= set(value.split(","))
            elif key == "mask" and value:
                try:
                    self.masks.append(re.compile(value))
                except re.error as e:
                    raise MarkerError(f"{path}:{line}: marker: bad mask {value!r}: {e}")
            elif key == "before" and value:
                self.before.append(value)
            elif key == "env" and "=" in value:
                self.env.append(value.split("=", 1))
            elif key == "needs" and value:
                self.needs.append(value)
            elif key == "timeout":
                self.timeout = float(value)
            else:
                raise MarkerError(f"{path}:{line}: marker: unknown option {w!r}")
        if self.compare != "out" and self.server is None and not self.start:
            raise MarkerError(f"{path}:{line}: marker: compare={self.compare} needs a server")

    def where(self):
        return f"{os.path.relpath(self.path, ROOT)}:{self.line}"


def parse(path):
    """The checked blocks of a Markdown file, in order."""
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    blocks, i = [], 0
    while i < len(text):
        m = re.match(r"\s*<!--\s*check\b:?(.*)$", text[i])
        if not m:
            i += 1
            continue
        start = i + 1
        first = m.group(1)
        hidden = []
        if "-->" in first:
            first = first[: first.index("-->")]
        else:
            i += 1
            while i < len(text) and "-->" not in text[i]:
                hidden.append(text[i])
                i += 1
            if i == len(text):
                raise MarkerError(f"{path}:{start}: marker never closed with -->")
            if text[i].strip() != "-->":
                hidden.append(text[i][: text[i].index("-->")])
        i += 1
        if i >= len(text) or not re.match(r"\s*```", text[i]):
            raise MarkerError(f"{path}:{start}: a check marker must be right before a fenced block")
        fence = text[i].strip()[:3]
        indent = len(text[i]) - len(text[i].lstrip())
        body = []
        i += 1
        while i < len(text) and not text[i].strip().startswith(fence):
            body.append(text[i][indent:] if text[i][:indent].strip() == "" else text[i])
            i += 1
        if i == len(text):
            raise MarkerError(f"{path}:{start}: fenced block never closed")
        # A marker line `before=...` is an option too: it would not fit on the first line.
        first += "".join(" " + h for h in hidden if h.startswith("before="))
        hidden = [h for h in hidden if h.strip() and not h.startswith("before=")]
        blocks.append(Block(path, start, first, hidden, body))
        i += 1
    return blocks


def complete(command):
    """Whether bash reads `command` as complete (no open quote, brace or pipe)."""
    if command.rstrip().endswith(("\\", "|", "&&", "||")):
        return False
    r = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    return "unexpected end of file" not in r.stderr and "unexpected EOF" not in r.stderr


def split_commands(lines, prompt=True):
    """[(command text as printed, [its printed output lines])]. With prompt=False every line
    is a command (the hidden commands of a marker)."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if prompt and not line.startswith("$ "):
            if out:
                out[-1][1].append(line)
            else:
                out.append((None, [line]))
            i += 1
            continue
        cmd = [line[2:] if prompt else line]
        i += 1
        while not complete("\n".join(cmd)) and i < len(lines):
            cmd.append(lines[i])
            i += 1
        out.append(("\n".join(cmd), []))
    return out


class Session:
    """What the blocks share, in the order the chapters print them: the port, the temporary
    directory that stands for /tmp/, and the files saved with save= (every chapter's, written
    first, since a later chapter uses the sender an earlier one saved)."""

    def __init__(self, build_dir):
        self.port = str(free_ports())
        self.port2 = str(int(self.port) + 1)
        self.tmp = tempfile.mkdtemp(prefix="check-docs-")
        self.build_dir = build_dir
        self.saved = []  # names of files saved with save=
        # The sandbox internet of step 7: the checker's own, on a port and in a directory of its
        # own, started by the first block that needs it, stopped by close().
        self.sandbox_port = str(free_sandbox_port({self.port, self.port2}))
        self.sandbox_dir = tempfile.mkdtemp(prefix="check-docs-sandbox-")

    def close(self):
        """Stops the checker's sandbox (if a block started it) and removes the directories."""
        if os.path.exists(os.path.join(self.sandbox_dir, "pids")):
            subprocess.run([os.path.join(ROOT, "tests", "sandbox.sh"), "stop"], cwd=ROOT,
                           env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        shutil.rmtree(self.sandbox_dir, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self):
        """The environment of every command and server: `make step-6` and tests/with-upstream.sh
        start their upstream on the second port (2054 in the text), never on the real 2054, and
        a RESOLVER the reader's environment may hold does not replace it; `make step-7` and
        tests/with-sandbox.sh use (and start, if need be) the checker's sandbox, never the
        reader's, and no ROOT_HINTS sends step 7 elsewhere."""
        env = dict(os.environ)
        env["UPSTREAM_PORT"] = self.port2
        env["SANDBOX_PORT"] = self.sandbox_port
        env["SANDBOX_DIR"] = self.sandbox_dir
        for name in ("RESOLVER", "ROOT_HINTS", "NS_PORT", "SANDBOX_ARGS", "SANDBOX_BINARY"):
            env.pop(name, None)
        return env

    def rewrite(self, text):
        """A command (or a saved file) as the checker runs it."""
        text = re.sub(r"(?<![\d])2053(?![\d])", self.port, text)
        text = re.sub(r"(?<![\d])2054(?![\d])", self.port2, text)
        text = re.sub(r"(?<![\d])" + SANDBOX_PORT + r"(?![\d])", self.sandbox_port, text)
        text = text.replace("/tmp/", self.tmp + "/")
        for name in self.saved:
            text = re.sub(r"(?<![\w/.-])" + re.escape(name) + r"(?![\w/.-])",
                          os.path.join(self.tmp, name), text)
        if self.build_dir != "build":
            text = re.sub(r"(?<![\w/.-])build/step-", self.build_dir + "/step-", text)
        # A server started without --port listens on the checker's port.
        text = re.sub(r"(?<![\w/.-])((?:build|" + re.escape(self.build_dir) + r")/step-\d+)(?![\w-])"
                      r"(?![^;&|\n]*--port)", r"\1 --port " + self.port, text)
        text = re.sub(r"\bmake( -s)? step-(\d+)( ARGS=('[^']*'|\"[^\"]*\"|\S+))?",
                      lambda m: self.make_step(m), text)
        # Last, as these name the checker's directories, which the rewrites above must not touch:
        # `make sandbox` and `make sandbox-stop` pass SANDBOX_DIR=$(BUILD)/sandbox themselves, so
        # they become what they run, with the checker's directory and port.
        text = re.sub(r"\bmake( -s)? sandbox-stop\b",
                      f"SANDBOX_DIR={self.sandbox_dir} tests/sandbox.sh stop", text)
        text = re.sub(r"\bmake( -s)? sandbox(?![\w-])",
                      f"SANDBOX_BINARY={self.build_dir}/step-9 SANDBOX_DIR={self.sandbox_dir} "
                      f"SANDBOX_PORT={self.sandbox_port} tests/sandbox.sh start", text)
        text = re.sub(r"(?<![\w/.-])build/sandbox(?![\w-])", self.sandbox_dir, text)
        return text

    def make_step(self, m):
        args = shlex.split(m.group(4))[0] if m.group(4) else ""
        if "--port" not in args:
            args = f"--port {self.port} {args}".strip()
        build = "" if self.build_dir == "build" else f" BUILD={shlex.quote(self.build_dir)}"
        return f"make{m.group(1) or ''} step-{m.group(2)}{build} ARGS={shlex.quote(args)}"

    def unwrite(self, text):
        """Real output with the rewrites undone."""
        text = text.replace(self.sandbox_dir, "build/sandbox")
        text = text.replace(self.tmp + "/", "/tmp/").replace(self.tmp, "/tmp")
        text = re.sub(r"(?<![\d])" + self.port + r"(?![\d])", PORT, text)
        text = re.sub(r"(?<![\d])" + self.port2 + r"(?![\d])", "2054", text)
        text = re.sub(r"(?<![\d])" + self.sandbox_port + r"(?![\d])", SANDBOX_PORT, text)
        if self.build_dir != "build":
            text = text.replace(self.build_dir + "/step-", "build/step-")
        return text


def normalise(lines, block):
    """The normalisations both the printed and the real text go through."""
    out = []
    for line in lines:
        line = line.expandtabs(8).rstrip()
        line = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: m.group(0) if m.group(1) in (PORT, "2054")
                      else "127.0.0.1:<port>", line)
        line = re.sub(r"\bid: \d+", "id: <id>", line)
        line = re.sub(r"Query time: \d+ msec", "Query time: <n> msec", line)
        line = re.sub(r"^;; WHEN: .*", ";; WHEN: <date>", line)
        line = re.sub(r"COOKIE: [0-9a-f]+", "COOKIE: <cookie>", line)
        line = re.sub(r"^; <<>> DiG \S+ <<>>", "; <<>> DiG <version> <<>>", line)
        line = re.sub(r"^;; Time \d{4}-.*", ";; Time <date>", line)  # kdig
        line = re.sub(r"\(UDP\) in [\d.]+ ms$", "(UDP) in <n> ms", line)  # kdig
        line = re.sub(r"^(make(?:\[\d+\])?: \*\*\* \[Makefile):\d+:", r"\1:<line>:", line)
        if "id" in block.vary:
            line = re.sub(r"^([0-9a-f]{4} +)[0-9a-f]{2} [0-9a-f]{2}( +ID +)\d+ \(0x[0-9a-f]{4}\)",
                          r"\1<id>\2<id>", line)
            line = re.sub(r"\b(query|reply) id \d+", r"\1 id <id>", line)
        if "cookie" in block.vary:
            line = re.sub(r"^([0-9a-f]{4} +)([0-9a-f]{2} ?)+( +OPT-DATA)", r"\1<cookie>\3", line)
        if "time" in block.vary:
            line = re.sub(r"\b\d+m\d+\.\d+s\b", "<time>", line)
            line = re.sub(r"\b\d+\.\d+ seconds\b", "<time> seconds", line)
        if "counts" in block.vary:
            # A grade report's progress dots, 72 to a line: one line, however many.
            if re.fullmatch(r"[.sFE]+", line) and out and (out[-1] == "<progress>" or
                                                          out[-1].startswith("Grading stage ")):
                if out[-1] != "<progress>":
                    out.append("<progress>")
                continue
            line = re.sub(r"\b(PASS|FAIL) +\d+ +(\d+)", lambda m: f"{m.group(1)} <n> " + (
                m.group(2) if m.group(1) == "PASS" else "<n>"), line)
            line = re.sub(r"^the other \d+ failures?:$", "the other <n> failures:", line)
            line = re.sub(r"^(  cause: .*): \d+ tests? \(stage ", r"\1: <n> tests (stage ", line)
            line = re.sub(r"^  \.\.\. and \d+ more$", "  ... and <n> more", line)
            line = re.sub(r"^pytest: .*", "pytest: <counts>", line)
            line = re.sub(r"^ *(suites|tests|asserts) +\d+ +\d+ +(?:\d+|n/a) +(\S+) +(\S+)$",
                          r"\1 <n> <n> <n> \2 \3", line)
        for m in block.masks:
            line = m.sub("<varies>", line)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


def line_matches(want, got):
    if want.endswith("...") and want != "...":
        return got.startswith(want[:-3].rstrip())
    return want == got


def matches(want, got, excerpt):
    """Whether the real lines `got` match the printed lines `want`."""
    if excerpt:
        j = 0
        for w in want:
            if w == "" or w == "...":
                continue
            while j < len(got) and not line_matches(w, got[j]):
                j += 1
            if j == len(got):
                return False
            j += 1
        return True
    # Exact, with "..." lines matching any run of lines: a small backtracking match.
    memo = {}

    def m(i, j):
        key = (i, j)
        if key not in memo:
            if i == len(want):
                memo[key] = j == len(got)
            elif want[i] == "...":
                memo[key] = any(m(i + 1, k) for k in range(j, len(got) + 1))
            else:
                memo[key] = j < len(got) and line_matches(want[i], got[j]) and m(i + 1, j + 1)
        return memo[key]

    return m(0, 0)


def project(want, got):
    """The real lines with the runs that a printed `...` stands for folded into `...` again, so
    that a diff shows only what really differs."""
    out, i, j = [], 0, 0

    def find(line, start):
        return next((k for k in range(start, len(got)) if line_matches(line, got[k])), None)

    while j < len(got):
        if i < len(want) and want[i] == "...":
            k = len(got) if i + 1 == len(want) else find(want[i + 1], j)
            i += 1
            if k is not None:
                if k > j:
                    out.append("...")
                j = k
            continue
        if i < len(want) and line_matches(want[i], got[j]):
            out.append(want[i])
            i, j = i + 1, j + 1
        elif i < len(want) and find(want[i], j) is None:
            i += 1  # a printed line that is not there at all: the diff shows it as removed
        else:
            out.append(got[j])
            j += 1
    return out


def excerpt_diff(want, got):
    """For an excerpt: each printed line, kept (" ") when it comes out in order, or removed ("-")
    and followed by the real line most like it after the last one found ("+")."""
    out, j = [], 0
    for w in want:
        if w == "" or w == "...":
            out.append(" " + w)
            continue
        k = next((k for k in range(j, len(got)) if line_matches(w, got[k])), None)
        if k is not None:
            out.append(" " + w)
            j = k + 1
            continue
        out.append("-" + w)
        near = difflib.get_close_matches(w, got[j:], n=1, cutoff=0.5)
        out.append("+" + near[0] if near else "+(no line like it)")
    return out


def server_command(step, args, session):
    """build/step-N with what `make step-N` gives it: the Makefile's recipe is `STEP_LAUNCH_N
    build/step-N STEP_NEEDS_N STEP_DEFAULTS_N ARGS` (step 6: tests/with-upstream.sh build/step-6
    build/step-5, which starts the upstream on UPSTREAM_PORT; step 7: tests/with-sandbox.sh
    build/step-7 build/step-9, which starts the sandbox on SANDBOX_PORT in SANDBOX_DIR if it is
    not running; see Session.env())."""
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        mk = f.read()
    variables = dict(re.findall(r"^(\w+)\s*:?=\s*(.*)$", mk, re.M))
    variables["BUILD"] = session.build_dir

    def value(name):
        text = variables.get(name, "")
        for _ in range(5):  # bounded: a variable that names a variable, a few levels at most
            text = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), ""), text)
        return text.strip()

    launch = value(f"STEP_LAUNCH_{step}")
    needs = value(f"STEP_NEEDS_{step}")
    return (f"{launch + ' ' if launch else ''}{session.build_dir}/step-{step} "
            f"{needs + ' ' if needs else ''}--port {session.port} {value(f'STEP_DEFAULTS_{step}')} "
            f"{session.rewrite(args)}")


def launch(command, out_path, err_path=None, env=None):
    """Starts `command` (bash) in a session of its own; stdout to out_path, stderr to err_path
    (or with stdout)."""
    out = open(out_path, "wb")
    err = open(err_path, "wb") if err_path else subprocess.STDOUT
    p = subprocess.Popen(["bash", "-c", command], cwd=ROOT, stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    out.close()
    if err_path:
        err.close()
    STARTED.append(p)
    return p


def run_command(command, env, timeout, path):
    """Runs `command` (bash, from the repository root) to its end, its standard output and error
    into `path`; then stops whatever it left running in the background (its process group).
    Returns what it printed, and a line saying so if it did not end within `timeout`."""
    with open(path, "wb") as out:
        p = subprocess.Popen(["bash", "-c", command], cwd=ROOT, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
    STARTED.append(p)
    try:
        p.wait(timeout)
        late = ""
    except subprocess.TimeoutExpired:
        late = f"[check-docs: no end within {timeout:g} s]\n"
    stop(p, timeout=2)
    return read(path) + late


def wait_listening(proc, path, timeout=20):
    """Waits until the file `path` (a server's log) says it listens, or the process ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if LISTENING.search(f.read().decode("utf-8", "replace")):
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def quote_check(block):
    """For quote=PATH: the block's lines, cut into pieces at its `...` lines, are each a run of
    consecutive lines of PATH, in order. Returns the printed lines when they are, else the
    lines of PATH (so the diff shows what the file has)."""
    with open(os.path.join(ROOT, block.quote), encoding="utf-8") as f:
        source = [line.rstrip() for line in f.read().split("\n")]
    pieces, piece = [], []
    for line in block.lines + ["..."]:
        if line.strip() == "...":
            if piece:
                pieces.append(piece)
            piece = []
        else:
            piece.append(line.rstrip())
    def same(i, piece):
        """Whether `piece` is source[i:...], allowing one indentation added to every line (a
        quote may be dedented)."""
        d = (len(source[i]) - len(source[i].lstrip())) - (len(piece[0]) - len(piece[0].lstrip()))
        if d < 0:
            return False
        return all(src[:d].strip() == "" and src[d:] == line or src == line == ""
                   for src, line in zip(source[i:i + len(piece)], piece))

    at = 0
    for piece in pieces:
        found = next((i for i in range(at, len(source) - len(piece) + 1) if same(i, piece)),
                     None)
        if found is None:
            # Show the file around where the piece should start, to diff against.
            near = difflib.get_close_matches(piece[0], source[at:], n=1, cutoff=0.4)
            start = source.index(near[0], at) if near else at
            return source[start:start + len(piece)] + [f"[check-docs: not in {block.quote}]"]
        at = found + len(piece)
    return block.lines


def can_forge():
    """Whether this process may open a raw socket, as chapter 1's spoof.py does."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
        return True
    except OSError:
        return False


def block_env(block, session):
    env = session.env()
    for name, value in block.env:
        env[name] = session.rewrite(value)
    return env


def run_block(block, session):
    """Returns (None, why) when skipped, else (real lines, printed lines)."""
    for tool in block.needs:
        if tool == "root" and not can_forge():
            return None, "needs root (a raw socket, CAP_NET_RAW), which the checker does not have"
        if tool != "root" and shutil.which(tool) is None:
            return None, f"needs {tool}, which is not installed"
    if block.quote:
        return quote_check(block), block.lines
    if block.save:
        path = os.path.join(session.tmp, block.save) if not block.save.startswith("/tmp/") else \
            session.rewrite(block.save)
        with open(path, "w", encoding="utf-8") as f:
            f.write(session.rewrite("\n".join(block.lines) + "\n"))
        if block.save not in session.saved and not block.save.startswith("/tmp/"):
            session.saved.append(block.save)
        return [], []

    commands = split_commands(block.lines)
    if block.cat_creates:
        for cmd, printed in commands:
            m = re.fullmatch(r"cat (\S+)", cmd or "")
            if m:
                with open(session.rewrite(m.group(1)), "w", encoding="utf-8") as f:
                    f.write("\n".join(printed).rstrip("\n") + "\n")

    server = started = None
    tag = f"b{block.line}"
    out_path = os.path.join(session.tmp, f".{tag}.out")
    err_path = os.path.join(session.tmp, f".{tag}.err")
    start_path = os.path.join(session.tmp, f".{tag}.start")
    run_path = os.path.join(session.tmp, f".{tag}.run")
    real = []
    try:
        for cmd in block.before:
            run_command(session.rewrite(cmd), block_env(block, session), block.timeout, run_path)
        if block.server is not None:
            server = launch(server_command(block.server, block.args, session), out_path, err_path,
                            session.env())
            if not wait_listening(server, err_path):
                raise RuntimeError(f"the server did not start:\n{read(err_path)}")
        first = None
        if block.start:
            first = next(i for i, (c, _) in enumerate(commands)
                         if c is not None and re.match(r"(make( -s)? step-|build/step-)", c))
        hidden_out = []

        def run_hidden():
            for cmd, _ in split_commands(block.hidden, prompt=False):
                hidden_out.append(run_command(session.rewrite(cmd), block_env(block, session),
                                              block.timeout, run_path))

        if first is None:
            run_hidden()
        outputs, assignments = [], ""
        for n, (cmd, _) in enumerate(commands):
            if n == first:
                # The block's own server: started in the background, and once it listens the
                # hidden commands run; what it printed is read at the end of the block.
                started = launch(assignments + session.rewrite(cmd), start_path,
                                 env=block_env(block, session))
                wait_listening(started, start_path)
                run_hidden()
                outputs.append(None)
                continue
            if cmd is None:
                outputs.append(None)
                continue
            outputs.append(run_command(assignments + session.rewrite(cmd),
                                       block_env(block, session), block.timeout, run_path))
            if re.fullmatch(r"[A-Za-z_]\w*=\S.*", cmd):  # Q='...': kept, as in one terminal
                assignments += session.rewrite(cmd) + "\n"
        time.sleep(0.1)  # what the servers print about the last datagram is written by now
        if started is not None:
            outputs[first] = read(start_path)
            stop(started)
        for (cmd, _), text in zip(commands, outputs):
            if cmd is None:
                continue
            real.extend(("$ " + cmd).split("\n"))
            if text:  # a lone newline is an empty line of output, which a block can show
                text = session.unwrite(text)
                real.extend((text[:-1] if text.endswith("\n") else text).split("\n"))
        if all(cmd is None for cmd, _ in commands) and block.compare == "out":
            # A block of output alone: what the hidden commands printed.
            real = session.unwrite("".join(hidden_out)).split("\n")
        if server is not None:
            stop(server)
            if block.compare == "trace":
                real = session.unwrite(read(out_path)).split("\n")
            elif block.compare == "log":
                real = session.unwrite(read(err_path)).split("\n")
    finally:
        for p in (started, server):
            if p is not None:
                stop(p)
    return real, block.lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="Markdown files (default: docs/*.md)")
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--list", action="store_true", help="list the checked blocks, run nothing")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each block's real output")
    opts = ap.parse_args()
    atexit.register(stop_all)
    # Run from `make check-docs`, a `make step-N` in a block would be a sub-make, and say so
    # ("make[1]: Entering directory"): the commands run as a reader's would, outside make.
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT",
                 "MAKE_TERMERR"):
        os.environ.pop(name, None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    files = opts.files or sorted(
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
        if f.endswith(".md"))
    try:
        chapters = [(path, parse(path)) for path in files]
    except MarkerError as e:
        print(f"check-docs: {e}", file=sys.stderr)
        return 2
    if opts.list:
        for path, blocks in chapters:
            for b in blocks:
                print(f"{b.where()}: server={b.server} compare={b.compare}"
                      f"{' excerpt' if b.excerpt else ''}{' save=' + b.save if b.save else ''}")
        return 0

    drifted = checked = skipped = 0
    session = Session(opts.build_dir)
    try:
        every = [os.path.join(ROOT, "docs", f) for f in sorted(os.listdir(os.path.join(ROOT, "docs")))
                 if f.endswith(".md")]
        for path in every:
            for b in parse(path):
                if b.save:
                    run_block(b, session)
        for path, blocks in chapters:
            n_checked = n_skipped = n_drifted = 0
            for b in blocks:
                if b.save:
                    continue
                try:
                    real, printed = run_block(b, session)
                except Exception as e:  # a block that cannot even run is a drift too
                    real, printed = [f"[check-docs: {type(e).__name__}: {e}]"], b.lines
                if real is None:
                    print(f"{b.where()}: skipped: {printed}")
                    n_skipped += 1
                    continue
                n_checked += 1
                want, got = normalise(printed, b), normalise(real, b)
                if opts.verbose:
                    print(f"--- {b.where()}: real output, normalised\n" + "\n".join(got))
                if matches(want, got, b.excerpt):
                    continue
                n_drifted += 1
                if b.excerpt:
                    print(f"{b.where()}: printed lines that do not come out, in this order "
                          "(-), and the real line most like each (+):")
                    print(f"--- {b.where()} (printed)\n+++ real output")
                    print("\n".join(excerpt_diff(want, got)))
                else:
                    print(f"{b.where()}: the printed block differs from what the programs print "
                          "now:")
                    sys.stdout.writelines(difflib.unified_diff(
                        [w + "\n" for w in want], [g + "\n" for g in project(want, got)],
                        fromfile=f"{b.where()} (printed)", tofile="real output", n=3))
                print()
            if blocks:
                print(f"{os.path.relpath(path, ROOT)}: {n_checked} blocks checked, "
                      f"{n_drifted} drifted" + (f", {n_skipped} skipped" if n_skipped else ""))
            checked, drifted = checked + n_checked, drifted + n_drifted
            skipped += n_skipped
    finally:
        session.close()
    print(f"check-docs: {checked} blocks checked, {drifted} drifted"
          + (f", {skipped} skipped" if skipped else "")
          + ("" if drifted else ": every checked output is what the programs print"))
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
