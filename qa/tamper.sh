# qa/tamper.sh: the tampered-disk boot of qa/boot-test.sh (issue 15; sourced after qa/lib.sh).
#
# qa_tampered_boot: a copy of the image (a qcow2 overlay, the image itself is not touched) with
# one byte of the root partition changed, booted on the same machine under the same enforced
# Secure Boot. dm-verity must refuse it: the kernel reports the corrupted block on the console,
# no usable system comes up (systemd's emergency mode at most; the page never answers). The
# byte is in the erofs superblock (partition offset 1032, its checksum field's neighbourhood)
# because the initrd reads that block to mount the root on every boot: a byte in a file that
# the boot happens not to read would prove nothing until that file is read. Prints what the
# console said; fails when the boot gets past the root or no verity error appears in time.
qa_tampered_boot() {
    local off pos orig flipped disk deadline seen=
    qa_name=tampered
    off=$(python3 - "$qa_image" "$qa_root" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(sys.argv[2], "image"))
from report import gpt_partitions, root_partition
root = root_partition(gpt_partitions(sys.argv[1]))
print(root[1] if root else "")
PY
    )
    [[ -n $off ]] || qa_fail "tampered: no root partition in $qa_image"
    pos=$((off + 1032))
    orig=$(od -An -t u1 -j "$pos" -N1 "$qa_image" | tr -d ' ')
    flipped=$(( orig ^ 0xff ))
    disk=$qa_work/tampered.qcow2
    qemu-img create -q -f qcow2 -b "$qa_image" -F raw "$disk"
    qemu-io -f qcow2 -c "write -P $flipped $pos 1" "$disk" >/dev/null ||
        qa_fail "tampered: qemu-io could not write the byte"
    # The copy differs from the image, first in that byte's sector (qemu-img names the sector).
    local cmp
    cmp=$(qemu-img compare -f qcow2 -F raw "$disk" "$qa_image" 2>&1 || true)
    [[ $cmp == *"offset $(( pos / 512 * 512 ))!"* ]] ||
        qa_fail "tampered: the copy does not differ at $pos as written ($cmp)"
    qa_log "root partition at $off, byte $pos changed $orig -> $flipped"
    SNAPSHOT=off DISK_FORMAT=qcow2 qa_boot tampered "$disk"
    deadline=$(( $(date +%s) + qa_timeout ))
    while (( $(date +%s) < deadline )) && qa_alive; do
        seen=$(grep -a -m1 -E 'verity: .*(corrupted|failed)' "$qa_dir/serial.log" 2>/dev/null | tr -d '\r') || true
        [[ -z $seen ]] || break
        # Past the root: the switch into it, or the agent's page, means verity let it through.
        if grep -aqE 'Reached target.*Switch Root|Switching root' "$qa_dir/serial.log" 2>/dev/null; then
            break
        fi
        sleep 2
    done
    [[ -n $seen ]] || qa_fail "tampered: no dm-verity error on the console within ${qa_timeout}s"
    qa_log "console after $(qa_since "$qa_t0")s: $seen"
    # Give a broken check the time to go wrong: the root must not be switched into, the page not answer.
    sleep 20
    local switched code
    switched=$(grep -a -m1 -E 'Switching root|Reached target.*Switch Root' "$qa_dir/serial.log" | tr -d '\r') || true
    code=$(qa_page "$qa_port" /healthz -s -m 5 -o /dev/null -w '%{http_code}' 2>/dev/null) || true
    [[ -z $switched ]] || qa_fail "tampered: the boot switched into the modified root ($switched)"
    [[ -z $code || $code == 000 ]] || qa_fail "tampered: the page answered $code on a modified root"
    qa_log "$(grep -a -m1 -E 'emergency mode|Cannot open access to console|Failed to mount' "$qa_dir/serial.log" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' || echo 'no emergency-mode line')"
    kill "$qa_pid" 2>/dev/null || true
    wait "$qa_pid" 2>/dev/null || true
    qa_pid=
    qa_keep
    qa_log "PASS: one changed byte of the root stops the boot at the verity check"
}
