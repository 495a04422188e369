#!/bin/bash
# qa/retry-on-panic.sh COMMAND...: run a qa boot test; when it failed because the guest kernel
# panicked (qa/lib.sh's qa_expired says "the guest kernel panicked"), run it once more, loudly.
# (A panic before /init is handled inside the run first: qa/lib.sh boots that one boot again.)
#
# Why: qemu's TCG on a loaded 2-core machine sometimes kills a guest kernel in ways real hardware
# never does: "Oops: int3" in __schedule or sched_clock_cpu (a jump label being patched while the
# other vCPU runs it) and "timer doesn't work through Interrupt-remapped IO-APIC" were each seen
# once in about ten boots (2026-11-26). Any other failure, or a second panic, fails the test.
set -uo pipefail
log=$(mktemp "${TMPDIR:-/tmp}/gpuhost-qa-run.XXXXXX")
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    (( rc == 0 )) && exit 0
    if (( attempt == 1 )) && grep -aq 'FAIL: the guest kernel panicked' "$log"; then
        echo "qa: WARN: $(grep -a -m1 'FAIL: the guest kernel panicked' "$log" | sed 's/.*FAIL: //')" >&2
        echo "qa: WARN: an emulation fault, not a product failure: running '$*' once more" >&2
        continue
    fi
    exit "$rc"
done
