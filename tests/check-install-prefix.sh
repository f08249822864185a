#!/bin/sh
# `meson install` into a --prefix as an unprivileged user: configure, build
# and install the source tree as user nobody (or as the calling user when
# that is not root) into a private prefix. Everything must land under the
# prefix - the udev rule, man pages, completion, docs and examples included -
# since nothing else is writable; then the installed vgpuctl runs.
#   check-install-prefix.sh SOURCE-DIR
# Exit 77 when there is no unprivileged user to run as.
set -eu
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-prefix.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
	command -v setpriv > /dev/null || { echo "no setpriv: skip"; exit 77; }
	id nobody > /dev/null 2>&1 || { echo "no user nobody: skip"; exit 77; }
	mkdir "$tmp/work"
	chown nobody "$tmp/work"
	as() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		env HOME="$tmp/work" "$@"; }
else
	mkdir "$tmp/work"
	as() { env HOME="$tmp/work" "$@"; }
fi
w=$tmp/work
prefix=$w/prefix
as meson setup "$w/build" "$src" --prefix "$prefix" -Dbuildtype=plain \
	-Dtests=disabled -Dvm_tests=disabled > "$w/setup.log" 2>&1 ||
	{ cat "$w/setup.log"; exit 1; }
as ninja -C "$w/build" -j2 > "$w/build.log" 2>&1 || { tail -30 "$w/build.log"; exit 1; }
as meson install -C "$w/build" --no-rebuild > "$w/install.log" 2>&1 ||
	{ cat "$w/install.log"; echo "meson install as an unprivileged user failed"; exit 1; }
fail=0
for f in sbin/vgpuctl libexec/libvgpu/vgpuctl-display bin/vgpu-sim bin/vgpu-sim-demo include/libvgpu.h \
	include/libvgpu-provider.h lib/udev/rules.d/90-vgpuctl.rules \
	lib/systemd/system/vgpu-autostart.service \
	share/man/man8/vgpuctl.8 share/man/man1/vgpu-sim.1 share/man/man1/vgpu-sim-demo.1 \
	share/bash-completion/completions/vgpuctl share/libvgpu/vgpuctl.schema.json \
	share/doc/libvgpu/vendor-guide.md share/doc/libvgpu/json-schema.md \
	share/doc/libvgpu/examples/vgpu-sim.c share/doc/libvgpu/examples/vgpu-sim-demo.c; do
	[ -e "$prefix/$f" ] || { echo "missing: PREFIX/$f"; fail=1; }
done
# meson's own record of what it installed: all of it under the prefix
outside=$(as meson introspect "$w/build" --installed | python3 -c '
import json, sys
prefix = sys.argv[1] + "/"
for dest in json.load(sys.stdin).values():
    if not dest.startswith(prefix):
        print(dest)' "$prefix")
[ -z "$outside" ] || { echo "installed outside the prefix: $outside"; fail=1; }
so=$(find "$prefix" -name 'libvgpu.so.0' | head -1)
[ -n "$so" ] || { echo "missing: libvgpu.so.0"; fail=1; }
[ $fail = 0 ] || exit 1
grep -q "$prefix/sbin/vgpuctl autostart" "$prefix/lib/udev/rules.d/90-vgpuctl.rules" ||
	{ echo "the udev rule does not run the installed vgpuctl"; exit 1; }
LD_LIBRARY_PATH=$(dirname "$so") "$prefix/sbin/vgpuctl" --version
# libvncserver and libpng only in the private program, which the installed
# vgpuctl finds where it was installed
if objdump -p "$prefix/sbin/vgpuctl" | grep -E 'NEEDED +lib(vncserver|png)'; then
	echo "vgpuctl links what only vgpuctl-display needs"; exit 1
fi
LD_LIBRARY_PATH=$(dirname "$so") "$prefix/sbin/vgpuctl" screenshot --help |
	grep -q "save what the device's display shows as PNG" ||
	{ echo "the installed vgpuctl does not run the installed vgpuctl-display"; exit 1; }
LD_LIBRARY_PATH=$(dirname "$so") "$prefix/sbin/vgpuctl" --sysfs-root "$w" \
	--runtime-dir "$w/run" inventory --json > /dev/null
echo "installed under $prefix as $(as id -un)"
