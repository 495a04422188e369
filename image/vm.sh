#!/bin/bash
# Boot a built image under qemu (shared by `make run` and `make qa`). Execs qemu; extra
# arguments are appended to its command line.
#
# Environment:
#   IMAGE      disk image (default build/$PROFILE/image.raw, PROFILE default kvm-host)
#   HOST_PORT  host port forwarded to the guest's 8080 on 127.0.0.1 (default 8080)
#   SERIAL     "stdio" (interactive console; Ctrl-A X quits) or a file for the serial log
#   ACCEL      auto (default: kvm when a trial with the firmware runs, else tcg; image/accel.sh),
#              kvm or tcg
#   CMDLINE_EXTRA  kernel parameters for this boot only (SMBIOS; TCG boots add no_timer_check)
#   EXTRA_GPU  yes: add a second display GPU with an audio companion in its own IOMMU group
#   BOOT_TIMING  a file: the guest writes where its boot's time went there (image/boot-timing.sh,
#              handed in as a credential with a unit that runs it after gpuhost-serve.service;
#              image/boot-timing.py reads it). Nothing of it is in the image
#   VARS       OVMF variable store to use, made from the firmware's template when missing
#              (default: a fresh copy in build/$PROFILE/)
#   SNAPSHOT   on (default) or off: off lets the guest write to IMAGE, so state persists from one
#              boot to the next (qa boots a qcow2 overlay of the built image that way)
#   DISK_FORMAT  raw (default) or qcow2, IMAGE's format
#   DEMO_PAGE  yes (default): hand the guest the demo's page credentials (image/demo-page.sh:
#              listen on 0.0.0.0:8080 with TLS and a token), so the page is reachable through the
#              port forward at https://127.0.0.1:HOST_PORT/; no: the image's own setting (loopback)
#   EXTRA_HOSTFWD  more port forwards for this boot, space-separated qemu hostfwd rules
#              ("tcp:127.0.0.1:18081-:16514": libvirt over TLS, qa/boot-test.sh's second boot)
#   SMP        vCPUs (default 2); qa/fleet-test.sh gives each of its three nodes 1, so three TCG
#              guests on a 2-core host keep their boot-time jobs within systemd's timeouts
#   NIC_MAC    the management NIC's MAC address (default: qemu's 52:54:00:12:34:56); qa/fleet-test.sh
#              gives each fleet node its own, as the fleet file names them
#   SECUREBOOT auto (default), yes or no. Secure Boot enforced by the firmware: OVMF's secboot
#              code with SMM and the variable store image/mkosi.sh made for the image
#              (OVMF_VARS.secboot.fd beside it: Microsoft's keys as on a real server, plus the
#              image's db certificate; image/README.md "Trusted boot"). auto: yes when the image
#              has that store, no for PXE_DIR (the PXE chain is not signed: image/README.md says why)
#   PXE_DIR    network boot instead of a disk: no disk at all, qemu's built-in TFTP server serves
#              PXE_DIR and its DHCP names snponly.efi as the boot file; the NIC gets no option ROM
#              (romfile=), so OVMF's own PXE client loads it (qa/fleet-test.sh; image/README.md "PXE")
#
# By default the disk is attached with snapshot=on: the guest's writes go to a temporary overlay,
# so every boot is a first boot of the image as built and the image file never changes under mkosi.
#
# Machine: q35 with an emulated Intel IOMMU (kernel-irqchip=split + intel-iommu intremap=on
# caching-mode=on: vfio works inside the guest, see gpu-host-facts.md), OVMF (with Secure Boot
# enforced when the image is signed: SECUREBOOT), 2 vCPUs (SMP), 2 GiB, -cpu max, user networking.
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
nic_opts=${NIC_MAC:+,mac=$NIC_MAC}
if [[ -n $pxe_dir ]]; then
    [[ -f $pxe_dir/snponly.efi ]] || { echo "vm.sh: PXE_DIR=$pxe_dir has no snponly.efi" >&2; exit 1; }
else
    [[ -f $image ]] || { echo "vm.sh: no image at $image (make image)" >&2; exit 1; }
fi

secboot_vars=${SECBOOT_VARS:-$(dirname "$image")/OVMF_VARS.secboot.fd}
secureboot=${SECUREBOOT:-auto}
case $secureboot in
    auto) secureboot=no; [[ -n $pxe_dir || ! -f $secboot_vars ]] || secureboot=yes ;;
    yes) [[ -f $secboot_vars ]] || { echo "vm.sh: SECUREBOOT=yes but $secboot_vars is missing (built before signing? make image-force)" >&2; exit 1; } ;;
    no) ;;
    *) echo "vm.sh: SECUREBOOT must be auto, yes or no (got '$secureboot')" >&2; exit 1 ;;
esac
machine=q35,kernel-irqchip=split
secure_args=()
if [[ $secureboot == yes ]]; then
    # Secure Boot needs SMM, so that only the firmware writes its variables (a guest that could
    # write db could trust anything), and S3 off (OVMF's secboot build refuses it with SMM).
    ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
    ovmf_vars_template=$secboot_vars
    machine+=,smm=on
    secure_args=(-global driver=cfi.pflash01,property=secure,value=on -global ICH9-LPC.disable_s3=1)
else
    ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
    ovmf_vars_template=/usr/share/OVMF/OVMF_VARS_4M.fd
fi
[[ -f $ovmf_code ]] || { echo "vm.sh: $ovmf_code missing (apt-get install ovmf)" >&2; exit 1; }
# The variable store: a fresh copy of the template for each boot unless VARS names one to keep
# (qa's second boot finds the first boot's); a VARS file not there yet starts as the template.
vars=${VARS:-$(dirname "$image")/OVMF_VARS.fd}
if [[ -z ${VARS:-} || ! -f $vars ]]; then
    cp "$ovmf_vars_template" "$vars"
fi

# The accelerator: for auto, image/accel.sh tries KVM with the real firmware before trusting it
# and says which and why in one line; a caller that already chose (run.sh, qa/lib.sh) passes
# kvm or tcg and no second trial runs.
case $accel in
    kvm|tcg) accel_name=$accel ;;
    auto) accel_name=$(ACCEL=auto "$here/accel.sh") ;;
    *) echo "vm.sh: ACCEL must be auto, kvm or tcg (got '$accel')" >&2; exit 1 ;;
esac
accel_args=(-accel "$accel_name")

# Kernel command line additions for this boot only (systemd-stub appends the SMBIOS
# io.systemd.stub.kernel-cmdline-extra string when Secure Boot is off; the image is unchanged).
# Under TCG on a loaded machine the kernel's IO-APIC timer check can fail and panic ("timer
# doesn't work through Interrupt-remapped IO-APIC", seen in make run and qa boots): an
# emulation artefact, so TCG boots skip that check (no_timer_check). CMDLINE_EXTRA adds more.
cmdline_extra=${CMDLINE_EXTRA:-}
if [[ $accel_name == tcg && " $cmdline_extra " != *" no_timer_check "* ]]; then
    cmdline_extra+="${cmdline_extra:+ }no_timer_check"
fi
cmdline_args=()
[[ -z $cmdline_extra ]] ||
    cmdline_args=(-smbios "type=11,value=io.systemd.stub.kernel-cmdline-extra=$cmdline_extra")

# A second GPU for VMs (EXTRA_GPU=yes; make run and make qa): a display function on its own PCIe
# root port, so in its own IOMMU group, with an HDMI-audio companion as function 1, the shape of
# a real discrete GPU. The image's default policy keeps the boot VGA for the console and passes
# every other GPU through, so the first page shows one of each.
extra_gpu_args=()
if [[ ${EXTRA_GPU:-no} == yes ]]; then
    extra_gpu_args=(
        -device pcie-root-port,id=gpu_rp,chassis=13
        -device bochs-display,bus=gpu_rp,addr=00.0,multifunction=on
        -device ich9-intel-hda,bus=gpu_rp,addr=00.1,id=gpu_hda
        -audiodev none,id=gpu_snd
        -device hda-duplex,bus=gpu_hda.0,audiodev=gpu_snd
    )
fi

timing_args=()
if [[ -n ${BOOT_TIMING:-} ]]; then
    cred() { echo "type=11,value=io.systemd.credential.binary:$1=$(base64 -w0)"; }
    : >"$BOOT_TIMING"
    timing_args=(
        -device virtio-serial-pci,id=timing_vs
        -chardev "file,id=gpuhost_timing,path=$BOOT_TIMING"
        -device virtserialport,bus=timing_vs.0,chardev=gpuhost_timing,name=gpuhost-timing
        -smbios "$(cred gpuhost-timing.script <"$here/boot-timing.sh")"
        -smbios "$("$here/script-unit.sh" gpuhost-timing.script "gpuhost boot timing (injected by image/vm.sh)" |
            cred systemd.extra-unit.gpuhost-boot-timing.service)"
        -smbios "$(printf '[Unit]\nWants=gpuhost-boot-timing.service\n' | cred systemd.unit-dropin.gpuhost-serve.service)"
    )
fi

# The page beyond the guest's loopback: only with TLS and a token, given for this boot only.
page_args=()
if [[ ${DEMO_PAGE:-yes} == yes ]]; then
    mapfile -t page_args < <("$here/demo-page.sh" --smbios)
    (( ${#page_args[@]} == 8 )) || { echo "vm.sh: image/demo-page.sh --smbios failed" >&2; exit 1; }
fi

if [[ $serial == stdio ]]; then
    serial_args=(-serial mon:stdio)
else
    serial_args=(-serial "file:$serial" -monitor none)
fi

netdev=user,id=n0,hostfwd=tcp:127.0.0.1:"$host_port"-:8080
# More forwards for this boot (EXTRA_HOSTFWD="tcp:127.0.0.1:18081-:16514 ...": qa reaches the
# guest's libvirt over TLS that way).
for fwd in ${EXTRA_HOSTFWD:-}; do netdev+=",hostfwd=$fwd"; done
if [[ -n $pxe_dir ]]; then
    boot_args=(-device virtio-net-pci,netdev=n0,romfile="$nic_opts")
    netdev+=",tftp=$pxe_dir,bootfile=snponly.efi"
    what="PXE from $pxe_dir (TFTP)"
else
    boot_args=(
        -drive if=none,id=root,format="$disk_format",file="$image",snapshot="$snapshot"
        -device virtio-blk-pci,drive=root,bootindex=1
        -device virtio-net-pci,netdev=n0"$nic_opts"
    )
    what="$image (snapshot=$snapshot)"
fi

echo "vm.sh: $what, ${accel_args[*]}, Secure Boot $secureboot, https://127.0.0.1:$host_port/ -> guest :8080" >&2
exec qemu-system-x86_64 \
    -name gpuhost-"$profile" \
    -machine "$machine" \
    "${secure_args[@]}" \
    "${accel_args[@]}" \
    -cpu max -smp "${SMP:-2}" -m 2048 \
    -device intel-iommu,intremap=on,caching-mode=on \
    -drive if=pflash,format=raw,unit=0,readonly=on,file="$ovmf_code" \
    -drive if=pflash,format=raw,unit=1,file="$vars" \
    -netdev "$netdev" \
    "${boot_args[@]}" \
    "${extra_gpu_args[@]}" \
    "${timing_args[@]}" \
    "${cmdline_args[@]}" \
    "${page_args[@]}" \
    -display none \
    "${serial_args[@]}" \
    "$@"
