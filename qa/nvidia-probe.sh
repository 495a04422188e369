#!/bin/sh
# Runs INSIDE the nvidia image under test (handed in as the SMBIOS credential gpuhost-qa.nvprobe
# by qa/nvidia-boot-test.sh, next to qa/probe.sh). Reports what issue 7 asks of a machine without
# an NVIDIA GPU, over the virtio serial port "nvprobe": modules loaded, the nouveau blacklist as
# modprobe sees it, the driver's units, the agent's view. POSIX sh (no bash or python in the image).
out=/dev/virtio-ports/nvprobe
state=$(systemctl is-system-running --wait 2>&1)
section() { # NAME COMMAND...
    name=$1; shift
    echo "$name-begin"
    "$@" 2>&1
    echo "$name-end"
}
{
    echo "NVPROBE-BEGIN"
    echo "is-system-running: $state"
    echo "cmdline: $(cat /proc/cmdline)"
    echo "kernel: $(uname -r)"
    section proc-modules sh -c "cut -d' ' -f1 /proc/modules | sort"
    section sys-module-nvidia sh -c 'ls -d /sys/module/nvidia* /sys/module/nouveau 2>/dev/null; true'
    section dkms-modules sh -c 'ls /usr/lib/modules/$(uname -r)/updates/dkms'
    section modprobe-blacklist sh -c "modprobe --showconfig | grep -E '^blacklist (nouveau|nvidia)' | sort -u"
    # What an H200's modalias (10de:2335, class 0302) maps to: nvidia only, never nouveau.
    section alias-h200 modprobe -R pci:v000010DEd00002335sv000010DEsd000018BFbc03sc02i00
    # udev's load of that modalias (modprobe -b, dry run): nothing, the image blacklists nvidia
    # (overlays/nvidia/usr/lib/modprobe.d); the agent's load by name (no -b): the driver.
    section udev-load-h200 modprobe -n -v -b pci:v000010DEd00002335sv000010DEsd000018BFbc03sc02i00
    section agent-load-nvidia modprobe -n -v nvidia
    section modules-load-d sh -c 'ls /etc/modules-load.d /usr/lib/modules-load.d 2>/dev/null'
    for p in ActiveState Result ConditionResult UnitFileState; do
        echo "persistenced: $p=$(systemctl show -P "$p" nvidia-persistenced.service)"
    done
    echo "modules-load: $(systemctl show -P ActiveState systemd-modules-load.service) result=$(systemctl show -P Result systemd-modules-load.service)"
    echo "nvidia-smi: $(command -v nvidia-smi)"
    echo "libnvidia-ml: $(ls /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1 2>&1)"
    section gpu-status gpuhost-agent gpu-status
    echo "gpu-status-rc: $(gpuhost-agent gpu-status >/dev/null 2>&1; echo $?)"
    section serve-dropins systemctl cat gpuhost-serve.service
    section failed-units systemctl --failed --no-legend --plain
    section nvidia-journal sh -c "journalctl -b --no-pager -q -o short-monotonic | grep -iE 'nvidia|nouveau|NVRM' | grep -v audit | tail -n 30"
    # issue 15, last (it loads modules; everything above saw the boot as it was): the image boots
    # with Secure Boot enforced (image/vm.sh), every DKMS module is signed with the image's
    # certificate, so the kernel's signature check passes and `modprobe nvidia` fails only for
    # lack of an NVIDIA device ("No such device"), never "Key was rejected by service".
    echo "secure-boot: $(bootctl status 2>&1 | grep -m1 -E 'Secure Boot:|not found' | sed 's/^ *//; s/^Secure Boot: *//')"
    echo "secure-boot-efivar: $(od -An -t u1 -j4 -N1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>&1 | tr -d ' ')"
    for f in /usr/lib/modules/$(uname -r)/updates/dkms/*.ko*; do
        echo "module-signer: ${f##*/} $(modinfo -F signer "$f" 2>&1 | head -n 1)"
    done
    section modprobe-nvidia sh -c 'modprobe nvidia 2>&1; echo "rc=$?"; journalctl -b -k -q --no-pager -o cat | grep -E "NVRM|nvidia|[Kk]ey|signature" | tail -n 5'
    echo "NVPROBE-END"
} >"$out" 2>&1
