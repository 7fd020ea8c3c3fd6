#!/usr/bin/env bash
# TAP test: Debian's stock kernel under TCG with hv-relaxed, hv-vpindex,
# hv-synic and hv-time detects Hyper-V, takes the Hyper-V clocksource,
# reaches userspace without warnings, and hv_vmbus posts INITIATE_CONTACT
# through HvPostMessage. Without the enlightenments it sees no Hyper-V.
set -u
top=$1
qemu=${2:-$top/build/qemu-system-x86_64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$top/tests/tap.sh"

cat > "$work/guest.sh" <<'GUEST'
say "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
load_hv_modules hv_vmbus
dmesg | sed 's/^/GUEST: dmesg: /'
GUEST

hv=qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on
echo "1..11"

"$top/guest/run-guest.sh" --qemu="$qemu" --test="$work/guest.sh" \
    --log="$work/hv.log" --timeout=240 -- -cpu "$hv" -device vmbus-bridge \
    -trace hv_tcg_hypercall -D "$work/trace.log" > /dev/null
ok $? "guest with enlightenments reaches userspace and powers off"
grep -q 'GUEST: dmesg: .*Hypervisor detected: Microsoft Hyper-V' "$work/hv.log"
ok $? "guest detects Microsoft Hyper-V"
# CPUID 0x40000003 EAX/EBX and 0x40000004 EAX: exactly what was enabled.
grep -q 'Hyper-V: privilege flags low 0x266, high 0x30, hints 0x20,' "$work/hv.log"
ok $? "CPUID features, privileges and hints match the enabled hv-* set"
grep -q 'GUEST: clocksource hyperv_clocksource_tsc_page' "$work/hv.log"
ok $? "guest clocksource is hyperv_clocksource_tsc_page"
! grep -qE 'GUEST: dmesg: .*(WARNING|Oops|BUG:|unchecked MSR|Call Trace|invalid opcode)' "$work/hv.log"
ok $? "no WARN, oops or unchecked MSR access in dmesg"
grep -qE 'hv_tcg_hypercall vp [0-9]+ code 0x005c fast 0' "$work/trace.log"
ok $? "hv_vmbus posts INITIATE_CONTACT with HvPostMessage"

"$top/guest/run-guest.sh" --qemu="$qemu" --test="$work/guest.sh" \
    --log="$work/vpindex.log" --timeout=240 -- -cpu qemu64,hv-vpindex=on > /dev/null
ok $? "guest with hv-vpindex only reaches userspace"
grep -q 'Hyper-V: privilege flags low 0x60, high 0x0, hints 0x0,' "$work/vpindex.log"
ok $? "with hv-vpindex only: hypercall and VP index, nothing more"

"$top/guest/run-guest.sh" --qemu="$qemu" --test="$work/guest.sh" \
    --log="$work/plain.log" --timeout=240 -- -cpu qemu64 > /dev/null
ok $? "guest without enlightenments reaches userspace"
! grep -q 'Hypervisor detected: Microsoft Hyper-V' "$work/plain.log"
ok $? "without enlightenments the guest sees no Hyper-V"

"$qemu" -M q35 -accel tcg -cpu qemu64,hv-vpindex=on,hv-synic=on,hv-stimer=on \
    -display none -S -nodefaults 2> "$work/err.log" < /dev/null &
pid=$!
sleep 3
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
grep -q 'hv-stimer is not implemented without KVM' "$work/err.log"
ok $? "an hv-* feature not implemented under TCG is a startup error naming it"

[ "$tap_fail" = 0 ] || sed 's/^/# /' "$work/hv.log" | tail -n 60
exit $tap_fail
