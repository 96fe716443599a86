"""Handlers for the md (software RAID) actions, through mdadm (standard library only).

The appliance has no udev: mdadm makes the /dev/mdN node and the /dev/md/NAME link itself,
and md_stop removes them once the kernel has let go of the array.
"""

import os
import re
import stat

from .util import DaemonError, device, fail, run

_LEVELS = {"linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4",
           "raid5", "5", "raid6", "6", "raid10", "10"}
_MD_RE = re.compile(r"^md[0-9]+$")


def _natural(name):
    return (len(name), name)


def md_names():
    """mdN of every running md device: /sys/block/mdN/md exists and the array has disks
    (or external metadata), as the GET_ARRAY_INFO ioctl would say."""
    try:
        names = [n for n in os.listdir("/sys/block") if _MD_RE.match(n)]
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        base = "/sys/block/%s/md" % n
        if not os.path.isdir(base):
            continue
        try:
            with open(base + "/raid_disks") as f:
                disks = f.read().strip()
            with open(base + "/metadata_version") as f:
                meta = f.read().strip()
        except OSError:
            continue
        if disks not in ("", "0") or meta.startswith("external:"):
            out.append(n)
    return sorted(out, key=_natural)


# ---- assembling the arrays the disks already hold -------------------------------------------

_SB_MAGIC = b"\xfc\x4e\x2b\xa9"          # 0xa92b4efc, little-endian


def _has_md_superblock(dev):
    """A v0.90 or v1.x md superblock at one of the places mdadm puts it."""
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        sectors = size // 512
        offsets = [0, 4096]                                     # v1.1, v1.2
        if sectors > 16:
            offsets.append(((sectors - 16) & ~7) * 512)         # v1.0
        if sectors > 128:
            offsets.append(((sectors & ~127) - 128) * 512)      # v0.90
        for off in offsets:
            if os.pread(fd, 4, off) == _SB_MAGIC:
                return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def autoassemble(ctx):
    """Once per session, assemble the arrays the disks already hold (as libguestfs does at
    launch), complete ones only; cheap when no disk carries an md superblock."""
    st = ctx.server.state if getattr(ctx, "server", None) is not None else {}
    if st.get("md_assembled"):
        return
    st["md_assembled"] = True
    from .devices import disk_names, partitions_of
    devs = []
    for disk in disk_names():
        devs += ["/dev/" + disk] + ["/dev/" + p for p in partitions_of(disk)]
    if any(_has_md_superblock(d) for d in devs):
        run(["mdadm", "--assemble", "--scan", "--no-degraded"], check=False)


def md_for_listing(ctx):
    """What list_filesystems shows of md: each running array, or its partitions if it has
    any."""
    from .devices import partitions_of
    autoassemble(ctx)
    out = []
    for n in md_names():
        parts = partitions_of(n)
        out += ["/dev/" + p for p in parts] if parts else ["/dev/" + n]
    return out


def _md_device(ctx, md):
    """The /dev/mdN node for MD (/dev/mdN, or a /dev/md/NAME link)."""
    autoassemble(ctx)
    return device(os.path.realpath(md) if md.startswith("/dev/") else md)


# ---- actions -------------------------------------------------------------------------------

def do_list_md_devices(ctx):
    autoassemble(ctx)
    return ["/dev/" + n for n in md_names()]


def do_md_create(ctx, name, devices, missingbitmap=None, nrdevices=None, spare=None,
                 chunk=None, level=None):
    if not name or name.startswith("-") or "\0" in name:
        fail("md_create: invalid array name %r" % name)
    if name.startswith("/") and not (name.startswith("/dev/md/") or
                                     re.match(r"^/dev/md[0-9]+$", name)):
        fail("md_create: %s: the name must be mdN, /dev/mdN, /dev/md/NAME or NAME" % name)
    if not name.startswith("/") and "/" in name:
        fail("md_create: %s: a name cannot contain '/'" % name)
    autoassemble(ctx)
    devs = [device(d) for d in devices]
    bitmap = missingbitmap or 0
    if bitmap < 0:
        bitmap &= (1 << 64) - 1
    missing = bin(bitmap).count("1")
    if spare is None:
        spare = 0
    elif spare < 0:
        fail("md_create: spare must not be negative")
    if nrdevices is None:
        nrdevices = len(devs) + missing
    elif nrdevices < 2:
        fail("md_create: nrdevices is less than 2")
    if level is None:
        level = "raid1"
    elif level not in _LEVELS:
        fail("md_create: unknown level parameter: %s" % level)
    if chunk is not None and (chunk <= 0 or chunk & 1023):
        fail("md_create: chunk size must be a positive multiple of 1024 bytes")
    if len(devs) + missing != nrdevices + spare:
        fail("md_create: devices (%d) + bits set in missingbitmap (%d) is not equal to "
             "nrdevices (%d) + spare (%d)" % (len(devs), missing, nrdevices, spare))
    argv = ["mdadm", "--create", "--run", name, "--level", level,
            "--raid-devices", str(nrdevices)]
    if spare:
        argv += ["--spare-devices", str(spare)]
    if chunk is not None:
        argv += ["--chunk", str(chunk // 1024)]
    members = []
    queue = list(devs)
    while queue or bitmap:
        if bitmap & 1:
            members.append("missing")
        elif queue:
            members.append(queue.pop(0))
        else:
            fail("md_create: missingbitmap has bits set past the end of the array")
        bitmap >>= 1
    argv += members
    try:
        run(argv)
    except DaemonError as e:
        raise DaemonError("mdadm: %s: %s" % (name, str(e).split(": ", 1)[-1]),
                          e.errno_name) from None


def do_md_detail(ctx, md):
    out, _, _ = run(["mdadm", "-D", "--export", _md_device(ctx, md)])
    result = []
    for line in out.splitlines():
        key, eq, value = line.strip().partition("=")
        if not eq:
            continue
        if key.startswith("MD_"):
            key = key[3:]
        result.append([key.lower(), value])
    return result


def _parse_mdstat_line(rest):
    """'active raid1 sdb[1] sda[0](F)' -> the member structs."""
    out = []
    for word in rest.split():
        m = re.match(r"^([^\[\]]+)\[(-?[0-9]+)\](.*)$", word)
        if not m:
            continue
        out.append({"mdstat_device": "/dev/" + m.group(1),
                    "mdstat_index": int(m.group(2)),
                    "mdstat_flags": "".join(c for c in m.group(3) if c.isalpha())})
    return out


def do_md_stat(ctx, md):
    name = os.path.basename(_md_device(ctx, md))
    with open("/proc/mdstat") as f:
        for line in f:
            if line.startswith(name + " : "):
                return _parse_mdstat_line(line[len(name) + 3:])
    raise DaemonError("%s: MD device not found" % md, "ENOENT")


def do_md_stop(ctx, md):
    dev = _md_device(ctx, md)
    run(["mdadm", "--stop", dev])
    _remove_stale_nodes(dev)


def _remove_stale_nodes(dev):
    """Without udev nobody removes /dev/mdN and its /dev/md/ links once the array is gone."""
    import time
    name = os.path.basename(dev)
    deadline = time.monotonic() + 2
    while os.path.exists("/sys/block/" + name):
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
    try:
        rdev = os.stat(dev).st_rdev
    except OSError:
        return
    try:
        links = os.listdir("/dev/md")
    except OSError:
        links = []
    for link in links:
        p = os.path.join("/dev/md", link)
        try:
            if os.path.islink(p) and os.stat(p).st_rdev == rdev:
                os.unlink(p)
        except OSError:
            pass
    try:
        st = os.lstat(dev)
        if stat.S_ISBLK(st.st_mode):
            os.unlink(dev)
    except OSError:
        pass
