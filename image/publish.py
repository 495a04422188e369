#!/usr/bin/env python3
"""`make image-publish`: put one build's update artifacts into an update directory.

  image/publish.py --build build/kvm-host --dest DIR [--xz]

An update directory is what systemd-sysupdate on a node reads (docs/updates.md, section 2):
per version `<IMAGE_ID>_<VERSION>.efi` and the root slot's three partitions
`<IMAGE_ID>_<VERSION>.root-x86-64[-verity[-sig]].<UUID>.raw[.xz]`, every version in one
directory, plus `SHA256SUMS` over all of them and `SHA256SUMS.gpg`, its detached signature by
the key whose public half the image carries (image/update-key.sh).

What it does, in order, each step refusing with a message that names the file:
  1. the image id and version from the UKI's own os-release (its .osrel section: what boots),
     checked against image.manifest;
  2. the four files against the build's SHA256SUMS (only those four: hashing image.raw would
     cost a minute for nothing published);
  3. copies (or, with --xz, xz-compresses) each into DEST under its versioned name through a
     temporary file, fsync'd and renamed; a version already there with other contents is
     refused (a published version never changes: nodes may have half of it);
  4. writes DEST/SHA256SUMS over every published file (lines of files it did not touch are
     kept from the old list, so earlier versions are not hashed again), signs it, checks the
     signature with gpgv against the exported public keyring (what a node does), and renames
     the signature and then the list into place.
Prints what a node downloads for this version next to the full disk image's size.
"""
import argparse
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("root-x86-64", "root-x86-64-verity", "root-x86-64-verity-sig")
# What sysupdate's source patterns match (overlays/base/usr/lib/sysupdate.d/*.transfer).
PUBLISHED = re.compile(
    r"^[A-Za-z0-9._-]+_[0-9][0-9.]*\.(efi|(root-x86-64(-verity(-sig)?)?)\.[0-9a-f-]{32,36}\.raw(\.xz)?)$")
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
IMAGE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class PublishError(Exception):
    pass


def pe_section(path, name):
    """The bytes of section NAME (".osrel") of the PE file at PATH."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"MZ":
        raise PublishError(f"{path}: not a PE file (no MZ header)")
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe:pe + 4] != b"PE\0\0":
        raise PublishError(f"{path}: not a PE file (no PE signature)")
    nsect, = struct.unpack_from("<H", data, pe + 6)
    optsize, = struct.unpack_from("<H", data, pe + 20)
    table = pe + 24 + optsize
    for i in range(nsect):
        s = table + 40 * i
        sname = data[s:s + 8].rstrip(b"\0").decode("ascii", "replace")
        vsize, _, rawsize, rawptr = struct.unpack_from("<IIII", data, s + 8)
        if sname == name:
            return data[rawptr:rawptr + min(vsize, rawsize)]
    raise PublishError(f"{path}: no {name} section (not a UKI?)")


def os_release(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2).strip().strip("\"'")
    return out


def sha256(path, opener=open):
    h = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sums(path):
    sums = {}
    if not os.path.exists(path):
        return sums
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^([0-9a-f]{64}) [ *](.+)$", line.rstrip("\n"))
            if not m:
                raise PublishError(f"{path}:{n}: not a sha256sum line")
            sums[m.group(2)] = m.group(1)
    return sums


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(dest_dir, name, produce):
    """produce(file) writes the contents; renamed to DEST_DIR/NAME once fsync'd."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            produce(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, os.path.join(dest_dir, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def artifacts(build):
    """[(source path, part name or 'efi')] of the build: the UKI and the slot's partitions."""
    out = [(os.path.join(build, "image.efi"), "efi")]
    names = os.listdir(build)
    for part in PARTS:
        found = [n for n in names if re.fullmatch(rf"image\.{re.escape(part)}\.[0-9a-f-]{{32,36}}\.raw", n)]
        if len(found) != 1:
            raise PublishError(
                f"{build}: expected one image.{part}.<uuid>.raw, found {len(found)} "
                "(SplitArtifacts=partitions, recipes/kvm-host/mkosi.repart/)")
        out.append((os.path.join(build, found[0]), part))
    if not os.path.isfile(out[0][0]):
        raise PublishError(f"{out[0][0]}: missing (SplitArtifacts=uki)")
    return out


def identity(build, uki):
    rel = os_release(pe_section(uki, ".osrel").decode("utf-8", "replace"))
    image_id, version = rel.get("IMAGE_ID", ""), rel.get("IMAGE_VERSION", "")
    if not IMAGE_ID.match(image_id):
        raise PublishError(f"{uki}: its os-release has no usable IMAGE_ID ({image_id!r})")
    if not VERSION.match(version):
        raise PublishError(f"{uki}: IMAGE_VERSION {version!r} is not digits and dots")
    manifest = os.path.join(build, "image.manifest")
    if os.path.exists(manifest):
        with open(manifest) as f:
            config = json.load(f).get("config", {})
        if config.get("version") not in (None, version) or config.get("name") not in (None, image_id):
            raise PublishError(
                f"{manifest} says {config.get('name')} {config.get('version')}, but {uki} is "
                f"{image_id} {version}: the build directory is mixed")
    return image_id, version


def check_build_sums(build, files):
    sums = read_sums(os.path.join(build, "SHA256SUMS"))
    for path in files:
        name = os.path.basename(path)
        if name not in sums:
            raise PublishError(f"{build}/SHA256SUMS does not list {name}")
        if sha256(path) != sums[name]:
            raise PublishError(f"{path} does not match {build}/SHA256SUMS (changed after the build)")
        yield name, sums[name]


def update_key():
    out = subprocess.run([os.path.join(HERE, "update-key.sh")], capture_output=True, text=True)
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        raise PublishError("image/update-key.sh failed: " + out.stderr.strip())
    return lines[0], lines[1]


def sign(dest, sums_text, home, pubring):
    key = os.environ.get("GPUHOST_UPDATE_KEY")
    with tempfile.TemporaryDirectory(prefix=".sign.", dir=dest) as tmp:
        listing = os.path.join(tmp, "SHA256SUMS")
        with open(listing, "w") as f:
            f.write(sums_text)
        sig = os.path.join(tmp, "SHA256SUMS.gpg")
        cmd = ["gpg", "--homedir", home, "--batch", "--yes", "--detach-sign", "--output", sig]
        if key:
            cmd += ["--local-user", key]
        r = subprocess.run(cmd + [listing], capture_output=True, text=True)
        if r.returncode != 0:
            raise PublishError(f"gpg could not sign with {home}: {r.stderr.strip()}")
        # What systemd-pull does on the node, with the keyring the image carries.
        r = subprocess.run(["gpgv", "--keyring", os.path.abspath(pubring), sig, listing],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PublishError(f"the signature does not verify against {pubring}: {r.stderr.strip()}")
        with open(sig, "rb") as f:
            signature = f.read()
    return signature


def publish(build, dest, xz, home, pubring, out=sys.stdout):
    arts = artifacts(build)
    image_id, version = identity(build, arts[0][0])
    checked = dict(check_build_sums(build, [p for p, _ in arts]))
    os.makedirs(dest, exist_ok=True)
    old_sums = read_sums(os.path.join(dest, "SHA256SUMS"))
    new = {}
    sent = 0
    for path, part in arts:
        base = os.path.basename(path)
        if part == "efi":
            name = f"{image_id}_{version}.efi"
        else:
            name = f"{image_id}_{version}.{base[len('image.'):]}" + (".xz" if xz else "")
        target = os.path.join(dest, name)
        # Any other form of this file (.raw vs .raw.xz) would be a second candidate for the
        # same version; a version's file that exists must hold the same bytes.
        for other in (target[:-3] if xz else target + ".xz",) if part != "efi" else ():
            if os.path.exists(other):
                raise PublishError(f"{other} exists: {version} was published "
                                   f"{'uncompressed' if xz else 'with --xz'} before")
        existed = os.path.exists(target)
        if existed:
            have = sha256(target, lzma.open if name.endswith(".xz") else open)
            if have != checked[base]:
                raise PublishError(
                    f"{target} exists with other contents: a published version never changes "
                    "(nodes may hold half of it); build a new version")
            print(f"publish: {name}: already there", file=out)
        elif name.endswith(".xz"):  # the partitions; the UKI is already compressed inside
            def produce(f, path=path):
                # Threads: xz -T0 is several times faster on the mostly-empty 2 GiB slot.
                r = subprocess.run(["xz", "-T0", "-6", "-c", path], stdout=f, stderr=subprocess.PIPE)
                if r.returncode != 0:
                    raise PublishError(f"xz {path}: {r.stderr.decode(errors='replace').strip()}")
            write_atomic(dest, name, produce)
        else:
            def produce(f, path=path):
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, f, 1 << 20)
            write_atomic(dest, name, produce)
        size = os.path.getsize(target)
        sent += size
        if not name.endswith(".xz"):
            new[name] = checked[base]  # the build's bytes, checked above
        elif name in old_sums and existed:
            new[name] = old_sums[name]
        else:
            new[name] = sha256(target)
        print(f"publish: {name} {size} bytes", file=out)
    # The listing: every published file in DEST, earlier versions' lines kept.
    listing = {}
    for name in sorted(os.listdir(dest)):
        if not PUBLISHED.match(name) or not os.path.isfile(os.path.join(dest, name)):
            continue
        if name in new:
            listing[name] = new[name]
        elif name in old_sums:
            listing[name] = old_sums[name]
        else:
            listing[name] = sha256(os.path.join(dest, name))
    text = "".join(f"{h}  {n}\n" for n, h in listing.items())
    signature = sign(dest, text, home, pubring)
    # The signature first, then the list: a node that reads in between sees an old list with a
    # new signature, fails to verify and tries again later; it never installs an unsigned file.
    write_atomic(dest, "SHA256SUMS.gpg", lambda f: f.write(signature))
    write_atomic(dest, "SHA256SUMS", lambda f: f.write(text.encode()))
    fsync_dir(dest)
    raw = os.path.join(build, "image.raw")
    full = os.path.getsize(raw) if os.path.exists(raw) else 0
    print(f"publish: {image_id} {version} in {dest}: a node downloads {sent} bytes "
          f"({sent / 1e6:.1f} MB) for it; the full disk image is {full / 1e6:.1f} MB "
          f"(apparent size); SHA256SUMS lists {len(listing)} files, signed", file=out)
    return image_id, version, sent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="the build's output directory (build/kvm-host)")
    ap.add_argument("--dest", required=True, help="the update directory a web server serves")
    ap.add_argument("--xz", action="store_true", help="publish the partitions as .raw.xz")
    a = ap.parse_args()
    home = None
    try:
        home, pubring = update_key()
        publish(a.build, a.dest, a.xz, home, pubring)
    except (PublishError, OSError) as e:
        print(f"publish: {e}", file=sys.stderr)
        return 1
    finally:
        if home:  # the gpg-agent signing started; not left running
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
