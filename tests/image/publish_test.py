#!/usr/bin/env python3
"""image/publish.py and image/update-key.sh: one build's update artifacts into an update
directory under the names systemd-sysupdate's transfers match, SHA256SUMS over every version
and its signature verified with gpgv against the keyring the image carries (what systemd-pull
does on a node). A published version never changes; a build file changed after the build, a
UKI without a version, a mixed build directory are refused, leaving the directory as it was.
The real thing (a node updating from such a directory) is `make qa-update`. Run by ctest."""
import hashlib
import lzma
import os
import struct
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PUBLISH = os.path.join(ROOT, "image", "publish.py")
UUIDS = ("0b1e4a591d7c4a529b430c6d3b1f6a01", "4c9d2e11-55aa-4e0b-8f1d-2a3b4c5d6e02",
         "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b03")


def pe(sections):
    """A minimal PE file with the given (name, bytes) sections: what publish reads of a UKI."""
    coff = struct.pack("<HHIIIHH", 0x8664, len(sections), 0, 0, 0, 0, 0x22)
    head = bytearray(b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40))
    head += b"PE\0\0" + coff
    table_end = len(head) + 40 * len(sections)
    body = bytearray()
    table = bytearray()
    for name, data in sections:
        ptr = table_end + len(body)
        table += name.encode().ljust(8, b"\0") + struct.pack("<IIIIIIHHI", len(data), 0, len(data), ptr,
                                                             0, 0, 0, 0, 0x40000040)
        body += data
    return bytes(head + table + body)


def make_build(d, version, image_id="gpuhost-kvm-host", seed=b"", osrel=None):
    os.makedirs(d, exist_ok=True)
    rel = osrel if osrel is not None else f'ID=debian\nIMAGE_ID={image_id}\nIMAGE_VERSION="{version}"\n'
    files = {"image.efi": pe([(".osrel", rel.encode()), (".linux", b"kernel" + seed)])}
    for part, u in zip(("root-x86-64", "root-x86-64-verity", "root-x86-64-verity-sig"), UUIDS):
        files[f"image.{part}.{u}.raw"] = (part.encode() + seed) * 1000 + b"\0" * 65536
    files["image.raw"] = b"disk" * 1000
    files["image.manifest"] = ('{"config": {"name": "%s", "version": "%s"}}' % (image_id, version)).encode()
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "SHA256SUMS"), "w") as f:
        for name, data in sorted(files.items()):
            f.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    return d


class PublishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = tempfile.TemporaryDirectory(prefix="gh-upd-")  # short: gpg-agent's socket path
        cls.env = dict(os.environ, GPUHOST_UPDATE_KEY_DIR=os.path.join(cls.keys.name, "k"))
        cls.env.pop("GPUHOST_UPDATE_GNUPGHOME", None)

    @classmethod
    def tearDownClass(cls):
        cls.keys.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.dest = os.path.join(self.d, "srv")

    def tearDown(self):
        self.tmp.cleanup()

    def publish(self, build, *extra):
        return subprocess.run(["python3", PUBLISH, "--build", build, "--dest", self.dest, *extra],
                              capture_output=True, text=True, env=self.env)

    def pubring(self):
        return os.path.join(self.env["GPUHOST_UPDATE_KEY_DIR"], "import-pubring.gpg")

    def assert_signed(self):
        sums, sig = os.path.join(self.dest, "SHA256SUMS"), os.path.join(self.dest, "SHA256SUMS.gpg")
        r = subprocess.run(["gpgv", "--keyring", self.pubring(), sig, sums], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=self.dest,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(sums) as f:
            return [line.split()[1] for line in f]

    def listing(self):
        return sorted(n for n in os.listdir(self.dest) if not n.startswith("."))

    def test_versions_named_for_sysupdate_and_signed(self):
        r = self.publish(make_build(os.path.join(self.d, "b1"), "20261201.1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("a node downloads", r.stdout)
        names = self.assert_signed()
        self.assertEqual(sorted(names), sorted([
            "gpuhost-kvm-host_20261201.1.efi",
            f"gpuhost-kvm-host_20261201.1.root-x86-64.{UUIDS[0]}.raw",
            f"gpuhost-kvm-host_20261201.1.root-x86-64-verity.{UUIDS[1]}.raw",
            f"gpuhost-kvm-host_20261201.1.root-x86-64-verity-sig.{UUIDS[2]}.raw"]))
        # The public keyring is a plain OpenPGP keyring with one key (what the image carries).
        r = subprocess.run(["gpg", "--homedir", self.d, "--no-default-keyring", "--keyring", self.pubring(),
                            "--with-colons", "--list-keys"], capture_output=True, text=True)
        self.assertEqual([line for line in r.stdout.splitlines() if line.startswith("pub:")].__len__(), 1,
                         r.stdout + r.stderr)
        # A second version lands beside the first; the list covers both, signed again.
        r = self.publish(make_build(os.path.join(self.d, "b2"), "20261201.2", seed=b"2"))
        self.assertEqual(r.returncode, 0, r.stderr)
        names = self.assert_signed()
        self.assertEqual(len(names), 8)
        self.assertEqual(len([n for n in names if "_20261201.2." in n]), 4)
        self.assertEqual(self.listing(), sorted(names + ["SHA256SUMS", "SHA256SUMS.gpg"]))

    def test_published_version_never_changes(self):
        b = make_build(os.path.join(self.d, "b1"), "7")
        self.assertEqual(self.publish(b).returncode, 0)
        before = {n: open(os.path.join(self.dest, n), "rb").read() for n in self.listing()}
        r = self.publish(b)  # the same build again: nothing to do
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("already there", r.stdout)
        other = make_build(os.path.join(self.d, "other"), "7", seed=b"x")
        r = self.publish(other)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists with other contents", r.stderr)
        self.assertIn("gpuhost-kvm-host_7.efi", r.stderr)
        after = {n: open(os.path.join(self.dest, n), "rb").read() for n in self.listing()}
        self.assertEqual(set(before), set(after))
        self.assertEqual(before["SHA256SUMS"], after["SHA256SUMS"])
        self.assert_signed()

    def test_xz(self):
        b = make_build(os.path.join(self.d, "b1"), "3")
        r = self.publish(b, "--xz")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = self.assert_signed()
        raw = [n for n in names if n.endswith(".raw.xz")]
        self.assertEqual(len(raw), 3)
        self.assertIn("gpuhost-kvm-host_3.efi", names)
        with lzma.open(os.path.join(self.dest, f"gpuhost-kvm-host_3.root-x86-64.{UUIDS[0]}.raw.xz")) as f:
            with open(os.path.join(b, f"image.root-x86-64.{UUIDS[0]}.raw"), "rb") as g:
                self.assertEqual(f.read(), g.read())
        self.assertEqual(self.publish(b, "--xz").returncode, 0)  # the same again: fine
        r = self.publish(b)  # the same version uncompressed: a second candidate, refused
        self.assertEqual(r.returncode, 1)
        self.assertIn("with --xz before", r.stderr)

    def test_bad_builds_refused_naming_the_file(self):
        b = make_build(os.path.join(self.d, "b1"), "4")
        part = os.path.join(b, f"image.root-x86-64.{UUIDS[0]}.raw")
        with open(part, "ab") as f:
            f.write(b"tampered")
        r = self.publish(b)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{part} does not match", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dest, "SHA256SUMS")))

        b = make_build(os.path.join(self.d, "b2"), "5", osrel="ID=debian\nIMAGE_ID=gpuhost-kvm-host\n")
        r = self.publish(b)
        self.assertEqual(r.returncode, 1)
        self.assertIn("image.efi: IMAGE_VERSION '' is not digits and dots", r.stderr)

        b = make_build(os.path.join(self.d, "b3"), "6")
        with open(os.path.join(b, "image.manifest"), "w") as f:
            f.write('{"config": {"name": "gpuhost-kvm-host", "version": "5"}}')
        r = self.publish(b)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the build directory is mixed", r.stderr)

        b = make_build(os.path.join(self.d, "b4"), "8")
        os.unlink(os.path.join(b, f"image.root-x86-64-verity-sig.{UUIDS[2]}.raw"))
        r = self.publish(b)
        self.assertEqual(r.returncode, 1)
        self.assertIn("expected one image.root-x86-64-verity-sig.<uuid>.raw, found 0", r.stderr)
        self.assertFalse(os.path.exists(self.dest) and self.listing())

    def test_operator_key_home(self):
        # GPUHOST_UPDATE_GNUPGHOME: the operator's own key signs; its public half is exported.
        subprocess.run(["bash", os.path.join(ROOT, "image", "update-key.sh")], check=True, capture_output=True,
                       env=self.env)  # the development key too, to show it does not verify
        home = os.path.join(self.keys.name, "op")
        os.makedirs(home, mode=0o700)
        subprocess.run(["gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                        "--quick-generate-key", "operator <ops@example.org>", "ed25519", "sign", "never"],
                       check=True, capture_output=True)
        env = dict(self.env, GPUHOST_UPDATE_GNUPGHOME=home,
                   GPUHOST_UPDATE_KEY_DIR=os.path.join(self.d, "opkeys"))
        r = subprocess.run(["python3", PUBLISH, "--build", make_build(os.path.join(self.d, "b"), "9"),
                            "--dest", self.dest], capture_output=True, text=True, env=env)
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["gpgv", "--keyring", os.path.join(self.d, "opkeys", "import-pubring.gpg"),
                            os.path.join(self.dest, "SHA256SUMS.gpg"), os.path.join(self.dest, "SHA256SUMS")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("operator", r.stderr)
        # The generated development key does not verify it.
        r = subprocess.run(["gpgv", "--keyring", self.pubring(), os.path.join(self.dest, "SHA256SUMS.gpg"),
                            os.path.join(self.dest, "SHA256SUMS")], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
