#!/bin/sh
# vgpu-sim-walkthrough.sh BUILD-DIR WORK-DIR: the whole life of a user-space
# vGPU with vgpuctl: start vgpu-sim (sockets in WORK-DIR/run), see it in
# `vgpuctl parents` and `types`, create an instance, `show` it (socket and
# QEMU fragment), run vgpu-sim-demo on it (open, DMA map, blit, interrupt,
# framebuffer check), `vgpuctl screenshot` it to WORK-DIR/frame.png, remove
# it, stop vgpu-sim. Needs neither root nor hardware. Every step is checked;
# the first that fails ends the walk with a non-zero status. Run by
# tools/demo.sh and by the test suite (tests/vfio-user/test-walkthrough.sh).
set -eu
build=$(cd "$1" && pwd)
work=$2
mkdir -p "$work"
work=$(cd "$work" && pwd)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
fail() { echo "walkthrough: FAILED: $*" >&2; exit 1; }
v() { "$build/tools/vgpuctl" --sysfs-root "$work/empty" --runtime-dir "$work/run" "$@"; }
mkdir -p "$work/empty"

say "vgpu-sim --runtime-dir $work/run &"
"$build/tools/vgpu-sim" --runtime-dir "$work/run" > "$work/sim.out" 2> "$work/sim.log" &
sim=$!
stop_sim() {
	[ -n "${sim:-}" ] || return 0
	kill -TERM "$sim" 2> /dev/null || true
	wait "$sim" || rc=$?
	sim=
	return "${rc:-0}"
}
trap 'stop_sim || true' EXIT
i=0
until grep -q '^ready$' "$work/sim.out" 2> /dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "vgpu-sim did not start: $(cat "$work/sim.log")"
	kill -0 "$sim" 2> /dev/null || fail "vgpu-sim exited: $(cat "$work/sim.log")"
	sleep 0.05
done
echo ready

say "vgpuctl parents"
v parents | tee "$work/parents.txt"
grep -q '^vgpu-sim0 .*vfio-user' "$work/parents.txt" || fail "vgpuctl parents does not list vgpu-sim0"

say "vgpuctl types vgpu-sim0"
v types vgpu-sim0 | tee "$work/types.txt"
grep -q 'sim-64m' "$work/types.txt" || fail "vgpuctl types does not list sim-64m"

say "vgpuctl monitor --interval 0 &   (providers raise no uevents; their sockets are watched)"
v monitor --interval 0 --count 2 --timeout 20000 > "$work/events.txt" 2> "$work/monitor.err" &
mon=$!
i=0
until grep -qs monitoring "$work/monitor.err"; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "vgpuctl monitor did not start"
	sleep 0.05
done

say "vgpuctl create -p vgpu-sim0 -t sim-64m"
uuid=$(v create -p vgpu-sim0 -t sim-64m) || fail "vgpuctl create"
echo "$uuid"

say "vgpuctl show $uuid"
v show "$uuid" | tee "$work/show.txt"
grep -q "Socket: .*$work/run/vfio-user/$uuid.sock" "$work/show.txt" || fail "vgpuctl show: no socket"
grep -q 'QEMU: .*vfio-user-pci' "$work/show.txt" || fail "vgpuctl show: no QEMU fragment"

say "vgpu-sim-demo $uuid"
"$build/tools/vgpu-sim-demo" --sysfs-root "$work/empty" --runtime-dir "$work/run" "$uuid" ||
	fail "vgpu-sim-demo"

say "vgpuctl screenshot $uuid $work/frame.png"
v screenshot "$uuid" "$work/frame.png" || fail "vgpuctl screenshot"

say "vgpuctl remove $uuid"
v remove "$uuid" || fail "vgpuctl remove"
v list | grep -q "$uuid" && fail "the instance is still listed"
wait "$mon" || fail "vgpuctl monitor"
cat "$work/events.txt"
grep -q "^instance-added vfio-user vgpu-sim0 $uuid sim-64m" "$work/events.txt" ||
	fail "the monitor missed the new instance"
grep -q "^instance-removed vfio-user vgpu-sim0 $uuid" "$work/events.txt" ||
	fail "the monitor missed the removal"

say "stop vgpu-sim"
stop_sim || fail "vgpu-sim did not exit cleanly"
echo "walkthrough done: $work/frame.png"
