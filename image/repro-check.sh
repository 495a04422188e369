#!/bin/bash
# `make image-repro`: build the same commit twice from scratch and compare the results.
#
#   image/repro-check.sh            (PROFILE, IMAGE_PROFILES as for image/mkosi.sh; REV default HEAD)
#
# Both builds take the agent sources from git (GPUHOST_SRC_REV=REV, so the working tree may be
# mid-edit), get SOURCE_DATE_EPOCH from that commit, and start without mkosi's incremental cache
# or the CMake build directory (their own directories under build/repro/; the downloaded .debs
# are shared, which changes nothing about what gets installed). Required to match: the package
# manifest (image.manifest, byte for byte). Reported, not required: the UKI's kernel, the agent
# binary (/usr/bin/gpuhost-agent inside image.raw's root file system is not extracted here; the
# UKI and vmlinuz are compared), image.raw itself (ext4 and GPT UUIDs are random per build).
# Exit 0 when the manifests match. The build directories are removed afterwards unless KEEP=1.
#
# The second build also proves the lock is a record, not a gate: it is compared against a copy
# of the recipe's lock in which one package (base-files) names a version the mirror does not
# have ("0~gone"); the build must succeed and its report must name that package, old -> new.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
profile=${PROFILE:-kvm-host}
variant=$profile
[[ -z ${IMAGE_PROFILES:-} ]] || variant+="+${IMAGE_PROFILES//,/+}"
rev=$(git -C "$root" rev-parse --verify "${REV:-HEAD}^{commit}")
t_all=$(date +%s)
mkdir -p "$root/build/repro"

lock=$root/recipes/$profile/packages${variant#"$profile"}.lock
stale_lock=$root/build/repro/stale.lock
if [[ -f $lock ]]; then
    sed 's/^base-files [^ ]* /base-files 0~gone /' "$lock" >"$stale_lock"
    grep -q '^base-files 0~gone ' "$stale_lock" || { echo "repro-check: no base-files line in $lock" >&2; exit 1; }
else
    echo "repro-check: no lock at $lock: the stale-lock check needs one (make image-lock)" >&2
    exit 1
fi

declare -A secs
for run in a b; do
    name=repro/$variant-$run
    stale=()
    [[ $run == a ]] || stale=(GPUHOST_PACKAGES_LOCK_FILE="$stale_lock")
    rm -rf "$root/build/$name" "$root/build/cache/mkosi/$name" "$root/build/cache/builddir/$name"
    echo "repro-check: build $run of $rev ($variant) into build/$name" >&2
    t0=$(date +%s)
    env "${stale[@]}" PROFILE=$profile GPUHOST_SRC_REV=$rev GPUHOST_OUTPUT_NAME=$name \
        "$here/mkosi.sh" -f build >"$root/build/repro/$variant-$run.log" 2>&1 ||
        { tail -n 40 "$root/build/repro/$variant-$run.log" >&2; echo "repro-check: build $run failed (log: build/repro/$variant-$run.log)" >&2; exit 1; }
    secs[$run]=$(( $(date +%s) - t0 ))
    echo "repro-check: build $run took ${secs[$run]} s" >&2
done

rc=0
moved=$root/build/repro/$variant-b/packages.moved
if grep -q '^base-files: 0~gone -> ' "$moved" 2>/dev/null && grep -q '^packages-lock: .* moved' "$root/build/repro/$variant-b.log"; then
    echo "repro-check: ok   a lock naming base-files 0~gone (not on the mirror) did not stop build b; its report: $(grep -m1 '^packages-lock: .* moved' "$root/build/repro/$variant-b.log" | sed 's/^packages-lock: //'); $moved: $(grep -m1 '^base-files: ' "$moved")"
else
    echo "repro-check: FAIL build b did not report base-files 0~gone -> ... (log: build/repro/$variant-b.log, $moved):"
    grep '^packages-lock' "$root/build/repro/$variant-b.log" || true
    rc=1
fi

a=$root/build/repro/$variant-a
b=$root/build/repro/$variant-b
if cmp -s "$a/image.manifest" "$b/image.manifest"; then
    echo "repro-check: ok   image.manifest identical ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$a/image.manifest") packages, sha256 $(sha256sum <"$a/image.manifest" | cut -c1-16))"
else
    echo "repro-check: FAIL image.manifest differs:"
    diff -u "$a/image.manifest" "$b/image.manifest" | head -n 40 || true
    rc=1
fi
for f in image.vmlinuz image.initrd image.efi image.raw; do
    if cmp -s "$a/$f" "$b/$f"; then
        echo "repro-check: info $f identical"
    else
        echo "repro-check: info $f differs (not required)"
    fi
done
echo "repro-check: $(( $(date +%s) - t_all )) s in all (builds: ${secs[a]} s, ${secs[b]} s)"
if [[ ${KEEP:-0} != 1 ]]; then
    for run in a b; do
        rm -rf "$root/build/repro/$variant-$run" "$root/build/cache/mkosi/repro/$variant-$run" \
            "$root/build/cache/builddir/repro/$variant-$run"
    done
fi
exit $rc
