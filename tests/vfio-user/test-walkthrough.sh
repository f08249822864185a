#!/bin/sh
# The README's vgpu-sim walkthrough, exactly as tools/demo.sh runs it
# (tools/vgpu-sim-walkthrough.sh), non-interactively; then the screenshot
# is decoded with libpng and compared with the demo's test picture.
# usage: test-walkthrough.sh BUILD-DIR SOURCE-DIR PNG-CHECK
set -eu
build=$1 src=$2 check=$3
work=$(mktemp -d /tmp/vgpu-walkthrough.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$src/tools/vgpu-sim-walkthrough.sh" "$build" "$work/w"
"$check" "$work/w/frame.png"
