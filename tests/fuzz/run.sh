#!/usr/bin/env bash
# Runs each libFuzzer target in turn for a number of seconds, starting from a scratch copy of its
# seed corpus, then prints one line per target: seconds, executions, result. Exits non-zero if any
# target found something (a crash, a sanitizer report, a leak, a timeout, running out of memory).
#
#   tests/fuzz/run.sh [--seconds N] [--dir build/fuzz] TARGET...
#
# A TARGET is SOURCE or SOURCE-N (fuzz.mk): the binary DIR/fuzz_TARGET, with the seeds and the
# dictionary of its source, tests/fuzz/corpus/SOURCE/ and tests/fuzz/SOURCE.dict.
# --seconds 0 runs each seed once and nothing more (a quick regression check). Extra libFuzzer
# options can be given in $FUZZ_FLAGS (e.g. FUZZ_FLAGS=-use_value_profile=1).
set -u
cd "$(dirname "$0")/../.." || exit 2

seconds=60
dir=build/fuzz
targets=()
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || { echo "run.sh: no target given" >&2; exit 2; }
case $seconds in '' | *[!0-9]*) echo "run.sh: --seconds takes a whole number" >&2; exit 2 ;; esac

# Findings must stop the run and be reported, whatever a SANITIZE=1 make exported.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The largest datagram the servers accept (and the largest zone text worth trying).
max_len=65535

rows=()
failed=0
total_execs=0
total_secs=0
for t in "${targets[@]}"; do
    bin=$dir/fuzz_$t
    source=${t%%-*}
    seeds=tests/fuzz/corpus/$source
    work=$dir/corpus/$t           # libFuzzer adds what it finds here, never to the repository
    artifacts=$dir/artifacts/$t/  # crash-*, leak-*, timeout-*, oom-* files
    log=$dir/logs/$t.log
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin is not built (make fuzz-build)" >&2
        exit 2
    fi
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    if [ -d "$seeds" ]; then
        cp -f "$seeds"/* "$work"/ 2>/dev/null || true
    fi
    # Tokens worth trying: the target's own list, or the wire-format one.
    dict=tests/fuzz/$source.dict
    [ -f "$dict" ] || dict=tests/fuzz/wire.dict

    echo "fuzz: $t for ${seconds}s (log: $log)"
    start=$(date +%s)
    if [ "$seconds" -eq 0 ]; then
        # Each seed once: libFuzzer runs the files it is given and exits.
        # shellcheck disable=SC2086
        "$bin" ${FUZZ_FLAGS:-} "$seeds"/* >"$log" 2>&1
    else
        # shellcheck disable=SC2086
        "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=$max_len \
            -artifact_prefix="$artifacts" -print_final_stats=1 -dict="$dict" ${FUZZ_FLAGS:-} \
            "$work" >"$log" 2>&1
    fi
    rc=$?
    elapsed=$(($(date +%s) - start))

    # Executions: the final statistics, or else the last status line ("#1234 ...").
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -1)
    [ "$seconds" -eq 0 ] && [ -z "$execs" ] && execs=$(grep -c '^Executed ' "$log")
    [ -n "$execs" ] || execs=0

    if [ $rc -eq 0 ]; then
        result=ok
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FOUND (exit $rc)${artifact:+: $artifact}"
        echo "fuzz: $t: finding; the end of $log:" >&2
        # The report itself: from the sanitizer's or the check's first line on.
        awk '/^==[0-9]+==|check failed|runtime error|^SUMMARY|ERROR: libFuzzer/ {p=1} p' "$log" |
            head -60 >&2
    fi
    rows+=("$(printf '%-12s %8s %14s %10s  %s' "$t" "$elapsed" "$execs" \
        "$( [ "$elapsed" -gt 0 ] && echo $((execs / elapsed)) || echo -)" "$result")")
    total_execs=$((total_execs + execs))
    total_secs=$((total_secs + elapsed))
done

echo
printf '%-12s %8s %14s %10s  %s\n' target seconds executions exec/s result
for row in "${rows[@]}"; do
    echo "$row"
done
printf '%-12s %8s %14s %10s  %s\n' total "$total_secs" "$total_execs" \
    "$( [ "$total_secs" -gt 0 ] && echo $((total_execs / total_secs)) || echo -)" \
    "$([ $failed -eq 0 ] && echo 'no finding' || echo 'FINDINGS: see above')"
if [ $failed -ne 0 ]; then
    echo
    echo "fuzz: reproduce a finding with:  $dir/fuzz_TARGET ARTIFACT   (docs/fuzzing.md)" >&2
fi
exit $failed
