#!/usr/bin/env python3
"""A recipe's package lock: the record of what an image was built from.

  image/packages-lock.py write   MANIFEST LOCKFILE
  image/packages-lock.py compare MANIFEST LOCKFILE [--out FILE] [--strict]

The lock lists every installed package of an image as "name version architecture", one per line,
sorted (LC_ALL=C order), after a comment header. Debian's mirror serves only the current version
of each package and moves every week, so a lock cannot make a build reproduce an old package set;
it is a record, not a gate:

- `write` (make image-lock) rewrites LOCKFILE from a built image's manifest (mkosi
  ManifestFormat=json), atomically (temp file, fsync, rename).
- `compare` (image/mkosi.sh, after every build) prints in a few lines what the image has that
  the lock does not: each package that moved (name: old -> new), was added or was removed, and
  writes the whole list to --out (atomically). Exit 0 whatever moved; with --strict (release
  builds, GPUHOST_LOCK=strict) exit 1 when anything differs. Exit 2 when the manifest or the lock
  cannot be read: a missing lock is reported, not fatal, unless --strict.
"""
import argparse
import json
import os
import sys
import tempfile

SHOWN = 8  # lines of moved packages printed; the rest is in --out


def fail(msg, code=2):
    print(f"packages-lock: {msg}", file=sys.stderr)
    sys.exit(code)


def manifest_packages(path):
    """{name: (version, arch)} of the deb packages in a mkosi JSON manifest, and its config."""
    try:
        with open(path) as f:
            data = json.load(f)
        pkgs = {p["name"]: (p["version"], p["architecture"])
                for p in data["packages"] if p.get("type") == "deb"}
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"cannot read the package list from {path}: {e}")
    if not pkgs:
        fail(f"{path} lists no deb packages")
    return pkgs, data.get("config", {})


def lock_packages(path):
    """{name: (version, arch)} of a lock file; None when there is none. A malformed line names
    the file and line number."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    pkgs = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            fail(f"{path}:{n}: expected 'name version architecture', got {line!r}")
        if fields[0] in pkgs:
            fail(f"{path}:{n}: package {fields[0]} listed twice")
        pkgs[fields[0]] = (fields[1], fields[2])
    return pkgs


def atomic_write(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        fail(f"cannot write {path}: {e}")


def write(manifest, lock):
    pkgs, cfg = manifest_packages(manifest)
    lines = sorted(f"{n} {v} {a}\n" for n, (v, a) in pkgs.items())
    header = (
        f"# Package lock of {cfg.get('name', '?')} ({cfg.get('distribution', '?')} {cfg.get('release', '?')}, "
        f"{cfg.get('architecture', '?')}): {len(lines)} packages.\n"
        "# A record, not a gate: every build prints what moved since (image/packages-lock.py\n"
        "# compare); GPUHOST_LOCK=strict makes a difference fatal. Written by `make image-lock`.\n"
    )
    atomic_write(lock, header + "".join(lines))
    print(f"packages-lock: {lock}: {len(lines)} packages")


def differences(locked, built):
    """Lines 'name: old -> new', '+name version' (added), '-name version' (removed), sorted."""
    out = []
    for name in sorted(set(locked) | set(built), key=lambda s: s.encode()):
        old, new = locked.get(name), built.get(name)
        if old == new:
            continue
        if old is None:
            out.append(f"+{name} {new[0]} {new[1]}")
        elif new is None:
            out.append(f"-{name} {old[0]} {old[1]}")
        elif old[1] != new[1]:
            out.append(f"{name}: {old[0]} {old[1]} -> {new[0]} {new[1]}")
        else:
            out.append(f"{name}: {old[0]} -> {new[0]}")
    return out


def compare(manifest, lock, out, strict):
    built, _ = manifest_packages(manifest)
    locked = lock_packages(lock)
    if locked is None:
        print(f"packages-lock: no lock at {lock}; {len(built)} packages not compared "
              "(make image-lock writes one)", file=sys.stderr)
        if out:
            atomic_write(out, f"# no lock at {lock}\n")
        return 1 if strict else 0
    diff = differences(locked, built)
    if out:
        atomic_write(out, f"# {manifest} against {lock}: {len(diff)} differences\n"
                     + "".join(d + "\n" for d in diff))
    if not diff:
        print(f"packages-lock: {len(built)} packages, as recorded in {lock}")
        return 0
    moved = sum(1 for d in diff if ": " in d)
    added = sum(1 for d in diff if d.startswith("+"))
    removed = sum(1 for d in diff if d.startswith("-"))
    print(f"packages-lock: {len(built)} packages; since {lock}: {moved} moved, {added} added, "
          f"{removed} removed{' (whole list: ' + out + ')' if out else ''}")
    for d in diff[:SHOWN]:
        print(f"packages-lock:   {d}")
    if len(diff) > SHOWN:
        print(f"packages-lock:   ... and {len(diff) - SHOWN} more")
    if strict:
        print("packages-lock: GPUHOST_LOCK=strict: the image differs from its lock", file=sys.stderr)
        return 1
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="image/packages-lock.py",
                                 description="Write or compare a recipe's package lock.")
    ap.add_argument("verb", choices=("write", "compare"))
    ap.add_argument("manifest")
    ap.add_argument("lock")
    ap.add_argument("--out", help="compare: write the whole list of differences here")
    ap.add_argument("--strict", action="store_true", help="compare: exit 1 when anything differs")
    a = ap.parse_args(argv)
    if a.verb == "write":
        write(a.manifest, a.lock)
        return 0
    return compare(a.manifest, a.lock, a.out, a.strict)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
