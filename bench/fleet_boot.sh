#!/bin/bash
# Issue 18's fleet benchmark: the time until every node of the PXE fleet is scraped by
# Prometheus as intended (healthy, or failed where its policy is broken), next to the time one
# node takes alone, on the same machine in the same run; and the memory of the qemu processes.
#
# Usage: bench/fleet_boot.sh       (root; the PXE bundle built: make image PROFILE=pxe; make build)
#   QA_PORT (default 18280), QA_TIMEOUT (default 900), ACCEL (default auto)
#
# Runs qa/fleet-test.sh twice, checks included: one node ("pass") alone, then the three nodes at
# once, and prints both times from Prometheus's point of view (qa/fleet/prometheus_scrape.py: from
# the first qemu's start until the last node is scraped as intended), their ratio, and the peak
# RSS of each qemu. Exits non-zero when either run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export QA_PORT=${QA_PORT:-18280} QA_TIMEOUT=${QA_TIMEOUT:-900} PROFILE=pxe IMAGE=build/pxe/image.raw
[[ -f $IMAGE ]] || { echo "bench: no $IMAGE (make image PROFILE=pxe)" >&2; exit 2; }
declare -A secs mem
for nodes in "pass" "pass keep broken"; do
    log=$(mktemp)
    QA_FLEET_NODES=$nodes qa/fleet-test.sh 2>&1 | tee "$log" | grep -E 'fleet: all|peak RSS|PASS|FAIL' || true
    (( PIPESTATUS[0] == 0 )) || { echo "bench: qa/fleet-test.sh with nodes '$nodes' failed (log $log)" >&2; exit 1; }
    secs[$nodes]=$(sed -n 's/^ *fleet: all [0-9]* nodes scraped as intended \([0-9.]*\) s.*/\1/p' "$log")
    mem[$nodes]=$(sed -n 's/.*qemu peak RSS (VmHWM): //p' "$log")
    rm -f "$log"
done
echo "one node alone:  scraped as intended after ${secs[pass]} s; qemu peak RSS ${mem[pass]}"
echo "three at once:   all scraped as intended after ${secs[pass keep broken]} s; qemu peak RSS ${mem[pass keep broken]}"
awk -v a="${secs[pass]}" -v b="${secs[pass keep broken]}" 'BEGIN { printf "ratio three/one: %.2fx (%d CPUs here)\n", b / a, '"$(nproc)"' }'
