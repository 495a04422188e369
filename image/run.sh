#!/bin/bash
# `make run`: boot the image under qemu and say where the status page is once /healthz answers.
#
#   SERIAL=stdio (default): the serial console is on this terminal (log in there; Ctrl-A X quits);
#                the page's URL is printed into it when ready.
#   SERIAL=FILE: qemu runs in the background with the console in FILE; this script waits for
#                /healthz, prints the URL and then waits for qemu (Ctrl-C stops it).
# HOST_PORT (default 8080), ACCEL, IMAGE, PROFILE as for image/vm.sh. RUN_TIMEOUT (default 300 s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${HOST_PORT:-8080}
wait_s=${RUN_TIMEOUT:-300}
serial=${SERIAL:-stdio}
url="http://127.0.0.1:$port/"

if curl -s -m 2 -o /dev/null "$url" 2>/dev/null; then
    echo "run.sh: something already answers on 127.0.0.1:$port; set HOST_PORT" >&2
    exit 1
fi

start=$(date +%s%3N)
poll() {
    while :; do
        if curl -fsS -m 3 -o /dev/null "${url}healthz" 2>/dev/null; then
            local ms=$(( $(date +%s%3N) - start ))
            printf '\r\n*** gpuhost status page: %s (healthz after %d.%d s) ***\r\n' \
                "$url" $(( ms / 1000 )) $(( ms % 1000 / 100 )) >&2
            return 0
        fi
        if (( $(date +%s%3N) - start > wait_s * 1000 )); then
            printf '\r\n*** run.sh: %shealthz did not answer within %s s ***\r\n' "$url" "$wait_s" >&2
            return 1
        fi
        sleep 1
    done
}

if [[ $serial == stdio ]]; then
    poll &
    poller=$!
    trap 'kill $poller 2>/dev/null || true' EXIT
    SERIAL=stdio HOST_PORT=$port "$here/vm.sh" "$@"
else
    SERIAL=$serial HOST_PORT=$port "$here/vm.sh" "$@" </dev/null &
    qemu=$!
    trap 'kill $qemu 2>/dev/null || true' EXIT INT TERM
    echo "run.sh: qemu pid $qemu, console in $serial" >&2
    poll || { tail -n 50 "$serial" >&2; exit 1; }
    wait "$qemu"
fi
