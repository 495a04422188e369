#!/bin/bash
# A diagnosis boot, no checks: boot an image on the qa machine (qa/lib.sh: same devices,
# credentials and probe), poll /healthz and record every attempt, wait for the probe's report,
# then run DIAG_CMD in the guest over SSH and keep its output. Used for issue 19's "where does
# the first boot's time go" (image/README.md, qa-compare):
#   SECUREBOOT=no QA_CMDLINE_EXTRA='systemd.log_level=debug systemd.log_target=kmsg
#     log_buf_len=32M printk.devkmsg=on' DIAG_CMD=dmesg qa/diag-boot.sh
# Without Secure Boot systemd-stub appends QA_CMDLINE_EXTRA to the signed UKI's command line;
# with it the extra line is ignored. Commas inside one option's value are doubled for qemu's
# -smbios (lsm=lockdown,,capability,,...).
# Environment: IMAGE, PROFILE, QA_PORT (SSH on QA_PORT+2), QA_TIMEOUT, SECUREBOOT (default no),
# QA_CMDLINE_EXTRA, DIAG_CMD (default: the journal, systemd-analyze blame and critical-chain),
# DIAG_OUT (default build/qa/<variant>/diag): out.txt, attempts.txt, serial.log, timing.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export SNAPSHOT=on DISK_FORMAT=raw SECUREBOOT=${SECUREBOOT:-no}
ssh_port=$((qa_port + 2))
export EXTRA_HOSTFWD="tcp:127.0.0.1:$ssh_port-:22"
out=${DIAG_OUT:-$qa_root/build/qa/$(basename "$(dirname "$qa_image")")/diag}
cmd=${DIAG_CMD:-"journalctl -b -o short-monotonic --no-pager; systemd-analyze blame --no-pager; systemd-analyze critical-chain gpuhost-serve.service --no-pager"}
mkdir -p "$out"
qa_boot diag "$qa_image"
health=none
: >"$qa_dir/attempts.txt"
while ! grep -q GPUHOST-QA-END "$qa_dir/probe.txt"; do
    qa_alive || qa_fail "qemu exited before the probe reported"
    qa_expired && qa_fail "no probe report within ${qa_timeout}s"
    if [[ $health == none ]]; then
        # One line per attempt: seconds since qemu start, HTTP code, connect/TLS/total times, curl's exit.
        r=$(qa_page "$qa_port" healthz -s -m 2 -o /dev/null \
            -w '%{http_code} connect=%{time_connect} tls=%{time_appconnect} total=%{time_total}' 2>&1; echo " rc=$?")
        echo "$(qa_since "$qa_t0") $r" >>"$qa_dir/attempts.txt"
        [[ $r != 200* ]] || { health=$(qa_since "$qa_t0"); qa_log "first /healthz 200 after ${health}s"; }
    fi
    sleep 0.5
done
guest() {
    ssh -q -i "$qa_work/id_ed25519" -p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=20 \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}
for _ in $(seq 60); do guest true && break; sleep 2; done
guest "$cmd" >"$out/out.txt" 2>&1 || qa_log "DIAG_CMD exited non-zero (output kept)"
cp "$qa_dir/serial.log" "$qa_dir/attempts.txt" "$out/"
cp "$qa_dir/timing.txt" "$out/" 2>/dev/null || true
echo "healthz $health" >"$out/healthz"
qa_log "kept $out (out.txt, attempts.txt, serial.log, timing.txt)"
qa_poweroff
