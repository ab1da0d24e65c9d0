#!/bin/bash
# valgrind-server.sh: runs a step's server under valgrind's memcheck, for `make memcheck`.
#
#   tests/memcheck/valgrind-server.sh LOGDIR BINARY [DEFAULT-ARG...] -- [ARG...]
#
# memcheck.mk hands the conformance suite a --server-cmd that ends in `-- --port {port}`, and the
# suite's pool appends what a test asks for (server_with_args), so ARG... are the pool's. As
# conftest's default_args() does for build/step-N, DEFAULT-ARG... (the step's zones) are added
# only when ARG... say nothing about zones: the plain `server` fixture gets the example zones, a
# test that starts a server with its own --zone gets only those.
#
# Each server process leaves LOGDIR/valgrind-PID.log (empty when valgrind found nothing) and
# LOGDIR/valgrind-PID.status, its exit status (99: valgrind found errors or leaks).
# tests/memcheck/report.sh reads both. VALGRIND_EXTRA adds options (e.g. --track-origins=yes).
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 LOGDIR BINARY [DEFAULT-ARG...] -- [ARG...]" >&2
    exit 2
fi
logdir=$1
binary=$2
shift 2
defaults=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    defaults+=("$1")
    shift
done
[ $# -gt 0 ] && shift # the "--"
for arg in "$@"; do
    case $arg in
    --zone | --zone=*) defaults=() ;;
    esac
done
mkdir -p "$logdir" || exit 2

# Not `exec valgrind`: this shell stays to write down the exit status. The suite stops a server
# with SIGTERM to its whole process group, so valgrind gets it directly; the trap only makes sure
# it does even when this script is signalled on its own.
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
# shellcheck disable=SC2086 # VALGRIND_EXTRA is a list of options
valgrind --quiet --error-exitcode=99 \
    --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --error-markers=@@error-begin,@@error-end \
    --log-file="$logdir/valgrind-%p.log" \
    ${VALGRIND_EXTRA:-} \
    "$binary" "${defaults[@]}" "$@" &
child=$!

# `wait` also returns when the trap ran; the child is then still there (alive, or a zombie not yet
# reaped), so wait again. Bounded: each pass is one signal, and the suite sends two at most
# (SIGTERM, then SIGKILL to the whole group, which ends this script too).
status=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
echo "$status" >"$logdir/valgrind-$child.status"
exit "$status"
