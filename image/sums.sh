#!/bin/bash
# Write DIR/SHA256SUMS over the build outputs in DIR (build/<variant>/), atomically: a temp
# file in DIR, fsync'd, renamed over the old one. Check with `cd DIR && sha256sum -c SHA256SUMS`
# (make qa does, before it boots).
#
#   image/sums.sh DIR
#
# Outputs: every regular file mkosi wrote (image.raw, image.efi, image.vmlinuz, image.initrd,
# image.manifest, ...), not the `image` symlink, not OVMF_VARS.fd (make run's UEFI variable
# store, written at boot time) and not SHA256SUMS itself.
set -euo pipefail
dir=${1:?usage: image/sums.sh DIR}
cd "$dir"
files=()
for f in *; do
    [[ -f $f && ! -L $f ]] || continue
    case $f in SHA256SUMS|SHA256SUMS.tmp.*|OVMF_VARS.fd) continue ;; esac
    files+=("$f")
done
(( ${#files[@]} )) || { echo "sums.sh: no outputs in $dir" >&2; exit 1; }
tmp=$(mktemp SHA256SUMS.tmp.XXXXXX)
trap 'rm -f "$tmp"' EXIT
sha256sum -- "${files[@]}" >"$tmp"
chmod 0644 "$tmp"
sync -- "$tmp"
mv -f -- "$tmp" SHA256SUMS
sync -- .
trap - EXIT
echo "sums.sh: $dir/SHA256SUMS (${#files[@]} files)" >&2
