#!/bin/bash
# Inventory speed next to lspci reading the same sysfs, in the same run.
# Usage: bench/inventory_bench.sh [AGENT] [LSPCI] [PCI_IDS] [N]
# Prints ms per run for each and the ratio (agent / lspci).
set -euo pipefail
AGENT=${1:-build/agent/gpuhost-agent}
LSPCI=${2:-lspci}
IDS=${3:-/usr/share/misc/pci.ids}
N=${4:-200}
ms_per_run() {  # command... -> average milliseconds
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < N; i++)); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo $(((end - start) / N / 1000))
}
"$AGENT" inventory --json --pci-ids "$IDS" >/dev/null  # warm the page cache
agent_us=$(ms_per_run "$AGENT" inventory --json --pci-ids "$IDS")
lspci_us=$(ms_per_run "$LSPCI" -i "$IDS" -D -nn -vvv)
lspci_k_us=$(ms_per_run "$LSPCI" -i "$IDS" -D -nn -k)
rss_kb=-
if [ -x /usr/bin/time ]; then
  rss_kb=$(/usr/bin/time -f %M "$AGENT" inventory --json --pci-ids "$IDS" 2>&1 >/dev/null | tail -1)
fi
functions=$("$LSPCI" -D | wc -l)
printf 'functions: %s, runs: %s\n' "$functions" "$N"
printf 'gpuhost-agent inventory --json: %6d us/run  (peak RSS %s KiB)\n' "$agent_us" "$rss_kb"
printf 'lspci -D -nn -vvv:              %6d us/run\n' "$lspci_us"
printf 'lspci -D -nn -k:                %6d us/run\n' "$lspci_k_us"
awk -v a="$agent_us" -v l="$lspci_us" -v k="$lspci_k_us" \
  'BEGIN { printf "ratio agent/lspci-vvv: %.2f   agent/lspci-k: %.2f\n", a / l, a / k }'
