#!/bin/bash
# tests/vm/copy-elf.sh ROOT FILE...
#
# Make dynamically linked programs runnable inside the guest's initramfs ROOT:
# copy every shared library `ldd FILE` lists (including the ELF interpreter,
# e.g. /lib64/ld-linux-x86-64.so.2) to the same absolute path under ROOT.
# The programs themselves are not copied (the caller decides where they go).
# Statically linked files and scripts are accepted and need nothing.
#
# Prints one line per library directory that is not a default loader path
# (so the caller can put it in the guest's LD_LIBRARY_PATH; this covers
# meson build-tree libraries reached through $ORIGIN-relative RUNPATHs).
# Limitation: libraries loaded with dlopen() are not seen by ldd.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 ROOT FILE..." >&2; exit 2; }
ROOT=$1; shift

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

declare -A seen=()
for f in "$@"; do
    [ -f "$f" ] || { echo "copy-elf: no such file: $f" >&2; exit 1; }
    is_elf "$f" || continue
    # `ldd` exits non-zero for static executables ("not a dynamic executable")
    out=$(LC_ALL=C ldd "$f" 2>&1) || continue
    case $out in *"not a dynamic executable"*|*"statically linked"*) continue ;; esac
    while read -r line; do
        lib=""
        case $line in
            *"=> not found"*) echo "copy-elf: $f: ${line%% *} not found" >&2; exit 1 ;;
            *" => /"*) lib=${line#* => }; lib=${lib%% (*} ;;
            /*) lib=${line%% (*} ;;
            *) continue ;;   # linux-vdso.so.1 and the like
        esac
        [ -n "$lib" ] || continue
        [ -n "${seen[$lib]:-}" ] && continue
        seen[$lib]=1
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib"
        d=$(dirname "$lib")
        case $d in
            /lib|/lib64|/usr/lib|/usr/lib64|/lib/x86_64-linux-gnu|/usr/lib/x86_64-linux-gnu) ;;
            *) echo "$d" ;;
        esac
    done <<<"$out"
done | sort -u
exit "${PIPESTATUS[0]}"
