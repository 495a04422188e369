#!/usr/bin/env python3
"""Ask a running qemu one QMP question and print the answer's "return" as JSON.

  image/qmp.py SOCKET COMMAND [ARGUMENTS-JSON]     e.g.  image/qmp.py qmp.sock query-status

QMP is qemu's own JSON protocol on a unix socket (-qmp unix:SOCKET,server=on,wait=off): read the
greeting, negotiate with qmp_capabilities, send the command, skip asynchronous events until the
answer. Exit 0 with the answer; 1 with a message when qemu is not there or answered an error.
Used by image/accel.sh (is the KVM trial guest still running?) and image/run.sh (did KVM stop the
guest on an internal error after start?).
"""
import json
import socket
import sys


def ask(path, command, arguments=None, timeout=5.0):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rw")

        def answer():
            while True:
                line = f.readline()
                if not line:
                    raise ConnectionError("qemu closed the QMP socket")
                msg = json.loads(line)
                if "return" in msg or "error" in msg:
                    return msg

        if "QMP" not in json.loads(f.readline() or "{}"):
            raise ConnectionError("no QMP greeting")
        f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
        f.flush()
        answer()
        req = {"execute": command}
        if arguments is not None:
            req["arguments"] = arguments
        f.write(json.dumps(req) + "\n")
        f.flush()
        msg = answer()
        if "error" in msg:
            raise RuntimeError(f"{command}: {msg['error'].get('desc', msg['error'])}")
        return msg["return"]


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    try:
        ret = ask(argv[0], argv[1], json.loads(argv[2]) if len(argv) == 3 else None)
    except (OSError, ValueError, ConnectionError, RuntimeError) as e:
        print(f"qmp.py: {argv[0]}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(ret))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
