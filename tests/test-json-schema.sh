#!/bin/bash
# Every verb's --json against the schema in the tree (docs/vgpuctl.schema.json),
# with Debian's python3-jsonschema: a static mdev host with active and defined
# instances, and a user-space provider (vgpu-sim) with an instance, types
# with a total capacity ("max") and events from the monitor. Then malformed
# documents (the mistakes the schema exists to stop) must be refused.
#   test-json-schema.sh VGPUCTL MKHOST VGPU-SIM SCHEMA VALIDATOR
# Needs no root. Exit 77 without python3-jsonschema.
set -u
vgpuctl=$1 mkhost=$2 sim_bin=$3 schema=$4 validator=$5
py=/usr/bin/python3
[ -x $py ] || py=python3
$py -c 'import jsonschema' 2> /dev/null || { echo "python3-jsonschema missing: skip"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-schema.XXXXXX")
sim=
trap '[ -n "$sim" ] && kill $sim 2> /dev/null; wait; rm -rf "$tmp"' EXIT
"$mkhost" "$tmp/host" 2 2 2 > /dev/null || exit 1
U=33333333-2222-4333-8444-555555555555
. "$(dirname "$0")/lib-cli.sh"   # for ${vg[@]}
v() { "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/host/sys" --config-dir "$tmp/host/etc/mdevctl.d" \
	--runtime-dir "$tmp/run" "$@"; }
fail=0
run() { # run NAME ARGS...: save the JSON of one vgpuctl call
	local name=$1; shift
	v "$@" > "$tmp/$name.json" 2> "$tmp/err" || {
		echo "FAIL: vgpuctl $* exited $?"; cat "$tmp/err"; fail=1; }
}

"$sim_bin" --parent sim0 --runtime-dir "$tmp/run" > /dev/null 2> "$tmp/sim.log" &
sim=$!
for _ in $(seq 400); do v show sim0 > /dev/null 2>&1 && break; sleep 0.05; done
v show sim0 > /dev/null 2>&1 || { echo "vgpu-sim did not start"; cat "$tmp/sim.log"; exit 1; }

v monitor --json --count 2 --timeout 60000 > "$tmp/monitor.json" 2> "$tmp/mon.err" &
mon=$!
for _ in $(seq 400); do grep -qs monitoring "$tmp/mon.err" && break; sleep 0.05; done
run create create -p sim0 -t sim-64m --json
run define define -p 0000:01:00.0 -t i915-GVTg_V5_0 -u $U --auto --attr a/b=1 --attr c=2 --json
first=$(v list -a | awk 'NR == 2 { print $1 }')
run parents parents --json
run types types --json
run types-one types sim0 --json
run list list --json
run list-all list --all --json
run list-defined list --defined --json
run show-parent show 0000:01:00.0 --json
run show-provider show sim0 --json
run show-instance show $U --json
run show-active show "$first" --json
run inventory inventory --json
# the monitor counts the provider's two events (instance added, then the
# one of a stop)
u=$(v list -p sim0 | awk 'NR == 2 { print $1 }')
v stop "$u" || fail=1
wait $mon || { echo "FAIL: monitor"; cat "$tmp/mon.err"; fail=1; }

$py "$validator" "$schema" "$tmp"/*.json || fail=1
grep -q '"max": 16' "$tmp/types-one.json" || { echo "FAIL: types has no max"; fail=1; }
grep -q '"time":"' "$tmp/monitor.json" || { echo "FAIL: events have no time"; fail=1; }
[ "$(grep -c '"events"' "$tmp/monitor.json")" = 2 ] || { echo "FAIL: not 2 events"; fail=1; }

# the schema refuses what the verbs used to print
bad=$tmp/bad
mkdir "$bad"
echo '[{"id": "p", "backend": "mdev"}]' > "$bad/array.json"
echo '{"parents": []}' > "$bad/no-version.json"
echo '{"version": 2}' > "$bad/version-2.json"
sed 's/"parent": "0000:01:00.0"/"parent": {"id": "0000:01:00.0"}/' "$tmp/show-instance.json" > "$bad/parent-object.json"
sed 's/"iommu_group": null/"iommu_group": -1/' "$tmp/show-instance.json" > "$bad/group-minus-one.json"
sed 's/"uuid": "/"device": "/' "$tmp/show-instance.json" > "$bad/device-not-uuid.json"
$py - "$tmp/types-one.json" > "$bad/no-max.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
del d["types"][0]["max"]
print(json.dumps(d))
EOP
$py - "$tmp/inventory.json" > "$bad/dangling-parent.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
d["types"][0]["parent"] = "0000:99:00.0"
print(json.dumps(d))
EOP
for f in "$bad"/*.json; do
	cmp -s "$f" "$tmp/show-instance.json" && { echo "FAIL: $f unchanged"; fail=1; }
done
$py "$validator" --invalid "$schema" "$bad"/*.json || fail=1
[ $fail = 0 ] && echo "all documents valid, all malformed ones refused"
exit $fail
