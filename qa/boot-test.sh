#!/bin/bash
# Boot test: boot the built image headless under qemu and check that first boot worked.
#
#   qa/boot-test.sh            (IMAGE, QA_PORT, QA_TIMEOUT, ACCEL may be set; see below)
#
# Checks, through qemu's port forward 127.0.0.1:$QA_PORT -> guest :8080:
#   GET /healthz answers 200 "ok"; GET /api/v1/status answers 200 with valid JSON.
# Checks, through a probe unit injected at boot with SMBIOS type 11 credentials (no rebuild):
#   systemctl is-system-running says "running" (not degraded), `systemctl --failed` is empty,
#   gpuhost-agent and gpuhost-serve are active, /var/lib/gpuhost holds a .json file, /proc/cmdline has
#   intel_iommu=on and systemd.firstboot=off and never amd_iommu=on.
# Then powers the guest off (ACPI power button through QMP; -no-reboot ends qemu on a reboot).
# On any failure the serial log is printed and the exit status is 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
profile=${PROFILE:-kvm-host}
image=${IMAGE:-$root/build/$profile/image.raw}
port=${QA_PORT:-18080}
timeout=${QA_TIMEOUT:-300}

[[ -f $image ]] || { echo "boot-test: no image at $image (make image)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gpuhost-qa.XXXXXX")
serial="$work/serial.log"
probe="$work/probe.txt"
qmp="$work/qmp.sock"
: >"$probe"

b64() { base64 -w0 "$@"; }

probe_unit=$(cat <<'UNIT'
[Unit]
Description=gpuhost qa probe (injected by qa/boot-test.sh)
After=gpuhost-serve.service

[Service]
# exec, not oneshot: the boot must be able to finish while the probe waits for it.
Type=exec
ImportCredential=gpuhost-qa.probe
ExecStart=/bin/sh -c 'exec /bin/sh "$${CREDENTIALS_DIRECTORY}/gpuhost-qa.probe"'
UNIT
)
wants_dropin=$'[Unit]\nWants=gpuhost-qa-probe.service\n'

cred() { echo "type=11,value=io.systemd.credential.binary:$1=$2"; }

qemu_pid=
cleanup() {
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "boot-test: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
    echo "boot-test: FAIL: $*" >&2
    echo "----- serial log (last 200 lines of $serial, kernel audit records left out) -----" >&2
    grep -av 'audit: type=' "$serial" 2>/dev/null | tail -n 200 | tr -d '\r' |
        sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2 || true
    echo "----- probe report -----" >&2
    cat "$probe" >&2 || true
    echo "------------------------" >&2
    exit 1
}

now() { date +%s%3N; }   # milliseconds
since() { local ms=$(( $(now) - $1 )); printf '%d.%d' $(( ms / 1000 )) $(( ms % 1000 / 100 )); }
expired() { (( $(now) - start > timeout * 1000 )); }

start=$(now)
# console=ttyS0 last makes the serial port /dev/console for this boot, so the log has systemd's
# status lines too (systemd-stub appends the SMBIOS cmdline-extra when Secure Boot is off).
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/OVMF_VARS.fd"
SERIAL="$serial" HOST_PORT="$port" VARS="$work/OVMF_VARS.fd" IMAGE="$image" "$root/image/vm.sh" \
    -no-reboot \
    -qmp "unix:$qmp,server=on,wait=off" \
    -device virtio-serial-pci \
    -chardev "file,id=probe,path=$probe" \
    -device virtserialport,chardev=probe,name=probe \
    -smbios "type=11,value=io.systemd.stub.kernel-cmdline-extra=console=ttyS0" \
    -smbios "$(cred systemd.extra-unit.gpuhost-qa-probe.service "$(printf '%s\n' "$probe_unit" | b64)")" \
    -smbios "$(cred systemd.unit-dropin.multi-user.target "$(printf '%s' "$wants_dropin" | b64)")" \
    -smbios "$(cred gpuhost-qa.probe "$(b64 "$here/probe.sh")")" \
    </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
echo "boot-test: qemu pid $qemu_pid, serial log $serial, http://127.0.0.1:$port/"

alive() { kill -0 "$qemu_pid" 2>/dev/null; }

# 1. /healthz through the port forward.
while :; do
    alive || fail "qemu exited early: $(cat "$work/qemu.out")"
    body=$(curl -fsS -m 3 "http://127.0.0.1:$port/healthz" 2>/dev/null) && break
    expired && fail "/healthz did not answer within ${timeout}s"
    sleep 1
done
t_health=$(since "$start")
[[ $body == ok* ]] || fail "/healthz answered '$body', expected ok"
echo "boot-test: /healthz 200 after ${t_health}s"

# 2. /api/v1/status: 200 and JSON.
status=$(curl -fsS -m 10 "http://127.0.0.1:$port/api/v1/status") || fail "/api/v1/status did not answer 200"
printf '%s' "$status" | python3 -c 'import json,sys; json.load(sys.stdin)' \
    || fail "/api/v1/status is not JSON: ${status:0:300}"
echo "boot-test: /api/v1/status 200, valid JSON (${#status} bytes)"

# 3. The probe's report.
while ! grep -q GPUHOST-QA-END "$probe"; do
    alive || fail "qemu exited before the probe reported"
    expired && fail "no probe report within ${timeout}s"
    sleep 1
done
t_probe=$(since "$start")
report=$(tr -d '\r' <"$probe")
echo "boot-test: probe report after ${t_probe}s:"
sed -n '/GPUHOST-QA-BEGIN/,/GPUHOST-QA-END/p' <<<"$report" | sed '/^agent-log-begin$/,/^agent-log-end$/d; s/^/    /'

problems=()
grep -qx 'is-system-running: running' <<<"$report" || problems+=("system is not 'running'")
failed=$(sed -n '/^failed-units-begin$/,/^failed-units-end$/p' <<<"$report" | sed '1d;$d')
[[ -z $failed ]] || problems+=("failed units: $(echo $failed)")
for unit in gpuhost-agent.service gpuhost-serve.service; do
    grep -qx "active: $unit active" <<<"$report" || problems+=("$unit is not active")
done
grep -q '^state-dir: .*json' <<<"$report" || problems+=("the agent wrote nothing to /var/lib/gpuhost")
cmdline=$(sed -n 's/^cmdline: //p' <<<"$report")
[[ " $cmdline " == *" intel_iommu=on "* ]] || problems+=("intel_iommu=on not on the command line")
[[ " $cmdline " == *" systemd.firstboot=off "* ]] || problems+=("systemd.firstboot=off not on the command line")
[[ " $cmdline " != *"amd_iommu=on"* ]] || problems+=("amd_iommu=on on the command line (invalid value)")
(( ${#problems[@]} == 0 )) || fail "$(printf '%s; ' "${problems[@]}")"

# 4. Power off: ACPI power button through QMP; logind turns it into a clean poweroff.
python3 - "$qmp" <<'PY' || fail "could not send system_powerdown over QMP"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    while "return" not in (r := json.loads(f.readline())) and "error" not in r: pass
    if "error" in r: sys.exit(r["error"])
PY
deadline=$(( $(date +%s) + 120 ))
while alive && (( $(date +%s) < deadline )); do sleep 1; done
alive && fail "guest did not power off within 120s of the power button"
wait "$qemu_pid" && rc=0 || rc=$?
qemu_pid=
(( rc == 0 )) || fail "qemu exited with status $rc"
echo "boot-test: guest powered off after $(since "$start")s total"
echo "boot-test: PASS (healthz ${t_health}s, probe ${t_probe}s)"
