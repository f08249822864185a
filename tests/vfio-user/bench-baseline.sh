#!/bin/sh
# The vfio-user round trip and DMA_MAP/DMA_UNMAP against libvgpu 0.1, in the
# same run: bench-baseline (built against the 0.1 API only) runs in turns
# with LD_LIBRARY_PATH on the 0.1 library (built once from the repository's
# history, cached like the abi-baseline test's) and on this build's
# library, SLICES times each, the order alternating; the medians of both
# and their ratio are printed (ratio > 1: the current library is slower),
# and the median of the slices' own processor-time ratios (each slice runs
# the two libraries back to back, so a machine whose speed drifts over the
# run moves both sides of that ratio alike).
# usage: bench-baseline.sh BENCH-BINARY BUILD-LIBDIR SOURCE-ROOT [SLICES]
# exit: 0, 1 when a run fails, 77 when the 0.1 library cannot be built here
set -eu
bench=$1 libdir=$2 src=$3 slices=${4:-9}
skip() { echo "skip: $*"; exit 77; }
. "$(dirname "$0")/../abi-baseline-build.sh"
abi_baseline_build "$src"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # $1: label, $2: library directory
	LD_LIBRARY_PATH=$2 "$bench" > "$out/run" ||
		{ echo "FAIL: bench-baseline against $2"; cat "$out/run"; exit 1; }
	grep -q "^lib $2/" "$out/run" ||
		{ echo "FAIL: the dynamic linker did not take $2:"; head -1 "$out/run"; exit 1; }
	sed "s/^/$1 $i /" "$out/run" >> "$out/all"
}
i=0
while [ $i -lt "$slices" ]; do
	if [ $((i % 2)) -eq 0 ]; then
		run old "$baseline_dir"; run new "$libdir"
	else
		run new "$libdir"; run old "$baseline_dir"
	fi
	i=$((i + 1))
done

echo "libvgpu $baseline_version ($baseline_commit, $baseline_dir) against this build ($libdir)"
echo "ns per operation, median of $slices runs each (alternating); wall clock, and the"
echo "processor time of client and provider (steadier on a loaded machine); ratio > 1: slower now;"
echo "paired: the median of each slice's processor-time ratio (the two runs of a slice back to back)"
printf '%-20s %9s %9s %6s %9s %9s %6s %7s\n' workload "wall $baseline_version" current ratio \
	"cpu $baseline_version" current ratio paired
awk '
	$3 == "lib" { next }
	!($3 in seen) { seen[$3] = 1; order[++names] = $3 }
	{
		n = ++count[$1, $3]; wall[$1, $3, n] = $4; cpu[$1, $3, n] = $5
		slice[$1, $3, $2] = $5
	}
	function paired(name,    i, n, a, j, t) {
		n = 0
		for (i = 0; (("old", name, i) in slice) && (("new", name, i) in slice); i++)
			a[++n] = slice["new", name, i] / slice["old", name, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function median(v, who, name,    n, i, j, t, a) {
		n = count[who, name]
		for (i = 1; i <= n; i++) a[i] = v == "wall" ? wall[who, name, i] : cpu[who, name, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (k = 1; k <= names; k++) {
			x = order[k]
			ow = median("wall", "old", x); nw = median("wall", "new", x)
			oc = median("cpu", "old", x); nc = median("cpu", "new", x)
			printf "%-20s %9.0f %9.0f %6.2f %9.0f %9.0f %6.2f %7.3f\n", x, ow, nw, nw / ow, oc, nc, nc / oc, paired(x)
		}
	}' "$out/all"
