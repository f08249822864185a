#!/bin/sh
# Debian's mdevctl (copied in by run-vm.sh with its libraries) against the
# kernel's sample parents: list types, start/list/stop a transient mtty device.
command -v mdevctl >/dev/null || { echo "mdevctl not in the guest"; exit 77; }
set -e
mdevctl types | tee /tmp/types
grep -q 'mtty-2' /tmp/types
u=$(cat /proc/sys/kernel/random/uuid)
mdevctl start -u "$u" -p mtty -t mtty-2
test -e "/sys/bus/mdev/devices/$u"
mdevctl list | tee /tmp/list
grep -q "$u" /tmp/list
mdevctl stop -u "$u"
test ! -e "/sys/bus/mdev/devices/$u"
lsmdev >/dev/null
echo "mdevctl start/list/stop of $u ok"
