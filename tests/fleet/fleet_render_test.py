#!/usr/bin/env python3
"""image/fleet.py on a good and a bad fleet file, and its PXE script (pxe_url=, ca=) (ctest fleet.render), and its file_sd output as
Prometheus loads it (ctest fleet.render_promtool: `promtool check config`).

  fleet_render_test.py AGENT [render|promtool]

AGENT is the built gpuhost-agent (its check-policy validates every policy)."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FLEET_PY = os.path.join(HERE, "..", "..", "image", "fleet.py")

UUIDS = ["4c4c4544-0042-3510-8051-b4c04f4e4a32", "4c4c4544-0042-3510-8051-b4c04f4e4a33",
         "4c4c4544-0042-3510-8051-b4c04f4e4a34"]
BASELINE = '{"comment": "fleet default", "hardening": "baseline"}\n'
VFIO = '{"gpus": [{"match": {}, "assign": "vfio"}], "hardening": "strict"}\n'
OWN = '{"gpus": [{"match": {"boot_vga": true}, "assign": "host"}]}\n'

GOOD = f"""# a test fleet
fleet policy_url=https://pxe.example/gpuhost/nodes/{{uuid}}.json default=baseline port=8443
profile baseline profiles/baseline.json
profile vfio-all profiles/vfio.json   # every GPU to VMs

node gpu-17 uuid={UUIDS[0].upper()} mac=52:54:00:12:34:17 address=10.0.0.17 profile=vfio-all label.rack=r4
node gpu-18 uuid={UUIDS[1]} serial=SN18 address=gpu-18.example.net:9443 policy=nodes/gpu-18.json
node gpu-19 uuid={UUIDS[2]} address=[2001:db8::19] profile=baseline label.rack=r5 label.room=b
"""

# line -> what its error says (each must be reported, on its line)
BAD = [
    ("fleet policy_url=https://pxe.example/nodes/{uuid}.json default=nosuch port=8443",
     ["default: unknown profile 'nosuch'"]),
    ("profile baseline profiles/baseline.json", []),
    ("profile broken profiles/broken.json",
     ["profiles/broken.json:1:2: unknown key 'hardenin' in the policy"]),
    (f"node a uuid={UUIDS[0]} address=10.0.0.1 profile=baseline", []),
    (f"node b uuid={UUIDS[0]} address=10.0.0.2 profile=baseline",
     [f"duplicate uuid '{UUIDS[0]}' (also on line 4)"]),
    ("node c uuid=4c4c4544-0042-3510-8051-00000000000c mac=52:54:00:zz:00:01 address=10.0.0.3 profile=baseline",
     ["mac '52:54:00:zz:00:01' is not a MAC address"]),
    ("node d uuid=4c4c4544-0042-3510-8051-00000000000d address=10.0.0.4 profile=gold",
     ["unknown profile 'gold' (known: baseline, broken)"]),
    ("node e uuid=4c4c4544-0042-3510-8051-00000000000e address=10.0.0.5 profile=broken", []),
    ("node f uuid=4c4c4544-0042-3510-8051-00000000000f mac=52:54:00:00:00:01 address=10.0.0.6 profile=baseline", []),
    ("node g uuid=4c4c4544-0042-3510-8051-000000000010 mac=52-54-00-00-00-01 address=10.0.0.7 profile=baseline",
     ["duplicate mac '52-54-00-00-00-01' (also on line 9)"]),
    ("node h serial=SN1 address=10.0.0.8 profile=baseline",
     ["node 'h' has no uuid=, which the policy URL names ({uuid})"]),
    ("node i uuid=4c4c4544-0042-3510-8051-000000000012 address=10.0.0.9 policy=nodes/missing.json",
     ["nodes/missing.json does not exist"]),
    ("node j uuid=not-a-uuid address=10.0.0.10 profile=baseline",
     ["uuid 'not-a-uuid' is not a UUID"]),
    ("bogus line", ["unknown line kind 'bogus' (fleet, profile, node)"]),
    ("node k uuid=4c4c4544-0042-3510-8051-000000000014 profile=baseline",
     ["node 'k' has no address= (where Prometheus scrapes it)"]),
    ("node l uuid=4c4c4544-0042-3510-8051-000000000015 address=10.0.0.15 profile=baseline policy=x.json",
     ["node 'l' needs exactly one of profile= and policy=", "x.json does not exist"]),
    ("node m uuid=4c4c4544-0042-3510-8051-000000000016 address=10.0.0.16:99999 profile=baseline colour=red",
     ["address '10.0.0.16:99999' is not HOST, HOST:PORT or [IPv6]:PORT", "unknown key 'colour'"]),
    ("node a uuid=4c4c4544-0042-3510-8051-000000000017 address=10.0.0.17 profile=baseline label.job=x",
     ["duplicate name 'a' (also on line 4)", "label 'job' is set by the fleet or by gpuhost's metrics"]),
]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fleet(agent, fleet_file, out):
    return subprocess.run([sys.executable, FLEET_PY, "--agent", agent, "--fleet", fleet_file,
                           "--out", out], capture_output=True, text=True)


def lay_out(d):
    write(f"{d}/profiles/baseline.json", BASELINE)
    write(f"{d}/profiles/vfio.json", VFIO)
    write(f"{d}/profiles/broken.json", '{"hardenin": "strict"}\n')
    write(f"{d}/nodes/gpu-18.json", OWN)
    write(f"{d}/good.fleet", GOOD)
    write(f"{d}/bad.fleet", "\n".join(line for line, _ in BAD) + "\n")


def test_good(agent, d):
    out = f"{d}/www/gpuhost/nodes"
    p = fleet(agent, f"{d}/good.fleet", out)
    print(p.stdout + p.stderr)
    check(p.returncode == 0, f"good fleet: exit {p.returncode}")
    if p.returncode != 0:
        return out
    files = sorted(os.listdir(out))
    check(files == sorted([".gpuhost-fleet", "default.json", "http_sd.json", "index.md",
                           "targets.json"] + [f"{u}.json" for u in UUIDS]), f"files: {files}")
    read = lambda n: open(os.path.join(out, n)).read()  # noqa: E731
    check(read(f"{UUIDS[0]}.json") == VFIO, "gpu-17 gets the vfio-all profile byte for byte")
    check(read(f"{UUIDS[1]}.json") == OWN, "gpu-18 gets its own policy file")
    check(read(f"{UUIDS[2]}.json") == BASELINE, "gpu-19 gets the baseline profile")
    check(read("default.json") == BASELINE, "the fleet default is the baseline profile")
    targets = json.loads(read("targets.json"))
    check(read("http_sd.json") == read("targets.json"), "http_sd.json is the same list")
    want = [
        {"targets": ["10.0.0.17:8443"],
         "labels": {"node": "gpu-17", "uuid": UUIDS[0], "mac": "52-54-00-12-34-17",
                    "profile": "vfio-all", "rack": "r4"}},
        {"targets": ["gpu-18.example.net:9443"],
         "labels": {"node": "gpu-18", "uuid": UUIDS[1], "serial": "SN18", "profile": ""}},
        {"targets": ["[2001:db8::19]:8443"],
         "labels": {"node": "gpu-19", "uuid": UUIDS[2], "profile": "baseline", "rack": "r5",
                    "room": "b"}},
    ]
    check(targets == want, f"targets.json:\n{json.dumps(targets, indent=1)}")
    index = read("index.md")
    check("https://pxe.example/gpuhost/nodes/{uuid}.json" in index, "index names the template")
    check(all(u in index for u in UUIDS), "index lists every node")
    # A second render replaces the directory whole: a node taken out loses its file.
    with open(f"{d}/good.fleet") as f:
        fewer = "".join(line for line in f if not line.startswith("node gpu-19"))
    write(f"{d}/fewer.fleet", fewer)
    p = fleet(agent, f"{d}/fewer.fleet", out)
    check(p.returncode == 0, f"re-render: exit {p.returncode}: {p.stderr}")
    check(not os.path.exists(os.path.join(out, f"{UUIDS[2]}.json")), "gpu-19's file is gone")
    check(len(json.loads(read("targets.json"))) == 2, "two targets left")
    # A directory it did not render is never replaced.
    os.makedirs(f"{d}/other")
    write(f"{d}/other/keep.txt", "mine\n")
    p = fleet(agent, f"{d}/good.fleet", f"{d}/other")
    check(p.returncode == 1 and "not rendered by this tool" in p.stderr, f"foreign dir: {p.stderr}")
    check(os.listdir(f"{d}/other") == ["keep.txt"], "foreign dir untouched")
    return out


def test_bad(agent, d):
    out = f"{d}/bad-out"
    p = fleet(agent, f"{d}/bad.fleet", out)
    print(p.stderr)
    check(p.returncode == 1, f"bad fleet: exit {p.returncode}")
    check(not os.path.exists(out), "a bad fleet writes nothing")
    lines = p.stderr.splitlines()
    expected = 0
    for lineno, (_, errors) in enumerate(BAD, 1):
        prefix = f"{d}/bad.fleet:{lineno}: "
        got = [line[len(prefix):] for line in lines if line.startswith(prefix)]
        for e in errors:
            expected += 1
            check(any(e in g for g in got), f"line {lineno}: no error with '{e}' (got {got})")
        check(len(got) == len(errors), f"line {lineno}: {len(got)} errors, want {len(errors)}: {got}")
    check(f"{expected} error(s); nothing written" in p.stderr, f"the count: want {expected}")


def test_pxe(agent, d):
    """pxe_url= and ca=: the fleet's autoexec.ipxe carries the template and the CA as credentials;
    a CA too big for the kernel command line, a missing one, or ca= without pxe_url= is refused."""
    def ca(name, newkey):
        subprocess.run(["openssl", "req", "-x509", "-newkey", *newkey, "-nodes", "-keyout", f"{d}/{name}.key",
                        "-out", f"{d}/{name}.crt", "-days", "2", "-subj", "/CN=gpuhost-test-ca"],
                       check=True, capture_output=True)
        return open(f"{d}/{name}.crt", "rb").read()
    pem = ca("ec", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    ca("rsa", ["rsa:4096"])
    with open(f"{d}/good.fleet") as f:
        good = f.read()
    line = "fleet policy_url=https://pxe.example/gpuhost/nodes/{uuid}.json default=baseline port=8443"
    write(f"{d}/pxe.fleet", good.replace(line, line + " pxe_url=http://pxe.example/gpuhost ca=ec.crt"))
    out = f"{d}/pxe-out"
    p = fleet(agent, f"{d}/pxe.fleet", out)
    check(p.returncode == 0, f"pxe fleet: exit {p.returncode}: {p.stderr}")
    script = open(f"{out}/pxe/autoexec.ipxe").read() if p.returncode == 0 else ""
    print(script)
    want = ("set gpuhost-extra systemd.set_credential=gpuhost.policy-url:https://pxe.example/gpuhost/nodes/"
            "{uuid}.json systemd.set_credential_binary=gpuhost.policy-ca:" + base64.b64encode(pem).decode() + "\n")
    check(script.startswith("#!ipxe\n") and want in script, "autoexec.ipxe sets the credentials")
    check("\nset gpuhost-url http://pxe.example/gpuhost/\n" in script
          and "\nchain ${gpuhost-url}boot.ipxe\n" in script, "autoexec.ipxe chains the bundle's boot.ipxe")
    for words, err in [("pxe_url=http://pxe.example/ ca=rsa.crt", "bytes of the kernel command line"),
                       ("pxe_url=http://pxe.example/ ca=none.crt", "ca " + d + "/none.crt: No such file"),
                       ("ca=ec.crt", "ca= is for the PXE script: give pxe_url= too"),
                       ("pxe_url=ftp://pxe.example/", "is not an http:// or https:// URL")]:
        write(f"{d}/pxe-bad.fleet", good.replace(line, line + " " + words))
        p = fleet(agent, f"{d}/pxe-bad.fleet", f"{d}/pxe-bad-out")
        said = [e for e in p.stderr.splitlines() if e.startswith(f"{d}/pxe-bad.fleet:2: ")]
        check(p.returncode == 1 and len(said) == 1 and err in said[0]
              and not os.path.exists(f"{d}/pxe-bad-out"), f"{words}: want '{err}', got: {p.stderr}")


def test_promtool(agent, d):
    out = test_good(agent, d)
    if shutil.which("promtool") is None:
        check(False, "promtool missing: apt-get install prometheus (the Makefile's BUILD_DEPS)")
        return
    etc = f"{d}/etc"
    os.makedirs(f"{etc}/gpuhost")
    shutil.copytree(out, f"{etc}/gpuhost/fleet")
    write(f"{etc}/gpuhost/token", "0123456789abcdef\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{etc}/ca.key", "-out", f"{etc}/gpuhost/ca.crt", "-days", "2",
                    "-subj", "/CN=gpuhost-test-ca"], check=True, capture_output=True)
    write(f"{etc}/prometheus.yml", """scrape_configs:
  - job_name: gpuhost
    scheme: https
    tls_config:
      ca_file: gpuhost/ca.crt
    authorization:
      type: Bearer
      credentials_file: gpuhost/token
    file_sd_configs:
      - files: ["gpuhost/fleet/targets.json"]
""")

    def promtool():
        p = subprocess.run(["promtool", "check", "config", f"{etc}/prometheus.yml"],
                           capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    rc, text = promtool()
    print(text)
    check(rc == 0 and "WARNING" not in text and "SUCCESS" in text, "promtool check config")
    # It reads the targets: a broken one must fail, or the check proves nothing.
    write(f"{etc}/gpuhost/fleet/targets.json", '[{"targets": ["10.0.0.17:8443"], "labels": {"a b": "x"}}]')
    rc, text = promtool()
    check(rc != 0, f"promtool accepted a bad target file:\n{text}")


def main():
    agent, mode = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "render"
    with tempfile.TemporaryDirectory() as d:
        lay_out(d)
        if mode == "promtool":
            test_promtool(agent, d)
        else:
            test_good(agent, d)
            test_bad(agent, d)
            test_pxe(agent, d)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
