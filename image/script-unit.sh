#!/bin/bash
# Print a unit that runs a script handed into the guest as a credential, for qemu to inject with
# systemd.extra-unit (nothing of it is in the image):
#
#   image/script-unit.sh CREDENTIAL DESCRIPTION
#
# After gpuhost-serve.service; Type=exec, not oneshot: the boot must be able to finish while the
# script waits for it. Used by image/vm.sh (the boot timing report) and qa/lib.sh (the probes).
set -euo pipefail
[[ $# == 2 ]] || { echo "usage: image/script-unit.sh CREDENTIAL DESCRIPTION" >&2; exit 1; }
cat <<UNIT
[Unit]
Description=$2
After=gpuhost-serve.service

[Service]
Type=exec
ImportCredential=$1
ExecStart=/bin/sh -c 'exec /bin/sh "\$\${CREDENTIALS_DIRECTORY}/$1"'
UNIT
