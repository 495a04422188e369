#!/usr/bin/env python3
"""Hardening report: kernel-hardening-checker on booted images, judged against a waiver list.

  qa/hardening.py --tool CMD --waivers FILE --judge NAME NAME=KCONFIG,PROBE [NAME=KCONFIG,PROBE ...]

For each image NAME: KCONFIG is its kernel build config (build/<recipe>/image.kconfig, saved by
image/scripts/kernel-config.postinst), PROBE a qa/probe.sh report from a boot of it (its
"cmdline:" line is /proc/cmdline, its sysctl-all section is `sysctl -a`). CMD runs
kernel-hardening-checker (qa/hardening-tool.sh prints it). Prints OK/FAIL counts per check type
(kconfig, cmdline, sysctl) side by side, then judges image --judge: every FAIL must be listed in
the waiver file with a reason, else exit 1 naming each unwaived FAIL. A waiver whose check now
passes is reported (to be removed), not fatal: a kernel update that fixes an option must not
break the build.

Waiver file: "reason KEY: TEXT" lines define reasons; "TYPE OPTION KEY" lines waive one check;
"#" starts a comment. docs/hardening.md explains the choices.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

from probe_report import parse_block

TYPES = ("kconfig", "cmdline", "sysctl")


def parse_probe(path):
    """(keys, sections) of a qa/probe.sh report (qa/probe_report.py)."""
    with open(path, errors="replace") as f:
        keys, sections = parse_block(f.read())
    if keys is None:
        sys.exit(f"hardening: {path}: no complete probe report (GPUHOST-QA-BEGIN ... END)")
    return keys, sections


def parse_waivers(path):
    reasons, waivers = {}, {}
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("reason "):
                key, sep, text = line[len("reason "):].partition(":")
                if not sep or not text.strip():
                    sys.exit(f"hardening: {path}:{n}: expected 'reason KEY: TEXT'")
                reasons[key.strip()] = text.strip()
                continue
            parts = line.split()
            if len(parts) != 3 or parts[0] not in TYPES:
                sys.exit(f"hardening: {path}:{n}: expected 'TYPE OPTION REASON-KEY' with TYPE one of {TYPES}")
            waivers[(parts[0], parts[1])] = (parts[2], n)
    for (t, o), (key, n) in waivers.items():
        if key not in reasons:
            sys.exit(f"hardening: {path}:{n}: reason '{key}' of {t} {o} is not defined")
    return reasons, waivers


def run_checker(tool, name, kconfig, probe, workdir):
    for p in (kconfig, probe):
        if not os.path.isfile(p):
            sys.exit(f"hardening: {name}: {p} does not exist")
    keys, sections = parse_probe(probe)
    if "cmdline" not in keys or "sysctl-all" not in sections:
        sys.exit(f"hardening: {name}: {probe} lacks the cmdline line or the sysctl-all section")
    cmdline = os.path.join(workdir, f"{name}.cmdline")
    sysctl = os.path.join(workdir, f"{name}.sysctl")
    with open(cmdline, "w") as f:
        f.write(keys["cmdline"] + "\n")
    with open(sysctl, "w") as f:  # qa/probe.sh reports paths under /proc/sys; sysctl -a's keys
        for line in sections["sysctl-all"].split("\n"):
            if line.startswith("/proc/sys/"):
                path, _, value = line.partition(":")
                line = path[len("/proc/sys/"):].replace("/", ".") + " = " + value
            if " = " in line:  # the checker refuses anything else
                f.write(line + "\n")
    cmd = shlex.split(tool) + ["-c", kconfig, "-l", cmdline, "-s", sysctl, "-m", "json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"hardening: {name}: kernel-hardening-checker exited {r.returncode}: {r.stderr.strip()}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        sys.exit(f"hardening: {name}: kernel-hardening-checker output is not JSON ({e}): {r.stdout[:200]}")


def counts(results):
    c = {t: [0, 0] for t in TYPES}
    for r in results:
        t = r["type"] if r["type"] in TYPES else "kconfig"
        c[t][0 if r["check_result_bool"] else 1] += 1
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--waivers", required=True)
    ap.add_argument("--judge", required=True)
    ap.add_argument("images", nargs="+", metavar="NAME=KCONFIG,PROBE")
    a = ap.parse_args()
    reasons, waivers = parse_waivers(a.waivers)

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in a.images:
            name, sep, paths = spec.partition("=")
            kconfig, sep2, probe = paths.partition(",")
            if not sep or not sep2:
                sys.exit(f"hardening: '{spec}': expected NAME=KCONFIG,PROBE")
            results[name] = run_checker(a.tool, name, kconfig, probe, tmp)
    if a.judge not in results:
        sys.exit(f"hardening: --judge {a.judge} is not one of the images given")

    names = list(results)
    table = {n: counts(results[n]) for n in names}
    width = max(19, *(len(n) for n in names))
    print("hardening: kernel-hardening-checker OK/FAIL  " + "  ".join(f"{n:>{width}}" for n in names))
    for t in TYPES + ("total",):
        cells = []
        for n in names:
            ok = sum(v[0] for v in table[n].values()) if t == "total" else table[n][t][0]
            fail = sum(v[1] for v in table[n].values()) if t == "total" else table[n][t][1]
            cells.append(f"{f'{ok} OK / {fail} FAIL':>{width}}")
        print(f"hardening:   {t:<31}" + "  ".join(cells))

    unwaived, used = [], set()
    by_reason = {}
    for r in results[a.judge]:
        if r["check_result_bool"]:
            continue
        key = (r["type"], r["option_name"])
        if key in waivers:
            used.add(key)
            by_reason[waivers[key][0]] = by_reason.get(waivers[key][0], 0) + 1
        else:
            unwaived.append(r)
    for key, n in sorted(by_reason.items()):
        print(f"hardening: {a.judge}: {n} FAIL waived as '{key}': {reasons[key]}")
    for (t, o), (key, n) in sorted(waivers.items(), key=lambda kv: kv[1][1]):
        if (t, o) not in used:
            print(f"hardening: {a.judge}: waiver {a.waivers}:{n} ({t} {o}) no longer needed: remove it")
    for r in unwaived:
        print(f"hardening: {a.judge}: FAIL not waived: {r['type']} {r['option_name']} "
              f"(wanted {r['desired_val']!r}, {r['check_result']}; {r['decision']}/{r['reason']})")
    if unwaived:
        print(f"hardening: {a.judge}: {len(unwaived)} FAIL not in {a.waivers}: fix them or waive them with a reason")
        return 1
    print(f"hardening: {a.judge}: every FAIL is waived ({len(used)} waivers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
