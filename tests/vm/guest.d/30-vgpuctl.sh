#!/bin/sh
# vgpuctl and libvgpu against the real kernel: the sample mdev parents
# (mtty, mdpy, mbochs), real uevents for the monitor, the mdevctl personality
# against Debian's mdevctl on the same parents, and an SR-IOV VF of the
# emulated NVMe controller.
command -v vgpuctl > /dev/null || { echo "vgpuctl not in the guest"; exit 77; }
set -eu
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers
# the personality is mdevctl 1.4 by default, which also wants its own
mkdir -p /usr/lib/mdevctl/scripts.d/callouts /usr/lib/mdevctl/scripts.d/notifiers

echo "--- parents and types"
vgpuctl parents | tee /tmp/parents
for p in mtty mdpy mbochs; do grep -q "^$p " /tmp/parents || fail "parent $p missing"; done
vgpuctl types mtty | tee /tmp/types
grep -q "^mtty  *mtty-2 " /tmp/types || fail "type mtty-2 missing"
vgpuctl --json types > /tmp/types.json
grep -q '"device_api": "vfio-pci"' /tmp/types.json || fail "json types"

avail() { cat /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances; }

echo "--- monitor sees real uevents"
vgpuctl monitor --count 2 --timeout 20000 > /tmp/events 2> /tmp/monitor.err &
mon=$!
# wait for the monitor to take its snapshot
i=0; while ! grep -qs monitoring /tmp/monitor.err && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

echo "--- create, show, remove"
before=$(avail)
u=$(vgpuctl create -p mtty -t mtty-2)
[ -e "/sys/bus/mdev/devices/$u" ] || fail "$u not in sysfs"
[ "$(avail)" -lt "$before" ] || fail "available_instances did not drop"
vgpuctl show "$u" | tee /tmp/show
grep -q "^IOMMU group: [0-9]" /tmp/show || fail "no IOMMU group shown"
vgpuctl list | grep -q "^$u  *mtty  *mtty-2  *active" || fail "not listed"
vgpuctl create -p mtty -t mtty-2 -u "$u" && fail "duplicate UUID accepted"
[ $? -ne 0 ]
vgpuctl stop "$u"
[ ! -e "/sys/bus/mdev/devices/$u" ] || fail "$u still there"
[ "$(avail)" = "$before" ] || fail "available_instances not restored"
wait $mon || fail "monitor failed"
cat /tmp/events
grep -q "^instance-added mdev mtty $u mtty-2" /tmp/events || fail "no add event"
grep -q "^instance-removed mdev mtty $u" /tmp/events || fail "no remove event"

echo "--- persistent definitions and autostart"
d=$(vgpuctl define -p mdpy -t mdpy-vga --auto)
[ -f "/etc/mdevctl.d/mdpy/$d" ] || fail "definition file missing"
vgpuctl autostart mdpy
[ -e "/sys/bus/mdev/devices/$d" ] || fail "autostart did not start $d"
vgpuctl list -d | grep -q "^$d .*active,defined,auto" || fail "state of $d"
vgpuctl remove "$d"
[ ! -e "/sys/bus/mdev/devices/$d" ] && [ ! -e "/etc/mdevctl.d/mdpy/$d" ] || fail "remove $d"

echo "--- capacity: mdpy was loaded with count=2"
a=$(vgpuctl create -p mdpy -t mdpy-vga)
b=$(vgpuctl create -p mdpy -t mdpy-vga)
set +e
vgpuctl create -p mdpy -t mdpy-vga 2> /tmp/full.err
rc=$?
set -e
cat /tmp/full.err
[ $rc = 4 ] || fail "a full type gave exit $rc, wanted 4"
vgpuctl stop "$a"; vgpuctl stop "$b"

if command -v mdevctl > /dev/null; then
	echo "--- the mdevctl personality agrees with mdevctl on the real kernel"
	u=$(cat /proc/sys/kernel/random/uuid)
	mdevctl define -u "$u" -p mbochs -t mbochs-small
	mdevctl start -u "$u"
	for cmd in "types" "list" "list -d" "list --dumpjson" "list -d --dumpjson" "types --dumpjson"; do
		mdevctl $cmd > /tmp/m.out 2>&1 || true
		# Debian 12's mdevctl is 1.2: the personality pinned to it
		VGPU_MDEVCTL_COMPAT=1.2 vgpuctl mdevctl $cmd > /tmp/v.out 2>&1 || true
		cmp /tmp/m.out /tmp/v.out || { diff /tmp/m.out /tmp/v.out; fail "mdevctl $cmd differs"; }
	done
	vgpuctl mdevctl stop -u "$u"
	[ ! -e "/sys/bus/mdev/devices/$u" ] || fail "personality stop"
	mdevctl undefine -u "$u"
fi

if [ "${SRIOV:-0}" = 1 ]; then
	echo "--- SR-IOV: the NVMe PF as a parent, a VF as an instance"
	vgpuctl parents | tee /tmp/parents
	pf=$(awk '$2 == "sriov" { print $1; exit }' /tmp/parents)
	[ -n "$pf" ] || fail "no SR-IOV parent"
	vgpuctl types "$pf"
	v=$(vgpuctl create -p "$pf" -t VF)
	vgpuctl show "$v" | tee /tmp/vf
	vf=$(sed -n 's,^Sysfs: *.*/,,p' /tmp/vf)
	[ -n "$vf" ] || fail "no VF shown"
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$vf/driver")")" = vfio-pci ] || fail "$vf not on vfio-pci"
	g=$(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")
	[ -e "/dev/vfio/$g" ] || fail "/dev/vfio/$g missing"
	# the instance opens by its UUID like an mdev, through VFIO
	vgpuctl regions "$v" | tee /tmp/vf-regions
	# (through iommufd where the kernel has it)
	grep -Eq "(vfio-group|iommufd), IOMMU group $g" /tmp/vf-regions || fail "$v does not open by UUID"
	vgpuctl remove "$v"
	[ ! -e "/sys/bus/pci/devices/$vf/driver" ] || [ "$(basename "$(readlink "/sys/bus/pci/devices/$vf/driver")")" != vfio-pci ] || fail "$vf still on vfio-pci"

	echo "--- SR-IOV: a persistent definition, autostarted"
	d=$(vgpuctl define -p "$pf" -t VF --auto)
	[ -f "/etc/vgpu-sriov.d/$pf/$d" ] || fail "SR-IOV definition not in /etc/vgpu-sriov.d"
	[ ! -e "/etc/mdevctl.d/$pf/$d" ] || fail "SR-IOV definition in mdevctl's directory"
	vgpuctl autostart "$pf"
	vgpuctl list -a | tee /tmp/list
	grep -q "^$d  *$pf  *VF  *active,defined,auto" /tmp/list || fail "autostart of $d"
	vgpuctl remove "$d"
	vgpuctl list -a | grep -q "$d" && fail "$d still listed"
fi
echo "vgpuctl on the real kernel: ok"
