"""Partition tables through parted."""

import os
import re
import time

from .devices import refresh_label_links
from .util import DaemonError, device, fail, run


def _wait_nodes(dev):
    """Partition nodes are made by devtmpfs as the kernel learns them; wait for them."""
    disk = os.path.basename(dev)
    base = "/sys/block/" + disk
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            parts = [n for n in os.listdir(base) if n.startswith(disk)]
        except FileNotFoundError:
            return
        if all(os.path.exists("/dev/" + p) for p in parts):
            return
        time.sleep(0.01)


def _parted(ctx, dev, *cmd):
    try:
        out, _, _ = run(["parted", "-s", "--", dev] + list(cmd))
    finally:
        _wait_nodes(dev)
        refresh_label_links(ctx)
    return out


_TYPES = {"msdos": "msdos", "mbr": "msdos", "gpt": "gpt", "efi": "gpt", "loop": "loop"}


def _parttype(t):
    if t not in _TYPES and t not in ("aix", "amiga", "bsd", "dvh", "mac", "pc98", "sun"):
        fail("unknown partition type %r: use msdos (mbr) or gpt" % t)
    return _TYPES.get(t, t)


def do_part_init(ctx, dev, parttype):
    dev = device(dev)
    _parted(ctx, dev, "mklabel", _parttype(parttype))


def do_part_disk(ctx, dev, parttype):
    dev = device(dev)
    pt = _parttype(parttype)
    end = "-34s" if pt == "gpt" else "-1s"
    _parted(ctx, dev, "mklabel", pt, "mkpart", "primary", "2048s", end)


_PRLOGEX = {"p": "primary", "primary": "primary", "l": "logical", "logical": "logical",
            "e": "extended", "extended": "extended"}


def do_part_add(ctx, dev, prlogex, startsect, endsect):
    dev = device(dev)
    if prlogex not in _PRLOGEX:
        fail("part_add: prlogex must be primary, logical or extended (p, l, e), not %r"
             % prlogex)
    if startsect < 0:
        fail("part_add: startsect cannot be negative")
    _parted(ctx, dev, "mkpart", _PRLOGEX[prlogex], "%ds" % startsect, "%ds" % endsect)


def _print(dev):
    out, _, _ = run(["parted", "-m", "-s", "--", dev, "unit", "b", "print"])
    lines = [l.rstrip(";") for l in out.splitlines() if l.strip()]
    if len(lines) < 2:
        raise DaemonError("parted: unexpected output %r" % out, "EIO")
    return lines


def do_part_get_parttype(ctx, dev):
    dev = device(dev)
    head = _print(dev)[1].split(":")
    return head[5]


def do_part_list(ctx, dev):
    dev = device(dev)
    parts = []
    for line in _print(dev)[2:]:
        f = line.split(":")
        try:
            parts.append({"part_num": int(f[0]), "part_start": int(f[1].rstrip("B")),
                          "part_end": int(f[2].rstrip("B")),
                          "part_size": int(f[3].rstrip("B"))})
        except (ValueError, IndexError):
            raise DaemonError("parted: cannot parse %r" % line, "EIO") from None
    return parts


# ---- the rest of the part_* family --------------------------------------------------------

_GUID_RE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                      r"[0-9A-Fa-f]{12}$")
_EXTENDED_IDS = (0x05, 0x0F, 0x85)


def _partnum(n):
    if n < 1:
        fail("partition numbers start at 1, got %d" % n)
    return n


def _guid(g):
    if not _GUID_RE.match(g):
        fail("%r is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" % g)
    return g


def _row(dev, partnum):
    for line in _print(dev)[2:]:
        f = line.split(":")
        if f and f[0] == str(partnum):
            return f
    raise DaemonError("%s: no partition number %d" % (dev, partnum), "ENOENT")


def _need_gpt(dev):
    pt = _print(dev)[1].split(":")[5]
    if pt != "gpt":
        fail("%s: the partition table is %s, not gpt" % (dev, pt))


def _need_mbr(dev):
    pt = _print(dev)[1].split(":")[5]
    if pt != "msdos":
        fail("%s: the partition table is %s, not msdos (MBR)" % (dev, pt))


def _sgdisk(ctx, dev, *args):
    try:
        out, _, _ = run(["sgdisk"] + list(args) + ["--", dev])
    finally:
        _wait_nodes(dev)
        refresh_label_links(ctx)
    return out


def _sgdisk_info(dev, partnum, label):
    out, _, _ = run(["sgdisk", "-i", str(partnum), "--", dev])
    for line in out.splitlines():
        if line.startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    raise DaemonError("%s: no partition number %d" % (dev, partnum), "ENOENT")


def do_part_del(ctx, dev, partnum):
    dev = device(dev)
    _parted(ctx, dev, "rm", str(_partnum(partnum)))


def do_part_resize(ctx, dev, partnum, endsect):
    dev = device(dev)
    # parted asks before shrinking even in script mode: answer it on a pretended terminal
    try:
        run(["parted", "---pretend-input-tty", "--", dev, "resizepart",
             str(_partnum(partnum)), "%ds" % endsect], input=b"Yes\n")
    finally:
        _wait_nodes(dev)
        refresh_label_links(ctx)


def do_part_expand_gpt(ctx, dev):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-e")


def do_part_set_bootable(ctx, dev, partnum, bootable):
    dev = device(dev)
    _parted(ctx, dev, "set", str(_partnum(partnum)), "boot", "on" if bootable else "off")


def do_part_get_bootable(ctx, dev, partnum):
    row = _row(device(dev), _partnum(partnum))
    flags = row[6] if len(row) > 6 else ""
    return "boot" in [f.strip() for f in flags.split(",")]


def do_part_set_mbr_id(ctx, dev, partnum, idbyte):
    dev = device(dev)
    _need_mbr(dev)
    if not 0 <= idbyte <= 255:
        fail("part_set_mbr_id: idbyte must be 0..255")
    try:
        run(["sfdisk", "--no-reread", "--part-type", dev, str(_partnum(partnum)),
             "%x" % idbyte])
    finally:
        run(["blockdev", "--rereadpt", dev], check=False)
        _wait_nodes(dev)
        refresh_label_links(ctx)


def do_part_get_mbr_id(ctx, dev, partnum):
    dev = device(dev)
    _need_mbr(dev)
    out, _, _ = run(["sfdisk", "--part-type", dev, str(_partnum(partnum))])
    try:
        return int(out.strip(), 16)
    except ValueError:
        raise DaemonError("sfdisk: unexpected output %r" % out, "EIO") from None


def do_part_get_mbr_part_type(ctx, dev, partnum):
    dev = device(dev)
    _need_mbr(dev)
    _row(dev, _partnum(partnum))
    if partnum >= 5:
        return "logical"
    if do_part_get_mbr_id(ctx, dev, partnum) in _EXTENDED_IDS:
        return "extended"
    return "primary"


def do_part_set_gpt_type(ctx, dev, partnum, guid):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-t", "%d:%s" % (_partnum(partnum), _guid(guid)))


def do_part_get_gpt_type(ctx, dev, partnum):
    dev = device(dev)
    _need_gpt(dev)
    return _sgdisk_info(dev, _partnum(partnum), "Partition GUID code").split()[0]


def do_part_set_gpt_guid(ctx, dev, partnum, guid):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-u", "%d:%s" % (_partnum(partnum), _guid(guid)))


def do_part_get_gpt_guid(ctx, dev, partnum):
    dev = device(dev)
    _need_gpt(dev)
    return _sgdisk_info(dev, _partnum(partnum), "Partition unique GUID")


def do_part_set_gpt_attributes(ctx, dev, partnum, attributes):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-A", "%d:=:%x" % (_partnum(partnum), attributes & (2 ** 64 - 1)))


def do_part_get_gpt_attributes(ctx, dev, partnum):
    dev = device(dev)
    _need_gpt(dev)
    v = int(_sgdisk_info(dev, _partnum(partnum), "Attribute flags"), 16)
    return v - (1 << 64) if v >= (1 << 63) else v


def do_part_set_name(ctx, dev, partnum, name):
    dev = device(dev)
    _need_gpt(dev)
    _parted(ctx, dev, "name", str(_partnum(partnum)), name)


def do_part_get_name(ctx, dev, partnum):
    dev = device(dev)
    _need_gpt(dev)
    name = _sgdisk_info(dev, _partnum(partnum), "Partition name")
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == "'" else name


def do_part_get_disk_guid(ctx, dev):
    dev = device(dev)
    _need_gpt(dev)
    out, _, _ = run(["sgdisk", "-p", "--", dev])
    for line in out.splitlines():
        if line.startswith("Disk identifier (GUID):"):
            return line.split(":", 1)[1].strip()
    raise DaemonError("sgdisk: no disk GUID in its output", "EIO")


def do_part_set_disk_guid(ctx, dev, guid):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-U", _guid(guid))


def do_part_set_disk_guid_random(ctx, dev):
    dev = device(dev)
    _need_gpt(dev)
    _sgdisk(ctx, dev, "-U", "R")


def _split_partition(name):
    dev = device(name)
    base = os.path.basename(dev)
    if not os.path.exists("/sys/class/block/%s/partition" % base):
        fail("%s is not a partition" % name)
    m = re.match(r"^(.*?)(p?)(\d+)$", dev)
    disk = m.group(1)
    if m.group(2) and not os.path.exists(disk):
        disk += m.group(2)
    return disk, int(m.group(3))


def do_part_to_dev(ctx, partition):
    return _split_partition(partition)[0]


def do_part_to_partnum(ctx, partition):
    return _split_partition(partition)[1]


def do_sfdisk_l(ctx, dev):
    out, _, _ = run(["sfdisk", "-l", "--", device(dev)])
    return out


def do_sfdisk_disk_geometry(ctx, dev):
    out, _, _ = run(["sfdisk", "-l", "--", device(dev)])
    return "\n".join(l for l in out.splitlines() if l.startswith(("Disk ", "Units", "Sector")))


def do_sfdisk_kernel_geometry(ctx, dev):
    return do_sfdisk_disk_geometry(ctx, dev)
