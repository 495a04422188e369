#!/usr/bin/env python3
"""Judges the data disk on one boot of qa/boot-test.sh: qa/check_data_disk.py BOOT DIR

The display behind the conventional PCI bridge shares its IOMMU group with the virtio-blk data
disk mounted at /var/lib/libvirt/images. Required on every boot: the disk is mounted and on
virtio-pci, the display and every other function of that group are untouched (own driver, no
driver_override, no bind action, not in the agent's udev rule), the agent says why (a warning or
the GPU's reason naming the mount or the disk), and the host is healthy (/healthz 200, no failed
units). The other display (image/vm.sh's EXTRA_GPU, own group) still goes to vfio-pci.
"""
import json
import os
import sys

from probe_report import Checks, load_report, parse_pci, read

boot, d = sys.argv[1], sys.argv[2]
MOUNT = "/var/lib/libvirt/images"
checks = Checks()
check = checks.check
keys, sec = load_report(d)
pci = parse_pci(keys.get("pci", []))
mounts = [m.split() for m in keys.get("mount", [])]
data_mount = [m for m in mounts if m[0] == MOUNT]
check(f"data disk mounted at {MOUNT}", bool(data_mount), " ".join(data_mount[0]) if data_mount else "not mounted")
dev = data_mount[0][1] if data_mount else ""
# The data disk's function: the virtio-blk whose group also holds a bochs-display.
groups = {}
for f in pci.values():
    groups.setdefault(f["group"], []).append(f)
shared = [g for g, fs in groups.items()
          if any(f["id"] == "1234:1111" and f["class"] == "038000" for f in fs)
          and any(f["id"].startswith("1af4:") and f["class"].startswith("0100") for f in fs)]
check("one IOMMU group holds a bochs-display and a virtio-blk disk (the bridge)", len(shared) == 1,
      "; ".join(f"group {g}: " + ", ".join(f"{f['address']} {f['id']} {f['driver']}" for f in groups[g])
                for g in shared) or "none")
try:
    state = json.loads(sec.get("state-json", ""))
except ValueError:
    state = {}
binds = {a.get("target") for a in state.get("actions", []) if a.get("kind") == "bind-vfio"}
rules = sec.get("udev-rules", "")
if len(shared) == 1:
    members = groups[shared[0]]
    display = next(f for f in members if f["id"] == "1234:1111")
    for f in members:
        if f["class"].startswith("06"):
            continue
        check(f"{f['address']} ({f['id']}) untouched",
              f["driver"] not in ("vfio-pci",) and f["override"] in ("-", "(null)")
              and f["address"] not in binds and f["address"] not in rules,
              f"driver={f['driver']} override={f['override']} bind-action={'yes' if f['address'] in binds else 'no'} "
              f"in-udev-rule={'yes' if f['address'] in rules else 'no'}")
    disk = next(f for f in members if f["id"].startswith("1af4:"))
    check("data disk on virtio-pci", disk["driver"] == "virtio-pci", f"{disk['address']} driver={disk['driver']}")
    said = [w.get("message", "") for w in state.get("warnings", [])]
    try:
        api = json.loads(read(os.path.join(d, "http", "api_v1_status.body")))
    except ValueError:
        api = {}
    g = next((g for g in api.get("gpus", []) if g.get("address") == display["address"]), {})
    said.append(g.get("reason", ""))
    why = [s for s in said if display["address"] in s or MOUNT in s or disk["address"] in s]
    check("the agent says why the display stays (warning or reason naming it, the disk or the mount)",
          any(MOUNT in s or disk["address"] in s for s in why), " | ".join(why)[:400] or "nothing said")
    check("the display is kept on the host in the API", g.get("assignment") == "host",
          f"assignment={g.get('assignment')} driver={g.get('driver')}")
other = [f for f in pci.values() if f["id"] == "1234:1111" and f["class"] == "038000"
         and not (shared and f in groups[shared[0]])]
check("the other bochs-display (own group) on vfio-pci", len(other) == 1 and other[0]["driver"] == "vfio-pci",
      ", ".join(f"{f['address']} {f['driver']}" for f in other) or "absent")
failed_units = [l for l in sec.get("failed-units", "").split("\n") if l.strip()]
check("no failed units", not failed_units, "; ".join(failed_units) or "none")
check("state.json result ok/degraded", state.get("result") in ("ok", "degraded"),
      f"{state.get('result')}; errors: {state.get('errors')}")
code = read(os.path.join(d, "http", "healthz.code")).strip()
body = read(os.path.join(d, "http", "healthz.body")).strip()
check("/healthz 200", code == "200", f"{code} {body[:200]}")
checks.finish(f"data-disk {boot}")
