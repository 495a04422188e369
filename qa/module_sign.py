#!/usr/bin/env python3
"""Modules for the module-signature check of a Secure Boot boot (issue 15):

    qa/module_sign.py IMAGE KEY CERT OUTDIR

Takes the image's own dummy.ko (a module nothing loads by itself; read from the image's root
file system (image/rootfs.py: debugfs or dump.erofs), so it is exactly the image kernel's build) and writes two copies:

    OUTDIR/own.ko     signed with the image's db key (KEY, CERT): must load under Secure Boot,
                      since Debian's kernel trusts db certificates for modules
    OUTDIR/other.ko   signed with a key made here and known to nobody: must be refused

Debian's own signature stays inside each copy; the kernel checks the signature appended last,
which covers everything before it. Signing uses the kernel's sign-file (linux-kbuild), installed
when missing: the version named by linux-headers-amd64's dependencies on this machine.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "image"))
from rootfs import RootFs  # noqa: E402  (image/rootfs.py)

MODULE = "kernel/drivers/net/dummy.ko"


def die(msg):
    print(f"module_sign: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        die(f"{' '.join(cmd)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[:400]}")
    return r.stdout


def sign_file():
    found = sorted(glob.glob("/usr/lib/linux-kbuild-*/scripts/sign-file"))
    if found:
        return found[-1]
    # The kbuild package of the headers this machine's archive has today (the version moves
    # with the mirror; the metapackage's dependency chain names it).
    pkg = None
    name = "linux-headers-amd64"
    for _ in range(3):
        deps = run(["apt-cache", "depends", name])
        m = re.search(r"Depends: (linux-kbuild-\S+)", deps)
        if m:
            pkg = m.group(1)
            break
        m = re.search(r"Depends: (linux-headers-\S+)", deps)
        if not m:
            break
        name = m.group(1)
    if not pkg:
        die("no linux-kbuild package found through linux-headers-amd64 (apt-get update?)")
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    found = sorted(glob.glob("/usr/lib/linux-kbuild-*/scripts/sign-file"))
    if not found:
        die(f"{pkg} installed but has no scripts/sign-file")
    return found[-1]


def main():
    if len(sys.argv) != 5:
        die("usage: qa/module_sign.py IMAGE KEY CERT OUTDIR")
    image, key, cert, outdir = sys.argv[1:]
    try:
        rootfs = RootFs(image)
    except (OSError, ValueError, RuntimeError) as e:
        die(f"cannot read the root file system of {image}: {e}")
    kvers = [k for k in (rootfs.ls("/usr/lib/modules") or []) if re.fullmatch(r"\d+\.\d+\S*", k)]
    if len(kvers) != 1:
        die(f"expected one kernel under /usr/lib/modules in {image}, found {kvers}")
    os.makedirs(outdir, exist_ok=True)
    signer = sign_file()
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:
        src = None
        for ext in (".xz", ".zst", ""):
            path = f"/usr/lib/modules/{kvers[0]}/{MODULE}{ext}"
            dest = os.path.join(tmp, "dummy.ko" + ext)
            data = rootfs.cat(path)
            if data:
                with open(dest, "wb") as f:
                    f.write(data)
                src = dest
                break
        if not src:
            die(f"{MODULE} not found in {image} (kernel {kvers[0]})")
        if src.endswith(".xz"):
            run(["xz", "-d", src])
        elif src.endswith(".zst"):
            run(["zstd", "-q", "-d", "--rm", src])
        plain = os.path.join(tmp, "dummy.ko")
        run(["openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", "1",
             "-subj", "/CN=gpuhost qa key no firmware trusts/", "-keyout", os.path.join(tmp, "other.key"),
             "-out", os.path.join(tmp, "other.crt")])
        for name, k, c in (("own", key, cert), ("other", os.path.join(tmp, "other.key"), os.path.join(tmp, "other.crt"))):
            work = os.path.join(tmp, name + ".ko")
            with open(plain, "rb") as f, open(work, "wb") as g:
                g.write(f.read())
            run([signer, "sha256", k, c, work])
            os.replace(work, os.path.join(outdir, name + ".ko"))
    print(f"module_sign: {outdir}/own.ko (image key), {outdir}/other.ko (unknown key) from "
          f"{kvers[0]}'s {MODULE}")


if __name__ == "__main__":
    main()
