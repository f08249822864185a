#!/bin/sh
# Self-test of the --bin path: a meson-built, dynamically linked program
# (tests/vm/vfio-probe.c) opens an mtty mdev through a VFIO type1 container.
command -v vfio-probe >/dev/null || { echo "vfio-probe not in the guest (not built by meson?)"; exit 77; }
set -e
vfio-probe
t=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1
u=$(cat /proc/sys/kernel/random/uuid)
echo "$u" > "$t/create"
trap 'echo 1 > /sys/bus/mdev/devices/$u/remove' EXIT
g=$(basename "$(readlink "/sys/bus/mdev/devices/$u/iommu_group")")
vfio-probe "$g" "$u"
