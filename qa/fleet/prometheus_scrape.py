#!/usr/bin/python3
"""Debian's Prometheus scrapes the fleet for qa/fleet-test.sh, configured only with what
`make fleet` rendered (targets.json as file_sd) and the page's TLS CA and token.

  qa/fleet/prometheus_scrape.py WORKDIR TARGETS_JSON CA_FILE TOKEN_FILE T0_MS TIMEOUT_S UUID=HEALTH...

Waits until every node (its file_sd label `uuid`) is scraped (`up` 1) with the /healthz status
expected of it (HEALTH: ok, failed, or a|b for either), its policy from the node's own file
(`gpuhost_policy_source{source="node"}` 1) and the SMBIOS UUID the agent read
(`gpuhost_node_info`'s product_uuid) equal to the one the fleet file names. Then prints one line
per node, `node <uuid>: policy <source>, vfio <n>, health <status>`, and how long after T0_MS
(epoch ms, the first qemu's start) the last node got there. Exits 1 when TIMEOUT_S passes first,
printing what Prometheus had for each node.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

work, targets, ca, token, t0_ms, timeout_s = sys.argv[1:7]
expect = dict(a.split("=", 1) for a in sys.argv[7:])
URLOPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


def die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


config = {
    "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "2s"},
    "scrape_configs": [{
        "job_name": "gpuhost", "scheme": "https",
        "tls_config": {"ca_file": ca},
        "authorization": {"type": "Bearer", "credentials_file": token},
        "file_sd_configs": [{"files": [targets]}],
    }],
}
os.makedirs(work, exist_ok=True)
with open(f"{work}/prometheus.yml", "w") as f:
    json.dump(config, f, indent=2)  # JSON is YAML
check = subprocess.run(["promtool", "check", "config", f"{work}/prometheus.yml"], capture_output=True, text=True)
if check.returncode != 0:
    sys.exit(f"fleet: promtool check config failed: {check.stdout}{check.stderr}")
port = free_port()
log = open(f"{work}/prometheus.log", "w")
prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                         f"--storage.tsdb.path={work}/tsdb", f"--web.listen-address=127.0.0.1:{port}",
                         "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def query(q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with URLOPEN(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{q}: {body}")
    return body["data"]["result"]


def by_uuid(q, label=None, cmp=""):
    """{file_sd uuid label: (value, the series' `label`)} for the newest sample of each series
    (`cmp`, e.g. " == 1", filters those samples)."""
    out = {}
    for s in query(f"last_over_time({q}[1m]){cmp}"):
        m = s["metric"]
        out[m.get("uuid", "")] = (float(s["value"][1]), m.get(label, "") if label else "")
    return out


def nodes():
    up = by_uuid('up{job="gpuhost"}')
    info = by_uuid('gpuhost_node_info{job="gpuhost"}', "product_uuid")
    source = {u: v[1] for u, v in by_uuid('gpuhost_policy_source{job="gpuhost"}', "source", " == 1").items()}
    health = {u: v[1] for u, v in by_uuid('gpuhost_health_status{job="gpuhost"}', "status", " == 1").items()}
    vfio = by_uuid('gpuhost_gpus{job="gpuhost",assignment="vfio"}')
    return {u: {"up": up.get(u, (0, ""))[0], "product_uuid": info.get(u, (0, ""))[1],
                "source": source.get(u, "-"), "health": health.get(u, "-"),
                "vfio": int(vfio[u][0]) if u in vfio else "-"} for u in expect}


def as_intended(u, n):
    return (n["up"] == 1 and n["product_uuid"] == u and n["source"] == "node"
            and n["health"] in expect[u].split("|"))


deadline = time.time() + float(timeout_s)
seen = {}
try:
    while True:
        if prom.poll() is not None:
            log.flush()
            sys.exit(f"fleet: prometheus exited ({prom.returncode}): {open(f'{work}/prometheus.log').read()[-2000:]}")
        try:
            state = nodes()
        except urllib.error.HTTPError as e:
            if e.code in (400, 422):  # a bad query: this script's bug, not a slow node
                sys.exit(f"fleet: Prometheus refused a query: {e}: {e.read()[:300]!r}")
            state = None  # 503 while it starts
        except (urllib.error.URLError, ConnectionError, OSError, RuntimeError):
            state = None  # not ready yet
        if state:
            for u, n in state.items():
                if u not in seen and as_intended(u, n):
                    seen[u] = time.time()
            if len(seen) == len(expect):
                break
        if time.time() > deadline:
            for u, n in (state or {}).items():
                print(f"fleet: node {u}: {n}" + ("" if u in seen else f" (expected health {expect[u]})"))
            sys.exit(f"fleet: not every node scraped as intended within {timeout_s} s")
        time.sleep(1)
    for u, n in state.items():
        print(f"node {u}: policy {n['source']}, vfio {n['vfio']}, health {n['health']}"
              f" (scraped so {(seen[u] * 1000 - int(t0_ms)) / 1000:.1f} s after the first qemu started)")
    print(f"fleet: all {len(expect)} nodes scraped as intended "
          f"{(max(seen.values()) * 1000 - int(t0_ms)) / 1000:.1f} s after the first qemu started")
finally:
    prom.terminate()
    try:
        prom.wait(10)
    except subprocess.TimeoutExpired:
        prom.kill()
