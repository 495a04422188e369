#!/usr/bin/env python3
"""qa/lib.sh's qa_kernel_only_panic on real serial logs: a boot is started again only when the
kernel panicked before it ran /init (nothing from the disk ran), never for a later panic or a
boot that did not panic. Fixtures: tests/qa/data/ (panic-before-init.log is a CI boot of
2026-12-01, "Oops: int3" in sched_clock_cpu under TCG; booted.log the first 700 lines of the
boot before it; panic-after-init.log the latter with that panic appended after /init)."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
lib = os.path.join(here, "..", "..", "qa", "lib.sh")


def kernel_only_panic(log):
    # Only the function, not the whole lib.sh (which starts a qa run when sourced).
    script = f"source <(sed -n '/^qa_kernel_only_panic()/,/^}}/p' {lib}); qa_kernel_only_panic \"$1\""
    return subprocess.run(["bash", "-c", script, "test", log]).returncode == 0


cases = {"panic-before-init.log": True, "booted.log": False, "panic-after-init.log": False,
         "missing.log": False}
bad = 0
for name, want in cases.items():
    got = kernel_only_panic(os.path.join(here, "data", name))
    print(f"{'ok' if got == want else 'FAIL'}: {name}: kernel-only panic {got}, expected {want}")
    bad += got != want
sys.exit(1 if bad else 0)
