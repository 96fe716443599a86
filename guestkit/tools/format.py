"""``guestkit format``: virt-format's job.  Erases every disk given with -a and makes it a
blank disk: by default one partition covering it (MBR below 2 TiB, GPT from 2 TiB), with
--partition=mbr|gpt|none, --lvm[=/dev/VG/LV] a logical volume filling it (VG/LV by
default), --filesystem=TYPE an empty filesystem (in the LV, else the partition, else the
whole disk), --label its label.  Without --wipe only the signatures and the partition
table are erased (old data may still be read off the disk); --wipe writes zeroes over
every disk first.

The options are checked before any disk is touched.  As virt-format does, the appliance
is started once more if the kernel cannot rescan the erased disks.  virt-format also
discards (TRIMs) the disks; guestkit has no blkdiscard yet, so the space of a sparse image
is not given back."""

import guestkit

from .common import ToolError, guest_parser, open_guest, run_tool
from .make_fs import check_mkfs, mbr_id

PROG = "guestkit format"
TWO_TIB = 2 << 40


def parse_lvm(text):
    """/dev/VG/LV or VG/LV -> (VG, LV)."""
    name = text[5:] if text.startswith("/dev/") else text
    vg, sep, lv = name.partition("/")
    if not sep or not vg or not lv or "/" in lv:
        raise ToolError("--lvm=%s: expecting /dev/VG/LV or VG/LV" % text)
    return vg, lv


def _erase(g, ns):
    """Erase every disk; True if the kernel saw it all (else launch again)."""
    devices = g.list_devices()
    have_wipefs = g.feature_available(["wipefs"])
    for dev in devices:
        if ns.wipe:
            g.zero_device(dev)
        else:
            if have_wipefs:
                g.wipefs(dev)
            g.zero(dev)
    ok = True
    for dev in devices:
        try:
            g.blockdev_rereadpt(dev)
        except guestkit.Error:
            ok = False
    try:
        g.lvm_scan(True)
    except guestkit.Error:
        ok = False
    return devices if ok else None


def _make(g, ns, devices):
    for disk in devices:
        dev = disk
        if ns.partition:
            ptype = ns.partition
            if ptype == "DEFAULT":
                ptype = "mbr" if g.blockdev_getsize64(disk) < TWO_TIB else "gpt"
            g.part_disk(disk, ptype)
            dev = disk + "1"
            if ptype in ("mbr", "msdos"):
                byte = 0x8e if ns.lvm else mbr_id(ns.filesystem or "")
                if byte:
                    g.part_set_mbr_id(disk, 1, byte)
        if ns.lvm:
            vg, lv = ns.lvm
            g.pvcreate(dev)
            g.vgcreate(vg, [dev])
            g.lvcreate_free(lv, vg, 100)
            dev = "/dev/%s/%s" % (vg, lv)
        if ns.filesystem:
            g.mkfs(ns.filesystem, dev, **({"label": ns.label} if ns.label else {}))
    g.sync()


def format_(argv):
    ap = guest_parser(PROG, "erase disks and make them blank disks, as virt-format does")
    ap.set_defaults(readonly=False)
    ap.add_argument("--filesystem", metavar="TYPE|none",
                    help="make an empty filesystem of TYPE (default: none)")
    ap.add_argument("--lvm", nargs="?", const="/dev/VG/LV", metavar="/dev/VG/LV|none",
                    help="make a logical volume filling the disk (default name /dev/VG/LV)")
    ap.add_argument("--partition", nargs="?", const="DEFAULT", default="DEFAULT",
                    metavar="mbr|gpt|none",
                    help="the partition table (default: MBR below 2 TiB, else GPT)")
    ap.add_argument("--label", help="the filesystem's label")
    ap.add_argument("--wipe", action="store_true",
                    help="write zeroes over the whole disks first (slow)")
    ns = ap.parse_args(argv)
    if any(kind == "d" for kind, _, _ in ns.drives):
        raise ToolError("-d: guestkit format takes disk images (-a) only, as virt-format")
    if not ns.drives:
        raise ToolError("no disk given: use -a IMAGE")
    if ns.partition == "none":
        ns.partition = None
    elif ns.partition not in ("DEFAULT", "mbr", "msdos", "gpt"):
        raise ToolError("--partition=%s: expecting mbr, gpt or none" % ns.partition)
    ns.lvm = None if ns.lvm in (None, "none") else parse_lvm(ns.lvm)
    if ns.filesystem == "none":
        ns.filesystem = None
    if ns.filesystem:
        check_mkfs(ns.filesystem, "--filesystem")
    if ns.label and not ns.filesystem:
        raise ToolError("--label goes with --filesystem")
    if ns.lvm and len(ns.drives) > 1:
        raise ToolError("--lvm with several disks would make the volume group %s twice"
                        % ns.lvm[0])
    for attempt in range(2):
        g = open_guest(ns)
        try:
            devices = _erase(g, ns)
            if devices is not None:
                _make(g, ns, devices)
                g.shutdown()
                return 0
            g.shutdown()
        finally:
            g.close()
    raise ToolError("the disks could not be rescanned after two attempts: some partition "
                    "table or volume on them could not be removed")


def main(argv):
    return run_tool(PROG, format_, argv)
