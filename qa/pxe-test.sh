#!/bin/bash
# `make qa-pxe`: boot the PXE bundle (build/pxe/, `make image PROFILE=pxe`) under qemu with no
# disk at all, the way a server boots it from the network, and check it like a disk boot.
#
#   qa/pxe-test.sh      (IMAGE default build/pxe/image.raw: the bundle is its directory;
#                        QA_PORT, QA_TIMEOUT, ACCEL, KEEP_WORK as in qa/lib.sh)
#   QA_PXE_HTTP_PORT    the HTTP server's port on 127.0.0.1 (default 18481; a free one when busy)
#
# The path: OVMF's own PXE client (the NIC has no option ROM) gets DHCP from qemu's user network,
# which names snponly.efi (trixie's iPXE, from the bundle) as boot file and serves it from the TFTP
# directory; iPXE runs autoexec.ipxe from there by itself. That is the bundle's autoexec.ipxe
# with two settings changed for this run: gpuhost-url (this run's HTTP server, the host's
# loopback is 10.0.2.2 in the guest) and gpuhost-extra=console=ttyS0 (the serial log gets systemd's
# output; it also exercises the bundle's hook for extra kernel parameters). autoexec.ipxe chains
# boot.ipxe over HTTP, which loads the kernel, the initrd and the erofs root file system (into the
# initramfs as /gpuhost-rootfs.erofs); the initrd loop-mounts it with a tmpfs overlay.
#
# One boot (it is a first boot by construction: nothing persists), with qa/lib.sh's machine minus
# the disk: the same extra PCI devices, test policy (SMBIOS credential) and probe. Checks: the
# bundle's SHA256SUMS, the HTTP server saw boot.ipxe, kernel, initrd and root file system
# fetched; then qa/check.py "pxe" (the first-boot checks except the root disk, plus overlay root,
# erofs lower layer, the root= of the bundle, a machine-id made at this boot) with /healthz,
# /api/v1/status and /metrics through the port forward.
set -euo pipefail
export PROFILE=${PROFILE:-pxe}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bundle=$(dirname "$qa_image")
export QA_UKI=$bundle/image.efi
total0=$(qa_now)
qa_name=pxe

# The bundle as built: every file of it in SHA256SUMS, and the sums hold.
for f in image.vmlinuz image.initrd image.rootfs.raw image.efi snponly.efi boot.ipxe autoexec.ipxe SHA256SUMS; do
    [[ -f $bundle/$f ]] || qa_fail "bundle: $bundle/$f missing (make image PROFILE=pxe)"
    [[ $f == SHA256SUMS ]] || grep -q "  $f\$" "$bundle/SHA256SUMS" || qa_fail "bundle: $f not in $bundle/SHA256SUMS"
done
(cd "$bundle" && sha256sum --quiet --strict -c SHA256SUMS) || qa_fail "bundle: SHA256SUMS does not match $bundle"
qa_log "bundle $bundle: $(cd "$bundle" && du -bc image.vmlinuz image.initrd image.rootfs.raw | tail -n1 | cut -f1) bytes to fetch (kernel + initrd + root), SHA256SUMS ok"

# The HTTP server: python's, on the loopback, serving the bundle directory as it is.
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
http_port=${QA_PXE_HTTP_PORT:-18481}
if ! port_free "$http_port"; then
    [[ -z ${QA_PXE_HTTP_PORT:-} ]] || qa_fail "QA_PXE_HTTP_PORT=$http_port is in use"
    http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
http_log=$qa_work/http.log
python3 -u -m http.server "$http_port" --bind 127.0.0.1 --directory "$bundle" >"$http_log" 2>&1 &
http_pid=$!
trap 'kill "$http_pid" 2>/dev/null || true; qa_cleanup' EXIT
for _ in $(seq 50); do
    curl -sfI -o /dev/null "http://127.0.0.1:$http_port/boot.ipxe" && break  # HEAD: the log keeps GETs for the guest
    kill -0 "$http_pid" 2>/dev/null || qa_fail "HTTP server on port $http_port exited: $(cat "$http_log")"
    sleep 0.2
done
url="http://10.0.2.2:$http_port/"

# The TFTP directory: snponly.efi and this run's autoexec.ipxe.
tftp=$qa_work/tftp
mkdir -p "$tftp"
cp "$bundle/snponly.efi" "$tftp/"
grep -q '^set gpuhost-url ' "$bundle/autoexec.ipxe" || qa_fail "bundle: autoexec.ipxe has no 'set gpuhost-url' line"
sed -e "s|^set gpuhost-url .*|set gpuhost-url $url\nset gpuhost-extra console=ttyS0 panic=1|" \
    "$bundle/autoexec.ipxe" >"$tftp/autoexec.ipxe"
qa_log "HTTP server pid $http_pid on 127.0.0.1:$http_port (guest: $url), TFTP $tftp"

# A kernel panic before userspace answers is retried once, loudly: under TCG with two vCPUs the
# guest kernel has died early in boot, independent of PXE (seen: "Oops: int3" in sched_clock_cpu
# while the kernel patched a static key, 5 s in; another helper's disk boot: "timer doesn't work
# through Interrupt-remapped IO-APIC"). panic=1 plus qemu's -no-reboot turn a panic into a qemu
# exit. Anything else (no answer, emergency shell, failed checks) fails as usual.
for attempt in 1 2; do
    PXE_DIR=$tftp qa_boot pxe none
    until [[ $(qa_page "$qa_port" healthz -s -m 3 -o /dev/null -w '%{http_code}' 2>/dev/null) == [1-5][0-9][0-9] ]]; do
        qa_alive && ! qa_expired || break
        sleep 2
    done
    qa_alive || ! grep -aq 'Kernel panic' "$qa_dir/serial.log" || (( attempt == 2 )) && break
    qa_log "WARN: the guest kernel panicked after $(qa_since "$qa_t0")s, booting once more:" \
        "$(grep -a -m1 -E 'Oops|Kernel panic' "$qa_dir/serial.log" | tr -d '\r')"
    wait "$qa_pid" || true
    qa_pid=
    mv "$qa_dir" "$qa_dir.panic"
done
qa_wait_http
qa_fetch_http
qa_wait_probe

# What came over HTTP (python's log: one line per request, with the status code).
for f in boot.ipxe image.vmlinuz image.initrd image.rootfs.raw; do
    grep -q "\"GET /$f HTTP/1.[01]\" 200" "$http_log" ||
        qa_fail "the guest did not fetch $f over HTTP (server log: $(tail -n 20 "$http_log"))"
done
qa_log "fetched over HTTP: $(grep -o '"GET /[^ ]* HTTP/1.[01]" [0-9]*' "$http_log" | sed 's/"GET \/\([^ ]*\) HTTP\/1.[01]" /\1 /' | tr '\n' ',' | sed 's/,$//')"

qa_check pxe
qa_keep
qa_poweroff
qa_log "PASS (healthz after $(qa_secs "$qa_t_health")s, probe after $(qa_secs "$qa_t_probe")s; $(qa_since "$total0")s in all)"
