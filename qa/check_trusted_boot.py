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
the first boot, and /etc an overlay with its upper directory there.
"""
import sys

from probe_report import Checks, cert_cn, load_report

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

checks.finish(f"trusted boot {boot}")
