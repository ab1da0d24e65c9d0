#!/bin/sh
# with-upstream.sh STEP-BINARY UPSTREAM-BINARY [ARGS...]: what `make step-6` runs.
#
# A forwarder needs a resolver to forward to, and these machines may have no
# network. Unless RESOLVER=ip:port is set, this starts UPSTREAM-BINARY (the
# step-5 server) on 127.0.0.1:$UPSTREAM_PORT (default 2054) serving the
# example zones, then runs STEP-BINARY --resolver 127.0.0.1:$UPSTREAM_PORT
# ARGS in the foreground, and stops the upstream when it ends (Ctrl-C stops
# both). With RESOLVER set, it runs STEP-BINARY --resolver $RESOLVER ARGS only.
set -u
step=$1 upstream=$2
shift 2
if [ -n "${RESOLVER:-}" ]; then
    exec "$step" --resolver "$RESOLVER" "$@"
fi
port=${UPSTREAM_PORT:-2054}
here=$(dirname "$(dirname "$0")")
"$upstream" --port "$port" --log-level warn \
    --zone "$here/zones/example.com.zone" --zone "$here/zones/2.0.192.in-addr.arpa.zone" &
upstream_pid=$!
# The upstream stops with this script, however it ends.
trap 'kill "$upstream_pid" 2>/dev/null; wait "$upstream_pid" 2>/dev/null' EXIT
# Bounded: 50 checks 20 ms apart, for the upstream to bind its port (or fail).
i=0
while [ $i -lt 50 ]; do
    kill -0 "$upstream_pid" 2>/dev/null || { echo "the upstream ($upstream) did not start" >&2; exit 1; }
    if command -v ss >/dev/null 2>&1; then
        ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && break
    else
        sleep 0.2 && break
    fi
    sleep 0.02
    i=$((i + 1))
done
echo "upstream: $upstream on 127.0.0.1:$port serving the example zones" >&2
# The forwarder runs in the background so that this shell can pass on a
# signal sent to it alone (kill PID, not only Ctrl-C to the whole group):
# sh runs no trap while it waits for a foreground child. The forwarder
# installs its own handlers, so the SIGINT a background job would ignore
# still reaches it.
"$step" --resolver "127.0.0.1:$port" "$@" &
step_pid=$!
got=
trap 'got=INT; kill -INT "$step_pid" 2>/dev/null' INT
trap 'got=TERM; kill -TERM "$step_pid" 2>/dev/null' TERM
trap 'got=HUP; kill -HUP "$step_pid" 2>/dev/null' HUP
# Bounded: each wait returns when the forwarder exits or a signal comes,
# and the forwarder stops on each signal passed to it.
status=0
while kill -0 "$step_pid" 2>/dev/null; do
    wait "$step_pid"
    status=$?
done
# Ctrl-C: die of SIGINT too, once the upstream is stopped, so that make, which
# got the same SIGINT, sees the child it waits for end as it ended itself
# (exiting 0 instead confuses make: "wait: No child processes"). After
# SIGTERM or SIGHUP the forwarder's own status (0) is the script's.
if [ "$got" = INT ]; then
    kill "$upstream_pid" 2>/dev/null
    wait "$upstream_pid" 2>/dev/null
    trap - EXIT INT
    kill -INT $$
fi
exit $status
