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
#   image/demo-page.sh --libvirt-smbios
#                                    print qemu arguments that open the guest's libvirt over TLS
#                                    (gpuhost.libvirt-tls-* credentials), made once from the same CA:
#     libvirt-node.crt libvirt-node.key   the node's certificate (SAN 127.0.0.1, localhost)
#     libvirt-manager/                    a client allowed in (CN=gpuhost-demo-manager): virsh -c
#                                         'qemu+tls://127.0.0.1:PORT/system?pkipath=<this dir>'
#     libvirt-intruder/                   a client of the same CA that the allowed-DN list refuses
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

# The libvirt pieces (--libvirt-smbios), from the CA above: virsh's pkipath directories hold
# cacert.pem, clientcert.pem and clientkey.pem.
make_libvirt_files() {
    [[ -s $dir/libvirt-node.crt && -s $dir/libvirt-manager/clientkey.pem &&
        -s $dir/libvirt-intruder/clientkey.pem ]] && return 0
    local tmp
    tmp=$(mktemp -d "$dir/.new.XXXXXX")
    (
        cd "$tmp"
        umask 077
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
        sign() {  # sign NAME SUBJECT [EXTFILE]
            openssl req "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            openssl x509 -req -in "$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
                -CAcreateserial -CAserial ca.srl -days 3650 ${3:+-extfile "$3"} -out "$1.crt" 2>/dev/null
        }
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:gpuhost\n' >san.ext
        sign libvirt-node /O=gpuhost/CN=gpuhost-demo-node san.ext
        sign manager /CN=gpuhost-demo-manager
        sign intruder /CN=gpuhost-demo-intruder
        for who in manager intruder; do
            mkdir "libvirt-$who"
            cp "$dir/ca.crt" "libvirt-$who/cacert.pem"
            mv "$who.crt" "libvirt-$who/clientcert.pem"
            mv "$who.key" "libvirt-$who/clientkey.pem"
        done
        printf 'CN=gpuhost-demo-manager\n' >libvirt-allowed-dn
        rm -f ./*.csr san.ext ca.srl
    ) || { rm -rf "$tmp"; echo "demo-page: openssl failed (libvirt certificates)" >&2; exit 1; }
    rm -rf "$dir/libvirt-manager" "$dir/libvirt-intruder"
    for f in libvirt-node.key libvirt-node.crt libvirt-allowed-dn libvirt-manager libvirt-intruder; do
        mv -f "$tmp/$f" "$dir/$f"
    done
    rm -rf "$tmp"
}

make_files
case ${1:-} in
    "") echo "$dir" ;;
    --smbios)
        cred() { printf 'type=11,value=io.systemd.credential.binary:%s=%s\n' "$1" "$(base64 -w0 <"$2")"; }
        # Atomically and only when it differs: qa/fleet-test.sh boots its nodes at once, and a
        # plain ">" here truncated the file while another node's vm.sh read it (that node got an
        # empty gpuhost.listen credential, its serve exited: CI of 2026-12-01).
        if [[ "$(cat "$dir/listen" 2>/dev/null)" != 0.0.0.0:8080 ]]; then
            tmp=$(mktemp "$dir/.listen.XXXXXX")
            printf '0.0.0.0:8080\n' >"$tmp"
            mv -f "$tmp" "$dir/listen"
        fi
        for pair in gpuhost.listen:listen gpuhost.tls-cert:page.crt gpuhost.tls-key:page.key gpuhost.token:token; do
            echo "-smbios"
            cred "${pair%%:*}" "$dir/${pair#*:}"
        done
        ;;
    --libvirt-smbios)
        make_libvirt_files
        cred() { printf 'type=11,value=io.systemd.credential.binary:%s=%s\n' "$1" "$(base64 -w0 <"$2")"; }
        for pair in gpuhost.libvirt-tls-cert:libvirt-node.crt gpuhost.libvirt-tls-key:libvirt-node.key \
            gpuhost.libvirt-tls-ca:ca.crt gpuhost.libvirt-tls-allowed-dn:libvirt-allowed-dn; do
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
