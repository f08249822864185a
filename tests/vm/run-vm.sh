#!/bin/bash
# tests/vm/run-vm.sh — boot Debian's kernel in QEMU (TCG) with an initramfs
# holding busybox, the vfio/mdev/nvme modules, the kernel's sample mdev
# drivers and the project's binaries, then run a guest test script.
#
# usage: run-vm.sh [options]
#   --cache DIR          cache prepared by setup.sh (default: $VGPU_VM_CACHE or
#                        ~/.cache/libvgpu-vm)
#   --kernel NAME        stable (default: Debian's own kernel) or backports
#                        (the newest from <codename>-backports), as prepared
#                        by setup.sh --kernel NAME
#   --bin PATH           program or directory of programs to put on the guest's
#                        PATH (/opt/vgpu/bin); their shared libraries come along.
#                        Repeatable.
#   --tests DIR|FILE     guest tests (tests.d style): a directory whose files,
#                        or a single program, go to /opt/vgpu/tests.d (with
#                        their shared libraries); every executable there runs
#                        inside the guest in name order. Repeatable.
#   --guest-script FILE  the guest driver script (default: guest-tests.sh next
#                        to this file)
#   --sriov-vfs N        let /init enable N VFs on the NVMe PF before the
#                        tests (default 0: guest-tests.sh does it itself)
#   --no-mdevctl         do not put Debian's mdevctl into the guest
#   --vfio-stack NAME    kernel (default: the kernel's own VFIO modules) or
#                        iommufd (the VFIO stack setup.sh rebuilt with
#                        iommufd, where it did: backports kernels)
#   --no-sriov           no NVMe SR-IOV device / virtual IOMMU
#   --timeout SEC        wall-clock limit for QEMU (default 240)
#   --append ARGS        extra kernel command line
#   --log FILE           also keep the full serial console log here
#   --keep               keep the work directory (initramfs, logs)
#   -v, --verbose        stream the serial console while it runs
#
# exit: 0 all guest checks passed, 1 a check failed or the VM misbehaved
# (the guest log is printed), 77 skipped (no qemu, cache not prepared, or the
# guest itself reported skip).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SKIP=77
T0=$(date +%s%N)
el() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
msg()  { echo "[run-vm $(el)s] $*"; }
skip() { echo "[run-vm] SKIP: $*" >&2; exit $SKIP; }
die()  { echo "[run-vm] ERROR: $*" >&2; exit 1; }

CACHE=${VGPU_VM_CACHE:-${HOME:-/root}/.cache/libvgpu-vm}
FLAVOUR=stable
VFIO_STACK=kernel
BINS=()
TESTDIRS=()
GUEST_SCRIPT=$HERE/guest-tests.sh
SRIOV_VFS=0
MDEVCTL_WANTED=1
SRIOV=1
TIMEOUT=240
APPEND=""
LOGCOPY=""
KEEP=0
VERBOSE=${VGPU_VM_VERBOSE:-0}

while [ $# -gt 0 ]; do
    case $1 in
        --cache) CACHE=$2; shift 2 ;;
        --kernel) FLAVOUR=$2; shift 2 ;;
        --bin) BINS+=("$2"); shift 2 ;;
        --tests) TESTDIRS+=("$2"); shift 2 ;;
        --guest-script) GUEST_SCRIPT=$2; shift 2 ;;
        --sriov-vfs) SRIOV_VFS=$2; shift 2 ;;
        --no-mdevctl) MDEVCTL_WANTED=0; shift ;;
        --vfio-stack) VFIO_STACK=$2; shift 2 ;;
        --no-sriov) SRIOV=0; shift ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --append) APPEND=$2; shift 2 ;;
        --log) LOGCOPY=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -v|--verbose) VERBOSE=1; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || skip "qemu-system-x86_64 not found (run tests/vm/setup.sh, or install qemu-system-x86)"
CURRENT=$CACHE/current
[ "$FLAVOUR" = stable ] || CURRENT=$CACHE/current-$FLAVOUR
[ -f "$CURRENT" ] || skip "cache $CACHE not prepared for the $FLAVOUR kernel (run tests/vm/setup.sh --kernel $FLAVOUR $CACHE)"
# shellcheck disable=SC1090
. "$CURRENT"
if [ "$VFIO_STACK" = iommufd ]; then
    [ -n "${VFIO_IOMMUFD:-}" ] && [ -d "$VFIO_IOMMUFD/samples" ] ||
        skip "no VFIO stack rebuilt with iommufd in the cache (setup.sh builds one for backports kernels without CONFIG_IOMMUFD)"
    SAMPLES=$VFIO_IOMMUFD/samples
fi
for f in "$VMLINUZ" "$BUSYBOX" "$MODULES/modules.dep" "$SAMPLES/mtty.ko"; do
    [ -e "$f" ] || skip "cache incomplete: $f missing (rerun setup.sh)"
done
[ -f "$GUEST_SCRIPT" ] || die "guest script not found: $GUEST_SCRIPT"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-vm.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "[run-vm] work dir kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,opt/vgpu/bin,opt/vgpu/tests.d}

# ------------------------------------------------------------ busybox
cp "$BUSYBOX" "$R/bin/busybox"

# ------------------------------------------------------------ kernel modules
# Wanted modules (by name, '-' and '_' are equivalent); their dependencies are
# taken from the modules.dep setup.sh generated. intel-iommu is built in.
WANT_MODS="vfio vfio_iommu_type1 vfio-pci-core vfio-pci mdev irqbypass nvme nvme-core"
# modules only some kernels have as modules (vfio_virqfd is part of vfio
# from 6.2; iommufd exists where CONFIG_IOMMUFD=m)
OPT_MODS="vfio_virqfd iommufd"
MD=/lib/modules/$KVER
mkdir -p "$R$MD/extra"
declare -A depline=()
while IFS= read -r line; do
    p=${line%%:*}; b=${p##*/}; b=${b%.ko*}
    depline[${b//-/_}]=$line
done < "$MODULES/modules.dep"

declare -A copied=()
copy_mod_path() {  # path relative to $MD
    local p=$1
    [ -n "${copied[$p]:-}" ] && return 0
    copied[$p]=1
    mkdir -p "$R$MD/$(dirname "$p")"
    cp "$MODULES/$p" "$R$MD/$p"
}
add_mod() {  # module name, with its dependencies
    local n=${1//-/_}
    local line=${depline[$n]:-}
    [ -n "$line" ] || die "module $1 not found in $MODULES/modules.dep"
    local p=${line%%:*} deps=${line#*:} d
    copy_mod_path "$p"
    for d in $deps; do copy_mod_path "$d"; done
}
for m in $WANT_MODS; do add_mod "$m"; done
for m in $OPT_MODS; do [ -n "${depline[${m//-/_}]:-}" ] && add_mod "$m"; done
# sample drivers: copy, and pull in what their modinfo 'depends=' names
for s in mtty mdpy mdpy-fb mbochs; do
    cp "$SAMPLES/$s.ko" "$R$MD/extra/"
    deps=$(tr '\0' '\n' < "$SAMPLES/$s.ko" | sed -n 's/^depends=//p' | tr , ' ')
    for d in $deps; do add_mod "$d"; done
done
# the VFIO stack rebuilt with iommufd (setup.sh, for kernels built without
# it): in place of the kernel's own modules, iommufd.ko beside them
if [ "$VFIO_STACK" = iommufd ] && [ -n "${VFIO_IOMMUFD:-}" ] && [ -d "$VFIO_IOMMUFD" ]; then
    while IFS= read -r ko; do
        case $ko in */samples/*) continue ;; esac
        b=${ko##*/}
        # the kernel's own may be compressed (6.12: .ko.xz): drop it
        dest=$(find "$R$MD/kernel" \( -name "$b" -o -name "$b.xz" -o -name "$b.zst" -o -name "$b.gz" \) -print -quit)
        if [ -n "$dest" ]; then
            rm -f "$dest"
            dest=${dest%.xz}; dest=${dest%.zst}; dest=${dest%.gz}
        else
            dest=$R$MD/kernel/${ko#"$VFIO_IOMMUFD"/}
        fi
        mkdir -p "$(dirname "$dest")"
        cp "$ko" "$dest"
    done < <(find "$VFIO_IOMMUFD" -name '*.ko')
    msg "the VFIO stack rebuilt with iommufd in place of the kernel's"
fi
cp "$MODULES/modules.builtin" "$MODULES/modules.order" "$R$MD/" 2>/dev/null || true
[ -f "$MODULES/modules.builtin.modinfo" ] && cp "$MODULES/modules.builtin.modinfo" "$R$MD/"
"$BUSYBOX" depmod -b "$R" "$KVER"

# ------------------------------------------------------------ project binaries
add_bin() {  # file -> /opt/vgpu/bin/<name>
    local f=$1
    cp -L "$f" "$R/opt/vgpu/bin/"
    chmod +x "$R/opt/vgpu/bin/$(basename "$f")"
    "$HERE/copy-elf.sh" "$R" "$f"
}
for b in ${BINS[@]+"${BINS[@]}"}; do
    if [ -d "$b" ]; then
        for f in "$b"/*; do
            [ -f "$f" ] && [ -x "$f" ] && add_bin "$f"
        done
    elif [ -f "$b" ]; then
        add_bin "$b"
    else
        die "--bin $b: not a file or directory"
    fi
done
if [ "$MDEVCTL_WANTED" = 1 ] && [ -n "${MDEVCTL:-}" ] && [ -x "$MDEVCTL" ]; then
    add_bin "$MDEVCTL"
    ln -sf mdevctl "$R/opt/vgpu/bin/lsmdev"   # mdevctl acts as lsmdev by argv[0]
    # mdevctl reads its persistent config and callouts from here
    mkdir -p "$R/etc/mdevctl.d/scripts.d/callouts" "$R/etc/mdevctl.d/scripts.d/notifiers"
fi
add_test() {  # file -> /opt/vgpu/tests.d/<name> (+ its libraries)
    local f=$1 n=${1##*/}
    [ -e "$R/opt/vgpu/tests.d/$n" ] && msg "warning: guest test $n given twice; using $f"
    cp -L "$f" "$R/opt/vgpu/tests.d/"
    if [ -x "$f" ]; then "$HERE/copy-elf.sh" "$R" "$f"; fi
}
for d in ${TESTDIRS[@]+"${TESTDIRS[@]}"}; do
    if [ -d "$d" ]; then
        for f in "$d"/*; do
            [ -f "$f" ] && add_test "$f"
        done
    elif [ -f "$d" ]; then
        add_test "$d"
    else
        die "--tests $d: not a file or directory"
    fi
done
cp "$GUEST_SCRIPT" "$R/opt/vgpu/guest-tests.sh"
# the kernel's configuration, for guest tests that depend on what it has
# (caches written by an older setup.sh do not record KCONFIG)
KCONFIG=${KCONFIG:-${ROOT:-}/boot/config-$KVER}
if [ -f "$KCONFIG" ]; then cp "$KCONFIG" "$R/etc/kernel-config"; fi

cat > "$R/etc/vgpu-vm.conf" <<EOF
KVER='$KVER'
KFLAVOUR='$FLAVOUR'
SRIOV='$SRIOV'
SRIOV_VFS='$SRIOV_VFS'
VGPU_LD_LIBRARY_PATH='/opt/vgpu/lib'
EOF
cp "$HERE/init.sh" "$R/init"
chmod +x "$R/init" "$R/opt/vgpu/guest-tests.sh"

# ------------------------------------------------------------ initramfs
( cd "$R" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null ) | gzip -1 > "$WORK/initrd.gz"
msg "initramfs $(du -k "$WORK/initrd.gz" | cut -f1) KiB, $(find "$R$MD" -name '*.ko' | wc -l) modules, kernel $KVER"

# ------------------------------------------------------------ QEMU
# shellcheck disable=SC2054  # commas are QEMU syntax
QARGS=(-machine q35 -accel tcg -cpu max -m 1G -smp 1 -nographic -no-reboot
       -monitor none -serial stdio -serial "file:$WORK/results.log"
       -device isa-debug-exit,iobase=0xf4,iosize=0x04
       -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz")
# no_timer_check: under TCG on a loaded host the kernel's check that the
# timer interrupt arrives through the (remapped) IO-APIC can time out and
# panic ("timer doesn't work through Interrupt-remapped IO-APIC"); the
# timer works, the emulation is just slow. Skip the check.
CMDLINE="console=ttyS0 panic=-1 rdinit=/init no_timer_check"
if [ "$SRIOV" = 1 ]; then
    # shellcheck disable=SC2054
    QARGS+=(-device intel-iommu,intremap=on
            -device pcie-root-port,id=rp0,chassis=1,slot=1
            -device nvme-subsys,id=s0,nqn=test
            -device nvme,bus=rp0,serial=vgpuvm,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2)
    CMDLINE="$CMDLINE intel_iommu=on"
fi
[ -n "$APPEND" ] && CMDLINE="$CMDLINE $APPEND"
QARGS+=(-append "$CMDLINE")

msg "booting: timeout $TIMEOUT qemu-system-x86_64 ${QARGS[*]}"
set +e
if [ "$VERBOSE" = 1 ]; then
    timeout -k 5 "$TIMEOUT" "$QEMU" "${QARGS[@]}" </dev/null 2>&1 | tee "$WORK/console.log"
    QRC=${PIPESTATUS[0]}
else
    timeout -k 5 "$TIMEOUT" "$QEMU" "${QARGS[@]}" </dev/null >"$WORK/console.log" 2>&1
    QRC=$?
fi
set -e
[ -n "$LOGCOPY" ] && cp "$WORK/console.log" "$LOGCOPY"

# isa-debug-exit: QEMU exits with 2*v+1; /init writes v=0 pass, 1 fail, 2 skip
case $QRC in
    1) VERDICT=pass ;;
    3) VERDICT=fail ;;
    5) VERDICT=skip ;;
    124|137) VERDICT="timeout after ${TIMEOUT}s" ;;
    0) VERDICT="no verdict (guest powered off or panicked without reporting)" ;;
    *) VERDICT="qemu exit status $QRC" ;;
esac

tr -d '\r' < "$WORK/results.log" > "$WORK/results.txt" 2>/dev/null || true
npass=$(grep -c '^ok ' "$WORK/results.txt" || true)
nfail=$(grep -c '^not ok ' "$WORK/results.txt" || true)
nskip=$(grep -c '^ok .*# SKIP' "$WORK/results.txt" || true)
msg "guest verdict: $VERDICT (ok: $npass incl. $nskip skipped, not ok: $nfail)"

case $VERDICT in
    pass)
        # full guest log (it lands in meson's testlog.txt); ok lines indented
        sed 's/^/  /' "$WORK/results.txt"
        exit 0 ;;
    skip)
        sed 's/^/  /' "$WORK/results.txt"
        exit $SKIP ;;
    *)
        echo "================ guest test log (ttyS1) ================"
        cat "$WORK/results.txt"
        if [ "$VERDICT" = fail ]; then
            # the guest reported: its log above is complete; add the kernel's view
            echo "================ kernel messages (ttyS0, last 80) ================"
            tr -d '\r' < "$WORK/console.log" | grep '^\[ *[0-9]' | tail -n 80
        else
            echo "================ serial console (ttyS0, last 200 lines) ================"
            tr -d '\r' < "$WORK/console.log" | tail -n 200
        fi
        echo "========================================================"
        grep '^not ok ' "$WORK/results.txt" | sed 's/^/FAILED: /' || true
        exit 1 ;;
esac
