"""Reads the reports qa/probe.sh writes from inside a guest.

A block runs from a "NAME-BEGIN" line to a "NAME-END" line (GPUHOST-QA for the main report).
Inside it: "key: value" lines, and multi-line sections from a "section-begin" line to a
"section-end" line. qa/check.py, qa/check_data_disk.py, qa/check_trusted_boot.py, qa/hardening.py
and qa/libvirt_vm.py read them through here; read(), load_report(), Checks and cert_cn() are
the small judges' shared parts.
"""
import os
import re
import subprocess
import sys


def parse_block(text, name="GPUHOST-QA", multi=False):
    """(keys, sections) of block NAME in TEXT, or (None, None) when it is not complete.

    keys maps each key to its first value, or with multi=True to the list of all its values.
    """
    text = text.replace("\r", "")
    m = re.search(rf"^{re.escape(name)}-BEGIN\n(.*?)^{re.escape(name)}-END$", text, re.S | re.M)
    if not m:
        return None, None
    keys, sections, cur, buf = {}, {}, None, []
    for line in m.group(1).split("\n"):
        if cur is not None:
            if line == cur + "-end":
                sections[cur], cur, buf = "\n".join(buf), None, []
            else:
                buf.append(line)
        elif line.endswith("-begin") and ":" not in line:
            cur = line[: -len("-begin")]
        elif ": " in line:
            k, v = line.split(": ", 1)
            if multi:
                keys.setdefault(k, []).append(v)
            else:
                keys.setdefault(k, v)
    return keys, sections


def parse_pci(lines):
    """{address: {"address", "id", "class", "driver", "group", "override", ...}} from the
    report's "pci" lines (probe.sh's pci_functions: ADDRESS VENDOR:DEVICE key=value...)."""
    out = {}
    for line in lines:
        parts = line.split()
        f = {"address": parts[0], "id": parts[1]}
        for p in parts[2:]:
            k, _, v = p.partition("=")
            f[k] = v
        out[f["address"]] = f
    return out


def read(path):
    """PATH's text, or "" when it cannot be read (a boot that never wrote it)."""
    try:
        return open(path, errors="replace").read()
    except OSError:
        return ""


def load_report(boot_dir):
    """(keys, sections) of the main report in BOOT_DIR/probe.txt, keys with all their values;
    prints a FAIL line and exits 1 when the report is not complete."""
    keys, sections = parse_block(read(os.path.join(boot_dir, "probe.txt")), multi=True)
    if keys is None:
        print("  FAIL probe: no complete report")
        sys.exit(1)
    return keys, sections


class Checks:
    """One judge's verdicts: check() records, finish() prints them and a PASS/FAIL line for
    LABEL and exits 1 on any FAIL."""

    def __init__(self):
        self.results = []

    def check(self, name, ok, found):
        self.results.append(("ok" if ok else "FAIL", name, found))

    def finish(self, label):
        for status, name, found in self.results:
            print(f"  {status:4} {name}: {found}")
        bad = [r for r in self.results if r[0] == "FAIL"]
        print(f"  => {label}: {'PASS' if not bad else f'FAIL ({len(bad)} of {len(self.results)} checks)'}")
        sys.exit(1 if bad else 0)


def cert_cn(path):
    """The subject CN of the PEM certificate at PATH ("" when there is none), as openssl reads it."""
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-subject", "-nameopt", "multiline"],
                         capture_output=True, text=True).stdout
    return next((line.split("=", 1)[1].strip() for line in out.splitlines() if "commonName" in line), "")
