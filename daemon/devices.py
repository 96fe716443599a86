"""Block devices: listing, sizes, labels."""

import fcntl
import os
import struct

from .util import device, fail

BLKGETSIZE64 = 0x80081272
BLKSSZGET = 0x1268
BLKROGET = 0x125E
BLKRRPART = 0x125F
BLKFLSBUF = 0x1261
BLKROSET = 0x125D
BLKBSZGET = 0x80081270
BLKRASET = 0x1262
BLKRAGET = 0x1263


def _natural(name):
    # sda < sdb < ... < sdz < sdaa
    return (len(name), name)


def disk_names():
    try:
        names = [n for n in os.listdir("/sys/block") if n.startswith("sd")]
    except FileNotFoundError:
        return []
    return sorted(names, key=_natural)


def partitions_of(disk):
    base = "/sys/block/" + disk
    parts = []
    for n in os.listdir(base):
        if n.startswith(disk) and os.path.exists(os.path.join(base, n, "partition")):
            with open(os.path.join(base, n, "partition")) as f:
                parts.append((int(f.read().strip() or 0), n))
    return [n for _, n in sorted(parts)]


def do_list_devices(ctx):
    return ["/dev/" + n for n in disk_names()]


def do_list_partitions(ctx):
    out = []
    for d in disk_names():
        out += ["/dev/" + p for p in partitions_of(d)]
    return out


def _ioctl(dev, req, fmt, flags=os.O_RDONLY):
    fd = os.open(device(dev), flags | os.O_CLOEXEC)
    try:
        buf = fcntl.ioctl(fd, req, bytes(struct.calcsize(fmt)))
        return struct.unpack(fmt, buf)[0]
    finally:
        os.close(fd)


def do_blockdev_getsize64(ctx, dev):
    return _ioctl(dev, BLKGETSIZE64, "Q")


def do_blockdev_getss(ctx, dev):
    return _ioctl(dev, BLKSSZGET, "i")


def do_blockdev_getro(ctx, dev):
    return bool(_ioctl(dev, BLKROGET, "i"))


def do_blockdev_rereadpt(ctx, dev):
    fd = os.open(device(dev), os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, BLKRRPART)
    finally:
        os.close(fd)
    refresh_label_links(ctx)


def do_blockdev_flushbufs(ctx, dev):
    fd = os.open(device(dev), os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, BLKFLSBUF)
    finally:
        os.close(fd)


def _set_int(dev, req, value, ptr=True):
    fd = os.open(device(dev), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if ptr:
            fcntl.ioctl(fd, req, struct.pack("i", value))
        else:
            fcntl.ioctl(fd, req, value)
    finally:
        os.close(fd)


def do_blockdev_setro(ctx, dev):
    _set_int(dev, BLKROSET, 1)


def do_blockdev_setrw(ctx, dev):
    _set_int(dev, BLKROSET, 0)


def do_blockdev_getsz(ctx, dev):
    return _ioctl(dev, BLKGETSIZE64, "Q") // 512


def do_blockdev_getbsz(ctx, dev):
    return _ioctl(dev, BLKBSZGET, "i")


def do_blockdev_setbsz(ctx, dev, blocksize):
    device(dev)                     # checked, and otherwise a no-op as in libguestfs


def do_blockdev_getra(ctx, dev):
    return _ioctl(dev, BLKRAGET, "l")


def do_blockdev_setra(ctx, dev, sectors):
    if sectors < 0:
        fail("blockdev_setra: sectors must be >= 0")
    _set_int(dev, BLKRASET, sectors, ptr=False)


def make_label_links(labels):
    """labels: {label: drive index or disk name}; /dev/disk/guestfs/LABEL -> ../../sdX, and for every
    partition N of that disk /dev/disk/guestfs/LABELN -> ../../sdXN ("partitions on the disk
    can be addressed using /dev/disk/guestfs/labelpartnum").  Links of partitions that are
    gone are removed; call again whenever partition tables change."""
    names = disk_names()
    d = "/dev/disk/guestfs"
    os.makedirs(d, exist_ok=True)
    wanted = {}
    for label, where in labels.items():
        # a drive index (drives attached at launch) or a disk name (hot-plugged drives)
        if isinstance(where, str):
            disk = where if where in names else None
        else:
            disk = names[where] if 0 <= where < len(names) else None
        if not label.isalpha() or not label.isascii() or disk is None:
            fail("bad disk label %r" % label)
        wanted[label] = disk
        for part in partitions_of(disk):
            wanted[label + part[len(disk):]] = part
    for name in os.listdir(d):
        if name not in wanted:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
    for name, target in wanted.items():
        link = os.path.join(d, name)
        if os.path.islink(link) and os.readlink(link) == "../../" + target:
            continue
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink("../../" + target, link)


def refresh_label_links(ctx):
    labels = ctx.server.state.get("labels")
    if labels:
        make_label_links(labels)
