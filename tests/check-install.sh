#!/bin/sh
# Install into a private DESTDIR and use the result as a user would: every
# promised file is there, and a program built with
# `pkg-config --cflags --libs libvgpu` compiles, links and runs.
#   check-install.sh BUILD-DIR CC
set -eu
build=$1 cc=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; exit 1; }
option() {
	meson introspect "$build" --buildoptions | python3 -c \
		'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(option prefix)
# a sanitized library needs its runtime in the program too
sanitize=$(option b_sanitize)
[ "$sanitize" = none ] && sanitize= || sanitize=-fsanitize=$sanitize
root=$tmp/root$prefix
fail=0
for f in include/libvgpu.h sbin/vgpuctl share/man/man8/vgpuctl.8 \
	share/bash-completion/completions/vgpuctl; do
	[ -e "$root/$f" ] || { echo "missing: $prefix/$f"; fail=1; }
done
so=$(find "$root" -name 'libvgpu.so.0' | head -1)
pc=$(find "$root" -name 'libvgpu.pc' | head -1)
rules=$(find "$tmp/root" -name '90-vgpuctl.rules' | head -1)
[ -n "$so" ] || { echo "missing: libvgpu.so.0"; fail=1; }
[ -n "$pc" ] || { echo "missing: libvgpu.pc"; fail=1; }
[ -n "$rules" ] || { echo "missing: 90-vgpuctl.rules"; fail=1; }
[ $fail = 0 ] || exit 1
grep -q "vgpuctl autostart" "$rules" || { echo "udev rule does not run vgpuctl autostart"; exit 1; }
objdump -p "$so" | grep -q 'SONAME *libvgpu.so.0' || { echo "wrong soname"; exit 1; }

cat > "$tmp/user.c" <<'EOC'
#include <errno.h>
#include <stdio.h>
#include <libvgpu.h>

int main(void)
{
	struct vgpu_ctx *ctx;
	struct vgpu_parent **parents;
	size_t n;

	if (vgpu_ctx_new(&ctx) < 0 || vgpu_ctx_set_sysfs_root(ctx, "/nonexistent") < 0)
		return 1;
	if (vgpu_parent_list(ctx, &parents, &n) < 0 || n != 0)
		return 1;
	vgpu_parent_list_free(parents, n);
	if (vgpu_ctx_unref(ctx) != NULL)
		return 1;
	puts("pkg-config user ok");
	return 0;
}
EOC
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$root" \
	--cflags --libs libvgpu)
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Werror $sanitize "$tmp/user.c" -o "$tmp/user" $flags
LD_LIBRARY_PATH=$(dirname "$so") "$tmp/user"
