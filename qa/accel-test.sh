#!/bin/bash
# The accelerator choice (image/accel.sh) tells the truth, on this machine and without KVM:
#   1. no KVM device (GPUHOST_KVM_DEVICE pointed at a missing path): tcg, and the reason says so;
#   2. this machine: auto's 4 s trial agrees with a longer look (the firmware run under KVM for
#      15 s, then qemu's own status through QMP): kvm exactly when KVM really runs the firmware;
#   3. the "still running" path of the trial itself (the trial run with TCG): qemu reports the
#      guest running and the choice is kvm, so a machine whose KVM works gets it.
# Prints one line per case; exit 1 on a wrong choice. ~25 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
accel=$here/../image/accel.sh
qmp=$here/../image/qmp.py
fail=0
check() { # NAME WANT GOT REASON
    if [[ $2 == "$3" ]]; then echo "accel-test: ok   $1: $3 ($4)"; else echo "accel-test: FAIL $1: want $2, got $3 ($4)"; fail=1; fi
}

err=$(mktemp); work=$(mktemp -d); trap 'rm -rf "$err" "$work"' EXIT
got=$(GPUHOST_KVM_DEVICE=/nonexistent/kvm ACCEL=auto "$accel" 2>"$err")
reason=$(cat "$err")
check "no KVM device" tcg "$got" "$reason"
[[ $reason == *"no /nonexistent/kvm"* ]] || { echo "accel-test: FAIL the reason does not name the missing device: $reason"; fail=1; }

# The longer look: what KVM does with the firmware in 15 s.
truth=tcg why="no usable /dev/kvm"
if [[ -r /dev/kvm && -w /dev/kvm ]]; then
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
    (qemu-system-x86_64 -accel kvm -machine q35,kernel-irqchip=split -cpu max -smp 2 -m 256 \
        -nodefaults -display none -serial none -monitor none -no-reboot -pidfile "$work/pid" \
        -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
        -drive if=pflash,format=raw,unit=1,file="$work/vars.fd" \
        -qmp "unix:$work/qmp.sock,server=on,wait=off"; exit $?) </dev/null >"$work/out" 2>&1 &
    look=$!
    for _ in $(seq 1 15); do kill -0 "$look" 2>/dev/null || break; sleep 1; done
    if status=$("$qmp" "$work/qmp.sock" query-status 2>/dev/null) && [[ $status == *'"running"'* ]]; then
        truth=kvm why="the firmware still runs under KVM after 15 s"
    else
        why="KVM did not keep the firmware running for 15 s: ${status:-qemu gone}; $(grep -a -m1 -iE 'error|abort' "$work/out" | tr -d '\r')"
    fi
    [[ ! -s $work/pid ]] || kill "$(cat "$work/pid")" 2>/dev/null || true
    wait 2>/dev/null || true
fi
echo "accel-test: this machine: $why"
got=$(ACCEL=auto "$accel" 2>"$err")
check "auto on this machine" "$truth" "$got" "$(cat "$err")"

got=$(GPUHOST_ACCEL_TRIAL_WITH=tcg ACCEL=auto GPUHOST_KVM_DEVICE=/dev/null "$accel" 2>"$err")
check "trial whose guest keeps running" kvm "$got" "$(cat "$err")"
exit $fail
