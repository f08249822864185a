#!/bin/sh
# Runs INSIDE the test VM (busybox sh), started by /init after the modules are
# loaded. Prints TAP-like lines:
#   ok N - name            not ok N - name            ok N - name # SKIP why
# with each check's own output as '# ' diagnostics, and a final 1..N plan.
# Exit 0 if nothing failed, 1 otherwise.
#
# Built-in checks use only the kernel's interfaces and busybox. After them,
# every executable in /opt/vgpu/tests.d (filled from run-vm.sh --tests DIR)
# is run in name order: exit 0 = ok, 77 = skip, anything else = not ok.
# Those programs see PATH=/opt/vgpu/bin:..., VGPU_VM=1, SRIOV, KVER.

N=0
FAILED=0
T_LIMIT=${VGPU_GUEST_TEST_TIMEOUT:-120}

# run_check NAME FUNCTION-OR-PROGRAM [ARGS...]
run_check() {
    name=$1; shift
    N=$((N + 1))
    # announce first, so a test that hangs or crashes the guest is named
    echo "# --- $N: $name"
    "$@" > /tmp/check.out 2>&1
    rc=$?
    sed 's/^/# /' /tmp/check.out
    case $rc in
        0) echo "ok $N - $name" ;;
        77) echo "ok $N - $name # SKIP $(tail -n 1 /tmp/check.out)" ;;
        *) echo "not ok $N - $name (exit $rc)"; FAILED=$((FAILED + 1)) ;;
    esac
}

fail() { echo "FAIL: $*"; return 1; }
uuid() { cat /proc/sys/kernel/random/uuid; }

# ------------------------------------------------------------------ mdev
check_mdev_parents() {
    [ -d /sys/class/mdev_bus ] || fail "/sys/class/mdev_bus missing (mdev module not loaded?)" || return 1
    echo "parents: $(ls /sys/class/mdev_bus | tr '\n' ' ')"
    missing=""
    for p in mtty mdpy mbochs; do
        [ -e "/sys/class/mdev_bus/$p" ] || missing="$missing $p"
    done
    for p in /sys/class/mdev_bus/*; do
        [ -d "$p/mdev_supported_types" ] || fail "${p##*/} has no mdev_supported_types" || return 1
        for t in "$p"/mdev_supported_types/*; do
            echo "  ${p##*/}: ${t##*/} name='$(cat "$t/name" 2>/dev/null)'" \
                 "api=$(cat "$t/device_api")" "available=$(cat "$t/available_instances")"
        done
    done
    [ -z "$missing" ] || fail "parents missing:$missing"
}

# mdev_lifecycle PARENT TYPE: create an instance, check it, remove it
mdev_lifecycle() {
    parent=$1 type=$2
    tdir=/sys/class/mdev_bus/$parent/mdev_supported_types/$type
    [ -d "$tdir" ] || fail "no type $type on $parent" || return 1
    avail0=$(cat "$tdir/available_instances")
    u=$(uuid)
    echo "create $u on $parent/$type (available_instances=$avail0)"
    echo "$u" > "$tdir/create" || fail "write to $tdir/create failed" || return 1
    d=/sys/bus/mdev/devices/$u
    [ -e "$d" ] || fail "$d did not appear" || return 1
    [ -e "$d/iommu_group" ] || fail "$d has no iommu_group" || return 1
    g=$(basename "$(readlink "$d/iommu_group")")
    echo "iommu group $g, driver $(basename "$(readlink "$d/driver" 2>/dev/null)")"
    [ -c "/dev/vfio/$g" ] || fail "/dev/vfio/$g missing" || return 1
    [ "$(basename "$(readlink "$d/mdev_type")")" = "$type" ] || fail "mdev_type link does not name $type" || return 1
    [ -e "$tdir/devices/$u" ] || fail "$tdir/devices/$u missing" || return 1
    avail1=$(cat "$tdir/available_instances")
    echo "available_instances now $avail1"
    [ "$avail1" -lt "$avail0" ] || fail "available_instances did not drop" || return 1
    echo 1 > "$d/remove" || fail "write to $d/remove failed" || return 1
    [ ! -e "$d" ] || fail "$d still present after remove" || return 1
    [ ! -e "/dev/vfio/$g" ] || fail "/dev/vfio/$g still present after remove" || return 1
    [ "$(cat "$tdir/available_instances")" = "$avail0" ] || fail "available_instances not restored" || return 1
    echo "removed"
}

# mdpy-fb is the guest-side framebuffer driver for an mdpy device; here it only
# has to load (it has no module_exit in 6.1, so it can never be unloaded).
check_mdpy_fb_loads() {
    modprobe mdpy-fb || fail "modprobe mdpy-fb" || return 1
    grep -q '^mdpy_fb ' /proc/modules || fail "mdpy_fb not in /proc/modules" || return 1
    echo "mdpy_fb loaded (not unloadable: no module_exit)"
}

# ------------------------------------------------------------------ SR-IOV
find_pf() {
    for d in /sys/bus/pci/devices/*; do
        [ -f "$d/sriov_totalvfs" ] && { echo "$d"; return 0; }
    done
    return 1
}

check_sriov_vfio() {
    [ "${SRIOV:-1}" = 1 ] || { echo "VM started without the SR-IOV device"; return 77; }
    pf=$(find_pf) || fail "no PCI device with sriov_totalvfs" || return 1
    echo "PF ${pf##*/} vendor $(cat "$pf/vendor") device $(cat "$pf/device")" \
         "driver $(basename "$(readlink "$pf/driver" 2>/dev/null)") totalvfs $(cat "$pf/sriov_totalvfs")"
    [ "$(cat "$pf/sriov_totalvfs")" -ge 2 ] || fail "sriov_totalvfs < 2" || return 1
    pre=$(cat "$pf/sriov_numvfs")
    if [ "$pre" = 0 ]; then
        # Do not let nvme probe the VFs: QEMU's VFs stay offline until the PF
        # assigns them resources and nvme would wait for them to come ready.
        echo 0 > "$pf/sriov_drivers_autoprobe"
        echo 2 > "$pf/sriov_numvfs" || fail "writing 2 to sriov_numvfs" || return 1
    else
        echo "VFs already enabled by /init: $pre"
    fi
    [ "$(cat "$pf/sriov_numvfs")" -ge 2 ] || fail "sriov_numvfs is $(cat "$pf/sriov_numvfs")" || return 1
    [ -e "$pf/virtfn0" ] && [ -e "$pf/virtfn1" ] || fail "virtfn0/virtfn1 missing" || return 1
    vf=$(basename "$(readlink "$pf/virtfn0")")
    vfd=/sys/bus/pci/devices/$vf
    echo "VF0 $vf device $(cat "$vfd/device") physfn $(basename "$(readlink "$vfd/physfn")")"
    [ -e "$vfd/iommu_group" ] || fail "VF has no iommu_group (virtual IOMMU missing?)" || return 1
    g=$(basename "$(readlink "$vfd/iommu_group")")
    g1=$(basename "$(readlink "/sys/bus/pci/devices/$(basename "$(readlink "$pf/virtfn1")")/iommu_group")")
    echo "VF0 iommu group $g, VF1 iommu group $g1"
    [ "$g" != "$g1" ] || fail "VFs share an IOMMU group" || return 1
    if [ -e "$vfd/driver" ]; then
        echo "VF0 bound to $(basename "$(readlink "$vfd/driver")"), unbinding"
        echo "$vf" > "$vfd/driver/unbind"
    fi
    echo vfio-pci > "$vfd/driver_override" || fail "driver_override" || return 1
    echo "$vf" > /sys/bus/pci/drivers/vfio-pci/bind || fail "bind to vfio-pci" || return 1
    [ "$(basename "$(readlink "$vfd/driver")")" = vfio-pci ] || fail "VF0 not on vfio-pci" || return 1
    [ -c "/dev/vfio/$g" ] || fail "/dev/vfio/$g missing" || return 1
    echo "VF0 on vfio-pci, /dev/vfio/$g present"
    echo "$vf" > /sys/bus/pci/drivers/vfio-pci/unbind || fail "unbind from vfio-pci" || return 1
    [ ! -e "$vfd/driver" ] || fail "VF0 still bound" || return 1
    [ ! -e "/dev/vfio/$g" ] || fail "/dev/vfio/$g still present after unbind" || return 1
    echo > "$vfd/driver_override"
    if [ "$pre" = 0 ]; then
        echo 0 > "$pf/sriov_numvfs" || fail "writing 0 to sriov_numvfs" || return 1
        [ ! -e "$pf/virtfn0" ] || fail "virtfn0 still present after disabling VFs" || return 1
        echo 1 > "$pf/sriov_drivers_autoprobe"
        echo "VFs disabled"
    fi
}

# ------------------------------------------------------------------ run
echo "# guest-tests: kernel $(uname -r)"
run_check "mdev parents mtty, mdpy, mbochs registered with types" check_mdev_parents
run_check "mtty instance create/remove (mtty-2)" mdev_lifecycle mtty mtty-2
run_check "mdpy instance create/remove (mdpy-vga)" mdev_lifecycle mdpy mdpy-vga
run_check "mbochs instance create/remove (mbochs-small)" mdev_lifecycle mbochs mbochs-small
run_check "mdpy-fb module loads" check_mdpy_fb_loads
run_check "SR-IOV: 2 NVMe VFs, VF0 on vfio-pci with /dev/vfio group" check_sriov_vfio

if [ -d /opt/vgpu/tests.d ]; then
    for t in /opt/vgpu/tests.d/*; do
        [ -f "$t" ] && [ -x "$t" ] || continue
        run_check "tests.d/${t##*/}" timeout "$T_LIMIT" "$t"
    done
fi

echo "1..$N"
echo "# guest-tests: $FAILED of $N failed"
[ "$FAILED" = 0 ]
