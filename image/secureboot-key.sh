#!/bin/bash
# The image's Secure Boot key pair (issue 15, image/README.md "Trusted boot"): one certificate
# that goes into the firmware's db and signs systemd-boot, every UKI, the verity root hash and
# the NVIDIA modules. Debian's kernel trusts db certificates for module signatures (its
# platform-keyring patch), so one pair is enough: no shim, no MOK.
#
#   image/secureboot-key.sh       prints the key's path and the certificate's, one per line
#
#   SECUREBOOT_KEY, SECUREBOOT_CERT   the operator's pair (PEM; both or neither). Release builds
#                                     should use these (kept off the build machine's disk where
#                                     possible); the pair is only read, never copied.
#   otherwise                         build/secureboot/db.key + db.crt, made once on first use
#                                     (RSA 2048: the size every UEFI implementation verifies).
#
# The private key never enters an image or mkosi's caches: mkosi reads it to sign and
# verify-image checks that no file of the image holds it (recipes/kvm-host/mkosi.finalize.d).
# build/ is ignored by git, so a generated key is never committed either.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -n ${SECUREBOOT_KEY:-} || -n ${SECUREBOOT_CERT:-} ]]; then
    [[ -n ${SECUREBOOT_KEY:-} && -n ${SECUREBOOT_CERT:-} ]] ||
        { echo "secureboot-key: set both SECUREBOOT_KEY and SECUREBOOT_CERT, or neither" >&2; exit 1; }
    key=$(realpath "$SECUREBOOT_KEY") cert=$(realpath "$SECUREBOOT_CERT")
else
    dir=${GPUHOST_SECUREBOOT_DIR:-$root/build/secureboot}   # (tests point it elsewhere)
    key=$dir/db.key cert=$dir/db.crt
    if [[ ! -f $key || ! -f $cert ]]; then
        mkdir -p "$dir"
        chmod 0700 "$dir"
        tmp=$(mktemp -d "$dir/.new.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        # CN names the machine and day it was made on: `modinfo -F signer` and the firmware's db
        # then tell which build key signed what.
        (umask 077 && openssl req -new -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 \
            -subj "/CN=gpuhost image db $(hostname -s) $(date -u +%F)/" \
            -keyout "$tmp/db.key" -out "$tmp/db.crt" 2>/dev/null) ||
            { echo "secureboot-key: openssl could not make a key pair in $dir" >&2; exit 1; }
        sync "$tmp/db.key" "$tmp/db.crt"
        # The certificate last: a pair is complete once db.crt exists.
        mv "$tmp/db.key" "$key"
        mv "$tmp/db.crt" "$cert"
        echo "secureboot-key: made a new key pair: $key, $cert" >&2
    fi
fi
for f in "$key" "$cert"; do
    [[ -r $f ]] || { echo "secureboot-key: $f is not readable" >&2; exit 1; }
done
openssl x509 -in "$cert" -noout 2>/dev/null ||
    { echo "secureboot-key: $cert is not a PEM X.509 certificate" >&2; exit 1; }
# The key must be the certificate's: compare the public keys.
if [[ "$(openssl pkey -in "$key" -pubout 2>/dev/null)" != "$(openssl x509 -in "$cert" -noout -pubkey)" ]]; then
    echo "secureboot-key: $key is not the private key of $cert" >&2
    exit 1
fi
echo "$key"
echo "$cert"
