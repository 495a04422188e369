"""The status page through qemu's port forward, as the host sees it: TLS with the demo CA and
the bearer token that image/vm.sh hands every boot (image/demo-page.sh makes them under
build/demo-page/, or DEMO_PAGE_DIR). fetch(port, path) -> (status, body); status 0 on no answer."""
import os
import ssl
import urllib.error
import urllib.request

_HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.environ.get("DEMO_PAGE_DIR") or os.path.realpath(os.path.join(_HERE, "..", "build", "demo-page"))


def fetch(port, path, token=True):
    ctx = ssl.create_default_context(cafile=os.path.join(DIR, "ca.crt"))
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}")
    if token:
        with open(os.path.join(DIR, "token")) as f:
            req.add_header("Authorization", "Bearer " + f.read().strip())
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)
