#!/usr/bin/env python3
"""image/boot-timing.py: where a boot's time went, from a guest report like the one image/boot-timing.sh
writes. The real report is read in every `make qa` and `make run` boot; these cases pin the phase
arithmetic, the firmware-and-loader measure from the host's clock, and the refusals.
Run by ctest (tests/CMakeLists.txt)."""
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "image", "boot-timing.py")

# Monotonic microseconds: initrd at 14.75 s, userspace at 51.9 s, the agent 96.6 -> 126.9 s,
# serve ready at 130.5 s (figures of a real TCG first boot, build/qa/kvm-host/first/timing.txt).
UNITS = """unit gpuhost-agent.service InactiveExitTimestampMonotonic=96626044 ActiveEnterTimestampMonotonic=126953354
unit gpuhost-serve.service InactiveExitTimestampMonotonic=127254341 ActiveEnterTimestampMonotonic=130477488
unit multi-user.target InactiveExitTimestampMonotonic=139180064 ActiveEnterTimestampMonotonic=139180064
net 122.151279
"""


def report(manager, clock=None, end=True):
    text = (f"clock {clock}\n" if clock else "") + f"manager {manager}\n" + UNITS
    return text + ("GPUHOST-TIMING-END\n" if end else "")


NO_LOADER = ("FirmwareTimestampMonotonic=0 LoaderTimestampMonotonic=0 "
             "InitRDTimestampMonotonic=14753969 UserspaceTimestampMonotonic=51915954")


def run(text, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.executable, TOOL, f.name, *args], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return p.returncode, p.stdout, p.stderr


class BootTimingTest(unittest.TestCase):
    def test_systemd_boot_timestamps_give_firmware_and_loader(self):
        rc, out, _ = run(report("FirmwareTimestampMonotonic=3000000 LoaderTimestampMonotonic=1000000 "
                                "InitRDTimestampMonotonic=14753969 UserspaceTimestampMonotonic=51915954"),
                         "140000", "run")
        self.assertEqual(rc, 0)
        self.assertIn("run: time to the page: 140.0 s", out)
        self.assertIn("firmware 2.0 s, loader 1.0 s, kernel 14.8 s, initrd 37.2 s, "
                      "userspace to agent 44.7 s, agent 30.3 s, agent to serve ready 3.5 s, "
                      "to the host's first answer 6.5 s", out)

    def test_without_loader_timestamps_the_hosts_clock_measures_them(self):
        # The guest's wall clock says the kernel started at 1000.0 s (1200 s now, 200 s up);
        # qemu started at 990.5 s on the host's: 9.5 s of firmware and loader.
        rc, out, _ = run(report(NO_LOADER, clock="1200000000000 200.00"), "150000", "qa[first]",
                         "990500")
        self.assertEqual(rc, 0)
        self.assertIn("qa[first]:   firmware and loader 9.5 s, kernel 14.8 s, initrd 37.2 s", out)
        self.assertIn("to the host's first answer 10.0 s", out)
        self.assertNotIn("not measured", out)

    def test_without_either_it_says_they_were_not_measured(self):
        rc, out, _ = run(report(NO_LOADER), "150000", "run")
        self.assertEqual(rc, 0)
        self.assertNotIn("firmware", out.split("(")[0].split("\n")[1])
        self.assertIn("(firmware and loader not measured: included in the last)", out)
        self.assertIn("to the host's first answer 19.5 s", out)

    def test_incomplete_report_is_refused(self):
        rc, _, err = run(report(NO_LOADER, end=False), "150000")
        self.assertEqual(rc, 1)
        self.assertIn("no complete timing report", err)

    def test_report_without_the_agent_is_refused(self):
        text = report(NO_LOADER).replace("unit gpuhost-agent.service", "unit other.service")
        rc, _, err = run(text, "150000")
        self.assertEqual(rc, 1)
        self.assertIn("missing 'gpuhost-agent.service'", err)


if __name__ == "__main__":
    unittest.main()
