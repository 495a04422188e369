"""libvirt checks for qa/check.py (issue 8; scenarios first and second): the real libvirtd in the
image, and serve's own reading of it.

In the guest, qa/probe.sh libvirt_vm() defined (never started) the VM gpuhost-qa-vm with three PCI
host devices: the vfio-bound edu device and both functions of the non-boot display (a vfio GPU
with its audio companion). Here, through the port forward, serve must show that VM and name it as
the display GPU's owner on /api/v1/status, the page and /metrics. serve reads libvirt itself (at
most every 5 s while asked), so the API is asked again until its reading has the VM (60 s at most).

Inputs: the probe report's keys and sections; QA_PORT (the forwarded port, default 18080). The
answers are kept in DIR/http/libvirt_*.

First boot only, after its report: the probe gives the functions back (gpuhost-agent restore) and
runs the agent again while libvirtd runs; its binds must go through libvirt
(virNodeDeviceDetachFlags with the vfio backend: outcome done, "through libvirt").
"""
import json
import os
import time
import page as page_client
from probe_report import parse_block

VM = "gpuhost-qa-vm"


def fetch(port, path):
    return page_client.fetch(port, path)


def binds_through_libvirt(bootdir, devices, check):
    """First boot: the probe's restore + apply while libvirtd runs (qa/probe.sh, after the report)."""
    path, t0 = os.path.join(bootdir, "probe.txt"), time.time()
    keys = None
    while time.time() - t0 < 180:
        with open(path, errors="replace") as f:
            keys, sections = parse_block(f.read(), "GPUHOST-QA-LIBVIRT")
        if keys is not None:
            break
        time.sleep(2)
    if keys is None:
        check("apply through libvirt: the probe's block", False, "no GPUHOST-QA-LIBVIRT block within 180 s")
        return
    check("apply through libvirt: libvirtd running when the agent ran again",
          keys.get("libvirtd-before-apply") == "active", keys.get("libvirtd-before-apply", "not reported"))
    after_restore = dict(w.split("=", 1) for w in keys.get("drivers-after-restore", "").split())
    check("restore gave the functions back to their previous drivers (off vfio-pci)",
          len(devices) == 3 and all(after_restore.get(a) not in (None, "vfio-pci") for a in devices),
          keys.get("drivers-after-restore", "not reported"))
    after = dict(w.split("=", 1) for w in keys.get("drivers-after-apply", "").split())
    check("apply moved them to vfio-pci again", len(devices) == 3 and all(after.get(a) == "vfio-pci" for a in devices),
          keys.get("drivers-after-apply", "not reported"))
    try:
        st = json.loads(sections.get("reapply-state", ""))
    except ValueError:
        st = {}
    binds = {a.get("target"): a for a in st.get("actions", []) if a.get("kind") == "bind-vfio"}
    found = "; ".join(f"{t}: {binds[t].get('outcome')} ({binds[t].get('message')})" for t in devices if t in binds)
    check("bind actions went through libvirt (virNodeDeviceDetachFlags): done, 'through libvirt'",
          len(devices) == 3 and all(binds.get(t, {}).get("outcome") == "done"
                                    and "through libvirt" in binds.get(t, {}).get("message", "") for t in devices),
          found or "no bind actions")
    virt = (st.get("inventory") or {}).get("virtualization") or {}
    check("the agent's own run saw libvirt: connected, the VM listed",
          virt.get("libvirt_connected") is True and any(d.get("name") == VM for d in virt.get("domains", [])),
          f"connected={virt.get('libvirt_connected')} error={virt.get('libvirt_error')!r} "
          f"domains={[d.get('name') for d in virt.get('domains', [])]}")
    check("the run again: result ok or degraded", st.get("result") in ("ok", "degraded"), st.get("result", "none"))


def checks(keys, sections, bootdir, scenario):
    out = []

    def check(name, ok, found):
        out.append(("ok" if ok else "FAIL", name, found))

    def first(k):
        return keys.get(k, [""])[0]

    define = first("libvirt-define")
    if scenario == "second":
        check("the VM defined on the first boot is still defined (real libvirtd)",
              define.startswith("rc=0 ") and "kept from an earlier boot" in define, define or "not reported")
    else:
        check("virsh define of the VM in the guest (real libvirtd)", define.startswith("rc=0 "),
              define or "not reported")
    devices = first("libvirt-vm-devices").split()
    check("the VM's devices found in the guest (edu, display .0, audio .1)", len(devices) == 3,
          " ".join(devices) or "none")
    listed = [line.split() for line in sections.get("virsh-list", "").splitlines()]
    vm_line = next((" ".join(f) for f in listed if VM in f), "")
    check("virsh list --all: the VM is defined and shut off", "shut off" in vm_line,
          vm_line or sections.get("virsh-list", "no list"))
    out.append(("info", "serve's memory when the probe ran", first("serve-memory") or "not reported"))
    caps = sections.get("domcaps-hostdev", "")
    check("libvirt's domain capabilities: PCI hostdev with the vfio backend",
          "<hostdev supported='yes'>" in caps and "<value>vfio</value>" in caps,
          " ".join(caps.split())[:200] or "not reported")

    port = os.environ.get("QA_PORT", "18080")
    http = os.path.join(bootdir, "http")
    api, vm, t0, tries = None, None, time.time(), 0
    while time.time() - t0 < 60:
        tries += 1
        code, body = fetch(port, "/api/v1/status")
        try:
            api = json.loads(body) if code == 200 else None
        except ValueError:
            api = None
        virt = (api or {}).get("virtualization") or {}
        vm = next((v for v in virt.get("vms") or [] if v.get("name") == VM), None)
        if virt.get("source") == "libvirt" and vm is not None:
            break
        time.sleep(2)
    with open(os.path.join(http, "libvirt_api_v1_status.body"), "w") as f:
        f.write(body)
    virt = (api or {}).get("virtualization") or {}
    lv = virt.get("libvirt") or {}
    check("API: serve reads libvirt itself (virtualization.source libvirt, connected)",
          virt.get("source") == "libvirt" and lv.get("connected") is True,
          f"source={virt.get('source')} connected={lv.get('connected')} error={lv.get('error')!r} "
          f"after {time.time() - t0:.1f} s, {tries} requests")
    kvm = virt.get("kvm") or {}
    out.append(("info", "API: KVM", f"usable={kvm.get('usable')} {kvm.get('reason', '')}"))
    got = [h.get("address") for h in (vm or {}).get("hostdevs", [])]
    check(f"API: VM {VM} listed, shut off, with the three devices",
          vm is not None and vm.get("state") == "shut off" and vm.get("active") is False
          and sorted(got) == sorted(devices) and len(devices) == 3,
          f"{vm.get('state')} active={vm.get('active')} hostdevs={got}" if vm else
          f"absent; vms={[v.get('name') for v in virt.get('vms') or []]}")
    roles = {h.get("address"): h.get("role") for h in (vm or {}).get("hostdevs", [])}
    check("API: the display is the VM's GPU and the audio its companion",
          len(devices) == 3 and roles.get(devices[1]) == "gpu" and roles.get(devices[2]) == "gpu-companion",
          str(roles))

    gpu = next((g for g in (api or {}).get("gpus", []) if len(devices) == 3 and g.get("address") == devices[1]), {})
    owner = gpu.get("owner") or {}
    check(f"API: the display GPU's owner is {VM} (not running)",
          owner.get("vm") == VM and owner.get("vm_active") is False and owner.get("free") is False,
          json.dumps(owner))
    snip = gpu.get("libvirt_hostdev") or {}
    xml = snip.get("devices_xml", "")
    check("API: <hostdev> snippet for the display GPU covers both functions, multifunction on",
          snip.get("functions") == devices[1:] and xml.count("<hostdev ") == 2 and "multifunction='on'" in xml,
          f"functions={snip.get('functions')}, {xml.count('<hostdev ')} hostdev elements")

    code, page = fetch(port, "/")
    with open(os.path.join(http, "libvirt_page.body"), "w") as f:
        f.write(page)
    check(f"page: VM {VM} in the VMs table and as the GPU's owner",
          code == 200 and f">{VM}</td>" in page and f"VM {VM} (shut off)" in page
          and "&lt;hostdev mode=&#39;subsystem&#39;" in page,
          f"{code}, {len(page)} bytes")
    code, metrics = fetch(port, "/metrics")
    with open(os.path.join(http, "libvirt_metrics.body"), "w") as f:
        f.write(metrics)
    want = [f'gpuhost_vm_info{{vm="{VM}",state="shut off"}} 1',
            f'gpuhost_gpu_owner{{address="{devices[1] if len(devices) == 3 else "?"}",vm="{VM}",vm_active="0"}} 1',
            "gpuhost_libvirt_connected 1"]
    lines = metrics.splitlines()
    missing = [w for w in want if w not in lines]
    check("/metrics: the VM, the GPU's owner, libvirt connected", code == 200 and not missing,
          f"{code}; missing: {missing}" if missing else f"{code}; " + "; ".join(want))
    if scenario == "first":
        binds_through_libvirt(bootdir, devices, check)
        # Domain capabilities need a read-write connection: serve shows what the agent's run
        # (root, read-write, libvirtd running since the probe's define) recorded.
        code, body = fetch(port, "/api/v1/status")
        try:
            lv = (json.loads(body).get("virtualization") or {}).get("libvirt") or {}
        except ValueError:
            lv = {}
        check("API after the agent's run through libvirt: domain capabilities offer vfio hostdevs",
              lv.get("hostdev_vfio") is True, f"hostdev_vfio={lv.get('hostdev_vfio')} virt_type={lv.get('virt_type')}")
    else:
        out.append(("info", "API: domain capabilities (the boot's run did not reach libvirt: unknown)",
                    f"hostdev_vfio={lv.get('hostdev_vfio')} virt_type={lv.get('virt_type')}"))
    return out
