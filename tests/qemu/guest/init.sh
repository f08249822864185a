#!/bin/busybox sh
# shellcheck shell=dash
# /init of the qemu suite's guest (tests/qemu/run-qemu-test.py builds the
# initramfs: busybox, this script, vgpu_sim_test.ko). The host drives it
# over the second serial port (/dev/ttyS1), one command a line:
#
#   insmod          load vgpu_sim_test.ko and wait until it bound vgpu-sim
#   t CMD [ARG]     write "CMD ARG" to the driver's test attribute
#                   (see vgpu_sim_test.c)
#   gone            wait until vgpu-sim's PCI function has disappeared
#                   (hot-unplug)
#   alive           answer (the guest still runs)
#   poweroff        power the guest off
#
# Every answer is the kernel's messages since the last command, as lines
# starting with "# ", then "rc N" (0: passed). The first line after boot is
# "hello KERNEL-RELEASE".
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

CTL=/dev/ttyS1
stty -F "$CTL" raw -echo
exec 3> "$CTL"
dmesg -c > /dev/null

# the PCI function of vgpu-sim, if present
sim_dev() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x5347 ] &&
			{ echo "$d"; return 0; }
	done
	return 1
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds
wait_for() {
	n=$(($1 * 10)); shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

bound() { d=$(sim_dev) && [ -e "$d/test" ]; }
absent() { ! sim_dev > /dev/null; }

do_cmd() {
	case $1 in
	insmod)
		insmod /vgpu_sim_test.ko || return 1
		wait_for 60 bound || { echo "vgpu_sim_test did not bind"; return 1; }
		echo "bound to $(basename "$(sim_dev)")" ;;
	t)
		shift
		d=$(sim_dev) || { echo "no vgpu-sim device"; return 1; }
		echo "$*" > "$d/test" ;;
	alive)
		echo "up $(cut -d' ' -f1 /proc/uptime) s" ;;
	gone)
		wait_for 120 absent || { echo "vgpu-sim is still there"; return 1; }
		echo "vgpu-sim is gone" ;;
	poweroff)
		echo "rc 0" >&3
		poweroff -f ;;
	*)
		echo "unknown command: $*"
		return 2 ;;
	esac
}

echo "hello $(uname -r)" >&3
while IFS= read -r line; do
	do_cmd $line > /tmp/out 2>&1
	rc=$?
	{ dmesg -c; cat /tmp/out; } | sed 's/^/# /' >&3
	echo "rc $rc" >&3
done < "$CTL"
echo "init: control channel closed" >&2
poweroff -f
