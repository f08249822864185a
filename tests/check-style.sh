#!/bin/sh
# Style check: every C source and header of the tree is formatted as
# .clang-format at the top of the tree says (clang-format --dry-run
# --Werror). Fix a failure with: clang-format -i FILE...
# usage: check-style.sh SOURCE-ROOT
# exit: 0 formatted, 1 not, 77 no clang-format here
set -eu
cd "$1"
command -v clang-format > /dev/null ||
	{ echo "skip: clang-format not installed (Debian: clang-format)"; exit 77; }
if [ -d .git ] || [ -f .git ]; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find lib include backends tools tests -name '*.[ch]' | sort)
fi
# shellcheck disable=SC2086
if ! clang-format --dry-run --Werror $files 2> "${TMPDIR:-/tmp}/vgpu-style.$$"; then
	grep -E '^[^ ].*: (error|warning):' "${TMPDIR:-/tmp}/vgpu-style.$$" | head -40
	echo "FAIL: $(grep -cE ': (error|warning):' "${TMPDIR:-/tmp}/vgpu-style.$$") places differ from .clang-format (clang-format -i FILE... mends them)"
	rm -f "${TMPDIR:-/tmp}/vgpu-style.$$"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/vgpu-style.$$"
echo "$(echo "$files" | wc -l) files formatted as .clang-format says"
