#!/usr/bin/python3
"""The fleet's policy server for qa/fleet-test.sh: a directory served over HTTPS, as docs/fleet.md
step 6 tells an operator to serve `make fleet`'s output.

  qa/fleet/policy_server.py DIR CERT KEY PORT LOG

Serves DIR at /nodes/ on 127.0.0.1:PORT (the guests reach it as 10.0.2.2:PORT through qemu's
user network) with CERT/KEY, TLS 1.2 or newer. Every request is appended to LOG as
"PATH STATUS" (the test checks that each node fetched its own file). Prints "ready" once it
listens.
"""
import functools
import http.server
import ssl
import sys

root, cert, key, port, log = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        # Only /nodes/NAME: anything else is a 404, never a listing of the directory.
        if not path.startswith("/nodes/") or path.endswith("/"):
            return "/nonexistent"
        return super().translate_path(path[len("/nodes"):])

    def log_request(self, code="-", size="-"):
        with open(log, "a") as f:
            f.write(f"{self.path} {int(code) if str(code).isdigit() else code}\n")


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(cert, key)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=root))
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
