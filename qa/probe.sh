#!/bin/sh
# Runs INSIDE the guest under test (handed in as the SMBIOS credential gpuhost-qa.probe and
# started by gpuhost-qa-probe.service, which qa/boot-test.sh injects as systemd.extra-unit).
# Waits for boot to finish, then writes a report to the virtio serial port "probe"; the host
# reads it from a file. Writing to ttyS0 instead would lose output once a getty opens it.
out=/dev/virtio-ports/probe
state=$(systemctl is-system-running --wait 2>&1)
{
    echo "GPUHOST-QA-BEGIN"
    echo "is-system-running: $state"
    echo "cmdline: $(cat /proc/cmdline)"
    echo "uptime: $(cut -d' ' -f1 /proc/uptime)"
    for unit in gpuhost-agent.service gpuhost-serve.service ssh.service systemd-networkd.service; do
        echo "active: $unit $(systemctl is-active "$unit")"
    done
    echo "state-dir: $(ls /var/lib/gpuhost 2>/dev/null | tr '\n' ' ')"
    echo "agent-log-begin"
    journalctl -b -u gpuhost-agent.service -u gpuhost-serve.service --no-pager -o cat 2>&1 | tail -n 40
    echo "agent-log-end"
    echo "failed-units-begin"
    systemctl --failed --no-legend --plain
    echo "failed-units-end"
    echo "GPUHOST-QA-END"
} >"$out" 2>&1
