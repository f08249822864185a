#!/bin/sh
# The whole test suite, as CI runs it: every suite in ./build (unit, fake,
# sriov, abi, the mdevctl differential test, the real-kernel VM test, the
# libvirt suite: Debian's libvirtd driving vgpuctl-as-mdevctl), the
# Check suites again under valgrind, then everything but the VM again in an
# AddressSanitizer + UndefinedBehaviorSanitizer build (./build-asan), then
# a bounded libFuzzer run of the vfio-user parsers (./build-fuzz, clang;
# VGPU_FUZZ_SECONDS, default 60) where clang and libFuzzer are installed.
# Run as root from anywhere; suites that need root, FUSE, KVM-less QEMU or
# the network say "skip" where those are missing.
set -eu
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
# add the results of the last meson test run in build dir $1
tally() {
	set -- $(python3 -c '
import json, sys
c = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    k = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    c[k] += 1
print(c["OK"], c["FAIL"], c["SKIP"])' "$1/meson-logs/testlog${2:-}.json")
	passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
}
[ -f build/build.ninja ] || meson setup build
ninja -C build
echo "=== all suites"
meson test -C build --print-errorlogs
tally build
echo "=== under valgrind"
meson test -C build --setup valgrind --print-errorlogs --suite unit --suite sriov --suite fake --suite vfio-user --suite display
tally build -valgrind
echo "=== AddressSanitizer + UndefinedBehaviorSanitizer"
[ -f build-asan/build.ninja ] ||
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=disabled
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --no-suite bench
tally build-asan
echo "=== libFuzzer: vfio-user message and control parsers"
if command -v clang > /dev/null &&
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return 0; }\n' |
	clang -x c -fsanitize=fuzzer -o /dev/null - 2> /dev/null; then
	tests/fuzz/run-fuzz.sh "${VGPU_FUZZ_SECONDS:-60}" > "${TMPDIR:-/tmp}/vgpu-fuzz.log" 2>&1 ||
		{ tail -40 "${TMPDIR:-/tmp}/vgpu-fuzz.log"; exit 1; }
	tail -1 "${TMPDIR:-/tmp}/vgpu-fuzz.log"
	passed=$((passed + 1))
else
	skipped=$((skipped + 1))
	echo "skip: no clang with libFuzzer (Debian: clang libclang-rt-14-dev)"
fi
echo "=== all test runs passed"
echo "run-all: $passed passed, $failed failed, $skipped skipped"
