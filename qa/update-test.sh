#!/bin/bash
# `make qa-update` (issue 16, docs/updates.md section 6): an A/B update and an automatic
# rollback under qemu, through systemd's own machinery, on one disk.
#
#   qa/update-test.sh   (IMAGE = version N, the kvm-host image `make image` built; QA_TIMEOUT,
#                        ACCEL, KEEP_WORK as in qa/lib.sh; QA_UPDATE_PORT, default 18680)
#
# 1. Builds N+1 and N+2 incrementally from kvm-host's mkosi cache (version "<N>.1" and "<N>.2",
#    into build/qa-update-n1/ and build/qa-update-n2/; QA_UPDATE_REUSE=yes keeps them when
#    their version is right). N+2 carries an extra tree with an agent drop-in whose policy
#    (qa/fleet/broken.json: 2 TiB of hugepages) cannot fit: its agent run fails.
# 2. Publishes N+1 (image/publish.py --xz: SHA256SUMS signed with build/update-key/, whose
#    public half all three images carry) into build/qa-update/srv/, served by python3's
#    http.server on 127.0.0.1, which the guest reaches as 10.0.2.2.
# 3. Boot 1, N: a qcow2 overlay of the image, persistent (SNAPSHOT=off) with one UEFI variable
#    store for the run, Secure Boot enforced, qemu's i6300esb watchdog; credentials
#    gpuhost.update-url (the server) and gpuhost.update-tries=1. Checks the watchdog is armed,
#    then `systemctl start gpuhost-update.service` over SSH: the real unit runs systemd-sysupdate,
#    records update.json and reboots (qemu runs with -no-reboot: a reboot ends the process and
#    the script starts the machine again on the same disk and variables, as a power cycle).
# 4. Boot 2, N+1 (a counted boot, "+1"): its agent is healthy, gpuhost-bless blesses it,
#    systemd-bless-boot drops the counter; the page says N+1 runs blessed and the last update
#    went N -> N+1; root slot B holds N+1. Then N+2 is published and the update runs again.
# 5. Boot 3, N+2: the agent fails, gpuhost-bless refuses the boot (FailureAction=reboot): the
#    machine reboots by itself, nobody touches it.
# 6. Boot 4: systemd-boot, the try used up, starts N+1 again; the page and /metrics say it
#    rolled back from N+2 after 1 try, with the failed run's reason.
# Prints each step's version and boots, and the figures: bytes each update downloaded against
# the disk image, the update's duration, and the extra boot time of the rollback.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

upd_port=${QA_UPDATE_PORT:-18680}
ssh_port=$((qa_port + 2))
reuse=${QA_UPDATE_REUSE:-no}
out=$qa_root/build/qa-update
srv=$out/srv
n_dir=$(dirname "$qa_image")
total0=$(qa_now)

# The version of a build: its UKI's own os-release (what boots).
version_of() {
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import publish
print(publish.identity(sys.argv[2], sys.argv[2] + "/image.efi")[1])' "$qa_root/image" "$1"
}
n=$(version_of "$n_dir")
n1=$n.1 n2=$n.2
echo "qa-update: N=$n (from $n_dir), N+1=$n1, N+2=$n2"

# --- 1. the two newer versions --------------------------------------------------------------
mkdir -p "$out"
build_version() {   # NAME VERSION [mkosi args]
    local name=$1 v=$2; shift 2
    if [[ $reuse == yes && -f $qa_root/build/$name/image.efi ]] &&
        [[ $(version_of "$qa_root/build/$name") == "$v" ]]; then
        echo "qa-update: reusing build/$name ($v)"
        return
    fi
    local t0
    t0=$(date +%s)
    GPUHOST_IMAGE_VERSION=$v GPUHOST_OUTPUT_DIR_NAME=$name PROFILE=kvm-host \
        "$qa_root/image/mkosi.sh" -f "$@" build >"$out/$name.build.log" 2>&1 ||
        { tail -n 40 "$out/$name.build.log" >&2; echo "qa-update: building $v failed ($out/$name.build.log)" >&2; exit 1; }
    echo "qa-update: built $v into build/$name in $(( $(date +%s) - t0 ))s (incremental)"
    echo "$(( $(date +%s) - t0 ))" >"$out/$name.build-seconds"
}
build_version qa-update-n1 "$n1"
# N+2's agent gets a policy it must refuse: the extra tree is the only difference.
broken_tree=$out/n2-tree
rm -rf "$broken_tree"
mkdir -p "$broken_tree/usr/lib/gpuhost" "$broken_tree/usr/lib/systemd/system/gpuhost-agent.service.d"
cp "$qa_here/fleet/broken.json" "$broken_tree/usr/lib/gpuhost/qa-broken-policy.json"
cat >"$broken_tree/usr/lib/systemd/system/gpuhost-agent.service.d/90-qa-broken.conf" <<'EOF'
# make qa-update's version N+2 only (qa/update-test.sh): a policy that cannot fit, so this
# version's agent run fails and gpuhost-bless.service refuses every boot of it.
[Service]
ExecStart=
ExecStart=/usr/bin/gpuhost-agent apply --policy /usr/lib/gpuhost/qa-broken-policy.json
EOF
build_version qa-update-n2 "$n2" --extra-tree="$broken_tree:/"

# --- 2. the update server ---------------------------------------------------------------------
rm -rf "$srv"
mkdir -p "$srv"
publish() {   # NAME: prints the bytes a node downloads
    local log=$out/publish-$1.log
    python3 "$qa_root/image/publish.py" --build "$qa_root/build/$1" --dest "$srv" --xz >"$log" 2>&1 ||
        { cat "$log" >&2; echo "qa-update: publishing build/$1 failed" >&2; exit 1; }
    sed 's/^/qa-update: /' "$log" | tail -n 1 >&2
    sed -n 's/.*a node downloads \([0-9]*\) bytes.*/\1/p' "$log"
}
t=$(date +%s)
bytes_n1=$(publish qa-update-n1)
echo "qa-update: published $n1 in $(( $(date +%s) - t ))s"
python3 -m http.server --bind 127.0.0.1 --directory "$srv" "$upd_port" >"$out/http.log" 2>&1 &
http_pid=$!
stop_http() { kill "$http_pid" 2>/dev/null || true; }
trap 'stop_http; qa_cleanup' EXIT
for _ in $(seq 1 50); do curl -fs -o /dev/null "http://127.0.0.1:$upd_port/SHA256SUMS" && break; sleep 0.2; done
curl -fs -o /dev/null "http://127.0.0.1:$upd_port/SHA256SUMS" ||
    { echo "qa-update: the update server on 127.0.0.1:$upd_port does not answer ($out/http.log)" >&2; exit 1; }

# --- the machine -------------------------------------------------------------------------------
disk=$qa_work/disk.qcow2
qemu-img create -q -f qcow2 -b "$qa_image" -F raw "$disk" $(( $(stat -c %s "$qa_image") + (1 << 30) ))
export SNAPSHOT=off DISK_FORMAT=qcow2 SECUREBOOT=yes
export EXTRA_HOSTFWD="tcp:127.0.0.1:$ssh_port-:22"
update_creds=(
    -smbios "$(qa_cred gpuhost.update-url "$(printf 'http://10.0.2.2:%s/' "$upd_port" | qa_b64)")"
    -smbios "$(qa_cred gpuhost.update-tries "$(printf 1 | qa_b64)")"
    # The hardware watchdog systemd arms (RuntimeWatchdogSec=30s): a reset, as on a server.
    -device i6300esb -action watchdog=reset
)
guest() {
    ssh -q -i "$qa_work/id_ed25519" -p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=20 \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}
# sshd starts after the page (sshd-keygen makes the host keys on a first boot, ordered after
# gpuhost-serve): the page can answer a minute before SSH does.
wait_ssh() {
    local t0
    t0=$(qa_now)
    until guest true 2>/dev/null; do
        qa_alive || qa_fail "qemu exited while waiting for SSH"
        (( $(qa_now) - t0 < 300000 )) || qa_fail "SSH on 127.0.0.1:$ssh_port did not answer within 300s"
        sleep 2
    done
    qa_log "SSH answers $(qa_since "$qa_t0")s after start"
}
# The page's boot state (GET /api/v1/status) as one line: status running verdict rolled-back-from.
api() { qa_page "$qa_port" api/v1/status -s -m 10 2>/dev/null; }
boot_line() {
    api | python3 -c 'import json, sys
j = json.load(sys.stdin); b = j.get("boot") or {}; v = b.get("verdict") or {}
r = b.get("rollback") or {}
print(b.get("status"), b.get("running_version"), v.get("blessed"), r.get("from_version"))' 2>/dev/null || true
}
# Waits (up to QA_TIMEOUT) for the page's boot state to match the pattern.
wait_boot_state() {
    local want=$1 line=
    while :; do
        qa_alive || qa_fail "qemu exited while waiting for boot state '$want' (last: $line)"
        line=$(boot_line)
        [[ $line == $want ]] && break
        qa_expired && qa_fail "the page's boot state did not become '$want' within ${qa_timeout}s (last: '$line')"
        sleep 2
    done
    qa_log "boot state: $line after $(qa_since "$qa_t0")s"
}
# Waits for qemu to end by itself (a reboot under -no-reboot); LIMIT seconds.
wait_reboot() {
    local limit=$1 t0
    t0=$(qa_now)
    while qa_alive; do
        (( $(qa_now) - t0 < limit * 1000 )) || return 1
        sleep 1
    done
    wait "$qa_pid" || qa_fail "qemu exited with status $? (a reboot exits 0)"
    qa_pid=
    qa_log "rebooted by itself $(qa_since "$qa_t0")s after start"
}
check() {   # WHAT CONDITION-RESULT(0/1) DETAIL
    if [[ $2 == 0 ]]; then echo "  ok   $1: $3"; else echo "  FAIL $1: $3"; qa_fail "$1"; fi
}
esp_ukis() { guest 'ls -1 /efi/EFI/Linux /boot/EFI/Linux 2>/dev/null | grep "\.efi$" | LC_ALL=C sort | tr "\n" " "'; }
# The ESP holds exactly these UKIs (names as arguments).
has_ukis() { [[ $(esp_ukis) == "$(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ')" ]]; }
update_and_reboot() {   # runs the real unit; the node reboots itself once a version is installed
    local t0
    t0=$(qa_now)
    guest 'systemctl start --no-block gpuhost-update.service' ||
        qa_fail "could not start gpuhost-update.service over SSH"
    wait_reboot "$qa_timeout" || {
        guest 'systemctl status gpuhost-update.service --no-pager; journalctl -b -u gpuhost-update.service --no-pager | tail -n 40; cat /var/lib/gpuhost/update.json' >&2 || true
        qa_fail "no reboot within ${qa_timeout}s of starting gpuhost-update.service"
    }
    qa_log "update + reboot took $(qa_since "$t0")s"
}
boots=0
summary=()

# --- 3. boot 1: N ------------------------------------------------------------------------------
qa_boot n "$disk" "${update_creds[@]}"
boots=$((boots + 1))
qa_wait_http
t_plain=$qa_t_health
wait_boot_state "blessed $n None None"
wait_ssh
wd=$(guest 'cat /sys/class/watchdog/watchdog0/state /sys/class/watchdog/watchdog0/timeout; systemctl show -p RuntimeWatchdogUSec --value' | tr '\n' ' ' || true)
check "watchdog armed by PID 1" "$([[ $wd == "active 30 30s "* ]]; echo $?)" "state timeout RuntimeWatchdog = $wd"
check "update source rendered" "$(guest 'grep -q "^Path=http://10.0.2.2:'"$upd_port"'/$" /run/sysupdate.d/10-root.transfer'; echo $?)" \
    "/run/sysupdate.d/10-root.transfer points at http://10.0.2.2:$upd_port/"
check "N's UKI, no counter" "$(has_ukis "gpuhost-kvm-host_$n.efi"; echo $?)" "ESP: $(esp_ukis)"
update_and_reboot
summary+=("N=$n: 1 boot, then updated itself to $n1 and rebooted")

# --- 4. boot 2: N+1, counted, blessed ----------------------------------------------------------
qa_boot n1 "$disk" "${update_creds[@]}"
boots=$((boots + 1))
qa_wait_http
t_n1=$qa_t_health
wait_boot_state "blessed $n1 True None"
wait_ssh
api >"$qa_dir/http/status.json"
upd=$(python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["last_update"]; print(u["result"], u["from_version"], u["to_version"], u["duration_s"])' "$qa_dir/http/status.json")
check "last update on the page" "$([[ $upd == "updated $n $n1 "* ]]; echo $?)" "result from to seconds = $upd"
dur_n1=${upd##* }
for _ in $(seq 1 60); do has_ukis "gpuhost-kvm-host_$n.efi" "gpuhost-kvm-host_$n1.efi" && break; sleep 2; done
check "N+1 blessed by systemd-bless-boot" "$(has_ukis "gpuhost-kvm-host_$n.efi" "gpuhost-kvm-host_$n1.efi"; echo $?)" "ESP: $(esp_ukis)"
slots=$(guest 'for l in gpuhost_'"$n"' gpuhost_'"$n1"'; do printf "%s=%s " "$l" "$(blkid -t PARTLABEL=$l -o device | head -1)"; done; findmnt -no SOURCE /usr 2>/dev/null || findmnt -no SOURCE /' || true)
qa_log "slots and root: $slots"
check "both versions on disk" "$([[ $slots == *"gpuhost_$n=/dev/"*"gpuhost_$n1=/dev/"* ]]; echo $?)" "$slots"
guest '/usr/lib/systemd/systemd-sysupdate list --no-pager' >"$qa_dir/sysupdate-list.txt" 2>&1 || true
qa_log "systemd-sysupdate list: $(tr -s ' \n' ' ' <"$qa_dir/sysupdate-list.txt" | head -c 300)"
t=$(date +%s)
bytes_n2=$(publish qa-update-n2)
echo "qa-update: published $n2 in $(( $(date +%s) - t ))s"
update_and_reboot
summary+=("N+1=$n1: 1 counted boot, blessed; then updated itself to $n2")

# --- 5. boot 3: N+2, refused, reboots by itself ------------------------------------------------
qa_boot n2 "$disk" "${update_creds[@]}"
boots=$((boots + 1))
t_fail0=$qa_t0
wait_reboot "$qa_timeout" || qa_fail "N+2 did not reboot by itself within ${qa_timeout}s"
t_fail=$(( $(qa_now) - t_fail0 ))
grep -aq "gpuhost-bless" "$qa_dir/serial.log" || qa_log "(the serial log does not name gpuhost-bless; judged on the next boot)"
summary+=("N+2=$n2: 1 counted boot, refused, rebooted by itself after $(qa_secs "$t_fail")s")

# --- 6. boot 4: back on N+1 by itself ----------------------------------------------------------
qa_boot n1-again "$disk" "${update_creds[@]}"
boots=$((boots + 1))
qa_wait_http
t_back=$qa_t_health
wait_boot_state "rolled-back $n1 None $n2"
api >"$qa_dir/http/status.json"
qa_fetch_http
python3 - "$qa_dir/http/status.json" "$qa_dir/http/metrics.body" "$n1" "$n2" <<'EOF' || qa_fail "rollback checks"
import json, sys
j = json.load(open(sys.argv[1])); metrics = open(sys.argv[2]).read().splitlines()
n1, n2 = sys.argv[3], sys.argv[4]
b = j["boot"]; r = b["rollback"]
ok = True
def check(what, cond, detail):
    global ok
    print(f"  {'ok  ' if cond else 'FAIL'} {what}: {detail}")
    ok &= bool(cond)
check("runs N+1", b["running_version"] == n1, b["running_version"])
check("rolled back from N+2 after 1 try", r["from_version"] == n2 and r["tries"] == 1, r)
check("the reason is the failed run's", "failed" in r["reason"] and "hugepages" in r["reason"], r["reason"])
check("healthy (the fallback itself is fine)", j["health"]["healthy"], j["health"])
check("N+2 used up", any(i["version"] == n2 and i["state"] == "bad" for i in b["installed"]), b["installed"])
for line in ("gpuhost_boot_rolled_back 1", f'gpuhost_image_info{{image_id="gpuhost-kvm-host",version="{n1}"}} 1'):
    check("/metrics", line in metrics, line)
sys.exit(0 if ok else 1)
EOF
qa_page "$qa_port" / -s -m 10 -o "$qa_dir/http/page.body" 2>/dev/null || true
check "the page says it rolled back" "$(grep -q "Rolled back from" "$qa_dir/http/page.body"; echo $?)" "section 'Image and updates'"
qa_keep
qa_poweroff
summary+=("back on N+1=$n1 by itself: 1 boot, rolled back")

qa_name=all
for s in "${summary[@]}"; do qa_log "$s"; done
qa_log "boots: $boots in all (N 1, N+1 1, N+2 1 refused, N+1 again 1)"
qa_log "update N -> N+1: ${bytes_n1} bytes downloaded ($(( bytes_n1 / 1000000 )) MB, xz), ${dur_n1}s from start to the UKI installed; the disk image is $(( $(stat -c %s "$qa_image") / 1000000 )) MB, its used blocks $(( $(du -B1 "$qa_image" | cut -f1) / 1000000 )) MB"
qa_log "update N+1 -> N+2: ${bytes_n2} bytes downloaded"
qa_log "rollback: the refused boot took $(qa_secs "$t_fail")s from start to its reboot, the boot after it $(qa_secs "$t_back")s to /healthz (a plain boot of N: $(qa_secs "$t_plain")s, of N+1: $(qa_secs "$t_n1")s)"
qa_log "PASS ($(qa_since "$total0")s in all)"
