"""``guestkit df``: virt-df's job.  Mounts each filesystem of the guest read-only in turn and
prints its size, use and free space (or inodes), in virt-df's columns or CSV."""

import math
import os
import sys

import guestkit
from .common import (ToolError, csv_field, guest_parser, json_excludes, open_guest,
                     print_json, run_tool)
from .humansize import human_size

PROG = "guestkit df"
SKIP = ("swap", "unknown")


def guest_name(ns):
    """How virt-df names the guest: the first disk's file name, or the domain's name."""
    kind, name, _ = ns.drives[0]
    return os.path.basename(name) if kind == "a" else name


def usage(g, dev):
    """statvfs of DEV mounted read-only, or None when it cannot be mounted."""
    try:
        g.mount_ro(dev, "/")
    except guestkit.Error:
        return None
    try:
        return g.statvfs("/")
    finally:
        g.umount("/")


def row(st, inodes):
    """(total, used, free) in 1K blocks or inodes, and the use in percent."""
    if inodes:
        total, free = st["files"], st["ffree"]
        used, avail = total - free, free
        pct = 100.0 * used / total if total else 0.0
    else:
        k = st["frsize"] / 1024.0
        total, free, avail = (int(st[f] * k) for f in ("blocks", "bfree", "bavail"))
        used = total - free
        pct = 100.0 * used / (used + avail) if used + avail else 0.0
    return total, used, avail, pct


def df(argv):
    ap = guest_parser(PROG, "show free space on a guest's filesystems, as virt-df does",
                      add_help=False)
    ap.add_argument("--help", action="help", help="show this help and exit")
    ap.add_argument("-h", "--human-readable", dest="human", action="store_true",
                    help="sizes as 51M, 1.2G")
    ap.add_argument("-i", "--inodes", action="store_true", help="inodes instead of blocks")
    ap.add_argument("--csv", action="store_true", help="comma-separated values")
    ap.add_argument("--json", action="store_true",
                    help="one JSON document: a list of objects, one per filesystem")
    ns = ap.parse_args(argv)
    json_excludes(ns, csv="--csv", human="-h")
    if ns.human and ns.csv:
        raise ToolError("-h and --csv do not go together (spreadsheets cannot read human "
                        "sizes)")
    name = guest_name(ns) if ns.drives else None
    g = open_guest(ns)
    try:
        rows = []
        for dev, fstype in g.list_filesystems().items():
            if fstype in SKIP:
                continue
            st = usage(g, dev)
            if st is not None:
                rows.append((dev, row(st, ns.inodes)))
    finally:
        g.close()
    out = sys.stdout
    if ns.json:
        keys = ("inodes", "iused", "ifree", "iuse_percent") if ns.inodes else \
            ("1k_blocks", "used", "available", "use_percent")
        print_json([dict(zip(("virtual_machine", "filesystem") + keys,
                             (name, dev, total, used, avail, round(pct, 1))))
                    for dev, (total, used, avail, pct) in rows], out)
        return 0
    heads = ("Inodes", "IUsed", "IFree", "IUse%") if ns.inodes else \
        ("Size", "Used", "Available", "Use%") if ns.human else \
        ("1K-blocks", "Used", "Available", "Use%")
    if ns.csv:
        out.write("VirtualMachine,Filesystem,%s\n" % ",".join(heads))
        for dev, (total, used, avail, pct) in rows:
            out.write("%s,%s,%d,%d,%d,%.1f\n" % (csv_field(name), csv_field(dev), total, used, avail,
                                                pct))
        return 0
    out.write("%-36s%10s %10s %10s %5s\n" % (("Filesystem",) + heads))
    for dev, (total, used, avail, pct) in rows:
        label = "%s:%s" % (name, dev)
        out.write(label + "\n" + " " * 36 if len(label) > 36 else "%-36s" % label)
        if ns.human and not ns.inodes:
            nums = [human_size(n * 1024) for n in (total, used, avail)]
        else:
            nums = [str(n) for n in (total, used, avail)]
        out.write("%10s %10s %10s %5s\n" % tuple(nums + ["%d%%" % math.ceil(pct)]))
    return 0


def main(argv):
    return run_tool(PROG, df, argv)
