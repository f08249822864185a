#!/bin/sh
# VF tokens: the NVMe PF itself on vfio-pci (enable_sriov) sets a token
# through its handle; its VF opens only with that token. The PF goes back to
# the nvme driver afterwards.
[ "${SRIOV:-0}" = 1 ] || { echo "VM started without the SR-IOV device"; exit 77; }
command -v migration-check > /dev/null || { echo "migration-check not in the guest"; exit 77; }
set -eu
fail() { echo "FAIL: $*"; exit 1; }
pf=""
for d in /sys/bus/pci/devices/*; do
	[ -f "$d/sriov_totalvfs" ] && { pf=${d##*/}; break; }
done
[ -n "$pf" ] || fail "no SR-IOV PF"
d=/sys/bus/pci/devices/$pf
echo 0 > "$d/sriov_numvfs"
echo 0 > "$d/sriov_drivers_autoprobe"
drv=$(basename "$(readlink "$d/driver")")
echo "PF $pf on $drv"
echo "$pf" > "/sys/bus/pci/drivers/$drv/unbind"
restore() {
	[ -e "$d/driver" ] && echo "$pf" > "$d/driver/unbind"
	echo > "$d/driver_override"
	echo 1 > "$d/sriov_drivers_autoprobe"
	echo "$pf" > /sys/bus/pci/drivers_probe || true
	echo "PF back on $(basename "$(readlink "$d/driver" 2>/dev/null)")"
}
trap restore EXIT
echo Y > /sys/module/vfio_pci/parameters/enable_sriov
echo vfio-pci > "$d/driver_override"
echo "$pf" > /sys/bus/pci/drivers_probe
[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] || fail "PF not on vfio-pci"
migration-check vf-token "$pf" || fail "migration-check vf-token"
