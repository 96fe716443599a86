"""``guestkit filesystems``: virt-filesystems's job.  Lists the guest's filesystems, and on
request its partitions, block devices, logical volumes, volume groups and physical volumes,
one name per line or in virt-filesystems's aligned columns (--long) or CSV."""

import sys

import guestkit
from .common import (ToolError, csv_field, guest_parser, json_excludes, open_guest,
                     print_json, run_tool)
from .humansize import human_size

PROG = "guestkit filesystems"
COLUMNS = ("Name", "Type", "VFS", "Label", "MBR", "Size", "Parent", "UUID")
KINDS = ("filesystems", "lvs", "vgs", "pvs", "parts", "blkdevs")    # in output order


def canonical(dev):
    """/dev/vda1 and /dev/hda1 as /dev/sda1, as libguestfs names devices."""
    if (dev.startswith("/dev/") and len(dev) >= 8 and dev[5] in "hv" and dev[6] == "d"
            and dev[7].isalpha() and (len(dev) == 8 or dev[8:].isdigit())):
        return "/dev/s" + dev[6:]
    return dev


def _fs_size(g, dev):
    """The filesystem's own size (statvfs of it mounted read-only), else the device's."""
    try:
        g.mount_ro(dev, "/")
    except guestkit.Error:
        return g.blockdev_getsize64(dev)
    try:
        st = g.statvfs("/")
        return st["blocks"] * st["frsize"]
    finally:
        g.umount("/")


def _mbr_id(g, part, parent):
    try:
        if g.part_get_parttype(parent) == "msdos":
            return "%02x" % g.part_get_mbr_id(parent, g.part_to_partnum(part))
    except guestkit.Error:
        pass
    return None


def rows(g, ns, cols):
    """Each row: {column: text or None}."""
    want = lambda c: c in cols       # noqa: E731
    if "filesystems" in ns.kinds:
        for dev, vfs in g.list_filesystems().items():
            if not ns.extra and vfs in ("swap", "unknown"):
                continue
            r = {"Name": canonical(dev), "Type": "filesystem", "VFS": vfs}
            if want("Label"):
                r["Label"] = _quiet(g.vfs_label, dev) or ""
            if want("UUID"):
                r["UUID"] = _quiet(g.vfs_uuid, dev) or ""
            if want("Size"):
                r["Size"] = _fs_size(g, dev)
            yield r
    if "lvs" in ns.kinds:
        for lv in g.lvs():
            yield {"Name": lv, "Type": "lv",
                   "Size": g.blockdev_getsize64(lv) if want("Size") else None,
                   "Parent": lv.rsplit("/", 1)[0],
                   "UUID": g.lvuuid(lv) if want("UUID") else None}
    if "vgs" in ns.kinds:
        pv_names = {pv["pv_uuid"][:32]: canonical(pv["pv_name"]) for pv in g.pvs_full()}
        for vg in g.vgs_full():
            pvs = [pv_names.get(u.replace("-", "")[:32], "?")
                   for u in g.vgpvuuids(vg["vg_name"])]
            yield {"Name": "/dev/" + vg["vg_name"], "Type": "vg", "Size": vg["vg_size"],
                   "Parent": ",".join(pvs), "UUID": vg["vg_uuid"][:32]}
    if "pvs" in ns.kinds:
        for pv in g.pvs_full():
            yield {"Name": canonical(pv["pv_name"]), "Type": "pv", "Size": pv["pv_size"],
                   "UUID": pv["pv_uuid"][:32]}
    if "parts" in ns.kinds:
        for part in g.list_partitions():
            r = {"Name": canonical(part), "Type": "partition"}
            if want("Size"):
                r["Size"] = g.blockdev_getsize64(part)
            if want("Parent"):
                parent = g.part_to_dev(part)
                if want("MBR"):
                    r["MBR"] = _mbr_id(g, part, parent)
                r["Parent"] = canonical(parent)
            yield r
    if "blkdevs" in ns.kinds:
        for dev in g.list_devices():
            yield {"Name": canonical(dev), "Type": "device",
                   "Size": g.blockdev_getsize64(dev) if want("Size") else None}


def _quiet(call, dev):
    try:
        return call(dev)
    except guestkit.Error:
        return None


def columns(ns):
    """The columns virt-filesystems shows for these options."""
    cols = ["Name"]
    if ns.long:
        cols += ["Type", "Size"]
        if "filesystems" in ns.kinds:
            cols += ["VFS", "Label"]
        if {"parts", "lvs"} & ns.kinds:
            cols.append("Parent")
        if "parts" in ns.kinds:
            cols.append("MBR")
        if ns.uuid:
            cols.append("UUID")
    return [c for c in COLUMNS if c in cols]


def write(out, table, csv):
    """TABLE (lists of text or None) as CSV, or aligned: each column as wide as its widest
    text ("" and None shown as "-"), two spaces apart unless that makes the table wider
    than 72 characters."""
    if csv:
        for r in table:
            out.write(",".join(csv_field(t) if t is not None else "" for t in r) + "\n")
        return
    if not table:
        return
    widths = [max(max(len(t or "") or 1 for t in col) if any(t is not None for t in col)
                  else 0, 0) for col in zip(*table)]
    gap = 2 if sum(widths) + 2 * len(COLUMNS) <= 72 else 1
    for r in table:
        cells = [t if t else "-" for t, w in zip(r, widths) if w]
        ws = [w for w in widths if w]
        line = "".join(c + " " * (w - len(c) + gap) for c, w in zip(cells[:-1], ws[:-1]))
        out.write(line + cells[-1] + "\n")


def filesystems(argv):
    ap = guest_parser(PROG, "list filesystems, partitions, block devices, logical volumes "
                            "of a guest, as virt-filesystems does", add_help=False)
    ap.set_defaults(kinds=[])
    ap.add_argument("--help", action="help", help="show this help and exit")
    for flags, kind in ((("--filesystems",), "filesystems"),
                        (("--extra",), "filesystems"),
                        (("--lvs", "--logvols", "--logical-volumes"), "lvs"),
                        (("--vgs", "--volgroups", "--volume-groups"), "vgs"),
                        (("--pvs", "--physvols", "--physical-volumes"), "pvs"),
                        (("--parts", "--partitions"), "parts"),
                        (("--blkdevs", "--block-devices"), "blkdevs")):
        ap.add_argument(*flags, dest="kinds", action="append_const", const=kind,
                        help="list %s" % kind)
    ap.add_argument("--all", action="store_true", help="list everything")
    ap.add_argument("-l", "--long", action="store_true", help="more columns")
    ap.add_argument("--uuid", "--uuids", dest="uuid", action="store_true",
                    help="with --long: a UUID column")
    ap.add_argument("--no-title", action="store_true", help="no title line in --long mode")
    ap.add_argument("-h", "--human-readable", dest="human", action="store_true",
                    help="sizes as 51M, 1.2G")
    ap.add_argument("--csv", action="store_true", help="comma-separated values")
    ap.add_argument("--json", action="store_true",
                    help="one JSON document: a list of objects, one per row, keyed by the "
                         "column names (sizes in bytes)")
    ns = ap.parse_args(argv)
    json_excludes(ns, csv="--csv", human="-h", no_title="--no-title")
    ns.extra = "--extra" in argv
    ns.kinds = set(KINDS) if ns.all else set(ns.kinds) or {"filesystems"}
    if ns.human and ns.csv:
        raise ToolError("-h and --csv do not go together (spreadsheets cannot read human "
                        "sizes)")
    cols = columns(ns)
    g = open_guest(ns)
    try:
        found = list(rows(g, ns, cols))
    finally:
        g.close()
    if ns.json:
        print_json([{c.lower().replace(" ", "_"): r.get(c) for c in cols} for r in found])
        return 0
    table = [list(cols)] if ns.long and not ns.no_title else []
    for r in found:
        size = r.get("Size")
        if isinstance(size, int):
            r["Size"] = human_size(size) if ns.human else str(size)
        table.append([r.get(c) for c in cols])
    write(sys.stdout, table, ns.csv)
    return 0


def main(argv):
    return run_tool(PROG, filesystems, argv)
