#!/bin/sh
# demo.sh BUILD-DIR: vgpuctl on this machine's real sysfs, then a user-space
# vGPU's whole life (tools/vgpu-sim-walkthrough.sh: vgpu-sim started, listed,
# an instance created, shown, driven through the device API by
# vgpu-sim-demo (DMA blit + interrupt), screenshot as PNG, removed), then a
# full mdev lifecycle on a demo host: a fake sysfs served by vgpu-fakesysfs that
# behaves like the kernel (writing a UUID to "create" makes the device appear,
# capacity is enforced), so every verb can be seen working without vGPU
# hardware.
set -eu
build=$(cd "${1:-build}" && pwd)
vgpuctl=$build/tools/vgpuctl
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

echo "== this machine"
run "$vgpuctl" parents
run "$vgpuctl" list --all

echo
echo "== a user-space vGPU: vgpu-sim over vfio-user"
simwork=$(mktemp -d /tmp/vgpu-sim-demo.XXXXXX)
"$(dirname "$0")/vgpu-sim-walkthrough.sh" "$build" "$simwork"
echo "(the screenshot is $simwork/frame.png)"

fakesysfs=$build/tests/fake/vgpu-fakesysfs
if [ ! -x "$fakesysfs" ] || [ ! -e /dev/fuse ] || [ "$(id -u)" != 0 ]; then
	echo "(the demo host needs root, /dev/fuse and vgpu-fakesysfs; skipped)"
	exit 0
fi
tmp=$(mktemp -d /tmp/vgpu-demo.XXXXXX)
cleanup() {
	umount -l "$tmp/live" 2> /dev/null || true
	[ -n "${pid:-}" ] && wait "$pid" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# two GPU-like parents with three GVT-g style types each
"$build/tests/bench/mkhost" "$tmp/host" 2 3 0
mkdir "$tmp/live"
"$fakesysfs" "$tmp/host" "$tmp/live" -f 2> "$tmp/daemon.log" &
pid=$!
i=0
while [ "$(stat -c %d "$tmp/live")" = "$(stat -c %d "$tmp")" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$tmp/daemon.log"; exit 1; }
	sleep 0.05
done
v() { "$vgpuctl" --sysfs-root "$tmp/live/sys" --config-dir "$tmp/live/etc/mdevctl.d" \
	--runtime-dir "$tmp/run" "$@"; }

echo
echo "== a demo host (fake sysfs with the kernel's behaviour)"
say "vgpuctl parents"; v parents
say "vgpuctl types 0000:01:00.0"; v types 0000:01:00.0
say "vgpuctl show 0000:01:00.0"; v show 0000:01:00.0
say "vgpuctl create -p 0000:01:00.0 -t i915-GVTg_V5_0"
u=$(v create -p 0000:01:00.0 -t i915-GVTg_V5_0); echo "$u"
say "vgpuctl create -p 0000:01:00.0 -t i915-GVTg_V5_0   (the type is full now)"
v create -p 0000:01:00.0 -t i915-GVTg_V5_0 || echo "exit status $?"
say "vgpuctl define -p 0000:01:01.0 -t i915-GVTg_V5_2 --auto"
d=$(v define -p 0000:01:01.0 -t i915-GVTg_V5_2 --auto); echo "$d"
say "vgpuctl autostart 0000:01:01.0"; v autostart 0000:01:01.0
say "vgpuctl list --all"; v list --all
say "vgpuctl show $u"; v show "$u"
say "vgpuctl --json list"; v --json list
say "vgpuctl mdevctl list -d       (the mdevctl personality)"; v mdevctl list -d
say "vgpuctl stop $u"; v stop "$u"
say "vgpuctl remove $d"; v remove "$d"
say "vgpuctl list --all"; v list --all
echo
echo "demo done"
