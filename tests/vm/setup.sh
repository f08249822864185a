#!/bin/bash
# tests/vm/setup.sh [--kernel stable|backports] CACHE_DIR
#
# Prepare everything the VM test needs, outside the source tree, in CACHE_DIR:
#   - host packages: qemu-system-x86 (and what building out-of-tree modules needs)
#   - a Debian kernel image, headers (+ -common, linux-kbuild) and
#     busybox-static, mdevctl, fetched with `apt-get download` and unpacked with
#     `dpkg -x` (nothing is installed on the host's /boot or /lib/modules)
#   - the kernel's own sample mdev drivers (samples/vfio-mdev/*.c from
#     linux-source-<series>) built as out-of-tree modules against the unpacked
#     headers
#
# --kernel stable (default): the release's own kernel (Debian 12: 6.1), from
#   the host's apt sources. Cached in CACHE_DIR/<version>, recorded in
#   CACHE_DIR/current.
# --kernel backports: the newest kernel of <codename>-backports (Debian 12:
#   6.12), from the mirror the host's apt sources use for <codename>, through
#   a private sources list and package lists under CACHE_DIR/apt-backports
#   (the host's apt configuration is not changed). Cached in
#   CACHE_DIR/backports/<version>, recorded in CACHE_DIR/current-backports.
#
# Idempotent: each step leaves a stamp and is skipped next time.
# The resolved kernel is recorded in a shell-sourceable file (see above).
#
# Exit status: 0 ready, 77 cannot be done here (no network/archive, not root
# and packages missing, ...), 1 unexpected failure.
#
# Environment:
#   VGPU_VM_NO_APT=1     never run apt-get install/update (skip if qemu is missing)
#   VGPU_VM_OFFLINE=1    never contact the archive; use what the cache has
set -euo pipefail

SKIP=77
T0=$(date +%s.%N)

log()  { printf '[setup %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc 2>/dev/null || echo 0)" "$*"; }
skip() { echo "[setup] SKIP: $*" >&2; exit $SKIP; }
die()  { echo "[setup] ERROR: $*" >&2; exit 1; }

# time a step: step NAME command...
step() {
    local name=$1; shift
    local s; s=$(date +%s.%N)
    "$@"
    log "$name done in $(echo "$(date +%s.%N) - $s" | bc 2>/dev/null || echo '?')s"
}

FLAVOUR=${VGPU_VM_KERNEL:-stable}
if [ "${1:-}" = --kernel ]; then FLAVOUR=${2:-}; shift 2 || true; fi
case $FLAVOUR in
    stable|backports) ;;
    *) echo "$0: --kernel must be stable or backports, not '$FLAVOUR'" >&2; exit 2 ;;
esac
[ $# -ge 1 ] || { echo "usage: $0 [--kernel stable|backports] CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
if [ "$FLAVOUR" = stable ]; then
    CURRENT=$CACHE/current
    KBASE=$CACHE
else
    CURRENT=$CACHE/current-$FLAVOUR
    KBASE=$CACHE/$FLAVOUR
fi

# one setup at a time per cache (meson test, CI jobs and people share it)
if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    flock -w 600 9 || die "cannot lock $CACHE/.lock"
fi

# bc is used only for timings; fall back silently if missing
command -v bc >/dev/null || log "(bc missing: timings shown as 0)"

[ "$(uname -m)" = x86_64 ] || skip "host is $(uname -m), this harness boots an amd64 kernel"
command -v dpkg >/dev/null && command -v apt-get >/dev/null || skip "not a Debian-like host (no dpkg/apt-get)"

IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1

# ---------------------------------------------------------------- apt helpers
apt_locked_retry() {
    # other engineers share the machine: wait for the dpkg/apt lock, retry
    local i
    for i in 1 2 3; do
        if "$@" -o DPkg::Lock::Timeout=120; then return 0; fi
        log "apt command failed (attempt $i), retrying in 5s: $*"
        sleep 5
    done
    return 1
}

APT_UPDATED=0
apt_update_once() {
    [ "$APT_UPDATED" = 1 ] && return 0
    [ "${VGPU_VM_NO_APT:-0}" = 1 ] && return 1
    [ "$IS_ROOT" = 1 ] || return 1
    log "apt-get update"
    apt_locked_retry apt-get update -qq >>"$CACHE/apt-update.log" 2>&1 || return 1
    APT_UPDATED=1
}

# ---------------------------------------------------------------- backports
# A private sources list naming <codename>-backports on the mirror the host's
# own apt sources use for <codename> (never a host name of our own), with its
# package lists in the cache. Every apt-get/apt-cache call that must see the
# kernel goes through $APT_OPTS.
APT_OPTS=()
backports_apt() {
    local codename uri dir=$CACHE/apt-$FLAVOUR keyring=""
    codename=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
    [ -n "$codename" ] || skip "cannot tell the Debian release (no VERSION_CODENAME in /etc/os-release)"
    uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null \
          | awk -v c="$codename" '$2 == c { print $1; exit }')
    [ -n "$uri" ] || skip "the host's apt sources name no mirror for $codename"
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] &&
        keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    printf 'deb %s%s %s-backports main\n' "$keyring" "$uri" "$codename" > "$dir/sources.list"
    APT_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
              -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
              -o "Dir::State::status=/dev/null")
    if [ "${VGPU_VM_OFFLINE:-0}" != 1 ]; then
        # a day-old list is good enough; the kernel moves every few weeks
        if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
            log "apt-get update ($codename-backports from $uri)"
            apt-get "${APT_OPTS[@]}" -q update >"$dir/update.log" 2>&1 ||
                log "apt-get update of $codename-backports failed (see $dir/update.log)"
        fi
    fi
}
[ "$FLAVOUR" = backports ] && backports_apt

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# ---------------------------------------------------------------- host packages
# qemu-system-x86: the VM.  make/gcc-12/libc6-dev: building the sample modules
# (Debian's headers use gcc-12, see linux-compiler-gcc-12-x86).  libelf1/libssl3:
# the linux-kbuild-6.1 helper binaries (modpost, ...).  xz-utils: the source tarball.
# bc: timings only.
HOST_PKGS="qemu-system-x86 make gcc-12 libc6-dev libelf1 libssl3 xz-utils bc"
host_packages() {
    local missing="" p
    for p in $HOST_PKGS; do pkg_installed "$p" || missing="$missing $p"; done
    if [ -z "$missing" ]; then log "host packages present"; return 0; fi
    if [ "${VGPU_VM_NO_APT:-0}" = 1 ] || [ "$IS_ROOT" = 0 ]; then
        command -v qemu-system-x86_64 >/dev/null || skip "missing host packages:$missing (not root or VGPU_VM_NO_APT=1)"
        log "warning: missing host packages:$missing (not installing)"
        return 0
    fi
    log "installing host packages:$missing (log: $CACHE/apt-install.log)"
    if ! DEBIAN_FRONTEND=noninteractive apt_locked_retry apt-get install -y -q --no-install-recommends $missing \
            >"$CACHE/apt-install.log" 2>&1; then
        apt_update_once || true
        if ! DEBIAN_FRONTEND=noninteractive apt_locked_retry apt-get install -y -q --no-install-recommends $missing \
                >>"$CACHE/apt-install.log" 2>&1; then
            tail -n 5 "$CACHE/apt-install.log" >&2
            skip "cannot install host packages:$missing (no access to the Debian archive?)"
        fi
    fi
}
step "host packages" host_packages
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not available"

# ---------------------------------------------------------------- kernel version
image_dep() {
    apt-cache ${APT_OPTS[@]+"${APT_OPTS[@]}"} depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
resolve_version() {
    local dep="" deps
    if [ "${VGPU_VM_OFFLINE:-0}" != 1 ]; then
        dep=$(image_dep)
        if [ -z "$dep" ] && [ "$FLAVOUR" = stable ] && apt_update_once; then
            dep=$(image_dep)
        fi
    fi
    if [ -z "$dep" ]; then
        if [ -f "$CURRENT" ]; then
            # shellcheck disable=SC1090
            . "$CURRENT"
            log "cannot resolve linux-image-amd64 ($FLAVOUR) now; using cached kernel $KVER"
            return 0
        fi
        skip "cannot resolve linux-image-amd64 ($FLAVOUR: no apt lists / no archive) and nothing cached"
    fi
    KVER=$dep
    # source package version, e.g. 6.1.192-2, and the source series, e.g. 6.1
    PKGVER=$(apt-cache ${APT_OPTS[@]+"${APT_OPTS[@]}"} policy "linux-image-$KVER" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -n1)
    SERIES=$(echo "$KVER" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
    [ -n "$SERIES" ] || die "cannot parse kernel version '$KVER'"
    # the headers name their -common and kbuild packages (linux-kbuild-6.1
    # on 6.1, linux-kbuild-6.12.NN+deb12 on newer kernels)
    deps=$(apt-cache ${APT_OPTS[@]+"${APT_OPTS[@]}"} depends "linux-headers-$KVER" 2>/dev/null | sed -n 's/^ *Depends: //p')
    KBUILD=$(echo "$deps" | grep -m1 '^linux-kbuild-' || echo "linux-kbuild-$SERIES")
    HCOMMON=$(echo "$deps" | grep -m1 '^linux-headers-.*-common$' || echo "linux-headers-${KVER%-amd64}-common")
}
resolve_version
log "kernel: linux-image-$KVER ($PKGVER), source series $SERIES"

KDIR=$KBASE/$KVER
DEBS=$KDIR/debs
ROOT=$KDIR/root          # dpkg -x target for image, headers, kbuild, busybox, mdevctl
MODSRC=$KDIR/samples     # built sample modules
mkdir -p "$DEBS" "$ROOT"

stamp() { [ -f "$KDIR/.stamp-$1" ]; }
mark()  { touch "$KDIR/.stamp-$1"; }

# ---------------------------------------------------------------- download
KBUILD=${KBUILD:-linux-kbuild-$SERIES}
HCOMMON=${HCOMMON:-linux-headers-${KVER%-amd64}-common}
PKGS="linux-image-$KVER linux-headers-$KVER $HCOMMON $KBUILD linux-source-$SERIES"
# busybox and mdevctl come from the release itself, also for backports
REL_PKGS="busybox-static mdevctl"
# download_set "APT OPTIONS" PACKAGES...: those not in $DEBS yet
download_set() {
    local opts=$1 p missing=""; shift
    for p in "$@"; do
        ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    [ "${VGPU_VM_OFFLINE:-0}" = 1 ] && skip "offline and not cached:$missing"
    log "apt-get download$missing"
    # apt-get download warns about the _apt sandbox when run as root in a
    # root-owned dir; harmless.
    # (as root apt-get also warns that the download is "unsandboxed"; harmless)
    # shellcheck disable=SC2086
    (cd "$DEBS" && apt-get $opts -q download $missing) >>"$KDIR/download.log" 2>&1 || true
    for p in $missing; do
        if ! ls "$DEBS/${p}_"*.deb >/dev/null 2>&1; then
            # mdevctl is optional
            if [ "$p" = mdevctl ]; then log "mdevctl not downloadable; guest tests will skip it"; continue; fi
            # shellcheck disable=SC2086
            if apt_update_once && (cd "$DEBS" && apt-get $opts -q download "$p") >>"$KDIR/download.log" 2>&1; then continue; fi
            grep -E '^(E|Err):' "$KDIR/download.log" | tail -n 3 >&2
            skip "cannot download $p (no access to the Debian archive?)"
        fi
    done
}
download() {
    # shellcheck disable=SC2086
    download_set "${APT_OPTS[*]+${APT_OPTS[*]}}" $PKGS
    # shellcheck disable=SC2086
    download_set "" $REL_PKGS
}
if stamp download; then log "packages already downloaded"; else step "download" download; mark download; fi

# ---------------------------------------------------------------- unpack
unpack() {
    local p
    for p in linux-image-$KVER linux-headers-$KVER $HCOMMON $KBUILD busybox-static mdevctl; do
        ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || continue
        dpkg -x "$DEBS/${p}_"*.deb "$ROOT"
    done
    # The per-flavour headers Makefile includes the -common tree by absolute
    # path (/usr/src/linux-headers-<v>-common/Makefile); point it at our copy.
    # The scripts/ and tools/ symlinks are relative (../../lib/linux-kbuild-6.1/..)
    # and resolve inside $ROOT already.
    local h=$ROOT/usr/src/linux-headers-$KVER l t
    sed -i "s|^include /usr/src/|include $ROOT/usr/src/|" "$h/Makefile"
    # absolute links (newer headers) must point into $ROOT too
    for l in "$h"/* "$ROOT"/usr/src/linux-headers-*-common/*; do
        [ -L "$l" ] || continue
        t=$(readlink "$l")
        case $t in /*) ln -sfn "$ROOT$t" "$l" ;; esac
    done
    [ -x "$h/scripts/mod/modpost" ] || die "unpacked headers lack scripts/mod/modpost (linux-kbuild-$SERIES?)"
    # modules.dep is generated at install time by depmod; the host may lack
    # kmod, so use busybox's depmod from the unpacked busybox-static.
    "$ROOT/bin/busybox" depmod -b "$ROOT" "$KVER"
    [ -s "$ROOT/lib/modules/$KVER/modules.dep" ] || die "depmod produced no modules.dep"
}

# ---------------------------------------------------------------- sample modules
extract_samples() {
    rm -rf "$MODSRC"; mkdir -p "$MODSRC"
    # Only the inner tarball is needed; stream it out of the .deb instead of
    # writing the 139 MB file, then take samples/vfio-mdev from it.
    dpkg-deb --fsys-tarfile "$DEBS/linux-source-${SERIES}_"*.deb \
        | tar -xO "./usr/src/linux-source-$SERIES.tar.xz" \
        | tar -xJ -C "$MODSRC" --strip-components=3 --wildcards "linux-source-$SERIES/samples/vfio-mdev/*"
    [ -f "$MODSRC/mtty.c" ] || die "samples/vfio-mdev not found in linux-source-$SERIES"
    # The in-tree Makefile keys on CONFIG_SAMPLE_*; build all four unconditionally.
    printf 'obj-m += mtty.o mdpy.o mdpy-fb.o mbochs.o\n' > "$MODSRC/Kbuild"
}
# ---------------------------------------------------------------- iommufd
# Debian builds its kernels without CONFIG_IOMMUFD (6.12 too), so there is
# no /dev/iommu and no /dev/vfio/devices/vfioN to test against. For the
# backports kernel the VFIO stack is rebuilt from the same linux-source with
# iommufd as a module: iommufd.ko, and vfio.ko (+ the cdev), type1, vfio-pci,
# mdev built against it, with the kernel's own config otherwise; the sample
# drivers are built against those. run-vm.sh puts them in place of Debian's.
VFIOSRC=$KDIR/vfio-src       # drivers/vfio, drivers/iommu, lib/interval_tree.c
VFIOMOD=$KDIR/vfio-iommufd   # the rebuilt modules
# what the rebuilt tree has that Debian's config does not
IOMMUFD_MAKE=(CONFIG_IOMMUFD=m CONFIG_VFIO_DEVICE_CDEV=y
              "KCFLAGS=-DCONFIG_IOMMUFD_MODULE=1 -DCONFIG_VFIO_DEVICE_CDEV=1 -DCONFIG_INTERVAL_TREE_SPAN_ITER=1")
extract_vfio_src() {
    rm -rf "$VFIOSRC"; mkdir -p "$VFIOSRC"
    dpkg-deb --fsys-tarfile "$DEBS/linux-source-${SERIES}_"*.deb \
        | tar -xO "./usr/src/linux-source-$SERIES.tar.xz" \
        | tar -xJ -C "$VFIOSRC" --strip-components=1 --wildcards \
            "linux-source-$SERIES/drivers/vfio/*" "linux-source-$SERIES/drivers/iommu/*" \
            "linux-source-$SERIES/lib/interval_tree.c"
}
want_iommufd() {
    [ "$FLAVOUR" = backports ] && [ -f "$ROOT/boot/config-$KVER" ] &&
        grep -q '^# CONFIG_IOMMUFD is not set' "$ROOT/boot/config-$KVER"
}
kmake() {  # kmake DIR ARGS...: build DIR's modules against the headers
    local dir=$1; shift
    # No BTF: newer headers ship vmlinux and would run pahole, which the
    # host need not have (these modules need no BTF).
    make -s -C "$ROOT/usr/src/linux-headers-$KVER" M="$dir" -j"$(nproc)" \
        CONFIG_DEBUG_INFO_BTF_MODULES= "$@" modules 2>&1 \
        | grep -v 'Skipping BTF generation' || true
}
build_vfio_iommufd() {
    local o=$VFIOMOD m
    rm -rf "$o"; mkdir -p "$o/drivers/iommu"
    [ -f "$VFIOSRC/drivers/iommu/iommufd/main.c" ] || die "no drivers/iommu/iommufd in linux-source-$SERIES"
    cp -r "$VFIOSRC/drivers/vfio" "$o/drivers/"
    cp -r "$VFIOSRC/drivers/iommu/iommufd" "$o/drivers/iommu/"
    cp "$VFIOSRC"/drivers/iommu/*.h "$o/drivers/iommu/"
    # the span iterator iommufd selects is built into the kernel only
    # with it (CONFIG_INTERVAL_TREE_SPAN_ITER): take that part of
    # lib/interval_tree.c into iommufd.ko
    { sed -n '/^#include/p' "$VFIOSRC/lib/interval_tree.c"
      sed -n '/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/,/^#endif/p' "$VFIOSRC/lib/interval_tree.c" | sed '1d;$d'
    } > "$o/drivers/iommu/iommufd/span_iter.c"
    grep -q interval_tree_span_iter_first "$o/drivers/iommu/iommufd/span_iter.c" || die "no span iterator in lib/interval_tree.c"
    echo 'iommufd-y += span_iter.o' >> "$o/drivers/iommu/iommufd/Makefile"
    printf 'obj-m += drivers/vfio/ drivers/iommu/iommufd/\n' > "$o/Kbuild"
    kmake "$o" "${IOMMUFD_MAKE[@]}"
    for m in drivers/iommu/iommufd/iommufd drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 \
             drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci drivers/vfio/mdev/mdev; do
        [ -f "$o/$m.ko" ] || die "building $m.ko with iommufd failed"
    done
    # the sample drivers once more, against these (struct vfio_device
    # differs, and so do the symbol versions)
    mkdir -p "$o/samples"
    cp "$MODSRC"/*.c "$MODSRC"/*.h "$MODSRC/Kbuild" "$o/samples/" 2>/dev/null
    kmake "$o/samples" "${IOMMUFD_MAKE[@]}" "KBUILD_EXTRA_SYMBOLS=$o/Module.symvers"
    for m in mtty mdpy mdpy-fb mbochs; do
        [ -f "$o/samples/$m.ko" ] || die "building $m.ko against the VFIO stack with iommufd failed"
    done
}
build_samples() {
    kmake "$MODSRC"
    local m
    for m in mtty mdpy mdpy-fb mbochs; do
        [ -f "$MODSRC/$m.ko" ] || die "building $m.ko failed"
    done
}
# The two slow cold steps (unpacking ~85 MB of kernel packages, decompressing
# the 139 MB source tarball) are independent: run them side by side.
EXTRACT_PID=""
if stamp samples-src; then
    log "sample sources already extracted"
else
    ( step "extract samples/vfio-mdev (in background)" extract_samples ) &
    EXTRACT_PID=$!
fi
if stamp unpack; then log "packages already unpacked"; else step "unpack" unpack; mark unpack; fi
if [ -n "$EXTRACT_PID" ]; then
    wait "$EXTRACT_PID" || die "extracting samples/vfio-mdev failed"
    mark samples-src
fi
if stamp samples-built; then log "sample modules already built"; else step "build sample modules" build_samples; mark samples-built; fi
if want_iommufd && ! stamp vfio-iommufd; then
    stamp vfio-src || { step "extract drivers/vfio, drivers/iommu" extract_vfio_src; mark vfio-src; }
    step "build the VFIO stack with iommufd" build_vfio_iommufd
    mark vfio-iommufd
fi

# ---------------------------------------------------------------- record
VMLINUZ=$ROOT/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "missing $VMLINUZ"
cat > "$CURRENT.tmp" <<EOF
KVER=$KVER
PKGVER=$PKGVER
SERIES=$SERIES
KDIR=$KDIR
ROOT=$ROOT
VMLINUZ=$VMLINUZ
MODULES=$ROOT/lib/modules/$KVER
SAMPLES=$MODSRC
VFIO_IOMMUFD=$( [ -f "$KDIR/.stamp-vfio-iommufd" ] && echo "$VFIOMOD")
BUSYBOX=$ROOT/bin/busybox
MDEVCTL=$(for f in "$ROOT/usr/bin/mdevctl" "$ROOT/usr/sbin/mdevctl"; do [ -x "$f" ] && echo "$f" && break; done)
FLAVOUR=$FLAVOUR
KCONFIG=$ROOT/boot/config-$KVER
EOF
mv "$CURRENT.tmp" "$CURRENT"

# drop unpacked trees of older kernels of this flavour (each is ~700 MB)
# unless asked not to
if [ "${VGPU_VM_KEEP_OLD:-0}" != 1 ]; then
    for d in "$KBASE"/*-amd64; do
        [ -d "$d" ] && [ "$d" != "$KDIR" ] || continue
        log "removing cache of older kernel ${d##*/}"
        rm -rf "$d"
    done
fi
log "ready: $CURRENT (kernel $KVER)"
