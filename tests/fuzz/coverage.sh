#!/bin/sh
# How much of common/ and steps/ the fuzzers' corpus reaches: runs each target's coverage build
# (DIR/coverage/fuzz_TARGET: clang's source-based coverage, no sanitizers, which `make
# fuzz-coverage` builds first) once over its working corpus (DIR/corpus/TARGET, or the seeds of
# its source if there is none yet), and prints llvm-cov's report for the files they link.
#
#   tests/fuzz/coverage.sh CC DIR TARGET...      (make fuzz-coverage: CC=clang, DIR=build/fuzz)
set -u
cd "$(dirname "$0")/../.." || exit 2
[ $# -ge 3 ] || { echo "usage: tests/fuzz/coverage.sh CC DIR TARGET..." >&2; exit 2; }
cc=$1
dir=$2
shift 2
out=$dir/coverage

# llvm-profdata and llvm-cov of the same version as clang (Debian names them llvm-*-14).
major=$("$cc" --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -1)
tool() {
    for t in "$1-$major" "$1"; do
        command -v "$t" >/dev/null 2>&1 && { echo "$t"; return 0; }
    done
    echo "coverage: $1 not found; it is in Debian's llvm-${major:-14} package:" >&2
    echo "    sudo apt-get install llvm-${major:-14}" >&2
    exit 1
}
profdata=$(tool llvm-profdata) || exit 1
llvmcov=$(tool llvm-cov) || exit 1

rm -f "$out"/*.profraw "$out"/all.profdata
first="$out/fuzz_$1" # llvm-cov names one binary plainly and the others with -object
objects=""
for t in "$@"; do
    bin=$out/fuzz_$t
    [ -x "$bin" ] || { echo "coverage: $bin is not built (make fuzz-coverage)" >&2; exit 2; }
    corpus=$dir/corpus/$t
    [ -d "$corpus" ] || corpus=tests/fuzz/corpus/${t%%-*}
    echo "coverage: $t over $corpus"
    LLVM_PROFILE_FILE="$out/$t.profraw" "$bin" -runs=0 "$corpus" >"$out/$t.log" 2>&1 || {
        echo "coverage: fuzz_$t failed on its corpus; see $out/$t.log" >&2
        exit 1
    }
    [ "$bin" = "$first" ] || objects="$objects -object $bin"
done
"$profdata" merge -o "$out/all.profdata" "$out"/*.profraw || exit 1
# Every file of the library and the steps; those no target links are simply not listed.
# shellcheck disable=SC2086
"$llvmcov" report "$first" $objects -instr-profile="$out/all.profdata" common/*.c steps/*/*.c
echo "coverage: line by line: $llvmcov show $first$objects -instr-profile=$out/all.profdata common/name.c"
