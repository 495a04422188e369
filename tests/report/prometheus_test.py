#!/usr/bin/env python3
"""A real Prometheus (Debian's prometheus package) scrapes a real `gpuhost-agent serve` over
HTTPS with the bearer token, as docs/prometheus/scrape.yml tells an operator to.

The state is the agent's own: `apply --dry-run --json` on a copy of the H200 capture, with a
machine id and SMBIOS ids added to the copy so that gpuhost_node_info carries what the agent's
inventory read. serve gets a CA-signed certificate (the openssl command, SAN IP:127.0.0.1) and a
token file. Prometheus gets two jobs on the same target: `gpuhost` with the CA and the right
token, which must come up (up == 1) with the gpuhost series in its database, and
`gpuhost-wrong-token`, which must stay down (up == 0, HTTP 401), or the test proves nothing. It
also loads docs/prometheus/rules.yml: every rule must evaluate without error against the real
series. Prints what it found. Both processes die with the test (SIGTERM at exit, and
PR_SET_PDEATHSIG should the test itself be killed).

Usage: prometheus_test.py GPUHOST_AGENT        (ctest report.prometheus_scrape)
"""
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
CAPTURE = os.path.join(REPO, "tests", "data", "captures", "h200-firecracker", "tree")
RULES = os.path.join(REPO, "docs", "prometheus", "rules.yml")
# The machine is shared and slow: Prometheus's start and first scrapes can take a while.
TIMEOUT_S = 60
MACHINE_ID = "5a1c0ffee5a1c0ffee5a1c0ffee5a1c0"
PRODUCT_UUID = "8f3e2a10-6b7c-4d2e-9f01-23456789abcd"
PRODUCT_SERIAL = "GPUHOST-TEST-0017"

# Loopback only: a proxy from the environment must not see these requests.
URLOPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


class Failure(Exception):
    pass


def die_with_parent():
    # Runs in the child before exec: SIGTERM when this test dies, however it dies.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """The children this test started; stop() ends each by its own pid."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log):
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                             preexec_fn=die_with_parent)
        self.procs.append((name, p))
        return p

    def stop(self):
        for _, p in self.procs:
            if p.poll() is None:
                p.terminate()
        for _, p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Failure(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def make_certs(d):
    """A CA and a server certificate for 127.0.0.1 (as tests/report/tls_client.cc makes them)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt",
         "-days", "2", "-subj", "/CN=gpuhost-test-ca"])
    run(["openssl", "req", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr",
         "-subj", "/CN=localhost"])
    write(f"{d}/san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey",
         f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out",
         f"{d}/server.crt"])


def make_state(agent, root):
    """The agent's dry run on the H200 capture, with ids the capture (a micro-VM) lacks."""
    shutil.copytree(CAPTURE, root, symlinks=True)
    write(f"{root}/etc/machine-id", MACHINE_ID + "\n")
    write(f"{root}/sys/devices/virtual/dmi/id/product_uuid", PRODUCT_UUID + "\n", 0o400)
    write(f"{root}/sys/devices/virtual/dmi/id/product_serial", PRODUCT_SERIAL + "\n", 0o400)
    os.makedirs(f"{root}/sys/class/dmi", exist_ok=True)
    os.symlink("../../devices/virtual/dmi/id", f"{root}/sys/class/dmi/id")
    state = run([agent, "apply", "--root", root, "--dry-run", "--json"])
    write(f"{root}/var/lib/gpuhost/state.json", state)


def start_serve(procs, agent, root, d):
    log = open(f"{d}/serve.log", "w+")
    p = procs.start("serve", [agent, "serve", "--root", root, "--state-dir", "/var/lib/gpuhost",
                              "--listen", "127.0.0.1:0", "--tls-cert", f"{d}/server.crt",
                              "--tls-key", f"{d}/server.key", "--token-file", f"{d}/token",
                              "--no-libvirt"], log)
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        log.seek(0)
        text = log.read()
        m = re.search(r"\(port (\d+)\)", text)
        if m:
            return int(m.group(1))
        if p.poll() is not None:
            raise Failure(f"serve exited ({p.returncode}): {text}")
        time.sleep(0.1)
    raise Failure("serve did not say its port")


def fetch_serve(port, d, path, token):
    ctx = ssl.create_default_context(cafile=f"{d}/ca.crt")
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prometheus_config(d, serve_port):
    """Two jobs on the same target: the right token and a wrong one. JSON is YAML."""
    def job(name, token_file):
        return {"job_name": name, "scheme": "https",
                "tls_config": {"ca_file": f"{d}/ca.crt"},
                "authorization": {"type": "Bearer", "credentials_file": token_file},
                "static_configs": [{"targets": [f"127.0.0.1:{serve_port}"]}]}
    return {"global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [RULES],
            "scrape_configs": [job("gpuhost", f"{d}/token"),
                               job("gpuhost-wrong-token", f"{d}/wrong-token")]}


def start_prometheus(procs, d, serve_port):
    write(f"{d}/prometheus.yml", json.dumps(prometheus_config(d, serve_port), indent=2))
    run(["promtool", "check", "config", f"{d}/prometheus.yml"])
    # A port picked free can be taken before Prometheus binds it: then another.
    for attempt in range(3):
        port = free_port()
        log = open(f"{d}/prometheus-{attempt}.log", "w")
        p = procs.start("prometheus", [
            "prometheus", f"--config.file={d}/prometheus.yml",
            f"--storage.tsdb.path={d}/tsdb-{attempt}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], log)
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline and p.poll() is None:
            try:
                with URLOPEN(f"http://127.0.0.1:{port}/-/ready", timeout=5) as r:
                    if r.status == 200:
                        return port
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        if p.poll() is None:
            raise Failure("prometheus did not become ready in time")
    raise Failure("prometheus exited: " + open(f"{d}/prometheus-2.log").read()[-2000:])


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def get(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with URLOPEN(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise Failure(f"{url}: {body}")
        return body["data"]

    def query(self, q):
        return self.get("/query", query=q)["result"]

    def value(self, q):
        r = self.query(q)
        return float(r[0]["value"][1]) if r else None

    def wait(self, what, ready, procs):
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            for name, p in procs.procs:
                if p.poll() is not None:
                    raise Failure(f"{name} exited ({p.returncode}) while waiting for {what}")
            got = ready()
            if got:
                return got
            time.sleep(1)
        raise Failure(f"no {what} within {TIMEOUT_S} s")


def series(prom, name):
    """The newest sample of each `name` series of job gpuhost; last_over_time skips the
    staleness markers one slow scrape on a loaded machine would leave."""
    return prom.query(f'last_over_time({name}{{job="gpuhost"}}[1m])')


def fmt(sample):
    labels = {k: v for k, v in sample["metric"].items()
              if k not in ("__name__", "job", "instance")}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return ("{" + inner + "}" if inner else "") + " " + sample["value"][1]


def check_serve(port, d, token):
    status, _ = fetch_serve(port, d, "/metrics", token)
    if status != 200:
        raise Failure(f"serve answered {status} to /metrics with the token")
    status, _ = fetch_serve(port, d, "/metrics", "wrong")
    if status != 401:
        raise Failure(f"serve answered {status} to /metrics with a wrong token, not 401")


def check_scrape(prom, procs, report):
    up = prom.wait('up{job="gpuhost"} == 1', lambda: prom.value('up{job="gpuhost"}') == 1, procs)
    report.append(f'up{{job="gpuhost"}} = 1 (TLS verified against the test CA, bearer token)')
    for name in ("gpuhost_healthy", "gpuhost_health_status", "gpuhost_node_info",
                 "gpuhost_gpu_info", "gpuhost_gpus", "gpuhost_nvidia_gpus",
                 "gpuhost_kernel_params_missing", "gpuhost_kernel_param_in_effect"):
        found = series(prom, name)
        if not found:
            raise Failure(f"Prometheus has no {name} series from job gpuhost")
        if name == "gpuhost_health_status":
            # A dry run writes no run marker: its result is never this boot's current one.
            found = [s for s in found if s["value"][1] == "1"]
        report.extend(f"  {name}{fmt(s)}" for s in found)
    node = series(prom, "gpuhost_node_info")[0]["metric"]
    want = {"machine_id": MACHINE_ID, "product_uuid": PRODUCT_UUID,
            "product_serial": PRODUCT_SERIAL, "hostname": socket.gethostname()}
    for k, v in want.items():
        if node.get(k) != v:
            raise Failure(f"gpuhost_node_info {k}={node.get(k)!r}, want {v!r}")
    gpu = series(prom, "gpuhost_gpu_info")[0]["metric"]
    if gpu.get("address") != "0000:00:06.0":
        raise Failure(f"gpuhost_gpu_info names {gpu}, not the H200 at 0000:00:06.0")
    return up


def check_wrong_token(prom, procs, report):
    job = 'up{job="gpuhost-wrong-token"}'
    prom.wait(f"two scrapes of {job}",
              lambda: (prom.value(f"count_over_time({job}[1m])") or 0) >= 2, procs)
    if prom.value(f"max_over_time({job}[1m])") != 0:
        raise Failure(f"{job} was 1: serve let a wrong token in")
    targets = prom.get("/targets")["activeTargets"]
    errors = [t["lastError"] for t in targets if t["labels"]["job"] == "gpuhost-wrong-token"]
    if not errors or "401" not in errors[0]:
        raise Failure(f"the wrong-token job's error is not a 401: {errors}")
    report.append(f"{job} = 0: {errors[0]}")


def check_rules(prom, procs, report):
    def evaluated():
        groups = prom.get("/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        done = rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules)
        return rules if done and prom.query('job:gpuhost_gpus:sum{job="gpuhost"}') else None
    rules = prom.wait("an evaluation of every rule", evaluated, procs)
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
    if bad:
        raise Failure("rules that do not evaluate: " + "; ".join(bad))
    report.append(f"docs/prometheus/rules.yml: {len(rules)} rules evaluate without error")
    report.extend(f"  job:gpuhost_gpus:sum{fmt(s)}"
                  for s in prom.query('job:gpuhost_gpus:sum{job="gpuhost"}'))
    alerts = prom.get("/alerts")["alerts"]
    report.append("alerts now (pending ones wait out their `for`): " + (", ".join(
        f"{a['labels']['alertname']}({a['state']})" for a in alerts) or "none"))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    agent = os.path.abspath(sys.argv[1])
    for tool in ("prometheus", "promtool", "openssl"):
        if shutil.which(tool) is None:
            print(f"{tool} missing: apt-get install prometheus openssl (the Makefile's BUILD_DEPS)")
            return 1
    procs = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest's timeout: still clean up
    d = tempfile.mkdtemp(prefix="gpuhost-prometheus.")
    report = []
    try:
        make_certs(d)
        token = secrets.token_hex(16)
        write(f"{d}/token", token + "\n", 0o600)
        write(f"{d}/wrong-token", secrets.token_hex(16) + "\n", 0o600)
        make_state(agent, f"{d}/root")
        serve_port = start_serve(procs, agent, f"{d}/root", d)
        check_serve(serve_port, d, token)
        prom = Prometheus(start_prometheus(procs, d, serve_port))
        started = time.time()
        check_scrape(prom, procs, report)
        report.insert(0, f"Prometheus {run(['prometheus', '--version']).split()[2]} scraped "
                         f"https://127.0.0.1:{serve_port}/metrics; up after "
                         f"{time.time() - started:.1f} s")
        check_wrong_token(prom, procs, report)
        check_rules(prom, procs, report)
    except Failure as e:
        print("\n".join(report))
        print(f"FAIL: {e}")
        for log in sorted(f for f in os.listdir(d) if f.endswith(".log")):
            print(f"--- {log} (tail)\n" + open(os.path.join(d, log)).read()[-3000:])
        return 1
    finally:
        procs.stop()
        shutil.rmtree(d, ignore_errors=True)
    print("\n".join(report))
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
