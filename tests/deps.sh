#!/bin/sh
# Checks the Debian packages the build and the tests need. Run as root it
# installs what is missing; otherwise it prints the exact command and fails.
set -u

# package : a file or command that shows it is there
needs="
build-essential:/usr/bin/make
libcunit1-dev:/usr/include/CUnit/CUnit.h
python3-pytest:/usr/lib/python3/dist-packages/pytest
python3-dnspython:/usr/lib/python3/dist-packages/dns
bind9-dnsutils:/usr/bin/dig
knot-dnsutils:/usr/bin/kdig
ldnsutils:/usr/bin/drill
"

missing=""
for entry in $needs; do
    pkg=${entry%%:*}
    path=${entry#*:}
    [ -e "$path" ] || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >/tmp/dns-workbook-apt.log 2>&1 || {
            echo "deps: apt-get failed; its output is in /tmp/dns-workbook-apt.log" >&2
            tail -5 /tmp/dns-workbook-apt.log >&2
            exit 1
        }
    else
        echo "deps: missing Debian packages:$missing" >&2
        echo "deps: install them with:" >&2
        echo "    sudo apt-get install$missing" >&2
        exit 1
    fi
fi

if ! py=$(tests/find-python.sh); then
    echo "deps: no Python 3 here can import both pytest and dnspython." >&2
    echo "deps: Debian's /usr/bin/python3 can once these are installed:" >&2
    echo "    sudo apt-get install python3-pytest python3-dnspython" >&2
    exit 1
fi
