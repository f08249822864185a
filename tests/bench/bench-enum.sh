#!/bin/sh
# bench-enum.sh MKHOST BENCH-ENUM [ROUNDS]: the in-process enumeration
# benchmark at two host sizes, so that the growth is visible too.
set -eu
mkhost=$1 bench=$2 rounds=${3:-20}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for size in "64 16 1024" "256 16 4096"; do
	set -- $size
	echo "host: $1 parents x $2 types, $3 instances and definitions"
	"$mkhost" "$tmp/h$1" "$1" "$2" "$3"
	"$bench" "$tmp/h$1" "$rounds"
done
