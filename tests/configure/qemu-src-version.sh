#!/usr/bin/env bash
# TAP test: ./configure --qemu-src=DIR refuses a tree that is not QEMU 10.0.x,
# says why, and does so before it installs or writes anything.
set -u
top=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/tap.sh"

check() { # name, expected message, configure args...
    local name=$1 want=$2 out rc
    shift 2
    out=$("$top/configure" "$@" 2>&1) && rc=0 || rc=$?
    [ "$rc" != 0 ] && grep -qF -- "$want" <<<"$out"
    ok $? "$name"
    [ "$rc" != 0 ] || sed 's/^/# /' <<<"$out"
}

mkfake() { # dir, version
    mkdir -p "$1/hw"
    touch "$1/meson.build"
    echo "$2" > "$1/VERSION"
}

echo "1..6"
mkfake "$tmp/q92" 9.2.0
check "9.2 tree refused" "is version 9.2.0; qemu-vmbus needs QEMU 10.0.x" \
    --qemu-src="$tmp/q92"
mkfake "$tmp/q101" 10.1.0
check "10.1 tree refused" "is version 10.1.0; qemu-vmbus needs QEMU 10.0.x" \
    --qemu-src="$tmp/q101"
mkfake "$tmp/q1050" 10.0.50
check "10.1 development tree refused" \
    "is version 10.0.50; qemu-vmbus needs QEMU 10.0.x" --qemu-src="$tmp/q1050"
mkfake "$tmp/q1090" 10.0.90
check "10.1 release candidate refused" \
    "is version 10.0.90; qemu-vmbus needs QEMU 10.0.x" --qemu-src="$tmp/q1090"
mkdir -p "$tmp/empty"
check "non-QEMU directory refused" "is not a QEMU source tree" \
    --qemu-src="$tmp/empty"
check "missing directory refused" "is not a directory" \
    --qemu-src="$tmp/nonexistent"
exit $tap_fail
