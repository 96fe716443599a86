"""Parse /etc/fstab and /etc/crypttab, and remap guest device names.

``parse_fstab`` keeps only the entries inspection cares about: a block
device spec (/dev/..., UUID=, LABEL=, PARTUUID=, PARTLABEL=) mounted on an
absolute path, not swap / pseudo / network filesystems nor removable
drives.  ``parse_crypttab`` reads the LUKS mapping table.  ``remap_disk_name``
turns a guest's device name into a request the caller resolves against the
appliance's real devices (guest /dev/vdb1 is the appliance's /dev/sdb1).
"""

import re

from ._text import clean, iter_lines
from ..contract import disk_index, disk_letters  # noqa: F401 (re-exported)

MAX_FSTAB_LINES = 10_000          # lines looked at; the rest is ignored
MAX_LINE_BYTES = 8192             # longer lines are skipped
MAX_SPEC = 1024                   # characters in a device spec or mountpoint
MAX_OPTIONS = 4096                # characters in a mount options field
MAX_NAME = 255                    # characters in a crypttab name, LVM or md name

SPEC_PREFIXES = ("/dev/", "UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=")
IGNORED_VFSTYPES = frozenset((
    "swap", "none", "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "ramfs", "cgroup",
    "cgroup2", "securityfs", "debugfs", "tracefs", "configfs", "pstore", "mqueue",
    "hugetlbfs", "binfmt_misc", "fusectl", "efivarfs", "bpf", "autofs", "rpc_pipefs",
    "nfs", "nfs4", "cifs", "smbfs", "smb3", "9p", "virtiofs", "fdescfs", "procfs",
    "linprocfs", "linsysfs", "kernfs", "ptyfs", "mfs", "nullfs", "iso9660", "udf",
))
_REMOVABLE = re.compile(r"^/dev/(fd\d*|floppy\d*|cdrom\d*|dvd\d*|sr\d+|scd\d+|cd\d+[a-z]?"
                        r"|acd\d+|dvdrw|cdrw)$")
_OCTAL = re.compile(rb"\\([0-3][0-7]{2})")
_UDEV_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")

# Guest whole-disk name patterns -> (disk index kind, partition group).
_LETTER_DISK = re.compile(r"^/dev/(?:[hsv]|xv)d([a-z]{1,3})(\d{0,4})$")
_NVME = re.compile(r"^/dev/nvme(\d{1,4})n\d{1,4}(?:p(\d{1,4}))?$")
_BSD_GPT = re.compile(r"^/dev/(?:ada|vtbd|da)(\d{1,4})(?:p(\d{1,4}))?$")
_CCISS = re.compile(r"^/dev/cciss/c\d{1,3}d(\d{1,4})(?:p(\d{1,4}))?$")
_MD_NUM = re.compile(r"^/dev/md(\d{1,4})$")
_LVM_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
_BY_KIND = {"by-uuid": "UUID", "by-label": "LABEL", "by-partuuid": "PARTUUID",
            "by-partlabel": "PARTLABEL"}
# /dev/X/Y where X is one of these is not an LVM volume group.
_NOT_VG = frozenset(("disk", "mapper", "md", "cciss", "block", "char", "bus", "input",
                     "snd", "pts", "shm", "net", "dri", "cpu", "vfio", "fd", "hugepages",
                     "mqueue", "usb", "raw", "loop", "zvol", "ataraid"))


def _unescape(field, max_chars):
    """Decode fstab octal escapes (``\\040`` = space) and clean the result."""
    return clean(_OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), field), max_chars)


def _options_subvol(options):
    subvol, subvolid = None, None
    for opt in options.split(",")[:256]:
        if opt.startswith("subvol="):
            subvol = opt[len("subvol="):] or None
        elif opt.startswith("subvolid="):
            value = opt[len("subvolid="):]
            subvolid = int(value) if value.isdigit() and len(value) <= 20 else None
    return subvol, subvolid


def _fields(data):
    """Yield the whitespace-separated fields of each non-comment fstab line."""
    for line in iter_lines(data, MAX_FSTAB_LINES, MAX_LINE_BYTES, skip_long=True,
                           collapse_blank=True):
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        yield line.split()


def parse_fstab(data):
    """Parse /etc/fstab bytes -> list of mount entry dicts.

    Each entry: spec, mountpoint, vfstype, options (str), subvol (str or
    None), subvolid (int or None).  Octal escapes are decoded, mountpoints
    lose trailing slashes, mountpoints with ``.``/``..`` components are dropped.
    """
    entries = []
    for fields in _fields(data):
        if len(fields) < 2:
            continue
        spec = _unescape(fields[0], MAX_SPEC)
        mountpoint = _unescape(fields[1], MAX_SPEC)
        vfstype = clean(fields[2], 64) if len(fields) > 2 else "auto"
        options = clean(fields[3], MAX_OPTIONS) if len(fields) > 3 else "defaults"
        if not spec.startswith(SPEC_PREFIXES) or not mountpoint.startswith("/"):
            continue
        if vfstype in IGNORED_VFSTYPES or vfstype.startswith("fuse") or _REMOVABLE.match(spec):
            continue
        if len(mountpoint) > 1:
            mountpoint = mountpoint.rstrip("/") or "/"
        if any(part in (".", "..") for part in mountpoint.split("/")):
            continue
        subvol, subvolid = _options_subvol(options) if vfstype == "btrfs" else (None, None)
        entries.append({"spec": spec, "mountpoint": mountpoint, "vfstype": vfstype,
                        "options": options, "subvol": subvol, "subvolid": subvolid})
    return entries


def parse_crypttab(data):
    """Parse /etc/crypttab bytes -> list of dicts: name, device, keyfile, options.

    ``keyfile`` is None for "none", "-" or a missing field; ``options`` is a list.
    """
    entries = []
    for fields in _fields(data):
        if len(fields) < 2:
            continue
        name = _unescape(fields[0], MAX_NAME + 1)
        device = _unescape(fields[1], MAX_SPEC)
        if not name or len(name) > MAX_NAME or "/" in name or name in (".", ".."):
            continue
        keyfile = _unescape(fields[2], MAX_SPEC) if len(fields) > 2 else ""
        options = clean(fields[3], MAX_OPTIONS) if len(fields) > 3 else ""
        entries.append({"name": name, "device": device,
                        "keyfile": None if keyfile in ("", "none", "-") else keyfile,
                        "options": [o for o in options.split(",")[:256] if o]})
    return entries


def _split_dm_name(name):
    """Split a /dev/mapper name "vg--root-lv_root" into ("vg-root", "lv_root")."""
    for i, c in enumerate(name):
        if c == "-" and name[i - 1:i] != "-" and name[i + 1:i + 2] != "-" and 0 < i < len(name) - 1:
            return name[:i].replace("--", "-"), name[i + 1:].replace("--", "-")
    return None


def _valid_lvm(*names):
    return all(n and len(n) <= MAX_NAME and n not in (".", "..") and _LVM_NAME.match(n)
               for n in names)


def _disk_device(index, part, disks):
    if disks is not None:
        if index >= len(disks):
            return None
        base = disks[index]
    else:
        base = "/dev/sd" + disk_letters(index)
    if not part:
        return ("device", base)
    if int(part) == 0:
        return None
    return ("device", base + ("p" if base[-1:].isdigit() else "") + str(int(part)))


def remap_disk_name(spec, disks=None):
    """Map a guest device spec to a resolution request, or None if unresolvable.

    Returns one of ("UUID"|"LABEL"|"PARTUUID"|"PARTLABEL", value),
    ("device", "/dev/sdb1") for guest disk names (hd/sd/vd/xvd, nvme, cciss,
    FreeBSD GPT ada/vtbd/da) mapped by disk index -- to ``disks[index]`` when
    the appliance's whole-disk names are given, else to /dev/sdX --,
    ("lv", VG, LV) for /dev/VG/LV and /dev/mapper/VG-LV (``--`` is a dash
    inside a name), ("mapper", NAME) for other device-mapper names, ("md",
    NAME) for /dev/mdN (NAME "N") and /dev/md/NAME.  A /dev/mapper name
    with a dash may also be a plain mapping (luks-UUID): when no such LV
    exists, the caller should try /dev/mapper/NAME itself.
    """
    if not isinstance(spec, str) or not spec or len(spec) > MAX_SPEC or "\0" in spec:
        return None
    for kind in ("UUID", "LABEL", "PARTUUID", "PARTLABEL"):
        if spec.startswith(kind + "="):
            value = spec[len(kind) + 1:]
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return (kind, value) if value else None
    if not spec.startswith("/dev/"):
        return None
    parts = spec[5:].split("/")
    if len(parts) == 3 and parts[0] == "disk" and parts[1] in _BY_KIND and parts[2]:
        value = _UDEV_HEX.sub(lambda m: chr(int(m.group(1), 16)), parts[2])
        return (_BY_KIND[parts[1]], value)
    for pattern in (_LETTER_DISK, _NVME, _BSD_GPT, _CCISS):
        m = pattern.match(spec)
        if m:
            first = m.group(1)
            index = disk_index(first) if pattern is _LETTER_DISK else int(first)
            return _disk_device(index, m.group(2), disks)
    m = _MD_NUM.match(spec)
    if m:
        return ("md", str(int(m.group(1))))
    if len(parts) == 2 and parts[0] == "md" and _valid_lvm(parts[1]):
        return ("md", parts[1])
    if len(parts) == 2 and parts[0] == "mapper" and _valid_lvm(parts[1]):
        split = _split_dm_name(parts[1])
        if split and _valid_lvm(*split):
            return ("lv",) + split
        return ("mapper", parts[1])
    if len(parts) == 2 and parts[0] not in _NOT_VG and _valid_lvm(*parts):
        return ("lv", parts[0], parts[1])
    return None
