#!/usr/bin/env python3
"""Write a recipe's package lock from a built image's manifest (mkosi ManifestFormat=json).

  image/packages-lock.py MANIFEST LOCKFILE

The lock lists every installed package of the image as "name version architecture", one per
line, sorted (LC_ALL=C order), after a comment header; mkosi.finalize.d/25-packages-lock.chroot
compares the next build's packages against it. `make image-lock` runs this after a build with
GPUHOST_LOCK=update. Written atomically (temp file, fsync, rename).
"""
import json
import os
import sys
import tempfile

if len(sys.argv) != 3:
    sys.exit(__doc__)
manifest, lock = sys.argv[1], sys.argv[2]
try:
    with open(manifest) as f:
        data = json.load(f)
    pkgs = data["packages"]
    lines = sorted(f"{p['name']} {p['version']} {p['architecture']}" for p in pkgs if p.get("type") == "deb")
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"packages-lock: cannot read the package list from {manifest}: {e}")
if not lines:
    sys.exit(f"packages-lock: {manifest} lists no deb packages")
cfg = data.get("config", {})
header = (
    f"# Package lock of {cfg.get('name', '?')} ({cfg.get('distribution', '?')} {cfg.get('release', '?')}, "
    f"{cfg.get('architecture', '?')}): {len(lines)} packages.\n"
    "# Written by `make image-lock` from image.manifest; checked by every build\n"
    "# (recipes/kvm-host/mkosi.finalize.d/25-packages-lock.chroot). Do not edit by hand.\n"
)
d = os.path.dirname(os.path.abspath(lock))
fd, tmp = tempfile.mkstemp(prefix=".packages-lock.", dir=d)
try:
    with os.fdopen(fd, "w") as f:
        f.write(header + "".join(sorted(l + "\n" for l in lines)))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.rename(tmp, lock)
except OSError as e:
    os.unlink(tmp)
    sys.exit(f"packages-lock: cannot write {lock}: {e}")
print(f"packages-lock: {lock}: {len(lines)} packages")
