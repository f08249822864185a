#!/bin/bash
# tests/libvirt/run-libvirt.sh VGPUCTL
#
# The libvirt suite: boot Debian's 6.1 kernel (the VM suite's cache,
# tests/vm/setup.sh) under QEMU with the host's root file system shared
# read-only over 9p and a tmpfs overlay on top, so the guest runs the
# host's own Debian userland: systemd-udevd, libvirtd (node-device driver
# only) and virsh.  The mtty sample driver is the mdev parent.  guest.sh
# then drives `virsh nodedev-*` through the mdev life cycle twice, once
# with Debian's mdevctl and once with VGPUCTL installed as `mdevctl`, and
# compares what libvirt shows (XML, listings, errors) and the resulting
# /etc/mdevctl.d of the two passes.
#
# Exit: 0 same behaviour, 1 a difference or a failure (logs printed),
# 77 cannot run here (no QEMU, no libvirt, no mdevctl, cache not
# preparable).  Environment: VGPU_VM_CACHE (default ~/.cache/libvgpu-vm),
# VGPU_LIBVIRT_TIMEOUT (seconds, default 900), VGPU_VM_DISABLE=1 skips.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SKIP=77
skip() { echo "SKIP: $*"; exit $SKIP; }
die() { echo "ERROR: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: $0 VGPUCTL"
VGPUCTL=$(readlink -f "$1")
[ "${VGPU_VM_DISABLE:-0}" = 1 ] && skip "disabled by VGPU_VM_DISABLE=1"
[ "$(id -u)" = 0 ] || skip "needs root (the guest runs libvirtd as root on the host's file system)"
[ -x "$VGPUCTL" ] || die "$VGPUCTL is not executable"
for p in libvirtd virsh mdevctl; do
	command -v "$p" > /dev/null || skip "$p not installed (tools/install-deps.sh)"
done
[ -f /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_nodedev.so ] ||
	skip "libvirt's node-device driver is not installed (libvirt-daemon)"
[ -x /lib/systemd/systemd-udevd ] || skip "systemd-udevd not installed"

CACHE=${VGPU_VM_CACHE:-${HOME:-/root}/.cache/libvgpu-vm}
"$HERE/../vm/setup.sh" "$CACHE"
case $? in 0) ;; 77) exit 77 ;; *) die "tests/vm/setup.sh failed" ;; esac
# shellcheck disable=SC1091
. "$CACHE/current"
QEMU=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found"
for f in "$VMLINUZ" "$BUSYBOX" "$MODULES/modules.dep" "$SAMPLES/mtty.ko"; do
	[ -e "$f" ] || skip "VM cache incomplete: $f"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-libvirt.XXXXXX")
chmod 755 "$WORK"
[ "${VGPU_LIBVIRT_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
R=$WORK/initrd
MD=/lib/modules/$KVER
mkdir -p "$R/bin" "$R$MD/extra" "$WORK/out"

# initramfs: busybox, the modules for 9p/overlay/mdev and mtty
cp "$BUSYBOX" "$R/bin/busybox"
declare -A depline=() copied=()
while IFS= read -r line; do
	p=${line%%:*}; b=${p##*/}; b=${b%.ko*}
	depline[${b//-/_}]=$line
done < "$MODULES/modules.dep"
add_mod() {
	local n=${1//-/_} line p d
	line=${depline[$n]:-}
	[ -n "$line" ] || die "module $1 not in $MODULES/modules.dep"
	for p in ${line%%:*} ${line#*:}; do
		[ -n "${copied[$p]:-}" ] && continue
		copied[$p]=1
		mkdir -p "$R$MD/${p%/*}"
		cp "$MODULES/$p" "$R$MD/$p"
	done
}
for m in virtio_pci 9pnet_virtio 9p overlay vfio vfio_iommu_type1 mdev; do add_mod "$m"; done
cp "$SAMPLES/mtty.ko" "$R$MD/extra/"
cp "$MODULES/modules.builtin" "$MODULES/modules.order" "$R$MD/" 2> /dev/null || true
"$BUSYBOX" depmod -b "$R" "$KVER"

cat > "$R/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /lower /upper /newroot /out
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci 9pnet_virtio 9p overlay vfio vfio_iommu_type1 mdev mtty; do
	modprobe \$m || echo "init: modprobe \$m failed"
done
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower &&
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /out &&
	mount -t tmpfs -o mode=755 tmpfs /upper && mkdir -p /upper/u /upper/w &&
	mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot; then
	umount /proc /sys /dev
	mount -t tmpfs -o mode=755 tmpfs /newroot/run
	mkdir -p /newroot/run/vgpu-out && mount --move /out /newroot/run/vgpu-out
	# guest.sh becomes PID 1 and reports the verdict itself
	exec switch_root /newroot /bin/bash $HERE/guest.sh '$VGPUCTL' /run/vgpu-out
fi
echo "init: cannot mount the host's root file system"
mount -t devtmpfs devtmpfs /dev 2> /dev/null
printf "\\\\\$(printf %03o 1)" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2> /dev/null) | gzip -1 > "$WORK/initrd.gz"

TIMEOUT=${VGPU_LIBVIRT_TIMEOUT:-900}
echo "booting kernel $KVER, host root over 9p (timeout ${TIMEOUT}s)"
start=$(date +%s)
timeout -k 5 "$TIMEOUT" "$QEMU" -machine q35 -accel tcg -cpu max -m 1G -smp 1 \
	-nographic -no-reboot -monitor none -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$WORK/out,mount_tag=out,security_model=none" \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
	-append "console=ttyS0 panic=-1 rdinit=/init no_timer_check quiet" \
	< /dev/null > "$WORK/console.log" 2>&1
qrc=$?
echo "VM ran $(($(date +%s) - start))s, qemu exit $qrc"
log() { [ -f "$WORK/out/guest.log" ] && cat "$WORK/out/guest.log"; }
case $qrc in
1) log; exit 0 ;;
5) log; exit $SKIP ;;
*)
	log
	echo "==== serial console (last 60 lines)"
	tr -d '\r' < "$WORK/console.log" | tail -n 60
	exit 1 ;;
esac
