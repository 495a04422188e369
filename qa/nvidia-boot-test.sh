#!/bin/bash
# `make qa-nvidia`: boot the nvidia image (build/nvidia/image.raw) once under qemu, on the qa
# machine of qa/lib.sh (no NVIDIA GPU: qemu has none), and check what issue 7 asks of it:
#   - the kvm-host checks of a first boot (qa/check.py first: running, no failed units, the
#     agent's vfio binds, hardening, first-boot identity, /healthz, API, metrics);
#   - qa/check_nvidia.py on the report of qa/nvidia-probe.sh (injected next to qa/probe.sh, its
#     own virtio serial port "nvprobe"): no failed unit, no nvidia or nouveau module loaded, the
#     DKMS modules present for the running kernel, nouveau blacklisted (kernel command line and
#     modprobe.d; an H200's modalias resolves to nvidia only), no modules-load.d entry for nvidia,
#     nvidia-persistenced enabled but skipped by its condition, gpu-status exits 0; the status
#     page, /api/v1/status (nvidia.status "no-gpu") and /metrics say no NVIDIA GPU was found;
#     the UKI's .cmdline blacklists nouveau and its .initrd (every archive) has no nouveau module.
# Environment as qa/lib.sh (IMAGE, QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK); PROFILE default nvidia.
set -euo pipefail
export PROFILE=${PROFILE:-nvidia}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

uki=$(dirname "$qa_image")/image.efi
export QA_UKI=$uki QA_IMAGE=$qa_image
# issue 15: Secure Boot enforced, the image certificate in db (image/vm.sh fails if unsigned).
export SECUREBOOT=yes
(cd "$(dirname "$qa_image")" && sha256sum --check --quiet SHA256SUMS) ||
    { echo "qa: $(dirname "$qa_image")/SHA256SUMS does not match the outputs" >&2; exit 1; }

qa_extra_wants=(gpuhost-qa-nvprobe.service)
name=first
qa_boot "$name" "$qa_image" \
    -chardev "file,id=nvprobe,path=$qa_work/$name/nvprobe.txt" \
    -device virtserialport,chardev=nvprobe,name=nvprobe \
    -smbios "$(qa_cred systemd.extra-unit.gpuhost-qa-nvprobe.service "$(qa_probe_unit gpuhost-qa.nvprobe qa/nvidia-boot-test.sh | qa_b64)")" \
    -smbios "$(qa_cred gpuhost-qa.nvprobe "$(qa_b64 "$qa_here/nvidia-probe.sh")")"
qa_wait_http
qa_fetch_http
qa_page "$qa_port" / -s -m 10 -o "$qa_dir/http/page.body" || true
qa_wait_probe
while ! grep -q NVPROBE-END "$qa_dir/nvprobe.txt" 2>/dev/null; do
    qa_alive || qa_fail "qemu exited before the NVIDIA probe reported"
    qa_expired && qa_fail "no NVIDIA probe report within ${qa_timeout}s"
    sleep 1
done
# Both sets run and print; either failing fails the boot.
echo "qa[$name]: NVIDIA checks (qa/check_nvidia.py)"
nv_rc=0
python3 "$qa_here/check_nvidia.py" "$qa_dir" "$uki" "$(dirname "$qa_image")/secureboot/db.crt" || nv_rc=$?
echo "qa[$name]: kvm-host checks (qa/check.py first)"
kvm_rc=0
python3 "$qa_here/check.py" first "$qa_dir" || kvm_rc=$?
(( nv_rc == 0 )) || qa_fail "NVIDIA checks failed (see above)"
(( kvm_rc == 0 )) || qa_fail "kvm-host checks failed on the nvidia image (see above)"
cp "$qa_dir/nvprobe.txt" "$qa_dir/http/page.body" "$qa_work/" 2>/dev/null || true
qa_keep
cp "$qa_dir/nvprobe.txt" "$qa_root/build/qa/$(basename "$(dirname "$qa_image")")/$name/" 2>/dev/null || true
qa_poweroff
qa_name=all
qa_log "PASS (healthz after $(qa_secs "$qa_t_health")s, probe after $(qa_secs "$qa_t_probe")s)"
