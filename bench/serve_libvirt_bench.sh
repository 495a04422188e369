#!/bin/bash
# What reading libvirt costs `gpuhost-agent serve` (issue 8): RSS and /api/v1/status
# requests/s with libvirt not read (--no-libvirt), asked but not running (the default here:
# no libvirtd on a build machine), and read from libvirt's test driver with VMS defined VMs
# (--libvirt-uri test:///..., one PCI host device each; serve reads it at most every 5 s).
#
# Usage: bench/serve_libvirt_bench.sh [BUILD_DIR]   DURATION=10s CONNECTIONS=64 VMS=20
# Prints one line per mode; exits 2 when something could not run.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build}
AGENT=$BUILD/agent/gpuhost-agent
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
VMS=${VMS:-20}
PORT=${SERVE_PORT:-18482}

die() { echo "serve_libvirt_bench: $*" >&2; exit 2; }
[ -x "$AGENT" ] || die "$AGENT not built (cmake --build $BUILD)"
command -v wrk >/dev/null || die "wrk missing (apt-get install wrk)"
command -v curl >/dev/null || die "curl missing"

TMP=$(mktemp -d /tmp/serve-libvirt-bench.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# The state: the agent's dry run on the captured H200 machine (its GPU goes to vfio).
cp -r tests/data/captures/h200-firecracker/tree "$TMP/root"
mkdir -p "$TMP/state"
"$AGENT" apply --root "$TMP/root" --dry-run --json >"$TMP/state/state.json" || die "apply --dry-run failed"

# A test-driver host: VMS shut-off VMs, the first one with the H200 (0000:00:06.0).
{
  echo "<node>"
  for i in $(seq 0 $((VMS - 1))); do
    bus=$(printf '%02x' $((i == 0 ? 0 : 0x40 + i)))
    slot=$(printf '%02x' $((i == 0 ? 6 : 0)))
    cat <<XML
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>vm-$i</name><memory>1048576</memory><os><type>hvm</type></os>
  <devices><hostdev mode='subsystem' type='pci' managed='yes'><source>
    <address domain='0x0000' bus='0x$bus' slot='0x$slot' function='0x0'/></source></hostdev></devices>
  <test:runstate>5</test:runstate>
</domain>
XML
  done
  echo "</node>"
} >"$TMP/node.xml"

run() { # NAME ARGS...
  local name=$1; shift
  "$AGENT" serve --listen "127.0.0.1:$PORT" --state-dir "$TMP/state" "$@" 2>"$TMP/serve.log" &
  PID=$!
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/status" || die "serve did not answer: $(cat "$TMP/serve.log")"
  sleep 1  # the first libvirt reading lands
  local body vms rss0 rps rss1
  body=$(curl -s "http://127.0.0.1:$PORT/api/v1/status")
  vms=$(python3 -c 'import json,sys; v=json.load(sys.stdin)["virtualization"]; print(len(v["vms"]) if v["vms"] is not None else "-", v["libvirt"]["connected"])' <<<"$body")
  rss0=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  rps=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT/api/v1/status" | awk '/Requests\/sec/ {print $2}')
  rss1=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  printf '%-34s vms/connected=%-10s RSS idle %6s KiB, after load %6s KiB; /api/v1/status %10s req/s\n' \
    "$name" "$vms" "$rss0" "$rss1" "$rps"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

run "no libvirt (--no-libvirt)" --no-libvirt
run "libvirt asked, daemon not running" 
run "libvirt test driver, $VMS VMs" --libvirt-uri "test://$TMP/node.xml"
