#!/bin/bash
# Runs every fuzz target for SECONDS each, one after the other, and prints
# one line per target: executions per second, corpus, coverage, and the
# crash (with its input's path) when there is one. Exits 1 if any crashed.
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# The corpus each target grows stays in BUILD_DIR/corpus/TARGET for the next
# run; crashing inputs land in BUILD_DIR/crashes/TARGET/. Reproduce one with
#   BUILD_DIR/fuzz/TARGET BUILD_DIR/crashes/TARGET/crash-...
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < "$build/fuzz_targets.txt"

failed=0
summary=()
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t crashes=$build/crashes/$t log=$build/logs/$t.log
  mkdir -p "$corpus" "$crashes" "$build/logs" "$build/seeds/$t"
  dict=()
  [ -f "$src/fuzz/$t.dict" ] && dict=(-dict="$src/fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s (log: $log)"
  # -timeout: an input that takes 10 s is a hang, reported like a crash.
  "$build/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$crashes/" "${dict[@]}" \
    "$corpus" "$build/seeds/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  line=$(printf '%-20s %8s exec/s %10s runs  %-10s corpus %s' "$t" "${rate:-?}" "${execs:-?}" \
    "${cov:-cov: ?}" "$(ls "$corpus" | wc -l)")
  if [ $rc -ne 0 ]; then
    failed=1
    # The most telling line: an escaping exception's what(), UBSan's
    # "runtime error", a target's own check, else the sanitizer's ERROR.
    what=$(grep -m1 -E "what\(\):|runtime error|does not round-trip|CheckHead:" "$log" ||
      grep -m1 -E '^==[0-9]+==ERROR|ERROR: libFuzzer' "$log")
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    line+=$'\n'"    CRASH (exit $rc): ${what:-see the log}"$'\n'"    input: ${artifact:-none written}"
  fi
  summary+=("$line")
done
echo
echo "fuzz summary (${seconds}s per target):"
printf '%s\n' "${summary[@]}"
exit $failed
