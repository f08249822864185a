#!/bin/sh
# The device API inside the real kernel: open mtty, mdpy and mbochs
# instances and an SR-IOV VF through VFIO; config space, the UART's INTx on
# an eventfd, DMA maps, region and dma-buf display planes, screenshots.
command -v device-check > /dev/null || { echo "device-check not in the guest"; exit 77; }
command -v vgpuctl > /dev/null || { echo "vgpuctl not in the guest"; exit 77; }
set -eu
fail() { echo "FAIL: $*"; exit 1; }
# a PNG whose IHDR says 640x480
is_png_vga() {
	[ "$(head -c 4 "$1" | tail -c 3)" = PNG ] &&
		[ "$(od -An -tx1 -j16 -N8 "$1" | tr -d ' \n')" = 00000280000001e0 ]
}

echo "--- mtty: regions, irqs, the UART, DMA"
u=$(vgpuctl create -p mtty -t mtty-2)
vgpuctl regions "$u" | tee /tmp/regions
grep -q "^7 *CONFIG " /tmp/regions || fail "no config region listed"
grep -q "^0 *BAR0 *0x8 " /tmp/regions || fail "BAR0 of mtty"
vgpuctl --json regions "$u" > /tmp/regions.json
grep -q '"name": "CONFIG"' /tmp/regions.json || fail "json regions"
vgpuctl irqs "$u" | tee /tmp/irqs
grep -q "^0 *INTx *1 " /tmp/irqs || fail "INTx not listed"
grep -q "^2 *MSI-X .*absent" /tmp/irqs || fail "MSI-X should be absent on mtty"
vgpuctl --json irqs "$u" | grep -q '"implemented": false' || fail "json irqs"
device-check mtty "$u" || fail "device-check mtty"

echo "--- show: IOMMU group and in use"
vgpuctl show "$u" | tee /tmp/show
grep -q "^IOMMU group: [0-9]" /tmp/show || fail "no IOMMU group"
grep -q "^In use: *no" /tmp/show || fail "should not be in use"
device-check hold "$u" 5 > /tmp/hold &
hold=$!
i=0; while ! grep -qs held /tmp/hold && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
vgpuctl show "$u" | grep "^In use:" | tee /tmp/inuse
grep -q "^In use: *yes" /tmp/inuse || fail "should be in use while held"
vgpuctl --json show "$u" | grep -q '"in_use": true' || fail "json in_use"
vgpuctl regions "$u" 2> /tmp/busy.err && fail "a busy device opened twice"
cat /tmp/busy.err
kill $hold 2> /dev/null || true
wait $hold 2> /dev/null || true
vgpuctl stop "$u"

echo "--- mdpy: region plane and screenshot"
u=$(vgpuctl create -p mdpy -t mdpy-vga)
vgpuctl regions "$u" | tee /tmp/regions
grep -q "^16 *device-specific" /tmp/regions || fail "mdpy's display region beyond num_regions"
device-check plane "$u" | tee /tmp/plane
grep -q "^plane: region XR24 640x480 .* index 16" /tmp/plane || fail "mdpy plane"
vgpuctl screenshot "$u" /tmp/mdpy.png
ls -l /tmp/mdpy.png
is_png_vga /tmp/mdpy.png || fail "mdpy screenshot is not a PNG"
vgpuctl stop "$u"

echo "--- mbochs: mode set, dma-buf plane and screenshot"
u=$(vgpuctl create -p mbochs -t mbochs-small)
vgpuctl regions "$u"
device-check mbochs-mode "$u" || fail "device-check mbochs-mode"
vgpuctl screenshot "$u" /tmp/mbochs.png
# mbochs (6.1) frees its VRAM when the last user closes the device, so
# this second process sees the mode but black pixels
ls -l /tmp/mbochs.png
is_png_vga /tmp/mbochs.png || fail "mbochs screenshot is not a PNG"
vgpuctl stop "$u"

if [ "${SRIOV:-0}" = 1 ]; then
	echo "--- SR-IOV: a VF of the NVMe PF through vfio-pci"
	pf=$(vgpuctl parents | awk '$2 == "sriov" { print $1; exit }')
	[ -n "$pf" ] || fail "no SR-IOV parent"
	v=$(vgpuctl create -p "$pf" -t VF)
	vgpuctl show "$v" | tee /tmp/vf
	vf=$(sed -n 's,^Sysfs: *.*/,,p' /tmp/vf)
	[ -n "$vf" ] || fail "no VF shown"
	grep -q "^In use: *no" /tmp/vf || fail "VF in use?"
	vgpuctl regions "$vf" | tee /tmp/regions
	grep -q "^0 *BAR0 .*mmap" /tmp/regions || fail "VF BAR0 not mmap-able"
	vgpuctl irqs "$vf" | tee /tmp/irqs
	grep -q "^2 *MSI-X *[1-9]" /tmp/irqs || fail "VF has no MSI-X"
	device-check vf "$vf" || fail "device-check vf"
	vgpuctl remove "$v"
fi
echo "device API on the real kernel: ok"
