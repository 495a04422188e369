#!/bin/bash
# Run mkosi 25 from the trixie tools tree (image/tools-tree.sh) on this bookworm machine.
#
#   image/mkosi.sh [-p PROFILE] [MKOSI-ARGS...]      (default PROFILE=kvm-host, default verb: build)
#
# How (see /work/shared/notes/gpu-host-facts.md, "Building trixie images on a bookworm machine"):
# in a private mount namespace the tools tree is bind-mounted onto itself (mkosi's sandbox needs
# "/" to be a mount point, else mount("/", MS_SLAVE) fails with EINVAL), /dev /proc /sys are
# rbind-mounted into it, the project directory is bind-mounted at the same path, and mkosi runs
# under chroot. All mounts vanish with the namespace: nothing to clean up on the host.
#
# The sandbox tree build/cache/sandbox/ carries etc/apt/sources.list.d/mkosi.sources: with that
# file present mkosi uses it instead of its default list, which would add debian-debug and
# security.debian.org (neither is reachable here). All four components for every recipe (the
# nvidia recipe needs contrib and non-free): one list, so one sandbox for every cache key.
#
# Environment:
#   GPUHOST_MIRROR         Debian mirror (default: the one this machine's apt uses)
#   GPUHOST_ROOT_PASSWORD  set a root password in the image (development only; default: root locked)
#   GPUHOST_CMAKE_ARGS     extra -D arguments for the agent's CMake configure (whitespace-split)
#   IMAGE_PROFILES         mkosi profiles of the recipe to enable, comma-separated (e.g. virt);
#                          outputs and caches then go to build/<recipe>+<profile>[+...]/
#   GPUHOST_SRC_REV        build the agent from this git revision (e.g. HEAD) instead of the
#                          working tree, which may be mid-edit; exported to build/cache/src-rev/REV/
#                          (the recipe itself still comes from the working tree; the package
#                          lock and finalize checks read the sources, i.e. that revision's lock)
#   SOURCE_DATE_EPOCH      default: the commit time of GPUHOST_SRC_REV (or HEAD); mkosi clamps
#                          every file's mtime to it
#   GPUHOST_LOCK           record (default) or strict. record: the build follows the mirror and
#                          prints afterwards what moved since recipes/<recipe>/packages[+<profile>
#                          ...].lock (image/packages-lock.py compare; whole list in
#                          build/<variant>/packages.moved). strict (release builds): any
#                          difference fails the build before the disk is written
#                          (mkosi.finalize.d/25-packages-lock.chroot)
#   GPUHOST_PACKAGES_LOCK_FILE  compare against this lock file instead of the recipe's (record
#                          mode; image/repro-check.sh proves a stale lock does not fail a build)
#   GPUHOST_OUTPUT_NAME    output/cache directory name instead of <recipe>[+<profile>...]
#                          (image/repro-check.sh builds a second, cache-less copy that way)
#   GPUHOST_OUTPUT_DIR_NAME  output directory name only (build/NAME/); the cache stays the
#                          variant's, so the build is incremental (make qa-update's versions)
#   GPUHOST_IMAGE_VERSION  the image's version (default: the commit time, YYYYMMDD.HHMMSS)
#   GPUHOST_UPDATE_GNUPGHOME  the GnuPG home whose public key the image trusts for updates
#                          (image/update-key.sh; default build/update-key/, made once)
#   GPUHOST_VERIFY_IMAGE_ARGS  extra flags for the build-time `gpuhost-agent verify-image`
#                          (a recipe sets them with mkosi's Environment=; this overrides)
# After a successful build, image/sums.sh writes build/<variant>/SHA256SUMS over the outputs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
profile=${PROFILE:-kvm-host}
if [[ ${1:-} == -p ]]; then profile=$2; shift 2; fi
recipe="$root/recipes/$profile"
[[ -f "$recipe/mkosi.conf" ]] || { echo "mkosi.sh: no recipe at $recipe" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "mkosi.sh: must run as root" >&2; exit 1; }

# shellcheck source=image/mirror.sh
. "$here/mirror.sh"
tree=$("$here/tools-tree.sh")

cache="$root/build/cache"
sandbox="$cache/sandbox"
mkdir -p "$sandbox/etc/apt/sources.list.d" "$cache/mkosi-packages"
sources=$(cat <<SOURCES
Types: deb
URIs: $GPUHOST_MIRROR
Suites: trixie trixie-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${GPUHOST_MIRROR%/debian}/debian-security
Suites: trixie-security
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
)
# Rewrite only on change: mkosi's cache key includes the sandbox tree contents.
if [[ "$(cat "$sandbox/etc/apt/sources.list.d/mkosi.sources" 2>/dev/null)" != "$sources" ]]; then
    printf '%s\n' "$sources" >"$sandbox/etc/apt/sources.list.d/mkosi.sources"
fi

# Where things go. build/ is bind-mounted a second time at /gpuhost-build inside the tools tree,
# and the workspace, outputs and caches all live under that one mount: mkosi can then rename
# its results into place instead of copying them across mounts (a copy of image.raw and of the
# cached trees cost ~40 s per build). mkosi refuses a workspace inside a BuildSources directory
# (the repository), which /gpuhost-build is not, by path.
# Each recipe+profiles variant has its own output and cache directories: mkosi keeps one
# incremental cache per directory and drops it whenever the package set differs.
b=/gpuhost-build
variant=$profile
profiles=${IMAGE_PROFILES:-}
[[ -z $profiles ]] || variant+="+${profiles//,/+}"
lock="recipes/$profile/packages${variant#"$profile"}.lock"
variant=${GPUHOST_OUTPUT_NAME:-$variant}
# The output directory alone, the cache kept (make qa-update builds versions N+1 and N+2 of
# kvm-host incrementally from kvm-host's cache into build/qa-update-*/, leaving build/kvm-host/).
outdir=${GPUHOST_OUTPUT_DIR_NAME:-$variant}
[[ $outdir =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] ||
    { echo "mkosi.sh: GPUHOST_OUTPUT_DIR_NAME must be a plain directory name (got '$outdir')" >&2; exit 1; }
# The agent's build directory ($BUILDDIR of mkosi.build.chroot) is one for all variants: kvm-host,
# pxe and nvidia compile the same sources with the same trixie compiler, so the second and third
# image of a `make qa` + `make qa-nvidia` run link what the first compiled instead of compiling
# it again (about 3 min each on 2 cores). Builds of one checkout never overlap (the lock below).
mkdir -p "$root/build/$outdir" "$cache/workspace" "$cache/mkosi/$variant" "$cache/builddir/agent"
args=(
    --directory="$recipe"
    --sandbox-tree="$sandbox"
    --output-directory="$b/$outdir"
    --workspace-directory="$b/cache/workspace"
    --cache-directory="$b/cache/mkosi/$variant"
    --build-directory="$b/cache/builddir/agent"
    --package-cache-dir="$b/cache/mkosi-packages"
)
[[ -z $profiles ]] || args+=(--profile="$profiles")
# Always passed, possibly empty: mkosi.build.chroot reconfigures from scratch when it changes.
args+=(--environment="GPUHOST_CMAKE_ARGS=${GPUHOST_CMAKE_ARGS:-}")
args+=(--environment="GPUHOST_PACKAGES_LOCK=$lock" --environment="GPUHOST_LOCK=${GPUHOST_LOCK:-record}")
[[ -z ${GPUHOST_VERIFY_IMAGE_ARGS+x} ]] ||
    args+=(--environment="GPUHOST_VERIFY_IMAGE_ARGS=$GPUHOST_VERIFY_IMAGE_ARGS")
if [[ -n ${GPUHOST_SRC_REV:-} ]]; then
    rev=$(git -C "$root" rev-parse --verify "${GPUHOST_SRC_REV}^{commit}")
    # One directory per revision, written once (temp + rename): two builds of different
    # revisions may wait on the lock below at the same time without overwriting each other's
    # sources. Directories untouched for a day are dropped.
    src="$cache/src-rev/$rev"
    if [[ ! -d $src ]]; then
        mkdir -p "$cache/src-rev"
        find "$cache/src-rev" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
        tmp=$(mktemp -d "$cache/src-rev/.tmp.XXXXXX")
        git -C "$root" archive "$rev" | tar -x -C "$tmp"
        mv -T "$tmp" "$src" 2>/dev/null || rm -rf "$tmp"   # lost a race: the same tree is there
    fi
    touch "$src"
    echo "mkosi.sh: agent sources from $GPUHOST_SRC_REV ($rev)" >&2
    args+=(--build-sources= --build-sources="$src")
fi
# Reproducibility: one timestamp per commit (mkosi clamps mtimes to it and exports it to the
# scripts). Not part of mkosi's incremental cache key, so a new commit keeps the cache.
sde=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct "${GPUHOST_SRC_REV:-HEAD}")}
args+=(--source-date-epoch="$sde")
# The image's version (issue 16, docs/updates.md): GPUHOST_IMAGE_VERSION (make qa-update builds
# 1, 2, 3), else the commit time as YYYYMMDD.HHMMSS, so a rebuild of a commit has the same
# version and a later commit a higher one. Digits and dots only: systemd's version order, and
# sysupdate's @v and boot counting's "+" and "-" must not meet anything else in a UKI's name.
version=${GPUHOST_IMAGE_VERSION:-$(date -u -d "@$sde" +%Y%m%d.%H%M%S)}
[[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] ||
    { echo "mkosi.sh: GPUHOST_IMAGE_VERSION must be digits and dots (got '$version')" >&2; exit 1; }
args+=(--image-version="$version")
# Trusted boot (issue 15): mkosi signs systemd-boot and every UKI with the image's key pair
# (image/secureboot-key.sh: the operator's, or build/secureboot/ made once). No auto-enrolment
# files on the ESP: on a VM in setup mode systemd-boot would make our certificate PK, KEK and db
# alone, dropping Microsoft's keys that real servers need for option ROMs; the firmware's
# variables are made for qemu by image/secureboot-vars.sh instead, and enrolled on servers by
# hand (image/README.md "Trusted boot"). Build and finalize scripts see the pair through the
# build sources (the nvidia profile signs its DKMS modules with it), never part of the image.
mapfile -t sb < <("$here/secureboot-key.sh")
(( ${#sb[@]} == 2 )) || { echo "mkosi.sh: image/secureboot-key.sh failed" >&2; exit 1; }
sb_key=${sb[0]} sb_cert=${sb[1]}
args+=(--secure-boot=yes --secure-boot-key="$sb_key" --secure-boot-certificate="$sb_cert"
       --secure-boot-auto-enroll=no)
# The same pair signs the verity root hash (recipes/kvm-host/mkosi.repart/12-root-verity-sig.conf):
# mkosi 25.3 does not take the Secure Boot pair for a Verity=signature partition by itself
# ("Verity signature partition requested but no private key provided"). Only
# systemd-repart uses it, and only for such a partition: recipes without one (pxe,
# bare-trixie) build as before.
args+=(--verity-key="$sb_key" --verity-certificate="$sb_cert")
# Where scripts find a file of the pair: the repository is the build source at /work/src
# (BuildSources=../..), so build/secureboot/ is there already; a pair kept elsewhere is mounted
# as one more build source under build/ (mkosi puts every build source below /work/src).
for sb_what in key cert; do
    sb_file=$([[ $sb_what == key ]] && echo "$sb_key" || echo "$sb_cert")
    # (GPUHOST_SRC_REV: the build source is a git archive, without build/.)
    if [[ -z ${GPUHOST_SRC_REV:-} && $sb_file == "$root"/* ]]; then
        sb_seen=/work/src/${sb_file#"$root"/}
    else
        args+=(--build-sources="$(dirname "$sb_file"):build/.secureboot-$sb_what")
        sb_seen=/work/src/build/.secureboot-$sb_what/$(basename "$sb_file")
    fi
    args+=(--environment="GPUHOST_SECUREBOOT_${sb_what^^}=$sb_seen")
done
# The public key that verifies the update directory's SHA256SUMS.gpg (issue 16): the image
# carries it as /usr/lib/systemd/import-pubring.gpg (mkosi.finalize.d/05-update-keyring.chroot).
# Only the exported public keyring is a build source, never the GnuPG home with the secret key.
mapfile -t upd < <("$here/update-key.sh")
(( ${#upd[@]} == 2 )) || { echo "mkosi.sh: image/update-key.sh failed" >&2; exit 1; }
upd_pub=${upd[1]}
if [[ -z ${GPUHOST_SRC_REV:-} && $upd_pub == "$root"/* ]]; then
    args+=(--environment="GPUHOST_UPDATE_PUBRING=/work/src/${upd_pub#"$root"/}")
else
    args+=(--build-sources="$(dirname "$upd_pub"):build/.update-key"
           --environment="GPUHOST_UPDATE_PUBRING=/work/src/build/.update-key/$(basename "$upd_pub")")
fi
if [[ -n ${GPUHOST_ROOT_PASSWORD:-} ]]; then
    args+=(--root-password="$GPUHOST_ROOT_PASSWORD")
    # mkosi.finalize.d/20-no-machine-identity.chroot otherwise fails on a set password.
    args+=(--environment=GPUHOST_ROOT_PASSWORD_SET=1)
fi
[[ $# -gt 0 ]] || set -- build
verb=
for a in "$@"; do [[ $a == -* ]] || { verb=$a; break; }; done

# One mkosi at a time per checkout: they share caches.
exec 9>"$cache/mkosi.lock"
flock 9

# Build time per variant, for `make image-report`: cold when mkosi's incremental cache is empty.
kind=incremental
[[ -n "$(ls -A "$cache/mkosi/$variant" 2>/dev/null)" ]] || kind=cold
t0=$(date +%s)

export tree root sb_key sb_cert
unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
    mount --bind "$tree" "$tree"
    mount --rbind /dev "$tree/dev"
    mount --rbind /proc "$tree/proc"
    mount --rbind /sys "$tree/sys"
    mount -t tmpfs -o mode=0755 tmpfs "$tree/run"
    mount -t tmpfs -o mode=1777 tmpfs "$tree/tmp"
    touch "$tree/etc/resolv.conf"
    mount --bind /etc/resolv.conf "$tree/etc/resolv.conf"
    mkdir -p "$tree$root" "$tree/gpuhost-build"
    mount --bind "$root" "$tree$root"
    mount --bind "$root/build" "$tree/gpuhost-build"
    # The Secure Boot pair where the operator keeps it (SECUREBOOT_KEY/_CERT), outside the
    # repository: visible at the same path inside the tools tree, read-only.
    for d in "$(dirname "$sb_key")" "$(dirname "$sb_cert")"; do
        [[ $d == "$root"/* || -d $tree$d && -n "$(ls -A "$tree$d" 2>/dev/null)" ]] && continue
        mkdir -p "$tree$d"
        mount --bind -o ro "$d" "$tree$d"
    done
    cd "$root"
    exec chroot "$tree" /usr/bin/env -i PATH=/usr/sbin:/usr/bin HOME=/root TERM="${TERM:-dumb}" \
        LANG=C.UTF-8 /bin/sh -c "cd \"\$0\" && exec mkosi \"\$@\"" "$root" "$@"
' mkosi.sh "${args[@]}" "$@"
# Checksums over what this build wrote (still under the lock: the next build must not race them).
if [[ $verb == build && -f "$root/build/$outdir/image.raw" ]]; then
    # What moved on the mirror since the recipe's lock was recorded: a few lines, never fatal
    # (strict builds already stopped in the finalize check when anything differed).
    # Recipes without a lock (recipes/bare-trixie, a boot-time baseline, not a product image)
    # have nothing to compare and write no manifest.
    lock_file=${GPUHOST_PACKAGES_LOCK_FILE:-${src:-$root}/$lock}
    if [[ -n ${GPUHOST_PACKAGES_LOCK_FILE:-} || -f $lock_file ]]; then
        python3 "$here/packages-lock.py" compare "$root/build/$outdir/image.manifest" "$lock_file" \
            --out "$root/build/$outdir/packages.moved"
    else
        echo "packages-lock: $lock: none for this recipe, nothing compared"
    fi
    # After packages.moved: a rebuild rewrites it, and sums taken before would not match it.
    "$here/secureboot-vars.sh" "$root/build/$outdir" "$sb_cert"
    "$here/sums.sh" "$root/build/$outdir"
    echo "$(date -u +%FT%TZ) $variant $kind $(( $(date +%s) - t0 ))s $(git -C "$root" rev-parse --short HEAD)" \
        >>"$cache/build-times.log"
fi
