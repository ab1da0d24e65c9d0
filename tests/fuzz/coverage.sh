#!/bin/sh
# How much of common/ the fuzzers' corpus reaches: builds each target with clang's source-based
# coverage (no sanitizers), runs it once over its working corpus (build/fuzz/corpus/<target>, or
# the seeds if there is none yet), and prints llvm-cov's report for common/*.c.
#
#   tests/fuzz/coverage.sh [CC] [DIR] TARGET...
set -u
cd "$(dirname "$0")/../.."
cc=${1:-clang}
dir=${2:-build/fuzz/coverage}
shift 2 2>/dev/null || true
[ $# -gt 0 ] || set -- query name zone answer roundtrip trace

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

rm -rf "$dir"
mkdir -p "$dir"
first="$dir/fuzz_$1" # llvm-cov names one binary plainly and the others with -object
objects=""
for t in "$@"; do
    corpus=build/fuzz/corpus/$t
    [ -d "$corpus" ] || corpus=tests/fuzz/corpus/$t
    echo "coverage: $t over $corpus"
    "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -Icommon \
        -DFUZZ_ZONE_DIR="\"$(pwd)/zones\"" -fsanitize=fuzzer \
        -fprofile-instr-generate -fcoverage-mapping \
        "tests/fuzz/fuzz_$t.c" common/*.c -o "$dir/fuzz_$t" || exit 1
    LLVM_PROFILE_FILE="$dir/$t.profraw" "$dir/fuzz_$t" -runs=0 "$corpus" >"$dir/$t.log" 2>&1 || {
        echo "coverage: fuzz_$t failed on its corpus; see $dir/$t.log" >&2
        exit 1
    }
    [ "$dir/fuzz_$t" = "$first" ] || objects="$objects -object $dir/fuzz_$t"
done
"$profdata" merge -o "$dir/all.profdata" "$dir"/*.profraw || exit 1
# shellcheck disable=SC2086
"$llvmcov" report "$first" $objects -instr-profile="$dir/all.profdata" common/*.c
echo "coverage: line by line: $llvmcov show $first$objects -instr-profile=$dir/all.profdata common/name.c"
