#!/usr/bin/env python3
"""Where a boot's time went, from qemu start to the first answer of /healthz.

  image/boot-timing.py REPORT HEALTHZ_MS [LABEL [QEMU_START_MS]]

REPORT is what image/boot-timing.sh wrote in the guest (the virtio port's file); HEALTHZ_MS the
host's measure, qemu start -> first HTTP 200 on /healthz, in milliseconds; QEMU_START_MS the
host's wall clock at qemu's start (ms since the epoch). Prints one line with
the total and one with the phases: firmware, loader, kernel, initrd, userspace until the agent
starts, the agent, the agent until serve is ready, and the rest until the host saw the answer
(qemu's own start, the guest's DHCP lease, the poll). Guest phases come from systemd's
timestamps (CLOCK_MONOTONIC, which starts at the kernel's start; firmware and loader durations
are systemd-boot's, before it). When systemd has no loader timestamps (here: none reach it under
qemu), firmware and loader are one phase, the guest's kernel start on its wall clock minus qemu's
start on the host's (the guest clock is read from the RTC at boot: +-1 s), or "not measured"
without QEMU_START_MS. Exit 1 when the report is incomplete.
"""
import re
import sys


def parse(text):
    manager, units, net, clock = {}, {}, None, None
    for line in text.splitlines():
        line = line.strip("\r")
        kind, _, rest = line.partition(" ")
        props = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        if kind == "manager":
            manager = {k: int(v) for k, v in props.items() if v.isdigit()}
        elif kind == "unit":
            name = rest.split()[0]
            units[name] = {k: int(v) for k, v in props.items() if v.isdigit()}
        elif kind == "net" and re.fullmatch(r"[0-9.]+", rest.strip()):
            net = float(rest.strip())
        elif kind == "clock" and re.fullmatch(r"[0-9]+ [0-9.]+", rest.strip()):
            ns, up = rest.split()
            clock = int(ns) / 1e9 - float(up)  # the kernel's start, guest wall clock (s)
    return manager, units, net, clock


def main(argv):
    if len(argv) not in (2, 3, 4):
        sys.exit(__doc__)
    label = argv[2] if len(argv) >= 3 else "boot"
    qemu_start = int(argv[3]) / 1000 if len(argv) == 4 else None
    healthz = int(argv[1]) / 1000
    try:
        text = open(argv[0], errors="replace").read()
    except OSError as e:
        sys.exit(f"boot-timing: {e}")
    if "GPUHOST-TIMING-END" not in text:
        sys.exit(f"boot-timing: {argv[0]}: no complete timing report from the guest")
    m, u, net, kernel_start = parse(text)
    s = lambda us: us / 1e6  # noqa: E731
    try:
        fw, ld = s(m["FirmwareTimestampMonotonic"]), s(m["LoaderTimestampMonotonic"])
        initrd, user = s(m["InitRDTimestampMonotonic"]), s(m["UserspaceTimestampMonotonic"])
        agent_start = s(u["gpuhost-agent.service"]["InactiveExitTimestampMonotonic"])
        agent_done = s(u["gpuhost-agent.service"]["ActiveEnterTimestampMonotonic"])
        serve_ready = s(u["gpuhost-serve.service"]["ActiveEnterTimestampMonotonic"])
    except KeyError as e:
        sys.exit(f"boot-timing: {argv[0]}: missing {e}")
    # Kernel time 0 is fw seconds after the firmware started (systemd-boot measures both).
    if fw:
        before_kernel = [("firmware", fw - ld), ("loader", ld)]
    elif qemu_start is not None and kernel_start is not None:
        fw = kernel_start - qemu_start
        before_kernel = [("firmware and loader", fw)]
    else:
        before_kernel = []
    phases = before_kernel + [
        ("kernel", initrd if initrd else user),
        ("initrd", user - initrd if initrd else 0.0), ("userspace to agent", agent_start - user),
        ("agent", agent_done - agent_start), ("agent to serve ready", serve_ready - agent_done),
        ("to the host's first answer", healthz - (fw + serve_ready)),
    ]
    print(f"{label}: time to the page: {healthz:.1f} s from qemu start to the first 200 on /healthz")
    note = "" if before_kernel else " (firmware and loader not measured: included in the last)"
    print(f"{label}:   " + ", ".join(f"{n} {v:.1f} s" for n, v in phases) + note)
    extra = []
    if net is not None:
        extra.append(f"DHCP lease at {net:.1f} s")
    for name in ("systemd-udev-settle.service", "sshd-keygen.service", "multi-user.target"):
        t = u.get(name, {}).get("ActiveEnterTimestampMonotonic", 0)
        if t:
            extra.append(f"{name.split('.')[0]} at {s(t):.1f} s")
    if extra:
        print(f"{label}:   kernel clock: agent done at {agent_done:.1f} s, serve ready at {serve_ready:.1f} s, "
              + ", ".join(extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
