#!/bin/sh
# Prints the path of a Python 3 that can import both pytest and dnspython, or
# nothing (and exits 1) if none can. Debian's /usr/bin/python3 comes first: a
# python3 earlier on PATH (pyenv, a venv) often lacks Debian's packages.
for py in /usr/bin/python3 python3 python; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import pytest, dns.message' >/dev/null 2>&1; then
        command -v "$py"
        exit 0
    fi
done
exit 1
