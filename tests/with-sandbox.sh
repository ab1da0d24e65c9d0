#!/bin/sh
# with-sandbox.sh STEP-BINARY SANDBOX-BINARY [ARGS...]: what `make step-7` runs.
#
# An iterative resolver needs root servers to start from, and these machines
# may have no network. Unless ROOT_HINTS names another hints file, this makes
# sure the sandbox internet of zones/sandbox/ runs (tests/sandbox.sh start:
# SANDBOX-BINARY on 127.0.0.x, port SANDBOX_PORT, default 5300; it is left
# running afterwards, `make sandbox-stop` stops it), then runs
#   STEP-BINARY --root-hints zones/sandbox/root.hints --ns-port SANDBOX_PORT ARGS
# in its place. With ROOT_HINTS (and NS_PORT, default 53) set, the sandbox is
# left alone and those are used: `make step-7 ROOT_HINTS=zones/named.root` is
# for a machine connected to the internet.
set -u
step=$1 sandbox_binary=$2
shift 2
here=$(dirname "$(dirname "$0")")
if [ -n "${ROOT_HINTS:-}" ]; then
    exec "$step" --root-hints "$ROOT_HINTS" --ns-port "${NS_PORT:-53}" "$@"
fi
port=${SANDBOX_PORT:-5300}
SANDBOX_BINARY=$sandbox_binary SANDBOX_PORT=$port "$here/tests/sandbox.sh" start >&2 || exit 1
echo "resolver: try: dig @127.0.0.1 -p 2053 www.example.com" >&2
exec "$step" --root-hints "$here/zones/sandbox/root.hints" --ns-port "$port" "$@"
