#!/bin/bash
# vgpuctl end to end on a fake host with the kernel's behaviour: every verb,
# the documented exit codes, malformed command lines, JSON that parses, and
# two vgpuctl processes racing for the last slot of a type.
#   test-vgpuctl.sh VGPUCTL MKHOST VGPU-FAKESYSFS
# Exit 77 without root or FUSE.
set -u
vgpuctl=$1 mkhost=$2 fakesysfs=${3:-}
[ "$(id -u)" = 0 ] && [ -e /dev/fuse ] && [ -x "$fakesysfs" ] || {
	echo "needs root, /dev/fuse and vgpu-fakesysfs: skip"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpuctl-test.XXXXXX")
pid=
cleanup() {
	umount -l "$tmp/live" 2> /dev/null
	[ -n "$pid" ] && wait "$pid" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
"$mkhost" "$tmp/host" 2 2 0 || exit 1
mkdir "$tmp/live"
"$fakesysfs" "$tmp/host" "$tmp/live" -f --create-delay-ms 50 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 100); do
	[ "$(stat -c %d "$tmp/live")" != "$(stat -c %d "$tmp")" ] && break
	sleep 0.05
done
[ "$(stat -c %d "$tmp/live")" != "$(stat -c %d "$tmp")" ] || { echo "mount failed"; exit 77; }

P=0000:01:00.0 Q=0000:01:01.0 T=i915-GVTg_V5_0
U=11111111-2222-4333-8444-555555555555
v() { "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/live/sys" --config-dir "$tmp/conf" \
	--runtime-dir "$tmp/run" "$@"; }
. "$(dirname "$0")/lib-cli.sh"
json_ok() { python3 -m json.tool "$tmp/out" > /dev/null; }

# listings, text and JSON
expect 0 v parents
check "parents lists $P" grep -q "^$P  *mdev  *pci" "$tmp/out"
for verb in parents types list "list -a" "show $P"; do
	expect 0 v --json $verb
	check "$verb --json parses" json_ok
done
expect 0 v types $P
check "types shows $T" grep -q "^$P  *$T  *1 " "$tmp/out"

# usage errors: exit 2, never a crash
expect 2 v
expect 2 v frobnicate
expect 2 v --sysfs-root relative parents
expect 2 v list --bogus
expect 2 v list extra-argument
expect 2 v create -p $P
expect 2 v create -t $T
expect 2 v create -p $P -t $T -u not-a-uuid
expect 2 v create -p $P -t $T --attr novalue
expect 2 v create -p $P -t $T --attr ../escape=1
expect 2 v define -p $P -t $T --jsonfile /dev/null
expect 2 v stop not-a-uuid
expect 2 v modify $U --index x --add-attr a=1
expect 2 v modify $U --add-attr a=1 --del-attr
expect 2 v monitor --count -1
expect 0 v --help
check "help names every verb" grep -q "autostart" "$tmp/out"
expect 0 v list --help
check "verb help" grep -q "^Usage: vgpuctl list" "$tmp/out"

# not found: exit 3
expect 3 v show 0000:99:00.0
expect 3 v show $U
expect 3 v types 0000:99:00.0
expect 3 v create -p 0000:99:00.0 -t $T
expect 3 v create -p $P -t no-such-type
expect 3 v stop $U
expect 3 v start $U
expect 3 v undefine $U
expect 3 v modify $U --auto

# one message per failure, naming the object; the same cause gives the same
# exit status in every verb
X=0000:99:00.0
for cmd in "show $X" "types $X" "list -p $X" "autostart $X" "create -p $X -t $T"; do
	# shellcheck disable=SC2086
	expect 3 v $cmd
	check "'$cmd' says no such parent" grep -qx "vgpuctl: parent $X: no such parent" "$tmp/err"
done
for cmd in "show $U" "stop $U" "remove $U"; do
	# shellcheck disable=SC2086
	expect 3 v $cmd
	check "'$cmd' says no such instance" grep -qx "vgpuctl: instance $U: no such instance" "$tmp/err"
done
for cmd in "start $U" "undefine $U" "modify $U --auto"; do
	# shellcheck disable=SC2086
	expect 3 v $cmd
	check "'$cmd' says not defined" grep -qx "vgpuctl: instance $U: not defined" "$tmp/err"
done
expect 3 v create -p $P -t nvidia-999
check "unknown type: the parent's types" \
	grep -qx "vgpuctl: parent $P has no type nvidia-999 (types: $T, i915-GVTg_V5_1)" "$tmp/err"
check "unknown type: one message" one_line
check "unknown type: nothing on stdout (no invented UUID)" [ ! -s "$tmp/out" ]
expect 0 v define -p $P -t nvidia-999 -u $U
check "define of a type the parent lacks warns" \
	grep -q "warning: parent $P has no type nvidia-999" "$tmp/err"
expect 0 v undefine $U
expect 3 v list -d -p $X   # nothing known of it: an error, like types and show

# lifecycle
expect 0 v create -p $P -t $T -u $U
check "create prints the UUID" grep -qx $U "$tmp/out"
expect 4 v create -p $Q -t $T -u $U          # UUID in use
expect 4 v create -p $P -t $T                # type full
check "full type explained" grep -qx "vgpuctl: parent $P: type $T has no capacity left" "$tmp/err"
expect 0 v show $U
check "show gives the IOMMU group" grep -q "^IOMMU group: [0-9]" "$tmp/out"
expect 0 v stop $U
expect 0 v define -p $Q -t $T -u $U --auto --attr a/b=c
expect 4 v define -p $Q -t $T -u $U
expect 0 v define -p $Q -t $T -u $U --force
expect 0 v modify $U --add-attr x=1 --index 0
expect 0 v modify $U --manual
expect 0 v --json show $U
check "modify kept its changes" grep -q '"key": "x"' "$tmp/out"
check "modify set manual" grep -q '"autostart": false' "$tmp/out"
expect 0 v modify $U --del-attr --index 0
expect 1 v modify $U --del-attr --index 5
expect 0 v start $U
expect 0 v list -a
check "list shows active,defined" grep -q "^$U  *$Q  *$T  *active,defined,manual" "$tmp/out"
expect 0 v remove $U
expect 3 v show $U

# 50 concurrent modifications of one definition: every one survives
W=22222222-3333-4444-8555-666666666666
expect 0 v define -p $Q -t $T -u $W
mods=()
for i in $(seq 50); do v modify $W --add-attr "k$i=v" > /dev/null 2>&1 & mods+=($!); done
wait_ok=0
for j in "${mods[@]}"; do wait "$j" || wait_ok=1; done
check "50 concurrent modify all exit 0" [ $wait_ok = 0 ]
expect 0 v --json show $W
check "50 concurrent modify all survive" [ "$(grep -c '"key": "k[0-9]*"' "$tmp/out")" = 50 ]
expect 0 v undefine $W

# the mdevctl personality: which mdevctl it is (environment, then file)
# (with definitions of its own: mdevctl checks its directories first)
mkdir -p "$tmp/bin" "$tmp/mdevctl.d/scripts.d/callouts" "$tmp/mdevctl.d/scripts.d/notifiers"
ln -s "$(readlink -f "$vgpuctl")" "$tmp/bin/mdevctl"
export VGPU_CONFIG_DIR=$tmp/mdevctl.d
m() { VGPU_CONFIG_FILE=$tmp/vgpuctl.conf "$tmp/bin/mdevctl" "$@"; }
expect 0 m --version
check "1.4 by default" grep -qx "mdevctl 1.4.0" "$tmp/out"
printf '# pinned\n\nother = x\n mdevctl-compat = 1.2 \n' > "$tmp/vgpuctl.conf"
expect 0 m --version
check "1.2 from the configuration file" grep -qx "mdevctl 1.2.0" "$tmp/out"
expect 0 env VGPU_MDEVCTL_COMPAT=1.4 VGPU_CONFIG_FILE="$tmp/vgpuctl.conf" "$tmp/bin/mdevctl" --version
check "the environment wins" grep -qx "mdevctl 1.4.0" "$tmp/out"
expect 1 env VGPU_MDEVCTL_COMPAT=2 "$tmp/bin/mdevctl" --version
check "a bad VGPU_MDEVCTL_COMPAT is named" grep -q "VGPU_MDEVCTL_COMPAT must be 1.2 or 1.4" "$tmp/err"
printf 'mdevctl-compat=1.3\n' > "$tmp/vgpuctl.conf"
expect 1 m --version
check "a bad configuration line is named" grep -q "vgpuctl.conf:1: mdevctl-compat must be" "$tmp/err"
rm "$tmp/vgpuctl.conf"
# 1.2 wants its script directories, 1.4 (with a private definitions
# directory) only that directory; both check before reading arguments
rmdir "$tmp/mdevctl.d/scripts.d/notifiers"
expect 0 m --version
expect 1 env VGPU_MDEVCTL_COMPAT=1.2 "$tmp/bin/mdevctl" --version
check "1.2 needs scripts.d/notifiers" grep -qx "Error: Required directory \"$tmp/mdevctl.d/scripts.d/notifiers\" doesn't exist. This may indicate a packaging or installation error" "$tmp/err"
expect 1 env VGPU_CONFIG_DIR=$tmp/none "$tmp/bin/mdevctl" --bogus
check "1.4 needs the definitions directory" grep -q "^Error: Required directory \"$tmp/none\"" "$tmp/err"
unset VGPU_CONFIG_DIR

# a definition file that is not JSON is skipped, not fatal
mkdir -p "$tmp/conf/$P"; echo '{ nonsense' > "$tmp/conf/$P/$U"
expect 0 v list -d
rm "$tmp/conf/$P/$U"

# two vgpuctl processes race for the last slot: one wins, one gets 4
racers=
for i in 1 2; do
	( v create -p $Q -t $T > /dev/null 2>&1; echo $? > "$tmp/race$i" ) &
	racers="$racers $!"
done
wait $racers
r1=$(cat "$tmp/race1") r2=$(cat "$tmp/race2")
check "race: one success and one 'no capacity' ($r1, $r2)" \
	[ "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" = "0 4 " ]
expect 0 v list
check "race: exactly one instance" [ "$(grep -c "$Q" "$tmp/out")" = 1 ]

# the monitor sees a create
v monitor --interval 20 --count 1 --timeout 5000 > "$tmp/events" 2> "$tmp/mon.err" &
mon=$!
for _ in $(seq 50); do grep -qs monitoring "$tmp/mon.err" && break; sleep 0.05; done
expect 0 v create -p $P -t $T -u $U
wait $mon
check "monitor reported the instance" grep -q "^instance-added mdev $P $U $T" "$tmp/events"

summary
