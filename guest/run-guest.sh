#!/usr/bin/env bash
# Boots the guest kit under TCG and prints its serial console.
#
#   guest/run-guest.sh [options] [-- extra QEMU arguments]
#     --qemu=PATH      emulator (default: build/qemu-system-x86_64)
#     --test=SCRIPT    shell script the guest sources instead of its tour
#     --log=FILE       also keep the whole console here
#     --timeout=SECS   kill the guest after this long (default 300)
#     --append=ARGS    more kernel command line
#     --qmp=PATH       a QMP server socket at PATH (for tests that drive it)
#     --add=FILE       also put FILE in the guest's /bin (with --test)
#     --interactive    console on this terminal, with a shell after the tour
#     --print-cmd      print the QEMU command line and exit
#
# Exits 0 when the guest reached "GUEST: done rc=0"; 3 when QEMU ended
# cleanly before it (the host shut the guest down); 1 otherwise.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
qemu=$top/build/qemu-system-x86_64
test_script=""
logfile=""
timeout=300
append=""
qmp=""
interactive=0
print_cmd=0
extra=()
adds=()

while [ $# -gt 0 ]; do
    case "$1" in
    --qemu=*) qemu=${1#*=} ;;
    --test=*) test_script=${1#*=} ;;
    --log=*) logfile=${1#*=} ;;
    --timeout=*) timeout=${1#*=} ;;
    --append=*) append=${1#*=} ;;
    --qmp=*) qmp=${1#*=} ;;
    --add=*) adds+=("${1#*=}") ;;
    --interactive) interactive=1 ;;
    --print-cmd) print_cmd=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run-guest: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done

# A sanitizer build is slower: its tests set QEMU_VMBUS_SLOWDOWN.
timeout=$((timeout * ${QEMU_VMBUS_SLOWDOWN:-1}))

kit=$("$top/guest/build-kit.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

initrd=$kit/initrd.img
if [ -n "$test_script" ]; then
    # The kernel unpacks concatenated archives in order: ours adds the test.
    mkdir -p "$work/add/etc"
    cp "$test_script" "$work/add/etc/guest-test.sh"
    if [ ${#adds[@]} -gt 0 ]; then
        mkdir -p "$work/add/bin"
        cp "${adds[@]}" "$work/add/bin/"
    fi
    (cd "$work/add" && find . | cpio -o -H newc --quiet) | gzip -1 > "$work/test.cpio.gz"
    cat "$kit/initrd.img" "$work/test.cpio.gz" > "$work/initrd.img"
    initrd=$work/initrd.img
fi

cmdline="console=ttyS0 panic=-1 loglevel=4 $append"
[ "$interactive" = 1 ] && cmdline="$cmdline guest.shell"
cmd=("$qemu" -M q35 -accel tcg -m 512 -smp 2 -nodefaults -no-reboot
     -display none -serial stdio
     -kernel "$kit/vmlinuz" -initrd "$initrd" -append "$cmdline"
     ${qmp:+-qmp "unix:$qmp,server=on,wait=off"}
     ${extra[@]+"${extra[@]}"})

if [ "$print_cmd" = 1 ]; then
    printf '%q ' "${cmd[@]}"; echo
    exit 0
fi
if [ "$interactive" = 1 ]; then
    exec "${cmd[@]}"
fi

log=${logfile:-$work/console.log}
rc=0
timeout --kill-after=10 "$timeout" "${cmd[@]}" < /dev/null > "$log" 2>&1 || rc=$?
cat "$log"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "run-guest: guest killed after ${timeout}s" >&2
    exit 1
fi
grep -q '^GUEST: done rc=0' "$log" && exit 0
[ "$rc" = 0 ] && ! grep -q '^GUEST: done' "$log" && exit 3
exit 1
