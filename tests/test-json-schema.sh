#!/bin/bash
# Every verb's --json against the schema in the tree (docs/vgpuctl.schema.json),
# with Debian's python3-jsonschema: a static mdev host with active and defined
# instances, and a user-space provider (vgpu-sim) with an instance, types
# with a total capacity ("max"), events from the monitor, its device's
# regions, interrupts, migration, QoS, usage and a screenshot; usage and QoS
# of mdev instances on a second static host (qos-host). Then partial
# answers: next to the mdev host and the healthy provider, a provider stopped
# with SIGSTOP (and, as user nobody, one whose socket nobody may not open)
# is reported in "errors" with exit 7 while the rest is listed. Malformed
# documents (the mistakes the schema exists to stop) must be refused.
#   test-json-schema.sh VGPUCTL MKHOST VGPU-SIM SCHEMA VALIDATOR QOS-HOST SIM-DEMO
# Needs no root (the nobody case is skipped without it). Exit 77 without
# python3-jsonschema.
set -u
vgpuctl=$1 mkhost=$2 sim_bin=$3 schema=$4 validator=$5 qoshost=$6 demo=$7
py=/usr/bin/python3
[ -x $py ] || py=python3
$py -c 'import jsonschema' 2> /dev/null || { echo "python3-jsonschema missing: skip"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-schema.XXXXXX")
chmod 755 "$tmp"
sim= sims=
trap 'for p in $sim $sims; do kill -CONT $p; kill $p; done 2> /dev/null; wait; rm -rf "$tmp"' EXIT
# a stopped provider is "not responding" after this long (no assertion on
# time: it only bounds each call; long enough that a healthy provider on a
# loaded machine is never taken for a stopped one)
export VGPU_PROVIDER_TIMEOUT_MS=2000
"$mkhost" "$tmp/host" 2 2 2 > /dev/null || exit 1
U=33333333-2222-4333-8444-555555555555
. "$(dirname "$0")/lib-cli.sh"   # for ${vg[@]}
# v ARGS...: vgpuctl on the host. A script, not a function, so that a
# background job or a command substitution is one exec'd program (under
# `meson test --setup valgrind` a subshell running a function is bash under
# valgrind, whose own leaks would fail it)
mkdir "$tmp/bin"
tool() { # tool NAME PREFIX...: $tmp/bin/NAME runs PREFIX... ARGS...
	local name=$1; shift
	{ echo '#!/bin/bash'; printf 'exec'; printf ' %q' "$@"; echo ' "$@"'; } > "$tmp/bin/$name"
	chmod 755 "$tmp/bin/$name"
}
tool v "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/host/sys" --config-dir "$tmp/host/etc/mdevctl.d" \
	--runtime-dir "$tmp/run"
PATH=$tmp/bin:$PATH
fail=0
run() { # run NAME ARGS...: save the JSON of one vgpuctl call
	local name=$1; shift
	v "$@" > "$tmp/$name.json" 2> "$tmp/err" || {
		echo "FAIL: vgpuctl $* exited $?"; cat "$tmp/err"; fail=1; }
}
# start_sim NAME [PREFIX...]: one more provider, its pid in $started
start_sim() {
	local name=$1; shift
	"$@" "$sim_bin" --parent $name --runtime-dir "$tmp/run" > /dev/null 2> "$tmp/$name.log" &
	started=$!
	for _ in $(seq 400); do
		[ -S "$tmp/run/vfio-user/$name.ctl" ] && break
		kill -0 $started 2> /dev/null || break
		sleep 0.05
	done
	[ -S "$tmp/run/vfio-user/$name.ctl" ] || { echo "vgpu-sim $name did not start"; cat "$tmp/$name.log"; exit 1; }
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
wait $mon || { echo "FAIL: monitor exited $?"; cat "$tmp/mon.err"; cat "$tmp/monitor.json"; fail=1; }

# usage and QoS of mdev instances (vendor counters and knobs)
"$qoshost" "$tmp/qhost" > "$tmp/quuids" || exit 1
read -r QU < "$tmp/quuids"
tool q "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/qhost/sys" --config-dir "$tmp/qhost/etc/mdevctl.d" \
	--runtime-dir "$tmp/qhost/run"
q stats --json > "$tmp/stats-mdev.json" || { echo "FAIL: stats on the mdev host"; fail=1; }
q qos "$QU" --json > "$tmp/qos-mdev.json" || { echo "FAIL: qos on the mdev host"; fail=1; }

# the device verbs, usage and QoS on the provider's instance; a screenshot
# once the demo has set a mode
u=$(v create -p sim0 -t sim-64m) || fail=1
run regions regions "$u" --json
run irqs irqs "$u" --json
run migration migration "$u" --json
run qos qos "$u" --json
run qos-live qos "$u" --live --json
run stats stats --json
run stats-one stats "$u" --json
"$demo" --sysfs-root "$tmp/host/sys" --runtime-dir "$tmp/run" "$u" > "$tmp/demo.log" 2>&1 || {
	echo "FAIL: vgpu-sim-demo"; cat "$tmp/demo.log"; fail=1; }
run screenshot screenshot "$u" "$tmp/frame.png" --json

# partial answers: a provider that stops answering is left out, the rest
# (the mdev host, sim0 with its instance) is listed
start_sim sim1
sims=$started
v create -p sim1 -t sim-16m > /dev/null || fail=1
kill -STOP $sims
partial() { # partial NAME WHO ARGS...: a document with errors, exit 7
	local name=$1 who=$2; shift 2
	$who "$@" > "$tmp/$name.json" 2> "$tmp/$name.err"
	local rc=$?
	[ $rc = 7 ] || { echo "FAIL: $* exited $rc, not 7 (partial)"; cat "$tmp/$name.err"; fail=1; }
}
for verb in parents types list "list --all" inventory stats; do
	# shellcheck disable=SC2086
	partial "hung-${verb/ --/-}" v $verb --json
done
for f in "$tmp"/hung-*.json; do
	$py - "$f" <<'EOP' || { echo "FAIL: $f"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
e = d["errors"]
assert [(x["parent"], x["errno"], x["backend"]) for x in e] == [("sim1", "ETIMEDOUT", "vfio-user")], e
assert "sim1 is not responding" in e[0]["message"], e
for member in ("parents", "types", "instances", "usage"):
    for o in d.get(member, []):
        assert o.get("parent", o.get("id")) != "sim1", (member, o)
if "parents" in d:
    assert {"0000:01:00.0", "sim0"} <= {p["id"] for p in d["parents"]}, d["parents"]
if "instances" in d or "usage" in d:
    listed = {i["parent"] for i in d.get("instances", d.get("usage", []))}
    assert {"0000:01:00.0", "sim0"} <= listed, listed
EOP
done
# the same in text: the rest on stdout, the provider on stderr, exit 7
expect 7 v parents
check "hung: parents lists the mdev parent and sim0" \
	bash -c "grep -q '^0000:01:00.0 ' '$tmp/out' && grep -q '^sim0 ' '$tmp/out' && ! grep -q '^sim1 ' '$tmp/out'"
check "hung: parents names the provider on stderr" grep -qx "vgpuctl: provider sim1 is not responding .*" "$tmp/err"
check "hung: one message" one_line
expect 7 v list
check "hung: list lists the others' instances" \
	bash -c "grep -q ' 0000:01:00.0 ' '$tmp/out' && grep -q ' sim0 ' '$tmp/out'"
check "hung: list names the provider" grep -q "provider sim1 is not responding" "$tmp/err"
# one object asked for: no answer at all
expect 6 v list -p sim1
expect 6 v show sim1

# a provider the caller may not use (its socket is another user's): as
# nobody, next to a provider of nobody's own
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null && \
   setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$vgpuctl"; then
	asnobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	chmod 1777 "$tmp/run/vfio-user"
	kill -CONT $sims
	start_sim simn "${asnobody[@]}"
	sims="$sims $started"
	tool nb "${asnobody[@]}" "${vg[@]}" "$vgpuctl" --sysfs-root "$tmp/host/sys" \
		--config-dir "$tmp/host/etc/mdevctl.d" --runtime-dir "$tmp/run"
	for verb in parents list inventory; do
		partial "denied-$verb" nb $verb --json
		$py - "$tmp/denied-$verb.json" <<'EOP' || { echo "FAIL: as nobody, $verb"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
e = sorted((x["parent"], x["errno"]) for x in d["errors"])
assert e == [("sim0", "EACCES"), ("sim1", "EACCES")], e
assert all("permission denied" in x["message"] for x in d["errors"]), d["errors"]
if "parents" in d:
    ids = {p["id"] for p in d["parents"]}
    assert {"0000:01:00.0", "simn"} <= ids and not ids & {"sim0", "sim1"}, ids
EOP
	done
	expect 7 nb parents
	check "as nobody: parents lists simn" grep -q "^simn " "$tmp/out"
	check "as nobody: permission denied, per provider" \
		bash -c "[ \$(grep -c 'permission denied' '$tmp/err') = 2 ]"
	expect 5 nb show sim0
else
	echo "not root (or no setpriv): the permission case is skipped"
fi

$py "$validator" "$schema" "$tmp"/*.json || fail=1
grep -q '"max": 16' "$tmp/types-one.json" || { echo "FAIL: types has no max"; fail=1; }
grep -q '"errors": \[\]' "$tmp/inventory.json" || { echo "FAIL: inventory has no empty errors"; fail=1; }
grep -q '"frames"' "$tmp/screenshot.json" || { echo "FAIL: screenshot --json printed no frame"; fail=1; }
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
# what stats, qos and the device verbs used to print
echo '[{"uuid": "'$U'", "usage": {}}]' > "$bad/stats-array.json"
echo '{"uuid": "'$U'", "backend": "mdev", "qos": {}}' > "$bad/qos-object.json"
$py - "$tmp" "$bad" <<'EOP'
import json, os, sys
tmp, bad = sys.argv[1:]
def load(name):
    return json.load(open(os.path.join(tmp, name + ".json")))
def save(name, d):
    json.dump(d, open(os.path.join(bad, name + ".json"), "w"))
d = load("regions"); d["regions"][0]["device"] = "someone-else"; save("region-dangling-device", d)
d = load("regions"); del d["regions"][0]["type"]; save("region-no-type", d)
d = load("irqs"); d["devices"][0]["iommu_group"] = -1; save("device-group-minus-one", d)
d = load("stats"); d["usage"][0]["counters"]["frames"] = -1; save("usage-minus-one", d)
d = load("stats"); d["usage"][0]["timestamp_ns"] = "now"; save("usage-time-string", d)
d = load("qos"); del d["qos"][0]["knobs"]["weight"]; save("qos-knob-missing", d)
d = load("migration"); d["migration"][0]["state"] = 3; save("migration-state-number", d)
d = load("hung-parents"); d["errors"][0]["errno"] = "110"; save("errno-number", d)
d = load("hung-parents"); del d["errors"][0]["message"]; save("error-no-message", d)
d = load("hung-inventory"); d["errors"][0]["parent"] = "sim0"; save("error-parent-listed", d)
EOP
for f in "$bad"/*.json; do
	cmp -s "$f" "$tmp/show-instance.json" && { echo "FAIL: $f unchanged"; fail=1; }
done
$py "$validator" --invalid "$schema" "$bad"/*.json || fail=1
[ $failed = 0 ] || fail=1
echo "$passed checks passed, $failed failed"
# the status is the last command's (no `exit`: under valgrind, bash leaks
# the command that exits)
[ $fail = 0 ] && echo "all documents valid, all malformed ones refused"
