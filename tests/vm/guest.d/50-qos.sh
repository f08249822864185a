#!/bin/sh
# QoS and usage against the real kernel: the sample mdev drivers and the
# NVMe VF expose no knob and no counter, so every knob is refused with the
# backend named and every counter is "not reported" (null), never 0; a
# definition's QoS sits beside mdevctl's file, which Debian's mdevctl still
# reads, and a start whose knob the driver refuses leaves nothing behind.
command -v vgpuctl > /dev/null || { echo "vgpuctl not in the guest"; exit 77; }
set -eu
fail() { echo "FAIL: $*"; exit 1; }

echo "--- mtty: no knob, no counter"
u=$(vgpuctl create -p mtty -t mtty-2)
vgpuctl stats "$u" | tee /tmp/stats
grep -q "^$u  *mtty  *mtty-2  *mdev  *-  *-  *-  *-  *-  *-$" /tmp/stats || fail "stats of $u"
vgpuctl --json stats "$u" > /tmp/stats.json
grep -q '"engine_busy_ns": null' /tmp/stats.json || fail "json stats: null"
grep -q '"interrupts": 0' /tmp/stats.json && fail "an unreported counter shown as 0"
vgpuctl qos "$u" | tee /tmp/qos
[ "$(grep -c 'not available on the mdev backend' /tmp/qos)" = 5 ] || fail "qos of $u"
set +e
vgpuctl qos "$u" --set weight=2 2> /tmp/qos.err
rc=$?
set -e
cat /tmp/qos.err
[ $rc = 1 ] || fail "a refused knob gave exit $rc"
grep -q "mdev backend cannot set weight.*mtty-2" /tmp/qos.err || fail "refusal without the backend"
vgpuctl metrics | tee /tmp/metrics
grep -q "^vgpu_instance_info{parent=\"mtty\",type=\"mtty-2\",uuid=\"$u\",backend=\"mdev\"} 1$" /tmp/metrics ||
	fail "metrics of $u"
vgpuctl top --batch --iterations 2 --interval 100 | grep -q "mtty-2 .* $u$" || fail "top"
vgpuctl stop "$u"

echo "--- a definition's QoS: beside mdevctl's file, refused at start"
d=$(vgpuctl define -p mdpy -t mdpy-vga)
cp "/etc/mdevctl.d/mdpy/$d" /tmp/def.before
vgpuctl qos "$d" --set frame_rate_limit=30
grep -q '"frame_rate_limit": 30' "/etc/vgpu-qos.d/mdpy/$d" || fail "QoS file"
cmp /tmp/def.before "/etc/mdevctl.d/mdpy/$d" || fail "mdevctl's file changed"
if command -v mdevctl > /dev/null; then
	mdevctl list -d | grep -q "^$d mdpy mdpy-vga" || fail "mdevctl no longer reads $d"
fi
set +e
vgpuctl start "$d" 2> /tmp/start.err
rc=$?
set -e
cat /tmp/start.err
[ $rc = 1 ] || fail "start with a refused knob gave exit $rc"
[ ! -e "/sys/bus/mdev/devices/$d" ] || fail "$d left behind"
vgpuctl undefine "$d"
[ ! -e "/etc/vgpu-qos.d/mdpy/$d" ] || fail "QoS file left behind"

if [ "${SRIOV:-0}" = 1 ]; then
	echo "--- SR-IOV: a generic VF"
	pf=$(vgpuctl parents | awk '$2 == "sriov" { print $1; exit }')
	[ -n "$pf" ] || fail "no SR-IOV parent"
	v=$(vgpuctl create -p "$pf" -t VF)
	vgpuctl --json stats "$v" | tee /tmp/vf.json
	grep -q '"fb_bytes": null' /tmp/vf.json || fail "VF stats"
	set +e
	vgpuctl qos "$v" --set priority=high 2> /tmp/vf.err
	rc=$?
	set -e
	cat /tmp/vf.err
	[ $rc = 1 ] && grep -q "sriov backend cannot set priority: its generic model" /tmp/vf.err ||
		fail "VF priority"
	vgpuctl remove "$v"
fi
echo "QoS and usage on the real kernel: ok"
