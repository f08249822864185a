#!/bin/bash
# Whole-process cost of `vgpuctl list` / `vgpuctl types` against Debian's
# mdevctl 1.2 on the same synthetic hosts, in the same run, with the cost of
# spawning a process that does nothing as the floor, and the number of
# system calls each tool makes (strace -c -f, where strace is installed);
# `vgpuctl --version` shows what starting vgpuctl costs.
# Two host sizes show how the cost grows; the larger one has 256 parents x
# 16 types, 4,096 active and 1,024 defined instances. Times are medians.
# mdevctl has no root option, so both tools run inside a private mount
# namespace with the synthetic tree over /sys (needs root; without it, or
# without mdevctl, only vgpuctl is measured).
#   bench-cli.sh MKHOST VGPUCTL RUN-TIMED [ROUNDS]
set -eu
# the decimal point of awk
export LC_ALL=C
mkhost=$1 vgpuctl=$2 timer=$3 rounds=${4:-9}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_mdevctl=0
if command -v mdevctl > /dev/null && [ "$(id -u)" = 0 ] &&
	unshare -m true 2> /dev/null && [ -d /etc/mdevctl.d ]; then
	have_mdevctl=1
else
	echo "note: mdevctl comparison needs root, unshare and Debian's mdevctl; measuring vgpuctl only"
fi

# one run of "$@": "wall-ms cpu-ms", the command started without a fork of
# this shell (run-timed.c: bash's fork and `time` cost more than /bin/true
# itself on a small VM), wall-clock time to the microsecond and CPU time
# (user + system of all its threads), which a loaded machine disturbs less
one_run() {
	"$timer" "$@" || true
}
# the median of a column of numbers
median() {
	sort -n | awk '{ v[NR] = $1 }
		END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# one measurement: the medians of $rounds runs, "wall-ms cpu-ms"
measure() {
	local i
	"$@" > /dev/null 2>&1 || true
	for ((i = 0; i < rounds; i++)); do
		one_run "$@"
	done > "$tmp/runs"
	echo "$(cut -d' ' -f1 "$tmp/runs" | median) $(cut -d' ' -f2 "$tmp/runs" | median)"
}
# the two tools on one verb, their runs interleaved (ABBA: vgpuctl, mdevctl,
# mdevctl, vgpuctl, ...) so that both see the same load on a shared
# machine: "vgpuctl-wall vgpuctl-cpu mdevctl-wall mdevctl-cpu", medians
measure_pair() {
	local verb=$1 vgpuctl=$2 i
	"$vgpuctl" mdevctl $verb > /dev/null 2>&1 || true
	mdevctl $verb > /dev/null 2>&1 || true
	: > "$tmp/runs-0"
	: > "$tmp/runs-1"
	for ((i = 0; i < 2 * rounds; i++)); do
		# 0 1 1 0 0 1 1 0 ...: which tool runs now
		if [ $(( (i + i / 2) % 2 )) = 0 ]; then
			one_run "$vgpuctl" mdevctl $verb >> "$tmp/runs-0"
		else
			one_run mdevctl $verb >> "$tmp/runs-1"
		fi
	done
	echo "$(cut -d' ' -f1 "$tmp/runs-0" | median) $(cut -d' ' -f2 "$tmp/runs-0" | median)" \
		"$(cut -d' ' -f1 "$tmp/runs-1" | median) $(cut -d' ' -f2 "$tmp/runs-1" | median)"
}
# the number of system calls of one run (whole process tree), or "-"
syscalls() {
	local f
	command -v strace > /dev/null || { echo -; return; }
	f=$(mktemp)
	strace -f -c -o "$f" "$@" > /dev/null 2>&1 || true
	awk '$NF == "total" { print $4 }' "$f" | tail -n1
	rm -f "$f"
}
export -f one_run median measure measure_pair syscalls

run_size() {
	local np=$1 nt=$2 ni=$3 nd=$4 host=$tmp/host-$1
	"$mkhost" "$host" "$np" "$nt" "$ni" "$nd"
	mkdir -p "$host/etc/mdevctl.d/scripts.d/callouts" "$host/etc/mdevctl.d/scripts.d/notifiers"
	echo "host: $np parents x $nt types, $ni active and $nd defined instances, median of $rounds runs"
	if [ $have_mdevctl = 1 ]; then
		# mdevctl here is Debian 12's 1.2: the personality is pinned to it
		VGPU_MDEVCTL_COMPAT=1.2 rounds=$rounds unshare -m bash -c '
			set -eu
			mount --bind "$1/sys" /sys
			mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d
			read -r floor floorcpu <<< "$(measure /bin/true)"
			printf "  %-22s %9s ms (cpu %s ms)\n" "floor (true)" "$floor" "$floorcpu"
			# what starting vgpuctl costs: loading, relocation, nothing read
			read -r start startcpu <<< "$(measure "$2" --version)"
			printf "  %-22s %9s ms (cpu %s ms)  %s system calls\n" "vgpuctl --version" \
				"$start" "$startcpu" "$(syscalls "$2" --version)"
			for verb in list types; do
				# the same command line through the mdevctl personality,
				# interleaved with the runs of mdevctl
				read -r v vc m mc <<< "$(measure_pair $verb "$2")"
				# the same answer? (the personality is byte-identical)
				"$2" mdevctl $verb > "$3/v.out" 2>&1 || true
				mdevctl $verb > "$3/m.out" 2>&1 || true
				same=$(cmp -s "$3/v.out" "$3/m.out" && echo same || echo DIFFERENT)
				printf "  %-22s %9s ms   mdevctl %-6s %9s ms   mdevctl/vgpuctl %6.1fx  (mdevctl-format output: %s)\n" \
					"vgpuctl mdevctl $verb" "$v" "$verb" "$m" "$(echo "scale=3; $m / $v" | bc)" "$same"
				printf "  %-22s %9s ms cpu     mdevctl %-6s %9s ms cpu  mdevctl/vgpuctl %6.1fx\n" \
					"" "$vc" "$verb" "$mc" "$(echo "scale=3; $mc / $vc" | bc)"
				printf "  %-22s %9s system calls   mdevctl %9s system calls\n" \
					"" "$(syscalls "$2" mdevctl $verb)" "$(syscalls mdevctl $verb)"
				echo "$verb $v" >> "$3/costs-'"$np"'"
			done
		' bench "$host" "$vgpuctl" "$tmp"
	else
		read -r floor floorcpu <<< "$(measure /bin/true)"
		printf "  %-22s %9s ms (cpu %s ms)\n" "floor (true)" "$floor" "$floorcpu"
		read -r start startcpu <<< "$(measure "$vgpuctl" --version)"
		printf "  %-22s %9s ms (cpu %s ms)\n" "vgpuctl --version" "$start" "$startcpu"
		for verb in list types; do
			read -r v vc <<< "$(measure "$vgpuctl" --sysfs-root "$host/sys" --config-dir "$host/etc/mdevctl.d" $verb)"
			printf "  %-22s %9s ms\n" "vgpuctl $verb" "$v"
			echo "$verb $v" >> "$tmp/costs-$np"
		done
	fi
}
export rounds tmp timer

run_size 64 16 1024 256
run_size 256 16 4096 1024
echo "growth from 1,024 to 4,096 instances (4x the host; linear means about 4x):"
for verb in list types; do
	small=$(awk -v v=$verb '$1 == v { print $2 }' "$tmp/costs-64")
	large=$(awk -v v=$verb '$1 == v { print $2 }' "$tmp/costs-256")
	printf "  vgpuctl %-6s %6.2fx\n" "$verb" "$(echo "scale=3; $large / $small" | bc)"
done
