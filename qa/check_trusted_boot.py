#!/usr/bin/env python3
"""Judges trusted boot on one boot of qa/boot-test.sh (issue 15):

    qa/check_trusted_boot.py BOOT DIR CERT

The boot ran under OVMF with Secure Boot enforced and the image's certificate (CERT) in db
(image/vm.sh, image/secureboot-vars.sh). Required: bootctl says Secure Boot is enabled, the
kernel is locked down ([integrity], which Secure Boot turns on in Debian's kernel), module
signatures are enforced, the kernel loaded the image's certificate from db into its platform
keyring; and where the probe was handed modules (qa/module_sign.py, the first boot): the one
signed with the image's key loaded, the one signed with an unknown key was refused by the
signature check.
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

checks.finish(f"trusted boot {boot}")
