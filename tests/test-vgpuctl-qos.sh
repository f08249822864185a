#!/bin/bash
# vgpuctl's usage and QoS verbs (stats, qos, top, metrics) on a static fake
# host: text and JSON output, "not reported" shown as such, QoS set through
# the vendor files and refused with the backend named, malformed command
# lines, the metrics checked by Debian's promtool and scraped by a real
# Prometheus on loopback, and top driven through tmux (it must draw, follow
# a changing counter and quit on 'q').
#   test-vgpuctl-qos.sh VGPUCTL QOS-HOST
# Exit 77 without tmux, promtool/prometheus or python3.
set -u
vgpuctl=$1 qoshost=$2
for tool in tmux promtool prometheus python3; do
	command -v $tool > /dev/null || { echo "no $tool (tools/install-deps.sh): skip"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpuctl-qos.XXXXXX")
sock=vgpuctl-qos-$$
pids=
cleanup() {
	tmux -L $sock kill-server 2> /dev/null
	for p in $pids; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
host=$tmp/host
"$qoshost" "$host" > "$tmp/uuids" || exit 1
{ read -r U_GVT; read -r U_NV; read -r U_XE; } < "$tmp/uuids"
U_NONE=8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2bff
GVT=0000:00:02.0 XEPF=$host/sys/devices/pci0000:05/0000:05:00.0
v() { "$vgpuctl" --sysfs-root "$host/sys" --config-dir "$host/etc/mdevctl.d" \
	--runtime-dir "$host/run" "$@"; }
passed=0 failed=0
expect() { # expect STATUS CMD...
	local want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	local got=$?
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: '$*' exited $got, wanted $want"
		sed 's/^/  stdout: /' "$tmp/out"; sed 's/^/  stderr: /' "$tmp/err"
	fi
}
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
json_ok() { python3 -m json.tool "$tmp/out" > /dev/null; }
jq_py() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); sys.exit(0 if ($1) else 1)"; }
# poll COMMAND... until it succeeds (no timing assertion: only a bound)
eventually() { for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done; return 1; }

# ---- stats
expect 0 v stats
check "stats: one row per instance" [ "$(grep -c 8a1f6a8c "$tmp/out")" = 3 ]
check "stats: GVT-g graphics memory" grep -q "^$U_GVT .* 640M " "$tmp/out"
check "stats: xe VRAM and vfio-msix interrupts" grep -q "^$U_XE .* sriov .* 107  *1G " "$tmp/out"
check "stats: busy time not reported, not 0" grep -q "^$U_NV  *0000:3b:00.0  *nvidia-256  *mdev  *- " "$tmp/out"
expect 0 v --json stats
check "stats --json parses" json_ok
check "stats --json: null for not reported" jq_py "all(r['counters']['engine_busy_ns'] is None for r in d['usage'])"
check "stats --json: values" jq_py "[r['counters']['interrupts'] for r in d['usage'] if r['uuid']=='$U_XE']==[107]"
expect 0 v stats $U_NV
check "stats UUID: one row" [ "$(grep -c 8a1f6a8c "$tmp/out")" = 1 ]
expect 0 v stats "$(echo $U_NV | tr a-f A-F)"
expect 3 v stats $U_NONE
check "stats: not active said" grep -q "not active" "$tmp/err"
expect 2 v stats not-a-uuid
expect 2 v stats $U_NV $U_GVT
expect 2 v stats --bogus

# ---- qos: show
expect 0 v qos $U_GVT
check "qos: GVT-g weight fixed by the type" grep -q "^weight  *4  *fixed by the type" "$tmp/out"
check "qos: missing knobs name the backend" grep -q "^time_slice_us  *-  *not available on the mdev backend" "$tmp/out"
expect 0 v qos $U_XE
check "qos: xe time slice" grep -q "^time_slice_us  *0 *$" "$tmp/out"
check "qos: xe preemption timeout" grep -q "^preempt_timeout_us  *640000" "$tmp/out"
check "qos: xe priority" grep -q "^priority  *normal" "$tmp/out"
expect 0 v --json qos $U_XE
check "qos --json parses" json_ok
check "qos --json: unsupported knob" jq_py "d['qos'][0]['knobs']['weight']=={'value': None, 'supported': False, 'fixed': False, 'next_vm_start': False, 'from_definition': False}"

# ---- qos: set
expect 0 v qos $U_XE --set time_slice_us=25000 --set priority=high --set preempt_timeout_us=1000
check "qos --set: exec_quantum_ms written" grep -q "^25" "$XEPF/sriov_admin/vf1/profile/exec_quantum_ms"
check "qos --set: sched_priority written" grep -q "^high" "$XEPF/sriov_admin/vf1/profile/sched_priority"
check "qos --set: preempt_timeout_us written" grep -q "^1000" "$XEPF/sriov_admin/vf1/profile/preempt_timeout_us"
expect 2 v qos $U_XE --set time_slice_us=1500
check "qos: whole milliseconds explained" grep -q "whole milliseconds" "$tmp/err"
expect 1 v qos $U_XE --set weight=2
check "qos: refusal names the backend" grep -q "sriov backend cannot set weight" "$tmp/err"
expect 1 v qos $U_GVT --set weight=2
check "qos: GVT-g weight refused with the type" grep -q "mdev backend cannot set weight.*i915-GVTg_V5_4" "$tmp/err"
: > "$host/sys/bus/mdev/devices/$U_NV/nvidia/vgpu_params"
expect 0 v qos $U_NV --set frame_rate_limit=0
check "qos: NVIDIA applies at the next VM start" grep -q "when the VM starts next" "$tmp/out"
check "qos: vgpu_params written" grep -qx "frame_rate_limiter=0" "$host/sys/bus/mdev/devices/$U_NV/nvidia/vgpu_params"
expect 0 v qos $U_NV
check "qos: NVIDIA's value is the next VM start's" grep -q "^frame_rate_limit  *0  *in effect from the next VM start" "$tmp/out"
expect 1 v qos $U_NV --set frame_rate_limit=30
check "qos: NVIDIA's limits explained" grep -q "frl_config (60 fps)" "$tmp/err"
# a failing --set after a good one says what was applied
expect 1 v qos $U_XE --set time_slice_us=2000 --set weight=1
check "qos: partial application reported" grep -q "the 1 setting(s) before weight were applied" "$tmp/err"
# malformed command lines: nothing is applied
cp "$XEPF/sriov_admin/vf1/profile/exec_quantum_ms" "$tmp/eq.before"
for bad in "bogus=1" "weight=0" "weight=1000001" "priority=urgent" "priority=3" \
	"time_slice_us=" "time_slice_us=-1" "time_slice_us=1e3" "time_slice_us=99999999999" \
	"noequals" "=5" "frame_rate_limit=0x10"; do
	expect 2 v qos $U_XE --set time_slice_us=9000 --set "$bad"
done
check "qos: a bad --set applies none" cmp -s "$tmp/eq.before" "$XEPF/sriov_admin/vf1/profile/exec_quantum_ms"
expect 2 v qos
expect 2 v qos not-a-uuid
expect 2 v qos $U_XE $U_NV
expect 2 v qos $U_XE --live --config
expect 3 v qos $U_NONE

# ---- QoS of a definition: beside mdevctl's file, shown, kept
expect 0 v define -p $GVT -t i915-GVTg_V5_4 -u $U_NONE
cp "$host/etc/mdevctl.d/$GVT/$U_NONE" "$tmp/def.before"
expect 0 v qos $U_NONE --set weight=2 --set frame_rate_limit=30
check "definition QoS stored beside it" grep -q '"weight": 2' "$host/etc/vgpu-qos.d/$GVT/$U_NONE"
check "mdevctl's file untouched" cmp -s "$tmp/def.before" "$host/etc/mdevctl.d/$GVT/$U_NONE"
expect 0 v qos $U_NONE
check "qos: definition values shown" grep -q "^weight  *2  *from the definition" "$tmp/out"
check "qos: unset knob of a definition" grep -q "^priority  *-  *not set" "$tmp/out"
expect 0 v modify $U_NONE --auto
check "modify keeps the QoS" grep -q '"frame_rate_limit": 30' "$host/etc/vgpu-qos.d/$GVT/$U_NONE"
expect 3 v qos $U_NONE --live --set weight=2
expect 0 v undefine $U_NONE
check "undefine removes the QoS" [ ! -e "$host/etc/vgpu-qos.d/$GVT/$U_NONE" ]

# ---- metrics: promtool, and a real Prometheus scraping them on loopback
echo 3 > "$XEPF/sriov_admin/vf1/profile/exec_quantum_ms"
expect 0 v metrics
cp "$tmp/out" "$tmp/metrics.txt"
check "metrics: promtool check metrics" promtool check metrics < "$tmp/metrics.txt"
check "metrics: labelled samples" grep -q "^vgpu_interrupts_total{parent=\"0000:05:00.0\",type=\"xe-default\",uuid=\"$U_XE\",backend=\"sriov\"} 107$" "$tmp/metrics.txt"
check "metrics: QoS in base units" grep -q "^vgpu_qos_time_slice_seconds{.*uuid=\"$U_XE\".*} 0.003$" "$tmp/metrics.txt"
check "metrics: unreported counters have no sample" bash -c "! grep -q '^vgpu_engine_busy_seconds_total' '$tmp/metrics.txt'"
expect 2 v metrics extra
expect 2 v --json metrics
mkdir "$tmp/www"
expect 0 v metrics --output "$tmp/www/metrics"
check "metrics --output: promtool" promtool check metrics < "$tmp/www/metrics"
check "metrics --output: no temporary left" [ "$(ls "$tmp/www" | wc -l)" = 1 ]
expect 1 v metrics --output "$tmp/no/such/dir/m.prom"
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
read -r webport promport <<< "$ports"
python3 -m http.server "$webport" --bind 127.0.0.1 --directory "$tmp/www" > "$tmp/http.log" 2>&1 &
pids="$pids $!"
cat > "$tmp/prometheus.yml" << EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vgpu
    static_configs:
      - targets: ['127.0.0.1:$webport']
EOC
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$promport" > "$tmp/prometheus.log" 2>&1 &
pids="$pids $!"
scraped() {
	python3 - "$promport" "$U_XE" << 'EOP'
import json, sys, urllib.request
port, uuid = sys.argv[1], sys.argv[2]
try:
    q = "http://127.0.0.1:%s/api/v1/query?query=vgpu_framebuffer_bytes" % port
    r = json.load(urllib.request.urlopen(q, timeout=5))
except Exception:
    sys.exit(1)
vals = {x["metric"].get("uuid"): x["value"][1] for x in r["data"]["result"]}
sys.exit(0 if vals.get(uuid) == "1073741824" and len(vals) == 3 else 1)
EOP
}
check "a real Prometheus scraped the metrics" eventually scraped || sed 's/^/  prometheus: /' "$tmp/prometheus.log" | tail -5

# ---- top, through tmux (the static files show what the kernel would)
echo "low normal [high]" > "$XEPF/sriov_admin/vf1/profile/sched_priority"
tmux -L $sock new-session -d -x 160 -y 30 \
	"'$vgpuctl' --sysfs-root '$host/sys' --config-dir '$host/etc/mdevctl.d' --runtime-dir '$host/run' top --interval 200; echo \$? > '$tmp/top.rc'"
screen() { tmux -L $sock capture-pane -p > "$tmp/screen" 2> /dev/null; }
shows() { screen && grep -q "$1" "$tmp/screen"; }
check "top draws its header" eventually shows "vgpuctl top .* 3 active instances .*(q quits)"
check "top lists the xe instance" eventually shows "^0000:05:00.0  xe-default  *sriov .* $U_XE\$"
check "top shows QoS" shows "^0000:05:00.0 .* 3000  *high  *-  *-  $U_XE"
check "top shows fixed weight" shows " 4  *-  $U_GVT"
# the interrupt rate follows the counter. top shows the rate between two
# frames, so a counter that rose once shows for one frame only (200 ms),
# which a poll on a loaded machine can miss: the counter keeps rising
# (each file whole, renamed into place) until a frame shows it
(
	n=100003
	while [ ! -e "$tmp/irq.stop" ]; do
		n=$((n + 1000))
		printf '           CPU0       CPU1\n %s:     %s          4   %s\n' \
			150 $n "IR-PCI-MSIX-0000:05:01.0    0-edge      vfio-msix[0](0000:05:01.0)" \
			> "$host/proc/interrupts.new"
		mv "$host/proc/interrupts.new" "$host/proc/interrupts"
		sleep 0.05
	done
) &
irqpid=$!
pids="$pids $irqpid"
irq_rate_up() { screen && awk -v u="$U_XE" '$NF == u && $6 ~ /^[0-9]+$/ && $6 > 0 { f = 1 } END { exit !f }' "$tmp/screen"; }
check "top computes the interrupt rate" eventually irq_rate_up
touch "$tmp/irq.stop"
wait $irqpid
tmux -L $sock send-keys q
check "top quits on q" eventually [ -s "$tmp/top.rc" ]
check "top exits 0" [ "$(cat "$tmp/top.rc" 2> /dev/null)" = 0 ]
expect 0 v top --batch --iterations 2 --interval 50
check "top --batch prints frames" [ "$(grep -c "^vgpuctl top" "$tmp/out")" = 2 ]
check "top --batch: no escape sequences" bash -c "! grep -q $'\033' '$tmp/out'"
expect 2 v top --interval 10
expect 2 v top --iterations 0
expect 2 v top --json
expect 2 v top extra

echo "$passed passed, $failed failed"
[ $failed = 0 ]
