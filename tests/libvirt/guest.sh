#!/bin/bash
# tests/libvirt/guest.sh VGPUCTL OUTDIR — runs inside the libvirt suite's VM
# (see run-libvirt.sh), chrooted into the overlay of the host's root file
# system.  Starts systemd-udevd and libvirtd (node-device driver only), then
# drives `virsh nodedev-*` through the mdev life cycle on the mtty sample
# parent twice: with Debian's mdevctl, and with VGPUCTL installed as
# `mdevctl`.  Each pass writes a transcript (virsh output, exit codes,
# /etc/mdevctl.d) to OUTDIR; the two transcripts must be identical.
# Exit 0 same, 1 different or broken, 77 the set-up cannot run here.
set -u
VGPUCTL=$1 OUT=$2
if [ $$ = 1 ]; then
	# PID 1 after switch_root (so that systemd's tools do not see a
	# chroot): run, then report the verdict to QEMU's isa-debug-exit
	# (QEMU exits with 2*v+1: v=0 pass, 1 fail, 2 skip)
	/bin/bash "$0" "$@"
	case $? in 0) v=0 ;; 77) v=2 ;; *) v=1 ;; esac
	sync
	printf "\\$(printf %03o $v)" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2> /dev/null
	echo o > /proc/sysrq-trigger
	sleep 60
fi
exec > "$OUT/guest.log" 2>&1
export PATH=/run/mdevbin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root
note() { echo "# $(cut -d' ' -f1 /proc/uptime)s: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# /tmp stays the overlay's (writes go to its tmpfs upper layer): a tmpfs
# mounted over it would hide a build tree under /tmp, VGPUCTL among it
mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
# a bare devtmpfs has no /dev/fd, /dev/stdin, ...; libvirt passes
# --jsonfile /dev/stdin to mdevctl
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
# only node devices: drop the other connection drivers (overlay, not the host)
for f in /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/*.so; do
	case $f in *nodedev*) ;; *) rm -f "$f" ;; esac
done

note "starting systemd-udevd"
/lib/systemd/systemd-udevd --daemon || exit 77
udevadm trigger --action=add > /dev/null 2>&1
udevadm settle --timeout=60
[ -d /sys/class/mdev_bus/mtty ] || { note "mtty is not an mdev parent"; exit 77; }

V() { timeout 120 virsh -q -c nodedev:///system "$@"; }

start_libvirtd() {
	rm -f /run/libvirt/libvirt-sock
	libvirtd --daemon || return 1
	for _ in $(seq 120); do
		V nodedev-list > /dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}
stop_libvirtd() {
	local pid
	pid=$(cat /run/libvirtd.pid 2> /dev/null) || return 0
	kill "$pid"
	for _ in $(seq 60); do kill -0 "$pid" 2> /dev/null || return 0; sleep 1; done
	kill -9 "$pid"
}

# run a step, record its output and exit status in the transcript
T=
step() {
	echo "## $*" >> "$T"
	"$@" >> "$T" 2>&1
	echo "rc=$?" >> "$T"
}
# what libvirt shows of a node device, with numbers that depend on the
# history of the boot (IOMMU group numbers) masked
show() { V nodedev-dumpxml "$1" | sed -E "s/(iommuGroup number=')[0-9]+/\1N/"; }
confdir() {
	(cd /etc/mdevctl.d && find . | LC_ALL=C sort | while read -r f; do
		if [ -f "$f" ]; then echo "$f:"; cat "$f"; echo; else echo "$f/"; fi
	done)
}
# the node device name libvirt gives the mdev UUID (any state)
devname() { V nodedev-list --all --cap mdev | grep -F "${1//-/_}" | head -n1; }
# wait until libvirt lists the mdev UUID (or, with !, no longer lists it)
wait_dev() {
	local neg=0
	[ "$1" = ! ] && { neg=1; shift; }
	for _ in $(seq 60); do
		if [ -n "$(devname "$1")" ]; then
			[ $neg = 0 ] && return 0
		else
			[ $neg = 1 ] && return 0
		fi
		sleep 1
	done
	echo "timeout waiting for $1"
	return 1
}

U1=6b7a8ad4-6a14-4a7e-9e61-2d1d2d6e0f01
U2=6b7a8ad4-6a14-4a7e-9e61-2d1d2d6e0f02
U3=6b7a8ad4-6a14-4a7e-9e61-2d1d2d6e0f03
mdevxml() { # UUID TYPE [NAME VALUE]...
	local u=$1 t=$2; shift 2
	echo "<device><parent>$PARENT</parent><capability type='mdev'>"
	echo "<type id='$t'/><uuid>$u</uuid>"
	while [ $# -ge 2 ]; do echo "<attr name='$1' value='$2'/>"; shift 2; done
	echo "</capability></device>"
}

pass() { # NAME MDEVCTL-PROGRAM
	local name=$1 prog=$2
	T=$OUT/$name.txt
	: > "$T"
	note "pass $name: mdevctl is $prog"
	rm -rf /etc/mdevctl.d /run/mdevbin
	mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers /run/mdevbin
	# mdevctl 1.4 (the personality's default) also checks for its own
	mkdir -p /usr/lib/mdevctl/scripts.d/callouts /usr/lib/mdevctl/scripts.d/notifiers
	# log every call libvirt makes
	cat > /run/mdevbin/mdevctl <<WRAP
#!/bin/bash
echo "\$*" >> $OUT/$name.calls
exec -a mdevctl $prog "\$@"
WRAP
	chmod +x /run/mdevbin/mdevctl
	: > "$OUT/$name.calls"
	start_libvirtd || { note "libvirtd does not start"; return 77; }
	PARENT=$(V nodedev-list --cap mdev_types | grep mtty | head -n1)
	[ -n "$PARENT" ] || { note "libvirt shows no mtty parent"; return 1; }

	# types and capacity
	step V nodedev-list --cap mdev_types
	step show "$PARENT"
	# transient create / destroy
	mdevxml $U1 mtty-2 > /tmp/u1.xml
	step V nodedev-create /tmp/u1.xml
	wait_dev $U1
	step V nodedev-list --all --cap mdev
	step show "$(devname $U1)"
	step show "$PARENT"
	step V nodedev-destroy "$(devname $U1)"
	wait_dev ! $U1
	step V nodedev-list --all --cap mdev
	# define with ordered attributes; starting it fails (mtty has none)
	mdevxml $U2 mtty-1 zeta 2 alpha 1 zeta 3 > /tmp/u2.xml
	step V nodedev-define /tmp/u2.xml
	wait_dev $U2
	local n2
	n2=$(devname $U2)
	step show "$n2"
	step confdir
	step V nodedev-start "$n2"
	step V nodedev-undefine "$n2"
	wait_dev ! $U2
	# define, start, autostart, daemon restart, destroy, undefine
	mdevxml $U3 mtty-1 > /tmp/u3.xml
	step V nodedev-define /tmp/u3.xml
	wait_dev $U3
	local n3
	n3=$(devname $U3)
	step V nodedev-start "$n3"
	step V nodedev-autostart "$n3"
	step V nodedev-info "$n3"
	step show "$n3"
	step confdir
	step V nodedev-list --all --cap mdev
	stop_libvirtd
	start_libvirtd || { note "libvirtd does not restart"; return 1; }
	step V nodedev-list --all --cap mdev
	step V nodedev-info "$n3"
	step show "$n3"
	step V nodedev-autostart --disable "$n3"
	step V nodedev-destroy "$n3"
	step V nodedev-undefine "$n3"
	wait_dev ! $U3
	step V nodedev-list --all --cap mdev
	step confdir
	stop_libvirtd
	note "pass $name done; libvirt ran mdevctl $(wc -l < "$OUT/$name.calls") times," \
		"'list --defined --dumpjson' $(grep -c -- '^list --dumpjson --defined$' "$OUT/$name.calls")"
	return 0
}

pass mdevctl /usr/bin/mdevctl
rc=$?
[ $rc = 0 ] || exit $rc
pass vgpuctl "$VGPUCTL"
rc=$?
[ $rc = 0 ] || exit $rc
echo "==== transcript (Debian's mdevctl)"
cat "$OUT/mdevctl.txt"
if diff -u "$OUT/mdevctl.txt" "$OUT/vgpuctl.txt" > "$OUT/diff"; then
	note "libvirt shows the same with vgpuctl as with Debian's mdevctl"
	exit 0
fi
echo "==== difference (- Debian's mdevctl, + vgpuctl)"
cat "$OUT/diff"
exit 1
