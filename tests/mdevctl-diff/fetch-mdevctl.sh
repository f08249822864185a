#!/bin/bash
# tests/mdevctl-diff/fetch-mdevctl.sh CACHE_DIR
#
# Fetch the reference mdevctl binaries the differential test compares with,
# outside the build tree, without touching the system's apt state:
#   - mdevctl 1.2 from Debian 12 (bookworm), and
#   - mdevctl 1.4 from Debian unstable, with unstable's libc6, because the
#     1.4 binary needs a newer glibc than Debian 12's; it runs through
#     unstable's own dynamic loader.
# The archive is derived from the system's apt configuration; a private
# sources list and private lists/cache directories live in CACHE_DIR.
#
# On success prints shell assignments (MDEVCTL_12=..., MDEVCTL_14=...,
# LIBC_14=... the directory holding unstable's ld-linux-x86-64.so.2) and
# writes them to CACHE_DIR/current.  Exit 0 ready, 77 the archive cannot be
# reached and nothing is cached, 1 unexpected failure.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
CACHE=$1
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
skip() { echo "SKIP: $*" >&2; exit 77; }

exec 9>"$CACHE/.lock"
flock -w 600 9 || { echo "cannot lock $CACHE/.lock" >&2; exit 1; }

[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || skip "not an amd64 Debian host"

# the first Debian archive URI of the system's own configuration
mirror() {
	local f u
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		u=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
			grep -v -- '-security' | head -n1)
		[ -n "$u" ] && { echo "$u"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		u=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "$f" |
			grep -v -- '-security' | head -n1)
		[ -n "$u" ] && { echo "$u"; return; }
	done
}

fetch() {
	local m apt
	m=$(mirror)
	[ -n "$m" ] || return 1
	mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/debs"
	cat > "$CACHE/apt/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m unstable main
LIST
	apt=(apt-get -q -o Dir::Etc::SourceList="$CACHE/apt/sources.list"
		-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$CACHE/apt/lists"
		-o Dir::Cache="$CACHE/apt/cache" -o APT::Sandbox::User=root
		-o Debug::NoLocking=1)
	"${apt[@]}" update > "$CACHE/apt-update.log" 2>&1 || return 1
	rm -rf "$CACHE/debs.new"; mkdir -p "$CACHE/debs.new"
	(cd "$CACHE/debs.new" &&
		"${apt[@]}" download mdevctl/bookworm mdevctl/unstable libc6/unstable) \
		> "$CACHE/download.log" 2>&1 || return 1
	rm -rf "$CACHE/debs"; mv "$CACHE/debs.new" "$CACHE/debs"
}

unpack() {
	local d=$CACHE/debs f v
	rm -rf "$CACHE/root-1.2" "$CACHE/root-1.4"
	for f in "$d"/mdevctl_*.deb; do
		v=$(dpkg-deb -f "$f" Version)
		case $v in
		1.2.*) dpkg-deb -x "$f" "$CACHE/root-1.2" ;;
		1.4.*) dpkg-deb -x "$f" "$CACHE/root-1.4" ;;
		esac
	done
	dpkg-deb -x "$d"/libc6_*.deb "$CACHE/root-1.4"
	[ -x "$CACHE/root-1.2/usr/sbin/mdevctl" ] || [ -x "$CACHE/root-1.2/usr/bin/mdevctl" ] || return 1
	[ -x "$CACHE/root-1.4/usr/sbin/mdevctl" ] || [ -x "$CACHE/root-1.4/usr/bin/mdevctl" ] || return 1
	touch "$CACHE/.stamp"
}

# refresh at most once a day; otherwise use what is cached
if [ ! -f "$CACHE/.stamp" ] || [ -n "$(find "$CACHE/.stamp" -mmin +1440)" ]; then
	if fetch && unpack; then
		:
	elif [ ! -f "$CACHE/.stamp" ]; then
		tail -n 3 "$CACHE/apt-update.log" "$CACHE/download.log" 2>/dev/null >&2 || true
		skip "cannot fetch mdevctl 1.2/1.4 and libc6 from the Debian archive"
	fi
fi
bin() { for f in "$1/usr/sbin/mdevctl" "$1/usr/bin/mdevctl"; do [ -x "$f" ] && { echo "$f"; return; }; done; }
{
	echo "MDEVCTL_12=$(bin "$CACHE/root-1.2")"
	echo "MDEVCTL_14=$(bin "$CACHE/root-1.4")"
	echo "LIBC_14=$CACHE/root-1.4/usr/lib/x86_64-linux-gnu"
} > "$CACHE/current.new"
mv "$CACHE/current.new" "$CACHE/current"
cat "$CACHE/current"
