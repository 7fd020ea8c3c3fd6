#!/usr/bin/env bash
# Builds the guest kit: Debian's stock kernel (linux-image-amd64 from the
# machine's bookworm archive) and a busybox initramfs that carries the
# kernel's Hyper-V modules, Debian's KVP daemon (hyperv-daemons, with the
# C library it needs) and runs guest/init.
#
#   guest/build-kit.sh [OUTDIR]    prints OUTDIR (default: the cache)
#
# Packages are downloaded with apt-get download and cached outside the
# checkout; nothing is installed. OUTDIR gets vmlinuz and initrd.img.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${QEMU_VMBUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-vmbus}/guest-kit
out=${1:-$cache}
image_pkg=${GUEST_KERNEL_PKG:-linux-image-amd64}

log() { printf 'guest-kit: %s\n' "$*" >&2; }

# The modules the guest tests load, in no particular order: their
# dependencies are found from each module's own .modinfo.
# virtio_net gives the KVP test an address to report; sd_mod and sr_mod the
# disks storvsc finds; virtio_*, ahci and e1000 are the benchmarks' peers.
want_modules="hv_vmbus hv_utils hv_netvsc hv_storvsc sd_mod sr_mod virtio_pci
  virtio_net virtio_blk virtio_scsi ahci e1000"

mkdir -p "$cache/debs" "$out"

# Resolve the metapackage to the real image package.
real_pkg=$(apt-cache depends "$image_pkg" 2>/dev/null |
           sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
real_pkg=${real_pkg:-$image_pkg}

fetch() { # package -> path of its cached .deb
    local pkg=$1 deb
    deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        log "downloading $pkg"
        (cd "$cache/debs" && apt-get download -q "$pkg" >&2)
        deb=$(ls "$cache/debs/${pkg}_"*.deb | head -n 1)
    fi
    printf '%s\n' "$deb"
}

kdeb=$(fetch "$real_pkg")
bdeb=$(fetch busybox-static)
hdeb=$(fetch hyperv-daemons)
cdeb=$(fetch libc6)
stamp="$(basename -a "$kdeb" "$bdeb" "$hdeb" "$cdeb" | tr '\n' ' ')"
stamp+=$(sha256sum "$top/guest/init" "$top/guest/build-kit.sh" | cut -c1-16 |
         tr '\n' ' ')
if [ -f "$out/kit.stamp" ] && [ "$(cat "$out/kit.stamp")" = "$stamp" ] &&
   [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
    printf '%s\n' "$out"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "unpacking $(basename "$kdeb")"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
dpkg-deb -x "$hdeb" "$work/daemons"
dpkg-deb -x "$cdeb" "$work/libc"
kver=$(ls "$work/kernel/lib/modules" | head -n 1)
moddir=$work/kernel/lib/modules/$kver

# name -> path of the module file (.ko, .ko.xz or .ko.zst)
declare -A modpath
while IFS= read -r f; do
    n=$(basename "$f"); n=${n%%.ko*}; n=${n//-/_}
    modpath[$n]=$f
done < <(find "$moddir/kernel" -name '*.ko*')

modinfo_depends() { # the depends= field of a module file
    local f=$1
    case "$f" in
    *.xz) xz -dc "$f" ;;
    *.zst) zstd -dcq "$f" ;;
    *) cat "$f" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1
}

# Depth-first: every module after the ones it depends on.
order=()
declare -A seen deps
visit() {
    local m=$1 d
    [ -n "${seen[$m]:-}" ] && return
    seen[$m]=1
    [ -n "${modpath[$m]:-}" ] || { log "error: module $m not in $real_pkg"; exit 1; }
    deps[$m]=
    for d in $(modinfo_depends "${modpath[$m]}" | tr ',' ' '); do
        visit "${d//-/_}"
        deps[$m]+=" ${d//-/_}"
    done
    order+=("$m")
}
for m in $want_modules; do visit "$m"; done

root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,lib/modules,mnt,run}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
# hv_kvp_daemon and what it runs with: the dynamic loader and libc.
mkdir -p "$root/usr/sbin" "$root/lib/x86_64-linux-gnu" "$root/lib64" \
         "$root/var/lib/hyperv"
cp "$work/daemons/usr/sbin/hv_kvp_daemon" "$root/usr/sbin/"
cp -r "$work/daemons/usr/libexec" "$root/usr/"
cp "$work/libc/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
   "$work/libc/lib/x86_64-linux-gnu/libc.so.6" "$root/lib/x86_64-linux-gnu/"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/"
# What the daemon reports as the guest's OS.
printf '%s\n' 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' \
    'NAME="Debian GNU/Linux"' 'VERSION_ID="12"' 'ID=debian' \
    > "$root/etc/os-release"
for m in "${order[@]}"; do
    f=${modpath[$m]}
    case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -dcq "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
    esac
done
printf '%s\n' "${order[@]}" > "$root/lib/modules/order"
for m in "${order[@]}"; do
    printf '%s:%s\n' "$m" "${deps[$m]}"
done > "$root/lib/modules/deps"
echo "$kver" > "$root/etc/kernel-release"
cp "$top/guest/init" "$root/init"
chmod +x "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$work/initrd.img"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$work/initrd.img" "$out/initrd.img"
echo "$stamp" > "$out/kit.stamp"
log "kernel $kver, modules: ${order[*]}"
printf '%s\n' "$out"
