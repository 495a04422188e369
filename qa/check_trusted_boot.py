#!/usr/bin/env python3
"""Judges trusted boot on one boot of qa/boot-test.sh (issue 15):

    qa/check_trusted_boot.py BOOT DIR CERT

The boot ran under OVMF with Secure Boot enforced and the image's certificate (CERT) in db
(image/vm.sh, image/secureboot-vars.sh). Required: bootctl says Secure Boot is enabled, the
kernel is locked down ([integrity], which Secure Boot turns on in Debian's kernel), module
signatures are enforced, the kernel loaded the image's certificate from db into its platform
keyring; and where the probe was handed modules (qa/module_sign.py, the first boot): the one
signed with the image's key loaded, the one signed with an unknown key was refused by the
signature check. The root is erofs on a dm-verity device whose hash the UKI's command line
carries, writes to it fail; /var is the state partition, grown into the disk's free space at
the first boot, and /etc an overlay with its upper directory there. The A/B slots (issue 16):
two 2 GiB root slots, the running one labelled with the running version, the other empty; the
ESP's UKI named after the version; the page's boot state says this version is blessed.
"""
import hashlib
import json
import os
import sys

from probe_report import Checks, cert_cn, load_report

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "image"))
from report import ROOT_X86_64 as ROOT, ROOT_X86_64_VERITY as ROOT_VERITY  # noqa: E402
from report import ROOT_X86_64_VERITY_SIG as ROOT_SIG  # noqa: E402

boot, d, cert = sys.argv[1], sys.argv[2], sys.argv[3]
checks = Checks()
check = checks.check
keys, _ = load_report(d)


def first(k):
    v = keys.get(k, [])
    return v[0] if v else ""


cn = cert_cn(cert)
sb, var = first("secure-boot"), first("secure-boot-efivar")
check("Secure Boot enabled (bootctl status; the firmware's SecureBoot variable is 1)",
      sb.startswith("enabled") and var == "1", f"bootctl: {sb or 'no answer'}; SecureBoot variable: {var or 'unread'}")
lock = first("lockdown")
check("kernel locked down: integrity", "[integrity]" in lock, lock or "no answer")
sig = first("sig-enforce")
check("module signatures enforced", sig == "Y", sig or "no answer")
trust = keys.get("kernel-trust", [])
ours = [t for t in trust if cn and (f"'{cn}'" in t or f"'{cn}: " in t)]
check(f"the image's db certificate in the kernel's platform keyring ('{cn}')", bool(ours),
      ours[0] if ours else ("; ".join(trust[-4:]) or "no X.509 line in the kernel log"))
own, other = first("module-own"), first("module-other")
if own or other or boot == "first":
    check("a module signed with the image's key loads", own.startswith("rc=0 "), own or "not tried")
    check("a module signed with an unknown key is refused by the signature check",
          other.startswith("rc=") and not other.startswith("rc=0 ") and "Key was rejected by service" in other,
          other or "not tried")


# The verified root and the writable state (issue 15, image/README.md "Trusted boot").
# root-mount: findmnt's FSTYPE SOURCE OPTIONS of / (qa/probe.sh, the report's head).
mount, dm = first("root-mount"), first("root-dm")
fields = mount.split()
check("root is erofs, read-only, on a dm-verity device (systemd-veritysetup's 'root')",
      fields[:1] == ["erofs"] and "ro" in (fields[2:3] or [""])[0].split(",") and
      "name=root " in dm + " " and "uuid=CRYPT-VERITY-" in dm,
      f"{' '.join(fields) or 'no answer'}; {dm or 'no dm answer'}")
check("the root hash comes from the UKI's command line (roothash=); the initrd's "
      "systemd-veritysetup@root opened the device",
      first("root-hash-cmdline") == "1" and first("root-veritysetup") not in ("", "0"),
      f"roothash= entries: {first('root-hash-cmdline') or '?'}; 'Finished systemd-veritysetup@root' "
      f"lines: {first('root-veritysetup') or '?'}; {'; '.join(keys.get('root-verity-log', [])[:2])}")
check("a write to the root is refused", first("root-write") == "refused", first("root-write") or "not tried")
var = first("var-mount")
check("/var is the ext4 state partition (gpuhost-state)",
      var.split(" ")[1:2] == ["ext4"] and var.endswith("partlabel=gpuhost-state"), var or "no answer")
etc = first("etc-mount")
check("/etc is an overlay whose upper directory is on the state partition",
      etc.startswith("overlay ") and "upperdir=/sysroot/var/lib/gpuhost-etc/upper" in etc, etc or "no answer")
home = first("root-home-mount")
check("/root is writable root's home on the state partition (bind of /var/roothome)",
      home.split(" ")[-1:] == ["ext4"] and "[/roothome]" in home, home or "no answer")
# boot-test.sh gives qemu a disk 1 GiB larger than the image: gpuhost-grow-state.service
# (systemd-repart) grows the state partition into it at the first boot, systemd-growfs the
# ext4 (the image carries 1 GiB).
size = int(first("var-size") or 0)
check("the state partition took the disk's free space (more than 1.5 GiB)", size > 1.5 * 2**30,
      f"/var {size / 2**30:.2f} GiB; gpuhost-grow-state: {first('repart') or '?'}; "
      f"systemd-growfs@var: {first('growfs-var') or '?'}")

# The A/B slots (issue 16, docs/updates.md): two root slots of 2 GiB with 32 MiB hash partitions,
# the running one labelled with the running version, the other "_empty" until the first update;
# the UKI in the ESP named <image id>_<version>.efi (what systemd-sysupdate's transfer matches).
image_id, _, version = first("image-version").partition(" ")
parts = [p.split(" ") for p in keys.get("partition", [])]
parts = [(p[0], p[1].lower(), p[2] if len(p) > 3 else "", int(p[-1])) for p in parts if len(p) >= 3 and p[-1].isdigit()]
roots = [p for p in parts if p[1] == ROOT]
hashes = [p for p in parts if p[1] == ROOT_VERITY]
sigs = [p for p in parts if p[1] == ROOT_SIG]
check("two root slots of 2 GiB, each with a 32 MiB hash and a signature partition",
      len(roots) == 2 and all(p[3] == 2 * 2**30 for p in roots) and len(hashes) == 2 and
      all(p[3] == 32 * 2**20 for p in hashes) and len(sigs) == 2,
      "; ".join(f"{p[0]} {p[2] or '-'} {p[3]}" for p in roots + hashes + sigs) or "no partition lines")
slot = first("root-slot")
check(f"the running root is the slot labelled with the running version (gpuhost_{version})",
      version not in ("", "?") and slot.endswith(f"partlabel=gpuhost_{version}"), f"{slot or 'no answer'}; version {version or '?'}")
if boot in ("first", "second"):
    # Before any update the other slot is free (qa-update's boots check the slots after one).
    check("the other slot and its verity partitions are labelled _empty",
          sorted(p[2] for p in roots + hashes + sigs).count("_empty") == 3,
          "; ".join(f"{p[0]} {p[2] or '-'}" for p in roots + hashes + sigs))
ukis = first("esp-ukis").split()
check(f"the ESP's UKI is {image_id}_{version}.efi", f"{image_id}_{version}.efi" in ukis,
      " ".join(ukis) or "no UKI found under /efi or /boot")

# Updates (docs/updates.md): the image trusts the key that signs the update directory's SHA256SUMS
# (image/update-key.sh's public keyring, QA_UPDATE_PUBRING), and carries gpg, which systemd-pull
# runs to verify; the hardware watchdog is armed by PID 1 where the machine has one (QA_WATCHDOG:
# qa/boot-test.sh adds qemu's i6300esb).
pubring = os.environ.get("QA_UPDATE_PUBRING")
if pubring:
    with open(pubring, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    have = first("update-keyring")
    check("the image's update keyring is the update key's public half, and gpg is there",
          have.startswith(want + " gpg=/"), f"{have or 'no answer'}; want {want[:16]}... ({pubring})")
if os.environ.get("QA_WATCHDOG") == "yes":
    wd = first("watchdog").split()
    check("the hardware watchdog is armed by PID 1: i6300ESB active, 30 s",
          wd[:1] == ["i6300ESB"] and "active" in wd and "30" in wd and "runtime=30s" in wd,
          " ".join(wd) or "no answer")

# What the agent makes of it (agent/boot/, /api/v1/status "boot"): this version blessed (its UKI has
# no counter), read from the ESP, the only one installed.
try:
    with open(os.path.join(d, "http", "api_v1_status.body")) as f:
        bs = json.load(f).get("boot") or {}
except (OSError, ValueError) as e:
    bs = {"error": str(e)}
inst = [(i.get("version"), i.get("state")) for i in bs.get("installed", [])]
check(f"the page's boot state: version {version} blessed, the only one installed, not a counted boot",
      bs.get("status") == "blessed" and bs.get("running_version") == version and
      inst == [(version, "good")] and bs.get("counted_boot") is False,
      f"status {bs.get('status')}, running {bs.get('running_version')}, installed {inst}, "
      f"counted {bs.get('counted_boot')}; {bs.get('summary') or bs.get('error') or ''}")

checks.finish(f"trusted boot {boot}")
