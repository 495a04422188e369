#!/bin/bash
# Boot a built image under qemu (shared by `make run` and `make qa`). Execs qemu; extra
# arguments are appended to its command line.
#
# Environment:
#   IMAGE      disk image (default build/$PROFILE/image.raw, PROFILE default kvm-host)
#   HOST_PORT  host port forwarded to the guest's 8080 on 127.0.0.1 (default 8080)
#   SERIAL     "stdio" (interactive console; Ctrl-A X quits) or a file for the serial log
#   ACCEL      auto (default: kvm when /dev/kvm works, else tcg), kvm or tcg
#   VARS       OVMF variable store to use (default: a fresh copy in build/$PROFILE/)
#   SNAPSHOT   on (default) or off: off lets the guest write to IMAGE, so state persists from one
#              boot to the next (qa boots a qcow2 overlay of the built image that way)
#   DISK_FORMAT  raw (default) or qcow2, IMAGE's format
#   PXE_DIR    network boot instead of a disk: no disk at all, qemu's built-in TFTP server serves
#              PXE_DIR and its DHCP names snponly.efi as the boot file; the NIC gets no option ROM
#              (romfile=), so OVMF's own PXE client loads it (qa/pxe-test.sh; image/README.md "PXE")
#
# By default the disk is attached with snapshot=on: the guest's writes go to a temporary overlay,
# so every boot is a first boot of the image as built and the image file never changes under mkosi.
#
# Machine: q35 with an emulated Intel IOMMU (kernel-irqchip=split + intel-iommu intremap=on
# caching-mode=on: vfio works inside the guest, see gpu-host-facts.md), OVMF without Secure
# Boot, 2 vCPUs, 2 GiB, -cpu max, user networking.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
profile=${PROFILE:-kvm-host}
image=${IMAGE:-$root/build/$profile/image.raw}
host_port=${HOST_PORT:-8080}
serial=${SERIAL:-stdio}
accel=${ACCEL:-auto}
snapshot=${SNAPSHOT:-on}
disk_format=${DISK_FORMAT:-raw}
case $snapshot in on|off) ;; *) echo "vm.sh: SNAPSHOT must be on or off" >&2; exit 1 ;; esac
case $disk_format in raw|qcow2) ;; *) echo "vm.sh: DISK_FORMAT must be raw or qcow2" >&2; exit 1 ;; esac

pxe_dir=${PXE_DIR:-}
if [[ -n $pxe_dir ]]; then
    [[ -f $pxe_dir/snponly.efi ]] || { echo "vm.sh: PXE_DIR=$pxe_dir has no snponly.efi" >&2; exit 1; }
else
    [[ -f $image ]] || { echo "vm.sh: no image at $image (make image)" >&2; exit 1; }
fi

ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars_template=/usr/share/OVMF/OVMF_VARS_4M.fd
[[ -f $ovmf_code ]] || { echo "vm.sh: $ovmf_code missing (apt-get install ovmf)" >&2; exit 1; }
vars=${VARS:-$(dirname "$image")/OVMF_VARS.fd}
if [[ -z ${VARS:-} ]]; then
    cp "$ovmf_vars_template" "$vars"
fi

# KVM only when it really runs a guest: on some machines /dev/kvm opens and qemu's KVM init
# succeeds, then the first vCPU setup aborts ("failed to set MSR 0x10a"). A 2 s trial boot of
# an empty machine tells: still running when the timeout hits (status 124) means KVM works.
kvm_works() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    local rc=0
    # In a subshell, so bash's "Aborted" job message goes to /dev/null with the rest.
    (timeout 2 qemu-system-x86_64 -accel kvm -cpu max -machine q35 -m 64 -nodefaults \
        -display none -serial none -monitor none -no-reboot; exit $?) >/dev/null 2>&1 || rc=$?
    [[ $rc == 124 ]]
}
case $accel in
    auto) if kvm_works; then accel_args=(-accel kvm); else accel_args=(-accel tcg); fi ;;
    kvm) accel_args=(-accel kvm) ;;
    tcg) accel_args=(-accel tcg) ;;
    *) echo "vm.sh: ACCEL must be auto, kvm or tcg" >&2; exit 1 ;;
esac

if [[ $serial == stdio ]]; then
    serial_args=(-serial mon:stdio)
else
    serial_args=(-serial "file:$serial" -monitor none)
fi

netdev=user,id=n0,hostfwd=tcp:127.0.0.1:"$host_port"-:8080
if [[ -n $pxe_dir ]]; then
    boot_args=(-device virtio-net-pci,netdev=n0,romfile=)
    netdev+=",tftp=$pxe_dir,bootfile=snponly.efi"
    what="PXE from $pxe_dir (TFTP)"
else
    boot_args=(
        -drive if=none,id=root,format="$disk_format",file="$image",snapshot="$snapshot"
        -device virtio-blk-pci,drive=root,bootindex=1
        -device virtio-net-pci,netdev=n0
    )
    what="$image (snapshot=$snapshot)"
fi

echo "vm.sh: $what, ${accel_args[*]}, http://127.0.0.1:$host_port/ -> guest :8080" >&2
exec qemu-system-x86_64 \
    -name gpuhost-"$profile" \
    -machine q35,kernel-irqchip=split \
    "${accel_args[@]}" \
    -cpu max -smp 2 -m 2048 \
    -device intel-iommu,intremap=on,caching-mode=on \
    -drive if=pflash,format=raw,unit=0,readonly=on,file="$ovmf_code" \
    -drive if=pflash,format=raw,unit=1,file="$vars" \
    -netdev "$netdev" \
    "${boot_args[@]}" \
    -display none \
    "${serial_args[@]}" \
    "$@"
