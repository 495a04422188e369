#!/bin/bash
# Fetch kernel-hardening-checker from trixie-backports (once, cached) and print the command that
# runs it. The tool is pure Python (python3 >= 3.9; bookworm's 3.11 runs it), so it is unpacked,
# not installed: this bookworm machine's apt and dpkg state stay untouched. apt itself downloads
# it, with a private sources list and state directory, and checks the mirror's signature.
#
# The version is pinned: a new version brings new checks, and every new FAIL must be judged and
# written into qa/hardening-waivers.txt before it may pass. When the mirror no longer has this
# version, this script fails and says so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
version=${KHC_VERSION:-0.6.17.1-3~bpo13+1}
# shellcheck source=image/mirror.sh
. "$root/image/mirror.sh"

dir="$root/build/cache/khc/$version"
if [[ ! -e $dir/.complete ]]; then
    rm -rf "$dir" && mkdir -p "$dir"/apt/{lists/partial,cache/archives/partial}
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $GPUHOST_MIRROR trixie-backports main" \
        >"$dir/apt/sources.list"
    apt_opts=(
        -o "Dir::Etc::SourceList=$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
        -o Acquire::Languages=none -o APT::Sandbox::User=root
    )
    apt-get -qq "${apt_opts[@]}" update >&2
    (cd "$dir" && apt-get -qq "${apt_opts[@]}" download "kernel-hardening-checker=$version" >&2) || {
        echo "hardening-tool.sh: kernel-hardening-checker $version is not on $GPUHOST_MIRROR (trixie-backports);" \
             "set KHC_VERSION to the version there and review qa/hardening-waivers.txt against its new checks" >&2
        exit 1
    }
    dpkg-deb -x "$dir"/kernel-hardening-checker_*.deb "$dir/root"
    touch "$dir/.complete"
fi
echo "env PYTHONPATH=$dir/root/usr/lib/python3/dist-packages python3 $dir/root/usr/bin/kernel-hardening-checker"
