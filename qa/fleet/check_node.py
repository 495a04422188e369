#!/usr/bin/python3
"""Judges one fleet node of qa/fleet-test.sh from what the host fetched through its port forward.

  qa/fleet/check_node.py ROLE DIR UUID URL

DIR/http/ holds healthz, api_v1_status, metrics and page (.code and .body each). UUID is the
SMBIOS product UUID qemu gave the node, URL the policy URL the node must have fetched (the
fleet's template with that UUID). Every role: the agent read that UUID, its policy came from
the node's own file (`policy.source` "node", that URL, the template from the credential
gpuhost.policy-url that the PXE script put on the command line, the CA from gpuhost.policy-ca),
and the page answers. Then by ROLE:
  pass    the policy passes the second display through: result ok, /healthz 200, the display
          assigned to vfio and on vfio-pci (qa/check.py "pxe" judges the rest of this node)
  keep    the node's policy keeps it: result ok or degraded, /healthz 200, the display assigned
          to the host and not on vfio-pci, edu on vfio-pci
  broken  the fetched policy cannot fit the node (2 TiB of hugepages): result failed with the
          error naming the URL, /healthz 503 saying so, nothing bound to vfio-pci, and the page
          and API still answer (the node stays reachable)
Prints one line per check; exits 1 when any failed.
"""
import json
import os
import sys

role, bootdir, uuid, url = sys.argv[1:5]
failed = 0


def check(name, ok, found):
    global failed
    print(f"  {'ok' if ok else 'FAIL'}  fleet[{role}]: {name}: {found}")
    failed += 0 if ok else 1


def http(name):
    def read(ext):
        try:
            with open(os.path.join(bootdir, "http", f"{name}.{ext}"), errors="replace") as f:
                return f.read().strip() if ext == "code" else f.read()
        except OSError:
            return ""
    return read("code"), read("body")


code, body = http("api_v1_status")
try:
    api = json.loads(body)
except ValueError as e:
    check("/api/v1/status", False, f"HTTP {code}, not JSON: {e}")
    sys.exit(1)
check("/api/v1/status answers", code == "200", f"HTTP {code}")
ident = api.get("machine", {}).get("identity", {})
check("the agent read the SMBIOS UUID qemu gave this node", ident.get("product_uuid") == uuid,
      ident.get("product_uuid"))
pol = api.get("policy") or {}
check("policy from the node's own file over HTTPS",
      pol.get("source") == "node" and pol.get("url") == url,
      f"source {pol.get('source')}, url {pol.get('url')}, passed over {pol.get('skipped')}")
check("the URL template from the credential the PXE script set",
      pol.get("url_template_from") == "credential gpuhost.policy-url" and "{uuid}" in pol.get("url_template", ""),
      f"{pol.get('url_template')} ({pol.get('url_template_from')})")
check("the server checked against the CA credential", pol.get("ca_file", "").endswith("/gpuhost.policy-ca"),
      pol.get("ca_file"))
pcode, page = http("page")
check("the page answers", pcode == "200" and "gpuhost" in page, f"HTTP {pcode}, {len(page)} bytes")

run = api.get("run") or {}
result = run.get("result")
gpus = {g.get("address"): g for g in api.get("gpus", [])}
# The one GPU besides the boot VGA (the fleet nodes have no data-disk bridge): the second display.
others = [g for g in gpus.values() if not g.get("boot_vga")]
display = others[0] if len(others) == 1 else {}
hcode, hbody = http("healthz")
binds = [a for a in run.get("actions", []) if a.get("kind") == "bind-vfio"]
if role == "pass":
    check("result ok, /healthz 200", result == "ok" and hcode == "200", f"{result}, HTTP {hcode}")
    check("the second display on vfio-pci", display.get("assignment") == "vfio" and display.get("driver") == "vfio-pci",
          f"{display.get('address')}: {display.get('assignment')}, driver {display.get('driver')}")
elif role == "keep":
    check("result ok or degraded, /healthz 200", result in ("ok", "degraded") and hcode == "200", f"{result}, HTTP {hcode}")
    check("the second display kept on the host", display.get("assignment") == "host" and display.get("driver") != "vfio-pci",
          f"{display.get('address')}: {display.get('assignment')}, driver {display.get('driver')}")
    edu = [a for a in binds if a.get("outcome") == "done"]
    check("edu (and only it) bound to vfio-pci", len(edu) == 1, [(a.get("target"), a.get("outcome")) for a in binds])
elif role == "broken":
    errors = " | ".join(e.get("message", "") for e in api.get("errors", []))
    check("result failed, the error names the URL and what does not fit",
          result == "failed" and url in errors and "hugepages" in errors, f"{result}: {errors[:300]}")
    check("/healthz 503 saying failed", hcode == "503" and "failed" in hbody, f"HTTP {hcode}: {hbody[:160]}")
    done = [a.get("target") for a in binds if a.get("outcome") == "done"]
    on_vfio = [a for a, g in gpus.items() if g.get("driver") == "vfio-pci"]
    check("nothing applied: no function bound to vfio-pci", not done and not on_vfio,
          f"bind actions done {done}, GPUs on vfio-pci {on_vfio}")
else:
    sys.exit(f"check_node.py: unknown role {role}")
sys.exit(1 if failed else 0)
