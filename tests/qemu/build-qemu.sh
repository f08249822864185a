#!/bin/bash
# tests/qemu/build-qemu.sh [CACHE_DIR]
#
# Build a small QEMU with the vfio-user client (device `vfio-user-pci`, QEMU
# 10.1 or newer) from the source package of Debian unstable, once, into a cache
# outside the build tree:
#
#   CACHE_DIR/<version>-<confighash>/bin/qemu-system-x86_64
#
# keyed by the package version and a hash of the configuration below (the
# device set and configure options), so a change of either builds anew and
# other entries stay as they are.  CACHE_DIR defaults to $VGPU_QEMU_CACHE or
# ~/.cache/libvgpu-qemu.  On success the last line of standard output is the
# path of the binary.
#
# The Debian mirror is the one the system's own apt configuration uses for
# its release; a private sources list (unstable's deb-src, and the release's
# backports for a newer meson) and private apt state keep the system's lists
# and packages untouched.  Host packages needed for building (glib headers,
# firmware) are installed with apt-get when running as root.
#
# Exit status: 0 built (or cached), 77 cannot be done here (no archive, not a
# Debian host, not root and build dependencies missing), 1 build failure.
#
# Environment:
#   VGPU_QEMU_CACHE    cache directory (default ~/.cache/libvgpu-qemu)
#   VGPU_QEMU_OFFLINE=1  never contact the archive: use the cache or skip
#   VGPU_QEMU_JOBS     ninja -j (default 2)
set -euo pipefail

SKIP=77
T0=$(date +%s)
log()  { printf '[build-qemu %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
skip() { echo "[build-qemu] SKIP: $*" >&2; exit $SKIP; }
die()  { echo "[build-qemu] ERROR: $*" >&2; exit 1; }

CACHE=${1:-${VGPU_QEMU_CACHE:-$HOME/.cache/libvgpu-qemu}}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
JOBS=${VGPU_QEMU_JOBS:-2}

command -v apt-get >/dev/null && command -v dpkg-source >/dev/null ||
	skip "not a Debian host with dpkg-dev (apt-get, dpkg-source)"
[ "$(uname -m)" = x86_64 ] || skip "host is $(uname -m); this builds x86_64-softmmu for an x86_64 host"

# one build at a time per cache
exec 9>"$CACHE/.lock"
flock -w 3600 9 || die "cannot lock $CACHE/.lock"

# ------------------------------------------------------------- configuration
# Everything that changes the binary goes into CONFIG; its hash names the
# cache entry.  The device set: the q35 machine, a PCIe root port, the VFIO
# PCI device and its vfio-user flavour; 10.2 also needs PXB and CXL to link
# an x86 machine built without the default devices.
DEVICES="Q35 VFIO_PCI VFIO_USER PCIE_PORT PXB CXL CXL_MEM_DEVICE ISA_DEBUG"
CONFIGURE_ARGS="--target-list=x86_64-softmmu --without-default-features
	--without-default-devices --disable-docs --disable-tools
	--disable-install-blobs --enable-trace-backends=log --disable-werror
	--disable-download --enable-fdt=system"
DEBIAN_PATCHES="skip-unpack-edk2-blobs skip-install-dtb disable-pycotap"
CONFIG="devices=$DEVICES
configure=$(echo $CONFIGURE_ARGS)
patches=$DEBIAN_PATCHES
format=1"
CONFIGHASH=$(printf '%s' "$CONFIG" | sha256sum | cut -c1-12)

# A finished entry for this configuration is used as it is when the archive
# cannot (or must not) be asked for a newer version.
cached_entry() {
	local d
	for d in $(ls -d "$CACHE"/*-"$CONFIGHASH" 2>/dev/null | sort -V -r); do
		[ -x "$d/bin/qemu-system-x86_64" ] && [ -f "$d/.done" ] && { echo "$d"; return 0; }
	done
	return 1
}

# ------------------------------------------------------------- the mirror
# The first Debian archive URI that serves this system's release, from the
# deb822 sources and the one-line sources.list alike.
. /etc/os-release
CODENAME=${VERSION_CODENAME:-}
[ -n "$CODENAME" ] || skip "no VERSION_CODENAME in /etc/os-release"
derive_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v rel="$CODENAME" '
			function flush() {
				if (uris != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " rel " ")) {
					split(uris, u, " "); print u[1]; found = 1; exit
				}
				uris = ""; suites = ""; types = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			END { if (!found) flush() }' "$f" | head -n1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v rel="$CODENAME" '$1 == "deb" && $3 == rel { print $2; exit }'
	done
}
MIRROR=$(derive_mirror | head -n1)
MIRROR=${MIRROR%/}

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APTDIR=$CACHE/apt
APT_OPTS=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
	-o "Dir::State::status=/var/lib/dpkg/status" -o Debug::NoLocking=1
	-o APT::Sandbox::User=root -o Acquire::Retries=2)

apt_private_update() {
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	cat > "$APTDIR/sources.list" <<-LIST
	deb-src [signed-by=$KEYRING] $MIRROR unstable main
	deb [signed-by=$KEYRING] $MIRROR $CODENAME-backports main
	LIST
	log "apt-get update (private lists, mirror $MIRROR)"
	apt-get "${APT_OPTS[@]}" -q update > "$APTDIR/update.log" 2>&1
}

if [ "${VGPU_QEMU_OFFLINE:-0}" = 1 ]; then
	d=$(cached_entry) || skip "offline and no cached QEMU for configuration $CONFIGHASH"
	echo "$d/bin/qemu-system-x86_64"; exit 0
fi
if [ -z "$MIRROR" ] || ! apt_private_update; then
	d=$(cached_entry) && { log "archive unreachable; using cached $d"; echo "$d/bin/qemu-system-x86_64"; exit 0; }
	[ -z "$MIRROR" ] && skip "no Debian mirror for $CODENAME in the apt configuration"
	tail -n 3 "$APTDIR/update.log" >&2
	skip "cannot reach the Debian archive at $MIRROR"
fi

# ------------------------------------------------------------- the version
# The newest version in unstable's Sources (10.1 or newer) whose files the
# archive serves: a Sources index may still name a version whose files are
# gone from the pool.
VERSIONS=$(apt-cache "${APT_OPTS[@]}" showsrc qemu 2>/dev/null |
	sed -n 's/^Version: //p' | sort -V -r -u)
[ -n "$VERSIONS" ] || skip "unstable's Sources has no qemu"
upstream_of() { local u=${1#*:}; u=${u%%+*}; echo "${u%%-*}"; }
VERSION=""
for v in $VERSIONS; do
	u=$(upstream_of "$v")
	case $u in [0-9].*|10.0*) continue ;; esac
	if [ -x "$CACHE/$u-$CONFIGHASH/bin/qemu-system-x86_64" ] && [ -f "$CACHE/$u-$CONFIGHASH/.done" ]; then
		log "cached: $CACHE/$u-$CONFIGHASH (qemu $v)"
		echo "$CACHE/$u-$CONFIGHASH/bin/qemu-system-x86_64"; exit 0
	fi
	SRC=$CACHE/src/${v#*:}   # no epoch: QEMU refuses a colon in its path
	DL=$SRC/dl
	mkdir -p "$DL"
	if ls "$DL"/*.dsc >/dev/null 2>&1; then VERSION=$v; break; fi
	log "apt-get source --download-only qemu=$v"
	if (cd "$DL" && apt-get "${APT_OPTS[@]}" -q source --download-only "qemu=$v") \
		> "$SRC/download.log" 2>&1; then
		VERSION=$v; break
	fi
	log "qemu $v is not downloadable: $(grep -m1 -E '^(E|Err):' "$SRC/download.log" || true)"
	rm -rf "$SRC"
done
[ -n "$VERSION" ] || skip "no downloadable qemu 10.1 or newer in unstable (tried: $(echo $VERSIONS))"
UPSTREAM=$(upstream_of "$VERSION")
ENTRY=$CACHE/${UPSTREAM}-$CONFIGHASH
QEMU=$ENTRY/bin/qemu-system-x86_64
log "building qemu $VERSION into $ENTRY"

# ------------------------------------------------------------- host packages
HOST_PKGS="libglib2.0-dev libfdt-dev ninja-build python3-venv pkg-config gcc make patch xz-utils seabios qemu-system-data"
missing=""
for p in $HOST_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || skip "build dependencies missing:$missing (not root)"
	log "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=300 $missing > "$CACHE/apt-install.log" 2>&1 ||
		{ tail -n 5 "$CACHE/apt-install.log" >&2; skip "cannot install:$missing"; }
fi

# ------------------------------------------------------------- sources
TREE=$SRC/tree
if [ ! -f "$SRC/.unpacked" ]; then
	rm -rf "$TREE"
	log "unpacking and applying Debian's build patches:$DEBIAN_PATCHES"
	# unpack without Debian's patches, then apply only the ones the build
	# needs (the others change packaging, not the program)
	dpkg-source --skip-patches -x "$DL"/*.dsc "$TREE" > "$SRC/unpack.log" 2>&1 ||
		die "dpkg-source failed (see $SRC/unpack.log)"
	for p in $DEBIAN_PATCHES; do
		f=$(ls "$TREE"/debian/patches/$p.patch "$TREE"/debian/patches/*/$p.patch 2>/dev/null | head -n1 || true)
		if [ -z "$f" ]; then log "note: Debian patch $p not in $VERSION"; continue; fi
		patch -d "$TREE" -p1 -s < "$f" || die "patch $p failed"
	done
	touch "$SRC/.unpacked"
fi

# ------------------------------------------------------------- meson >= 1.5
# QEMU 10.2 needs meson 1.5; take the backport's python module into a venv
# that configure uses as its python.
VENV=$CACHE/venv-$CODENAME
have_meson() { "$VENV/bin/python3" -c 'import mesonbuild.coredata as c, sys
v = tuple(int(x) for x in c.version.split(".")[:2]); sys.exit(v < (1, 5))' 2>/dev/null; }
if ! have_meson; then
	log "meson from $CODENAME-backports into $VENV"
	rm -rf "$VENV" "$CACHE/meson-deb"
	mkdir -p "$CACHE/meson-deb"
	(cd "$CACHE/meson-deb" && apt-get "${APT_OPTS[@]}" -q download "meson/$CODENAME-backports") \
		> "$CACHE/meson-download.log" 2>&1 ||
		{ tail -n 3 "$CACHE/meson-download.log" >&2; skip "cannot download meson from $CODENAME-backports"; }
	dpkg-deb -x "$CACHE"/meson-deb/meson_*.deb "$CACHE/meson-deb/root"
	# Debian's python (not whatever python3 comes first on PATH), with the
	# backport's module and its metadata inside the venv itself: QEMU's
	# configure makes a nested venv that sees this one's site-packages as
	# a plain path (so no .pth tricks) and looks meson up by its metadata
	/usr/bin/python3 -m venv --system-site-packages "$VENV"
	site=$("$VENV/bin/python3" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
	cp -a "$CACHE"/meson-deb/root/usr/lib/python3/dist-packages/. "$site/"
	have_meson || die "meson >= 1.5 not usable from $VENV"
fi

# ------------------------------------------------------------- build
BUILD=$SRC/build-$CONFIGHASH
# configure takes the name of a file in the tree's configs/devices/
devfile=$TREE/configs/devices/x86_64-softmmu/libvgpu-test.mak
: > "$devfile"
for d in $DEVICES; do echo "CONFIG_$d=y" >> "$devfile"; done
if [ ! -f "$BUILD/build.ninja" ]; then
	rm -rf "$BUILD"; mkdir -p "$BUILD"
	log "configure (log: $BUILD/configure.log)"
	# shellcheck disable=SC2086
	(cd "$BUILD" && "$TREE/configure" --python="$VENV/bin/python3" $CONFIGURE_ARGS \
		--with-devices-x86_64=libvgpu-test --prefix="$ENTRY") > "$BUILD/configure.log" 2>&1 ||
		{ tail -n 20 "$BUILD/configure.log" >&2; die "configure failed"; }
fi
log "ninja -j$JOBS (log: $BUILD/ninja.log)"
ninja -C "$BUILD" -j"$JOBS" qemu-system-x86_64 > "$BUILD/ninja.log" 2>&1 ||
	{ grep -E 'error|FAILED' "$BUILD/ninja.log" | head -n 20 >&2; die "build failed"; }
"$BUILD/qemu-system-x86_64" -device help 2>/dev/null | grep -q '"vfio-user-pci"' ||
	die "the built QEMU has no vfio-user-pci device"
mkdir -p "$ENTRY/bin"
cp "$BUILD/qemu-system-x86_64" "$QEMU.tmp" && mv "$QEMU.tmp" "$QEMU"
printf 'version=%s\n%s\n' "$VERSION" "$CONFIG" > "$ENTRY/config"
touch "$ENTRY/.done"
# the tree and the objects are ~1 GB; the binary is all the tests need
rm -rf "$BUILD" "$TREE" "$SRC/.unpacked"
log "built $QEMU in $(( $(date +%s) - T0 ))s"
echo "$QEMU"
