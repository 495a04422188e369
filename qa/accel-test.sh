#!/bin/bash
# The accelerator choice (image/accel.sh) tells the truth, on this machine and without KVM:
#   1. no KVM device (GPUHOST_KVM_DEVICE pointed at a missing path): tcg, and the reason says so;
#   2. this machine: auto's 4 s trial agrees with a longer look (the same trial for 15 s: the
#      firmware under KVM, then qemu's own status through QMP): kvm exactly when KVM really runs
#      the firmware;
#   3. the "still running" path of the trial itself (the trial run with TCG): qemu reports the
#      guest running and the choice is kvm, so a machine whose KVM works gets it.
#   4. accel.sh --kvm-failure, what run.sh and qa watch qemu's log with, on three sample logs.
# Prints one line per case; exit 1 on a wrong choice. ~25 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
accel=$here/../image/accel.sh
fail=0
check() { # NAME WANT GOT REASON
    if [[ $2 == "$3" ]]; then echo "accel-test: ok   $1: $3 ($4)"; else echo "accel-test: FAIL $1: want $2, got $3 ($4)"; fail=1; fi
}

err=$(mktemp); trap 'rm -f "$err"' EXIT
got=$(GPUHOST_KVM_DEVICE=/nonexistent/kvm ACCEL=auto "$accel" 2>"$err")
reason=$(cat "$err")
check "no KVM device" tcg "$got" "$reason"
[[ $reason == *"no /nonexistent/kvm"* ]] || { echo "accel-test: FAIL the reason does not name the missing device: $reason"; fail=1; }

# The longer look: the same trial for 15 s, so a 4 s trial that passes a KVM which fails
# later in the firmware shows up as a disagreement.
truth=$(ACCEL=auto ACCEL_TRIAL_S=15 "$accel" 2>"$err")
why=$(cat "$err")
echo "accel-test: this machine: $why"
got=$(ACCEL=auto "$accel" 2>"$err")
check "auto on this machine" "$truth" "$got" "$(cat "$err")"

got=$(GPUHOST_ACCEL_TRIAL_WITH=tcg ACCEL=auto GPUHOST_KVM_DEVICE=/dev/null "$accel" 2>"$err")
check "trial whose guest keeps running" kvm "$got" "$(cat "$err")"
# The words run.sh and qa watch for once a KVM boot runs: the emulation failure and qemu's own
# KVM errors count; vm.sh's and accel.sh's lines naming "-accel kvm" do not.
printf 'vm.sh: disk, -accel kvm\naccel: kvm: ACCEL=kvm\nKVM internal error. Suberror: 1\r\n' >"$err"
got=$("$accel" --kvm-failure "$err") || got=none
check "a KVM internal error in qemu's log is seen" "KVM internal error. Suberror: 1" "$got" "accel.sh --kvm-failure"
printf 'vm.sh: disk, -accel kvm, Secure Boot yes\nqemu-system-x86_64: System Management Mode not supported by this hypervisor.\n' >"$err"
got=$("$accel" --kvm-failure "$err") || got=none
check "KVM without SMM (Secure Boot firmware) is seen" "qemu-system-x86_64: System Management Mode not supported by this hypervisor." "$got" "accel.sh --kvm-failure"
printf 'vm.sh: disk, -accel kvm\naccel: kvm: ACCEL=kvm\n' >"$err"
got=$("$accel" --kvm-failure "$err") || got=none
check "a log without a KVM error is not taken for one" none "$got" "accel.sh --kvm-failure"
exit $fail
