#!/bin/sh
# Bounded libFuzzer run of the vfio-user message parser (CI: a minute).
# usage: tests/fuzz/run-fuzz.sh [seconds]   (needs clang)
set -eu
secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build-fuzz"
if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" "$top" >/dev/null
fi
ninja -C "$build" tests/vfio-user/fuzz-vfio-user >/dev/null
corpus="$build/fuzz-corpus"
mkdir -p "$corpus"
exec "$build/tests/vfio-user/fuzz-vfio-user" -max_total_time="$secs" \
	-max_len=4096 -timeout=10 "$corpus"
