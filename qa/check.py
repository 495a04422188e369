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
  pxe     (qa/pxe-test.sh) the PXE bundle booted over the network, no disk: the checks of
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
"""
import json
import os
import re
import struct
import sys

from probe_report import parse_block, parse_pci

scenario, bootdir = sys.argv[1], sys.argv[2]
results = []
# A PXE boot is a first boot without a disk: judged as "first", plus its own checks.
pxe = scenario == "pxe"
label, scenario = scenario, ("first" if pxe else scenario)


def check(name, ok, found):
    results.append(("ok" if ok else "FAIL", name, found))


def info(name, found):
    results.append(("info", name, found))


def warn(name, found):  # worth a look, does not fail the run
    results.append(("WARN", name, found))


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


keys, sec = parse_report(read(os.path.join(bootdir, "probe.txt")))
if not keys:
    print("  FAIL probe: no complete report (GPUHOST-QA-BEGIN .. GPUHOST-QA-END)")
    sys.exit(1)

pci = parse_pci(keys.get("pci", []))
try:
    state = json.loads(sec.get("state-json", ""))
except ValueError as e:
    state = None
    check("state.json", False, f"not readable JSON: {e}")


def http(name):
    return read(os.path.join(bootdir, "http", name + ".code")).strip(), read(
        os.path.join(bootdir, "http", name + ".body"))


# ---- which function is which (from what the guest kernel shows) ----
def find(pred):
    return [f for f in pci.values() if pred(f)]


def is_display(f):  # bochs-display: 1234:1111 like the boot VGA, but class 0380
    return f["id"] == "1234:1111" and f["class"] == "038000"


def is_vblk(f):
    return f["id"].startswith("1af4:") and f["class"].startswith("0100")


# The data-disk bridge (QA_DATA_DISK=yes): the one IOMMU group that holds a bochs-display and a
# virtio-blk disk. Its functions are set apart; everything else is judged as without it.
MOUNT = "/var/lib/libvirt/images"
data_disk = os.environ.get("QA_DATA_DISK") == "yes"
bridge = set()
if data_disk:
    by_group = {}
    for f in pci.values():
        by_group.setdefault(f["group"], []).append(f)
    shared = [g for g, fs in by_group.items() if g != "-" and any(is_display(f) for f in fs)
              and any(is_vblk(f) for f in fs)]
    ends = [f for f in by_group[shared[0]] if not f["class"].startswith("06")] if len(shared) == 1 else []
    check("data-disk bridge: one IOMMU group holds a bochs-display and a virtio-blk disk, no other endpoint",
          len(shared) == 1 and len(ends) == 2 and sum(map(is_display, ends)) == 1 and sum(map(is_vblk, ends)) == 1,
          "; ".join(f"group {g}: " + ", ".join(f"{f['address']} {f['id']} class={f['class']} {f['driver']}"
                                               for f in by_group[g]) for g in shared) or "no such group")
    if len(shared) == 1:
        bridge = {f["address"] for f in by_group[shared[0]]}

roles = {
    "boot VGA (VGA 1234:1111)": find(lambda f: f["class"] == "030000" and f.get("boot_vga") == "1"),
    "secondary display (bochs-display 1234:1111)": find(lambda f: is_display(f) and f["address"] not in bridge),
    "HDMI-audio companion (ich9-intel-hda 8086:293e)": find(lambda f: f["id"] == "8086:293e"),
    "edu (1234:11e8)": find(lambda f: f["id"] == "1234:11e8"),
    "second NIC (e1000e 8086:10d3)": find(lambda f: f["id"] == "8086:10d3"),
    "management NIC (virtio-net)": find(lambda f: f["id"].startswith("1af4:") and f["class"].startswith("0200")),
    "root disk (virtio-blk)": find(lambda f: is_vblk(f) and f["address"] not in bridge),
}
if data_disk:
    roles["bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)"] = find(
        lambda f: is_display(f) and f["address"] in bridge)
    roles["data disk (virtio-blk behind the pcie-pci-bridge)"] = find(lambda f: is_vblk(f) and f["address"] in bridge)
if pxe:  # no disk: the root file system came over the network
    del roles["root disk (virtio-blk)"]
for role, fs in roles.items():
    check(f"device present: {role}", len(fs) == 1,
          ", ".join(f"{f['address']} driver={f['driver']} group={f['group']}" for f in fs) or "absent")


def one(role):
    fs = roles[role]
    return fs[0] if fs else None


display, hda, edu = one("secondary display (bochs-display 1234:1111)"), one(
    "HDMI-audio companion (ich9-intel-hda 8086:293e)"), one("edu (1234:11e8)")
vfio_roles = ["secondary display (bochs-display 1234:1111)", "HDMI-audio companion (ich9-intel-hda 8086:293e)",
              "edu (1234:11e8)"]
# Functions the policy keeps on the host, with the driver qemu's device gets from the image.
kept = {
    "boot VGA (VGA 1234:1111)": "bochs-drm",
    "second NIC (e1000e 8086:10d3)": "e1000e",
    "management NIC (virtio-net)": "virtio-pci",
    "root disk (virtio-blk)": "virtio-pci",
}
if scenario == "held":
    vfio_roles = ["edu (1234:11e8)"]
if pxe:
    del kept["root disk (virtio-blk)"]
if data_disk:  # the policy wants the bridge display on vfio; its group holds the mounted disk
    kept["bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)"] = "bochs-drm"
    kept["data disk (virtio-blk behind the pcie-pci-bridge)"] = "virtio-pci"

actions = state.get("actions", []) if state else []
binds = {a.get("target"): a for a in actions if a.get("kind") == "bind-vfio"}


def outcome_of(f):
    a = binds.get(f["address"]) if f else None
    return f"{a.get('outcome')} ({a.get('message')})" if a else "no bind-vfio action"


# ---- system and units ----
running = first(keys, "is-system-running")
failed_units = [l for l in sec.get("failed-units", "").split("\n") if l.strip()]
agent_unit = dict(v.split("=", 1) for v in keys.get("agent-unit", []))
if scenario == "held":
    info("is-system-running", running)
    check("failed units: only gpuhost-agent.service", all(l.split()[0] == "gpuhost-agent.service" for l in failed_units),
          "; ".join(failed_units) or "none")
    check("gpuhost-agent.service failed (exit status != 0)",
          agent_unit.get("ExecMainStatus", "0") != "0" and agent_unit.get("Result") != "success",
          f"Result={agent_unit.get('Result')} ExecMainStatus={agent_unit.get('ExecMainStatus')}")
    check("gpuhost-serve.service active", "gpuhost-serve.service active" in keys.get("active", []),
          " ".join(v for v in keys.get("active", []) if v.startswith("gpuhost-serve")))
else:
    check("is-system-running: running", running == "running", running)
    check("no failed units", not failed_units, "; ".join(failed_units) or "none")
    check("gpuhost-agent.service succeeded",
          agent_unit.get("Result") == "success" and agent_unit.get("ExecMainStatus") == "0"
          and agent_unit.get("ActiveState") == "active",
          " ".join(f"{k}={v}" for k, v in agent_unit.items() if "Timestamp" not in k))
    for unit in ("gpuhost-serve.service",):
        check(f"{unit} active", f"{unit} active" in keys.get("active", []),
              " ".join(v for v in keys.get("active", []) if v.startswith(unit)))

# ---- state.json ----
if state:
    res = state.get("result")
    warnings = state.get("warnings", [])
    if scenario == "held":
        check("state.json result failed", res == "failed", res)
    elif data_disk:
        check("state.json result degraded (the bridge display stays on the host)", res == "degraded", res)
    else:
        check("state.json result ok/degraded", res in ("ok", "degraded"), res)
    for w in warnings:
        info("state.json warning", f"{w.get('where')}: {w.get('message')}")
    if data_disk:
        # Exactly one warning, and it is the bridge display's: wanted on vfio, kept because its
        # IOMMU group holds the disk mounted at MOUNT. Any other warning is new and fails.
        bd = one("bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)")
        dd = one("data disk (virtio-blk behind the pcie-pci-bridge)")
        expected = (f"wanted on vfio but stays on the host: IOMMU group {bd['group']} holds {dd['address']} "
                    if bd and dd else None)
        ok_w = [w for w in warnings if expected and w.get("where") == bd["address"]
                and w.get("message", "").startswith(expected) and f"mounted at {MOUNT}" in w.get("message", "")]
        check("state.json warnings: exactly the bridge display's (stays on the host, its group holds the "
              "mounted data disk)", len(warnings) == 1 and len(ok_w) == 1,
              f"{len(warnings)} warning(s): " + " | ".join(f"{w.get('where')}: {w.get('message')}" for w in warnings)
              if warnings else "none")
    for e in state.get("errors", []):
        (info if scenario == "held" else lambda n, f: check(n, False, f))("state.json error",
                                                                         f"{e.get('where')}: {e.get('message')}")
    counts = {}
    for a in actions:
        counts[a.get("outcome")] = counts.get(a.get("outcome"), 0) + 1
    info("actions by outcome", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    # inventory lists every function the guest kernel shows
    inv = {f.get("address"): f for f in state.get("inventory", {}).get("functions", [])}
    missing = sorted(set(pci) - set(inv))
    check("inventory lists every PCI function in /sys/bus/pci/devices", not missing,
          f"{len(inv)} functions in inventory, {len(pci)} in the guest" + (f"; missing {missing}" if missing else ""))
    inv_drivers = {a: inv[a].get("driver") for a in pci if a in inv}
    # Drivers that bound after the agent's inventory (udev coldplug still running when it ran).
    late = [f"{a} {inv_drivers[a] or 'none'} -> {pci[a]['driver']}" for a in sorted(inv_drivers)
            if (inv_drivers[a] or "-") != pci[a]["driver"] and pci[a]["driver"] != "vfio-pci"]
    info("driver at the agent's inventory vs now (not moved by the agent)", "; ".join(late) or "all the same")

# ---- vfio binds ----
dev_vfio = first(keys, "dev-vfio").split()
for role in vfio_roles:
    f = one(role)
    if not f:
        continue
    check(f"{role} on vfio-pci", f["driver"] == "vfio-pci",
          f"{f['address']} driver={f['driver']} override={f['override']}; action: {outcome_of(f)}")
    check(f"/dev/vfio/{f['group']} for {role}", f["group"] in dev_vfio, f"/dev/vfio: {' '.join(dev_vfio)}")
    a = binds.get(f["address"])
    if scenario == "first":
        check(f"bind action for {role}: done", bool(a) and a.get("outcome") == "done", outcome_of(f))
    elif scenario == "second":
        check(f"bind action for {role}: unchanged", bool(a) and a.get("outcome") == "unchanged", outcome_of(f))
        if state:
            check(f"{role} was on vfio-pci when the agent's inventory ran", inv_drivers.get(f["address"]) == "vfio-pci",
                  f"inventory driver={inv_drivers.get(f['address'])}")
    elif scenario == "held":
        check(f"bind action for {role}: done", bool(a) and a.get("outcome") == "done", outcome_of(f))

# ---- the held display (issue 10) ----
if scenario == "held":
    pid = re.search(r"pid=(\d+)", first(keys, "hold-unit"))
    pid = pid.group(1) if pid else ""
    comm = first(keys, "hold-comm")
    check("holder unit active, holding the display's DRM node",
          first(keys, "hold-unit").startswith("active") and first(keys, "hold-fd3").startswith("/dev/dri/card"),
          f"{first(keys, 'hold-unit')} comm={comm} fd3={first(keys, 'hold-fd3')} ({first(keys, 'hold-status')})")
    if display:
        card = first(keys, "hold-fd3").rsplit("/", 1)[-1]
        check("the held node is the secondary display's", card in display.get("drm", "").split(","),
              f"{display['address']} drm={display.get('drm')}, held {card}")
        check("secondary display stays on bochs-drm", display["driver"] == "bochs-drm",
              f"{display['address']} driver={display['driver']} override={display['override']}")
        a = binds.get(display["address"])
        msg = a.get("message", "") if a else ""
        check("bind action for the display: held, naming pid and process",
              bool(a) and a.get("outcome") == "held" and pid != "" and pid in msg and comm != "" and comm in msg,
              outcome_of(display) + f"; holder pid {pid} comm {comm}")
    if hda:
        info("HDMI-audio companion of the held display",
             f"{hda['address']} driver={hda['driver']} override={hda['override']}; action: {outcome_of(hda)}")

# ---- IOMMU groups: a group with a vfio-pci function moves as a whole ----
groups = {}
for f in pci.values():
    groups.setdefault(f["group"], []).append(f)
for g, members in sorted(groups.items()):
    if not any(f["driver"] == "vfio-pci" for f in members):
        continue
    # Bridges (class 06xx) may stay on pcieport; every endpoint must be on vfio-pci or have no driver.
    split = [f"{f['address']} {f['driver']}" for f in members
             if not f["class"].startswith("06") and f["driver"] not in ("vfio-pci", "-")]
    desc = ", ".join(f"{f['address']} {f['driver']}" for f in members)
    if scenario == "held" and display and display["group"] == g:
        (warn if split else info)(f"IOMMU group {g} of the held display (docs/policy.md: a group moves as a whole)",
                                  desc + ("; split: not usable by a VM, and the functions on vfio-pci left the host"
                                          if split else ""))
    else:
        check(f"IOMMU group {g} viable (every endpoint on vfio-pci)", not split, desc)

# ---- functions the policy keeps ----
for role, drv in kept.items():
    f = one(role)
    if not f:
        continue
    ok = f["driver"] == drv and f["override"] in ("-", "(null)") and f["address"] not in binds
    check(f"{role} untouched (on {drv})", ok,
          f"{f['address']} driver={f['driver']} override={f['override']}"
          + (f"; action: {outcome_of(f)}" if f["address"] in binds else ""))
policy_vfio = {f["address"] for f in (display, hda, edu) if f}
unexpected = [f"{t} ({a.get('outcome')})" for t, a in binds.items() if t not in policy_vfio]
check("no bind action outside the policy's functions", not unexpected, ", ".join(unexpected) or "none")
# Every function on vfio-pci is one the policy passes through (held: the held display is not).
on_vfio = {a for a, f in pci.items() if f["driver"] == "vfio-pci"}
want_vfio = {edu["address"]} if scenario == "held" and edu else policy_vfio
check("functions on vfio-pci: exactly " + ("edu" if scenario == "held" else "the display, its audio function and edu"),
      len(policy_vfio) == 3 and (on_vfio - {hda["address"] if hda else ""} == want_vfio if scenario == "held"
                                 else on_vfio == want_vfio),
      " ".join(sorted(on_vfio)) or "none")
# the management NIC still carries the default route
check("default route on the management NIC", "via 10.0.2.2" in first(keys, "default-route"), first(keys, "default-route"))

# ---- second boot: nothing changes ----
if scenario == "second" and state:
    changed = [f"{a.get('kind')} {a.get('target')}: {a.get('outcome')} {a.get('message', '')}".strip()
               for a in actions if a.get("outcome") not in ("unchanged", "missing", "skipped")]
    check("every action unchanged/missing/skipped (nothing done)", not changed, "; ".join(changed) or
          f"all {len(actions)} unchanged/missing/skipped")
    prev = os.environ.get("QA_PREV_DIR")
    if prev:
        pk, _ = parse_report(read(os.path.join(prev, "probe.txt")))
        check("a second boot of the same disk", first(pk, "boot-id") != first(keys, "boot-id")
              and int(first(keys, "boots-in-journal", "0") or 0) >= 2,
              f"boot-id {first(keys, 'boot-id')} (before: {first(pk, 'boot-id')}), "
              f"{first(keys, 'boots-in-journal')} boots in the journal")

# ---- kernel command line ----
cmdline = first(keys, "cmdline").split()

# ---- PXE: stateless root, fresh identity ----
if pxe:
    root_mount = first(keys, "root-mount")
    check("/ is an overlayfs (systemd.volatile=overlay: tmpfs over the read-only root)",
          root_mount.split()[:1] == ["overlay"], root_mount or "not reported")
    check("root file system from the network (the erofs file iPXE put into the initramfs as /sysroot)",
          "rd.systemd.mount-extra=/gpuhost-rootfs.erofs:/sysroot:erofs:loop,ro" in cmdline
          and "systemd.volatile=overlay" in cmdline,
          " ".join(p for p in cmdline if p.startswith(("root", "rd.systemd.mount-extra", "systemd.volatile")))
          or "no root parameters")
    # The erofs mount itself is not in the root's mount table after switch-root (the overlay's
    # lowerdir holds it); the loop device under it still names its file.
    check("a loop device backed by the erofs file iPXE loaded",
          "/gpuhost-rootfs.erofs" in first(keys, "loop-backing"), first(keys, "loop-backing") or "no loop device")
    mid = first(keys, "machine-id")
    check("machine-id made at this boot (the image has none)", re.fullmatch(r"[0-9a-f]{32}", mid) is not None,
          mid or "empty")
baked = uki_cmdline(os.environ.get("QA_UKI", ""))
if baked is None:
    check("baked kernel parameters in /proc/cmdline", False, f"cannot read .cmdline of QA_UKI={os.environ.get('QA_UKI')}")
else:
    miss = [p for p in baked if p not in cmdline]
    check("baked kernel parameters in /proc/cmdline", not miss,
          f"baked: {' '.join(baked)}" + (f"; missing: {' '.join(miss)}" if miss else ""))
check("no amd_iommu=on", "amd_iommu=on" not in cmdline, " ".join(cmdline))
if state:
    check("agent: no kernel parameter missing", not state.get("kernel_params_missing"),
          " ".join(state.get("kernel_params_missing", [])) or "none")

# ---- hardening sysctls ----
sysctls = keys.get("sysctl", [])
bad = []
for l in sysctls:
    m = re.match(r"(\S+) wanted=(.*) actual=(.*)", l)
    if not m or m.group(2).split() != m.group(3).split():
        bad.append(l)
check("hardening sysctls read back (90-gpuhost-hardening.conf vs sysctl -n)", sysctls and not bad,
      (f"{len(sysctls) - len(bad)}/{len(sysctls)} match" + (f"; differ: {'; '.join(bad)}" if bad else ""))
      if sysctls else first(keys, "sysctl-file", "no sysctl lines"))
if state:
    badc = [f"{c.get('name')} wanted {c.get('wanted')} got {c.get('actual')}" for c in state.get("checks", [])
            if not c.get("ok")]
    check("state.json checks all ok", not badc, "; ".join(badc) or f"{len(state.get('checks', []))} ok")

# ---- journal ----
errs = [l for l in sec.get("agent-err", "").split("\n") if l.strip()]
if scenario == "held":
    info("agent journal, priority err", " | ".join(errs) or "none")
else:
    check("no error-level journal lines from gpuhost-agent", not errs, " | ".join(errs) or "none")

# ---- HTTP through the port forward ----
code, body = http("healthz")
if scenario == "held":
    hp = re.search(r"pid=(\d+)", first(keys, "hold-unit"))
    check("/healthz 503 with the reason (the holder's pid and process)",
          code == "503" and hp is not None and hp.group(1) in body and first(keys, "hold-comm") in body,
          f"{code} {body.strip()[:300]}")
elif data_disk:
    bd = one("bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)")
    check("/healthz 200 degraded, naming the bridge display",
          code == "200" and body.startswith("degraded") and bd is not None and bd["address"] in body,
          f"{code} {body.strip()[:300]}")
else:
    check("/healthz 200", code == "200" and body.startswith(("ok", "degraded")), f"{code} {body.strip()[:200]}")
code, body = http("api_v1_status")
try:
    st = json.loads(body)
    hr = st.get("health", {})
    check("/api/v1/status 200 with JSON", code == "200", f"{code}, health {hr}")
except ValueError:
    check("/api/v1/status 200 with JSON", False, f"{code} {body[:200]}")
code, body = http("metrics")
m = re.search(r"^gpuhost_healthy(?:\{[^}]*\})? (\S+)", body, re.M)
want = "0" if scenario == "held" else "1"
check(f"/metrics 200, gpuhost_healthy {want}", code == "200" and m is not None and float(m.group(1)) == float(want),
      f"{code}, {len(body.splitlines())} lines, gpuhost_healthy {m.group(1) if m else 'absent'}")
if data_disk:
    bd = one("bridge display (bochs-display 1234:1111 behind the pcie-pci-bridge)")
    lines = body.splitlines()
    want_lines = ['gpuhost_apply_result{result="degraded"} 1', 'gpuhost_apply_result{result="ok"} 0',
                  'gpuhost_gpus{assignment="host"} 2', 'gpuhost_gpus{assignment="vfio"} 1']
    missing = [w for w in want_lines if w not in lines]
    bd_info = [l for l in lines if bd and l.startswith("gpuhost_gpu_info{") and f'address="{bd["address"]}"' in l]
    check("/metrics: result degraded, GPUs 2 on the host (boot VGA, bridge display) and 1 on vfio",
          code == "200" and not missing and len(bd_info) == 1 and 'assignment="host"' in bd_info[0]
          and bd_info[0].endswith(" 1"),
          (f"missing: {missing}; " if missing else "") + (bd_info[0] if bd_info else "no gpuhost_gpu_info for the bridge display"))

# ---- first boot: presets, machine identity, SSH key credential (qa/first_boot.py) ----
# (sys.argv[1]: disk boots only; other scenarios judged like "first" have no image file.)
if sys.argv[1] in ("first", "second"):
    import first_boot  # noqa: E402  (next to this file)

    prev = os.environ.get("QA_PREV_DIR")
    results += first_boot.checks(keys, scenario, parse_report(read(os.path.join(prev, "probe.txt")))[0]
                                 if prev else None)

# ---- libvirt: a VM defined in the guest, shown by serve (qa/libvirt_vm.py) ----
if sys.argv[1] in ("first", "second"):
    import libvirt_vm  # noqa: E402  (next to this file)

    results += libvirt_vm.checks(keys, sec, bootdir, sys.argv[1])

# ---- timings ----
t = read(os.path.join(bootdir, "http", "first-answer-ms")).strip()
if t:
    info("qemu start -> first /healthz answer", f"{int(t) / 1000:.1f} s")
info("guest boot (systemd-analyze)", first(keys, "systemd-analyze"))
s, e = agent_unit.get("ExecMainStartTimestampMonotonic"), agent_unit.get("ExecMainExitTimestampMonotonic")
if s and s.isdigit() and s != "0":
    info("gpuhost-agent started at (guest monotonic)",
         f"{int(s) / 1e6:.1f} s" + (f", ran {(int(e) - int(s)) / 1e6:.1f} s" if e and e.isdigit() and e != "0" else ""))

for status, name, found in results:
    print(f"  {status:4} {name}: {found}")
failed = [r for r in results if r[0] == "FAIL"]
print(f"  => {label}: {'PASS' if not failed else f'FAIL ({len(failed)} of {len(results)} checks)'}")
sys.exit(1 if failed else 0)
