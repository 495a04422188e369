#!/bin/bash
# `make qa` (and `make qa-data-disk`): boot the built image twice under qemu, headless, and check
# both boots with both judges: qa/check.py (scenario first/second) and qa/check_data_disk.py.
#
#   qa/boot-test.sh     (IMAGE, PROFILE, QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK; see qa/lib.sh)
#   QA_BOOTS="first tampered"   a subset (default: first second tampered)
#
# Then a third, short boot (qa/tamper.sh): a copy of the disk with one byte of the verity root
# changed must stop at dm-verity's error on the console, the page never answering.
#
# The disk is a qcow2 overlay of the built image (the image file never changes), attached
# WITHOUT snapshot=on, so the second boot sees what the first one wrote.
#
# The machine, on both boots: qa/lib.sh's (edu, an e1000e NIC kept on the host, a non-boot
# bochs-display with an ich9-intel-hda companion) plus the data disk (issue 20; formerly two more
# boots of its own, qa/data-disk-test.sh): a conventional PCI bridge (pcie-pci-bridge on its own
# root port: everything behind it is one IOMMU group) holding a second bochs-display and a
# virtio-blk disk with an ext4 file system, mounted at /var/lib/libvirt/images through the
# fstab.extra credential. The test policy passes every non-boot bochs-display through, so the plan
# wants the bridge's display on vfio-pci; its group holds a disk the host uses, so it must stay on
# the host with one warning, and the run's result is "degraded" (QA_DATA_DISK=yes tells
# qa/check.py). qa/fleet-test.sh, qa/held-test.sh, qa/boot-time.sh and qa/nvidia-boot-test.sh boot
# qa/lib.sh's machine without it.
#
# Data disk, both boots (qa/check_data_disk.py): the disk is mounted and on virtio-pci; the
#   bridge's display and every function of its group untouched (own driver, no driver_override,
#   no bind action, not in the agent's udev rule); the agent says why (the warning or the GPU's
#   reason on /api/v1/status names the mount or the disk) and the API keeps the display on the
#   host; the other display on vfio-pci; no failed units; /healthz 200.
# Boot 1 ("first", first boot of the image), with the test policy qa/policy.json, checks
# (qa/check.py first):
#   system "running", no failed units, gpuhost-agent.service succeeded, state.json result "degraded"
#   with exactly one warning, the bridge display's (stays on the host: its IOMMU group holds the
#   disk mounted at /var/lib/libvirt/images), state.json inventory lists every function in
#   /sys/bus/pci/devices; one IOMMU group holds the bridge's display and disk and no other endpoint;
#   edu, the secondary display and its audio function on vfio-pci with /dev/vfio/<group>, bind
#   actions "done", and no other function on vfio-pci; the boot VGA, the e1000e, the virtio
#   functions, the bridge's display (bochs-drm) and the data disk (virtio-pci) on their drivers with
#   no driver_override and no bind action; the default route on the management NIC; the kernel
#   parameters baked into the UKI (.cmdline of image.efi) all in /proc/cmdline; every sysctl of
#   /etc/sysctl.d/90-gpuhost-hardening.conf reads back (sysctl -n); no priority-err journal line
#   from gpuhost-agent; /healthz 200 "degraded" naming the bridge display, /api/v1/status 200 JSON,
#   /metrics 200 with gpuhost_healthy 1, the result degraded and 2 GPUs on the host, 1 on vfio,
#   through the port forward. First boot (qa/first_boot.py): the image file has no machine-id and no
#   SSH host key (read with debugfs), the guest has a machine-id of its own and ED25519/RSA/ECDSA
#   host keys made at this boot, root's authorized_keys holds the key qa handed in as the
#   ssh.authorized_keys.root SMBIOS credential (mode 600), root is locked, systemd-firstboot
#   finished without a prompt, locale/timezone/hostname are the recipe's presets and the image's
#   vconsole.conf has its keymap.
#   libvirt (qa/libvirt_vm.py, both boots): the probe defines (never starts) gpuhost-qa-vm with
#   edu and both functions of the secondary display (found by its audio function, so never the
#   bridge's display) as PCI host devices through the real libvirtd; serve's own
#   reading shows it on /api/v1/status (VM shut off with the three devices, the display GPU's
#   owner, a two-function <hostdev> snippet), the page and /metrics. First boot, after the
#   report: gpuhost-agent restore, then the agent unit again while libvirtd runs: every bind
#   goes through libvirt (virNodeDeviceDetachFlags, "through libvirt"), and the API then has
#   libvirt's domain capabilities (PCI hostdev with the vfio backend).
# Remote libvirt (qa/check_remote_libvirt.py, both boots; issue 18): off on the first boot (no
#   credentials: API, metrics and page say so); the second boot gets the demo's
#   gpuhost.libvirt-tls-* credentials and the guest's 16514 on QA_PORT+1: on and listening, and the
#   host's virsh over qemu+tls lists gpuhost-qa-vm as the allowed manager, and is refused as an
#   intruder certificate of the same CA.
# Trusted boot (qa/check_trusted_boot.py, both boots; issue 15): OVMF with Secure Boot enforced
#   and Microsoft's keys + the image's certificate in db; bootctl says Secure Boot enabled, the
#   kernel is locked down (integrity), module signatures enforced, the image's certificate loaded
#   from db into the platform keyring; first boot: the image's dummy.ko re-signed with the image's
#   key loads, the same signed with an unknown key is refused ("Key was rejected by service").
#   The root is erofs on dm-verity (roothash= from the UKI), writes to it fail; /var is the
#   state partition, grown into the disk's extra 1 GiB at the first boot; /etc is an overlay
#   with its upper directory there (so machine-id, host keys and the defined VM of the second
#   boot's checks come from the state partition).
# Updates (qa/check_trusted_boot.py, both boots; issue 16): the image's update keyring is
#   image/update-key.sh's public key and gpg is there (systemd-pull verifies SHA256SUMS.gpg
#   with them); PID 1 armed qemu's i6300esb watchdog (active, 30 s). The update itself, the
#   blessing and the rollback: make qa-update (qa/update-test.sh).
# Before booting: build/<variant>/SHA256SUMS matches the outputs.
# Boot 2 ("second", the same disk and data disk again) checks the same, and: every action in
#   state.json is unchanged/missing/skipped (no "done"), the bind actions are "unchanged" and the
#   inventory saw the vfio functions on vfio-pci (the agent-written udev rules bound them at
#   boot); the machine-id and the SSH host keys are those of the first boot.
# Prints each check with what it found and the time from qemu start to the first /healthz
# answer. On failure: the serial log, the probe report (unit states, PCI functions, journal
# excerpts), exit 1; the work directory is kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tamper.sh"

boots=${QA_BOOTS:-first second tampered}
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
# 1 GiB more than the image, as a server's disk is larger than the image written to it: the
# first boot's systemd-repart grows the state partition (/var) into it (qa/check_trusted_boot.py).
qemu-img create -q -f qcow2 -b "$qa_image" -F raw "$disk" $(( $(stat -c %s "$qa_image") + (1 << 30) ))
export SNAPSHOT=off DISK_FORMAT=qcow2

# The data disk (issue 20), on both boots: a conventional PCI bridge (pcie-pci-bridge on its own
# root port; everything behind it is one IOMMU group) holding a second bochs-display and a
# virtio-blk disk with an ext4 file system, mounted at /var/lib/libvirt/images through the
# fstab.extra credential. Added after qa/lib.sh's devices, so their addresses do not move.
data=$qa_work/data.img
truncate -s 64M "$data"
mkfs.ext4 -q -L gpuhost-qa-data "$data"
# x-systemd.device-timeout: systemd waits 90 s for the disk by default, counted from early boot;
# under TCG on a loaded machine udevd itself started later than that (seen: the mount's
# dependency failed, emergency mode). The disk must still be mounted before the agent runs.
fstab='LABEL=gpuhost-qa-data /var/lib/libvirt/images ext4 defaults,x-systemd.device-timeout=10min 0 2'
data_disk_args=(
    -device pcie-root-port,id=qa_rp_br,chassis=14
    -device pcie-pci-bridge,id=qa_br,bus=qa_rp_br
    -device bochs-display,bus=qa_br,addr=1
    -drive if=none,id=qa_data,format=raw,file="$data"
    -device virtio-blk-pci,bus=qa_br,addr=2,drive=qa_data
    -smbios "$(qa_cred fstab.extra "$(printf '%s\n' "$fstab" | qa_b64)")"
)
export QA_DATA_DISK=yes   # qa/check.py: the bridge's display and disk are there, and kept

# Remote libvirt (issue 18): off on the first boot (no credentials); the second boot gets the
# demo's libvirt credentials and the guest's 16514 forwarded to QA_PORT+1, and the host's virsh
# connects over qemu+tls as the allowed manager and as a refused intruder.
lv_port=$((qa_port + 1))
mapfile -t lv_args < <("$qa_root/image/demo-page.sh" --libvirt-smbios)
(( ${#lv_args[@]} == 8 )) || { echo "qa: image/demo-page.sh --libvirt-smbios failed" >&2; exit 1; }

# Trusted boot (issue 15), both boots: the firmware enforces Secure Boot with the image's
# certificate in db (image/vm.sh fails if the image was not built signed). The first boot also
# gets two copies of the image's dummy.ko over fw_cfg, one signed with the image's key and one
# with a key nobody trusts (qa/module_sign.py); qa/check_trusted_boot.py judges.
export SECUREBOOT=yes
sb_cert=$(dirname "$qa_image")/secureboot/db.crt
mapfile -t sb_pair < <("$qa_root/image/secureboot-key.sh")
python3 "$qa_here/module_sign.py" "$qa_image" "${sb_pair[0]}" "${sb_pair[1]}" "$qa_work/modules"
module_args=()
for m in own other; do
    module_args+=(-fw_cfg "name=opt/io.systemd.credentials/gpuhost-qa.module-$m,file=$qa_work/modules/$m.ko")
done

# Updates (issue 16): the image carries the update key's public half (qa/check_trusted_boot.py
# compares it with image/update-key.sh's), and PID 1 arms the hardware watchdog: qemu's i6300esb,
# last on the command line so no other device's address moves. A watchdog reset under -no-reboot
# ends qemu, which fails the boot loudly.
mapfile -t upd_key < <("$qa_root/image/update-key.sh")
export QA_UPDATE_PUBRING=${upd_key[1]} QA_WATCHDOG=yes
watchdog_args=(-device i6300esb -action watchdog=reset)

summary=()
prev=
for b in $boots; do
    if [[ $b == tampered ]]; then
        qa_tampered_boot
        summary+=("tampered: stopped at the verity check")
        continue
    fi
    extra=()
    if [[ $b == second ]]; then
        extra=("${lv_args[@]}")
        export EXTRA_HOSTFWD="tcp:127.0.0.1:$lv_port-:16514"
    else
        extra=("${module_args[@]}")
        unset EXTRA_HOSTFWD
    fi
    qa_boot "$b" "$disk" "${data_disk_args[@]}" "${extra[@]}" "${watchdog_args[@]}"
    qa_wait_http
    qa_fetch_http
    qa_page "$qa_port" / -s -m 10 -o "$qa_dir/http/page.body" 2>/dev/null || true
    qa_wait_probe
    [[ $b != second ]] || qa_remote_libvirt "$lv_port"
    # Both judges run and print; either failing fails the boot.
    rc_check=0 rc_data=0 rc_remote=0 rc_trust=0
    QA_PREV_DIR=$prev python3 "$qa_here/check.py" "$b" "$qa_dir" || rc_check=$?
    python3 "$qa_here/check_data_disk.py" "$b" "$qa_dir" || rc_data=$?
    python3 "$qa_here/check_remote_libvirt.py" "$b" "$qa_dir" || rc_remote=$?
    python3 "$qa_here/check_trusted_boot.py" "$b" "$qa_dir" "$sb_cert" || rc_trust=$?
    (( rc_check == 0 )) || qa_fail "checks failed for scenario $b (see above)"
    (( rc_trust == 0 )) || qa_fail "trusted-boot checks failed on the $b boot (see above)"
    (( rc_data == 0 )) || qa_fail "data-disk checks failed on the $b boot (see above)"
    (( rc_remote == 0 )) || qa_fail "remote-libvirt checks failed on the $b boot (see above)"
    qa_timing
    qa_keep
    qa_poweroff
    summary+=("$b: healthz after $(qa_secs "$qa_t_health")s, probe after $(qa_secs "$qa_t_probe")s")
    prev=$qa_dir
done
qa_name=all
qa_log "PASS ($(IFS=';'; echo "${summary[*]}"); $(qa_since "$total0")s in all)"
