"""Partition tables through parted."""

import os
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
