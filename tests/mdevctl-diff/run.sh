#!/bin/bash
# Differential test: run the same command lines through the real mdevctl and
# through a candidate (our `vgpuctl` personality) against identical fake
# sysfs + /etc/mdevctl.d trees, each in a private mount namespace where the
# tree is bind-mounted over /sys and /etc/mdevctl.d.  Compares stdout,
# stderr, exit status and the resulting tree byte for byte.
#
# usage: run.sh [--ref PROG] [--ref-libc DIR] [--cand PROG] [--cand-env K=V]
#               [--fakesysfs PROG] [--keep] [--verbose] [SCENARIO...]
#   --ref PROG       reference mdevctl (default /usr/bin/mdevctl)
#   --ref-libc DIR   run the reference through DIR/ld-linux-x86-64.so.2 with
#                    DIR as its library path (a newer Debian's mdevctl with
#                    that Debian's libc, unpacked; see fetch-mdevctl.sh)
#   --ref-fetch DIR  fetch Debian 12's mdevctl 1.2 and unstable's 1.4 into
#                    the cache DIR (fetch-mdevctl.sh) and use 1.4 as the
#                    reference; skip (77) when the archive cannot be reached
#   --cand-env K=V   environment of the candidate (repeatable), e.g.
#                    VGPU_MDEVCTL_COMPAT=1.2
#   --cand PROG      candidate; invoked through symlinks named mdevctl/lsmdev
#                    (default: the reference itself, to debug the harness)
#   --fakesysfs PROG vgpu-fakesysfs daemon, enables @kernel cases: each side
#                    then runs on the FUSE mount of its tree copy, so writes
#                    to create/remove behave like the kernel's (the instance
#                    appears / disappears); the backing tree is compared
# A case is "[@kernel] [@without PATH]... STEP [;; STEP]...": @without
# removes PATH (relative to the tree) from both copies before the steps.
# The host's own /etc/mdevctl.d and /usr/lib/mdevctl are never used (the
# tree's are mounted over them, an empty directory where the tree has none)
# and must be unchanged at the end.
# Exit: 0 all passed, 1 a difference, 77 prerequisites missing (skip).
set -u
# the references are Rust programs: no backtraces in their error messages
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
HERE=$(cd "$(dirname "$0")" && pwd)
REF=/usr/bin/mdevctl
REF_LIBC=
REF_VERSION=
CAND_ENV=()
CAND=
FAKESYSFS=
KEEP=0
VERBOSE=0
SCEN=()
while [ $# -gt 0 ]; do
	case $1 in
	--ref) REF=$2; shift 2 ;;
	--ref-libc) REF_LIBC=$2; shift 2 ;;
	--ref-fetch)
		"$HERE/fetch-mdevctl.sh" "$2" > /dev/null || exit $?
		# shellcheck disable=SC1091
		. "$2/current"
		REF=$MDEVCTL_14 REF_LIBC=$LIBC_14 REF_VERSION=1.4
		shift 2 ;;
	--cand-env) CAND_ENV+=("$2"); shift 2 ;;
	--cand) CAND=$2; shift 2 ;;
	--fakesysfs) FAKESYSFS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--verbose|-v) VERBOSE=1; shift ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) SCEN+=("$1"); shift ;;
	esac
done
[ -n "$CAND" ] || CAND=$REF

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (mount namespaces, bind mounts)"
command -v unshare >/dev/null || skip "unshare(1) not found"
[ -x "$REF" ] || skip "reference mdevctl $REF not found"
[ -x "$CAND" ] || skip "candidate $CAND not found"
[ -d /etc/mdevctl.d ] || skip "/etc/mdevctl.d missing (mount point)"
unshare -m true 2>/dev/null || skip "cannot create a mount namespace"
if [ -n "$FAKESYSFS" ] && { [ ! -x "$FAKESYSFS" ] || ! command -v mountpoint >/dev/null; }; then FAKESYSFS=; fi

WORK=$(mktemp -d /tmp/mdevctl-diff.XXXXXX)
[ $KEEP = 1 ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin-ref" "$WORK/bin-cand"
# PROG as mdevctl and lsmdev in DIR (by argv[0], like Debian's symlinks)
install_as() {
	local dir=$1 prog=$2 name; shift 2
	for name in mdevctl lsmdev; do
		if [ $# -eq 0 ]; then
			ln -s "$(readlink -f "$prog")" "$dir/$name"
		else
			printf '#!/bin/bash\nexec %s "$@"\n' "$(printf '%q ' "$@" | sed "s/@NAME@/$name/g")" > "$dir/$name"
			chmod +x "$dir/$name"
		fi
	done
}
if [ -n "$REF_LIBC" ]; then
	[ -x "$REF_LIBC/ld-linux-x86-64.so.2" ] || skip "no loader in $REF_LIBC"
	install_as "$WORK/bin-ref" "$REF" "$REF_LIBC/ld-linux-x86-64.so.2" --argv0 @NAME@ \
		--library-path "$REF_LIBC" "$(readlink -f "$REF")"
else
	install_as "$WORK/bin-ref" "$REF"
fi
if [ ${#CAND_ENV[@]} -gt 0 ]; then
	install_as "$WORK/bin-cand" "$CAND" env "${CAND_ENV[@]}" bash -c 'exec -a "$0" "$@"' @NAME@ "$(readlink -f "$CAND")"
else
	install_as "$WORK/bin-cand" "$CAND"
fi

UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# the reference's version (1.2, 1.4): scenarios may say REQUIRES=1.4
# (1.4 does not even say its version without /usr/lib/mdevctl: --ref-fetch
# knows it)
[ -n "$REF_VERSION" ] || REF_VERSION=$("$WORK/bin-ref/mdevctl" --version 2> /dev/null |
	sed -n 's/^mdevctl \([0-9]*\.[0-9]*\).*/\1/p')

# run_step BINDIR TREE OUTDIR STEP
run_step() {
	local bin=$1 tree=$2 out=$3 step=$4 rc
	unshare -m --propagation private /bin/bash -c '
		mount --bind "$1/sys" /sys && mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d || exit 125
		# mdevctl >= 1.4 also needs /usr/lib/mdevctl/scripts.d/callouts:
		# the tree brings its own, over an overlay where the host has none
		if [ -d "$1/usr/lib/mdevctl" ]; then
			if [ ! -d /usr/lib/mdevctl ]; then
				mkdir -p "$1.ovl/u" "$1.ovl/w"
				mount -t overlay overlay -o lowerdir=/usr/lib,upperdir="$1.ovl/u",workdir="$1.ovl/w" /usr/lib &&
					mkdir -p /usr/lib/mdevctl || exit 125
			fi
			mount --bind "$1/usr/lib/mdevctl" /usr/lib/mdevctl || exit 125
		elif [ -d /usr/lib/mdevctl ]; then
			# the host has one, this tree has none: hide it
			mount -t tmpfs -o mode=0755 none /usr/lib/mdevctl || exit 125
		fi
		bin=$2; eval "set -- $3"
		cmd=$1; shift
		# as libvirtd runs it: with SIGPIPE ignored (scripts must not
		# inherit that)
		trap "" PIPE
		cd / && exec "$bin/$cmd" "$@"' run_step "$tree" "$bin" "$step" \
		>>"$out/stdout" 2>>"$out/stderr" </dev/null
	rc=$?
	echo "rc=$rc" >>"$out/status"
}

# Replace UUIDs that appeared only in stdout (random ones from define/start
# without -u) by RANDOM<n>, in stdout, stderr (what callout scripts relay)
# and in the tree (names, contents and symlink targets).
normalize() {
	local out=$1 tree=$2 known=$3 n=0 u
	sed -i -E 's/^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z /[TIMESTAMP /' "$out/stderr"
	for u in $(grep -oE "$UUID_RE" "$out/stdout" | sort -u); do
		grep -qx "$u" "$known" && continue
		n=$((n + 1))
		sed -i "s/$u/RANDOM$n/g" "$out/stdout" "$out/stderr"
		grep -rlF "$u" "$tree" 2>/dev/null | xargs -r sed -i "s/$u/RANDOM$n/g"
		find "$tree" -type l -lname "*$u*" | while read -r f; do
			ln -sfn "$(readlink "$f" | sed "s/$u/RANDOM$n/g")" "$f"
		done
		find "$tree" -depth -name "$u" | while read -r f; do
			mv "$f" "$(dirname "$f")/RANDOM$n"
		done
	done
	# a listing of names, types, modes and link targets (diff -r does not
	# compare modes, and does not see empty dirs consistently)
	(cd "$tree" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort) >"$out/layout"
}

# fake_mount BACKING MNT LOG: serve BACKING through vgpu-fakesysfs on MNT
# (kernel behaviour for create/remove); sets FAKE_PID
fake_mount() {
	local i
	mkdir -p "$2"
	"$FAKESYSFS" "$1" "$2" -f 2>>"$3" &
	FAKE_PID=$!
	for i in $(seq 100); do
		mountpoint -q "$2" && return 0
		kill -0 $FAKE_PID 2>/dev/null || return 1
		sleep 0.1
	done
	kill $FAKE_PID; wait $FAKE_PID
	return 1
}

fake_umount() {
	umount "$1" && wait $FAKE_PID
}

PASS=0 FAIL=0 SKIPPED=0
FAILED=()
declare -a CASES

run_case() {
	local scen=$1 idx=$2 spec=$3 needs_kernel=0 without=()
	while :; do
		case $spec in
		"@kernel "*) needs_kernel=1; spec=${spec#@kernel } ;;
		"@without "*)
			spec=${spec#@without }
			without+=("${spec%% *}"); spec=${spec#* } ;;
		*) break ;;
		esac
	done
	local name="$scen#$idx: $spec"
	if [ $needs_kernel = 1 ] && [ -z "$FAKESYSFS" ]; then
		echo "SKIP $name (needs vgpu-fakesysfs)"
		SKIPPED=$((SKIPPED + 1)); return
	fi
	local d="$WORK/$scen/$idx" side
	for side in ref cand; do
		mkdir -p "$d/$side"
		cp -a "$WORK/$scen/tree" "$d/$side/tree"
		local w
		for w in "${without[@]}"; do rm -rf "${d:?}/$side/tree/$w"; done
		: >"$d/$side/stdout"; : >"$d/$side/stderr"; : >"$d/$side/status"
		local step rest=$spec root="$d/$side/tree"
		if [ $needs_kernel = 1 ]; then
			root="$d/$side/mnt"
			if ! fake_mount "$d/$side/tree" "$root" "$d/$side/fakesysfs.log"; then
				FAIL=$((FAIL + 1)); FAILED+=("$name")
				echo "FAIL $name (vgpu-fakesysfs did not mount)"
				return
			fi
		fi
		while :; do
			step=${rest%% ;; *}
			run_step "$WORK/bin-$side" "$root" "$d/$side" "$step"
			[ "$step" = "$rest" ] && break
			rest=${rest#* ;; }
		done
		[ $needs_kernel = 0 ] || fake_umount "$root"
		normalize "$d/$side" "$d/$side/tree" "$WORK/$scen/known"
	done
	local diffs=""
	# 125: the harness could not set up the namespace, nothing was compared
	grep -qx 'rc=125' "$d/ref/status" "$d/cand/status" && diffs+=" harness(rc=125)"
	for f in status stdout stderr layout; do
		cmp -s "$d/ref/$f" "$d/cand/$f" || diffs+=" $f"
	done
	diff -r --no-dereference "$d/ref/tree" "$d/cand/tree" >"$d/tree.diff" 2>&1 || diffs+=" tree"
	if [ -z "$diffs" ]; then
		PASS=$((PASS + 1))
		[ $VERBOSE = 0 ] || echo "PASS $name"
	else
		FAIL=$((FAIL + 1)); FAILED+=("$name")
		echo "FAIL $name (differs:$diffs)"
		for f in status stdout stderr layout; do
			diff -u --label "mdevctl/$f" --label "candidate/$f" \
				"$d/ref/$f" "$d/cand/$f" | head -40 | sed 's/^/    /'
		done
		head -40 "$d/tree.diff" | sed 's/^/    /'
	fi
}

# the host's own mdevctl directories, to check they are left alone
host_state() {
	find /etc/mdevctl.d /usr/lib/mdevctl -printf '%p %y %m %s %T@ %l\n' 2>/dev/null | LC_ALL=C sort
}
host_state >"$WORK/host.before"

[ ${#SCEN[@]} -gt 0 ] || SCEN=($(cd "$HERE/scenarios" && ls *.sh | sed 's/\.sh$//'))
for scen in "${SCEN[@]}"; do
	(
		CASES=()
		REQUIRES=
		TREE="$WORK/$scen/tree"
		mkdir -p "$TREE"
		source "$HERE/lib.sh"
		source "$HERE/scenarios/$scen.sh"
		if [ -n "$REQUIRES" ] && [ "$REQUIRES" != "$REF_VERSION" ]; then
			echo "SKIP $scen (needs mdevctl $REQUIRES, the reference is ${REF_VERSION:-unknown})"
			echo "0 0 ${#CASES[@]}" > "$WORK/$scen/result"
			exit 0
		fi
		init_tree
		build
		{ find "$TREE" -printf '%f\n'; printf '%s\n' "${CASES[@]}"; } |
			grep -oE "$UUID_RE" | sort -u >"$WORK/$scen/known"
		i=0
		for c in "${CASES[@]}"; do
			i=$((i + 1))
			run_case "$scen" "$i" "$c"
		done
		echo "$PASS $FAIL $SKIPPED" >"$WORK/$scen/result"
		[ ${#FAILED[@]} -eq 0 ] || printf '%s\n' "${FAILED[@]}" >"$WORK/$scen/failed"
	)
done

TP=0 TF=0 TS=0
for scen in "${SCEN[@]}"; do
	[ -f "$WORK/$scen/result" ] || { TF=$((TF + 1)); echo "scenario $scen did not run"; continue; }
	read -r p f s <"$WORK/$scen/result"
	TP=$((TP + p)); TF=$((TF + f)); TS=$((TS + s))
done
host_state >"$WORK/host.after"
if ! cmp -s "$WORK/host.before" "$WORK/host.after"; then
	echo "FAIL the host's /etc/mdevctl.d or /usr/lib/mdevctl changed:"
	diff -u "$WORK/host.before" "$WORK/host.after" | head -20 | sed 's/^/    /'
	TF=$((TF + 1))
fi
echo "mdevctl-diff: $TP passed, $TF failed, $TS skipped (candidate: $CAND)"
[ $KEEP = 0 ] || echo "work dir kept: $WORK"
[ $TF = 0 ]
