"""Early boot of the appliance, done by PID 1 itself with system calls (no helper programs:
each exec costs tens of milliseconds under TCG).

- mount /proc, /sys, /dev (devtmpfs), /run, /tmp;
- load the few modules needed to talk and see disks, in the order the builder computed;
- mount the appliance's root image (read-only) and bind its directories over the initramfs,
  so the tools and their libraries are read lazily from disk instead of being unpacked.
"""

import ctypes
import os
import time

from .contract import ROOT_DEVICE

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
SYS_FINIT_MODULE = 313          # x86_64

BOOT_MODULES_FILE = "/etc/guestkit/boot-modules"
BINDS_FILE = "/etc/guestkit/binds"
ROOT_MOUNT = "/run/appliance"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]


def mount(source, target, fstype, flags=0, data=None):
    os.makedirs(target, exist_ok=True)
    r = _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                    flags, data.encode() if data else None)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount %s on %s: %s" % (source, target, os.strerror(e)))


def mount_basics():
    for src, target, fstype, flags in (
            ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC),
            ("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC),
            ("devtmpfs", "/dev", "devtmpfs", MS_NOSUID),
            ("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV),
            ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV)):
        if not os.path.ismount(target):
            try:
                mount(src, target, fstype, flags)
            except OSError:
                if target in ("/proc", "/sys", "/dev"):
                    raise
    os.makedirs("/dev/pts", exist_ok=True)
    try:
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC)
    except OSError:
        pass


def module_params():
    """{module: "p1=v1 p2=v2"} from the kernel command line (module.param=value): the
    kernel leaves those to whoever loads the module, which is us (modprobe would do it)."""
    out = {}
    try:
        with open("/proc/cmdline") as f:
            words = f.read().split()
    except OSError:
        return out
    for w in words:
        name, dot, rest = w.partition(".")
        if dot and "=" in rest and name.replace("_", "").isalnum():
            out.setdefault(name.replace("-", "_"), []).append(rest)
    return {k: " ".join(v) for k, v in out.items()}


def load_modules(paths):
    """finit_module each file, with its parameters from the kernel command line; modules
    that are already there are fine."""
    params = module_params()
    for path in paths:
        name = os.path.basename(path).split(".ko")[0].replace("-", "_")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            flags = 4 if path.endswith((".xz", ".zst", ".gz")) else 0  # COMPRESSED_FILE
            r = _libc.syscall(SYS_FINIT_MODULE, fd, params.get(name, "").encode(), flags)
            if r != 0:
                e = ctypes.get_errno()
                if e != 17:                 # EEXIST: already loaded
                    raise OSError(e, "loading %s: %s" % (path, os.strerror(e)))
        finally:
            os.close(fd)


def boot_modules():
    try:
        with open(BOOT_MODULES_FILE) as f:
            return [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return []


def wait_for(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise OSError("%s did not appear within %.0f s" % (path, timeout))
        time.sleep(0.002)


def mount_root_image():
    """Mount the read-only root image and bind its directories over the initramfs."""
    try:
        with open(BINDS_FILE) as f:
            binds = [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return False
    wait_for(ROOT_DEVICE)
    mount(ROOT_DEVICE, ROOT_MOUNT, "ext4", MS_RDONLY)
    for d in binds:
        mount(ROOT_MOUNT + d, d, None, MS_BIND | MS_REC)
    return True


def scsi_host():
    """The sysfs directory of the virtio-scsi host adapter, or None."""
    base = "/sys/class/scsi_host"
    try:
        for h in sorted(os.listdir(base)):
            try:
                with open(os.path.join(base, h, "proc_name")) as f:
                    if f.read().strip() == "virtio_scsi":
                        return os.path.join(base, h)
            except OSError:
                continue
    except FileNotFoundError:
        pass
    return None


#: seconds a disk that sysfs shows may go unannounced before it is taken as it is
ANNOUNCE_GRACE = 5.0


def disk_at(hostno, target):
    """The name of the disk at SCSI TARGET once sysfs shows all of it, else None."""
    blockdir = "/sys/bus/scsi/devices/%s:0:%d:0/block" % (hostno, target)
    try:
        names = os.listdir(blockdir)
    except FileNotFoundError:
        return None
    # /sys/block/NAME comes last (after the device node): everything that lists disks
    # reads /sys/block
    if names and os.path.exists("/dev/" + names[0]) and \
            os.path.exists("/sys/block/" + names[0]):
        return names[0]
    return None


def attach_target(host, target, deadline):
    """Have the SCSI adapter HOST (its sysfs directory) scan TARGET; the name of its disk,
    once the kernel has announced it, which it does after reading its partition table
    (sysfs shows the disk before that: a caller could see it without its partitions).
    A disk already there (plugged with an event) is not waited for."""
    from .uevents import listen
    hostno = os.path.basename(host)[4:]
    listener = listen()
    try:
        present = disk_at(hostno, target) is not None
        with open(os.path.join(host, "scan"), "w") as f:
            f.write("0 %d 0" % target)
        seen = None
        while True:
            name = disk_at(hostno, target)
            if name is not None:
                seen = seen or time.monotonic()
                if listener is None or present or listener.lost or \
                        listener.announced(name, 0.002) or \
                        time.monotonic() - seen > ANNOUNCE_GRACE:
                    return name
            elif time.monotonic() > deadline:
                raise OSError("the drive at SCSI target %d did not appear" % target)
            else:
                time.sleep(0.002)
    finally:
        if listener is not None:
            listener.close()


def scan_disks(count, timeout=30.0):
    """Attach the COUNT drives one target at a time, each after the previous one has its
    name, so /dev/sda is always the first drive added (the kernel probes disks
    asynchronously: a bus-wide scan names them in whatever order the probes finish)."""
    if count <= 0:
        return
    deadline = time.monotonic() + timeout
    host = None
    while host is None:
        host = scsi_host()
        if host is None:
            if time.monotonic() > deadline:
                raise OSError("the virtio-scsi adapter did not appear")
            time.sleep(0.002)
    for target in range(count):
        attach_target(host, target, deadline)


def early_boot(t0):
    """Returns timing marks (seconds since T0) for the launch report."""
    marks = {"ctypes": round(time.monotonic() - t0, 3)}
    mount_basics()
    marks["mounts"] = round(time.monotonic() - t0, 3)
    load_modules(boot_modules())
    marks["modules"] = round(time.monotonic() - t0, 3)
    mount_root_image()
    marks["root"] = round(time.monotonic() - t0, 3)
    return marks
