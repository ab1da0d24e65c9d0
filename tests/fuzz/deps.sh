#!/bin/sh
# Checks that clang can build a libFuzzer target with AddressSanitizer and UBSan, by building one.
# Run as root it installs what is missing (Debian: clang, libclang-rt-N-dev); otherwise it prints
# the exact command and fails. Usage: tests/fuzz/deps.sh [CC] [SCRATCH-DIR]
set -u
cc=${1:-clang}
dir=${2:-build/fuzz}
mkdir -p "$dir"

# The smallest fuzz target there is: if this links, every target will.
try_build() {
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$dir/probe.c"
    "$cc" -fsanitize=fuzzer,address,undefined "$dir/probe.c" -o "$dir/probe" >"$dir/probe.log" 2>&1
}

# What to install: clang itself, or the runtime libraries of the clang there is
# (Debian 12 ships libFuzzer in libclang-rt-14-dev, apart from clang-14).
missing_packages() {
    if ! command -v "$cc" >/dev/null 2>&1; then
        # Debian 12's clang is clang-14; its runtime is only a Recommends.
        echo "clang libclang-rt-14-dev"
        return
    fi
    major=$("$cc" --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -1)
    echo "libclang-rt-${major:-14}-dev"
}

if command -v "$cc" >/dev/null 2>&1 && ! "$cc" --version 2>/dev/null | grep -q clang; then
    echo "fuzz: $cc is not clang; libFuzzer needs clang (FUZZ_CC=clang)" >&2
    exit 1
fi
if try_build; then
    exit 0
fi
missing=$(missing_packages)
command -v "$cc" >/dev/null 2>&1 || echo "fuzz: $cc: command not found" >"$dir/probe.log"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: $cc cannot build a libFuzzer target; installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
        >/tmp/dns-workbook-apt.log 2>&1 || {
        echo "fuzz: apt-get failed; its output is in /tmp/dns-workbook-apt.log" >&2
        tail -5 /tmp/dns-workbook-apt.log >&2
        exit 1
    }
    # clang alone may still lack the runtime: check again, and name it if so.
    if ! try_build; then
        missing=$(missing_packages)
        echo "fuzz: still cannot build a libFuzzer target; installing $missing"
        apt-get install -y -qq --no-install-recommends $missing >>/tmp/dns-workbook-apt.log 2>&1
    fi
    try_build && exit 0
    echo "fuzz: $cc still cannot build a libFuzzer target:" >&2
    sed 's/^/    /' "$dir/probe.log" | tail -5 >&2
    exit 1
fi
echo "fuzz: $cc cannot build a libFuzzer target (-fsanitize=fuzzer,address,undefined):" >&2
sed 's/^/    /' "$dir/probe.log" | tail -3 >&2
echo "fuzz: install what is missing with:" >&2
echo "    sudo apt-get install $missing" >&2
exit 1
