#!/bin/sh
# Bounded libFuzzer runs (CI: a minute in all), half the time each:
#  - fuzz-vfio-user: the wire parsers, one message at a time;
#  - fuzz-provider: message sequences with fds to a provider, reaching the
#    dispatcher and the handlers; at the end, the share of lib/provider's
#    functions the run reached (libFuzzer's -print_coverage).
# The library is built instrumented (-fsanitize=fuzzer-no-link, ASan and
# UBSan) in ./build-fuzz; corpora stay there between runs.
# usage: tests/fuzz/run-fuzz.sh [seconds]   (needs clang)
set -eu
secs=${1:-60}
half=$((secs / 2))
[ "$half" -ge 5 ] || half=5
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build-fuzz"
opts="-Dc_args=-fsanitize=fuzzer-no-link -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=disabled"
if [ ! -d "$build" ]; then
	# shellcheck disable=SC2086
	CC=clang meson setup "$build" "$top" $opts >/dev/null
else
	# shellcheck disable=SC2086
	meson configure "$build" $opts >/dev/null
fi
ninja -C "$build" tests/vfio-user/fuzz-vfio-user \
	tests/vfio-user/fuzz-provider >/dev/null
for target in fuzz-vfio-user fuzz-provider; do
	corpus="$build/corpus-$target"
	mkdir -p "$corpus"
	seeds=
	# fuzz-provider writes its seed sequences into an empty corpus
	[ "$target" = fuzz-provider ] && [ -z "$(ls -A "$corpus")" ] &&
		seeds=$corpus
	log="$build/$target.log"
	echo "$target: ${half}s"
	# fd leaks are findings too: the provider's fds are bounded
	if ! VGPU_FUZZ_SEEDS=$seeds "$build/tests/vfio-user/$target" -max_total_time="$half" \
		-max_len=4096 -timeout=20 -rss_limit_mb=4096 \
		-print_coverage=1 "$corpus" > "$log" 2>&1; then
		tail -60 "$log"
		exit 1
	fi
	grep -E '^(#[0-9]+ *DONE|Done)' "$log" | tail -1 || true
done
# lib/provider functions reached by the provider target
cov=$(grep -E '^(UN)?COVERED_FUNC: .*lib/provider/' \
	"$build/fuzz-provider.log" || true)
hit=$(printf '%s\n' "$cov" | grep -c '^COVERED_FUNC' || true)
all=$(printf '%s\n' "$cov" | grep -c 'COVERED_FUNC' || true)
echo "fuzz-provider: $hit of $all lib/provider functions reached"
