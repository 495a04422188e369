#!/bin/bash
# On a machine with an NVIDIA GPU and its driver: gpuhost-agent's NVML path end to end, as
#   qa/nvml-device-check.sh [AGENT]      (AGENT default: build/agent/gpuhost-agent; OUT=DIR keeps files)
# gpu-status (text and --json), then `apply --dry-run --json` as a state file and `serve` on
# 127.0.0.1:18381 reading NVML itself: prints the API's "nvidia" object and the NVIDIA metrics next to
# nvidia-smi's view. Changes nothing on the machine (dry run; serve on loopback, stopped at the end).
# The run of 2026-11-26 on an H200 is in tests/data/captures/h200-firecracker/device-run/serve-*.
set -u
a=${1:-build/agent/gpuhost-agent}
o=${OUT:-$(mktemp -d)}
mkdir -p "$o"
nvidia-smi --query-gpu=pci.bus_id,name,driver_version,memory.used,memory.total,utilization.gpu,temperature.gpu,mig.mode.current \
    --format=csv >"$o/nvidia-smi.csv" 2>&1
cat "$o/nvidia-smi.csv"
echo "== gpu-status"
"$a" gpu-status
echo "rc=$?"
"$a" gpu-status --json >"$o/gpu-status.json"
echo "gpu-status --json rc=$?"
cat "$o/gpu-status.json"
state=$(mktemp -d)
"$a" apply --dry-run --json >"$state/state.json" 2>"$o/apply-stderr.txt"
echo "== apply --dry-run --json rc=$?"
"$a" serve --listen 127.0.0.1:18381 --state-dir "$state" >"$o/serve.log" 2>&1 &
pid=$!
# The first request starts serve's NVML reading in the background; poll until it landed.
for _ in $(seq 1 40); do
    if curl -fsS http://127.0.0.1:18381/api/v1/status -o "$o/api.json" 2>/dev/null &&
        python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["nvidia"]["status"] == "pending")' "$o/api.json"; then
        break
    fi
    sleep 0.5
done
curl -sS http://127.0.0.1:18381/metrics -o "$o/metrics.txt"
curl -sS http://127.0.0.1:18381/ -o "$o/page.html"
kill "$pid"
rm -rf "$state"
echo "== serve: /api/v1/status .nvidia"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["nvidia"], indent=1))' "$o/api.json"
echo "== serve: /metrics"
grep -E '^gpuhost_(nvidia|nvml)' "$o/metrics.txt"
echo "files in $o"
