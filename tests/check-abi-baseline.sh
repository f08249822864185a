#!/bin/sh
# ABI check against a released baseline: build the library of the commit
# named in lib/abi-baseline (once, cached outside the build tree) and compare
# it with the freshly built one with libabigail's abidiff. Additions are
# allowed (they go in a new version node), and so are members added at the
# end of the size-prefixed structures listed in lib/abi-growable.abignore;
# anything else removed or changed in an exported function, variable or type
# fails.
# usage: check-abi-baseline.sh LIBRARY.so SOURCE-ROOT
# exit: 0 compatible, 1 incompatible or broken, 77 cannot run here (no
# abidiff, no git history with the baseline commit)
set -eu
lib=$1 src=$2
skip() { echo "skip: $*"; exit 77; }
command -v abidiff > /dev/null || skip "abidiff not installed (Debian: abigail-tools)"
. "$(dirname "$0")/abi-baseline-build.sh"
abi_baseline_build "$src"
version=$baseline_version commit=$baseline_commit cache=$baseline_dir

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set +e
abidiff --no-added-syms --suppressions "$src/lib/abi-growable.abignore" \
	--headers-dir1 "$cache/include" --headers-dir2 "$src/include" \
	"$cache/libvgpu.so.0" "$lib" > "$tmp/report" 2>&1
rc=$?
set -e
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change. With added symbols left out of the report, a change
# that remains is a change to something that already existed.
if [ $((rc & 3)) -ne 0 ]; then
	echo "FAIL: abidiff could not compare (status $rc):"; cat "$tmp/report"; exit 1
fi
if [ $((rc & 12)) -ne 0 ] && grep -Eq '[1-9][0-9]* (Removed|Changed)' "$tmp/report"; then
	echo "FAIL: the ABI of $version ($commit) changed:"; cat "$tmp/report"; exit 1
fi
echo "ABI compatible with $version ($commit)"
sed -n '1,6p' "$tmp/report"
