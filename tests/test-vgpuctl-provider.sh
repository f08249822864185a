#!/bin/bash
# vgpuctl with a user-space provider (vgpu-sim) that shuts a user out, stops
# answering, crashes and comes back:
#   - a user without access to its control socket gets "permission denied"
#     (exit 5) from every verb about it, never "inactive" or "not found"; a
#     listing says so and exits 7 (partial), never a silent empty list
#   - a provider that stops answering is "not responding" (exit 6), within
#     VGPU_PROVIDER_TIMEOUT_MS; a listing says so and exits 7 (partial)
#   - a crashed provider's stale socket counts as absent; its transient
#     instances are gone, its definitions stay
#   - `define --auto` on its parent starts when it registers again, through
#     `vgpuctl monitor --autostart`, and through `vgpuctl autostart`
#   - one message per failure, naming the object
#   test-vgpuctl-provider.sh VGPUCTL VGPU-SIM
# The permission cases run as user nobody (setpriv); without root they are
# skipped and the rest runs.
set -u
vgpuctl=$1 sim_bin=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpuctl-provider.XXXXXX")
chmod 755 "$tmp"
sim=
sim1=
mon=
cleanup() {
	[ -n "$mon" ] && kill "$mon" 2> /dev/null
	for p in $sim $sim1; do kill -CONT $p; kill $p; wait $p; done 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/empty" "$tmp/conf" "$tmp/run"
# long enough for a healthy provider on a loaded machine (every hung call
# waits this long: about ten of them)
export VGPU_PROVIDER_TIMEOUT_MS=2000
P=sim0
U=11111111-2222-4333-8444-555555555555
U2=22222222-2222-4333-8444-555555555555
U3=33333333-2222-4333-8444-555555555555
v() { "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/empty" --config-dir "$tmp/conf" \
	--runtime-dir "$tmp/run" "$@"; }
. "$(dirname "$0")/lib-cli.sh"
# start_provider NAME: vgpu-sim as parent NAME, its pid in $started
start_provider() {
	"$sim_bin" --parent $1 --runtime-dir "$tmp/run" > /dev/null 2> "$tmp/$1.log" &
	started=$!
	for _ in $(seq 400); do
		[ -S "$tmp/run/vfio-user/$1.ctl" ] && v show $1 > /dev/null 2>&1 && return 0
		kill -0 $started 2> /dev/null || break
		sleep 0.05
	done
	echo "vgpu-sim did not start: $(cat "$tmp/$1.log")"; exit 1
}
start_sim() { start_provider $P; sim=$started; }

# every verb explains itself, and its options
# (mdevctl's --help is mdevctl's own; help is the help)
for verb in $("$vgpuctl" --help | awk '/^Verbs/ { on = 1; next } on && /^  [a-z]/ { print $1 }' |
		grep -vx 'mdevctl\|help'); do
	expect 0 "$vgpuctl" $verb --help
	check "'$verb --help' gives its synopsis" grep -q "^Usage: vgpuctl $verb" "$tmp/out"
done
expect 0 "$vgpuctl" define --help
for opt in --parent --type --uuid --attr --jsonfile --auto --manual --force; do
	check "define --help explains $opt" grep -qE -- "^ +(-[a-zA-Z], )?$opt( |$)" "$tmp/out"
done
expect 0 "$vgpuctl" modify --help
for opt in --add-attr --del-attr --index --jsonfile --auto; do
	check "modify --help explains $opt" grep -qE -- "^ +(-[a-zA-Z], )?$opt( |$)" "$tmp/out"
done
expect 0 "$vgpuctl" monitor --help
check "monitor --help explains --autostart" grep -qE -- "^ +-a, --autostart " "$tmp/out"

start_sim
expect 0 v parents
check "parents lists the provider" grep -q "^$P  *vfio-user" "$tmp/out"
expect 0 v types $P
check "types gives available and max" grep -q "^$P  *sim-64m  *[0-9][0-9]*  *16 " "$tmp/out"
expect 0 v create -p $P -t sim-64m -u $U

# an unknown type: the parent's types, no invented UUID
expect 3 v create -p $P -t nvidia-999
check "unknown type names the parent's types" \
	grep -qx "vgpuctl: parent $P has no type nvidia-999 (types: sim-16m, sim-256m, sim-64m)" "$tmp/err"
check "unknown type: one message" one_line
check "unknown type: no UUID printed" \
	bash -c "! grep -Eq '[0-9a-f]{8}-[0-9a-f]{4}-' '$tmp/out' '$tmp/err'"

# a user shut out of the control socket
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	nb() { setpriv --reuid=nobody --regid=nogroup --clear-groups "${vg[@]}" "$vgpuctl" \
		--sysfs-root "$tmp/empty" --config-dir "$tmp/conf" \
		--runtime-dir "$tmp/run" "$@"; }
	for cmd in "types $P" "show $P" "show $U" "create -p $P -t sim-16m" "stop $U"; do
		# shellcheck disable=SC2086
		expect 5 nb $cmd
		check "as nobody, '$cmd' says permission denied" grep -qi "permission denied" "$tmp/err"
		check "as nobody, '$cmd': one message" one_line
		check "as nobody, '$cmd' prints nothing" [ ! -s "$tmp/out" ]
	done
	# a listing: what answered (nothing here), the provider on stderr
	for cmd in parents list "list -a" "inventory --json"; do
		# shellcheck disable=SC2086
		expect 7 nb $cmd
		check "as nobody, '$cmd' says permission denied" grep -qi "provider $P: permission denied" "$tmp/err"
		check "as nobody, '$cmd': one message" one_line
		check "as nobody, '$cmd' lists nothing of $P" bash -c "! grep -q '$U\|^$P ' '$tmp/out'"
	done
else
	echo "not root: the permission cases are skipped"
fi

# a provider that stops answering
U4=44444444-2222-4333-8444-555555555555
expect 0 v define -p $P -t sim-16m -u $U4
kill -STOP $sim
for cmd in parents list "list -a" "list -d" "inventory --json" stats metrics \
	"top --batch --iterations 1"; do
	# shellcheck disable=SC2086
	expect 7 v $cmd
	check "hung provider: '$cmd' says it is not responding" \
		grep -q "provider $P is not responding" "$tmp/err"
	check "hung provider: '$cmd': one message" one_line
	# whether its instances run is not known: none of them is shown,
	# not even a definition as "inactive"
	check "hung provider: '$cmd' shows nothing of it" \
		bash -c "! grep -q '$U\|$U4' '$tmp/out'"
done
expect 7 v metrics
check "hung provider: metrics says the parent is down" \
	grep -qx "vgpu_parent_up{parent=\"$P\",backend=\"vfio-user\",errno=\"ETIMEDOUT\"} 0" "$tmp/out"
for cmd in "types $P" "show $P" "list -p $P" "show $U" "create -p $P -t sim-16m"; do
	# shellcheck disable=SC2086
	expect 6 v $cmd
	check "hung provider: '$cmd' says it is not responding" \
		grep -q "provider $P is not responding" "$tmp/err"
	check "hung provider: '$cmd': one message" one_line
done
# the mdevctl personality knows mdev alone: a hung provider does not fail it
mkdir -p "$tmp/bin" "$tmp/conf/scripts.d/callouts" "$tmp/conf/scripts.d/notifiers"
ln -sf "$(readlink -f "$vgpuctl")" "$tmp/bin/mdevctl"
expect 0 env VGPU_SYSFS_ROOT="$tmp/empty" VGPU_CONFIG_DIR="$tmp/conf" \
	VGPU_RUNTIME_DIR="$tmp/run" "${vg[@]}" "$tmp/bin/mdevctl" list
check "mdevctl list ignores the hung provider" [ ! -s "$tmp/err" ]
expect 0 v mdevctl list
kill -CONT $sim
# it first drains the connections the calls above left in its backlog: a
# loaded machine may need more than one timeout for that (a bound, no
# timing assertion)
for _ in $(seq 50); do v show $U > /dev/null 2>&1 && break; sleep 0.1; done
expect 0 v show $U

# a crash: the socket stays behind; transient instances die with the
# provider, definitions stay
expect 0 v define -p $P -t sim-16m -u $U2 --auto
kill -KILL $sim; wait $sim 2> /dev/null; sim=
check "the crashed provider left its control socket" test -S "$tmp/run/vfio-user/$P.ctl"
expect 0 v parents
check "a stale socket is no parent" bash -c "! grep -q '^$P ' '$tmp/out'"
expect 3 v show $U
check "its transient instance is gone" grep -qx "vgpuctl: instance $U: no such instance" "$tmp/err"
expect 0 v list -d
check "its definition stays" grep -q "^$U2  *$P  *sim-16m  *inactive,defined,auto" "$tmp/out"
expect 3 v start $U2
check "start on an absent provider names the parent" grep -q "parent $P: no such parent" "$tmp/err"

# the provider registers again: the monitor starts its "auto" definitions
v monitor --autostart --timeout 60000 > "$tmp/events" 2> "$tmp/mon.err" &
mon=$!
for _ in $(seq 200); do grep -qs monitoring "$tmp/mon.err" && break; sleep 0.05; done
start_sim
for _ in $(seq 400); do
	v list 2> /dev/null | grep -q "^$U2 " && break
	sleep 0.05
done
expect 0 v list
check "the monitor started the auto definition at registration" grep -q "^$U2  *$P  *sim-16m  *active" "$tmp/out"
check "the monitor saw the provider register" grep -q "^parent-added vfio-user $P" "$tmp/events"

# while one provider hangs, another that registers is still seen and its
# auto definition started
expect 0 v define -p sim1 -t sim-16m -u $U3 --auto
check "define on an absent parent: no warning" [ ! -s "$tmp/err" ]
kill -STOP $sim
"$sim_bin" --parent sim1 --runtime-dir "$tmp/run" > /dev/null 2> "$tmp/sim1.log" &
sim1=$!
for _ in $(seq 400); do
	v show $U3 2> /dev/null | grep -q "^Active: *yes" && break
	sleep 0.1
done
expect 0 v show $U3
check "a hung provider does not stop the monitor: the other's definition started" \
	grep -q "^Active: *yes" "$tmp/out"
check "the monitor saw the second provider" grep -q "^parent-added vfio-user sim1" "$tmp/events"
check "the monitor reported no removal of the hung provider" \
	bash -c "! grep -q '^parent-removed vfio-user $P' '$tmp/events'"
for _ in $(seq 200); do
	grep -qs "provider $P is not responding" "$tmp/mon.err" && break
	sleep 0.05
done
check "the monitor said the hung provider is not responding" \
	grep -q "provider $P is not responding" "$tmp/mon.err"
kill -CONT $sim
kill $sim1; wait $sim1 2> /dev/null; sim1=
kill $mon; wait $mon 2> /dev/null; mon=

# and `vgpuctl autostart` does it by hand
expect 0 v stop $U2
expect 0 v autostart $P
expect 0 v show $U2
check "autostart started it" grep -q "^Active: *yes" "$tmp/out"
expect 0 v remove $U2

summary
