#!/bin/bash
# A data disk beside a GPU (issue 20): booted twice on one disk, the host must come up healthy and
# keep the disk. The machine is qa/lib.sh's, plus a conventional PCI bridge (pcie-pci-bridge on
# its own root port: everything behind it is one IOMMU group) holding a second bochs-display and
# a virtio-blk data disk with an ext4 file system mounted at /var/lib/libvirt/images (fstab.extra
# credential). The test policy passes every non-boot bochs-display through, so the plan wants that
# display on vfio-pci; its group holds a disk the host uses, so it must stay on the host with a
# warning, and nothing (no bind, no udev rule, no driver_override) may claim the group, on either
# boot. qa/check_data_disk.py judges each boot; qa/check.py's usual checks are not repeated here.
#   qa/data-disk-test.sh     (IMAGE, PROFILE, QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK; see qa/lib.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

disk=$qa_work/disk.qcow2
qemu-img create -q -f qcow2 -b "$qa_image" -F raw "$disk"
data=$qa_work/data.img
truncate -s 64M "$data"
mkfs.ext4 -q -L gpuhost-qa-data "$data"
export SNAPSHOT=off DISK_FORMAT=qcow2
fstab='LABEL=gpuhost-qa-data /var/lib/libvirt/images ext4 defaults 0 2'
total0=$(qa_now)
summary=()
for b in first second; do
    qa_boot "data-disk-$b" "$disk" \
        -device pcie-root-port,id=qa_rp_br,chassis=14 \
        -device pcie-pci-bridge,id=qa_br,bus=qa_rp_br \
        -device bochs-display,bus=qa_br,addr=1 \
        -drive if=none,id=qa_data,format=raw,file="$data" \
        -device virtio-blk-pci,bus=qa_br,addr=2,drive=qa_data \
        -smbios "$(qa_cred fstab.extra "$(printf '%s\n' "$fstab" | qa_b64)")"
    qa_wait_http
    qa_fetch_http
    qa_wait_probe
    python3 "$qa_here/check_data_disk.py" "$b" "$qa_dir" || qa_fail "data-disk checks failed on the $b boot (see above)"
    qa_poweroff
    summary+=("$b: healthz after $(qa_secs "$qa_t_health")s")
done
qa_name=data-disk
qa_log "PASS ($(IFS=';'; echo "${summary[*]}"); $(qa_since "$total0")s in all)"
