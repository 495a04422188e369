#!/bin/bash
# The key that signs the update directory's SHA256SUMS (issue 16, docs/updates.md section 2):
# systemd-pull on a node verifies SHA256SUMS.gpg against /usr/lib/systemd/import-pubring.gpg,
# which the build puts into the image (recipes/kvm-host/mkosi.finalize.d/05-update-keyring.chroot).
#
#   image/update-key.sh     prints the GnuPG home that holds the secret key and the public
#                           keyring file the image carries, one per line
#
#   GPUHOST_UPDATE_GNUPGHOME  the operator's GnuPG home with the signing key (release builds;
#                             only read: its public keys are exported into build/update-key/);
#                             GPUHOST_UPDATE_KEY picks one key of it (default: every secret key)
#   otherwise                 build/update-key/, made once on first use: an Ed25519 signing key
#                             without a passphrase, for development and qa (make qa-update)
#
# The secret key never enters an image: only the exported public keyring is a build source.
# build/ is ignored by git, so a generated key is never committed either.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${GPUHOST_UPDATE_KEY_DIR:-$root/build/update-key}   # (tests point it elsewhere)
command -v gpg >/dev/null || { echo "update-key: gpg is not installed (apt-get install gpg)" >&2; exit 1; }

mkdir -p "$out"
chmod 0700 "$out"
if [[ -n ${GPUHOST_UPDATE_GNUPGHOME:-} ]]; then
    home=$(realpath "$GPUHOST_UPDATE_GNUPGHOME")
    [[ -d $home ]] || { echo "update-key: GPUHOST_UPDATE_GNUPGHOME=$home is not a directory" >&2; exit 1; }
else
    home=$out/gnupg
    if [[ ! -f $home/.complete ]]; then
        rm -rf "$home"
        tmp=$(mktemp -d "$out/.new.XXXXXX")
        trap 'gpgconf --homedir "$tmp" --kill all 2>/dev/null || true; rm -rf "$tmp"' EXIT
        chmod 0700 "$tmp"
        gpg --homedir "$tmp" --batch --quiet --pinentry-mode loopback --passphrase '' \
            --quick-generate-key "gpuhost updates $(hostname -s) $(date -u +%F)" ed25519 sign never \
            2>"$tmp/gen.log" ||
            { echo "update-key: gpg could not make a key in $out:" >&2; cat "$tmp/gen.log" >&2; exit 1; }
        gpgconf --homedir "$tmp" --kill all 2>/dev/null || true
        rm -f "$tmp/gen.log"
        touch "$tmp/.complete"
        sync -f "$tmp/.complete"
        # Complete once renamed into place (.complete inside it): a killed run leaves only .new.*.
        mv -T "$tmp" "$home"
        trap - EXIT
        echo "update-key: made a new signing key in $home" >&2
    fi
fi
key=(${GPUHOST_UPDATE_KEY:+"$GPUHOST_UPDATE_KEY"})
gpg --homedir "$home" --batch --list-secret-keys "${key[@]}" >/dev/null 2>&1 ||
    { echo "update-key: no secret key ${key[*]:-} in $home" >&2; exit 1; }
# The public half as a plain OpenPGP keyring (gpg --export, binary): what systemd-pull passes
# to gpg as --keyring. Rewritten only when it changed, atomically (mkosi reads it as a build
# source; a changed file must change the image, an unchanged one must not).
pub=$out/import-pubring.gpg
tmp=$(mktemp "$out/.pub.XXXXXX")
gpg --homedir "$home" --batch --export "${key[@]}" >"$tmp" 2>/dev/null
[[ -s $tmp ]] || { rm -f "$tmp"; echo "update-key: nothing to export from $home" >&2; exit 1; }
if cmp -s "$tmp" "$pub"; then
    rm -f "$tmp"
else
    chmod 0644 "$tmp"
    sync "$tmp"
    mv -f "$tmp" "$pub"
fi
echo "$home"
echo "$pub"
