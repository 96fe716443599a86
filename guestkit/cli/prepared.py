"""``-N [FILENAME=]TYPE[:PARAM...]``: prepared disk images, as guestfish(1) describes them
("PREPARED DISK IMAGES").  The images are made and added before launch
(:func:`prepare_disks`), partitioned and formatted right after it (:func:`format_disks`).
"""

from . import CliError
from .parse import parse_integer

# type -> (what it makes, [(parameter, default)])
TYPES = {
    "disk": ("a blank disk", [("size", "1G")]),
    "part": ("a disk with one partition", [("size", "1G"), ("partition", "mbr")]),
    "fs": ("a disk with one partition holding an empty filesystem",
           [("filesystem", "ext2"), ("size", "1G"), ("partition", "mbr")]),
    "lv": ("a disk with one partition, an LVM physical volume, volume group and logical "
           "volume", [("name", "/dev/VG/LV"), ("size", "1G"), ("partition", "mbr")]),
    "lvfs": ("the same as lv, with a filesystem on the logical volume",
             [("name", "/dev/VG/LV"), ("filesystem", "ext2"), ("size", "1G"),
              ("partition", "mbr")]),
    "bootroot": ("a disk with two partitions and filesystems, for boot and root",
                 [("bootfs", "ext2"), ("rootfs", "ext2"), ("size", "1G"),
                  ("bootsize", "128M"), ("partition", "mbr")]),
    "bootrootlv": ("the same as bootroot, with root on a logical volume",
                   [("name", "/dev/VG/LV"), ("bootfs", "ext2"), ("rootfs", "ext2"),
                    ("size", "1G"), ("bootsize", "128M"), ("partition", "mbr")]),
}


def describe_types():
    lines = ["-N [FILENAME=]TYPE[:PARAMETER...]: create a prepared disk (test1.img, "
             "test2.img, ... unless FILENAME= is given) and add it.", ""]
    for name, (what, params) in TYPES.items():
        usage = name + "".join("[:%s" % p for p, _d in params) + "]" * len(params)
        lines.append("  -N %s" % usage)
        lines.append("      %s; defaults: %s" % (what, ", ".join(
            "%s %s" % (p, d) for p, d in params)))
    return "\n".join(lines) + "\n"


class Prepared:
    def __init__(self, index, spec):
        filename, eq, rest = spec.partition("=")
        if not eq:
            filename, rest = "test%d.img" % index, spec
        words = rest.split(":")
        self.type = words[0]
        if self.type not in TYPES:
            raise CliError("-N %s: unknown type %r (types: %s; -N help describes them)"
                           % (spec, self.type, ", ".join(TYPES)))
        params = TYPES[self.type][1]
        if len(words) - 1 > len(params):
            raise CliError("-N %s: too many parameters for %s (at most %d: %s)" % (
                spec, self.type, len(params), ":".join(p for p, _d in params)))
        self.filename = filename
        self.p = {p: (words[i + 1] if i + 1 < len(words) and words[i + 1] else d)
                  for i, (p, d) in enumerate(params)}
        for key in ("size", "bootsize"):
            if key in self.p:
                try:
                    self.p[key] = parse_integer(self.p[key])
                except ValueError as e:
                    raise CliError("-N %s: %s: %s" % (spec, key, e)) from None
        if "name" in self.p:
            parts = self.p["name"].split("/")
            if len(parts) != 4 or parts[:2] != ["", "dev"] or not all(parts[2:]):
                raise CliError("-N %s: name must be /dev/VG/LV, got %r" % (
                    spec, self.p["name"]))
            self.vg, self.lv = parts[2], parts[3]


def parse_specs(specs):
    return [Prepared(i, s) for i, s in enumerate(specs, 1)]


def prepare_disks(g, specs):
    """Create the image files of the -N options and add them, writable (before launch)."""
    for d in parse_specs(specs):
        g.disk_create(d.filename, "raw", d.p["size"], preallocation="sparse")
        g.add_drive_opts(d.filename, format="raw", readonly=False)


def format_disks(g, specs):
    """Partition and format the -N disks: the last ones added (after launch)."""
    prepared = parse_specs(specs)
    devices = list(g.list_devices())[-len(prepared):]
    for d, dev in zip(prepared, devices):
        _format(g, d, dev)


def _format(g, d, dev):
    t, p = d.type, d.p
    if t == "disk":
        return
    if t in ("part", "fs", "lv", "lvfs"):
        g.part_disk(dev, p["partition"])
        part = dev + "1"
        if t == "fs":
            g.mkfs(p["filesystem"], part)
        elif t in ("lv", "lvfs"):
            _lvm(g, d, part)
            if t == "lvfs":
                g.mkfs(p["filesystem"], p["name"])
        return
    # bootroot, bootrootlv: boot partition of bootsize from sector 64, root to the end
    sectors = p["bootsize"] // 512
    g.part_init(dev, p["partition"])
    g.part_add(dev, "p", 64, 64 + sectors - 1)
    g.part_add(dev, "p", 64 + sectors, -64)
    g.mkfs(p["bootfs"], dev + "1")
    root = dev + "2"
    if t == "bootrootlv":
        _lvm(g, d, root)
        root = p["name"]
    g.mkfs(p["rootfs"], root)


def _lvm(g, d, pv):
    g.pvcreate(pv)
    g.vgcreate(d.vg, [pv])
    g.lvcreate_free(d.lv, d.vg, 100)
