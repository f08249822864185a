#!/bin/bash
# Usage, QoS and the live view on vgpu-sim, the way an administrator sees
# them: start vgpu-sim, create an instance, run a blit on it (vgpu-sim-demo),
# then `vgpuctl stats` reports the provider's counters, `vgpuctl qos --set`
# reaches the provider's scheduler, and `vgpuctl top` in tmux draws the
# instance with its QoS, follows a second blit and quits on 'q'.
# usage: test-sim-top.sh BUILD-DIR   (exit 77 without tmux)
set -u
build=$1
command -v tmux > /dev/null || { echo "no tmux (tools/install-deps.sh): skip"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-sim-top.XXXXXX")
sock=vgpu-sim-top-$$
sim=
cleanup() {
	tmux -L $sock kill-server 2> /dev/null
	[ -n "$sim" ] && { kill "$sim" 2> /dev/null; wait "$sim" 2> /dev/null; }
	rm -rf "$work"
}
trap cleanup EXIT
fails=0 passes=0
check() {
	local what=$1; shift
	if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
# a bounded wait for what the live view draws (no timing is asserted)
eventually() {
	for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
	return 1
}
v() { "$build/tools/vgpuctl" --sysfs-root "$work/empty" --runtime-dir "$work/run" "$@"; }
mkdir -p "$work/empty"
"$build/tools/vgpu-sim" --runtime-dir "$work/run" > "$work/sim.out" 2> "$work/sim.log" &
sim=$!
eventually grep -q '^ready$' "$work/sim.out" || { echo "vgpu-sim did not start"; cat "$work/sim.log"; exit 1; }

uuid=$(v create -p vgpu-sim0 -t sim-64m) || { echo "create failed"; exit 1; }
check "stats before any work: nothing done yet" \
	bash -c "'$build/tools/vgpuctl' --sysfs-root '$work/empty' --runtime-dir '$work/run' stats $uuid --json | grep -q '\"work_items\": 0'"
"$build/tools/vgpu-sim-demo" --sysfs-root "$work/empty" --runtime-dir "$work/run" "$uuid" > "$work/demo1" 2>&1
check "vgpu-sim-demo blits" [ $? = 0 ]
v stats "$uuid" --json > "$work/stats" 2>&1
check "stats: one work item" grep -q '"work_items": 1' "$work/stats"
check "stats: one interrupt" grep -q '"interrupts": 1' "$work/stats"
check "stats: DMA bytes reported" grep -Eq '"dma_bytes": [1-9]' "$work/stats"
check "stats: engine time reported" grep -Eq '"engine_busy_ns": [1-9]' "$work/stats"
check "stats: framebuffer reported" grep -q '"fb_bytes": 67108864' "$work/stats"
v qos "$uuid" --set weight=3 --set priority=high > "$work/qos" 2>&1
check "qos --set reaches the provider" [ $? = 0 ]
v qos "$uuid" > "$work/qos" 2>&1
check "qos shows the weight" grep -Eq '^weight +3' "$work/qos"
check "qos shows the priority" grep -Eq '^priority +high' "$work/qos"
v qos "$uuid" --set weight=0 > "$work/qos" 2>&1
check "a weight of 0 is refused" [ $? != 0 ]

tmux -L $sock new-session -d -x 200 -y 30 \
	"'$build/tools/vgpuctl' --sysfs-root '$work/empty' --runtime-dir '$work/run' top --interval 200; echo \$? > '$work/top.rc'"
screen() { tmux -L $sock capture-pane -p > "$work/screen" 2> /dev/null; }
shows() { screen && grep -Eq "$1" "$work/screen"; }
check "top draws its header" eventually shows "vgpuctl top .* 1 active instance"
check "top lists the instance with its QoS" \
	eventually shows "^vgpu-sim0 +sim-64m +vfio-user .* high +3 .*$uuid\$"
"$build/tools/vgpu-sim-demo" --sysfs-root "$work/empty" --runtime-dir "$work/run" "$uuid" > "$work/demo2" 2>&1
check "a second blit" [ $? = 0 ]
check "stats follow: two work items" \
	bash -c "'$build/tools/vgpuctl' --sysfs-root '$work/empty' --runtime-dir '$work/run' stats $uuid --json | grep -q '\"work_items\": 2'"
tmux -L $sock send-keys q
check "top quits on q" eventually [ -s "$work/top.rc" ]
check "top exits 0" [ "$(cat "$work/top.rc" 2> /dev/null)" = 0 ]
v remove "$uuid" > /dev/null 2>&1
check "remove" [ $? = 0 ]
echo "$passes passed, $fails failed"
[ $fails = 0 ]
