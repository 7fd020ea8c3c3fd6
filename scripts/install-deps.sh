#!/usr/bin/env bash
# Installs, with apt, every package that building and testing qemu-vmbus needs.
# The suites it adds (bookworm-backports, deb-src for trixie) use the archive the
# machine is already configured with; no mirror host name is written here.
set -euo pipefail

# Packages from the base suite.
base_pkgs=(
    ninja-build libglib2.0-dev libpixman-1-dev libslirp-dev flex bison
    python3-venv libfdt-dev zlib1g-dev seabios ipxe-qemu ccache
    qemu-system-data dpkg-dev pkg-config xz-utils patch python3-tomli cpio
    zstd python3-sphinx python3-sphinx-rtd-theme
    libvirt-clients libvirt-daemon-driver-qemu
    # virt-xml-validate runs xmllint, which libvirt-clients does not pull in
    libxml2-utils
)
# Packages that must come from bookworm-backports (meson >= 1.5).
bpo_pkgs=(meson python3-pycotap)
# Extra packages a caller asks for (for example the guest kit's).
extra_pkgs=("$@")

sources_file=/etc/apt/sources.list.d/qemu-vmbus.sources

log() { printf 'install-deps: %s\n' "$*" >&2; }

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || printf '%s\n' "$p"
    done
}

meson_ok() {
    command -v meson >/dev/null 2>&1 || return 1
    local v
    v=$(meson --version 2>/dev/null) || return 1
    # meson >= 1.5
    [ "$(printf '%s\n1.5.0\n' "$v" | sort -V | head -n 1)" = 1.5.0 ]
}

# The URI of the Debian archive that serves the machine's base suite, as apt
# itself sees it (works for one-line and deb822 sources alike).
archive_uri() {
    local codename=$1
    apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(TARGET_OF)' \
        'Created-By: Packages' 2>/dev/null |
        awk -v c="$codename" '$2 == c && $3 == "deb" { print $1; exit }'
}

add_sources() {
    local codename uri keyring=""
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$codename" != bookworm ]; then
        log "warning: this is '$codename', not Debian 12 (bookworm); trying anyway"
    fi
    uri=$(archive_uri "$codename")
    if [ -z "$uri" ]; then
        apt-get update -qq
        uri=$(archive_uri "$codename")
    fi
    if [ -z "$uri" ]; then
        log "error: no configured apt source serves '$codename'; cannot derive the archive"
        exit 1
    fi
    if [ -r /usr/share/keyrings/debian-archive-keyring.gpg ]; then
        keyring="Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
    local want
    want=$(cat <<SRC
# Written by qemu-vmbus scripts/install-deps.sh from the archive apt already uses.
Types: deb deb-src
URIs: $uri
Suites: $codename-backports
Components: main
$keyring

# Source only: QEMU 10.0 is taken from trixie with apt-get source.
Types: deb-src
URIs: $uri
Suites: trixie
Components: main
$keyring
SRC
)
    if [ ! -f "$sources_file" ] || [ "$(cat "$sources_file")" != "$want" ]; then
        log "adding $codename-backports and trixie (deb-src) from $uri"
        printf '%s\n' "$want" > "$sources_file"
        apt_updated=0
    fi
}

apt_updated=${QEMU_VMBUS_APT_UPDATED:-0}
apt_update_once() {
    if [ "$apt_updated" != 1 ]; then
        log "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
}

need_base=$(missing_pkgs "${base_pkgs[@]}" ${extra_pkgs[@]+"${extra_pkgs[@]}"})
need_bpo=$(missing_pkgs python3-pycotap)
meson_ok || need_bpo="$need_bpo meson"
have_sources=0
[ -f "$sources_file" ] && have_sources=1

if [ -z "$need_base" ] && [ -z "${need_bpo// /}" ] && [ "$have_sources" = 1 ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    log "error: these packages are missing and installing them needs root:"
    log "  $need_base $need_bpo"
    log "run ./configure as root once, or install them with apt yourself"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
add_sources
apt_update_once
if [ -n "${need_bpo// /}" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends -t "$(. /etc/os-release && echo "$VERSION_CODENAME")-backports" $need_bpo
fi
if [ -n "$need_base" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $need_base
fi
meson_ok || { log "error: meson >= 1.5 is still missing"; exit 1; }
