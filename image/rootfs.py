"""Read files of a disk image's root file system without mounting it (qa's judges and
module_sign.py look at what the image ships).

  RootFs(image).cat(path)  -> bytes, or None when the path is missing
  RootFs(image).ls(path)   -> names in a directory, or None

The root partition is the first GPT partition whose name starts with "root" (the data partition;
its -verity and -verity-sig companions come after it). ext4 (the stock image) is read with
debugfs; erofs (kvm-host's verity root, issue 15) with dump.erofs from the trixie tools tree:
bookworm's erofs-utils 1.5 can neither read at an offset nor print a file. The tools tree's
binary runs through its own dynamic loader and libraries, so no chroot and no mount is needed.
"""
import os
import re
import struct
import subprocess

from report import EROFS_MAGIC, gpt_partitions, root_partition

HERE = os.path.dirname(os.path.abspath(__file__))


def _fs_type(image, offset):
    with open(image, "rb") as f:
        f.seek(offset + 1024)
        sb = f.read(1024)
    if len(sb) == 1024 and struct.unpack_from("<I", sb, 0)[0] == EROFS_MAGIC:
        return "erofs"
    if len(sb) == 1024 and struct.unpack_from("<H", sb, 56)[0] == 0xEF53:
        return "ext4"
    return None


def _tools_tree():
    r = subprocess.run([os.path.join(HERE, "tools-tree.sh")], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"image/tools-tree.sh failed: {r.stderr.strip()[-300:]}")
    return r.stdout.strip().splitlines()[-1]


class RootFs:
    def __init__(self, image):
        root = root_partition(gpt_partitions(image))
        if not root:
            raise ValueError(f"no root partition in {image}")
        self.image, self.offset = image, root[1]
        self.fs = _fs_type(image, self.offset)
        if self.fs is None:
            raise ValueError(f"{image}: root partition at {self.offset} is neither ext4 nor erofs")
        if self.fs == "erofs":
            tree = _tools_tree()
            self._erofs = [os.path.join(tree, "usr/lib64/ld-linux-x86-64.so.2"), "--library-path",
                           os.path.join(tree, "usr/lib/x86_64-linux-gnu"),
                           os.path.join(tree, "usr/bin/dump.erofs"), f"--offset={self.offset}"]

    def _debugfs(self, request):
        r = subprocess.run(["debugfs", "-R", request, f"{self.image}?offset={self.offset}"],
                           capture_output=True)
        return r.stdout, r.stderr.decode(errors="replace")

    def cat(self, path):
        if self.fs == "ext4":
            out, err = self._debugfs(f"cat {path}")
            return None if "File not found" in err else out
        r = subprocess.run(self._erofs + ["--cat", f"--path={path}", self.image], capture_output=True)
        # dump.erofs 1.8 exits 0 for a missing path and says "<E> ... read inode failed".
        return None if r.returncode != 0 or b"<E>" in r.stderr else r.stdout

    def ls(self, path):
        if self.fs == "ext4":
            out, err = self._debugfs(f"ls -l {path}")
            if "File not found" in err:
                return None
            # "  12345  100644 (1)      0      0    4096 1-Jan-2026 00:00 name"
            return [m for m in re.findall(r"\s(\S+)\s*$", out.decode(errors="replace"), re.M)
                    if m not in (".", "..")]
        r = subprocess.run(self._erofs + ["--ls", f"--path={path}", self.image], capture_output=True,
                           text=True)
        if r.returncode != 0 or "<E>" in r.stderr:
            return None
        # after the inode header: "       NID TYPE  FILENAME" then one "nid type name" per entry
        rows = r.stdout.split("FILENAME", 1)[1] if "FILENAME" in r.stdout else ""
        return [m for m in re.findall(r"^\s*\d+\s+\d+\s+(\S+)\s*$", rows, re.M) if m not in (".", "..")]
