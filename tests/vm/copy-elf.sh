#!/bin/bash
# tests/vm/copy-elf.sh ROOT FILE...
#
# Make dynamically linked programs runnable inside the guest's initramfs ROOT:
# copy every shared library `ldd FILE` lists. The ELF interpreter (e.g.
# /lib64/ld-linux-x86-64.so.2) and libraries from the loader's default
# directories keep their absolute path under ROOT; any other library (e.g. a
# meson build-tree library found through an $ORIGIN RUNPATH, which will not
# resolve once the program is moved) goes to ROOT/opt/vgpu/lib under the name
# the program asks for, and the guest puts /opt/vgpu/lib in LD_LIBRARY_PATH.
# (Keeping build-tree paths would not do: they are often under /tmp, which
# the guest mounts a tmpfs over.)
# The programs themselves are not copied (the caller decides where they go).
# Statically linked files and scripts are accepted and need nothing.
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
        name="" lib=""
        case $line in
            *"=> not found"*) echo "copy-elf: $f: ${line%% *} not found" >&2; exit 1 ;;
            *" => /"*) name=${line%% =>*}; lib=${line#* => }; lib=${lib%% (*} ;;
            /*) lib=${line%% (*} ;;          # the ELF interpreter
            *) continue ;;                   # linux-vdso.so.1 and the like
        esac
        [ -n "${seen[$lib]:-}" ] && continue
        seen[$lib]=1
        d=$(dirname "$lib")
        case $d in
            /lib|/lib64|/usr/lib|/usr/lib64|/lib/x86_64-linux-gnu|/usr/lib/x86_64-linux-gnu|"")
                name="" ;;
        esac
        if [ -n "$name" ]; then
            mkdir -p "$ROOT/opt/vgpu/lib"
            cp -L "$lib" "$ROOT/opt/vgpu/lib/$name"
        else
            mkdir -p "$ROOT$d"
            cp -L "$lib" "$ROOT$lib"
        fi
    done <<<"$out"
done
