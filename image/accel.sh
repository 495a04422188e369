#!/bin/bash
# Choose qemu's accelerator and say why: prints "kvm" or "tcg" on stdout and one line of reason
# on stderr ("accel: tcg: ...").
#
#   ACCEL=auto|kvm|tcg image/accel.sh
#   image/accel.sh --kvm-failure QEMU-LOG   print the first line of QEMU-LOG (qemu's stderr) that
#                                          says KVM failed; exit 0 when there is one, 1 if not
#
# auto uses KVM only after a trial that runs what a real boot runs first: the q35 machine of
# image/vm.sh with the OVMF firmware, for ACCEL_TRIAL_S seconds (default 4), then asks qemu itself
# through QMP whether the guest is still "running". On some machines /dev/kvm opens and qemu
# starts, and KVM fails only later: at the first vCPU setup ("failed to set MSR 0x10a", qemu
# aborts) or once the firmware runs ("KVM internal error. Suberror: 1 ... emulation failure",
# qemu then sits paused with status internal-error). An empty machine without firmware passes
# both, which is why the old 2 s trial of an empty machine chose KVM on machines where it fails.
#
# The trial runs the firmware the images boot with: OVMF's Secure Boot build with SMM (image/vm.sh
# boots every signed image so; issue 15), since KVM without SMM support (seen here: nested KVM,
# "System Management Mode not supported by this hypervisor") cannot run it. A PXE boot, which
# runs without Secure Boot, is then tried the same way: on such a machine it gets TCG too.
#
# Environment: GPUHOST_KVM_DEVICE (default /dev/kvm; qa/accel-test.sh points it at a missing
# path to test the no-KVM machine), ACCEL_TRIAL_S, OVMF_CODE (default OVMF_CODE_4M.secboot.fd
# with SMM, or OVMF_CODE_4M.fd where Debian's ovmf has no Secure Boot build),
# GPUHOST_ACCEL_TRIAL_WITH (test only, default kvm: the accelerator the trial runs with;
# qa/accel-test.sh sets tcg to prove the "guest still running" path on machines without KVM).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
accel=${ACCEL:-auto}
kvm_dev=${GPUHOST_KVM_DEVICE:-/dev/kvm}
trial_s=${ACCEL_TRIAL_S:-4}
ovmf_code=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.secboot.fd}
[[ -n ${OVMF_CODE:-} || -f $ovmf_code ]] || ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
trial_machine=(-machine q35,kernel-irqchip=split)
trial_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
if [[ $ovmf_code == *secboot* ]]; then
    trial_machine=(-machine q35,kernel-irqchip=split,smm=on
                   -global driver=cfi.pflash01,property=secure,value=on -global ICH9-LPC.disable_s3=1)
    trial_vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
fi

choose() { echo "accel: $1: $2" >&2; echo "$1"; exit 0; }

# What qemu prints when KVM fails after start: the emulation failure ("KVM internal error.
# Suberror: 1") or its own KVM errors and aborts ("qemu-system-x86_64: error: failed to set MSR
# 0x10a", "...: kvm: ...", the kvm.c assertion, "System Management Mode not supported by this
# hypervisor" for a Secure Boot machine). image/run.sh and qa/lib.sh ask this.
if [[ ${1:-} == --kvm-failure ]]; then
    line=$(grep -a -m1 -E 'KVM internal error|^qemu-system-x86_64: .*([Kk][Vv][Mm]|MSR|not supported by this hypervisor)' "$2" 2>/dev/null | tr -d '\r') || true
    [[ -n $line ]] || exit 1
    echo "$line"
    exit 0
fi

case $accel in
    kvm) choose kvm "ACCEL=kvm (no trial; a KVM failure after start ends the run)" ;;
    tcg) choose tcg "ACCEL=tcg" ;;
    auto) ;;
    *) echo "accel: ACCEL must be auto, kvm or tcg (got '$accel')" >&2; exit 1 ;;
esac

[[ -e $kvm_dev ]] || choose tcg "no $kvm_dev (no KVM on this machine)"
[[ -r $kvm_dev && -w $kvm_dev ]] || choose tcg "$kvm_dev is not readable and writable by $(id -un)"
[[ -f $ovmf_code ]] || choose tcg "no firmware $ovmf_code to try KVM with"

work=$(mktemp -d "${TMPDIR:-/tmp}/gpuhost-accel.XXXXXX")
qemu=
cleanup() {
    # qemu itself (its -pidfile), then the subshell around it.
    [[ ! -s $work/qemu.pid ]] || kill "$(cat "$work/qemu.pid")" 2>/dev/null || true
    [[ -z $qemu ]] || { kill "$qemu" 2>/dev/null || true; wait "$qemu" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
cp "$trial_vars" "$work/vars.fd"
# In a subshell whose stderr is the log, so bash's "Aborted" job message lands there too.
(qemu-system-x86_64 -accel "${GPUHOST_ACCEL_TRIAL_WITH:-kvm}" "${trial_machine[@]}" -cpu max -smp 2 -m 256 \
    -nodefaults -display none -serial none -monitor none -no-reboot -pidfile "$work/qemu.pid" \
    -drive if=pflash,format=raw,unit=0,readonly=on,file="$ovmf_code" \
    -drive if=pflash,format=raw,unit=1,file="$work/vars.fd" \
    -qmp "unix:$work/qmp.sock,server=on,wait=off"; exit $?) </dev/null >"$work/qemu.out" 2>&1 &
qemu=$!
first_error() { grep -a -m1 -iE 'error|abort|fail|not supported' "$work/qemu.out" | tr -d '\r' | cut -c1-160; }

deadline=$(( $(date +%s%3N) + trial_s * 1000 ))
while (( $(date +%s%3N) < deadline )); do
    if ! kill -0 "$qemu" 2>/dev/null; then
        wait "$qemu" 2>/dev/null || true
        qemu=
        choose tcg "qemu exited during the KVM trial with the firmware: $(first_error)"
    fi
    sleep 0.5
done
status=$("$here/qmp.py" "$work/qmp.sock" query-status 2>&1) ||
    choose tcg "qemu did not answer QMP during the KVM trial ($status)"
state=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status", "?"))' "$status")
if [[ $state == running ]]; then
    choose kvm "the firmware ran ${trial_s} s under KVM and qemu reports the guest running"
fi
choose tcg "KVM stopped the guest within ${trial_s} s of firmware (qemu status '$state'$(e=$(first_error); [[ -z $e ]] || echo ": $e"))"
