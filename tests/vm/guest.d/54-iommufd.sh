#!/bin/sh
# The iommufd character-device path for real: /dev/iommu and
# /dev/vfio/devices/vfioN, with an mtty instance and an NVMe VF. Kernels built without
# CONFIG_IOMMUFD (Debian's 6.1 and 6.12) say skip, with the config line.
command -v migration-check > /dev/null || { echo "migration-check not in the guest"; exit 77; }
if [ ! -c /dev/iommu ]; then
	if [ ! -f /etc/kernel-config ]; then
		line="(the kernel's config is not in the guest)"
	else
		line=$(grep -E '^(# )?CONFIG_IOMMUFD[= ]' /etc/kernel-config ||
			echo "its config has no CONFIG_IOMMUFD at all")
	fi
	echo "no /dev/iommu in Linux $(uname -r): $line"
	exit 77
fi
set -eu
fail() { echo "FAIL: $*"; exit 1; }
u=$(vgpuctl create -p mtty -t mtty-1)
trap 'vgpuctl stop "$u"' EXIT
ls /sys/bus/mdev/devices/"$u"/vfio-dev || fail "no vfio-dev (CONFIG_VFIO_DEVICE_CDEV?)"
migration-check iommufd "$u" || fail "migration-check iommufd (mtty)"
if [ "${SRIOV:-0}" = 1 ]; then
	# a VF: a physical device bound through iommufd
	pf=$(vgpuctl parents | awk '$2 == "sriov" { print $1; exit }')
	v=$(vgpuctl create -p "$pf" -t VF)
	vf=$(vgpuctl show "$v" | sed -n 's,^Sysfs: *.*/,,p')
	migration-check iommufd "$vf" || { vgpuctl remove "$v"; fail "migration-check iommufd (VF)"; }
	vgpuctl remove "$v"
fi
