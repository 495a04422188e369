#!/usr/bin/env python3
"""Abuse figures for `gpuhost-agent serve`, one or more agent binaries side by side, nginx as
the reference in the same run (issue 14: "fair under abuse").

Usage: bench/serve_abuse.py STATE_DIR LABEL=AGENT [LABEL=AGENT ...]
  e.g. bench/serve_abuse.py /tmp/state before=/tmp/old/gpuhost-agent after=build/agent/gpuhost-agent
  NGINX=0 leaves nginx out. HOLD=600 sets the number of idle connections held.

STATE_DIR holds a state.json (bench/serve_bench.sh makes one from the H200 capture). Every server
runs plain HTTP on loopback (the "before" agent had no TLS); each scenario starts a fresh server.

Scenarios, each printed as one line per server:
  idle-flood   one address (127.0.0.1) opens HOLD connections and sends nothing; then 40 fresh
               /healthz requests from that address and 40 from another (127.0.0.2), each with a
               2 s deadline: how many got 200/503, how many were reset, refused or timed out, and
               the slowest answer. The product wants every one answered (never a reset).
  unread       64 connections each pipeline 400 GET /metrics and never read: the kernel memory
               the server's sockets take (TCP "mem" in /proc/net/sockstat, pages -> KiB) and the
               server's peak RSS after 3 s; then /healthz from a fresh connection.
  half-bind    serve --listen 127.0.0.1:P --listen 192.0.2.1:P (an address this machine does not
               have yet): does it serve on the first?
Exits 0 (figures, not a pass/fail test); 2 when something could not run.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOLD = int(os.environ.get("HOLD", "600"))
PORT = 18490


def die(msg):
    print("serve_abuse: " + msg, file=sys.stderr)
    sys.exit(2)


def wait_port(port, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def rss_kib(pid, key="VmHWM"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def tcp_mem_kib():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return -1


class Server:
    """One server process on PORT: an agent (`serve`) or nginx."""

    def __init__(self, kind, binary, state_dir, tmp, extra_listen=(), extra=()):
        self.kind, self.tmp = kind, tmp
        if kind == "nginx":
            conf = os.path.join(tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(f"""worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-tmp;
  server {{
    listen 127.0.0.1:{PORT};
    location = /healthz {{ return 200 "ok\\n"; }}
    location = /metrics {{ root {tmp}/www; default_type text/plain; }}
  }}
}}
""")
            subprocess.run(["nginx", "-c", conf, "-p", tmp, "-e", f"{tmp}/nginx-error.log"],
                           check=True)
            for _ in range(50):
                if os.path.exists(f"{tmp}/nginx.pid"):
                    break
                time.sleep(0.1)
            with open(f"{tmp}/nginx.pid") as f:
                master = int(f.read())
            # The worker answers; its RSS is the one to compare.
            kids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
            self.pid = int(kids.stdout.split()[0]) if kids.stdout.split() else master
            self.master = master
            self.proc = None
        else:
            cmd = [binary, "serve", "--listen", f"127.0.0.1:{PORT}", "--state-dir", state_dir,
                   "--no-libvirt"]
            for l in extra_listen:
                cmd += ["--listen", l]
            cmd += list(extra)
            self.log = open(os.path.join(tmp, "serve.log"), "w+")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
            self.pid = self.proc.pid
        self.up = wait_port(PORT)

    def stderr(self):
        if self.proc is None:
            return ""
        self.log.seek(0)
        return self.log.read().strip().replace("\n", " | ")

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        else:
            os.kill(self.master, signal.SIGTERM)
            time.sleep(0.3)
        time.sleep(0.3)


def tls_args(tmp):
    """A throwaway certificate, key and token for serve."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{tmp}/k.pem", "-out",
                    f"{tmp}/c.pem", "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    with open(f"{tmp}/token", "w") as f:
        f.write("0123456789abcdef0123456789abcdef\n")
    return ["--tls-cert", f"{tmp}/c.pem", "--tls-key", f"{tmp}/k.pem", "--token-file",
            f"{tmp}/token"]


def one_healthz(src):
    """One fresh connection from src: ('200'|'503'|'reset'|'refused'|'timeout'|..., seconds)."""
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(2.0)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", PORT))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 8:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        if not data:
            return "closed", time.monotonic() - t0
        code = data.split(b" ")[1].decode(errors="replace")
        body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        # 503 is also /healthz's verdict on a stale state file: tell a
        # refusal ("too many connections") from an answer.
        if code == "503":
            code = "503-busy" if body.startswith(b"too many") else "503-health"
        return code, time.monotonic() - t0
    except ConnectionResetError:
        return "reset", time.monotonic() - t0
    except ConnectionRefusedError:
        return "refused", time.monotonic() - t0
    except socket.timeout:
        return "timeout", time.monotonic() - t0
    except OSError as e:
        return type(e).__name__, time.monotonic() - t0
    finally:
        s.close()


def tally(results):
    counts = {}
    for r, _ in results:
        counts[r] = counts.get(r, 0) + 1
    slowest = max(t for _, t in results) * 1000
    return " ".join(f"{k}:{v}" for k, v in sorted(counts.items())) + f" (slowest {slowest:.0f} ms)"


def idle_flood(srv):
    held = []
    opened = 0
    for _ in range(HOLD):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", PORT))
            held.append(s)
            opened += 1
        except OSError:
            s.close()
    time.sleep(1.0)  # let the server accept what it will
    same = [one_healthz("127.0.0.1") for _ in range(40)]
    other = [one_healthz("127.0.0.2") for _ in range(40)]
    alive = srv.proc is None or srv.proc.poll() is None
    for s in held:
        s.close()
    return (f"held {opened}; /healthz same address: {tally(same)}; other address: {tally(other)}"
            + ("" if alive else "; SERVER EXITED"))


def unread(srv):
    before = tcp_mem_kib()
    req = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 400
    conns = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        try:
            s.send(req)
        except BlockingIOError:
            pass
        conns.append(s)
    time.sleep(3.0)
    grown = tcp_mem_kib() - before
    hwm = rss_kib(srv.pid)
    after = one_healthz("127.0.0.1")
    for s in conns:
        s.close()
    return f"socket memory +{grown} KiB, server peak RSS {hwm} KiB, then /healthz: {after[0]} in {after[1] * 1000:.0f} ms"


def main():
    if len(sys.argv) < 3:
        die(__doc__.split("\n\n")[1])
    state_dir = sys.argv[1]
    if not os.path.isfile(os.path.join(state_dir, "state.json")):
        die(f"{state_dir}/state.json missing")
    servers = [a.split("=", 1) for a in sys.argv[2:]]
    if os.environ.get("NGINX", "1") != "0":
        if not shutil.which("nginx"):
            die("nginx not installed (apt-get install nginx-light)")
        servers.append(["nginx", "nginx"])
    # Raise our own fd limit: HOLD connections from this process.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    # nginx serves the bytes the last agent serves as /metrics.
    with tempfile.TemporaryDirectory(prefix="serve-abuse.") as tmp:
        srv = Server("agent", servers[-2 if servers[-1][0] == "nginx" else -1][1], state_dir, tmp)
        try:
            if not srv.up:
                die("serve did not start: " + srv.stderr())
            with socket.create_connection(("127.0.0.1", PORT), timeout=2) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            metrics = data.split(b"\r\n\r\n", 1)[1]
        finally:
            srv.stop()
    print(f"serve_abuse: {os.cpu_count()} CPUs, HOLD={HOLD}, plain HTTP on 127.0.0.1:{PORT}")
    for name, fn in (("idle-flood", idle_flood), ("unread", unread), ("half-bind", None)):
        print(name)
        for label, binary in servers:
            with tempfile.TemporaryDirectory(prefix="serve-abuse.") as tmp:
                os.chmod(tmp, 0o755)
                if label == "nginx":
                    if fn is None:
                        continue
                    os.makedirs(os.path.join(tmp, "www"))
                    with open(os.path.join(tmp, "www", "metrics"), "wb") as f:
                        f.write(metrics)
                    srv = Server("nginx", None, state_dir, tmp)
                elif fn is None:
                    # 192.0.2.1 is not on this machine; beyond loopback the new agent
                    # wants TLS and a token, so it gets them (the old one had neither).
                    tls = [] if label == "before" else tls_args(tmp)
                    srv = Server("agent", binary, state_dir, tmp,
                                 extra_listen=[f"192.0.2.1:{PORT}"], extra=tls)
                else:
                    srv = Server("agent", binary, state_dir, tmp)
                try:
                    if fn is None:
                        time.sleep(2.5)  # past one retry of the unbindable address
                        alive = srv.proc.poll() is None
                        try:
                            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                            accepts = alive
                        except OSError:
                            accepts = False
                        line = (f"serves on 127.0.0.1: {'yes' if accepts else 'no'}"
                                f"{'' if alive else ', exited'}; stderr: {srv.stderr()[:160]}")
                    elif not srv.up:
                        line = "did not start: " + srv.stderr()[:200]
                    else:
                        line = fn(srv)
                finally:
                    srv.stop()
                print(f"  {label:8} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
