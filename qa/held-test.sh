#!/bin/bash
# `make qa-held` (issue 10 in qemu): a guest process holds the non-boot display's DRM node open
# before gpuhost-agent runs; the agent must leave that function on its driver and say who holds it.
#
#   qa/held-test.sh     (IMAGE, PROFILE, QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK; see qa/lib.sh)
#
# Same machine and policy as `make qa` (qa/lib.sh), first boot (snapshot=on), plus an injected
# unit gpuhost-qa-hold.service (Type=notify, Before=gpuhost-agent.service) that runs qa/hold.sh:
# it waits until bochs-drm has bound the secondary display (class 0380, boot_vga 0) and its
# /dev/dri/cardN exists, opens it on fd 3 and becomes `sleep infinity`.
# Expected (qa/check.py held): the display stays on bochs-drm; state.json has its bind-vfio
# action "held" with a message naming the holder's pid and process name; edu is bound to
# vfio-pci (action "done"); gpuhost-agent.service failed (exit status != 0), state.json result
# "failed", the only failed unit; /healthz 503 naming the hold, /metrics gpuhost_healthy 0;
# kept functions untouched. What happens to the display's audio companion is reported (info).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export QA_UKI=$(dirname "$qa_image")/image.efi
export SNAPSHOT=on DISK_FORMAT=raw

hold_unit=$(cat <<'UNIT'
[Unit]
Description=gpuhost qa: hold the secondary display's DRM node open (injected by qa/held-test.sh)
After=systemd-udev-trigger.service
Before=gpuhost-agent.service

[Service]
# READY=1 only once the node is open: the agent starts after that.
Type=notify
NotifyAccess=main
TimeoutStartSec=300
ImportCredential=gpuhost-qa.hold
ExecStart=/bin/sh -c 'exec /bin/sh "$${CREDENTIALS_DIRECTORY}/gpuhost-qa.hold" 240'
UNIT
)
qa_extra_wants=(gpuhost-qa-hold.service)

qa_boot held "$qa_image" \
    -smbios "$(qa_cred systemd.extra-unit.gpuhost-qa-hold.service "$(printf '%s\n' "$hold_unit" | qa_b64)")" \
    -smbios "$(qa_cred gpuhost-qa.hold "$(qa_b64 "$qa_here/hold.sh")")"
qa_wait_http
qa_fetch_http
qa_wait_probe
qa_check held
qa_poweroff
qa_log "PASS (first /healthz answer after $(qa_secs "$qa_t_health")s, probe after $(qa_secs "$qa_t_probe")s)"
