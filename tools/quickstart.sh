#!/bin/sh
# Set up and run: install the Debian packages, build into ./build, then walk
# the whole mdev lifecycle with vgpuctl on a demo host. Run as root from the
# source tree.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
exec tools/demo.sh build
