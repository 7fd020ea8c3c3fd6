#!/usr/bin/env bash
# TAP test: Debian's hv_vmbus under TCG connects to our channel manager at
# VMBus 5.3, reconnects after rmmod and modprobe, and again after a reboot
# (which sends no UNLOAD).
set -u
top=$1
qemu=${2:-$top/build/qemu-system-x86_64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$top/tests/tap.sh"

cat > "$work/guest.sh" <<'GUEST'
load_hv_modules hv_vmbus
say "connect1 $(dmesg | grep -c 'hv_vmbus: Vmbus version:5.3')"
[ -d /sys/bus/vmbus/devices ] && say "bus present"
rmmod hv_vmbus && say "unloaded"
load_hv_modules hv_vmbus
say "connect2 $(dmesg | grep -c 'hv_vmbus: Vmbus version:5.3')"
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace|Unable to connect' | sed 's/^/GUEST: dmesg: /'
GUEST

hv=qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on
echo "1..8"
"$top/guest/run-guest.sh" --qemu="$qemu" --test="$work/guest.sh" \
    --log="$work/a.log" --timeout=240 -- -cpu "$hv" -device vmbus-bridge \
    -trace 'vmbus_conn_*' -D "$work/a.trace" > /dev/null
ok $? "guest reaches userspace and powers off"
grep -q 'GUEST: connect1 1' "$work/a.log"
ok $? "hv_vmbus connects at VMBus 5.3"
grep -q 'GUEST: bus present' "$work/a.log"
ok $? "/sys/bus/vmbus is there"
grep -q 'GUEST: unloaded' "$work/a.log" &&
    grep -q 'vmbus_conn_msg_recv message 16 ' "$work/a.trace" &&
    grep -q 'vmbus_conn_msg_post message 17 ' "$work/a.trace"
ok $? "rmmod sends UNLOAD and gets UNLOAD_RESPONSE"
grep -q 'GUEST: connect2 2' "$work/a.log"
ok $? "modprobe reconnects at 5.3"
! grep -q 'GUEST: dmesg:' "$work/a.log"
ok $? "no warning, oops or failed connection in dmesg"

# A reboot: QEMU without -no-reboot restarts the guest, which must connect
# again although it never sent UNLOAD.
# The first boot reboots, the second powers off: the kernel command line
# cannot change, so the guest counts its boots in CMOS scratch RAM (byte
# 0x34, through ports 0x70 and 0x71), which a reset keeps.
cat > "$work/reboot.sh" <<'GUEST'
load_hv_modules hv_vmbus
say "connect $(dmesg | grep -c 'Vmbus version:5.3')"
printf '\064' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
b=$(dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
if [ "$b" != 77 ]; then
    printf '\064' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
    printf 'M' | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null
    say "rebooting"
    reboot -f
fi
GUEST
qemu_reboot=("$qemu" -M q35 -accel tcg -m 512 -smp 2 -nodefaults
    -display none -serial stdio -cpu "$hv" -device vmbus-bridge)
kit=$("$top/guest/build-kit.sh")
(cd "$work" && mkdir -p add/etc && cp reboot.sh add/etc/guest-test.sh &&
 (cd add && find . | cpio -o -H newc --quiet) | gzip -1 > t.cpio.gz &&
 cat "$kit/initrd.img" t.cpio.gz > initrd.img)
timeout --kill-after=10 $((300 * ${QEMU_VMBUS_SLOWDOWN:-1})) \
    "${qemu_reboot[@]}" -kernel "$kit/vmlinuz" \
    -initrd "$work/initrd.img" -append "console=ttyS0 panic=-1 loglevel=4" \
    < /dev/null > "$work/r.log" 2>&1
[ "$(grep -c 'GUEST: done rc=0' "$work/r.log")" = 1 ] &&
    grep -q 'GUEST: rebooting' "$work/r.log"
ok $? "the guest reboots once and then powers off"
[ "$(grep -c 'GUEST: connect 1' "$work/r.log")" = 2 ]
ok $? "hv_vmbus connects at 5.3 again after the reboot"

[ "$tap_fail" = 0 ] || { sed 's/^/# /' "$work/a.log" | tail -40; sed 's/^/# /' "$work/r.log" | grep GUEST; }
exit $tap_fail
