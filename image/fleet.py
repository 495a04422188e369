#!/usr/bin/python3
"""Renders a fleet description into what a plain web server and Prometheus need (docs/fleet.md).

  image/fleet.py --fleet FILE --out DIR [--agent PATH]      (make fleet FLEET=FILE [FLEET_OUT=DIR])

The fleet file is line based, so every error names its line:

  # comment
  fleet   policy_url=https://pxe.example/gpuhost/nodes/{uuid}.json  default=baseline  port=8443
  profile baseline   profiles/baseline.json          # paths: relative to the fleet file
  profile vfio-all   profiles/vfio-all.json
  node gpu-17  uuid=4c4c4544-0042-3510-8051-b4c04f4e4a32  mac=52:54:00:12:34:17
               address=10.0.0.17  profile=vfio-all  label.rack=r4      (one line; wrapped here)
  node gpu-18  serial=SN18  address=gpu-18.example.net:9443  policy=nodes/gpu-18.json

With `pxe_url=` (the PXE bundle's HTTP base URL) on the fleet line, and optionally `ca=FILE`
(the policy server's CA, PEM, relative to the fleet file), DIR also gets the bundle's PXE script
for this fleet: pxe/autoexec.ipxe chains the bundle's boot.ipxe and puts the policy URL template
(and the CA) on every node's kernel command line as the credentials gpuhost.policy-url and
gpuhost.policy-ca, which start gpuhost-policy-fetch.service on the node. Put it in the TFTP root
beside the bundle's snponly.efi.

DIR gets, written into a new directory and renamed into place (all or nothing):
  nodes as the template names them    one policy per node, byte for byte the profile's or its file
  default.json (beside them)          the fleet default (`default=PROFILE`), when given
  targets.json                        Prometheus file_sd: one target per node with its labels
  http_sd.json                        the same list, for http_sd_configs (serve it over HTTP)
  index.md                            what is where, per node: ids, address, policy, URL
  pxe/autoexec.ipxe                   with pxe_url=: the fleet's PXE script (above)
  .gpuhost-fleet                      marks DIR as ours: a later render may replace it

Every policy is checked with `gpuhost-agent check-policy` (the parser apply uses). Every bad
entry is reported as FILE:LINE: message; then nothing is written and the exit status is 1.
Why Python: it runs on the operator's machine, next to the web server, not on a node; the one
check that must be the agent's own (the policy parser) is the agent's binary.
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PLACEHOLDERS = ("uuid", "serial", "mac")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
HOST_RE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
# Labels the file_sd entries set themselves; gpuhost's own metric labels are left alone so that
# Prometheus never renames them (exported_*).
OWN_LABELS = ("node", "uuid", "serial", "mac", "profile")
METRIC_LABELS = {"version", "openssl", "hostname", "machine_id", "product_uuid", "product_serial",
                 "status", "freshness", "boot_id", "result_boot_id", "result", "stage",
                 "assignment", "address", "model", "driver", "vm", "state", "vm_active", "outcome",
                 "param", "source", "instance", "job"}
MARKER = ".gpuhost-fleet"


class Fleet:
    def __init__(self):
        self.settings = {}
        self.settings_line = 0
        self.profiles = {}  # name -> (path, line)
        self.nodes = []  # dicts with "line"
        self.errors = []  # (line, message)

    def error(self, line, msg):
        self.errors.append((line, msg))


def normalize_mac(text):
    t = text.strip().lower()
    return t.replace(":", "-") if MAC_RE.match(t) and t.replace(":", "").replace("-", "").strip("0") else ""


def parse_address(text, default_port):
    """host, host:port, [v6]:port or [v6] -> "host:port"; None when malformed."""
    m = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$", text)
    if m:
        host, port = f"[{m.group(1)}]", m.group(2)
    else:
        host, _, port = text.partition(":") if text.count(":") == 1 else (text, "", None)
        if ":" in host or not HOST_RE.match(host):
            return None
    port = port or str(default_port)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return f"{host}:{port}"


def split_words(line):
    """Words separated by blanks, a '#' outside a word starts a comment."""
    words = []
    for w in line.split():
        if w.startswith("#"):
            break
        words.append(w)
    return words


def key_values(fleet, lineno, words, allowed):
    out = {}
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            fleet.error(lineno, f"'{w}' is not KEY=VALUE")
            continue
        if key not in allowed and not (key.startswith("label.") and "label." in allowed):
            fleet.error(lineno, f"unknown key '{key}' (known: {', '.join(sorted(allowed))})")
            continue
        if key in out:
            fleet.error(lineno, f"'{key}' given twice")
            continue
        out[key] = value
    return out


def parse(path):
    fleet = Fleet()
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        words = split_words(line)
        if not words:
            continue
        kind, rest = words[0], words[1:]
        if kind == "fleet":
            if fleet.settings_line:
                fleet.error(lineno, f"a second 'fleet' line (the first is line {fleet.settings_line})")
                continue
            fleet.settings_line = lineno
            fleet.settings = key_values(fleet, lineno, rest, {"policy_url", "default", "port", "pxe_url", "ca"})
            if "ca" in fleet.settings:
                fleet.settings["ca"] = os.path.join(base, fleet.settings["ca"])
        elif kind == "profile":
            if len(rest) != 2:
                fleet.error(lineno, "a profile line is 'profile NAME FILE'")
                continue
            name, file = rest
            if not NAME_RE.match(name):
                fleet.error(lineno, f"profile name '{name}' must be letters, digits, '.', '_', '-'")
            elif name in fleet.profiles:
                fleet.error(lineno, f"profile '{name}' is already defined on line {fleet.profiles[name][1]}")
            else:
                fleet.profiles[name] = (os.path.join(base, file), lineno)
        elif kind == "node":
            if not rest:
                fleet.error(lineno, "a node line is 'node NAME KEY=VALUE...'")
                continue
            node = key_values(fleet, lineno, rest[1:],
                              {"uuid", "serial", "mac", "address", "profile", "policy", "label."})
            node["name"], node["line"] = rest[0], lineno
            if "policy" in node:
                node["policy"] = os.path.join(base, node["policy"])
            fleet.nodes.append(node)
        else:
            fleet.error(lineno, f"unknown line kind '{kind}' (fleet, profile, node)")
    return fleet


def check_template(fleet):
    """The template's directory part and its file-name pattern, or None after an error."""
    line = fleet.settings_line or 1
    url = fleet.settings.get("policy_url")
    if url is None:
        fleet.error(line, "the 'fleet' line needs policy_url=https://.../{uuid}.json")
        return None
    if not url.startswith("https://"):
        fleet.error(line, f"policy_url '{url}': the agent fetches over https:// only")
        return None
    if "?" in url or "#" in url:
        fleet.error(line, f"policy_url '{url}': a query or fragment cannot name a file; put the "
                          "placeholders in the last path segment")
        return None
    directory, _, pattern = url.rpartition("/")
    if "{" in directory[len("https://"):] or "}" in directory:
        fleet.error(line, f"policy_url '{url}': placeholders go in the last path segment only")
        return None
    for name in re.findall(r"\{([^{}]*)\}", pattern):
        if name not in PLACEHOLDERS:
            fleet.error(line, f"policy_url '{url}': unknown placeholder {{{name}}} (known: "
                              "{uuid}, {serial}, {mac})")
            return None
    rest = re.sub(r"\{(uuid|serial|mac)\}", "", pattern)
    if "{" in rest or "}" in rest:
        fleet.error(line, f"policy_url '{url}': unbalanced '{{' or '}}'")
        return None
    if not re.search(r"\{(uuid|serial|mac)\}", pattern):
        fleet.error(line, f"policy_url '{url}': no {{uuid}}, {{serial}} or {{mac}} in its last "
                          "segment: every node would get the same file")
        return None
    return directory + "/", pattern


def check_nodes(fleet, pattern, port):
    seen = {"name": {}, "uuid": {}, "serial": {}, "mac": {}, "file": {}}
    needed = re.findall(r"\{(uuid|serial|mac)\}", pattern)
    for n in fleet.nodes:
        line = n["line"]
        errors_before = len(fleet.errors)
        if not NAME_RE.match(n["name"]):
            fleet.error(line, f"node name '{n['name']}' must be letters, digits, '.', '_', '-'")
        if "uuid" in n:
            n["uuid"] = n["uuid"].lower()
            if not UUID_RE.match(n["uuid"]):
                fleet.error(line, f"uuid '{n['uuid']}' is not a UUID (8-4-4-4-12 hex digits)")
        if "mac" in n:
            mac = normalize_mac(n["mac"])
            if not mac:
                fleet.error(line, f"mac '{n['mac']}' is not a MAC address (aa:bb:cc:dd:ee:ff)")
            n["mac"] = mac or n["mac"]
        if "serial" in n and (not n["serial"] or n["serial"] in (".", "..") or "/" in n["serial"]
                              or n["serial"] == "default" or not n["serial"].isprintable()):
            fleet.error(line, f"serial '{n['serial']}' cannot name a file (no '/', not '.', '..' "
                              "or 'default')")
        if not any(k in n for k in PLACEHOLDERS):
            fleet.error(line, f"node '{n['name']}' has none of uuid=, serial=, mac=")
        for key in needed:
            if key not in n:
                fleet.error(line, f"node '{n['name']}' has no {key}=, which the policy URL "
                                  f"names ({{{key}}})")
        if "address" not in n:
            fleet.error(line, f"node '{n['name']}' has no address= (where Prometheus scrapes it)")
        else:
            target = parse_address(n["address"], port)
            if target is None:
                fleet.error(line, f"address '{n['address']}' is not HOST, HOST:PORT or [IPv6]:PORT")
            n["target"] = target
        if ("profile" in n) == ("policy" in n):
            fleet.error(line, f"node '{n['name']}' needs exactly one of profile= and policy=")
        elif "profile" in n and n["profile"] not in fleet.profiles:
            known = ", ".join(sorted(fleet.profiles)) or "none defined"
            fleet.error(line, f"unknown profile '{n['profile']}' (known: {known})")
        for key, value in n.items():
            if key.startswith("label."):
                label = key[len("label."):]
                if not LABEL_RE.match(label) or label.startswith("__"):
                    fleet.error(line, f"label name '{label}' is not a Prometheus label name")
                elif label in OWN_LABELS or label in METRIC_LABELS:
                    fleet.error(line, f"label '{label}' is set by the fleet or by gpuhost's metrics")
        for key in ("name", "uuid", "serial", "mac"):
            value = n.get(key)
            if value is None:
                continue
            if value in seen[key]:
                fleet.error(line, f"duplicate {key} '{value}' (also on line {seen[key][value]})")
            else:
                seen[key][value] = line
        # Its file, once its ids are right (a duplicate id is reported once, not twice).
        if len(fleet.errors) == errors_before and all(n.get(k) for k in needed):
            name = re.sub(r"\{(uuid|serial|mac)\}", lambda m: n[m.group(1)], pattern)
            n["file"] = name
            if name == "default.json":
                fleet.error(line, f"node '{n['name']}' would be served as default.json, the fleet "
                                  "default's name")
            elif name in seen["file"]:
                fleet.error(line, f"node file '{name}' is also line {seen['file'][name]}'s")
            else:
                seen["file"][name] = line


def policy_of(fleet, n):
    if "policy" in n:
        return n["policy"], n["line"]
    if n.get("profile") in fleet.profiles:
        return fleet.profiles[n["profile"]]
    return None, None


def check_policies(fleet, agent):
    """Each policy file read and parsed by the agent; errors go to the lines that name it."""
    users = {}  # path -> lines naming it
    for name, (path, line) in fleet.profiles.items():
        users.setdefault(path, []).append(line)
    for n in fleet.nodes:
        if "policy" in n:
            users.setdefault(n["policy"], []).append(n["line"])
    default = fleet.settings.get("default")
    if default is not None and default not in fleet.profiles:
        fleet.error(fleet.settings_line, f"default: unknown profile '{default}'")
    paths = []
    for path, lines in users.items():
        if not os.path.isfile(path):
            for line in lines:
                fleet.error(line, f"policy file {path} does not exist")
        else:
            paths.append(path)
    if not paths:
        return
    cmd = [agent, "check-policy"]
    for p in paths:
        cmd += ["--policy", p]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    except OSError as e:
        fleet.error(0, f"cannot run {agent} check-policy: {e}")
        return
    results = {}
    for out_line in proc.stdout.splitlines():
        for p in paths:
            if out_line.startswith(p + ":"):
                results[p] = out_line[len(p) + 1:].strip()
    for p in paths:
        verdict = results.get(p)
        if verdict is None:
            fleet.error(0, f"{agent} check-policy said nothing about {p}: {proc.stderr.strip()}")
        elif verdict != "ok":
            for line in users[p]:
                fleet.error(line, f"policy {p}:{verdict}")


# The kernel's command line holds 2048 bytes on x86 and the bundle's own parameters take ~600 of
# them: what the PXE script adds must stay well under the rest.
MAX_PXE_EXTRA = 1200


def pxe_script(fleet):
    """pxe/autoexec.ipxe's text, or None (no pxe_url=, or an error recorded)."""
    line = fleet.settings_line or 1
    url = fleet.settings.get("pxe_url")
    if url is None:
        if "ca" in fleet.settings:
            fleet.error(line, "ca= is for the PXE script: give pxe_url= too")
        return None
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        fleet.error(line, f"pxe_url '{url}' is not an http:// or https:// URL")
        return None
    url += "" if url.endswith("/") else "/"
    extra = f"systemd.set_credential=gpuhost.policy-url:{fleet.settings['policy_url']}"
    ca = fleet.settings.get("ca")
    if ca is not None:
        try:
            with open(ca, "rb") as f:
                pem = f.read()
        except OSError as e:
            fleet.error(line, f"ca {ca}: {e.strerror}")
            return None
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            fleet.error(line, f"ca {ca} holds no PEM certificate")
            return None
        extra += " systemd.set_credential_binary=gpuhost.policy-ca:" + base64.b64encode(pem).decode()
    if len(extra) > MAX_PXE_EXTRA:
        fleet.error(line, f"ca {ca}: the credentials would take {len(extra)} bytes of the kernel command "
                          f"line (at most {MAX_PXE_EXTRA}): use a smaller CA certificate (EC P-256 is "
                          "~800 bytes) or hand it to the nodes another way (docs/fleet.md, step 7)")
        return None
    return f"""#!ipxe
# Rendered by image/fleet.py for this fleet: the gpuhost PXE bundle's autoexec.ipxe with the
# fleet's policy URL template{' and CA' if ca else ''} as credentials on every node's kernel command line
# (public values: the command line is world-readable). iPXE runs it from the TFTP directory it
# was loaded from.
dhcp
set gpuhost-url {url}
set gpuhost-extra {extra}
chain ${{gpuhost-url}}boot.ipxe
"""


def render(fleet, directory, pattern, port, out_dir, pxe):
    default = fleet.settings.get("default")
    targets = []
    index = ["# gpuhost fleet", "",
             f"Serve this directory at `{directory}`: each node fetches `{directory}{pattern}`"
             + (f", else `{directory}default.json` (profile `{default}`)." if default else
                ". There is no fleet default (no `default=` on the fleet line)."), "",
             "| node | uuid | serial | mac | scraped at | policy | file |", "|---|---|---|---|---|---|---|"]
    for n in fleet.nodes:
        src, _ = policy_of(fleet, n)
        shutil.copyfile(src, os.path.join(out_dir, n["file"]))
        labels = {"node": n["name"]}
        for k in ("uuid", "serial", "mac"):
            if n.get(k):
                labels[k] = n[k]
        labels["profile"] = n.get("profile", "")
        for key, value in sorted(n.items()):
            if key.startswith("label."):
                labels[key[len("label."):]] = value
        targets.append({"targets": [n["target"]], "labels": labels})
        index.append(f"| {n['name']} | {n.get('uuid', '')} | {n.get('serial', '')} | "
                     f"{n.get('mac', '')} | {n['target']} | "
                     f"{('profile ' + n['profile']) if 'profile' in n else os.path.relpath(n['policy'])} | "
                     f"`{n['file']}` |")
    if default:
        shutil.copyfile(fleet.profiles[default][0], os.path.join(out_dir, "default.json"))
    text = json.dumps(targets, indent=2) + "\n"
    for name in ("targets.json", "http_sd.json"):
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text)
    index += ["", "`targets.json`: Prometheus `file_sd_configs`; `http_sd.json`: the same list for "
              "`http_sd_configs`. Both only for Prometheus: they need not be on the policy server.", ""]
    with open(os.path.join(out_dir, "index.md"), "w") as f:
        f.write("\n".join(index))
    if pxe:
        os.mkdir(os.path.join(out_dir, "pxe"))
        with open(os.path.join(out_dir, "pxe", "autoexec.ipxe"), "w") as f:
            f.write(pxe)
    with open(os.path.join(out_dir, MARKER), "w") as f:
        f.write("rendered by image/fleet.py\n")


def replace_dir(tmp, out):
    """tmp becomes out: a rename when out is absent, else out moved aside first."""
    if os.path.lexists(out):
        old = tempfile.mkdtemp(prefix=".fleet-old-", dir=os.path.dirname(out))
        os.rename(out, os.path.join(old, "x"))
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    ap.add_argument("--fleet", required=True, help="the fleet file")
    ap.add_argument("--out", required=True, help="the directory to (re)write")
    ap.add_argument("--agent", default=os.environ.get("GPUHOST_AGENT", "build/agent/gpuhost-agent"),
                    help="gpuhost-agent, for check-policy (default: build/agent/gpuhost-agent)")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    try:
        fleet = parse(args.fleet)
    except (OSError, UnicodeDecodeError) as e:
        print(f"{args.fleet}: {e}", file=sys.stderr)
        return 1
    port = fleet.settings.get("port", "8080")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        fleet.error(fleet.settings_line, f"port '{port}' is not 1-65535")
        port = "8080"
    shape = check_template(fleet)
    if not fleet.nodes:
        fleet.error(0, "no node lines")
    if shape:
        check_nodes(fleet, shape[1], port)
    check_policies(fleet, args.agent)
    pxe = pxe_script(fleet) if shape else None
    if os.path.exists(out) and os.listdir(out) and not os.path.exists(os.path.join(out, MARKER)):
        fleet.error(0, f"--out {out} is not empty and was not rendered by this tool: not replaced")
    if fleet.errors:
        for line, msg in sorted(fleet.errors, key=lambda e: e[0]):
            print(f"{args.fleet}:{line}: {msg}" if line else f"{args.fleet}: {msg}", file=sys.stderr)
        print(f"{args.fleet}: {len(fleet.errors)} error(s); nothing written", file=sys.stderr)
        return 1
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fleet-new-", dir=parent)
    try:
        render(fleet, shape[0], shape[1], port, tmp, pxe)
        os.chmod(tmp, 0o755)
        replace_dir(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"{out}: {e}", file=sys.stderr)
        return 1
    print(f"fleet: {len(fleet.nodes)} node(s) rendered into {out} (serve it at {shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
