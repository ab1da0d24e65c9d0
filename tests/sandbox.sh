#!/bin/sh
# sandbox.sh start|stop|status: the sandbox internet of zones/sandbox/ on 127.0.0.x
# (`make sandbox`, `make sandbox-stop`; zones/sandbox/README.md says what it holds).
#
# start   one server per line of zones/sandbox/servers, in the background: SANDBOX_BINARY
#         (default build/step-9) --address ADDRESS --port SANDBOX_PORT (default 5300)
#         --log-level debug (a log line per query) --zone FILE ... $SANDBOX_ARGS. PIDs go to
#         SANDBOX_DIR/pids (default build/sandbox), one "PID ADDRESS PORT" line each, logs to
#         SANDBOX_DIR/ADDRESS.log. Waits until every server listens (5 s at most), then
#         prints a summary. If one does not start, shows its log, stops the others, exits 1.
#         Already running: says so and exits 0 (exit 1 if on another port than asked).
#         A pid file whose processes are gone is removed; if only some are gone, or the
#         serving table lists other addresses now, the rest are stopped and all start again.
# stop    SIGTERM to each process of the pid file, SIGKILL to any left 2 s later; removes
#         the pid file. Nothing running: says so and exits 0.
# status  exit 0 if the sandbox runs (every process of the pid file), 1 if not.
#
# A process counts as the sandbox's only if its command line still says "--address
# ADDRESS --port PORT" as recorded: a PID the system has since given to another program is
# never signalled. Addresses must be in 127.0.0.0/8 and not 127.0.0.1 (the workbook's
# servers' own); nothing here sends a packet anywhere.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
zonedir=$here/zones/sandbox
table=$zonedir/servers
binary=${SANDBOX_BINARY:-$here/build/step-9}
dir=${SANDBOX_DIR:-$here/build/sandbox}
port=${SANDBOX_PORT:-5300}
extra=${SANDBOX_ARGS:-}
pidfile=$dir/pids
detach=
if command -v setsid >/dev/null 2>&1; then
    detach=setsid
fi

# Bounded waits: 100 checks 50 ms apart for the servers to listen, 40 for them to stop.
START_CHECKS=100
STOP_CHECKS=40

say() { echo "sandbox: $*"; }
die() {
    echo "sandbox: $*" >&2
    exit 1
}

# ours PID ADDRESS PORT: true if PID runs and is the server recorded for ADDRESS:PORT.
ours() {
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/cmdline" ]; then
        args=$(tr '\0' ' ' <"/proc/$1/cmdline")
    else
        args=$(ps -o args= -p "$1" 2>/dev/null)
    fi
    # A zombie's command line is empty: it is gone too.
    case "$args" in
    *" --address $2 --port $3 "*) return 0 ;;
    esac
    return 1
}

# starting PID: true if PID is a child of this script that has not yet become the server: forked,
# but its command line is still this script's until it execs setsid and the server. Only for
# the PIDs this run has just started (a stale pid file's PID may be anyone's).
starting() {
    kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/cmdline" ] || return 1
    case "$(tr '\0' ' ' <"/proc/$1/cmdline")" in
    *sandbox.sh*) return 0 ;;
    esac
    return 1
}

# count_alive: sets total (lines of the pid file), alive (of them still ours), and
# running_port (the port of the last line).
count_alive() {
    total=0 alive=0 running_port=
    [ -f "$pidfile" ] || return 0
    while read -r p a pt; do
        [ -n "$p" ] || continue
        total=$((total + 1))
        running_port=$pt
        if ours "$p" "$a" "$pt"; then alive=$((alive + 1)); fi
    done <"$pidfile"
}

# stop_all: stops what the pid file lists and removes it; sets stopped (how many ran).
stop_all() {
    stopped=0
    [ -f "$pidfile" ] || return 0
    while read -r p a pt; do
        [ -n "$p" ] || continue
        if ours "$p" "$a" "$pt"; then
            kill -TERM "$p" 2>/dev/null
            stopped=$((stopped + 1))
        fi
    done <"$pidfile"
    i=0
    while [ $i -lt $STOP_CHECKS ]; do
        count_alive
        [ "$alive" -eq 0 ] && break
        sleep 0.05
        i=$((i + 1))
    done
    if [ $i -eq $STOP_CHECKS ]; then
        while read -r p a pt; do
            [ -n "$p" ] || continue
            if ours "$p" "$a" "$pt"; then
                echo "sandbox: $a (PID $p) still runs 2 s after SIGTERM: SIGKILL" >&2
                kill -KILL "$p" 2>/dev/null
            fi
        done <"$pidfile"
    fi
    rm -f "$pidfile"
}

# The serving table without comments and blank lines: "ADDRESS FILE..." per line.
table_lines() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$table"
}

# The addresses of the running servers, and those of the table, sorted on one line.
addresses_running() { awk '{ print $2 }' "$pidfile" | sort | tr '\n' ' '; }
addresses_wanted() { echo "$lines" | awk '{ print $1 }' | sort | tr '\n' ' '; }

# zone_name FILE: the zone a file holds, by the table's naming rule (root.zone is ".").
zone_name() {
    z=${1%.zone}
    if [ "$z" = root ]; then echo .; else echo "$z."; fi
}

# launch ADDRESS FILE...: starts one server in the background and records it.
launch() {
    addr=$1
    shift
    n=$#
    while [ "$n" -gt 0 ]; do
        set -- "$@" --zone "$zonedir/$1"
        shift
        n=$((n - 1))
    done
    # stdin, stdout and stderr away from the caller's: make (or a test) that started the
    # sandbox must not wait for these processes to close its pipes. In a session of their own
    # (setsid, when there is one): Ctrl-C on `make step-7`, which started them, stops the
    # resolver, not the sandbox, which runs until `make sandbox-stop`.
    # shellcheck disable=SC2086 # SANDBOX_ARGS is a list of words
    $detach "$binary" --address "$addr" --port "$port" --log-level debug "$@" $extra \
        </dev/null >"$dir/$addr.log" 2>&1 &
    echo "$! $addr $port" >>"$pidfile"
}

# bail_if_interrupted: after a signal during start, stops what started and exits 1.
bail_if_interrupted() {
    [ -n "$interrupted" ] || return 0
    echo "sandbox: interrupted: stopping the servers started" >&2
    stop_all
    exit 1
}

start() {
    case "$port" in
    '' | *[!0-9]*) die "SANDBOX_PORT=$port: expected a port number (1024-65535)" ;;
    esac
    # Port 53 only on purpose (SANDBOX_LOW_PORT=1): the comparison with unbound needs it,
    # as unbound sends every query to port 53.
    if [ "$port" -lt 1024 ] && [ "${SANDBOX_LOW_PORT:-}" != 1 ] || [ "$port" -lt 1 ] ||
        [ "$port" -gt 65535 ]; then
        die "SANDBOX_PORT=$port: expected an unprivileged port (1024-65535)"
    fi
    [ -x "$binary" ] || die "$binary is not built (make $(basename "$binary") builds it)"
    [ -r "$table" ] || die "$table: cannot read the serving table"
    mkdir -p "$dir" || die "cannot create $dir"

    lines=$(table_lines)
    count_alive
    all_alive=false
    [ "$total" -gt 0 ] && [ "$alive" -eq "$total" ] && all_alive=true
    if $all_alive && [ "$(addresses_running)" != "$(addresses_wanted)" ]; then
        say "the servers running are not those of zones/sandbox/servers now" \
            "(it changed, or a start was interrupted): starting afresh"
        stop_all
    elif $all_alive; then
        if [ "$running_port" = "$port" ]; then
            say "already running: $total name servers on port $port (make sandbox-stop stops them)"
            exit 0
        fi
        die "already running on port $running_port, not $port: make sandbox-stop first"
    elif [ "$alive" -gt 0 ]; then
        say "$alive of $total name servers still running: stopping them to start all afresh"
        stop_all
    elif [ -f "$pidfile" ]; then
        say "removing a stale pid file (its processes are gone): $pidfile"
        rm -f "$pidfile"
    fi

    # Check the whole table before starting anything.
    [ -n "$lines" ] || die "$table: no servers"
    seen=" "
    while read -r addr files; do
        case "$addr" in
        127.0.0.1) die "$table: $addr is the workbook's servers' address; use another 127.0.0.x" ;;
        127.*.*.*) ;;
        *) die "$table: '$addr' is not in 127.0.0.0/8: the sandbox stays on this machine" ;;
        esac
        case "$seen" in
        *" $addr "*) die "$table: $addr is on two lines" ;;
        esac
        seen="$seen$addr "
        [ -n "$files" ] || die "$table: $addr serves no zone file"
        for f in $files; do
            [ -r "$zonedir/$f" ] || die "$table: $addr: no zone file $zonedir/$f"
        done
    done <<EOF
$lines
EOF

    # Interrupted before every server listens: none is left behind. The trap only takes
    # note, so that no server is started without its line in the pid file; the loops below
    # look at the note after each step.
    interrupted=
    trap 'interrupted=1' INT TERM HUP
    : >"$pidfile"
    # shellcheck disable=SC2086 # the zone files are words of the table
    while read -r addr files; do
        launch "$addr" $files
        [ -z "$interrupted" ] || break
    done <<EOF
$lines
EOF

    # Wait until each one logs that it listens (or exits: a zone file it refuses, an
    # address or port in use).
    pending=$(cut -d' ' -f1,2 "$pidfile")
    i=0
    while [ -n "$pending" ] && [ $i -lt $START_CHECKS ]; do
        bail_if_interrupted
        left=
        while read -r p a; do
            log=$dir/$a.log
            if grep -qF "listening on $a:$port/udp" "$log" 2>/dev/null; then
                continue
            fi
            if ! ours "$p" "$a" "$port" && ! starting "$p"; then
                echo "sandbox: the server for $a did not start; the end of its log ($log):" >&2
                tail -n 5 "$log" | sed 's/^/    /' >&2
                stop_all
                exit 1
            fi
            left="$left$p $a
"
        done <<EOF
$pending
EOF
        pending=$(printf '%s' "$left")
        [ -n "$pending" ] && sleep 0.05
        i=$((i + 1))
    done
    if [ -n "$pending" ]; then
        waiting=$(echo "$pending" | cut -d' ' -f2 | tr '\n' ' ')
        echo "sandbox: not listening after 5 s: $waiting(logs in $dir)" >&2
        stop_all
        exit 1
    fi

    bail_if_interrupted
    trap - INT TERM HUP
    count=$(wc -l <"$pidfile")
    say "$((count)) name servers on port $port (zones/sandbox/servers):"
    while read -r addr files; do
        names=
        for f in $files; do names="$names $(zone_name "$f")"; done
        printf '  %-12s%s\n' "$addr" "$names"
    done <<EOF
$lines
EOF
    echo "root hints: zones/sandbox/root.hints; logs: $dir/ADDRESS.log; stop: make sandbox-stop"
    echo "try: dig @127.0.0.2 -p $port www.example.com +norec"
}

stop() {
    if [ ! -f "$pidfile" ]; then
        say "not running"
        return 0
    fi
    stop_all
    if [ "$stopped" -eq 0 ]; then
        say "not running (removed a stale pid file)"
    else
        say "stopped $stopped name servers"
    fi
}

status() {
    count_alive
    if [ "$total" -gt 0 ] && [ "$alive" -eq "$total" ]; then
        say "running: $total name servers on port $running_port"
        return 0
    fi
    if [ "$total" -gt 0 ]; then
        say "not running ($alive of $total name servers left: make sandbox restarts them)"
    else
        say "not running"
    fi
    return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status (SANDBOX_PORT, SANDBOX_DIR, SANDBOX_BINARY, SANDBOX_ARGS)" >&2
    exit 2
    ;;
esac
