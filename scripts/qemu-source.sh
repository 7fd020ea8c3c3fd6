#!/usr/bin/env bash
# Prints the path of a QEMU 10.0.x source tree for the overlay.
#   qemu-source.sh check DIR     fails with a clear message unless DIR is 10.0.x
#   qemu-source.sh fetch DESTDIR unpacks Debian's trixie qemu source package
#                                (with Debian's patches) under DESTDIR; the
#                                downloaded files are cached outside the checkout
set -euo pipefail

log() { printf 'qemu-source: %s\n' "$*" >&2; }

check_tree() {
    local dir=$1 v
    if [ ! -d "$dir" ]; then
        log "error: --qemu-src: '$dir' is not a directory"
        exit 1
    fi
    if [ ! -f "$dir/VERSION" ] || [ ! -f "$dir/meson.build" ] || [ ! -d "$dir/hw" ]; then
        log "error: '$dir' is not a QEMU source tree (no VERSION, meson.build or hw/)"
        exit 1
    fi
    v=$(tr -d ' \n' < "$dir/VERSION")
    # 10.0.50 and up are 10.1's development trees and release candidates.
    case "$v" in
    10.0.[0-9] | 10.0.[1-4][0-9]) ;;
    *)
        log "error: QEMU source at '$dir' is version $v; qemu-vmbus needs QEMU 10.0.x"
        exit 1
        ;;
    esac
    printf '%s\n' "$v"
}

fetch_tree() {
    local dest=$1 cache dsc dir
    cache=${QEMU_VMBUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-vmbus}/qemu-source
    mkdir -p "$cache" "$dest"
    dsc=$(apt-get source --print-uris qemu/trixie 2>/dev/null |
          sed -n "s/^'[^']*' \(qemu_[^ ]*\.dsc\) .*/\1/p" | head -n 1)
    if [ -z "$dsc" ]; then
        log "error: apt knows no trixie source of qemu (is the deb-src entry there? run scripts/install-deps.sh)"
        exit 1
    fi
    dir=$(basename "$dsc" .dsc)
    dir=${dir/_/-}
    dir=${dir%-*}   # qemu-10.0.13+ds from qemu_10.0.13+ds-0+deb13u1
    if [ ! -f "$dest/$dir/.qemu-vmbus-unpacked" ]; then
        log "downloading $dsc (cached in $cache)"
        (cd "$cache" && apt-get source -q --download-only qemu/trixie >&2)
        rm -rf "${dest:?}/$dir"
        log "unpacking $dsc with Debian's patches"
        dpkg-source -q -x "$cache/$dsc" "$dest/$dir" >&2
        echo "${dsc%.dsc}" > "$dest/$dir/.qemu-vmbus-unpacked"
    fi
    printf '%s\n' "$dest/$dir"
}

case "${1:-}" in
check) check_tree "$2" ;;
fetch) fetch_tree "$2" ;;
*) echo "usage: $0 check DIR | fetch DESTDIR" >&2; exit 2 ;;
esac
