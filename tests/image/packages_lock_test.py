#!/usr/bin/env python3
"""image/packages-lock.py: the lock is a record (builds follow the mirror), strict only on request.
Run by ctest (tests/CMakeLists.txt); the real-build proof is image/repro-check.sh's stale lock."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "image", "packages-lock.py")


def manifest(path, pkgs):
    with open(path, "w") as f:
        json.dump({"config": {"name": "t", "distribution": "debian", "release": "trixie",
                              "architecture": "x86-64"},
                   "packages": [{"type": "deb", "name": n, "version": v, "architecture": a}
                                for n, v, a in pkgs]}, f)


def run(*args):
    p = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class PackagesLockTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()
        self.m = os.path.join(self.d, "image.manifest")
        self.lock = os.path.join(self.d, "packages.lock")
        self.out = os.path.join(self.d, "packages.moved")
        manifest(self.m, [("base-files", "13.8+deb13u9", "amd64"), ("libzstd1", "1.5.7+dfsg-1", "amd64")])

    def write_lock(self, text):
        with open(self.lock, "w") as f:
            f.write(text)

    def test_write_then_compare_is_clean(self):
        self.assertEqual(run("write", self.m, self.lock)[0], 0)
        rc, out, _ = run("compare", self.m, self.lock, "--out", self.out, "--strict")
        self.assertEqual(rc, 0)
        self.assertIn("2 packages, as recorded", out)

    def test_moved_version_is_reported_not_fatal(self):
        self.write_lock("# header\nbase-files 0~gone amd64\nlibzstd1 1.5.7+dfsg-1 amd64\n")
        rc, out, _ = run("compare", self.m, self.lock, "--out", self.out)
        self.assertEqual(rc, 0)
        self.assertIn("1 moved, 0 added, 0 removed", out)
        self.assertIn("base-files: 0~gone -> 13.8+deb13u9", out)
        self.assertIn("base-files: 0~gone -> 13.8+deb13u9\n", open(self.out).read())

    def test_strict_fails_on_any_difference(self):
        self.write_lock("base-files 0~gone amd64\nlibzstd1 1.5.7+dfsg-1 amd64\n")
        rc, out, err = run("compare", self.m, self.lock, "--strict")
        self.assertEqual(rc, 1)
        self.assertIn("strict", err)

    def test_added_and_removed(self):
        self.write_lock("base-files 13.8+deb13u9 amd64\npasswd 1:4.17.4-2 amd64\n")
        rc, out, _ = run("compare", self.m, self.lock, "--out", self.out)
        self.assertEqual(rc, 0)
        self.assertIn("0 moved, 1 added, 1 removed", out)
        text = open(self.out).read()
        self.assertIn("+libzstd1 1.5.7+dfsg-1 amd64", text)
        self.assertIn("-passwd 1:4.17.4-2 amd64", text)

    def test_missing_lock_is_said_not_fatal_unless_strict(self):
        rc, _, err = run("compare", self.m, self.lock)
        self.assertEqual(rc, 0)
        self.assertIn("no lock at", err)
        self.assertEqual(run("compare", self.m, self.lock, "--strict")[0], 1)

    def test_malformed_lock_names_file_and_line(self):
        self.write_lock("# header\nbase-files 13.8+deb13u9\n")
        rc, _, err = run("compare", self.m, self.lock)
        self.assertEqual(rc, 2)
        self.assertIn(f"{self.lock}:2:", err)

    def test_unreadable_manifest(self):
        with open(self.m, "w") as f:
            f.write("{not json")
        rc, _, err = run("compare", self.m, self.lock)
        self.assertEqual(rc, 2)
        self.assertIn("cannot read the package list", err)

    def test_many_moves_are_cut_to_a_few_lines(self):
        pkgs = [(f"p{i:02d}", "2", "amd64") for i in range(20)]
        manifest(self.m, pkgs)
        self.write_lock("".join(f"p{i:02d} 1 amd64\n" for i in range(20)))
        rc, out, _ = run("compare", self.m, self.lock, "--out", self.out)
        self.assertEqual(rc, 0)
        self.assertIn("... and 12 more", out)
        self.assertEqual(len(open(self.out).read().splitlines()), 21)


if __name__ == "__main__":
    unittest.main()
