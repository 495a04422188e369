#!/bin/bash
# `make qa`: boot the built image twice under qemu, headless, and check both boots.
#
#   qa/boot-test.sh     (IMAGE, PROFILE, QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK; see qa/lib.sh)
#   QA_BOOTS=first      only the first boot
#
# The disk is a qcow2 overlay of the built image (the image file never changes), attached
# WITHOUT snapshot=on, so the second boot sees what the first one wrote.
#
# Boot 1 ("first", first boot of the image), with the test policy qa/policy.json and the extra
# PCI devices of qa/lib.sh (edu, an e1000e NIC kept on the host, a non-boot bochs-display with an
# ich9-intel-hda companion), checks (qa/check.py first):
#   system "running", no failed units, gpuhost-agent.service succeeded, state.json result
#   ok/degraded, state.json inventory lists every function in /sys/bus/pci/devices; edu, the
#   secondary display and its audio function on vfio-pci with /dev/vfio/<group>, bind actions
#   "done"; the boot VGA, the e1000e and the virtio functions on their drivers with no
#   driver_override and no bind action; the default route on the management NIC; the kernel
#   parameters baked into the UKI (.cmdline of image.efi) all in /proc/cmdline; every sysctl of
#   /etc/sysctl.d/90-gpuhost-hardening.conf reads back (sysctl -n); no priority-err journal line
#   from gpuhost-agent; /healthz 200, /api/v1/status 200 JSON, /metrics 200 with
#   gpuhost_healthy 1, through the port forward. First boot (qa/first_boot.py): the image file
#   has no machine-id and no SSH host key (read with debugfs), the guest has a machine-id of its
#   own and ED25519/RSA/ECDSA host keys made at this boot, root's authorized_keys holds the key
#   qa handed in as the ssh.authorized_keys.root SMBIOS credential (mode 600), root is locked,
#   systemd-firstboot finished without a prompt, locale/timezone/hostname are the recipe's
#   presets and the image's vconsole.conf has its keymap.
#   libvirt (qa/libvirt_vm.py, both boots): the probe defines (never starts) gpuhost-qa-vm with
#   edu and both display functions as PCI host devices through the real libvirtd; serve's own
#   reading shows it on /api/v1/status (VM shut off with the three devices, the display GPU's
#   owner, a two-function <hostdev> snippet), the page and /metrics. First boot, after the
#   report: gpuhost-agent restore, then the agent unit again while libvirtd runs: every bind
#   goes through libvirt (virNodeDeviceDetachFlags, "through libvirt"), and the API then has
#   libvirt's domain capabilities (PCI hostdev with the vfio backend).
# Before booting: build/<variant>/SHA256SUMS matches the outputs.
# Boot 2 ("second", the same disk again) checks the same, and: every action in state.json is
#   unchanged/missing/skipped (no "done"), the bind actions are "unchanged" and the inventory
#   saw the vfio functions on vfio-pci (the agent-written udev rules bound them at boot); the
#   machine-id and the SSH host keys are those of the first boot.
# Prints each check with what it found and the time from qemu start to the first /healthz
# answer. On failure: the serial log, the probe report (unit states, PCI functions, journal
# excerpts), exit 1; the work directory is kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

boots=${QA_BOOTS:-first second}
export QA_UKI=$(dirname "$qa_image")/image.efi
export QA_IMAGE=$qa_image   # qa/first_boot.py reads its /etc/machine-id and /etc/ssh

# The outputs are what image/sums.sh recorded (a truncated or half-copied image fails here).
if [[ -f $(dirname "$qa_image")/SHA256SUMS ]]; then
    (cd "$(dirname "$qa_image")" && sha256sum --check --quiet SHA256SUMS) ||
        { echo "qa: $(dirname "$qa_image")/SHA256SUMS does not match the outputs" >&2; exit 1; }
    echo "qa: SHA256SUMS ok ($(wc -l <"$(dirname "$qa_image")/SHA256SUMS") files)"
else
    echo "qa: no SHA256SUMS next to $qa_image (image/sums.sh writes it after every build)" >&2
    exit 1
fi
total0=$(qa_now)

disk=$qa_work/disk.qcow2
qemu-img create -q -f qcow2 -b "$qa_image" -F raw "$disk"
export SNAPSHOT=off DISK_FORMAT=qcow2

summary=()
prev=
for b in $boots; do
    qa_boot "$b" "$disk"
    qa_wait_http
    qa_fetch_http
    qa_wait_probe
    QA_PREV_DIR=$prev qa_check "$b"
    qa_timing
    qa_keep
    qa_poweroff
    summary+=("$b: healthz after $(qa_secs "$qa_t_health")s, probe after $(qa_secs "$qa_t_probe")s")
    prev=$qa_dir
done
qa_name=all
qa_log "PASS ($(IFS=';'; echo "${summary[*]}"); $(qa_since "$total0")s in all)"
