#!/bin/sh
# Migration through the device handle in the real kernel: an mtty instance's
# UART (registers and the characters waiting in its FIFO) moved to a second
# mtty instance, PRE_COPY then STOP_COPY; then dirty page tracking of a DMA
# window. mtty learned migration in Linux 6.7: on older kernels this says
# skip and why.
command -v migration-check > /dev/null || { echo "migration-check not in the guest"; exit 77; }
command -v vgpuctl > /dev/null || { echo "vgpuctl not in the guest"; exit 77; }
set -eu
fail() { echo "FAIL: $*"; exit 1; }
a=$(vgpuctl create -p mtty -t mtty-1)
b=$(vgpuctl create -p mtty -t mtty-1)
trap 'vgpuctl stop "$a"; vgpuctl stop "$b"' EXIT
vgpuctl migration "$a" | tee /tmp/mig
set +e
migration-check mtty "$a" "$b"
rc=$?
set -e
if [ $rc = 77 ]; then
	grep -q "^Migration: *no" /tmp/mig || fail "vgpuctl migration should say no"
	echo "mtty of Linux $(uname -r) has no migration (it came in 6.7)"
	exit 77
fi
[ $rc = 0 ] || fail "migration-check mtty"
grep -q "^Migration: *yes" /tmp/mig || fail "vgpuctl migration should say yes"
grep -q "PRE_COPY" /tmp/mig || fail "vgpuctl migration: PRE_COPY"
migration-check dirty "$a" || fail "migration-check dirty"
echo "migration through the handle: ok"
