#!/bin/bash
# `make qa-fleet` (and `make qa`): three fleet nodes boot at the same time from one PXE bundle
# (build/pxe/, `make image PROFILE=pxe`), each with its own SMBIOS UUID and MAC, and each fetches
# its own policy over HTTPS by its UUID (issue 18, docs/fleet.md):
#
#   node    policy (qa/fleet/)          must end up
#   pass    qa/policy.json              the second display (and its audio companion) on vfio-pci,
#                                       healthy; judged in full by qa/check.py "pxe" (the PXE
#                                       root, devices, hardening, page) and it opens libvirt over
#                                       TLS: the host's virsh lists its VM through qemu+tls
#   keep    keep.json                   the second display kept on the host, healthy
#   broken  broken.json                 a policy that parses but cannot fit the node (2 TiB of
#                                       hugepages): result failed naming the URL, nothing bound,
#                                       the page still answering
#
# What a real fleet does, done here with the repository's tools: `make fleet`'s renderer
# (image/fleet.py) turns a fleet file into one policy per node and Prometheus's file_sd targets;
# a plain HTTPS server (qa/fleet/policy_server.py) serves the policies with a certificate from a
# CA made for this run; the PXE script (autoexec.ipxe's gpuhost-extra, docs/fleet.md step 7) puts
# the URL template and the CA on every node's kernel command line as credentials; Debian's
# Prometheus, configured with nothing but the rendered targets.json, the page's CA and token,
# scrapes all three (qa/fleet/prometheus_scrape.py prints `node <uuid>: policy <source>, vfio
# <n>, health <status>` from its query API).
#
#   qa/fleet-test.sh    (IMAGE default build/pxe/image.raw: the bundle is its directory;
#                        QA_PORT (node pages on QA_PORT, +2, +3; libvirt of "pass" on +1),
#                        QA_TIMEOUT, ACCEL, KEEP_WORK as in qa/lib.sh)
#   QA_FLEET_NODES      which nodes boot (default "pass keep broken"; "pass" alone is the
#                       one-node figure of bench/fleet-boot.sh)
#   QA_PXE_HTTP_PORT    the bundle's HTTP server port on 127.0.0.1 (default 18481; a free one when busy)
#
# Each node is qa/lib.sh's machine (the same extra PCI devices, probe and test credentials) with
# one vCPU, no disk, its own UUID, MAC and OVMF variable store. The network path of each node: OVMF's own PXE client (the NIC has no option ROM) gets DHCP from
# its qemu user network, which names snponly.efi (trixie's iPXE, from the bundle) and serves it
# over TFTP; iPXE runs this run's autoexec.ipxe (the bundle's, with the HTTP URL and
# gpuhost-extra set), which chains boot.ipxe over HTTP: kernel, initrd and the erofs root.
set -euo pipefail
export PROFILE=${PROFILE:-pxe}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Three nodes boot at once with per-node settings given as prefixes to qa_boot: lib.sh cannot
# start one of them again by itself, so any panic fails the run and qa/retry-on-panic.sh boots
# the fleet once more.
qa_panic_reboots=0

bundle=$(dirname "$qa_image")
export QA_UKI=$bundle/image.efi
total0=$(qa_now)
qa_name=fleet
read -r -a fleet_nodes <<<"${QA_FLEET_NODES:-pass keep broken}"
agent_bin=$qa_root/build/agent/gpuhost-agent
[[ -x $agent_bin ]] || qa_fail "no $agent_bin (make build): the fleet renderer checks policies with it"

# ---- the bundle as built: every file in SHA256SUMS, and the sums hold ----
for f in image.vmlinuz image.initrd image.rootfs.raw image.efi snponly.efi boot.ipxe autoexec.ipxe SHA256SUMS; do
    [[ -f $bundle/$f ]] || qa_fail "bundle: $bundle/$f missing (make image PROFILE=pxe)"
    [[ $f == SHA256SUMS ]] || grep -q "  $f\$" "$bundle/SHA256SUMS" || qa_fail "bundle: $f not in $bundle/SHA256SUMS"
done
(cd "$bundle" && sha256sum --quiet --strict -c SHA256SUMS) || qa_fail "bundle: SHA256SUMS does not match $bundle"
qa_log "bundle $bundle: $(cd "$bundle" && du -bc image.vmlinuz image.initrd image.rootfs.raw | tail -n1 | cut -f1) bytes to fetch per node (kernel + initrd + root), SHA256SUMS ok"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
wait_for() {  # wait_for PID LOG CHECK...: until CHECK succeeds; the server must stay up
    local pid=$1 log=$2; shift 2
    for _ in $(seq 100); do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || qa_fail "server pid $pid exited: $(cat "$log")"
        sleep 0.2
    done
    qa_fail "server pid $pid did not come up: $(cat "$log")"
}

# ---- the bundle over plain HTTP (python's server; the kernel and root are public) ----
http_port=${QA_PXE_HTTP_PORT:-18481}
if ! port_free "$http_port"; then
    [[ -z ${QA_PXE_HTTP_PORT:-} ]] || qa_fail "QA_PXE_HTTP_PORT=$http_port is in use"
    http_port=$(free_port)
fi
http_log=$qa_work/http.log
python3 -u -m http.server "$http_port" --bind 127.0.0.1 --directory "$bundle" >"$http_log" 2>&1 &
http_pid=$!
node_pids=()
policy_pid=
prom_pid=
stop_all() {
    local p
    for p in "${node_pids[@]}" "$http_pid" $policy_pid $prom_pid; do kill "$p" 2>/dev/null || true; done
    qa_cleanup
}
trap stop_all EXIT
# HEAD: the log keeps the guests' GETs only
wait_for "$http_pid" "$http_log" curl -sfI -o /dev/null "http://127.0.0.1:$http_port/boot.ipxe"

# ---- the fleet's policy server: its own CA, a certificate for 10.0.2.2 (the host as each
# guest's user network shows it) ----
pki=$qa_work/fleet-pki
mkdir -p "$pki"
(
    cd "$pki"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 2 -subj "/CN=gpuhost qa fleet CA" 2>/dev/null
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=10.0.2.2 2>/dev/null
    printf 'subjectAltName=IP:10.0.2.2\n' >san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext \
        -out server.crt 2>/dev/null
) || qa_fail "openssl could not make the fleet's CA and server certificate"
policy_port=$(free_port)
policy_url="https://10.0.2.2:$policy_port/nodes/{uuid}.json"

# ---- the fleet file, rendered as `make fleet` does ----
declare -A uuid=([pass]=6a1c7e00-0000-4000-8000-000000000001 [keep]=6a1c7e00-0000-4000-8000-000000000002
    [broken]=6a1c7e00-0000-4000-8000-000000000003)
declare -A mac=([pass]=52:54:00:f1:ee:01 [keep]=52:54:00:f1:ee:02 [broken]=52:54:00:f1:ee:03)
declare -A port=([pass]=$qa_port [keep]=$((qa_port + 2)) [broken]=$((qa_port + 3)))
declare -A health=([pass]=ok [keep]="ok|degraded" [broken]=failed)
lv_port=$((qa_port + 1))
fleet_file=$qa_work/qa.fleet
{
    echo "# qa/fleet-test.sh: three nodes on one PXE bundle"
    echo "fleet policy_url=$policy_url port=8080 pxe_url=http://10.0.2.2:$http_port/ ca=$pki/ca.crt"
    echo "profile pass $qa_here/policy.json"
    echo "profile keep $qa_here/fleet/keep.json"
    echo "profile broken $qa_here/fleet/broken.json"
    for n in "${fleet_nodes[@]}"; do
        [[ -n ${uuid[$n]:-} ]] || qa_fail "QA_FLEET_NODES: unknown node '$n' (pass, keep, broken)"
        echo "node $n uuid=${uuid[$n]} mac=${mac[$n]} address=127.0.0.1:${port[$n]} profile=$n label.role=$n"
    done
} >"$fleet_file"
python3 "$qa_root/image/fleet.py" --agent "$agent_bin" --fleet "$fleet_file" --out "$qa_work/fleet" ||
    qa_fail "image/fleet.py could not render $fleet_file"
policy_log=$qa_work/policy-requests.log
: >"$policy_log"
python3 -u "$qa_here/fleet/policy_server.py" "$qa_work/fleet" "$pki/server.crt" "$pki/server.key" \
    "$policy_port" "$policy_log" >"$qa_work/policy-server.out" 2>&1 &
policy_pid=$!
wait_for "$policy_pid" "$qa_work/policy-server.out" grep -q ready "$qa_work/policy-server.out"
curl -sf --cacert "$pki/ca.crt" --resolve "10.0.2.2:$policy_port:127.0.0.1" -o /dev/null \
    "https://10.0.2.2:$policy_port/nodes/${uuid[${fleet_nodes[0]}]}.json" ||
    qa_fail "the policy server does not serve ${uuid[${fleet_nodes[0]}]}.json"
: >"$policy_log"
qa_log "fleet rendered to $qa_work/fleet; policies on https://127.0.0.1:$policy_port/nodes/ (guests: $policy_url)"

# ---- the TFTP root: the bundle's snponly.efi and the fleet's autoexec.ipxe as rendered (this
# run's HTTP URL; the policy URL template and the CA as credentials), plus what qa_boot hands a
# disk boot through the UKI's SMBIOS command line (no UKI here: iPXE starts the kernel itself):
# console=ttyS0 (the serial log gets systemd's output) and no_timer_check (under TCG on a loaded
# machine the kernel's IO-APIC timer check fails and panics: "timer doesn't work through
# Interrupt-remapped IO-APIC", seen here with three nodes booting at once) ----
tftp=$qa_work/tftp
mkdir -p "$tftp"
cp "$bundle/snponly.efi" "$tftp/"
grep -q '^set gpuhost-extra systemd.set_credential=gpuhost.policy-url:' "$qa_work/fleet/pxe/autoexec.ipxe" ||
    qa_fail "image/fleet.py rendered no gpuhost-extra with the policy URL in pxe/autoexec.ipxe"
sed -e 's|^set gpuhost-extra |&console=ttyS0 no_timer_check |' "$qa_work/fleet/pxe/autoexec.ipxe" >"$tftp/autoexec.ipxe"

# ---- boot every node at once ----
mapfile -t lv_args < <("$qa_root/image/demo-page.sh" --libvirt-smbios)
(( ${#lv_args[@]} == 8 )) || qa_fail "image/demo-page.sh --libvirt-smbios failed"
demo=$("$qa_root/image/demo-page.sh")
declare -A pid dir t0
for n in "${fleet_nodes[@]}"; do
    extra_args=(-uuid "${uuid[$n]}")
    unset EXTRA_HOSTFWD
    if [[ $n == pass ]]; then
        extra_args+=("${lv_args[@]}")
        export EXTRA_HOSTFWD="tcp:127.0.0.1:$lv_port-:16514"
    fi
    # One vCPU each: three 2-vCPU TCG guests on a 2-core host starved the initrd's jobs past
    # systemd's timeouts (journald, "start operation timed out", emergency shell) under load.
    qa_port=${port[$n]} QA_VARS=$qa_work/OVMF_VARS-$n.fd NIC_MAC=${mac[$n]} PXE_DIR=$tftp SMP=1 \
        qa_boot "$n" none "${extra_args[@]}"
    pid[$n]=$qa_pid dir[$n]=$qa_dir t0[$n]=$qa_t0
    node_pids+=("$qa_pid")
done
unset EXTRA_HOSTFWD
first_t0=${t0[${fleet_nodes[0]}]}
expect=()
for n in "${fleet_nodes[@]}"; do expect+=("${uuid[$n]}=${health[$n]}"); done
# Its exit status goes to a file: by the time the nodes are judged (minutes of forks later) the
# PID can have been reused on these machines (pid_max 32768), and bash then forgets the finished
# child's status: `wait` said 127 for a scrape that had printed success (2026-12-01).
rm -f "$qa_work/prometheus.rc"
python3 -u "$qa_here/fleet/prometheus_scrape.py" "$qa_work/prometheus" "$qa_work/fleet/targets.json" \
    "$demo/ca.crt" "$demo/token" "$first_t0" "$qa_timeout" "${expect[@]}" >"$qa_work/prometheus.out" 2>&1 \
    && echo 0 >"$qa_work/prometheus.rc" || echo "$?" >"$qa_work/prometheus.rc" &
prom_pid=$!

use_node() {  # lib.sh's functions work on one boot at a time: this node's
    qa_name=$1 qa_pid=${pid[$1]} qa_dir=${dir[$1]} qa_t0=${t0[$1]} qa_port=${port[$1]}
}
# lib.sh's qa_expired watches the node being waited for; a panic of any other node ends the run
# as soon as it shows too (qa/retry-on-panic.sh then boots the fleet once more).
eval "$(declare -f qa_expired | sed '1s/^qa_expired/qa_expired_one/')"
qa_expired() {
    local n panic
    for n in "${fleet_nodes[@]}"; do
        panic=$(grep -a -m1 'Kernel panic - not syncing' "${dir[$n]}/serial.log" 2>/dev/null | tr -d '\r') || true
        [[ -z $panic ]] || { use_node "$n"; qa_fail "the guest kernel panicked: $panic"; }
    done
    qa_expired_one
}
rc_all=0
for n in "${fleet_nodes[@]}"; do
    use_node "$n"
    qa_wait_http
    # The answers are judged after the probe's libvirt block (after GPUHOST-QA-END) has ended:
    # it runs `gpuhost-agent restore` and restarts the agent (qa/probe.sh "reapply"), and a
    # /healthz fetched during that rerun rightly says "unfinished" (seen on the broken node).
    qa_wait_probe
    while ! grep -q GPUHOST-QA-LIBVIRT-END "$qa_dir/probe.txt"; do
        qa_alive || qa_fail "qemu exited before the probe's libvirt block ended"
        qa_expired && qa_fail "the probe's libvirt block did not end within ${qa_timeout}s"
        sleep 1
    done
    qa_fetch_http
    qa_page "$qa_port" healthz -s -m 10 -o "$qa_dir/http/healthz.body" -w '%{http_code}' \
        >"$qa_dir/http/healthz.code" 2>/dev/null || true
    qa_page "$qa_port" / -s -m 10 -o "$qa_dir/http/page.body" -w '%{http_code}' >"$qa_dir/http/page.code" 2>/dev/null || true
    url=${policy_url/\{uuid\}/${uuid[$n]}}
    if [[ $n == pass ]]; then
        qa_remote_libvirt "$lv_port"
        python3 "$qa_here/check.py" pxe "$qa_dir" || rc_all=1
        python3 "$qa_here/check_remote_libvirt.py" second "$qa_dir" || rc_all=1
    fi
    python3 "$qa_here/fleet/check_node.py" "$n" "$qa_dir" "${uuid[$n]}" "$url" || rc_all=1
    grep -qx "/nodes/${uuid[$n]}.json 200" "$policy_log" || { rc_all=1
        qa_log "FAIL: the policy server did not serve /nodes/${uuid[$n]}.json (its log: $(tr '\n' ' ' <"$policy_log"))"; }
    (( rc_all == 0 )) || qa_fail "checks failed for node $n (see above)"
done
qa_name=fleet
fetched=$(grep -c '"GET /image.rootfs.raw HTTP/1.[01]" 200' "$http_log" || true)
(( fetched == ${#fleet_nodes[@]} )) ||
    qa_fail "the bundle's root was fetched $fetched times over HTTP for ${#fleet_nodes[@]} nodes (log: $(tail -n 20 "$http_log"))"
qa_log "each node fetched the bundle over HTTP and its own policy over HTTPS: $(sort "$policy_log" | uniq -c | tr -s ' ' | tr '\n' ',' | sed 's/,$//')"

# ---- Prometheus's view ----
wait "$prom_pid" 2>/dev/null || true
for _ in $(seq 30); do [[ -s $qa_work/prometheus.rc ]] && break; sleep 1; done
[[ $(cat "$qa_work/prometheus.rc" 2>/dev/null) == 0 ]] ||
    { cat "$qa_work/prometheus.out"; qa_fail "Prometheus did not see every node as intended (exit status: $(cat "$qa_work/prometheus.rc" 2>/dev/null || echo none))"; }
prom_pid=
sed 's/^/  /' "$qa_work/prometheus.out"

# ---- memory of the qemu processes, then power off ----
mem=()
for n in "${fleet_nodes[@]}"; do
    mem+=("$n $(awk '/^VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/${pid[$n]}/status" 2>/dev/null || echo '?')")
done
qa_log "qemu peak RSS (VmHWM): $(IFS=','; echo "${mem[*]}")"
summary=()
for n in "${fleet_nodes[@]}"; do  # the power button on all of them first: they shut down side by side
    "$qa_root/image/qmp.py" "${dir[$n]}/qmp.sock" system_powerdown >/dev/null || true
done
for n in "${fleet_nodes[@]}"; do  # then each one's exit (not lib.sh's qa_poweroff: a node that
    use_node "$n"                  # is off already has no QMP socket to press the button on)
    qa_keep
    deadline=$(( $(date +%s) + 120 ))
    while qa_alive && (( $(date +%s) < deadline )); do sleep 1; done
    qa_alive && qa_fail "guest did not power off within 120s of the power button"
    rc=0
    wait "$qa_pid" || rc=$?
    qa_pid=
    (( rc == 0 )) || qa_fail "qemu exited with status $rc"
    qa_log "powered off after $(qa_since "$qa_t0")s in all"
    summary+=("$n: healthz $(cat "$qa_dir/http/healthz.code") after $(qa_secs "$(cat "$qa_dir/http/first-answer-ms")")s")
done
qa_name=fleet
qa_log "PASS (${#fleet_nodes[@]} nodes at once: $(IFS=';'; echo "${summary[*]}"); $(qa_since "$total0")s in all)"
