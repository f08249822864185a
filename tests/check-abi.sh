#!/bin/sh
# ABI check: the exported symbols of the shared library, the version script
# and the functions declared in the public headers must be the same set, and
# every public header must compile on its own as C99 -pedantic and as C++.
# usage: check-abi.sh LIBRARY.so VERSION-SCRIPT INCLUDE-DIR CC [CXX]
set -eu
lib=$1 sym=$2 incdir=$3 cc=$4 cxx=${5:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' | sed 's/@.*//' |
	grep -v '^LIBVGPU_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(vgpu_[A-Za-z0-9_]*\);.*/\1/p' "$sym" | sort > "$tmp/script"
if [ "$(sort -u "$tmp/script" | wc -l)" != "$(wc -l < "$tmp/script")" ]; then
	echo "FAIL: symbols listed twice in $sym:"; sort "$tmp/script" | uniq -d
	fail=1
fi
# a declaration: a line that starts a prototype "type name(" at column 0
cat "$incdir"/*.h | grep -E '^[A-Za-z_].*[ *](vgpu_[A-Za-z0-9_]+)\(' |
	grep -v '^typedef' | sed -E 's/.*[ *](vgpu_[A-Za-z0-9_]+)\(.*/\1/' |
	sort -u > "$tmp/declared"

for pair in "exported script" "script declared" "exported declared"; do
	set -- $pair
	if ! diff -u "$tmp/$1" "$tmp/$2" > "$tmp/diff"; then
		echo "FAIL: $1 and $2 symbols disagree:"
		cat "$tmp/diff"
		fail=1
	fi
done
n=$(wc -l < "$tmp/exported")
[ "$n" -gt 0 ] || { echo "FAIL: no symbols exported"; fail=1; }

# every public function is documented where it is declared: a /** ... */
# block right before it that names it and says @since
if ! python3 - "$incdir"/*.h <<'EOP'
import re, sys
bad = 0
for h in sys.argv[1:]:
    s = open(h).read()
    for m in re.finditer(r'^[A-Za-z_][^;{}()]*?[ *](vgpu_[A-Za-z0-9_]+)\([^;{]*\);', s, re.M):
        if m.group(0).startswith('typedef'):
            continue
        before = s[:m.start()].rstrip()
        doc = before[before.rfind('/**'):] if before.endswith('*/') else ''
        if m.group(1) not in doc or '@since' not in doc:
            print('FAIL: %s: %s has no doc comment naming it with @since' % (h, m.group(1)))
            bad = 1
sys.exit(bad)
EOP
then
	fail=1
fi

for h in "$incdir"/*.h; do
	b=$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$b" "$b" > "$tmp/c.c"
	if ! "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -I"$incdir" -c "$tmp/c.c" -o "$tmp/c.o"; then
		echo "FAIL: $b does not compile as C99 -pedantic"; fail=1
	fi
	if [ -n "$cxx" ]; then
		cp "$tmp/c.c" "$tmp/cxx.cc"
		if ! "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -I"$incdir" -c "$tmp/cxx.cc" -o "$tmp/cxx.o"; then
			echo "FAIL: $b does not compile as C++"; fail=1
		fi
	fi
done
[ $fail = 0 ] && echo "ABI: $n symbols agree; headers compile as C99 and C++${cxx:+ ($cxx)}"
exit $fail
