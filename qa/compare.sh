#!/bin/bash
# `make qa-compare` (part of `make qa`, after qa/boot-test.sh): the product image next to a stock
# Debian 13 image booted on the same qa machine (recipes/bare-trixie: kernel + systemd, same boot
# chain, same kernel and qemu settings).
#   1. Boot time: qemu start -> first /healthz answer of the product's first boot (kept by
#      boot-test.sh) next to qemu start -> the stock image's login prompt, and their ratio. The
#      product's boot also carries boot-test.sh's data-disk bridge (a second bochs-display and a
#      64 MiB ext4 disk mounted at /var/lib/libvirt/images); the stock boot has qa/lib.sh's machine.
#   2. Hardening: kernel-hardening-checker (qa/hardening-tool.sh) on each image's kernel config
#      (build/<recipe>/image.kconfig), booted /proc/cmdline and `sysctl -a` (probe reports);
#      OK/FAIL counts side by side; fails on a FAIL of the product image that is not in
#      qa/hardening-waivers.txt.
# Environment: VARIANT (the product image's build/ directory name, default kvm-host), QA_PORT, ACCEL.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
variant=${VARIANT:-kvm-host}
ours=build/qa/$variant/first
stock=build/qa/bare-trixie/boot-time
for f in "$ours/probe.txt" "$ours/first-answer-ms" "build/$variant/image.kconfig"; do
    [[ -f $f ]] || { echo "qa-compare: $f missing: run make qa (boot-test) for $variant first" >&2; exit 1; }
done

PROFILE=bare-trixie IMAGE=build/bare-trixie/image.raw "$here/retry-on-panic.sh" "$here/boot-time.sh"

secs() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
h=$(cat "$ours/first-answer-ms") hc=$(cat "$ours/healthz.code" 2>/dev/null || echo '?')
l=$(cat "$stock/login-prompt-ms")
echo "qa-compare: boot time, same qemu machine and accelerator (ACCEL=${ACCEL:-auto}):"
echo "qa-compare:   $variant  qemu start -> first /healthz answer ($hc): $(secs "$h")s"
echo "qa-compare:   bare-trixie qemu start -> login prompt:            $(secs "$l")s"
echo "qa-compare:   ratio $(awk -v a="$h" -v b="$l" 'BEGIN { printf "%.2f", a / b }')"

tool=$("$here/hardening-tool.sh")
python3 "$here/hardening.py" --tool "$tool" --waivers "$here/hardening-waivers.txt" --judge "$variant" \
    "$variant=build/$variant/image.kconfig,$ours/probe.txt" \
    "bare-trixie=build/bare-trixie/image.kconfig,$stock/probe.txt"
