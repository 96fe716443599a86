"""``guestkit resize``: virt-resize's job.  Copies a guest's disk to a bigger (or, with
shrunk content, smaller) output disk the caller made, partition by partition, resizing the
partitions it is asked to and growing what they hold.

Two launches, as virt-resize does: the first sees the input (read-only) and the output,
writes the output's partition table, copies each partition and the boot loader's area;
the second sees the output alone (its volume groups would otherwise appear twice, once on
each disk) and grows filesystems, physical volumes and the logical volumes asked for.
"""

import re
import struct
import sys

import guestkit
from ..images import probe_format
from .common import ToolError, guest_parser, machine_message, run_tool

PROG = "guestkit resize"
MIB = 1 << 20
EXTRA_MIN = 10 * MIB            # surplus below this is left unpartitioned
GPT_RESERVED = 34               # sectors GPT keeps at the end of the disk (backup header)
_SIZE = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)([bKMGTP%]?)$")
_UNITS = {"": 1, "b": 512, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
          "P": 1 << 50}


def _parser():
    ap = guest_parser(PROG, "copy a guest's disk to a bigger or smaller disk, resizing "
                            "partitions and what they hold, as virt-resize does",
                      drives=False)
    ap.add_argument("--format", metavar="FMT", help="format of the input disk")
    ap.add_argument("--output-format", metavar="FMT", help="format of the output disk")
    ap.add_argument("--expand", metavar="PART",
                    help="give all the surplus space to this partition")
    ap.add_argument("--resize", action="append", default=[], metavar="PART=SIZE",
                    help="resize PART to SIZE: 10G, +200M, -1G, 50%%, +10%% (repeatable)")
    ap.add_argument("--resize-force", action="append", default=[], metavar="PART=SIZE",
                    help="as --resize, also below the size of what the partition holds")
    ap.add_argument("--shrink", metavar="PART",
                    help="shrink this partition so that the output disk is big enough")
    ap.add_argument("--delete", action="append", default=[], metavar="PART",
                    help="leave this partition out of the output (repeatable; an "
                         "extended partition takes its logical partitions with it)")
    ap.add_argument("--lv-expand", action="append", default=[], metavar="LV",
                    help="grow this logical volume and its filesystem to fill its "
                         "volume group (repeatable)")
    ap.add_argument("--align-first", choices=("never", "always", "auto"), default="auto",
                    help="whether the first partition moves to an aligned start (auto: "
                         "only if it is aligned already, so boot loaders keep working)")
    ap.add_argument("--alignment", type=int, default=128, metavar="SECTORS",
                    help="partition alignment in sectors (default 128)")
    ap.add_argument("--no-extra-partition", action="store_true",
                    help="leave surplus space unpartitioned instead of adding a partition")
    ap.add_argument("--no-expand-content", action="store_true",
                    help="grow partitions but not the filesystems in them")
    ap.add_argument("--no-sparse", action="store_true",
                    help="write zeroes too (for outputs that are not sparse anyway)")
    ap.add_argument("--ntfsresize-force", action="store_true",
                    help="let ntfsresize run on a filesystem marked inconsistent")
    ap.add_argument("-n", "--dry-run", "--dryrun", dest="dry_run", action="store_true",
                    help="show what would be done; write nothing")
    ap.add_argument("-q", "--quiet", action="store_true", help="no messages")
    ap.add_argument("indisk", metavar="INDISK")
    ap.add_argument("outdisk", metavar="OUTDISK",
                    help="an existing disk image, made with qemu-img create")
    return ap


class Part:
    def __init__(self, num, start, size, ss, kind="p"):
        self.num, self.start, self.size, self.ss = num, start, size, ss
        self.kind = kind              # MBR: p(rimary), e(xtended) or l(ogical)
        self.new_size = size          # bytes asked for
        self.out_size = size          # bytes on the output: an extended one holds its own
        self.delete = False
        self.expand = False
        self.forced = False
        self.out_num = None
        self.out_start = None
        self.fstype = None
        self.content_size = None      # bytes the content needs, when known

    @property
    def name(self):
        return "/dev/sda%d" % self.num


def parse_size(text, current):
    """A --resize size relative to CURRENT bytes; bytes."""
    m = _SIZE.match(text.strip())
    if not m:
        raise ToolError("%r is not a size (10G, +200M, -1G, 50%%, +10%%)" % text)
    sign, number, unit = m.groups()
    n = float(number)
    amount = int(current * n / 100) if unit == "%" else int(n * _UNITS[unit])
    if sign == "+":
        return current + amount
    if sign == "-":
        return current - amount
    return amount


def _partition_arg(text, parts, option):
    m = re.match(r"^/dev/[sh]d([a-z])(\d+)$|^/dev/vd([a-z])(\d+)$", text)
    if not m or (m.group(1) or m.group(3)) != "a":
        raise ToolError("%s %s: name a partition of the input disk (/dev/sda1 ...)"
                        % (option, text))
    num = int(m.group(2) or m.group(4))
    for p in parts:
        if p.num == num:
            return p
    raise ToolError("%s %s: the input disk has no such partition" % (option, text))


def _ext_size(g, dev):
    """Bytes an ext2/3/4 filesystem covers, from its superblock."""
    sb = g.pread_device(dev, 1024, 1024)
    if len(sb) < 1024 or sb[56:58] != b"\x53\xef":
        return None
    lo, = struct.unpack_from("<I", sb, 4)
    log, = struct.unpack_from("<I", sb, 24)
    incompat, = struct.unpack_from("<I", sb, 96)
    hi = struct.unpack_from("<I", sb, 0x150)[0] if incompat & 0x80 else 0
    if log > 16:
        return None
    return ((hi << 32) | lo) * (1024 << log)


def _align_up(sector, align):
    return -(-sector // align) * align


def _lay_logicals(ext, logicals, align, ss):
    """Place LOGICALS in EXT from its start, each after the sector its boot record takes
    (the first at EXT's start); the bytes EXT needs to hold them."""
    pos = ext.out_start
    for p in logicals:
        p.out_start = _align_up(pos + 1, align)
        p.out_size = p.new_size
        pos = p.out_start + p.new_size // ss
    return (pos - ext.out_start) * ss


def _number(top, logicals):
    """Output partition numbers: the primary and extended ones from 1, the logical ones
    from 5, both in the input's order."""
    for n, p in enumerate(top, 1):
        p.out_num = n
    for n, p in enumerate(logicals, 5):
        p.out_num = n


def plan(ns, parts, ss, out_size, parttype, say):
    """Work out the output's layout in place (Part.out_start, out_num, new_size,
    out_size)."""
    align = ns.alignment
    if align < 1:
        raise ToolError("--alignment must be a positive number of sectors")
    for text in ns.delete:
        gone = _partition_arg(text, parts, "--delete")
        for p in parts:
            if p is gone or (gone.kind == "e" and p.kind == "l"):
                p.delete = True
    for option, items in (("--resize", ns.resize), ("--resize-force", ns.resize_force)):
        for item in items:
            name, eq, size = item.partition("=")
            if not eq:
                raise ToolError("%s %s: expected PART=SIZE" % (option, item))
            p = _partition_arg(name, parts, option)
            p.new_size = parse_size(size, p.size) // ss * ss
            p.forced = option == "--resize-force"
            if p.new_size <= 0:
                raise ToolError("%s %s: the size would be %d bytes" % (option, item,
                                                                      p.new_size))
    if ns.expand:
        target = _partition_arg(ns.expand, parts, "--expand")
        if target.delete:
            raise ToolError("--expand %s: that partition is deleted" % ns.expand)
        target.expand = True
    if ns.shrink:
        target = _partition_arg(ns.shrink, parts, "--shrink")
        if target.expand:
            raise ToolError("--shrink and --expand name the same partition")
        target.expand = True              # takes the (negative) surplus
    kept = [p for p in parts if not p.delete]
    if not [p for p in kept if p.kind != "e"]:
        raise ToolError("every partition would be deleted")
    top = [p for p in kept if p.kind != "l"]
    logicals = [p for p in kept if p.kind == "l"]
    if any(p.expand for p in logicals):
        for p in top:                    # the extended one, unless asked, wraps its
            if p.kind == "e" and p.new_size == p.size:    # logicals: its spare room
                p.new_size = 0                            # is part of the surplus
    for p in kept:
        if p.new_size < p.size and not p.forced and p.content_size is not None and \
                p.content_size > p.new_size and not (ns.shrink and p.expand):
            raise ToolError("%s holds %s of %s: shrink the content first, or use "
                            "--resize-force" % (p.name, _human(p.content_size),
                                                p.fstype))
    last_usable = out_size // ss - (GPT_RESERVED if parttype == "gpt" else 1)
    first = parts[0].start
    if ns.align_first == "always" or (ns.align_first == "auto" and first % align == 0):
        first = _align_up(first, align)

    def layout():
        pos = first
        for i, p in enumerate(top):
            p.out_start = pos if i == 0 else _align_up(pos, align)
            p.out_size = p.new_size
            if p.kind == "e":            # grows to hold its logical partitions
                p.out_size = max(p.new_size, _lay_logicals(p, logicals, align, ss))
            pos = p.out_start + p.out_size // ss
        return pos - 1                   # the last sector used

    end = layout()
    surplus = (last_usable - end) * ss
    growing = [p for p in kept if p.expand]
    if growing and surplus < 0 and not ns.shrink:
        raise ToolError("the output disk is too small by %s (--expand only grows: use "
                        "--shrink, --resize or --delete)" % _human(-surplus))
    if growing:
        grown = growing[0]
        unit = align * ss
        grown.new_size = (grown.out_size + surplus) // unit * unit
        while True:
            if grown.new_size <= 0 or (ns.shrink and grown.content_size and
                                       grown.new_size < grown.content_size):
                raise ToolError("the output disk is too small for %s to hold its %s"
                                % (grown.name, grown.fstype or "content"))
            end = layout()
            surplus = (last_usable - end) * ss
            if surplus >= 0:
                break
            grown.new_size -= unit       # the partitions after it moved to aligned starts
    if surplus < 0:
        raise ToolError("the output disk is too small by %s: make it bigger, or use "
                        "--shrink/--resize/--delete" % _human(-surplus))
    extra = None
    if surplus >= EXTRA_MIN and not ns.no_extra_partition and not growing:
        if parttype != "msdos" or len(top) < 4:
            extra = (_align_up(end + 1, align), last_usable)
    _number(top, logicals)
    say_plan(parts, extra, ss, surplus, say)
    return kept, extra


def _human(n):
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(n) >= size:
            return "%.1f%s" % (n / size, unit)
    return "%d bytes" % n


def say_plan(parts, extra, ss, surplus, say):
    say("Summary of changes:")
    for p in parts:
        if p.delete:
            say("  %s: deleted" % p.name)
        elif p.out_size != p.size:
            say("  %s: resized from %s to %s" % (p.name, _human(p.size),
                                                  _human(p.out_size)))
        else:
            say("  %s: copied as it is" % p.name)
    if extra:
        say("  a new partition of %s holds the surplus" % _human((extra[1] - extra[0] + 1)
                                                                  * ss))
    elif surplus > 0:
        say("  %s at the end of the disk stay unpartitioned" % _human(surplus))


def resize(argv):
    ns = _parser().parse_args(argv)
    say = (lambda text: None) if ns.quiet else (
        lambda text: (sys.stdout.write(text + "\n"), sys.stdout.flush(),
                      machine_message("message", text)))
    import os
    for path in (ns.indisk, ns.outdisk):
        if not os.path.exists(path):
            raise ToolError("%s: no such disk image%s" % (
                path, " (make the output first: qemu-img create -f qcow2 OUTDISK SIZE)"
                if path == ns.outdisk else ""))
    if os.path.samefile(ns.indisk, ns.outdisk):
        raise ToolError("the input and the output are the same disk")
    infmt = ns.format or _detect(ns.indisk)
    outfmt = ns.output_format or _detect(ns.outdisk)
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.set_verbose(ns.verbose)
        g.set_trace(ns.trace)
        g.add_drive_opts(ns.indisk, format=infmt, readonly=True)
        g.add_drive_opts(ns.outdisk, format=outfmt, readonly=bool(ns.dry_run))
        g.launch()
        parttype = g.part_get_parttype("/dev/sda")
        if parttype not in ("msdos", "gpt"):
            raise ToolError("the input disk's partition table is %s: only MBR and GPT are "
                            "handled" % parttype)
        ss = g.blockdev_getss("/dev/sda")
        parts = [_read_part(g, row, ss, parttype) for row in g.part_list("/dev/sda")]
        if not parts:
            raise ToolError("the input disk has no partitions")
        kept, extra = plan(ns, parts, ss, g.blockdev_getsize64("/dev/sdb"), parttype, say)
        if ns.dry_run:
            say("Dry run: nothing was written")
            return 0
        write_output(g, ns, parttype, parts, kept, extra, ss, say)
        g.shutdown()
    finally:
        g.close()
    if not ns.no_expand_content:
        expand_content(ns, outfmt, kept, say)
    say("Resize operation completed with no errors")
    return 0


def _read_part(g, row, ss, parttype):
    """A Part for a row of the input's part_list, with what it holds."""
    num = row["part_num"]
    kind = g.part_get_mbr_part_type("/dev/sda", num)[0] if parttype == "msdos" else "p"
    p = Part(num, row["part_start"] // ss, row["part_size"], ss, kind)
    if kind == "e":                      # a container: its logical partitions hold data
        p.fstype = ""
        return p
    p.fstype = g.vfs_type(p.name) if _has_signature(g, p.name) else ""
    if p.fstype in ("ext2", "ext3", "ext4"):
        p.content_size = _ext_size(g, p.name)
    elif p.fstype:
        p.content_size = p.size          # unknown how small it could go
    return p


def _has_signature(g, dev):
    try:
        return bool(g.vfs_type(dev))
    except guestkit.Error:
        return False


def _detect(path):
    fmt, unsafe = probe_format(path)
    if unsafe:
        raise ToolError("%s: %s; give the format if you trust it" % (path, unsafe))
    return fmt


def write_output(g, ns, parttype, parts, kept, extra, ss, say):
    say("Setting up the output's partition table ...")
    g.part_init("/dev/sdb", parttype)
    if parttype == "gpt":
        g.part_set_disk_guid("/dev/sdb", g.part_get_disk_guid("/dev/sda"))
    for p in kept:                       # in order: an extended one before its logicals
        g.part_add("/dev/sdb", p.kind, p.out_start, p.out_start + p.out_size // ss - 1)
    for p in kept:
        n = p.out_num
        if parttype == "msdos":
            idbyte = g.part_get_mbr_id("/dev/sda", p.num)
            if g.part_get_mbr_id("/dev/sdb", n) != idbyte:
                g.part_set_mbr_id("/dev/sdb", n, idbyte)
            if g.part_get_bootable("/dev/sda", p.num):
                g.part_set_bootable("/dev/sdb", n, True)
        else:
            g.part_set_gpt_type("/dev/sdb", n, g.part_get_gpt_type("/dev/sda", p.num))
            g.part_set_gpt_guid("/dev/sdb", n, g.part_get_gpt_guid("/dev/sda", p.num))
            name = g.part_get_name("/dev/sda", p.num)
            if name:
                g.part_set_name("/dev/sdb", n, name)
            attrs = g.part_get_gpt_attributes("/dev/sda", p.num)
            if attrs:
                g.part_set_gpt_attributes("/dev/sdb", n, attrs)
    if extra:
        g.part_add("/dev/sdb", "p", extra[0], extra[1])
    for p in kept:
        if p.kind == "e":                # parted wrote its boot records afresh
            continue
        say("Copying %s ..." % p.name)
        g.copy_device_to_device(p.name, "/dev/sdb%d" % p.out_num,
                                size=min(p.size, p.out_size), sparse=not ns.no_sparse)
    # the boot loader's code in the first sector, and (MBR) what it keeps in the gap
    # before the first partition, when that gap is no smaller on the output
    g.copy_device_to_device("/dev/sda", "/dev/sdb", size=446)
    first_in = min(p.start for p in parts)
    if parttype == "msdos" and kept[0].out_start >= first_in > 1:
        g.copy_device_to_device("/dev/sda", "/dev/sdb", srcoffset=ss, destoffset=ss,
                                size=(first_in - 1) * ss, sparse=not ns.no_sparse)


def expand_content(ns, outfmt, kept, say):
    """The second launch, on the output alone: grow what the grown partitions hold, then
    the logical volumes asked for."""
    grown = [p for p in kept if p.out_size > p.size and p.kind != "e"]
    if not grown and not ns.lv_expand:
        return
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.set_verbose(ns.verbose)
        g.add_drive_opts(ns.outdisk, format=outfmt)
        g.launch()
        for p in grown:
            grow(g, "/dev/sda%d" % p.out_num, ns, say)
        if ns.lv_expand:
            g.vg_activate_all(True)
            for lv in ns.lv_expand:
                if lv not in g.lvs():
                    raise ToolError("--lv-expand %s: no such logical volume (lvs: %s)"
                                    % (lv, ", ".join(g.lvs()) or "none"))
                say("Expanding %s ..." % lv)
                g.lvresize_free(lv, 100)
                grow(g, lv, ns, say)
        g.shutdown()
    finally:
        g.close()


def grow(g, dev, ns, say):
    fstype = _has_signature(g, dev) and g.vfs_type(dev)
    if fstype in ("ext2", "ext3", "ext4"):
        say("Growing the %s filesystem on %s ..." % (fstype, dev))
        g.e2fsck_f(dev)
        g.resize2fs(dev)
    elif fstype == "LVM2_member":
        say("Growing the physical volume %s ..." % dev)
        g.pvresize(dev)
    elif fstype in ("xfs", "btrfs"):
        say("Growing the %s filesystem on %s ..." % (fstype, dev))
        g.mount(dev, "/")
        try:
            if fstype == "xfs":
                g.xfs_growfs("/")
            else:
                g.btrfs_filesystem_resize("/")
        finally:
            g.umount("/")
    elif fstype == "ntfs":
        say("Growing the ntfs filesystem on %s ..." % dev)
        g.ntfsresize(dev, force=ns.ntfsresize_force)
    elif fstype:
        say("%s holds %s, which is left at its size" % (dev, fstype))


def main(argv):
    return run_tool(PROG, resize, argv)
