#!/usr/bin/env python3
"""Judges one boot of the nvidia image on a machine without an NVIDIA GPU (issue 7), and the
image's UKI: qa/check_nvidia.py BOOTDIR UKI. One line per check (ok / FAIL / info); exit 1 on any FAIL.

BOOTDIR holds nvprobe.txt (qa/nvidia-probe.sh's report) and http/{api_v1_status,metrics,page}.body.
UKI is build/nvidia*/image.efi: its .cmdline must blacklist nouveau and its .initrd (every cpio
archive in it, as the kernel unpacks them) must carry no nouveau module.
"""
import json
import os
import struct
import subprocess
import sys

from probe_report import cert_cn

bootdir, uki = sys.argv[1], sys.argv[2]
# The image's Secure Boot certificate (issue 15): its modules must be signed with it.
cert = sys.argv[3] if len(sys.argv) > 3 else ""
failed = False


def check(name, ok, found):
    global failed
    failed |= not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: {found}")


def info(name, found):
    print(f"  info {name}: {found}")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().replace("\r", "")
    except OSError:
        return ""


def parse(text):
    """key: value lines and NAME-begin .. NAME-end sections between NVPROBE-BEGIN/END."""
    if "NVPROBE-END" not in text:
        return None, None
    keys, secs, cur = {}, {}, None
    for line in text.split("NVPROBE-BEGIN", 1)[-1].split("\n"):
        if cur is not None:
            if line == f"{cur}-end":
                cur = None
            else:
                secs[cur].append(line)
        elif line.endswith("-begin"):
            cur = line[: -len("-begin")]
            secs[cur] = []
        elif ": " in line:
            k, v = line.split(": ", 1)
            keys.setdefault(k, []).append(v)
    return keys, {k: [x for x in v if x] for k, v in secs.items()}


def pe_sections(path):
    with open(path, "rb") as f:
        data = f.read()
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    nsec = struct.unpack_from("<H", data, pe + 6)[0]
    optsize = struct.unpack_from("<H", data, pe + 20)[0]
    out = {}
    for i in range(nsec):
        h = pe + 24 + optsize + 40 * i
        name = data[h : h + 8].rstrip(b"\0").decode()
        vsize, _, rawsize, rawptr = struct.unpack_from("<IIII", data, h + 8)
        out[name] = data[rawptr : rawptr + min(vsize, rawsize)]
    return out


def cpio_names(blob):
    """File names of every newc cpio archive in a concatenation (zero padding between them)."""
    names, off = [], 0
    while True:
        off = blob.find(b"070701", off)
        if off < 0:
            return names
        namesize = int(blob[off + 94 : off + 102], 16)
        filesize = int(blob[off + 54 : off + 62], 16)
        name = blob[off + 110 : off + 110 + namesize - 1].decode(errors="replace")
        off += 110 + namesize
        off += (-off) % 4
        if name != "TRAILER!!!":
            names.append(name)
        off += filesize
        off += (-off) % 4


keys, sec = parse(read(os.path.join(bootdir, "nvprobe.txt")))
if keys is None:
    check("nvidia probe", False, "no complete report (NVPROBE-BEGIN .. NVPROBE-END)")
    sys.exit(1)
one = lambda k: keys.get(k, [""])[0]

check("system state", one("is-system-running") == "running", one("is-system-running"))
failed_units = sec.get("failed-units", [])
check("failed units", not failed_units, ", ".join(failed_units) or "none")
modules = sec.get("proc-modules", [])
nv = [m for m in modules if m.startswith("nvidia") or m == "nouveau"]
check("no nvidia or nouveau module loaded (/proc/modules)", not nv,
      ", ".join(nv) or f"none of {len(modules)} modules")
check("no /sys/module/nvidia*", not sec.get("sys-module-nvidia"), " ".join(sec.get("sys-module-nvidia", [])) or "none")
dkms = sec.get("dkms-modules", [])
want = {"nvidia-current.ko.xz", "nvidia-current-modeset.ko.xz", "nvidia-current-drm.ko.xz",
        "nvidia-current-uvm.ko.xz", "nvidia-current-peermem.ko.xz"}
want_open = {w.replace("current", "current-open") for w in want}
check("NVIDIA modules in the image for the running kernel", want <= set(dkms) or want_open <= set(dkms),
      f"{one('kernel')}: {' '.join(dkms)}")
check("nouveau blacklisted on the kernel command line", "modprobe.blacklist=nouveau" in one("cmdline").split(),
      one("cmdline"))
check("modprobe configuration blacklists nouveau", "blacklist nouveau" in sec.get("modprobe-blacklist", []),
      "; ".join(sec.get("modprobe-blacklist", [])))
alias = sec.get("alias-h200", [])
check("an H200's modalias resolves to nvidia, never nouveau", "nvidia" in alias and "nouveau" not in alias,
      " ".join(alias) or "nothing")
udev = [l for l in sec.get("udev-load-h200", []) if l.strip()]
check("udev's load of an H200 modalias loads nothing (modprobe -n -v -b: nvidia blacklisted for alias loads)",
      not any(w in l for l in udev for w in ("insmod", "install")), "; ".join(udev) or "nothing")
agent_load = sec.get("agent-load-nvidia", [])
check("the agent's load of nvidia by name still reaches the driver (modprobe -n -v nvidia)",
      any("nvidia-current" in l and ("insmod" in l or "install" in l) for l in agent_load),
      "; ".join(agent_load) or "nothing")
check("modprobe configuration blacklists nvidia for udev", "blacklist nvidia" in sec.get("modprobe-blacklist", []),
      "; ".join(sec.get("modprobe-blacklist", [])))
check("no modules-load.d entry loads nvidia at boot", not any("nvidia" in l for l in sec.get("modules-load-d", [])),
      " ".join(sec.get("modules-load-d", [])))
check("systemd-modules-load.service", one("modules-load").startswith("active result=success"), one("modules-load"))
p = dict(v.split("=", 1) for v in keys.get("persistenced", []))
check("nvidia-persistenced enabled, skipped by its condition (no nvidia module)",
      p.get("UnitFileState") == "enabled" and p.get("ConditionResult") == "no" and p.get("Result") == "success",
      " ".join(f"{k}={v}" for k, v in p.items()))
check("nvidia-smi and libnvidia-ml in the image", bool(one("nvidia-smi")) and "No such" not in one("libnvidia-ml"),
      f"{one('nvidia-smi')} {one('libnvidia-ml')}")
check("gpu-status without an NVIDIA GPU exits 0", one("gpu-status-rc") == "0",
      f"rc={one('gpu-status-rc')}: {' / '.join(sec.get('gpu-status', []))}")
drop = sec.get("serve-dropins", [])
check("gpuhost-serve may open /dev/nvidia* (60-nvidia-nvml.conf)",
      any("DeviceAllow=char-nvidia-frontend rw" in l for l in drop), "drop-in present" if drop else "no unit")
info("NVIDIA journal lines", " | ".join(sec.get("nvidia-journal", [])[-5:]) or "none")

try:
    api = json.loads(read(os.path.join(bootdir, "http/api_v1_status.body")))
except ValueError:
    api = {}
nvj = api.get("nvidia", {})
check("API nvidia.status no-gpu", nvj.get("status") == "no-gpu", json.dumps(nvj)[:200])
check("API says 'no NVIDIA GPU found'", nvj.get("message") == "no NVIDIA GPU found", nvj.get("message"))
page = read(os.path.join(bootdir, "http/page.body"))
check("status page says 'no NVIDIA GPU found'", "no NVIDIA GPU found" in page, f"{len(page)} bytes of HTML")
metrics = read(os.path.join(bootdir, "http/metrics.body")).split("\n")
check("metrics gpuhost_nvidia_gpus 0", "gpuhost_nvidia_gpus 0" in metrics,
      next((l for l in metrics if l.startswith("gpuhost_nvidia_gpus")), "missing"))

# issue 15: signed modules under enforced Secure Boot (the probe tries `modprobe nvidia` last).
if cert:
    cn = cert_cn(cert)
    sb, var = one("secure-boot"), one("secure-boot-efivar")
    check("Secure Boot enabled (the firmware's SecureBoot variable is 1; bootctl agrees)",
          var == "1" and sb.startswith("enabled"), f"SecureBoot variable: {var or 'unread'}; bootctl: {sb or 'no answer'}")
    signers = keys.get("module-signer", [])
    bad = [s for s in signers if s.split(" ", 1)[-1] != cn]
    check(f"every DKMS module signed by the image certificate ('{cn}')", bool(signers) and not bad,
          "; ".join(bad) or f"{len(signers)} modules")
    load = sec.get("modprobe-nvidia", [])
    text = " ".join(load)
    check("modprobe nvidia passes the signature check and fails only for lack of a device",
          "No such device" in text and "rejected" not in text and "rc=0" not in text, "; ".join(load) or "nothing")

secs = pe_sections(uki)
cmdline = secs.get(".cmdline", b"").rstrip(b"\0").decode().split()
check("UKI .cmdline blacklists nouveau (the initrd's udev and modprobe read it)",
      "modprobe.blacklist=nouveau" in cmdline, " ".join(cmdline))


def unpack_initrds(blob):
    """The cpio data of a concatenation of initrds: zstd frames (the default initrd, the kernel
    modules one) with zero padding between them, decompressed one by one; plain cpio kept."""
    magic = b"\x28\xb5\x2f\xfd"
    starts, i = [], blob.find(magic)
    while i >= 0:
        starts.append(i)
        i = blob.find(magic, i + 4)
    out = blob[: starts[0]] if starts else blob
    for a, b in zip(starts, starts[1:] + [len(blob)]):
        r = subprocess.run(["zstd", "-dcq"], input=blob[a:b].rstrip(b"\0"), capture_output=True)
        if r.returncode == 0:  # a magic inside compressed data is no frame start: skipped
            out += r.stdout
    return out


names = cpio_names(unpack_initrds(secs.get(".initrd", b"")))
nouveau = [n for n in names if "/nouveau" in n]
nvidia = [n for n in names if "/nvidia" in n and n.endswith((".ko", ".ko.xz", ".ko.zst"))]
check("UKI .initrd carries no nouveau (and no nvidia) module",
      bool(names) and not nouveau and not nvidia,
      f"{len(names)} files, {sum(n.endswith(('.ko', '.ko.xz', '.ko.zst')) for n in names)} modules; "
      f"nouveau: {nouveau or 'none'}; nvidia: {nvidia or 'none'}")
sys.exit(1 if failed else 0)
