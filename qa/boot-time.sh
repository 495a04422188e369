#!/bin/bash
# Boot time of an image on the qa machine (qa/lib.sh: same qemu settings, devices, credentials and
# probe as `make qa`), without checks: qemu start -> the probe's report (after `systemctl
# is-system-running --wait`), first /healthz answer when the image serves one, and the guest's
# systemd-analyze line. For comparing the kvm-host image with the bare-trixie baseline:
#   PROFILE=bare-trixie make image && make qa-boot-time PROFILE=bare-trixie
#   make qa-boot-time
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export SNAPSHOT=on DISK_FORMAT=raw
qa_boot "boot-time-$qa_profile" "$qa_image"
health=none
while ! grep -q GPUHOST-QA-END "$qa_dir/probe.txt"; do
    qa_alive || qa_fail "qemu exited before the probe reported"
    qa_expired && qa_fail "no probe report within ${qa_timeout}s"
    if [[ $health == none ]] && curl -fs -m 2 -o /dev/null "http://127.0.0.1:$qa_port/healthz" 2>/dev/null; then
        health="$(qa_since "$qa_t0")s"
    fi
    sleep 1
done
t_probe=$(qa_since "$qa_t0")
report=$(tr -d '\r' <"$qa_dir/probe.txt")
qa_log "is-system-running: $(sed -n 's/^is-system-running: //p' <<<"$report") after ${t_probe}s from qemu start (first /healthz 200: $health)"
qa_log "guest: $(sed -n 's/^systemd-analyze: //p' <<<"$report")"
qa_poweroff
