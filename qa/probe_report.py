"""Reads the reports qa/probe.sh writes from inside a guest.

A block runs from a "NAME-BEGIN" line to a "NAME-END" line (GPUHOST-QA for the main report).
Inside it: "key: value" lines, and multi-line sections from a "section-begin" line to a
"section-end" line. qa/check.py, qa/check_data_disk.py, qa/hardening.py and qa/libvirt_vm.py
read them through here.
"""
import re


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
