#!/usr/bin/env python3
"""Judges one qa boot: qa/check.py SCENARIO DIR

DIR holds probe.txt (qa/probe.sh's report from inside the guest) and http/ (what the host got
through the port forward: healthz, api_v1_status, metrics; .code and .body each).
SCENARIO is one of:
  first   first boot of the image: the agent binds the policy's functions and succeeds
  second  the same disk booted again: nothing changes, the vfio functions are on vfio-pci
          before the agent runs (bind actions "unchanged")
  held    (qa/held-test.sh) a process holds the secondary display's /dev/dri/cardN before the
          agent runs: that function stays on its driver, the action says "held" with the pid
  pxe     (qa/fleet-test.sh) the PXE bundle booted over the network, no disk: the checks of
          "first" except the root disk, plus: / is an overlayfs (tmpfs over the erofs root file
          system loaded by iPXE), a machine-id made at this boot
Prints one line per check ("ok", "FAIL" or "info", then what was found) and exits 1 when any
check failed. Environment: QA_UKI (the image's UKI, for its baked .cmdline), QA_PREV_DIR (the
previous boot's DIR, for "second"), QA_DATA_DISK=yes (qa/boot-test.sh: the machine also has the
data-disk bridge, a pcie-pci-bridge holding a second bochs-display and a virtio-blk disk mounted
at /var/lib/libvirt/images, all in one IOMMU group; qa/check_data_disk.py judges that group in
detail). With it, the bridge's display and disk must be there and kept on their drivers, the
root disk and the secondary display are the ones outside that group, and the run's result must be
"degraded" with exactly one warning, the bridge display's (it stays on the host because its
group holds the mounted disk); /healthz says so, /metrics has that result and two GPUs on the
host, one on vfio. Without it, none of that group may be there and the result is ok/degraded.

Layout: Boot parses DIR once (the probe's keys and sections, the PCI functions, state.json, which
function plays which role); each check function reads a Boot and records its lines; SCENARIOS
lists, per scenario, the check functions in the order they print, and with_data_disk() turns a
list into its QA_DATA_DISK variant.
"""
import json
import os
import re
import struct
import sys

from probe_report import parse_block, parse_pci

MOUNT = "/var/lib/libvirt/images"
BOOT_VGA = "boot VGA (VGA 1234:1111)"
DISPLAY = "secondary display (bochs-display 1234:1111)"
HDA = "HDMI-audio companion (ich9-intel-hda 8086:293e)"
EDU = "edu (1234:11e8)"
NIC2 = "second NIC (e1000e 8086:10d3)"
MGMT_NIC = "management NIC (virtio-net)"
ROOT_DISK = "root disk (virtio-blk)"
BRIDGE_DISPLAY = "bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)"
DATA_DISK = "data disk (virtio-blk behind the pcie-pci-bridge)"


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def parse_report(text):
    keys, sections = parse_block(text, multi=True)
    return (keys, sections) if keys is not None else ({}, {})


def first(keys, k, default=""):
    return keys.get(k, [default])[0]


def uki_cmdline(path):
    """The .cmdline section of a PE (UKI) file, or None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    nsec = struct.unpack_from("<H", data, pe + 6)[0]
    optsize = struct.unpack_from("<H", data, pe + 20)[0]
    sec = pe + 24 + optsize
    for i in range(nsec):
        h = sec + 40 * i
        name = data[h : h + 8].rstrip(b"\0").decode()
        vsize, _, rawsize, rawptr = struct.unpack_from("<IIII", data, h + 8)
        if name == ".cmdline":
            return data[rawptr : rawptr + min(vsize, rawsize)].rstrip(b"\0").decode().split()
    return None


def is_display(f):  # bochs-display: 1234:1111 like the boot VGA, but class 0380
    return f["id"] == "1234:1111" and f["class"] == "038000"


def is_vblk(f):
    return f["id"].startswith("1af4:") and f["class"].startswith("0100")


class Boot:
    """One boot's DIR, parsed once, and the lines the checks recorded about it."""

    def __init__(self, label, bootdir, keys, sec):
        self.label, self.bootdir, self.keys, self.sec = label, bootdir, keys, sec
        # A PXE boot is a first boot without a disk: judged as "first", plus its own checks.
        self.pxe = label == "pxe"
        self.scenario = "first" if self.pxe else label
        self.data_disk = os.environ.get("QA_DATA_DISK") == "yes"
        self.results = []
        self.pci = parse_pci(keys.get("pci", []))
        try:
            self.state = json.loads(sec.get("state-json", ""))
        except ValueError as e:
            self.state = None
            self.check("state.json", False, f"not readable JSON: {e}")
        self.actions = self.state.get("actions", []) if self.state else []
        self.binds = {a.get("target"): a for a in self.actions if a.get("kind") == "bind-vfio"}
        inv = {f.get("address"): f for f in self.state.get("inventory", {}).get("functions", [])} \
            if self.state else {}
        self.inventory = inv
        self.inv_drivers = {a: inv[a].get("driver") for a in self.pci if a in inv}
        self.agent_unit = dict(v.split("=", 1) for v in keys.get("agent-unit", []))
        self.cmdline = first(keys, "cmdline").split()
        self._find_bridge()
        self._find_roles()

    # ---- recording ----
    def check(self, name, ok, found):
        self.results.append(("ok" if ok else "FAIL", name, found))

    def info(self, name, found):
        self.results.append(("info", name, found))

    def warn(self, name, found):  # worth a look, does not fail the run
        self.results.append(("WARN", name, found))

    # ---- what the probe and the host fetched ----
    def first(self, k, default=""):
        return first(self.keys, k, default)

    def http(self, name):
        return read(os.path.join(self.bootdir, "http", name + ".code")).strip(), read(
            os.path.join(self.bootdir, "http", name + ".body"))

    # ---- which function is which (from what the guest kernel shows) ----
    def find(self, pred):
        return [f for f in self.pci.values() if pred(f)]

    def _find_bridge(self):
        """The data-disk bridge (QA_DATA_DISK=yes): the one IOMMU group that holds a bochs-display
        and a virtio-blk disk. Its functions are set apart; everything else is judged as without
        it."""
        self.bridge, self.bridge_groups, self.bridge_ends = set(), {}, []
        if not self.data_disk:
            return
        by_group = {}
        for f in self.pci.values():
            by_group.setdefault(f["group"], []).append(f)
        shared = [g for g, fs in by_group.items() if g != "-" and any(is_display(f) for f in fs)
                  and any(is_vblk(f) for f in fs)]
        self.bridge_groups = {g: by_group[g] for g in shared}
        if len(shared) == 1:
            self.bridge_ends = [f for f in by_group[shared[0]] if not f["class"].startswith("06")]
            self.bridge = {f["address"] for f in by_group[shared[0]]}

    def _find_roles(self):
        bridge = self.bridge
        self.roles = {
            BOOT_VGA: self.find(lambda f: f["class"] == "030000" and f.get("boot_vga") == "1"),
            DISPLAY: self.find(lambda f: is_display(f) and f["address"] not in bridge),
            HDA: self.find(lambda f: f["id"] == "8086:293e"),
            EDU: self.find(lambda f: f["id"] == "1234:11e8"),
            NIC2: self.find(lambda f: f["id"] == "8086:10d3"),
            MGMT_NIC: self.find(lambda f: f["id"].startswith("1af4:") and f["class"].startswith("0200")),
            ROOT_DISK: self.find(lambda f: is_vblk(f) and f["address"] not in bridge),
        }
        # Functions the policy keeps on the host, with the driver qemu's device gets from the image.
        self.kept = {BOOT_VGA: "bochs-drm", NIC2: "e1000e", MGMT_NIC: "virtio-pci", ROOT_DISK: "virtio-pci"}
        if self.data_disk:
            self.roles[BRIDGE_DISPLAY] = self.find(lambda f: is_display(f) and f["address"] in bridge)
            self.roles[DATA_DISK] = self.find(lambda f: is_vblk(f) and f["address"] in bridge)
        if self.pxe:  # no disk: the root file system came over the network
            del self.roles[ROOT_DISK]
            del self.kept[ROOT_DISK]
        if self.data_disk:  # the policy wants the bridge display on vfio; its group holds the mounted disk
            self.kept[BRIDGE_DISPLAY] = "bochs-drm"
            self.kept[DATA_DISK] = "virtio-pci"
        self.display, self.hda, self.edu = self.one(DISPLAY), self.one(HDA), self.one(EDU)
        self.policy_vfio = {f["address"] for f in (self.display, self.hda, self.edu) if f}

    def one(self, role):
        fs = self.roles[role]
        return fs[0] if fs else None

    def outcome_of(self, f):
        a = self.binds.get(f["address"]) if f else None
        return f"{a.get('outcome')} ({a.get('message')})" if a else "no bind-vfio action"

    def holder_pid(self):
        pid = re.search(r"pid=(\d+)", self.first("hold-unit"))
        return pid.group(1) if pid else ""


# ---- devices ----
def data_disk_bridge(b):
    ends = b.bridge_ends
    b.check("data-disk bridge: one IOMMU group holds a bochs-display and a virtio-blk disk, no other endpoint",
            len(b.bridge_groups) == 1 and len(ends) == 2 and sum(map(is_display, ends)) == 1
            and sum(map(is_vblk, ends)) == 1,
            "; ".join(f"group {g}: " + ", ".join(f"{f['address']} {f['id']} class={f['class']} {f['driver']}"
                                                 for f in fs) for g, fs in b.bridge_groups.items()) or "no such group")


def devices_present(b):
    for role, fs in b.roles.items():
        b.check(f"device present: {role}", len(fs) == 1,
                ", ".join(f"{f['address']} driver={f['driver']} group={f['group']}" for f in fs) or "absent")


# ---- system and units ----
def failed_units(b):
    return [l for l in b.sec.get("failed-units", "").split("\n") if l.strip()]


def serve_active(b, unit="gpuhost-serve.service"):
    b.check(f"{unit} active", f"{unit} active" in b.keys.get("active", []),
            " ".join(v for v in b.keys.get("active", []) if v.startswith(unit)))


def units_healthy(b):
    running, failed, unit = b.first("is-system-running"), failed_units(b), b.agent_unit
    b.check("is-system-running: running", running == "running", running)
    b.check("no failed units", not failed, "; ".join(failed) or "none")
    b.check("gpuhost-agent.service succeeded",
            unit.get("Result") == "success" and unit.get("ExecMainStatus") == "0"
            and unit.get("ActiveState") == "active",
            " ".join(f"{k}={v}" for k, v in unit.items() if "Timestamp" not in k))
    serve_active(b)


def units_agent_failed(b):
    failed, unit = failed_units(b), b.agent_unit
    b.info("is-system-running", b.first("is-system-running"))
    b.check("failed units: only gpuhost-agent.service", all(l.split()[0] == "gpuhost-agent.service" for l in failed),
            "; ".join(failed) or "none")
    b.check("gpuhost-agent.service failed (exit status != 0)",
            unit.get("ExecMainStatus", "0") != "0" and unit.get("Result") != "success",
            f"Result={unit.get('Result')} ExecMainStatus={unit.get('ExecMainStatus')}")
    b.check("gpuhost-serve.service active", "gpuhost-serve.service active" in b.keys.get("active", []),
            " ".join(v for v in b.keys.get("active", []) if v.startswith("gpuhost-serve")))


# ---- state.json ----
def state_result(name, wanted):
    def result(b):
        if b.state:
            b.check(name, b.state.get("result") in wanted, b.state.get("result"))
    return result


result_ok = state_result("state.json result ok/degraded", ("ok", "degraded"))
result_failed = state_result("state.json result failed", ("failed",))
result_degraded = state_result("state.json result degraded (the bridge display stays on the host)", ("degraded",))


def state_warnings(b):
    for w in b.state.get("warnings", []) if b.state else []:
        b.info("state.json warning", f"{w.get('where')}: {w.get('message')}")


def warnings_only_bridge_display(b):
    """Exactly one warning, and it is the bridge display's: wanted on vfio, kept because its IOMMU
    group holds the disk mounted at MOUNT. Any other warning is new and fails."""
    if not b.state:
        return
    warnings = b.state.get("warnings", [])
    bd, dd = b.one(BRIDGE_DISPLAY), b.one(DATA_DISK)
    expected = (f"wanted on vfio but stays on the host: IOMMU group {bd['group']} holds {dd['address']} "
                if bd and dd else None)
    ok_w = [w for w in warnings if expected and w.get("where") == bd["address"]
            and w.get("message", "").startswith(expected) and f"mounted at {MOUNT}" in w.get("message", "")]
    b.check("state.json warnings: exactly the bridge display's (stays on the host, its group holds the "
            "mounted data disk)", len(warnings) == 1 and len(ok_w) == 1,
            f"{len(warnings)} warning(s): " + " | ".join(f"{w.get('where')}: {w.get('message')}" for w in warnings)
            if warnings else "none")


def state_errors_fail(b):
    for e in b.state.get("errors", []) if b.state else []:
        b.check("state.json error", False, f"{e.get('where')}: {e.get('message')}")


def state_errors_info(b):
    for e in b.state.get("errors", []) if b.state else []:
        b.info("state.json error", f"{e.get('where')}: {e.get('message')}")


def state_inventory(b):
    if not b.state:
        return
    counts = {}
    for a in b.actions:
        counts[a.get("outcome")] = counts.get(a.get("outcome"), 0) + 1
    b.info("actions by outcome", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    # inventory lists every function the guest kernel shows
    inv, pci, drivers = b.inventory, b.pci, b.inv_drivers
    missing = sorted(set(pci) - set(inv))
    b.check("inventory lists every PCI function in /sys/bus/pci/devices", not missing,
            f"{len(inv)} functions in inventory, {len(pci)} in the guest" + (f"; missing {missing}" if missing else ""))
    # Drivers that bound after the agent's inventory (udev coldplug still running when it ran).
    late = [f"{a} {drivers[a] or 'none'} -> {pci[a]['driver']}" for a in sorted(drivers)
            if (drivers[a] or "-") != pci[a]["driver"] and pci[a]["driver"] != "vfio-pci"]
    b.info("driver at the agent's inventory vs now (not moved by the agent)", "; ".join(late) or "all the same")


# ---- vfio binds ----
def bind_outcome(wanted):
    def check(b, role, f):
        a = b.binds.get(f["address"])
        b.check(f"bind action for {role}: {wanted}", bool(a) and a.get("outcome") == wanted, b.outcome_of(f))
    return check


def on_vfio_at_inventory(b, role, f):
    if b.state:
        b.check(f"{role} was on vfio-pci when the agent's inventory ran",
                b.inv_drivers.get(f["address"]) == "vfio-pci", f"inventory driver={b.inv_drivers.get(f['address'])}")


def vfio_binds(roles, *then):
    """Each role's function on vfio-pci with its /dev/vfio group, then `then` for each."""
    def binds(b):
        dev_vfio = b.first("dev-vfio").split()
        for role in roles:
            f = b.one(role)
            if not f:
                continue
            b.check(f"{role} on vfio-pci", f["driver"] == "vfio-pci",
                    f"{f['address']} driver={f['driver']} override={f['override']}; action: {b.outcome_of(f)}")
            b.check(f"/dev/vfio/{f['group']} for {role}", f["group"] in dev_vfio, f"/dev/vfio: {' '.join(dev_vfio)}")
            for t in then:
                t(b, role, f)
    return binds


# ---- the held display (issue 10) ----
def held_display(b):
    pid, comm, display, hda = b.holder_pid(), b.first("hold-comm"), b.display, b.hda
    b.check("holder unit active, holding the display's DRM node",
            b.first("hold-unit").startswith("active") and b.first("hold-fd3").startswith("/dev/dri/card"),
            f"{b.first('hold-unit')} comm={comm} fd3={b.first('hold-fd3')} ({b.first('hold-status')})")
    if display:
        card = b.first("hold-fd3").rsplit("/", 1)[-1]
        b.check("the held node is the secondary display's", card in display.get("drm", "").split(","),
                f"{display['address']} drm={display.get('drm')}, held {card}")
        b.check("secondary display stays on bochs-drm", display["driver"] == "bochs-drm",
                f"{display['address']} driver={display['driver']} override={display['override']}")
        a = b.binds.get(display["address"])
        msg = a.get("message", "") if a else ""
        b.check("bind action for the display: held, naming pid and process",
                bool(a) and a.get("outcome") == "held" and pid != "" and pid in msg and comm != "" and comm in msg,
                b.outcome_of(display) + f"; holder pid {pid} comm {comm}")
    if hda:
        b.info("HDMI-audio companion of the held display",
               f"{hda['address']} driver={hda['driver']} override={hda['override']}; action: {b.outcome_of(hda)}")


# ---- IOMMU groups: a group with a vfio-pci function moves as a whole ----
def iommu_groups(held=False):
    """held: the held display's group is looked at, not judged (a warning when split)."""
    def groups_viable(b):
        groups = {}
        for f in b.pci.values():
            groups.setdefault(f["group"], []).append(f)
        for g, members in sorted(groups.items()):
            if not any(f["driver"] == "vfio-pci" for f in members):
                continue
            # Bridges (class 06xx) may stay on pcieport; every endpoint must be on vfio-pci or have no driver.
            split = [f"{f['address']} {f['driver']}" for f in members
                     if not f["class"].startswith("06") and f["driver"] not in ("vfio-pci", "-")]
            desc = ", ".join(f"{f['address']} {f['driver']}" for f in members)
            if held and b.display and b.display["group"] == g:
                (b.warn if split else b.info)(
                    f"IOMMU group {g} of the held display (docs/policy.md: a group moves as a whole)",
                    desc + ("; split: not usable by a VM, and the functions on vfio-pci left the host"
                            if split else ""))
            else:
                b.check(f"IOMMU group {g} viable (every endpoint on vfio-pci)", not split, desc)
    return groups_viable


# ---- functions the policy keeps, and nothing else moved ----
def kept_untouched(b):
    for role, drv in b.kept.items():
        f = b.one(role)
        if not f:
            continue
        ok = f["driver"] == drv and f["override"] in ("-", "(null)") and f["address"] not in b.binds
        b.check(f"{role} untouched (on {drv})", ok,
                f"{f['address']} driver={f['driver']} override={f['override']}"
                + (f"; action: {b.outcome_of(f)}" if f["address"] in b.binds else ""))


def no_bind_outside_policy(b):
    unexpected = [f"{t} ({a.get('outcome')})" for t, a in b.binds.items() if t not in b.policy_vfio]
    b.check("no bind action outside the policy's functions", not unexpected, ", ".join(unexpected) or "none")


def on_vfio(b):
    return {a for a, f in b.pci.items() if f["driver"] == "vfio-pci"}


def vfio_exactly_policy(b):
    """Every function on vfio-pci is one the policy passes through."""
    now = on_vfio(b)
    b.check("functions on vfio-pci: exactly the display, its audio function and edu",
            len(b.policy_vfio) == 3 and now == b.policy_vfio, " ".join(sorted(now)) or "none")


def vfio_exactly_edu(b):
    """held: the held display is not on vfio-pci (its audio function may be)."""
    now, want = on_vfio(b), ({b.edu["address"]} if b.edu else b.policy_vfio)
    b.check("functions on vfio-pci: exactly edu",
            len(b.policy_vfio) == 3 and now - {b.hda["address"] if b.hda else ""} == want,
            " ".join(sorted(now)) or "none")


def default_route(b):
    """The management NIC still carries the default route."""
    b.check("default route on the management NIC", "via 10.0.2.2" in b.first("default-route"),
            b.first("default-route"))


def policy_fetch_order(b):
    """The policy fetch, which the agent waits for on every boot, is ordered after
    systemd-networkd only on a fleet node (the credential gpuhost.policy-url, added by
    gpuhost-fleet-generator): elsewhere the agent and the page do not wait for networkd."""
    after = b.first("policy-fetch-after").split()
    ordered = "systemd-networkd.service" in after
    if b.pxe:
        b.check("fleet node: policy fetch ordered after systemd-networkd (generator drop-in)",
                ordered and "nss-lookup.target" in after, " ".join(after) or "(none)")
    else:
        b.check("policy fetch (skipped, not a fleet node) not ordered after systemd-networkd",
                bool(after) and not ordered, " ".join(after) or "(none)")


# ---- second boot: nothing changes ----
def vfio_pin(ran):
    """gpuhost-vfio-pin.service: skipped on a first boot (no rules yet); on a later boot it pinned
    every vfio function and finished before udev's coldplug was queued."""
    def check(b):
        pin = dict(v.split("=", 1) for v in b.keys.get("vfio-pin", []) if "=" in v)
        shown = " ".join(f"{k}={v}" for k, v in pin.items() if "Timestamp" not in k)
        if not ran:
            b.check("gpuhost-vfio-pin skipped (no rules before the first apply)",
                    pin.get("ConditionResult") == "no" and pin.get("Result") == "success", shown)
            return
        b.check("gpuhost-vfio-pin succeeded", pin.get("ConditionResult") == "yes"
                and pin.get("Result") == "success" and pin.get("ExecMainStatus") == "0", shown)
        done, trigger = pin.get("ExecMainExitTimestampMonotonic", ""), b.first("udev-trigger-start")
        b.check("gpuhost-vfio-pin finished before systemd-udev-trigger started",
                done.isdigit() and trigger.isdigit() and 0 < int(done) <= int(trigger),
                f"pin done {int(done) / 1e6 if done.isdigit() else done} s, "
                f"trigger {int(trigger) / 1e6 if trigger.isdigit() else trigger} s")
        log = b.sec.get("vfio-pin-log", "")
        for role in VFIO_ROLES:
            f = b.one(role)
            if f:
                line = next((l for l in log.splitlines() if l.startswith(f["address"] + ":")), "")
                b.check(f"gpuhost-vfio-pin pinned {role}", "pinned to vfio-pci" in line, line or log.strip()[:200])
    return check


def nothing_changed(b):
    if not b.state:
        return
    changed = [f"{a.get('kind')} {a.get('target')}: {a.get('outcome')} {a.get('message', '')}".strip()
               for a in b.actions if a.get("outcome") not in ("unchanged", "missing", "skipped")]
    b.check("every action unchanged/missing/skipped (nothing done)", not changed, "; ".join(changed) or
            f"all {len(b.actions)} unchanged/missing/skipped")
    prev = os.environ.get("QA_PREV_DIR")
    if prev:
        pk, _ = parse_report(read(os.path.join(prev, "probe.txt")))
        b.check("a second boot of the same disk", first(pk, "boot-id") != b.first("boot-id")
                and int(b.first("boots-in-journal", "0") or 0) >= 2,
                f"boot-id {b.first('boot-id')} (before: {first(pk, 'boot-id')}), "
                f"{b.first('boots-in-journal')} boots in the journal")


# ---- PXE: stateless root, fresh identity ----
def pxe_root(b):
    cmdline, root_mount = b.cmdline, b.first("root-mount")
    b.check("/ is an overlayfs (systemd.volatile=overlay: tmpfs over the read-only root)",
            root_mount.split()[:1] == ["overlay"], root_mount or "not reported")
    b.check("root file system from the network (the erofs file iPXE put into the initramfs as /sysroot)",
            "rd.systemd.mount-extra=/gpuhost-rootfs.erofs:/sysroot:erofs:loop,ro" in cmdline
            and "systemd.volatile=overlay" in cmdline,
            " ".join(p for p in cmdline if p.startswith(("root", "rd.systemd.mount-extra", "systemd.volatile")))
            or "no root parameters")
    # The erofs mount itself is not in the root's mount table after switch-root (the overlay's
    # lowerdir holds it); the loop device under it still names its file.
    b.check("a loop device backed by the erofs file iPXE loaded",
            "/gpuhost-rootfs.erofs" in b.first("loop-backing"), b.first("loop-backing") or "no loop device")
    # DHCP's DNS server (qemu's user network: 10.0.2.3) reaches the resolver: /etc/resolv.conf is
    # systemd-resolved's stub and resolved has the server on a link. The lookup itself goes
    # through qemu to the host's resolver, which a machine without outside DNS lacks: info only.
    b.check("DHCP's DNS server in use (/etc/resolv.conf -> systemd-resolved's stub, which has 10.0.2.3)",
            "stub-resolv.conf" in b.first("resolv-conf") and "127.0.0.53" in b.first("resolv-conf")
            and "10.0.2.3" in b.first("dns-servers"),
            f"resolv.conf {b.first('resolv-conf') or 'not reported'}; resolvectl dns: {b.first('dns-servers')}")
    b.info("a host name resolved on the node", b.first("getent-hosts") or "not reported")
    mid = b.first("machine-id")
    b.check("machine-id made at this boot (the image has none)", re.fullmatch(r"[0-9a-f]{32}", mid) is not None,
            mid or "empty")


# ---- kernel command line ----
def kernel_cmdline(b):
    cmdline, baked = b.cmdline, uki_cmdline(os.environ.get("QA_UKI", ""))
    if baked is None:
        b.check("baked kernel parameters in /proc/cmdline", False,
                f"cannot read .cmdline of QA_UKI={os.environ.get('QA_UKI')}")
    else:
        if b.pxe:
            # recipes/pxe/mkosi.postoutput leaves the disk layout's state mounts (kvm-host's
            # systemd.mount-extra= entries: a partition a PXE node does not have) off boot.ipxe.
            baked = [p for p in baked if not p.startswith("systemd.mount-extra=")]
        miss = [p for p in baked if p not in cmdline]
        b.check("baked kernel parameters in /proc/cmdline", not miss,
                f"baked: {' '.join(baked)}" + (f"; missing: {' '.join(miss)}" if miss else ""))
    b.check("no amd_iommu=on", "amd_iommu=on" not in cmdline, " ".join(cmdline))
    if b.state:
        b.check("agent: no kernel parameter missing", not b.state.get("kernel_params_missing"),
                " ".join(b.state.get("kernel_params_missing", [])) or "none")


# ---- hardening sysctls ----
def hardening_sysctls(b):
    sysctls = b.keys.get("sysctl", [])
    bad = []
    for l in sysctls:
        m = re.match(r"(\S+) wanted=(.*) actual=(.*)", l)
        if not m or m.group(2).split() != m.group(3).split():
            bad.append(l)
    b.check("hardening sysctls read back (90-gpuhost-hardening.conf vs sysctl -n)", sysctls and not bad,
            (f"{len(sysctls) - len(bad)}/{len(sysctls)} match" + (f"; differ: {'; '.join(bad)}" if bad else ""))
            if sysctls else b.first("sysctl-file", "no sysctl lines"))
    if b.state:
        badc = [f"{c.get('name')} wanted {c.get('wanted')} got {c.get('actual')}"
                for c in b.state.get("checks", []) if not c.get("ok")]
        b.check("state.json checks all ok", not badc, "; ".join(badc) or f"{len(b.state.get('checks', []))} ok")


# ---- journal ----
def agent_errors(b):
    return [l for l in b.sec.get("agent-err", "").split("\n") if l.strip()]


def journal_no_errors(b):
    errs = agent_errors(b)
    b.check("no error-level journal lines from gpuhost-agent", not errs, " | ".join(errs) or "none")


def journal_errors_info(b):
    b.info("agent journal, priority err", " | ".join(agent_errors(b)) or "none")


# ---- HTTP through the port forward ----
def healthz_ok(b):
    code, body = b.http("healthz")
    b.check("/healthz 200", code == "200" and body.startswith(("ok", "degraded")), f"{code} {body.strip()[:200]}")


def healthz_held(b):
    code, body = b.http("healthz")
    pid = b.holder_pid()
    b.check("/healthz 503 with the reason (the holder's pid and process)",
            code == "503" and pid != "" and pid in body and b.first("hold-comm") in body,
            f"{code} {body.strip()[:300]}")


def healthz_degraded_bridge(b):
    code, body = b.http("healthz")
    bd = b.one(BRIDGE_DISPLAY)
    b.check("/healthz 200 degraded, naming the bridge display",
            code == "200" and body.startswith("degraded") and bd is not None and bd["address"] in body,
            f"{code} {body.strip()[:300]}")


def api_status(b):
    code, body = b.http("api_v1_status")
    try:
        hr = json.loads(body).get("health", {})
        b.check("/api/v1/status 200 with JSON", code == "200", f"{code}, health {hr}")
    except ValueError:
        b.check("/api/v1/status 200 with JSON", False, f"{code} {body[:200]}")


def metrics_healthy(want):
    def healthy(b):
        code, body = b.http("metrics")
        m = re.search(r"^gpuhost_healthy(?:\{[^}]*\})? (\S+)", body, re.M)
        b.check(f"/metrics 200, gpuhost_healthy {want}",
                code == "200" and m is not None and float(m.group(1)) == float(want),
                f"{code}, {len(body.splitlines())} lines, gpuhost_healthy {m.group(1) if m else 'absent'}")
    return healthy


def metrics_data_disk(b):
    code, body = b.http("metrics")
    bd = b.one(BRIDGE_DISPLAY)
    lines = body.splitlines()
    want_lines = ['gpuhost_apply_result{result="degraded"} 1', 'gpuhost_apply_result{result="ok"} 0',
                  'gpuhost_gpus{assignment="host"} 2', 'gpuhost_gpus{assignment="vfio"} 1']
    missing = [w for w in want_lines if w not in lines]
    bd_info = [l for l in lines if bd and l.startswith("gpuhost_gpu_info{") and f'address="{bd["address"]}"' in l]
    b.check("/metrics: result degraded, GPUs 2 on the host (boot VGA, bridge display) and 1 on vfio",
            code == "200" and not missing and len(bd_info) == 1 and 'assignment="host"' in bd_info[0]
            and bd_info[0].endswith(" 1"),
            (f"missing: {missing}; " if missing else "")
            + (bd_info[0] if bd_info else "no gpuhost_gpu_info for the bridge display"))


# ---- disk boots only: first boot (qa/first_boot.py) and libvirt (qa/libvirt_vm.py) ----
def first_boot_checks(b):
    """Presets, machine identity, SSH key credential."""
    import first_boot  # noqa: E402  (next to this file)

    prev = os.environ.get("QA_PREV_DIR")
    b.results += first_boot.checks(b.keys, b.scenario, parse_report(read(os.path.join(prev, "probe.txt")))[0]
                                   if prev else None)


def libvirt_checks(b):
    """A VM defined in the guest, shown by serve."""
    import libvirt_vm  # noqa: E402  (next to this file)

    b.results += libvirt_vm.checks(b.keys, b.sec, b.bootdir, b.label)


# ---- timings ----
def timings(b):
    t = read(os.path.join(b.bootdir, "http", "first-answer-ms")).strip()
    if t:
        b.info("qemu start -> first /healthz answer", f"{int(t) / 1000:.1f} s")
    b.info("guest boot (systemd-analyze)", b.first("systemd-analyze"))
    s, e = b.agent_unit.get("ExecMainStartTimestampMonotonic"), b.agent_unit.get("ExecMainExitTimestampMonotonic")
    if s and s.isdigit() and s != "0":
        b.info("gpuhost-agent started at (guest monotonic)",
               f"{int(s) / 1e6:.1f} s" + (f", ran {(int(e) - int(s)) / 1e6:.1f} s" if e and e.isdigit() and e != "0" else ""))


# ---- one check list per scenario, in the order the lines print ----
VFIO_ROLES = (DISPLAY, HDA, EDU)
SYSTEM_AND_HTTP = [kernel_cmdline, hardening_sysctls]  # after the scenario's own checks


def disk_boot(binds, *own):
    """first and second: a healthy run; `binds` judges the vfio functions, `own` follows the
    default route."""
    return [devices_present, units_healthy, result_ok, state_warnings, state_errors_fail, state_inventory,
            binds, iommu_groups(), kept_untouched, no_bind_outside_policy, vfio_exactly_policy, default_route,
            policy_fetch_order, *own, *SYSTEM_AND_HTTP, journal_no_errors, healthz_ok, api_status, metrics_healthy("1")]


SCENARIOS = {
    "first": disk_boot(vfio_binds(VFIO_ROLES, bind_outcome("done")), vfio_pin(False))
    + [first_boot_checks, libvirt_checks, timings],
    "second": disk_boot(vfio_binds(VFIO_ROLES, bind_outcome("unchanged"), on_vfio_at_inventory),
                        vfio_pin(True), nothing_changed)
    + [first_boot_checks, libvirt_checks, timings],
    "pxe": disk_boot(vfio_binds(VFIO_ROLES, bind_outcome("done")), pxe_root) + [timings],
    "held": [devices_present, units_agent_failed, result_failed, state_warnings, state_errors_info,
             state_inventory, vfio_binds([EDU], bind_outcome("done")), held_display, iommu_groups(held=True),
             kept_untouched, no_bind_outside_policy, vfio_exactly_edu, default_route, *SYSTEM_AND_HTTP,
             journal_errors_info, healthz_held, api_status, metrics_healthy("0"), timings],
}


def with_data_disk(checks):
    """QA_DATA_DISK=yes: the bridge's group first; a healthy run is degraded by exactly the bridge
    display's warning, and /healthz and /metrics say so."""
    out = [data_disk_bridge]
    for c in checks:
        out.append({result_ok: result_degraded, healthz_ok: healthz_degraded_bridge}.get(c, c))
        if c is state_warnings:
            out.append(warnings_only_bridge_display)
        if getattr(c, "__name__", "") == "healthy":  # metrics_healthy(...)
            out.append(metrics_data_disk)
    return out


def main():
    label, bootdir = sys.argv[1], sys.argv[2]
    keys, sec = parse_report(read(os.path.join(bootdir, "probe.txt")))
    if not keys:
        print("  FAIL probe: no complete report (GPUHOST-QA-BEGIN .. GPUHOST-QA-END)")
        sys.exit(1)
    b = Boot(label, bootdir, keys, sec)
    checks = SCENARIOS[label]
    for c in with_data_disk(checks) if b.data_disk else checks:
        c(b)
    for status, name, found in b.results:
        print(f"  {status:4} {name}: {found}")
    failed = [r for r in b.results if r[0] == "FAIL"]
    print(f"  => {label}: {'PASS' if not failed else f'FAIL ({len(failed)} of {len(b.results)} checks)'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
