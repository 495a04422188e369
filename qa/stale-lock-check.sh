#!/bin/bash
# The lock is a record, not a gate, proven on a real build: `make qa-compare` builds the stock
# trixie image (recipes/bare-trixie) compared against build/qa/stale.lock, a lock whose one line
# names a base-files version the mirror does not have (0~gone). The build must have succeeded
# (this runs after it) and its comparison must name that package, old -> new.
#   qa/stale-lock-check.sh BUILD_DIR      (BUILD_DIR: build/bare-trixie)
set -euo pipefail
dir=${1:?usage: qa/stale-lock-check.sh BUILD_DIR}
moved=$dir/packages.moved
if line=$(grep -m1 '^base-files: 0~gone -> ' "$moved" 2>/dev/null); then
    echo "stale-lock: ok   the build compared against a lock naming base-files 0~gone (not on the mirror) succeeded and named it: $line"
else
    echo "stale-lock: FAIL $moved does not name base-files: 0~gone -> ... (was $dir built by make qa-compare, with GPUHOST_PACKAGES_LOCK_FILE=build/qa/stale.lock? make image-force PROFILE=bare-trixie rebuilds it)" >&2
    exit 1
fi
