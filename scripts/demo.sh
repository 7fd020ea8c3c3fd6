#!/usr/bin/env bash
# The main job: boots the built-in guest (Debian's stock kernel and a busybox
# initramfs) under TCG on a machine with a VMBus, and shows what it found.
#   scripts/demo.sh EMULATOR [--interactive]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
qemu=$1
shift
mode=${1:-}

step() { printf '==> %s\n' "$*"; }

step "emulator: $("$qemu" --version | head -n 1)"
step "building the guest kit (Debian's kernel and busybox, cached after the first run)"
kit=$("$top/guest/build-kit.sh")
step "guest kit in $kit"
# A scratch disk beside the kit, kept for running the guest by hand.
disk=$(dirname "$kit")/demo-disk.img
[ -f "$disk" ] || truncate -s 256M "$disk"

# Hyper-V enlightenments under TCG, the VMBus, the integration services
# that Debian's hv_utils binds without a daemon, a disk on hv-scsi and a
# NIC on hv-net (QEMU's user network, serving the kit over TFTP).
devices=(-cpu qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on
         -device vmbus-bridge -device hv-heartbeat -device hv-shutdown
         -device hv-timesync -device hv-scsi,id=scsi
         -drive "if=none,id=disk0,file=$disk,format=raw"
         -device scsi-hd,bus=scsi.0,drive=disk0
         -netdev "user,id=net0,tftp=$kit" -device hv-net,netdev=net0)

cmd=$("$top/guest/run-guest.sh" --qemu="$qemu" --print-cmd -- "${devices[@]}")
if [ "$mode" = --interactive ]; then
    step "booting with a shell on this console; 'poweroff -f' in the guest ends it"
    exec "$top/guest/run-guest.sh" --qemu="$qemu" --interactive -- "${devices[@]}"
fi

step "booting the guest under TCG (about half a minute)"
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
"$top/guest/run-guest.sh" --qemu="$qemu" --log="$log" --timeout=300 \
    -- "${devices[@]}" > /dev/null || rc=$?
grep '^GUEST:' "$log" | sed 's/^GUEST: /    guest: /'
secs=$(( $(date +%s) - start ))
echo "    host: vmlinuz is $(wc -c < "$kit/vmlinuz") bytes, md5" \
    "$(md5sum < "$kit/vmlinuz" | cut -c1-32)"

echo
step "summary"
echo "    guest booted and powered off in ${secs}s (exit: $([ $rc = 0 ] && echo ok || echo FAILED))"
echo "    the same guest by hand:"
echo "    $cmd"
echo "    an interactive shell: make demo-shell"
exit "$rc"
