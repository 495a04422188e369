#!/bin/bash
# The demo's way to the status page (make run, make qa): the image listens on loopback only,
# and beyond loopback only with TLS and a token, so each qemu boot hands the guest, as SMBIOS
# credentials, a certificate, its key, a token and the address to listen on. They are made
# here once, on the host, under build/demo-page/ (never committed, never in an image):
#   ca.crt ca.key        a throwaway CA (curl --cacert ca.crt)
#   page.crt page.key    the page's certificate (SAN 127.0.0.1, ::1, localhost, 10.0.2.15)
#   token                the bearer token;  auth.header  "Authorization: Bearer <token>" (curl -H @)
#
#   image/demo-page.sh               make them if missing; print the directory
#   image/demo-page.sh --smbios      print qemu arguments handing them to the guest
#   image/demo-page.sh --curl PORT PATH [curl args...]
#                                    curl https://127.0.0.1:PORT/PATH with the CA and the token
# DEMO_PAGE_DIR overrides the directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${DEMO_PAGE_DIR:-$(realpath -m "$here/../build/demo-page")}

make_files() {
    [[ -s $dir/page.crt && -s $dir/page.key && -s $dir/token && -s $dir/ca.crt ]] && return 0
    command -v openssl >/dev/null || { echo "demo-page: openssl missing (make image-deps)" >&2; exit 1; }
    mkdir -p "$dir"
    local tmp
    tmp=$(mktemp -d "$dir/.new.XXXXXX")
    (
        cd "$tmp"
        umask 077
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 \
            -subj "/CN=gpuhost demo CA $(hostname)" 2>/dev/null
        openssl req "${ec[@]}" -keyout page.key -out page.csr -subj /CN=localhost 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,IP:10.0.2.15\n' >san.ext
        openssl x509 -req -in page.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile san.ext -out page.crt 2>/dev/null
        openssl rand -hex 32 >token
        printf 'Authorization: Bearer %s\n' "$(cat token)" >auth.header
        rm -f page.csr san.ext ca.srl
    ) || { rm -rf "$tmp"; echo "demo-page: openssl failed" >&2; exit 1; }
    # All or nothing: a killed run leaves only the temporary directory behind.
    for f in ca.key ca.crt page.key page.crt token auth.header; do mv -f "$tmp/$f" "$dir/$f"; done
    rm -rf "$tmp"
}

make_files
case ${1:-} in
    "") echo "$dir" ;;
    --smbios)
        cred() { printf 'type=11,value=io.systemd.credential.binary:%s=%s\n' "$1" "$(base64 -w0 <"$2")"; }
        printf '0.0.0.0:8080\n' >"$dir/listen"
        for pair in gpuhost.listen:listen gpuhost.tls-cert:page.crt gpuhost.tls-key:page.key gpuhost.token:token; do
            echo "-smbios"
            cred "${pair%%:*}" "$dir/${pair#*:}"
        done
        ;;
    --curl)
        port=$2 path=${3#/}
        shift 3
        exec curl --cacert "$dir/ca.crt" -H @"$dir/auth.header" "$@" "https://127.0.0.1:$port/$path"
        ;;
    *) echo "demo-page: unknown argument '$1'" >&2; exit 2 ;;
esac
