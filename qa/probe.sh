#!/bin/sh
# Runs INSIDE the guest under test (handed in as the SMBIOS credential gpuhost-qa.probe and
# started by gpuhost-qa-probe.service, which qa/lib.sh injects as systemd.extra-unit).
# Waits for boot to finish, then writes a report to the virtio serial port "probe"; the host
# reads it from a file and qa/check.py judges it. Writing to ttyS0 instead would lose output once
# a getty opens it. POSIX sh: the image has no bash, python or jq.
#
# Report format: "key: value" lines, and multi-line sections between "NAME-begin" and
# "NAME-end" lines. Everything between GPUHOST-QA-BEGIN and GPUHOST-QA-END.
out=/dev/virtio-ports/probe
state=$(systemctl is-system-running --wait 2>&1)

section() { # NAME COMMAND...: the command's output between NAME-begin and NAME-end
    name=$1; shift
    echo "$name-begin"
    "$@" 2>&1
    echo "$name-end"
}

pci_functions() {
    for d in /sys/bus/pci/devices/*; do
        a=${d##*/}
        v=$(cat "$d/vendor"); dv=$(cat "$d/device"); c=$(cat "$d/class")
        drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        grp=-; [ -e "$d/iommu_group" ] && grp=$(basename "$(readlink "$d/iommu_group")")
        ovr=$(cat "$d/driver_override" 2>/dev/null); ovr=${ovr:--}
        bv=$(cat "$d/boot_vga" 2>/dev/null || echo -)
        drm=$(ls "$d/drm" 2>/dev/null | grep '^card' | tr '\n' ',' | sed 's/,$//')
        echo "pci: $a ${v#0x}:${dv#0x} class=${c#0x} driver=$drv group=$grp override=$ovr boot_vga=$bv drm=${drm:--}"
    done
}

sysctls() {
    f=/etc/sysctl.d/90-gpuhost-hardening.conf
    [ -f "$f" ] || { echo "sysctl-file: missing"; return; }
    grep -v '^[[:space:]]*[#;]' "$f" | grep '=' | while IFS='=' read -r k v; do
        k=$(echo "$k" | tr -d '[:space:]'); v=$(echo $v)
        a=$(sysctl -n "$k" 2>&1 | tr '\t' ' '); a=$(echo $a)
        echo "sysctl: $k wanted=$v actual=$a"
    done
}

# `sysctl -a`; on an image without procps (the stock image compared against) every readable
# /proc/sys file as "/proc/sys/a/b:value" lines from one grep instead (qa/hardening.py turns
# the path into sysctl's a.b key).
sysctl_all() {
    if command -v sysctl >/dev/null; then sysctl -a 2>/dev/null; else grep -rs '' /proc/sys; fi
}

first_boot() { # machine identity, SSH keys and the presets (checked by qa/first_boot.py)
    echo "machine-id: $(cat /etc/machine-id 2>/dev/null)"
    echo "boot-epoch: $(( $(date +%s) - $(cut -d. -f1 /proc/uptime) ))"
    for k in /etc/ssh/ssh_host_*_key.pub; do
        [ -f "$k" ] || continue
        echo "ssh-host-key: $(stat -c %Y "$k") $(ssh-keygen -lf "$k" 2>&1)"
    done
    for u in sshd-keygen.service systemd-firstboot.service; do
        echo "unit-state: $u $(systemctl show -P ActiveState "$u") result=$(systemctl show -P Result "$u")"
    done
    ak=/root/.ssh/authorized_keys
    echo "authorized-keys-stat: $(stat -c '%a %U:%G' "$ak" 2>&1)"
    [ -f "$ak" ] && sed 's/^/authorized-key: /' "$ak"
    # Only whether root has a usable password hash: "*" or "!..." means locked.
    echo "root-password: $(getent shadow root | cut -d: -f2 | cut -c1)"
    echo "locale: $(cat /etc/locale.conf 2>/dev/null | tr '\n' ' ')"
    echo "keymap: $(cat /etc/vconsole.conf 2>/dev/null | tr '\n' ' ')"
    echo "timezone: $(readlink /etc/localtime)"
    echo "hostname: $(cat /etc/hostname 2>/dev/null)"
}

holder() { # the injected holder unit of qa/held-test.sh, if any
    pid=$(systemctl show -P MainPID gpuhost-qa-hold.service 2>/dev/null)
    echo "hold-unit: $(systemctl is-active gpuhost-qa-hold.service 2>/dev/null) pid=${pid:-0}"
    if [ -n "$pid" ] && [ "$pid" != 0 ]; then
        echo "hold-comm: $(cat /proc/"$pid"/comm 2>/dev/null)"
        echo "hold-fd3: $(readlink /proc/"$pid"/fd/3 2>/dev/null)"
    fi
    echo "hold-status: $(systemctl show -P StatusText gpuhost-qa-hold.service 2>/dev/null)"
}

# issue 15: what the firmware and the kernel enforce. Modules handed in by qa/boot-test.sh as
# credentials over fw_cfg (gpuhost-qa.module-*: the image's own dummy.ko, re-signed on the host by
# qa/module-sign.sh with the image's db key, and with a key no firmware knows) are loaded with
# insmod: under Secure Boot the first must load (db certificates sign modules, Debian's platform
# keyring) and the second must be refused ("Key was rejected by service").
trusted_boot() {
    sb=$(bootctl status 2>&1 | grep -m1 -E 'Secure Boot:|[Ff]ailed|[Ee]rror|not found' | sed 's/^ *//; s/^Secure Boot: *//')
    echo "secure-boot: ${sb:-unknown}"
    # The firmware's own variable too (EFI global GUID; 4 attribute bytes, then 1 when enforced).
    echo "secure-boot-efivar: $(od -An -t u1 -j4 -N1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>&1 | tr -d ' ')"
    echo "lockdown: $(cat /sys/kernel/security/lockdown 2>&1)"
    echo "sig-enforce: $(cat /sys/module/module/parameters/sig_enforce 2>&1)"
    journalctl -b -k -q --no-pager -o cat | grep -E 'Loaded X\.509 cert|[Ss]ecure ?boot' | sed 's/^/kernel-trust: /'
    for m in own other; do
        [ -f /run/credentials/@system/gpuhost-qa.module-$m ] || continue
        # modinfo reads only files named *.ko.
        f=/run/gpuhost-qa-module-$m.ko
        cp /run/credentials/@system/gpuhost-qa.module-$m "$f"
        # Both are dummy.ko: the first is unloaded again, so that a refusal of the second can only
        # come from the signature check (the kernel checks it before it looks at the name).
        msg=$(insmod "$f" 2>&1); rc=$?
        echo "module-$m: rc=$rc $(echo $msg) signer=$(modinfo -F signer "$f" 2>&1 | head -n 1)"
        [ $rc -ne 0 ] || rmmod dummy 2>/dev/null || true
    done
    # The verified root and the state under it (issue 15; qa/check_trusted_boot.py judges).
    # The root's device-mapper target: verity devices carry a "CRYPT-VERITY-" uuid (systemd-
    # veritysetup names it "root"); the hash on the command line is what the UKI pins. The
    # mount itself is the report's root-mount line (FSTYPE SOURCE OPTIONS).
    dev=$(basename "$(readlink -f "$(findmnt -no SOURCE /)")")
    echo "root-dm: name=$(cat /sys/block/$dev/dm/name 2>&1) uuid=$(cat /sys/block/$dev/dm/uuid 2>&1)"
    echo "root-hash-cmdline: $(tr ' ' '\n' </proc/cmdline | grep -c '^roothash=')"
    # The initrd opened it (the unit is gone after the switch; its journal lines stay).
    echo "root-veritysetup: $(journalctl -b -q --no-pager -o cat _PID=1 2>/dev/null | grep -c 'Finished systemd-veritysetup@root')"
    journalctl -b -q --no-pager -o cat 2>/dev/null | grep -E 'systemd-veritysetup|veritysetup-generator' |
        head -n 4 | sed 's/^/root-verity-log: /'
    echo "var-mount: $(findmnt -no SOURCE,FSTYPE /var 2>&1 | tr -s ' ' ' ') partlabel=$(lsblk -no PARTLABEL "$(findmnt -no SOURCE /var)" 2>&1)"
    echo "var-size: $(df -B1 --output=size /var 2>&1 | tail -n 1 | tr -d ' ')"
    echo "etc-mount: $(findmnt -no FSTYPE,OPTIONS /etc 2>&1 | tr -s ' ' ' ')"
    echo "root-home-mount: $(findmnt -no SOURCE,FSTYPE /root 2>&1 | tr -s ' ' ' ')"
    echo "repart: $(systemctl show -P ActiveState,Result gpuhost-grow-state.service 2>&1 | tr '\n' ' ')$(journalctl -b -q --no-pager -o cat -u gpuhost-grow-state.service 2>/dev/null | grep -iE 'grow|resiz|no changes|All done|fail|nothing|error' | head -n 3 | tr '\n' ' ')"
    echo "growfs-var: $(systemctl show -P Result systemd-growfs@var.service 2>&1)"
    # The A/B slots (issue 16, docs/updates.md): the running version (the verified os-release),
    # every partition of the boot disk (type uuid, label, bytes), the slot under the verity device
    # and the ESP's UKIs.
    echo "image-version: $(. /usr/lib/os-release; echo "${IMAGE_ID:-?} ${IMAGE_VERSION:-?}")"
    data=$(ls /sys/block/$dev/slaves 2>/dev/null | head -n 1)
    echo "root-slot: dev=$data partlabel=$(lsblk -no PARTLABEL "/dev/$data" 2>&1)"
    disk=$(lsblk -no PKNAME "/dev/$data" 2>/dev/null | head -n 1)
    lsblk -rnbo NAME,PARTTYPE,PARTLABEL,SIZE "/dev/$disk" 2>&1 | sed -n '2,$s/^/partition: /p'
    echo "esp-ukis: $(ls /efi/EFI/Linux /boot/EFI/Linux 2>/dev/null | grep '\.efi$' | tr '\n' ' ')"
    # What verifies an update's SHA256SUMS.gpg (systemd-pull runs gpg with this keyring), and the
    # hardware watchdog PID 1 arms (system.conf.d/50-gpuhost-watchdog.conf).
    echo "update-keyring: $(sha256sum /usr/lib/systemd/import-pubring.gpg 2>&1 | cut -d' ' -f1) gpg=$(command -v gpg || echo none)"
    echo "watchdog: $(cat /sys/class/watchdog/watchdog0/identity /sys/class/watchdog/watchdog0/state /sys/class/watchdog/watchdog0/timeout 2>&1 | tr '\n' ' ')runtime=$(systemctl show -P RuntimeWatchdogUSec 2>&1)"
    # A write to the verified root must fail (read-only erofs), one to /etc must land on /var.
    touch /usr/.gpuhost-qa-write 2>/dev/null && echo "root-write: allowed" || echo "root-write: refused"
}

# issue 8: a VM that has the vfio-bound edu device and the non-boot display (both functions) as
# PCI host devices, defined through the real libvirtd (socket-activated by virsh; the agent's boot
# run is over by now) and never started: the host then checks that serve's status page and API
# show it as that VM's. The second boot finds it still defined.
qa_vm=gpuhost-qa-vm
pci_addr() { # VENDOR:DEVICE FUNCTION -> the first matching function's address, or nothing
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x${1%%:*}:0x${1##*:}" ] || continue
        a=${d##*/}; [ "${a##*.}" = "$2" ] && { echo "$a"; return; }
    done
}
hostdev() { # ADDRESS -> a <hostdev> element
    a=$1; dom=${a%%:*}; rest=${a#*:}; bus=${rest%%:*}; rest=${rest#*:}; slot=${rest%%.*}; fn=${rest#*.}
    echo "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source>"
    echo "<address domain='0x$dom' bus='0x$bus' slot='0x$slot' function='0x$fn'/></source></hostdev>"
}
libvirt_vm() {
    command -v virsh >/dev/null || { echo "libvirt-define: virsh missing (no libvirt in the image)"; return; }
    # The display by its audio companion: the boot VGA (std VGA) has the same ID as bochs-display.
    edu=$(pci_addr 1234:11e8 0); d1=$(pci_addr 8086:293e 1); d0=${d1%.*}.0
    echo "libvirt-vm-devices: $edu $d0 $d1"
    xml=/run/gpuhost-qa-vm.xml
    { echo "<domain type='qemu'><name>$qa_vm</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
      echo "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
      for a in $edu $d0 $d1; do hostdev "$a"; done
      echo "</devices></domain>"; } >"$xml"
    t0=$(cut -d' ' -f1 /proc/uptime)
    # Defined on the first boot, it must still be there on the second (/etc/libvirt/qemu).
    if uuid=$(virsh -c qemu:///system domuuid "$qa_vm" 2>/dev/null); then
        out="kept from an earlier boot (uuid $(echo $uuid))"; rc=0
    else
        out=$(virsh -c qemu:///system define "$xml" 2>&1); rc=$?
    fi
    echo "libvirt-define: rc=$rc took=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{print b-a}')s $(echo $out)"
    echo "libvirtd-active: $(systemctl is-active libvirtd.service) virtqemud=$(systemctl is-active virtqemud.service)"
    section virsh-list virsh -c qemu:///system list --all
    section virsh-hostdevs sh -c "virsh -c qemu:///system dumpxml $qa_vm | sed -n '/<hostdev/,/<\/hostdev>/p'"
    pid=$(systemctl show -P MainPID gpuhost-serve.service)
    echo "serve-memory: $(grep -E 'VmRSS|RssAnon' /proc/"$pid"/status 2>/dev/null | tr -s ' \t\n' ' ')libvirt.so mapped: $(grep -c 'libvirt\.so' /proc/"$pid"/maps 2>/dev/null)"
    section domcaps-hostdev sh -c "virsh -c qemu:///system domcapabilities | sed -n '/<domain>/p;/<hostdev/,/<\/hostdev>/p'"
}
vm_report=$(libvirt_vm 2>&1)
# libvirtd's unit runs it with --timeout 120: with no client for 120 s it exits, and serve (which
# reads a running daemon, never starts one) then shows no VM. Under TCG on a loaded machine this
# report and the host's libvirt checks after it took longer than that (seen: libvirtd gone before
# the agent's run through libvirt below, and before the host asked serve). A client waiting for
# events, in a transient unit of its own (it outlives this probe), holds the daemon for 15 minutes
# at most; serve and the agent still have to find and use it themselves.
if command -v virsh >/dev/null; then
    systemd-run --quiet --collect --unit=gpuhost-qa-libvirt-hold \
        virsh -c qemu:///system event --all --loop --timeout 900 >/dev/null 2>&1 || true
fi
{
    echo "GPUHOST-QA-BEGIN"
    echo "is-system-running: $state"
    echo "cmdline: $(cat /proc/cmdline)"
    echo "uptime: $(cut -d' ' -f1 /proc/uptime)"
    echo "boot-id: $(cat /proc/sys/kernel/random/boot_id)"
    echo "root-mount: $(findmnt -n -o FSTYPE,SOURCE,OPTIONS / 2>&1)"
    findmnt -rn -o TARGET,SOURCE,FSTYPE | sed 's/^/mount: /'
    echo "loop-backing: $(cat /sys/block/loop*/loop/backing_file 2>/dev/null | tr '\n' ';')"
    echo "boots-in-journal: $(journalctl --list-boots --no-pager -q 2>/dev/null | wc -l)"
    echo "systemd-analyze: $(systemd-analyze time 2>&1 | head -n 1)"
    for unit in gpuhost-agent.service gpuhost-serve.service ssh.service systemd-networkd.service; do
        echo "active: $unit $(systemctl is-active "$unit")"
    done
    for p in Result ExecMainStatus ExecMainCode ActiveState SubState ExecMainStartTimestampMonotonic ExecMainExitTimestampMonotonic; do
        echo "agent-unit: $p=$(systemctl show -P "$p" gpuhost-agent.service)"
    done
    # The pin before udev's coldplug (gpuhost-vfio-pin.service) and the coldplug it must precede.
    for p in Result ConditionResult ActiveState ExecMainStatus ExecMainExitTimestampMonotonic; do
        echo "vfio-pin: $p=$(systemctl show -P "$p" gpuhost-vfio-pin.service)"
    done
    echo "udev-trigger-start: $(systemctl show -P ExecMainStartTimestampMonotonic systemd-udev-trigger.service)"
    # What the policy fetch (and so the agent) is ordered after: the network stack on a fleet node
    # only (gpuhost-fleet-generator's drop-in), never on other boots (issue 19).
    echo "policy-fetch-after: $(systemctl show -P After gpuhost-policy-fetch.service)"
    echo "default-route: $(ip -4 route show default | head -n 1)"
    # Name resolution (issue 18: a policy URL with a host name): where /etc/resolv.conf points,
    # the DNS servers systemd-resolved got per link (DHCP's), and one lookup through them (10 s at
    # most: a machine without outside DNS must not hold the report up).
    echo "resolv-conf: $(readlink /etc/resolv.conf) $(grep -h '^nameserver' /etc/resolv.conf 2>&1 | tr '\n' ' ')"
    echo "dns-servers: $(resolvectl dns 2>&1 | tr '\n' ';')"
    echo "getent-hosts: deb.debian.org: $(timeout 10 getent hosts deb.debian.org 2>&1 | head -n 2 | tr '\n' ' ')"
    pci_functions
    echo "dev-vfio: $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
    sysctls
    holder
    echo "$vm_report"
    echo "libvirt-hold: $(systemctl is-active gpuhost-qa-libvirt-hold.service 2>&1) libvirtd=$(systemctl is-active libvirtd.service)"
    first_boot
    trusted_boot
    echo "state-dir: $(ls /var/lib/gpuhost 2>/dev/null | tr '\n' ' ')"
    section udev-rules cat /etc/udev/rules.d/70-gpuhost-vfio.rules
    section vfio-pin-log journalctl -b -u gpuhost-vfio-pin.service --no-pager -o cat -q
    section modprobe-conf cat /etc/modprobe.d/gpuhost.conf
    section modules-load cat /etc/modules-load.d/gpuhost.conf
    section agent-err journalctl -b -u gpuhost-agent.service -p err --no-pager -o short-monotonic -q
    section agent-log sh -c 'journalctl -b -u gpuhost-policy-fetch.service -u gpuhost-agent.service -u gpuhost-serve.service -u gpuhost-qa-hold.service --no-pager -o short-monotonic -q | tail -n 60'
    section kernel-drivers sh -c "journalctl -b -k --no-pager -o short-monotonic -q | grep -Ei 'vfio|bochs|\\[drm\\]|snd_hda_intel|e1000e 0000|0000:0[1-9]:00.*iommu group' | tail -n 40"
    section journal-warnings sh -c "journalctl -b -p warning --no-pager -o short-monotonic -q | grep -v 'audit' | tail -n 80"
    section failed-units systemctl --failed --no-legend --plain
    section state-json sh -c 'cat /var/lib/gpuhost/state.json; echo'
    # Input of qa/hardening.py (kernel-hardening-checker -s); /proc/cmdline is the cmdline line.
    section sysctl-all sysctl_all
    echo "GPUHOST-QA-END"
} >"$out" 2>&1

# issue 8, after the report (which stays the boot's own), once per disk: the agent's binds
# through libvirt. restore gives the policy's functions back to their previous drivers; apply,
# now that libvirtd runs, moves them to vfio-pci with virNodeDeviceDetachFlags, so that libvirt's
# own view of the devices stays right. qa/libvirt_vm.py judges this block.
drivers() { for a in "$@"; do d=/sys/bus/pci/devices/$a/driver; printf '%s=%s ' "$a" "$( [ -e "$d" ] && basename "$(readlink "$d")" || echo none)"; done; echo; }
done_mark=/var/lib/gpuhost-qa-libvirt-binds
# Not with qa-held's holder: that scenario is about a held display, judged from the report alone.
if command -v virsh >/dev/null && [ ! -e "$done_mark" ] && ! systemctl -q is-active gpuhost-qa-hold.service; then
    : >"$done_mark"
    set -- $(echo "$vm_report" | sed -n 's/^libvirt-vm-devices: //p')
    {
        echo "GPUHOST-QA-LIBVIRT-BEGIN"
        echo "libvirtd-before-apply: $(systemctl is-active libvirtd.service)"
        echo "drivers-before: $(drivers "$@")"
        section restore /usr/bin/gpuhost-agent restore
        echo "drivers-after-restore: $(drivers "$@")"
        # The real unit (its policy credential, its environment), not a second way to run it.
        section reapply sh -c 'systemctl restart gpuhost-agent.service; echo "rc=$?"; journalctl -b -q --no-pager -o cat -u gpuhost-agent.service | tail -n 8'
        echo "drivers-after-apply: $(drivers "$@")"
        section reapply-state sh -c 'cat /var/lib/gpuhost/state.json; echo'
        section reapply-journal sh -c "journalctl -b --no-pager -q -o short-monotonic -u libvirtd.service | tail -n 20"
        pid=$(systemctl show -P MainPID gpuhost-serve.service)
        echo "serve-threads: $(ls /proc/"$pid"/task | wc -l) libvirt.so mapped: $(grep -c 'libvirt\.so' /proc/"$pid"/maps)"
        echo "libvirtd-pid-file: $(ls -l /run/libvirtd.pid 2>&1)"
        echo "GPUHOST-QA-LIBVIRT-END"
    } >"$out" 2>&1
fi
