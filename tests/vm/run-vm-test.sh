#!/bin/bash
# tests/vm/run-vm-test.sh [--kernel stable|backports] [run-vm.sh options...]
# Entry point for `meson test --suite vm`: prepare the cache (setup.sh), then
# boot the VM with the harness' own guest tests (guest.d) plus whatever
# options meson passes (--bin for project programs, --tests for more guest
# tests). Exit 0 pass, 1 fail, 77 skip.
#
# Environment:
#   VGPU_VM_CACHE     cache dir (default ~/.cache/libvgpu-vm; survives rm -rf build)
#   VGPU_VM_DISABLE=1 skip the VM test outright
#   VGPU_VM_VERBOSE=1 stream the serial console
#   (setup.sh also honours VGPU_VM_NO_APT and VGPU_VM_OFFLINE)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ "${VGPU_VM_DISABLE:-0}" = 1 ] && { echo "VM test disabled by VGPU_VM_DISABLE=1"; exit 77; }
CACHE=${VGPU_VM_CACHE:-${HOME:-/root}/.cache/libvgpu-vm}
FLAVOUR=stable
if [ "${1:-}" = --kernel ]; then FLAVOUR=$2; shift 2; fi

start=$(date +%s)
"$HERE/setup.sh" --kernel "$FLAVOUR" "$CACHE"
rc=$?
case $rc in
    0) ;;
    77) exit 77 ;;
    *) echo "setup.sh failed (exit $rc)"; exit 1 ;;
esac
mid=$(date +%s)
"$HERE/run-vm.sh" --cache "$CACHE" --kernel "$FLAVOUR" --tests "$HERE/guest.d" "$@"
rc=$?
echo "[vm $FLAVOUR] setup $((mid - start))s, VM run $(( $(date +%s) - mid ))s, exit $rc"
exit $rc
