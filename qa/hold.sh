#!/bin/sh
# Runs INSIDE the guest for qa/held-test.sh (issue 10): the SMBIOS credential gpuhost-qa.hold,
# started by the injected gpuhost-qa-hold.service (Type=notify, Before=gpuhost-agent.service).
# Waits until a DRM driver has bound the non-boot display function (class 0x0380, boot_vga 0)
# and its /dev/dri/cardN exists, opens that node on fd 3, tells systemd it is ready (only then
# may gpuhost-agent start), and stays: the main process becomes `sleep` with the node open, a
# holder like a compositor or a CUDA process would be.
wait_s=${1:-240}
i=0
card=
while :; do
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/class")" = 0x038000 ] || continue
        [ "$(cat "$d/boot_vga" 2>/dev/null)" = 1 ] && continue
        for c in "$d"/drm/card*; do
            [ -e "$c" ] || continue
            card=/dev/dri/${c##*/}
            addr=${d##*/}
        done
    done
    [ -n "$card" ] && [ -c "$card" ] && break
    card=
    i=$((i + 1))
    if [ "$i" -gt "$wait_s" ]; then
        echo "hold: no DRM card node for a non-boot display function after ${wait_s}s" >&2
        exit 1
    fi
    sleep 1
done
echo "hold: holding $card of $addr open as pid $$"
exec 3<"$card"
# --exec: the notification comes from the main PID itself, which then becomes sleep (fd 3 kept).
exec systemd-notify --ready --status="holding $card of $addr" --exec \; sleep infinity
