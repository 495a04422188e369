# Sourced by image/*.sh: pick the Debian mirror this machine's apt already uses, unless
# GPUHOST_MIRROR is set. Only the main archive URL is needed; security is on the same host
# under /debian-security.
if [[ -z ${GPUHOST_MIRROR:-} ]]; then
    GPUHOST_MIRROR=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
                        grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'; } |
                      grep -E '/debian/?$' | head -n1 || true)
    GPUHOST_MIRROR=${GPUHOST_MIRROR:-http://deb.debian.org/debian}
fi
GPUHOST_MIRROR=${GPUHOST_MIRROR%/}
export GPUHOST_MIRROR
