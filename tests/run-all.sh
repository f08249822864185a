#!/bin/sh
# The whole test suite, as CI runs it: every suite in ./build (unit, fake,
# sriov, abi, the mdevctl differential test, the real-kernel VM test), the
# Check suites again under valgrind, then everything but the VM again in an
# AddressSanitizer + UndefinedBehaviorSanitizer build (./build-asan).
# Run as root from anywhere; suites that need root, FUSE, KVM-less QEMU or
# the network say "skip" where those are missing.
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build
ninja -C build
echo "=== all suites"
meson test -C build --print-errorlogs
echo "=== under valgrind"
meson test -C build --setup valgrind --print-errorlogs --suite unit --suite sriov --suite fake --suite vfio-user
echo "=== AddressSanitizer + UndefinedBehaviorSanitizer"
[ -f build-asan/build.ninja ] ||
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=disabled
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --no-suite bench
echo "=== all test runs passed"
