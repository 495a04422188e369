#!/usr/bin/python3
"""A real HTTPS policy server for the agent's fleet tests (tests/fleet/policy_fetch_test.cc).

  policy_server.py DIR

Makes, under DIR/pki, a throwaway CA and a certificate from it for 127.0.0.1 and localhost, and a
second CA with its own certificate for the same names ("wrong CA"). Serves DIR/www over HTTPS on
two ephemeral loopback ports: the first with the good certificate, the second with the wrong
one. Prints "ready GOOD_PORT WRONG_PORT" once both listen, then serves until killed.

Special paths, whatever is in DIR/www:
  /slow/...      sends the headers, then one byte every 2 s for a minute (a dripping server)
  /stall/...     accepts and says nothing for a minute
  /huge/...      a 2 MiB body with its Content-Length
  /huge-chunked/ 2 MiB, chunked (no Content-Length)
  /redirect/...  302 to http://127.0.0.1/elsewhere
  /error/...     500
Every request is logged to DIR/requests.log as "PORT PATH".
"""
import http.server
import os
import socketserver
import ssl
import subprocess
import sys
import threading
import time


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki(d, name):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ca, key = f"{d}/{name}-ca.crt", f"{d}/{name}-ca.key"
    run("openssl", "req", "-x509", *ec, "-keyout", key, "-out", ca, "-days", "2",
        "-subj", f"/CN=gpuhost test {name} CA")
    run("openssl", "req", *ec, "-keyout", f"{d}/{name}-server.key", "-out", f"{d}/{name}-server.csr",
        "-subj", "/CN=127.0.0.1")
    ext = f"{d}/{name}-ext.cnf"
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", f"{d}/{name}-server.csr", "-CA", ca, "-CAkey", key,
        "-CAcreateserial", "-out", f"{d}/{name}-server.crt", "-days", "2", "-extfile", ext)
    return f"{d}/{name}-server.crt", f"{d}/{name}-server.key"


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with open(self.server.log_path, "a") as f:
            f.write(f"{self.server.server_address[1]} {self.path}\n")

    def do_GET(self):
        p = self.path
        if p.startswith("/slow/"):
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(30):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(2)
            return
        if p.startswith("/stall/"):
            time.sleep(60)
            return
        if p.startswith("/huge/"):
            body = b" " * (2 << 20)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass
            return
        if p.startswith("/huge-chunked/"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(32):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if p.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if p.startswith("/error/"):
            self.send_error(500)
            return
        super().do_GET()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(www, cert, key, log_path):
    handler = lambda *a, **k: Handler(*a, directory=www, **k)  # noqa: E731
    srv = Server(("127.0.0.1", 0), handler)
    srv.log_path = log_path
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    d = sys.argv[1]
    os.makedirs(f"{d}/pki", exist_ok=True)
    os.makedirs(f"{d}/www", exist_ok=True)
    good = make_pki(f"{d}/pki", "good")
    wrong = make_pki(f"{d}/pki", "wrong")
    log = f"{d}/requests.log"
    ports = [serve(f"{d}/www", *good, log), serve(f"{d}/www", *wrong, log)]
    print("ready", *ports, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
