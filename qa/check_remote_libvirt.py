#!/usr/bin/env python3
"""Judges remote libvirt on one qa/boot-test.sh boot: qa/check_remote_libvirt.py SCENARIO DIR

first   no gpuhost.libvirt-tls-* credentials: remote libvirt off. /api/v1/status's
        machine.remote_libvirt says not configured and not listening, /metrics says 0 for both,
        the page says "off".
second  the same disk booted with the demo's libvirt credentials (image/demo-page.sh
        --libvirt-smbios) and the guest's 16514 forwarded: configured and listening as the node's
        certificate, the allowed-DN list is the demo manager's; from the host, virsh over
        qemu+tls with the manager's certificate lists gpuhost-qa-vm (the VM qa/libvirt_vm.py
        defined), and with the intruder's (same CA, not on the list) is refused.
DIR holds http/ (api_v1_status.body, metrics.body, page.body) and, for "second",
remote-libvirt/{manager,intruder}.{out,rc} (what virsh printed and its exit status).
Prints one line per check ("ok"/"FAIL", what was found); exits 1 when any failed.
"""
import json
import os
import sys

scenario, bootdir = sys.argv[1], sys.argv[2]
failed = 0


def check(name, ok, found):
    global failed
    print(f"  {'ok' if ok else 'FAIL'}  remote-libvirt: {name}: {found}")
    failed += 0 if ok else 1


def read(*parts):
    try:
        with open(os.path.join(bootdir, *parts), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


try:
    api = json.loads(read("http", "api_v1_status.body"))
    rl = api["machine"]["remote_libvirt"]
except (ValueError, KeyError, TypeError) as e:
    check("/api/v1/status has machine.remote_libvirt", False, repr(e))
    sys.exit(1)
metrics = read("http", "metrics.body")
page = read("http", "page.body")
want_on = scenario == "second"
check("API configured", rl.get("configured") is want_on, rl.get("configured"))
check("API listening", rl.get("listening") is want_on, rl.get("listening"))
check("API error empty", rl.get("error") == "", rl.get("error"))
n = "1" if want_on else "0"
for m in ("gpuhost_remote_libvirt_configured", "gpuhost_remote_libvirt_listening"):
    check(f"/metrics {m} {n}", f"\n{m} {n}\n" in "\n" + metrics, m)
if not want_on:
    check("page says off", "Remote libvirt</dt><dd>off (no gpuhost.libvirt-tls-" in page,
          "Remote libvirt row")
else:
    check("API port 16514", rl.get("port") == 16514, rl.get("port"))
    check("API server subject", rl.get("server_subject") == "CN=gpuhost-demo-node,O=gpuhost",
          rl.get("server_subject"))
    check("API allowed DN list", rl.get("allowed_dn") == ["CN=gpuhost-demo-manager"],
          rl.get("allowed_dn"))
    check("page says on", "Remote libvirt</dt><dd>on: qemu+tls, port 16514" in page,
          "Remote libvirt row")
    out, rc = read("remote-libvirt", "manager.out"), read("remote-libvirt", "manager.rc").strip()
    check("virsh qemu+tls as the allowed manager lists gpuhost-qa-vm",
          rc == "0" and "gpuhost-qa-vm" in out.split(), f"rc {rc}: {out.strip()[:200]}")
    out, rc = read("remote-libvirt", "intruder.out"), read("remote-libvirt", "intruder.rc").strip()
    check("virsh qemu+tls as a certificate not on the list is refused",
          rc not in ("", "0") and "gpuhost-qa-vm" not in out, f"rc {rc}: {out.strip()[:200]}")
sys.exit(1 if failed else 0)
