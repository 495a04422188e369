#!/bin/bash
# What it takes to boot a signed image with Secure Boot enforced (issue 15, image/README.md
# "Trusted boot"), written next to the image by image/mkosi.sh after each build:
#
#   OVMF_VARS.secboot.fd   qemu: Debian's OVMF variable store with Microsoft's keys enrolled
#                          (OVMF_VARS_4M.ms.fd, the shape of a real server's firmware) plus the
#                          image's certificate appended to db, Secure Boot on. image/vm.sh boots
#                          with it (and OVMF_CODE_4M.secboot.fd) when it is there.
#   secureboot/db.crt      the image's db certificate (PEM; public)
#   secureboot/db.der      the same in DER: what firmware setup menus take ("append to db" /
#                          "enroll from file"); Microsoft's UEFI CA stays in db, so GPU, NIC and
#                          RAID option ROMs keep loading
#   secureboot/db.esl      the same as an EFI signature list, for `efi-updatevar -a -f db.esl db`
#                          in setup mode, or to be signed with a KEK the operator owns into an
#                          append-write update (sign-efi-sig-list -a; image/README.md)
#
#   image/secureboot-vars.sh OUTPUT_DIR CERT
#
# virt-fw-vars/virt-fw-sigdb (python3-virt-firmware) come from the trixie tools tree: bookworm
# does not package them. Files are written atomically (temp file, then rename).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: secureboot-vars.sh OUTPUT_DIR CERT}
cert=${2:?usage: secureboot-vars.sh OUTPUT_DIR CERT}
template=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
[[ -f $template ]] || { echo "secureboot-vars: $template missing (apt-get install ovmf)" >&2; exit 1; }
[[ -f $cert ]] || { echo "secureboot-vars: no certificate at $cert" >&2; exit 1; }
tree=$("$here/tools-tree.sh")
# The owner GUID recorded with the db entry: gpuhost's, fixed, so that the entry is recognisable
# (and removable) in any firmware's db listing.
owner=6a0b4f5e-9c1d-4e8b-a7f3-2d5c8e1b9a40

mkdir -p "$out/secureboot"
work=$(mktemp -d "$out/.secboot.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$template" "$work/ms.fd"
openssl x509 -in "$cert" -out "$work/db.crt"
openssl x509 -in "$cert" -outform DER -out "$work/db.der"
subject=$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')

export tree work owner
unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
    mount --bind "$work" "$tree/mnt"
    # Redirections happen in this shell, outside the chroot: they name $work; tools see /mnt.
    run() { chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 "$@"; }
    run virt-fw-vars --input /mnt/ms.fd --output /mnt/vars.fd \
        --add-db "$owner" /mnt/db.crt --secure-boot >"$work/vars.log" 2>&1 ||
        { cat "$work/vars.log" >&2; echo "secureboot-vars: virt-fw-vars failed" >&2; exit 1; }
    run virt-fw-vars --input /mnt/vars.fd --print --verbose >"$work/print.txt" 2>&1
    run virt-fw-sigdb --add-cert "$owner" /mnt/db.crt --output /mnt/db.esl >"$work/sigdb.log" 2>&1 ||
        { cat "$work/sigdb.log" >&2; echo "secureboot-vars: virt-fw-sigdb failed" >&2; exit 1; }
'
# Read back: Secure Boot on, Microsoft's UEFI CA still in db (option ROMs), and ours added.
grep -q "Microsoft Corporation UEFI CA" "$work/print.txt" ||
    { echo "secureboot-vars: Microsoft's UEFI CA is not in the new db (see $work/print.txt)" >&2; trap - EXIT; exit 1; }
cn=${subject#*CN=}; cn=${cn%%,*}
grep -qF "$cn" "$work/print.txt" ||
    { echo "secureboot-vars: '$cn' is not in the new db (see $work/print.txt)" >&2; trap - EXIT; exit 1; }
for f in db.crt db.der db.esl; do
    sync "$work/$f"
    mv "$work/$f" "$out/secureboot/$f"
done
sync "$work/vars.fd"
mv "$work/vars.fd" "$out/OVMF_VARS.secboot.fd"
echo "secureboot-vars: $out/OVMF_VARS.secboot.fd: Microsoft's keys + '$cn' in db, Secure Boot on"
