#!/bin/bash
# `make run`: boot the image under qemu on the demo machine and say where the status page is once
# /healthz answers, how long that took and where the time went.
#
#   SERIAL=stdio (default): the serial console is on this terminal (log in there; Ctrl-A X quits);
#                the page's URL and the timing are printed into it when ready.
#   SERIAL=FILE: qemu runs in the background with the console in FILE; this script waits for
#                /healthz, prints the URL and the timing and then waits for qemu (Ctrl-C stops it).
# HOST_PORT (default 8080), ACCEL, IMAGE, PROFILE as for image/vm.sh. RUN_TIMEOUT (default 300 s).
#
# The demo machine is image/vm.sh's with EXTRA_GPU=yes: besides the boot display a second GPU
# (display + HDMI-audio function, own IOMMU group), which the image's default policy passes
# through to vfio-pci. The image is the one `make image` built; nothing is changed for the demo.
#
# Accelerator: image/accel.sh chooses (KVM only after a trial with the firmware) and says why.
# When KVM still fails after start (qemu reports the guest stopped on an internal error, or
# qemu dies on a KVM error), the run says so and starts once more with TCG by itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${HOST_PORT:-8080}
wait_s=${RUN_TIMEOUT:-300}
serial=${SERIAL:-stdio}
url="https://127.0.0.1:$port/"
# The image serves loopback only; this boot hands it TLS, a token and 0.0.0.0:8080 as
# credentials (image/demo-page.sh, made once under build/demo-page/).
page_dir=$("$here/demo-page.sh")
page() { "$here/demo-page.sh" --curl "$port" "$@"; }

if curl -s -k -m 2 -o /dev/null "$url" 2>/dev/null || curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    echo "run.sh: something already answers on 127.0.0.1:$port; set HOST_PORT" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gpuhost-run.XXXXXX")
qemu=
poller=
cleanup() {
    [[ -z $poller ]] || kill "$poller" 2>/dev/null || true
    [[ -z $qemu ]] || kill "$qemu" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\r\n*** %s ***\r\n' "$*" >&2; }

# KVM failed after start? Either qemu said so (it sits paused with status "internal-error" on an
# emulation failure) or it died with a KVM error. Prints the reason.
kvm_failed() {
    local status
    "$here/accel.sh" --kvm-failure "$work/qemu.err" && return 0
    status=$("$here/qmp.py" "$work/qmp.sock" query-status 2>/dev/null) || return 1
    case $status in
        *'"internal-error"'*) echo "qemu reports the guest stopped: $status"; return 0 ;;
    esac
    return 1
}

# poll START_MS ACCEL: waits for the first 200 on /healthz, prints the URL and the timing.
# Exit 0 on the page, 3 when KVM failed (qemu is then stopped), 1 on a timeout or qemu's end.
poll() {
    local start=$1 accel=$2 ms why
    while :; do
        # -m 2: until the guest has its address, qemu's port forward accepts and then hangs.
        if page healthz -fsS -m 2 -o /dev/null 2>/dev/null; then
            ms=$(( $(date +%s%3N) - start ))
            echo "$ms" >"$work/healthz-ms"
            say "gpuhost status page: $url (first 200 on /healthz after $(( ms / 1000 )).$(( ms % 1000 / 100 )) s, accelerator $accel)"
            say "TLS with the demo CA $page_dir/ca.crt; every path but /healthz needs the token in $page_dir/token: image/demo-page.sh --curl $port api/v1/status"
            # The guest's timing report follows within seconds (after the boot's end).
            for _ in $(seq 1 120); do
                grep -q GPUHOST-TIMING-END "$work/timing.txt" 2>/dev/null && break
                sleep 1
            done
            if grep -q GPUHOST-TIMING-END "$work/timing.txt" 2>/dev/null; then
                "$here/boot-timing.py" "$work/timing.txt" "$ms" run "$start" | sed 's/$/\r/' >&2 || true
            else
                say "run.sh: no timing report from the guest within 120 s of the page"
            fi
            return 0
        fi
        if [[ $accel == kvm ]] && why=$(kvm_failed); then
            say "run.sh: KVM failed after start: $why"
            "$here/qmp.py" "$work/qmp.sock" quit >/dev/null 2>&1 || true
            return 3
        fi
        if [[ -n $qemu ]] && ! kill -0 "$qemu" 2>/dev/null; then
            if [[ $accel == kvm ]] && why=$(kvm_failed); then
                say "run.sh: KVM failed after start: $why"
                return 3
            fi
            say "run.sh: qemu exited before the page answered"
            return 1
        fi
        if (( $(date +%s%3N) - start > wait_s * 1000 )); then
            say "run.sh: ${url}healthz did not answer within $wait_s s"
            return 1
        fi
        sleep 0.5
    done
}

# boot ACCEL: one qemu run; its exit status as poll's (3: KVM failed).
boot() {
    local accel=$1 start rc=0
    shift
    rm -f "$work/qmp.sock" "$work/kvm-failed"
    : >"$work/qemu.err"
    start=$(date +%s%3N)
    local env=(ACCEL="$accel" HOST_PORT="$port" EXTRA_GPU=yes BOOT_TIMING="$work/timing.txt")
    if [[ $serial == stdio ]]; then
        # qemu owns the terminal; the poller reports into it. qemu's stderr is copied to a file
        # too, so a KVM error is seen.
        (poll "$start" "$accel"; echo $? >"$work/poll-rc") &
        poller=$!
        env "${env[@]}" SERIAL=stdio "$here/vm.sh" -qmp "unix:$work/qmp.sock,server=on,wait=off" "$@" \
            2> >(tee -a "$work/qemu.err" >&2) || rc=$?
        kill "$poller" 2>/dev/null || true
        wait "$poller" 2>/dev/null || true
        poller=
        [[ $(cat "$work/poll-rc" 2>/dev/null) == 3 ]] && return 3
        return $rc
    fi
    env "${env[@]}" SERIAL="$serial" "$here/vm.sh" -qmp "unix:$work/qmp.sock,server=on,wait=off" "$@" \
        </dev/null 2>"$work/qemu.err" &
    qemu=$!
    echo "run.sh: qemu pid $qemu, console in $serial" >&2
    poll "$start" "$accel" || rc=$?
    if (( rc != 0 )); then
        kill "$qemu" 2>/dev/null || true
        wait "$qemu" 2>/dev/null || true
        qemu=
        (( rc == 3 )) || { cat "$work/qemu.err" >&2; tail -n 50 "$serial" >&2 2>/dev/null || true; }
        return $rc
    fi
    wait "$qemu" || rc=$?
    qemu=
    return $rc
}

accel=$(ACCEL=${ACCEL:-auto} "$here/accel.sh")
rc=0
boot "$accel" "$@" || rc=$?
if (( rc == 3 )); then
    say "run.sh: starting once more with TCG (ACCEL=tcg)"
    rc=0
    boot tcg "$@" || rc=$?
fi
exit $rc
