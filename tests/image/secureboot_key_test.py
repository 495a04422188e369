#!/usr/bin/env python3
"""image/secureboot-key.sh: the Secure Boot key pair every image build signs with (issue 15).
Made once and then reused; the operator's pair taken as given; a half-given pair, a key that
is not the certificate's and a file that is no certificate refused, naming the files. The pair
signing real images is exercised by every `make image` and checked under Secure Boot by
`make qa`. Run by ctest (tests/CMakeLists.txt)."""
import os
import subprocess
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "image", "secureboot-key.sh")


def run(env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SECUREBOOT_", "GPUHOST_SECUREBOOT"))}
    e.update(env)
    return subprocess.run(["bash", TOOL], capture_output=True, text=True, env=e)


def make_pair(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}/", "-keyout", key, "-out", crt], check=True, capture_output=True)
    return key, crt


class SecureBootKeyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_made_once_private_and_reused(self):
        sb = os.path.join(self.d, "secureboot")
        r = run({"GPUHOST_SECUREBOOT_DIR": sb})
        self.assertEqual(r.returncode, 0, r.stderr)
        key, crt = r.stdout.split()
        self.assertEqual((key, crt), (os.path.join(sb, "db.key"), os.path.join(sb, "db.crt")))
        self.assertIn("made a new key pair", r.stderr)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(sb).st_mode & 0o777, 0o700)
        subj = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject"], capture_output=True, text=True).stdout
        self.assertIn("gpuhost image db", subj)
        before = open(key).read()
        r2 = run({"GPUHOST_SECUREBOOT_DIR": sb})
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertNotIn("made a new key pair", r2.stderr)
        self.assertEqual(open(key).read(), before, "the pair is made once")
        self.assertEqual([f for f in os.listdir(sb) if f.startswith(".")], [], "no temp files left")

    def test_operator_pair_is_used_as_given(self):
        key, crt = make_pair(self.d, "operator")
        r = run({"SECUREBOOT_KEY": key, "SECUREBOOT_CERT": crt, "GPUHOST_SECUREBOOT_DIR": os.path.join(self.d, "unused")})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [key, crt])
        self.assertFalse(os.path.exists(os.path.join(self.d, "unused")), "nothing generated")

    def test_half_a_pair_is_refused(self):
        key, _ = make_pair(self.d, "operator")
        r = run({"SECUREBOOT_KEY": key})
        self.assertEqual(r.returncode, 1)
        self.assertIn("set both SECUREBOOT_KEY and SECUREBOOT_CERT", r.stderr)

    def test_key_of_another_certificate_is_refused(self):
        key, _ = make_pair(self.d, "one")
        _, crt = make_pair(self.d, "two")
        r = run({"SECUREBOOT_KEY": key, "SECUREBOOT_CERT": crt})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{key} is not the private key of {crt}", r.stderr)
        self.assertEqual(r.stdout, "", "no paths printed for a bad pair")

    def test_not_a_certificate_is_refused(self):
        key, _ = make_pair(self.d, "one")
        junk = os.path.join(self.d, "junk.crt")
        open(junk, "w").write("not a certificate\n")
        r = run({"SECUREBOOT_KEY": key, "SECUREBOOT_CERT": junk})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{junk} is not a PEM X.509 certificate", r.stderr)


if __name__ == "__main__":
    unittest.main()
