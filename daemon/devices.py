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


def do_blockdev_flushbufs(ctx, dev):
    fd = os.open(device(dev), os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, BLKFLSBUF)
    finally:
        os.close(fd)


def make_label_links(labels):
    """labels: {label: drive index}; /dev/disk/guestfs/LABEL -> ../../sdX."""
    names = disk_names()
    d = "/dev/disk/guestfs"
    os.makedirs(d, exist_ok=True)
    for label, index in labels.items():
        if not label.isalnum() or index >= len(names):
            fail("bad disk label %r" % label)
        link = os.path.join(d, label)
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink("../../" + names[index], link)
