# qa/lib.sh: shared by qa/boot-test.sh, qa/held-test.sh, qa/fleet-test.sh, qa/boot-time.sh and
# qa/nvidia-boot-test.sh (bash; sourced, not run).
#
# One boot = qa_boot NAME [qemu args...], qa_wait_http, qa_fetch_http, qa_wait_probe, qa_check
# SCENARIO, qa_poweroff. Every boot gets the same machine: image/vm.sh's q35 + intel-iommu +
# virtio disk + user NIC (management, default route, port forward), plus the devices below, the
# test policy (qa/policy.json) as the gpuhost.policy credential and the probe (qa/probe.sh) as an
# injected unit that reports over a virtio serial port. Nothing is rebuilt per scenario.
#
# Extra PCI devices beside the boot VGA (q35's std VGA at 00:01.0, the first display):
#   - qemu's edu device (1234:11e8) behind its own pcie-root-port (own IOMMU group): policy vfio
#   - a second NIC, e1000e (8086:10d3), on its own pcie-root-port, on an unconnected hub
#     (no DHCP server, no second default route): policy host, must stay on e1000e
#   - a non-boot display GPU on its own pcie-root-port: bochs-display (1234:1111, class 0380) as
#     function 0 and ich9-intel-hda (8086:293e, with a codec) as function 1 (HDMI-audio
#     companion): policy vfio, both functions
# qa/boot-test.sh (make qa) adds, on both its boots, the data-disk bridge: a pcie-pci-bridge on
# its own root port holding a second bochs-display and a virtio-blk disk mounted at
# /var/lib/libvirt/images (one IOMMU group: the display must stay on the host). The PXE, held,
# boot-time and nvidia boots do not have it.
#
# Environment: IMAGE, PROFILE, QA_PORT (default 18080), QA_TIMEOUT (s per boot, default 420),
# ACCEL, KEEP_WORK=1 (keep the work directory; it is kept anyway on failure).

qa_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qa_root=$(cd "$qa_here/.." && pwd)
qa_profile=${PROFILE:-kvm-host}
qa_image=${IMAGE:-$qa_root/build/$qa_profile/image.raw}
qa_port=${QA_PORT:-18080}
qa_timeout=${QA_TIMEOUT:-420}
qa_policy=${QA_POLICY:-$qa_here/policy.json}

[[ -f $qa_image ]] || { echo "qa: no image at $qa_image (make image)" >&2; exit 1; }
qa_image=$(realpath "$qa_image")   # a qcow2 overlay names its backing file relative to itself
# The accelerator, chosen once for all this script's boots (image/accel.sh: for auto, a trial
# with the firmware; it prints why), not again per boot.
ACCEL=$(ACCEL=${ACCEL:-auto} "$qa_root/image/accel.sh") || exit 1
export ACCEL

qa_work=$(mktemp -d "${TMPDIR:-/tmp}/gpuhost-qa.XXXXXX")
qa_failed=0
qa_pid=
qa_name=
qa_dir=

qa_now() { date +%s%3N; }   # milliseconds
qa_secs() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
qa_since() { qa_secs $(( $(qa_now) - $1 )); }
qa_log() { echo "qa[$qa_name]: $*"; }
qa_b64() { base64 -w0 "$@"; }
qa_cred() { echo "type=11,value=io.systemd.credential.binary:$1=$2"; }
qa_alive() { [[ -n $qa_pid ]] && kill -0 "$qa_pid" 2>/dev/null; }
# qa_page PORT PATH [curl args...]: the page through the port forward, over TLS with the demo CA
# and token that image/vm.sh hands every boot (image/demo-page.sh; the image itself serves
# loopback only).
qa_page() { "$qa_root/image/demo-page.sh" --curl "$@"; }

qa_cleanup() {
    if qa_alive; then
        kill "$qa_pid" 2>/dev/null || true
        wait "$qa_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP_WORK:-0} == 1 || $qa_failed == 1 ]]; then
        echo "qa: kept $qa_work" >&2
    else
        rm -rf "$qa_work"
    fi
}
trap qa_cleanup EXIT

# Serial log, the probe's report and the journal excerpts it carries; then exit 1.
qa_fail() {
    qa_failed=1
    echo "qa[$qa_name]: FAIL: $*" >&2
    if [[ -n $qa_dir ]]; then
        echo "----- serial log (last 150 lines of $qa_dir/serial.log, kernel audit records left out) -----" >&2
        grep -av 'audit: type=' "$qa_dir/serial.log" 2>/dev/null | tail -n 150 | tr -d '\r' |
            sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2 || true
        echo "----- probe report ($qa_dir/probe.txt; state.json left out here, it is in the file) -----" >&2
        tr -d '\r' <"$qa_dir/probe.txt" 2>/dev/null | sed '/^state-json-begin$/,/^state-json-end$/d' >&2 || true
        echo "----- qemu output -----" >&2
        cat "$qa_dir/qemu.out" >&2 2>/dev/null || true
        echo "------------------------" >&2
    fi
    exit 1
}

# The standard extra devices (see the top of this file).
qa_device_args=(
    -vga std
    -device pcie-root-port,id=qa_rp_edu,chassis=11
    -device edu,bus=qa_rp_edu
    -device pcie-root-port,id=qa_rp_nic,chassis=12
    -netdev hubport,id=qa_n1,hubid=1
    -device e1000e,bus=qa_rp_nic,netdev=qa_n1,mac=52:54:00:00:00:99
)
# The non-boot display GPU with its audio companion is image/vm.sh's EXTRA_GPU (make run shows the
# same machine).

# qa_probe_unit CREDENTIAL WHO: an injected unit that runs the script handed in as credential
# CREDENTIAL (qa/probe.sh here; qa/nvidia-boot-test.sh adds its own). exec, not oneshot: the
# boot must be able to finish while the probe waits for it.
qa_probe_unit() {
    "$qa_root/image/script-unit.sh" "$1" "gpuhost qa probe $1 (injected by $2)"
}

# A fresh SSH key pair per run; its public half goes in as the ssh.authorized_keys.root
# credential (systemd's tmpfiles provision.conf writes it to /root/.ssh/authorized_keys), and
# qa/first_boot.py finds it there. Nothing about it is baked into the image.
ssh-keygen -q -t ed25519 -N '' -C "gpuhost-qa-$(basename "$qa_work")" -f "$qa_work/id_ed25519" ||
    { echo "qa: ssh-keygen failed (make image-deps installs openssh-client)" >&2; exit 1; }
export QA_SSH_PUBKEY=$qa_work/id_ed25519.pub

# Extra units a scenario wants started (besides the probe); set before qa_boot.
qa_extra_wants=()

# qa_boot NAME DISK [qemu args...]: start qemu in the background on DISK (SNAPSHOT and
# DISK_FORMAT from the environment, as image/vm.sh reads them). Sets qa_pid, qa_t0, qa_dir.
qa_boot() {
    qa_boot_args=("$@")
    qa_name=$1; local disk=$2; shift 2
    qa_dir=$qa_work/$qa_name
    mkdir -p "$qa_dir/http"
    : >"$qa_dir/probe.txt"
    # One variable store per run, or per machine where several run at once (QA_VARS: qemu locks it);
    # image/vm.sh makes it from the template that fits its firmware (Secure Boot or not).
    local vars=${QA_VARS:-$qa_work/OVMF_VARS.fd}
    local wants="[Unit]"$'\n'"Wants=gpuhost-qa-probe.service ${qa_extra_wants[*]}"$'\n'
    qa_t0=$(qa_now)
    # no_timer_check: under TCG on a loaded machine the kernel's IO-APIC timer check can fail and
    # panic ("timer doesn't work through Interrupt-remapped IO-APIC"); emulation, not the image.
    # console=ttyS0 last makes the serial port /dev/console for this boot, so the log has
    # systemd's status lines too (systemd-stub appends the SMBIOS cmdline-extra without Secure Boot).
    SERIAL="$qa_dir/serial.log" HOST_PORT="$qa_port" VARS="$vars" IMAGE="$disk" EXTRA_GPU=yes \
        SECBOOT_VARS="$(dirname "$qa_image")/OVMF_VARS.secboot.fd" \
        CMDLINE_EXTRA="${QA_CMDLINE_EXTRA:+$QA_CMDLINE_EXTRA }console=ttyS0 no_timer_check" \
        BOOT_TIMING="$qa_dir/timing.txt" \
        "$qa_root/image/vm.sh" \
        -no-reboot \
        -qmp "unix:$qa_dir/qmp.sock,server=on,wait=off" \
        "${qa_device_args[@]}" \
        -device virtio-serial-pci \
        -chardev "file,id=probe,path=$qa_dir/probe.txt" \
        -device virtserialport,chardev=probe,name=probe \
        -smbios "$(qa_cred gpuhost.policy "$(qa_b64 "$qa_policy")")" \
        -smbios "$(qa_cred systemd.extra-unit.gpuhost-qa-probe.service "$(qa_probe_unit gpuhost-qa.probe qa/lib.sh | qa_b64)")" \
        -smbios "$(qa_cred systemd.unit-dropin.multi-user.target "$(printf '%s' "$wants" | qa_b64)")" \
        -smbios "$(qa_cred gpuhost-qa.probe "$(qa_b64 "$qa_here/probe.sh")")" \
        -smbios "$(qa_cred ssh.authorized_keys.root "$(qa_b64 "$QA_SSH_PUBKEY")")" \
        "$@" \
        </dev/null >"$qa_dir/qemu.out" 2>&1 &
    qa_pid=$!
    qa_log "qemu pid $qa_pid on $disk (snapshot=${SNAPSHOT:-on}), serial log $qa_dir/serial.log, https://127.0.0.1:$qa_port/"
}

# qa_kernel_only_panic LOG: true when LOG shows a kernel panic before the kernel ran /init, i.e.
# before anything from the disk ran (firmware and systemd-boot only read it). Under TCG on these
# 2-core machines the kernel sometimes dies there in ways real hardware never shows: "Oops: int3"
# in sched_clock_cpu when "sched_clock: Marking stable" patches a jump label while the other vCPU
# wakes from HLT (qemu 7.2's multi-threaded TCG runs a stale translation of the patched bytes);
# seen twice in a row on 2026-12-01 in one CI run's second boots. One vCPU per thread in a single
# thread (-accel tcg,thread=single) avoids it but made the boot ~50% slower (129 s of kernel
# time only at network.target).
qa_kernel_only_panic() {
    awk '/Run \/init as init process/ { exit 1 } /Kernel panic - not syncing/ { found = 1; exit 0 }
         END { exit !found }' "$1" 2>/dev/null
}

# Boots of the current run that may be started again after such a panic (QA_PANIC_REBOOTS).
qa_panic_reboots=${QA_PANIC_REBOOTS:-2}

# A guest kernel panic fails the run at once, except a panic before /init (above): that boot is
# started again, loudly, at most $qa_panic_reboots times in a run. Nothing of the boot's own ran,
# so the disk is as the previous boot left it and the next try checks the same thing. Returns 0
# when it started the boot again, 1 when there was no panic.
qa_panic_check() {
    local panic oops n=1
    panic=$(grep -a -m1 'Kernel panic - not syncing' "$qa_dir/serial.log" 2>/dev/null | tr -d '\r') || true
    [[ -n $panic ]] || return 1
    if (( qa_panic_reboots > 0 )) && qa_kernel_only_panic "$qa_dir/serial.log"; then
        qa_panic_reboots=$(( qa_panic_reboots - 1 ))
        oops=$(grep -a -m1 -E 'Oops|BUG|RIP' "$qa_dir/serial.log" | tr -d '\r') || true
        qa_log "WARN: the guest kernel panicked before /init ($panic; ${oops:-no Oops line}): an emulation fault under TCG, not the image; booting '$qa_name' again"
        kill "$qa_pid" 2>/dev/null || true
        wait "$qa_pid" 2>/dev/null || true
        while [[ -e $qa_dir.panic$n ]]; do n=$(( n + 1 )); done
        mv "$qa_dir" "$qa_dir.panic$n"
        qa_boot "${qa_boot_args[@]}"
        return 0
    fi
    qa_fail "the guest kernel panicked: $panic"
}

# True once the boot's time is up; a guest kernel panic (qa_panic_check), or KVM stopping the
# guest, fails the run at once instead of waiting out the timeout.
qa_expired() {
    local kvm
    kvm=$("$qa_root/image/accel.sh" --kvm-failure "$qa_dir/qemu.out") || true
    [[ -z $kvm ]] || qa_fail "KVM failed after start ($kvm); ACCEL=tcg runs without it"
    qa_panic_check && return 1
    (( $(qa_now) - qa_t0 > qa_timeout * 1000 ))
}

# Waits until /healthz answers at all (any HTTP status) and records the time; the status
# and body are in $qa_dir/http/healthz.{code,body}. Sets qa_t_health (ms, first answer).
qa_wait_http() {
    local code
    while :; do
        qa_alive || { qa_panic_check && continue; qa_fail "qemu exited early: $(cat "$qa_dir/qemu.out")"; }
        code=$(qa_page "$qa_port" healthz -s -m 2 -o "$qa_dir/http/healthz.body" -w '%{http_code}' \
            2>/dev/null) || true
        [[ $code == [1-5][0-9][0-9] ]] && break
        qa_expired && qa_fail "/healthz did not answer within ${qa_timeout}s"
        sleep 0.5
    done
    qa_t_health=$(( $(qa_now) - qa_t0 ))
    echo "$code" >"$qa_dir/http/healthz.code"
    echo "$qa_t_health" >"$qa_dir/http/first-answer-ms"
    qa_log "/healthz first answered $code after $(qa_secs "$qa_t_health")s: $(head -c 200 "$qa_dir/http/healthz.body")"
}

# /api/v1/status and /metrics (status code + body each) next to healthz.
qa_fetch_http() {
    local p n
    for p in api/v1/status metrics; do
        n=${p//\//_}
        qa_page "$qa_port" "$p" -s -m 10 -o "$qa_dir/http/$n.body" -w '%{http_code}' \
            >"$qa_dir/http/$n.code" 2>/dev/null || true
    done
}

# qa_timing: where this boot's time went (image/boot-timing.py on the guest's timing report,
# which comes right after the probe's), one line each; a missing report is said, not fatal.
qa_timing() {
    local i
    for i in $(seq 1 30); do
        grep -q GPUHOST-TIMING-END "$qa_dir/timing.txt" 2>/dev/null && break
        sleep 1
    done
    "$qa_root/image/boot-timing.py" "$qa_dir/timing.txt" "$qa_t_health" "qa[$qa_name]" "$qa_t0" ||
        qa_log "no boot timing report"
}

# Waits for the probe's report. Sets qa_t_probe (ms).
qa_wait_probe() {
    while ! grep -q GPUHOST-QA-END "$qa_dir/probe.txt"; do
        qa_alive || { qa_panic_check && continue; qa_fail "qemu exited before the probe reported"; }
        qa_expired && qa_fail "no probe report within ${qa_timeout}s"
        sleep 1
    done
    qa_t_probe=$(( $(qa_now) - qa_t0 ))
    qa_log "probe report after $(qa_secs "$qa_t_probe")s ($(grep -a '^is-system-running:' "$qa_dir/probe.txt" | tr -d '\r'))"
}

# qa_check SCENARIO: qa/check.py judges the report and the HTTP answers; prints one line per check.
qa_check() {
    python3 "$qa_here/check.py" "$1" "$qa_dir" || qa_fail "checks failed for scenario $1 (see above)"
}

# qa_keep: copy this boot's probe report, serial log and first-answer time to
# build/qa/<image variant>/<boot name>/ (kept after a passing run: the hardening report and the
# boot-time comparison read them; CI can publish them).
qa_keep() {
    local dest
    dest="$qa_root/build/qa/$(basename "$(dirname "$qa_image")")/$qa_name"
    rm -rf "$dest" && mkdir -p "$dest"
    cp "$qa_dir/probe.txt" "$qa_dir/serial.log" "$dest/" 2>/dev/null || true
    cp "$qa_dir/http/first-answer-ms" "$qa_dir/http/healthz.code" "$dest/" 2>/dev/null || true
    cp "$qa_dir/timing.txt" "$dest/" 2>/dev/null || true
    [[ -z ${qa_t_login:-} ]] || echo "$qa_t_login" >"$dest/login-prompt-ms"
    qa_log "kept the probe report and serial log in ${dest#"$qa_root"/}"
}

# qa_remote_libvirt PORT: what the host's virsh gets over qemu+tls from this boot's libvirt
# (forwarded to 127.0.0.1:PORT), as the demo's allowed manager and as a refused intruder
# (image/demo-page.sh --libvirt-smbios); in $qa_dir/remote-libvirt/{manager,intruder}.{out,rc}
# for qa/check_remote_libvirt.py.
qa_remote_libvirt() {
    local who pki
    pki=$("$qa_root/image/demo-page.sh")
    mkdir -p "$qa_dir/remote-libvirt"
    for who in manager intruder; do
        timeout 120 virsh -c "qemu+tls://127.0.0.1:$1/system?pkipath=$pki/libvirt-$who" \
            list --all --name >"$qa_dir/remote-libvirt/$who.out" 2>&1 &&
            echo 0 >"$qa_dir/remote-libvirt/$who.rc" || echo $? >"$qa_dir/remote-libvirt/$who.rc"
    done
}

# ACPI power button through QMP; logind turns it into a clean poweroff. Waits for qemu to exit.
qa_poweroff() {
    "$qa_root/image/qmp.py" "$qa_dir/qmp.sock" system_powerdown >/dev/null ||
        qa_fail "could not send system_powerdown over QMP"
    local deadline=$(( $(date +%s) + 120 )) rc=0
    while qa_alive && (( $(date +%s) < deadline )); do sleep 1; done
    qa_alive && qa_fail "guest did not power off within 120s of the power button"
    wait "$qa_pid" || rc=$?
    qa_pid=
    (( rc == 0 )) || qa_fail "qemu exited with status $rc"
    qa_log "powered off after $(qa_since "$qa_t0")s in all"
}
