#!/usr/bin/env bash
# Links qemu-vmbus's files into a QEMU source tree and applies patches/series.
# Safe to run again: links are replaced, applied patches are recognised.
#   link-overlay.sh TOP QEMU_SRC
set -euo pipefail

top=$1
src=$2

log() { printf 'link-overlay: %s\n' "$*" >&2; }

# Our directories, at the place QEMU's own would be.
link() {
    local ours=$1 theirs=$2
    if [ -e "$src/$theirs" ] && [ ! -L "$src/$theirs" ]; then
        log "error: '$src/$theirs' exists and is not our link; refusing to replace it"
        exit 1
    fi
    ln -sfn "$top/$ours" "$src/$theirs"
}
link hw/vmbus hw/vmbus
link include/hw/vmbus include/hw/vmbus
link tests/qtest tests/qtest/vmbus
link qapi/vmbus.json qapi/vmbus.json
link configs/x86_64-softmmu-qemu-vmbus.mak \
     configs/devices/x86_64-softmmu/qemu-vmbus.mak

# Hook patches, in order. A patch that is already in (it reverses cleanly) is
# skipped; one that neither applies nor reverses names itself and stops us.
while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    f=$top/patches/$p
    if patch -d "$src" -p1 -R -s -f --dry-run < "$f" >/dev/null 2>&1; then
        continue
    fi
    if ! patch -d "$src" -p1 -s -f --dry-run < "$f" >/dev/null 2>&1; then
        log "error: patch '$p' does not apply to the QEMU tree at '$src'"
        patch -d "$src" -p1 -f --dry-run < "$f" >&2 || true
        exit 1
    fi
    log "applying $p"
    patch -d "$src" -p1 -s -f --no-backup-if-mismatch < "$f"
done < "$top/patches/series"
