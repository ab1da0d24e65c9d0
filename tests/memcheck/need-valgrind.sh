#!/bin/sh
# need-valgrind.sh: makes sure valgrind is there for `make memcheck`. Run as root it installs the
# Debian package; otherwise it prints the apt-get line and fails (as tests/deps.sh does).
set -u
command -v valgrind >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "memcheck: installing valgrind"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind; } \
        >/tmp/dns-workbook-apt.log 2>&1 || {
        echo "memcheck: apt-get failed; its output is in /tmp/dns-workbook-apt.log" >&2
        tail -5 /tmp/dns-workbook-apt.log >&2
        exit 1
    }
    exit 0
fi
echo "memcheck: valgrind is not installed; install it with:" >&2
echo "    sudo apt-get install valgrind" >&2
exit 1
