#!/bin/sh
# Runs inside the guest (handed in by image/run.sh and qa/lib.sh as the credential
# gpuhost-timing.script, started by an injected unit ordered after gpuhost-serve.service; the image
# itself carries nothing of it). Writes where the boot's time went to the virtio serial port
# "gpuhost-timing", for image/boot-timing.py on the host:
#   clock NS UP   the guest's wall clock (ns since the epoch) and /proc/uptime (s) at one moment
#   manager ...   systemd's firmware/loader/initrd/userspace timestamps (CLOCK_MONOTONIC, us)
#   unit U ...    when U left "inactive" and entered "active"
#   net ...       the first DHCPv4 lease (systemd-networkd's journal, monotonic seconds)
#   blame/chain   systemd-analyze's view, for a person reading the file
out=/dev/virtio-ports/gpuhost-timing
[ -e "$out" ] || exit 0
# Wait for the boot's end (bounded): before it, systemd-analyze refuses to answer.
timeout 300 systemctl is-system-running --wait >/dev/null 2>&1
{
    # The guest's wall clock and its uptime read together: the kernel's start on the wall clock,
    # which the host compares with qemu's start for the firmware and loader's share when
    # systemd has no loader timestamps (the guest clock comes from the RTC: +-1 s).
    echo "clock $(date +%s%N) $(cut -d ' ' -f 1 /proc/uptime)"
    echo "manager $(systemctl show -p FirmwareTimestampMonotonic -p LoaderTimestampMonotonic \
        -p InitRDTimestampMonotonic -p UserspaceTimestampMonotonic -p FinishTimestampMonotonic | tr '\n' ' ')"
    for u in gpuhost-agent.service gpuhost-serve.service systemd-udev-settle.service \
        systemd-networkd.service sshd-keygen.service ssh.service multi-user.target; do
        echo "unit $u $(systemctl show -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic "$u" | tr '\n' ' ')"
    done
    echo "net $(journalctl -b -q -o short-monotonic --no-pager -u systemd-networkd.service | grep -m1 'DHCPv4 address' | sed 's/^\[ *\([0-9.]*\)\].*/\1/')"
    echo "analyze $(systemd-analyze time 2>&1 | head -n 1)"
    journalctl -b -q -o short-monotonic --no-pager -u gpuhost-agent.service -u gpuhost-serve.service \
        2>&1 | head -n 30 | sed 's/^/journal /'

    systemd-analyze blame --no-pager 2>&1 | head -n 15 | sed 's/^/blame /'
    systemd-analyze critical-chain --no-pager gpuhost-serve.service 2>&1 | sed 's/^/chain /'
    echo "GPUHOST-TIMING-END"
} >"$out" 2>&1
