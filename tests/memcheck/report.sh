#!/bin/sh
# report.sh: the verdict of `make memcheck`, from what valgrind-server.sh left in each LOGDIR.
#
#   tests/memcheck/report.sh LOGDIR...
#
# Prints one line, "memcheck: N servers, E errors, L leaks", and exits 0 only if every server
# exited with status 0 when stopped (valgrind's --error-exitcode is 99) and no log holds an error
# or a leak. Otherwise it also prints each offending server: its exit status and its log.
set -u

servers=0 errors=0 leaks=0 bad=""
for dir in "$@"; do
    for log in "$dir"/valgrind-*.log; do
        [ -e "$log" ] || continue
        servers=$((servers + 1))
        status_file=${log%.log}.status
        # valgrind-server.sh runs valgrind with --error-markers=@@error-begin,@@error-end: every
        # error is one marked block; a leak's block says "... lost in loss record N of M".
        e=$(awk '/@@error-begin/ { inside = 1; leak = 0; next }
                 /@@error-end/ { if (!leak) n++; inside = 0; next }
                 inside && / lost in loss record / { leak = 1 }
                 END { print n + 0 }' "$log")
        l=$(grep -c ' lost in loss record ' "$log")
        errors=$((errors + e))
        leaks=$((leaks + l))
        status=$(cat "$status_file" 2>/dev/null || echo none)
        if [ "$status" != 0 ] || [ "$e" -ne 0 ] || [ "$l" -ne 0 ]; then
            bad="$bad $log"
        fi
    done
done

echo "memcheck: $servers servers, $errors errors, $leaks leaks"
if [ "$servers" -eq 0 ]; then
    echo "memcheck: no valgrind log in $*: did any server start?" >&2
    exit 1
fi
[ -z "$bad" ] && exit 0

for log in $bad; do
    status_file=${log%.log}.status
    if [ -e "$status_file" ]; then
        how="exit status $(cat "$status_file")"
    else
        how="no exit status recorded: killed before it could exit (SIGKILL after the grace period?)"
    fi
    echo
    echo "== $log ($how)"
    if [ -s "$log" ]; then
        sed -n '1,80p' "$log"
        [ "$(wc -l <"$log")" -le 80 ] || echo "   [... the rest is in $log]"
    else
        echo "   (the log is empty: valgrind found nothing, the server itself failed; its own log"
        echo "   is in the pytest output above, under 'warning: at the end of the tests')"
    fi
done
exit 1
