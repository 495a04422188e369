#!/bin/bash
# Seed corpora for the fuzz targets, one folder each under OUT, made from
# the project's fixtures (tests/data, ../shared/hardware, docs, test inputs)
# rather than copies of them. Crashing inputs found before (fuzz/regressions/
# TARGET/) are seeds too, so a fixed crash stays fixed.
#   fuzz/collect_seeds.sh BUILD_DIR      (BUILD_DIR holds fuzz/seed_writer)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
out=$build/seeds
hw=$src/../shared/hardware
rm -rf "$out"
mkdir -p "$out"/{policy_fuzz,state_fuzz,inventory_json_fuzz,http_head_fuzz,proc_text_fuzz,libvirt_xml_fuzz}

# Raw strings R"(...)" / R"tag(...)tag" of a C++ file, one seed each.
raw_strings() {  # FILE OUT_DIR PREFIX GREP
  python3 - "$@" <<'PY'
import re, sys
path, out, prefix, want = sys.argv[1:5]
text = open(path).read()
for i, m in enumerate(re.finditer(r'R"([^(\s]*)\((.*?)\)\1"', text, re.S)):
    if re.search(want, m.group(2)):
        open(f"{out}/{prefix}-{i}", "w").write(m.group(2))
PY
}

# Fenced ```json blocks of a Markdown file.
json_blocks() {  # FILE OUT_DIR PREFIX
  python3 - "$@" <<'PY'
import re, sys
path, out, prefix = sys.argv[1:4]
for i, b in enumerate(re.findall(r'```json\n(.*?)```', open(path).read(), re.S)):
    open(f"{out}/{prefix}-{i}.json", "w").write(b)
PY
}

# The /proc and /sys files the text readers read, as one MemFs bundle
# (fuzz/mem_fs.h): text files with their contents, links with targets.
bundle() {  # TREE > BUNDLE
  local tree=$1 p
  cd "$tree"
  for p in proc/cpuinfo proc/meminfo proc/iomem proc/cmdline proc/sys/kernel/osrelease \
           proc/self/mountinfo proc/net/route proc/driver/nvidia/gpus/*/information \
           sys/devices/system/node/node*/cpulist sys/kernel/iommu_groups/*/type \
           sys/kernel/iommu_groups/*/devices/* sys/class/iommu/* sys/dev/block/* \
           sys/class/block/* sys/block/*/slaves/* sys/class/net/* dev/kvm \
           sys/bus/pci/devices/* sys/bus/pci/devices/*/{driver,iommu_group,boot_vga} \
           sys/bus/pci/devices/*/drm/* sys/bus/pci/devices/*/sound/* dev/snd/*; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    if [ -L "$p" ]; then
      echo "@@ /$p -> $(readlink "$p")"
    elif [ -f "$p" ] && [ -r "$p" ]; then
      echo "@@ /$p"
      head -c 16384 "$p" 2>/dev/null | tr -d '\000' || true
    else
      echo "@@ /$p"
    fi
  done
  cd - >/dev/null
}

# Real trees: the H200 capture, the hwloc server captures (extracted once
# into the build folder: each tarball holds one top folder).
trees=("$src/tests/data/captures/h200-firecracker/tree")
mkdir -p "$build/hardware"
for t in "$hw"/sysfs/*.tar.bz2; do
  top=$(tar tjf "$t" | awk -F/ 'NR == 1 { print $1 }')
  [ -d "$build/hardware/$top" ] || tar xjf "$t" -C "$build/hardware"
  trees+=("$build/hardware/$top")
done

for t in "${trees[@]}"; do
  bundle "$t" > "$out/proc_text_fuzz/$(basename "$(dirname "$t")")-$(basename "$t").bundle"
done
# This machine's own /proc and /sys: a real mountinfo and route table.
bundle / > "$out/proc_text_fuzz/build-machine.bundle"

json_blocks "$src/docs/policy.md" "$out/policy_fuzz" docs
raw_strings "$src/tests/plan/policy_test.cc" "$out/policy_fuzz" test '^\s*[\[{]'
json_blocks "$src/docs/inventory-json.md" "$out/inventory_json_fuzz" docs

raw_strings "$src/tests/libvirt/virt_test.cc" "$out/libvirt_xml_fuzz" test '<'

# Request heads: what browsers and curl send, and the refusals the tests name.
h=$out/http_head_fuzz
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n' > "$h/curl"
printf 'GET /api/v1/status HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\nRange: bytes=0-1,2-3\r\nIf-Range: "x"\r\n\r\n' > "$h/range"
printf 'POST /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n' > "$h/body"
printf 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n folded\r\nX : y\r\n\r\n' > "$h/smuggle"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' > "$h/response"

# libFuzzer reads the policy and state seeds the seed writer makes from them.
# Leak checks off for it: it runs the real inventory, and libpci's udev
# context (udev_new() inside libpci, 16 bytes per pci_access) is never freed
# by pci_cleanup(); LeakSanitizer failed the seed step on that alone. The
# fuzz targets keep their leak checks.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
  "$build/fuzz/seed_writer" "$out" "$out/policy_fuzz" "${trees[@]}"

for d in "$src"/fuzz/regressions/*/; do
  [ -d "$d" ] && cp "$d"* "$out/$(basename "$d")/" 2>/dev/null || true
done
for d in "$out"/*/; do echo "seeds: $(basename "$d"): $(ls "$d" | wc -l) files, $(du -sk "$d" | cut -f1) KiB"; done
