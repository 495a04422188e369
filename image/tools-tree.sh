#!/bin/bash
# Bootstrap (once) a Debian trixie "tools tree" that contains mkosi 25 and everything mkosi needs
# to build a Debian UEFI disk image, and print its path on stdout.
#
# Why: mkosi 25 needs systemd >= 254 on the machine that runs it; bookworm has 252. bookworm's
# mmdebstrap can bootstrap a trixie tree in ~20 s; image/mkosi.sh then runs mkosi inside it.
#
# The tree is cached under build/cache/tools-<hash>/, keyed by a hash of this script, so editing
# the package list below (or anything else here) makes a fresh tree; old trees are removed.
#
# Environment: GPUHOST_MIRROR  Debian mirror (default: the first one apt on this machine uses)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache="$root/build/cache"

# shellcheck source=image/mirror.sh
. "$here/mirror.sh"

key=$(cat "$0" "$here/mirror.sh" | sha256sum | cut -c1-12)
tree="$cache/tools-$key"

if [[ -e "$tree/.complete" ]]; then
    echo "$tree"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "tools-tree.sh: must run as root (mmdebstrap, chroot)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "tools-tree.sh: mmdebstrap missing (make image-deps)" >&2; exit 1; }

# What mkosi 25 calls while it builds a Debian disk image with a UKI:
#   apt/dpkg (package manager), systemd-repart (partitions + mkfs), e2fsprogs/dosfstools/mtools
#   (ext4 root, vfat ESP), systemd-boot + systemd-boot-efi (bootctl, EFI stub), systemd-ukify
#   (+python3-pefile), cpio/zstd/xz (initrd), kmod (depmod, module closure for the initrd),
#   util-linux, openssl (key handling), debian-archive-keyring (trixie keys for the image);
#   python3-virt-firmware (virt-fw-vars: the qemu firmware's variable store with the image's
#   Secure Boot certificate in db, image/secureboot-vars.sh; not in bookworm).
packages=(
    mkosi systemd systemd-repart systemd-boot systemd-boot-efi systemd-ukify python3-pefile
    python3-virt-firmware
    apt dpkg debian-archive-keyring ca-certificates
    e2fsprogs dosfstools mtools cpio zstd xz-utils kmod util-linux fdisk openssl
    tar gzip coreutils findutils diffutils
)

mkdir -p "$cache"
# One bootstrap at a time: a second caller (a qa script reading an erofs root through
# image/rootfs.py while a build bootstraps) used to remove the first one's half-made tree.
# It now waits for the lock and then finds the tree complete.
exec 9>"$cache/.tools-tree.lock"
flock 9
if [[ -e "$tree/.complete" ]]; then
    echo "$tree"
    exit 0
fi
rm -rf "$cache"/tools-*.tmp
# Old trees from previous versions of this script.
for old in "$cache"/tools-*; do
    [[ -e $old && $old != "$tree" ]] && rm -rf "$old"
done

start=$(date +%s)
echo "tools-tree.sh: bootstrapping trixie tools tree into $tree (mirror $GPUHOST_MIRROR)" >&2
mmdebstrap --variant=minbase --mode=root --format=directory \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    trixie "$tree.tmp" "deb $GPUHOST_MIRROR trixie main" >&2
mv "$tree.tmp" "$tree"
touch "$tree/.complete"
echo "tools-tree.sh: done in $(( $(date +%s) - start )) s" >&2
echo "$tree"
