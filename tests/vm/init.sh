#!/bin/busybox sh
# shellcheck shell=dash
# /init of the test VM (copied into the initramfs by run-vm.sh).
# Mounts the pseudo file systems, loads the vfio/mdev/nvme modules and the
# kernel's sample mdev parents, runs /opt/vgpu/guest-tests.sh with its output
# on the console and on ttyS1 (the clean results channel), then reports the
# verdict through isa-debug-exit (QEMU exits with 2*v+1: v=0 pass, 1 fail,
# 2 skip) and powers off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/opt/vgpu/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TMPDIR=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

. /etc/vgpu-vm.conf
[ -n "$VGPU_LD_LIBRARY_PATH" ] && export LD_LIBRARY_PATH="$VGPU_LD_LIBRARY_PATH"
export VGPU_VM=1 SRIOV SRIOV_VFS KVER KFLAVOUR

# exit QEMU with status 2*v+1 through isa-debug-exit at port 0xf4
debug_exit() {
    printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
    # only reached if the device is missing
    echo "init: isa-debug-exit did not stop QEMU; powering off"
    poweroff -f
}

RES=/dev/ttyS1
[ -c "$RES" ] || RES=/dev/null
stty -F "$RES" raw -echo 2>/dev/null
note() { echo "# init: $*"; }

{
    note "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s), uptime $(cut -d' ' -f1 /proc/uptime)s"
    # Order matters only for modules that are not in modules.dep's closure
    # of each other; modprobe resolves the rest (vfio-pci pulls vfio-pci-core,
    # vfio_virqfd, irqbypass, vfio).
    for m in vfio vfio_iommu_type1 vfio-pci mdev; do
        modprobe "$m" 2>&1 && note "modprobe $m: ok" || note "modprobe $m: FAILED"
    done
    # the iommufd character device path, where the kernel has it as a module
    modprobe iommufd 2>/dev/null && note "modprobe iommufd: ok"
    if [ "$SRIOV" = 1 ]; then
        modprobe nvme 2>&1 && note "modprobe nvme: ok" || note "modprobe nvme: FAILED"
    fi
    # sample parents with small parameters: mdpy count = max instances,
    # mbochs count = MiB of memory shared by all its instances
    modprobe mtty 2>&1 && note "modprobe mtty: ok" || note "modprobe mtty: FAILED"
    modprobe mdpy count=2 2>&1 && note "modprobe mdpy count=2: ok" || note "modprobe mdpy: FAILED"
    modprobe mbochs count=32 2>&1 && note "modprobe mbochs count=32: ok" || note "modprobe mbochs: FAILED"

    if [ "$SRIOV" = 1 ] && [ "${SRIOV_VFS:-0}" -gt 0 ]; then
        for d in /sys/bus/pci/devices/*; do
            [ -f "$d/sriov_totalvfs" ] || continue
            # keep nvme off the VFs (it would probe them and give up after
            # ~0.5 s: QEMU's VFs stay offline, CSTS=0x2)
            echo 0 > "$d/sriov_drivers_autoprobe"
            echo "$SRIOV_VFS" > "$d/sriov_numvfs" && note "enabled $SRIOV_VFS VFs on ${d##*/}" \
                || note "enabling $SRIOV_VFS VFs on ${d##*/} FAILED"
        done
    fi
    note "setup done at uptime $(cut -d' ' -f1 /proc/uptime)s; running guest-tests.sh"
    sh /opt/vgpu/guest-tests.sh
    echo $? > /tmp/guest-rc
    note "guest-tests.sh finished at uptime $(cut -d' ' -f1 /proc/uptime)s, exit $(cat /tmp/guest-rc)"
} 2>&1 | tee "$RES"

rc=$(cat /tmp/guest-rc 2>/dev/null || echo 1)
sync
case $rc in
    0) debug_exit 0 ;;
    77) debug_exit 2 ;;
    *) debug_exit 1 ;;
esac
