#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The qemu suite: QEMU's vfio-user-pci drives vgpu-sim from inside a guest.

  run-qemu-test.py --build BUILD-DIR --source SOURCE-DIR [--keep] [-v]

Prepares (once, cached outside the build tree) a QEMU with the vfio-user
client (tests/qemu/build-qemu.sh) and the kernel the `vm` suite boots
(tests/vm/setup.sh), builds the guest driver tests/qemu/guest/vgpu_sim_test.c
against that kernel's headers, starts vgpu-sim, creates a device with vgpuctl
and boots QEMU (TCG, q35, guest RAM from memory-backend-memfd,share=on, the
device behind a PCIe root port). The guest's /init (tests/qemu/guest/init.sh)
takes commands on its second serial port; this script sends them, runs the
host's side (QMP system_reset, kill, vgpuctl remove/screenshot) in between,
and prints one "ok N - name" or "not ok N - name" line per check.

Exit: 0 every check passed, 1 a check failed, 77 QEMU cannot be built here or
the Debian archive cannot be reached.

Environment: VGPU_QEMU_CACHE, VGPU_VM_CACHE (the two caches), VGPU_QEMU=PATH
(use this QEMU, 10.1 or newer, instead of building one).
"""
import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
# guards against a hung guest or VMM, not measurements: TCG on a loaded
# 2-core machine is slow, so they are generous
BOOT_LIMIT = 600
CMD_LIMIT = 600


class Failed(Exception):
    pass


def log(msg):
    print("# " + msg, flush=True)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, name, good, why=""):
        self.n += 1
        if good:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}" + (f": {why}" if why else ""), flush=True)
        return good


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def prepare_qemu(src):
    if os.environ.get("VGPU_QEMU"):
        return os.environ["VGPU_QEMU"]
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(src, "tests/qemu/build-qemu.sh")],
                       stdout=subprocess.PIPE, text=True)
    log(f"build-qemu.sh: exit {p.returncode} after {time.monotonic() - t0:.0f}s")
    if p.returncode == SKIP:
        sys.exit(SKIP)
    if p.returncode != 0:
        raise Failed("building QEMU failed")
    return p.stdout.strip().splitlines()[-1]


def prepare_kernel(src):
    cache = os.environ.get("VGPU_VM_CACHE", os.path.expanduser("~/.cache/libvgpu-vm"))
    p = run([os.path.join(src, "tests/vm/setup.sh"), cache])
    if p.returncode == SKIP:
        print(p.stdout)
        sys.exit(SKIP)
    if p.returncode != 0:
        print(p.stdout)
        raise Failed("tests/vm/setup.sh failed")
    env = {}
    with open(os.path.join(cache, "current")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


def build_module(src, kern, work):
    mod = os.path.join(work, "module")
    os.makedirs(mod)
    shutil.copy(os.path.join(src, "tests/qemu/guest/vgpu_sim_test.c"), mod)
    shutil.copy(os.path.join(src, "tools/vgpu-sim.h"), mod)
    with open(os.path.join(mod, "Kbuild"), "w") as f:
        f.write("obj-m += vgpu_sim_test.o\n")
    headers = os.path.join(kern["ROOT"], "usr/src/linux-headers-" + kern["KVER"])
    p = run(["make", "-s", "-C", headers, "M=" + mod, "modules"])
    ko = os.path.join(mod, "vgpu_sim_test.ko")
    if p.returncode != 0 or not os.path.exists(ko):
        print(p.stdout)
        raise Failed("building the guest driver failed")
    return ko


def build_initrd(src, kern, ko, work):
    root = os.path.join(work, "initrd")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy(kern["BUSYBOX"], os.path.join(root, "bin/busybox"))
    shutil.copy(os.path.join(src, "tests/qemu/guest/init.sh"), os.path.join(root, "init"))
    os.chmod(os.path.join(root, "init"), 0o755)
    shutil.copy(ko, root)
    out = os.path.join(work, "initrd.gz")
    files = run(["find", "."], cwd=root).stdout
    with open(out, "wb") as f:
        lst = "\n".join(sorted(files.split())) + "\n"
        c = subprocess.Popen([kern["BUSYBOX"], "cpio", "-o", "-H", "newc"], cwd=root,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        g = subprocess.Popen(["gzip", "-1"], stdin=c.stdout, stdout=f)
        c.stdout.close()
        c.stdin.write(lst.encode())
        c.stdin.close()
        if c.wait() != 0 or g.wait() != 0:
            raise Failed("making the initramfs failed")
    return out


class Sim:
    """vgpu-sim and vgpuctl, with their sockets in WORK/run."""

    def __init__(self, build, work):
        self.build = build
        self.run = os.path.join(work, "run")
        self.empty = os.path.join(work, "empty")
        os.makedirs(self.empty)
        self.log = open(os.path.join(work, "vgpu-sim.log"), "w")
        self.proc = subprocess.Popen([os.path.join(build, "tools/vgpu-sim"),
                                      "--runtime-dir", self.run],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 120)
        if not r or self.proc.stdout.readline().strip() != "ready":
            raise Failed("vgpu-sim did not start")

    def ctl(self, *args):
        return run([os.path.join(self.build, "tools/vgpuctl"), "--sysfs-root", self.empty,
                    "--runtime-dir", self.run] + list(args), timeout=CMD_LIMIT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Qemu:
    """One QEMU with the device; its console in WORK/NAME.console, its second
    serial port and its monitor connected to sockets this script listens on."""

    def __init__(self, qemu, kern, initrd, sock, work, name, verbose):
        self.name = name
        self.work = work
        self.verbose = verbose
        self.buf = b""
        ctl_path = os.path.join(work, name + ".ctl")
        qmp_path = os.path.join(work, name + ".qmp")
        lctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lctl.bind(ctl_path)
        lctl.listen(1)
        lqmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lqmp.bind(qmp_path)
        lqmp.listen(1)
        dev = {"driver": "vfio-user-pci", "id": "gpu0", "bus": "rp0",
               "socket": {"type": "unix", "path": sock}}
        self.args = [
            qemu, "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "512M",
            "-machine", "q35,memory-backend=mem",
            "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-serial", "file:" + os.path.join(work, name + ".console"),
            "-chardev", "socket,id=ctl,path=" + ctl_path, "-serial", "chardev:ctl",
            "-chardev", "socket,id=qmp,path=" + qmp_path, "-mon", "chardev=qmp,mode=control",
            "-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
            "-device", json.dumps(dev, separators=(",", ":")),
            "-kernel", kern["VMLINUZ"], "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 rdinit=/init no_timer_check quiet",
        ]
        self.errlog = open(os.path.join(work, name + ".stderr"), "w")
        log(f"{name}: " + " ".join(a if "," not in a and "{" not in a else f"'{a}'"
                                   for a in self.args))
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self.errlog, stderr=self.errlog)
        self.ctl = self._accept(lctl)
        self.qmp = self._accept(lqmp)
        lctl.close()
        lqmp.close()
        self.qmp_buf = b""
        if self.ctl and self.qmp:
            self._qmp_read()  # greeting
            self.qmp_cmd("qmp_capabilities")

    def _accept(self, l):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return None
            r, _, _ = select.select([l], [], [], 1)
            if r:
                return l.accept()[0]
        return None

    def alive(self):
        return self.proc.poll() is None and self.ctl is not None

    def stderr_text(self):
        self.errlog.flush()
        with open(self.errlog.name) as f:
            return f.read()

    # the monitor
    def _qmp_read(self):
        while b"\n" not in self.qmp_buf:
            r, _, _ = select.select([self.qmp], [], [], CMD_LIMIT)
            if not r:
                raise Failed(f"{self.name}: no answer on the monitor")
            d = self.qmp.recv(65536)
            if not d:
                raise Failed(f"{self.name}: monitor closed")
            self.qmp_buf += d
        line, _, self.qmp_buf = self.qmp_buf.partition(b"\n")
        return json.loads(line)

    def qmp_cmd(self, cmd, **args):
        self.qmp.sendall(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        while True:
            m = self._qmp_read()
            if "return" in m or "error" in m:
                return m

    # the guest's control channel
    def line(self, limit):
        deadline = time.monotonic() + limit
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                return None
            r, _, _ = select.select([self.ctl], [], [], min(left, 1))
            if r:
                d = self.ctl.recv(65536)
                if not d:
                    return None
                self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        line = line.decode(errors="replace").rstrip("\r")
        if self.verbose:
            print("#   guest: " + line, flush=True)
        return line

    def hello(self):
        while True:
            line = self.line(BOOT_LIMIT)
            if line is None:
                return None
            if line.startswith("hello "):
                return line

    def cmd(self, text):
        """Send a command; returns (rc, output lines)."""
        self.ctl.sendall(text.encode() + b"\n")
        out = []
        while True:
            line = self.line(CMD_LIMIT)
            if line is None:
                return None, out + ["(no answer: the guest or QEMU stopped)"]
            if line.startswith("hello "):
                return None, out + ["(the guest rebooted)"]
            if line.startswith("rc "):
                return int(line[3:]), out
            out.append(line[2:] if line.startswith("# ") else line)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.close()

    def wait(self, limit=BOOT_LIMIT):
        try:
            return self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def close(self):
        for s in (self.ctl, self.qmp):
            if s:
                s.close()
        self.ctl = self.qmp = None
        self.errlog.close()

    def console_tail(self, n=40):
        try:
            with open(os.path.join(self.work, self.name + ".console"), errors="replace") as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []


def guest(tap, q, name, command):
    rc, out = q.cmd(command)
    for line in out:
        log("  " + line)
    return tap.ok(f"{q.name}: {name}", rc == 0, f"rc {rc}")


def boot(tap, q, what):
    if not q.alive():
        tap.ok(f"{q.name}: {what}", False, "QEMU did not start: " + q.stderr_text()[-2000:])
        return False
    hello = q.hello()
    if not tap.ok(f"{q.name}: {what}", hello is not None, "no hello from the guest"):
        for line in q.console_tail():
            log("  console: " + line)
        for line in q.stderr_text().splitlines()[-20:]:
            log("  qemu: " + line)
        return False
    log(f"  {hello}")
    return True


def device_checks(tap, q, irq_modes):
    """enumeration, registers, a mode set and the picture, blits"""
    good = guest(tap, q, "the driver binds vgpu-sim", "insmod")
    good = good and guest(tap, q, "enumeration and config space", "t enum")
    good = good and guest(tap, q, "register access", "t regs")
    good = good and guest(tap, q, "interrupt: MSI-X", "t irq msix")
    good = good and guest(tap, q, "mode set and the top half drawn through BAR2", "t draw")
    for mode in irq_modes:
        good = good and guest(tap, q, f"interrupt: {mode}", f"t irq {mode}")
        good = good and guest(tap, q, f"DMA blit from a guest buffer, {mode} completion", "t blit")
    return good


def screenshot(tap, sim, uuid, work, png_check, name):
    png = os.path.join(work, name + ".png")
    p = sim.ctl("screenshot", uuid, png)
    if not tap.ok(f"vgpuctl screenshot {name}", p.returncode == 0, p.stdout.strip()):
        return
    c = run([png_check, png])
    tap.ok(f"{name}: the screenshot is the guest's picture, pixel for pixel",
           c.returncode == 0, c.stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    build, src = os.path.abspath(a.build), os.path.abspath(a.source)
    png_check = os.path.join(build, "tests/vfio-user/png-check")

    t0 = time.monotonic()
    qemu = prepare_qemu(src)
    kern = prepare_kernel(src)
    t1 = time.monotonic()
    log(f"QEMU {qemu}, kernel {kern['KVER']}; prepared in {t1 - t0:.0f}s")
    # sockets have a short path limit: keep the work dir short
    work = tempfile.mkdtemp(prefix="vgpu-qemu.", dir="/tmp")
    tap = Tap()
    sim = None
    qs = []
    try:
        ko = build_module(src, kern, work)
        initrd = build_initrd(src, kern, ko, work)
        sim = Sim(build, work)
        p = sim.ctl("create", "-p", "vgpu-sim0", "-t", "sim-16m")
        if not tap.ok("vgpuctl create", p.returncode == 0, p.stdout.strip()):
            return 1
        uuid = p.stdout.strip().splitlines()[-1]
        sock = os.path.join(sim.run, "vfio-user", uuid + ".sock")
        # what vgpuctl show tells a user is what this suite runs
        p = sim.ctl("show", uuid)
        shown = [l for l in p.stdout.splitlines() if l.startswith("QEMU:")]
        want = ["memory-backend=mem", "memory-backend-memfd,id=mem,",
                "share=on", '"driver":"vfio-user-pci"', '"path":"%s"' % sock]
        tap.ok("vgpuctl show prints the QEMU set-up this suite uses",
               p.returncode == 0 and shown and all(w in shown[0] for w in want),
               p.stdout.strip())

        def new_qemu(name):
            q = Qemu(qemu, kern, initrd, sock, work, name, a.verbose)
            qs.append(q)
            return q

        # the first VM: everything, then a system_reset
        q = new_qemu("qemu-a")
        if boot(tap, q, "the guest boots with vgpu-sim attached"):
            device_checks(tap, q, ["msix", "msi", "intx", "msix"])
            # the BIOS ROM is guest memory QEMU maps without an fd: the
            # device reads it by DMA_READ messages in QEMU's layout
            guest(tap, q, "DMA blit from memory QEMU maps without an fd "
                  "(message DMA, QEMU's layout), MSI-X completion", "t romblit")
            r = q.qmp_cmd("system_reset")
            tap.ok("qemu-a: system_reset", "return" in r, json.dumps(r))
            if boot(tap, q, "the guest boots again after the reset"):
                device_checks(tap, q, ["msix"])
            # killed, not shut down: the provider sees the socket drop
            q.kill()
            tap.ok("qemu-a: killed", True)
        else:
            q.kill()
        screenshot(tap, sim, uuid, work, png_check, "after-qemu-a")

        # a second QEMU on the same device after the first was killed
        q = new_qemu("qemu-b")
        if boot(tap, q, "a second QEMU after the first was killed"):
            device_checks(tap, q, ["msix", "intx"])
            # removal while the guest runs: refused, the device stays
            p = sim.ctl("remove", uuid)
            tap.ok("vgpuctl remove while the guest runs is refused (exit 4)",
                   p.returncode == 4, f"exit {p.returncode}: {p.stdout.strip()}")
            guest(tap, q, "the device still works after the refused removal", "t regs")
            # a third QEMU on the same device: refused at once (no time
            # limit expires: QEMU's own is 5 s per message), with the
            # EBUSY error reply to its VERSION, not a broken pipe
            c = run([qemu, "-nodefaults", "-no-user-config", "-display", "none",
                     "-S", "-machine", "q35,memory-backend=mem", "-m", "64M",
                     "-object", "memory-backend-memfd,id=mem,size=64M,share=on",
                     "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
                     "-monitor", "none", "-device",
                     json.dumps({"driver": "vfio-user-pci",
                                 "socket": {"type": "unix", "path": sock}})],
                    timeout=CMD_LIMIT, env=dict(os.environ, LC_ALL="C"))
            log("  qemu-c: " + c.stdout.strip().replace("\n", "\n#   qemu-c: "))
            tap.ok("a QEMU on a device in use is refused, not timed out",
                   c.returncode != 0 and "timed out" not in c.stdout.lower()
                   and "timeout" not in c.stdout.lower(), f"exit {c.returncode}")
            tap.ok("the refused QEMU reports the device busy",
                   "version reply" in c.stdout
                   and "Device or resource busy" in c.stdout
                   and "Broken pipe" not in c.stdout, c.stdout.strip())
            guest(tap, q, "the device still works for the first QEMU", "t blit")
            rc, _ = q.cmd("poweroff")
            tap.ok("qemu-b: the guest powers off", q.wait() == 0, f"rc {rc}")
        q.close()
        screenshot(tap, sim, uuid, work, png_check, "after-qemu-b")

        # forced removal while a guest runs: the provider asks the client to
        # let go through the REQ interrupt, which QEMU's vfio-pci turns into
        # a hot-unplug request. QEMU 10.2's vfio-user-pci registers no REQ
        # interrupt, so there the removal is refused (exit 4); once the VM
        # has gone, the plain removal works.
        q = new_qemu("qemu-d")
        if boot(tap, q, "a QEMU for the forced removal"):
            guest(tap, q, "the driver binds vgpu-sim", "insmod")
            p = sim.ctl("remove", "--force", uuid)
            log(f"  vgpuctl remove --force: exit {p.returncode}: {p.stdout.strip()}")
            if p.returncode == 0:
                tap.ok("vgpuctl remove --force: the client was asked and let go", True)
                guest(tap, q, "the REQ interrupt became a hot-unplug: the device is gone",
                      "gone")
            else:
                tap.ok("vgpuctl remove --force without a REQ interrupt to ask "
                       "with: refused (exit 4)", p.returncode == 4, p.stdout.strip())
                guest(tap, q, "the device still works after the refused removal", "t regs")
                # (device_del would be the way out, but QEMU 10.2 aborts when
                # it finalizes an unplugged vfio-user-pci device with MSI-X:
                # memory_region_del_subregion's assertion in its MSI-X
                # teardown. So the VM goes away instead.)
                guest(tap, q, "the guest runs on", "alive")
                q.kill()
                p = sim.ctl("remove", uuid)
                tap.ok("vgpuctl remove once QEMU has gone", p.returncode == 0,
                       p.stdout.strip())
                q = None
            if q:
                guest(tap, q, "the guest runs on without the device", "alive")
                rc, _ = q.cmd("poweroff")
                q.wait()
                q.close()
        else:
            q.kill()
        p = sim.ctl("list")
        tap.ok("the instance is gone", p.returncode == 0 and uuid not in p.stdout,
               p.stdout.strip())
    except Failed as e:
        tap.ok(str(e), False)
    finally:
        for q in qs:
            if q.proc.poll() is None:
                q.proc.kill()
                q.proc.wait()
        if sim:
            sim.stop()
        print(f"1..{tap.n}")
        log(f"qemu suite: {tap.n - tap.failed}/{tap.n} passed; preparation "
            f"{t1 - t0:.0f}s, checks {time.monotonic() - t1:.0f}s")
        if tap.failed:
            for name in sorted(os.listdir(work)):
                if name.endswith((".stderr", ".log")):
                    with open(os.path.join(work, name), errors="replace") as f:
                        text = f.read()[-3000:]
                    if text.strip():
                        log(f"---- {name}")
                        for line in text.splitlines():
                            log("  " + line)
        if a.keep or tap.failed:
            log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as e:
        print(f"not ok - {e}")
        sys.exit(1)
