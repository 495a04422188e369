#!/bin/bash
# Boot time of an image on the qa machine (qa/lib.sh: same qemu settings, devices, credentials and
# probe as `make qa`), without checks: qemu start -> the login prompt on the serial console, the
# first /healthz answer when the image serves one, the probe's report (after `systemctl
# is-system-running --wait`), and the guest's systemd-analyze line. The probe report and the
# times are kept in build/qa/<image variant>/boot-time/ (qa/compare.sh reads them).
#   PROFILE=bare-trixie make image && make qa-boot-time PROFILE=bare-trixie
#   make qa-boot-time
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export SNAPSHOT=on DISK_FORMAT=raw
qa_boot boot-time "$qa_image"
health=none
qa_t_login=
while ! grep -q GPUHOST-QA-END "$qa_dir/probe.txt"; do
    qa_alive || qa_fail "qemu exited before the probe reported"
    qa_expired && qa_fail "no probe report within ${qa_timeout}s"
    # agetty's prompt on ttyS0 ("<hostname> login: "), the moment a person could log in.
    if [[ -z $qa_t_login ]] && grep -aq ' login: ' "$qa_dir/serial.log" 2>/dev/null; then
        qa_t_login=$(( $(qa_now) - qa_t0 ))
    fi
    if [[ $health == none ]] && qa_page "$qa_port" healthz -fs -m 2 -o /dev/null 2>/dev/null; then
        health="$(qa_since "$qa_t0")s"
    fi
    sleep 0.2
done
t_probe=$(qa_since "$qa_t0")
# The prompt can come after the probe's report: wait for it a little longer.
for _ in $(seq 1 150); do
    [[ -z $qa_t_login ]] || break
    grep -aq ' login: ' "$qa_dir/serial.log" 2>/dev/null && qa_t_login=$(( $(qa_now) - qa_t0 )) && break
    sleep 0.2
done
[[ -n $qa_t_login ]] || qa_fail "no login prompt on the serial console within 30s of the probe's report"
report=$(tr -d '\r' <"$qa_dir/probe.txt")
qa_log "login prompt after $(qa_secs "$qa_t_login")s from qemu start; is-system-running: $(sed -n 's/^is-system-running: //p' <<<"$report") after ${t_probe}s (first /healthz 200: $health)"
qa_log "guest: $(sed -n 's/^systemd-analyze: //p' <<<"$report")"
qa_keep
qa_poweroff
