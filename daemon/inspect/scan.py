"""Inspection inside the appliance: find the operating systems on the disks and describe
each one (the parsers of this package do the reading; this module mounts and fetches).

Every candidate filesystem is mounted read-only on a private directory of the appliance
(never under the guest root the user works in, so the user's mounts are left alone) and
unmounted again.  Guest files are read through guestpath's chrooted resolution, regular
files only, without blocking, at most a fixed number of bytes each.
"""

import os
import stat
import struct

from ..filesystems import mountable_device
from ..guestpath import resolve, resolve_lstat
from ..util import DaemonError, open_nonblocking, run
from . import fstab as F
from .hostname import HOSTNAME_FILES, MAX_HOSTNAME_FILE_BYTES, find_hostname
from .osinfo import osinfo_short_id
from .release import MARKER_PATHS, MAX_RELEASE_BYTES, RELEASE_FILES, identify

#: where candidate filesystems are mounted while they are looked at
INSPECT_DIR = "/run/guestkit-inspect"
#: filesystems that can hold a Unix-like root
ROOT_FS_TYPES = frozenset(("ext2", "ext3", "ext4", "xfs", "btrfs", "jfs", "reiserfs", "f2fs",
                           "ufs", "nilfs2"))
#: filesystems that can hold a Windows system volume
WINDOWS_FS_TYPES = frozenset(("ntfs", "vfat", "msdos", "fat", "exfat"))
OS_FS_TYPES = ROOT_FS_TYPES | WINDOWS_FS_TYPES
MAX_FILESYSTEMS = 1024          # filesystems looked at
MAX_SUBVOLUMES = 256            # btrfs subvolumes looked at, per filesystem
MAX_FSTAB_BYTES = 4 << 20       # /etc/fstab and /etc/crypttab
#: binaries whose ELF header tells the guest's architecture, the first one found wins
ARCH_BINARIES = ("/bin/ls", "/usr/bin/ls", "/bin/sh", "/usr/bin/sh", "/bin/busybox",
                 "/usr/bin/env", "/sbin/init", "/usr/lib/systemd/systemd")
# ELF e_machine -> architecture name (as file_architecture says it), by ELF class
_ELF_MACHINES = {3: "i386", 62: "x86_64", 40: "arm", 183: "aarch64", 8: "mips",
                 20: "ppc", 21: "ppc64", 22: "s390", 2: "sparc", 43: "sparc64", 50: "ia64",
                 243: "riscv", 258: "loongarch64"}


def read_file(root, path, limit):
    """Bytes of guest file PATH (resolved inside ROOT as if chrooted), at most LIMIT; None
    when it is missing, not a regular file, or unreadable."""
    try:
        fd, _ = open_nonblocking(resolve(root, path), os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, DaemonError):
        return None
    try:
        chunks, left = [], limit
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def exists(root, path):
    try:
        return resolve_lstat(root, path, follow=False)[1] is not None
    except OSError:                     # a symlink loop, a file where a directory is ...
        return False


def is_dir(root, path):
    try:
        st = resolve_lstat(root, path)[1]
    except OSError:
        return False
    return st is not None and (st.st_mode & 0o170000) == 0o040000


def is_file(root, path):
    """PATH is a regular file inside ROOT (a final symlink is not)."""
    apath = safe_resolve(root, path) if path else None
    try:
        return apath is not None and stat.S_ISREG(os.lstat(apath).st_mode)
    except OSError:
        return False


def safe_resolve(root, path):
    """resolve() inside ROOT, or None when the guest's tree makes it impossible."""
    try:
        return resolve(root, path)
    except OSError:
        return None


def elf_arch(header):
    """The architecture an ELF header (its first 20 bytes) was built for, or None."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] not in (1, 2) \
            or header[5] not in (1, 2):
        return None
    is64 = header[4] == 2
    machine = struct.unpack("<H" if header[5] == 1 else ">H", header[18:20])[0]
    name = _ELF_MACHINES.get(machine)
    if name in ("ppc64", "mips") and header[5] == 1:
        name += "le" if name == "ppc64" else "el"
    if name == "mips" and is64:
        name = "mips64"
    if name == "s390" and is64:
        name = "s390x"
    if name == "riscv":
        name = "riscv64" if is64 else "riscv32"
    return name


def guest_arch(root):
    for path in ARCH_BINARIES:
        arch = elf_arch(read_file(root, path, 20) or b"")
        if arch:
            return arch
    return "unknown"


class Mounted:
    """DEVICE mounted read-only on a private directory for the duration of a with block
    (.path), or .path None when it cannot be mounted (then nothing is to undo)."""
    _count = 0

    def __init__(self, mountable, toplevel=False):
        """MOUNTABLE: a device or btrfsvol:DEV/SUBVOL; TOPLEVEL: a btrfs filesystem's top
        level (every subvolume inside), not its default subvolume."""
        Mounted._count += 1
        self.path = os.path.join(INSPECT_DIR, str(Mounted._count))
        self.device, self.subvol = mountable_device(mountable)
        if self.subvol == "/":
            self.subvol = None
        self.toplevel = toplevel
        self.stack = []

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        if not self.mount(self.device, self.path, self.subvol, self.toplevel):
            os.rmdir(self.path)
            self.path = None
        return self

    def mount(self, device, target, subvol=None, toplevel=False):
        sub = ",subvol=" + subvol if subvol else ",subvolid=5" if toplevel else ""
        _, _, rc = run(["mount", "-o", "ro" + sub, "--", device, target], check=False)
        if rc != 0:
            # already mounted read-write (the user mounted it): the kernel will not mount
            # it read-only again, but shares it read-write; this mount is then made
            # read-only on its own
            _, _, rc = run(["mount", "-o", "rw" + sub, "--", device, target], check=False)
            if rc == 0:
                self.stack.append(target)
                _, _, rc = run(["mount", "-o", "remount,bind,ro", "--", target],
                               check=False)
                return rc == 0
        if rc == 0:
            self.stack.append(target)
        return rc == 0

    def __exit__(self, *exc):
        for target in reversed(self.stack):
            run(["umount", "-l", "--", target], check=False)
        if self.path:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def describe_root(root):
    """The identity of the OS whose root filesystem is mounted at ROOT, or None when this
    filesystem is not the root of an operating system guestkit recognises."""
    if not is_dir(root, "/etc"):
        return None
    files = {p: read_file(root, p, MAX_RELEASE_BYTES) for p in RELEASE_FILES}
    for p in MARKER_PATHS:
        files[p] = b"" if exists(root, p) else None
    info = identify(files)
    if info["type"] == "unknown":
        if not (exists(root, "/etc/fstab") and (is_dir(root, "/bin") or
                                                is_dir(root, "/usr/bin"))):
            return None
        info["type"] = "linux"
    hfiles = {p: read_file(root, p, MAX_HOSTNAME_FILE_BYTES) for p in HOSTNAME_FILES}
    info["hostname"] = find_hostname(hfiles, info["type"], info["distro"]) or "unknown"
    info["arch"] = guest_arch(root)
    info["osinfo"] = osinfo_short_id(info)
    info["fstab"] = read_file(root, "/etc/fstab", MAX_FSTAB_BYTES) or b""
    info["crypttab"] = read_file(root, "/etc/crypttab", MAX_FSTAB_BYTES) or b""
    return info


def btrfs_subvolumes(top):
    """The paths of the subvolumes of the btrfs filesystem whose top level is mounted at
    TOP (at most MAX_SUBVOLUMES)."""
    out, _, rc = run(["btrfs", "subvolume", "list", top], check=False)
    paths = []
    for line in out.splitlines():
        _, sep, path = line.partition(" path ")
        if sep and path and "\0" not in path:
            paths.append(path[len("<FS_TREE>/"):] if path.startswith("<FS_TREE>/") else path)
        if len(paths) >= MAX_SUBVOLUMES:
            break
    return paths if rc == 0 else []


def describe_any(tree):
    """describe_root, then a Windows system volume (winroot.describe_windows)."""
    info = describe_root(tree)
    if info is None:
        from .winroot import describe_windows       # winroot reads files through here
        info = describe_windows(tree)
    return info


def candidate_roots(dev, fstype):
    """[(root name, its identity)] for the filesystem DEV: the filesystem itself, and for
    btrfs each subvolume (btrfsvol:DEV/PATH), that holds an operating system."""
    found = []
    with Mounted(dev, toplevel=fstype == "btrfs") as m:
        if m.path is None:
            return found
        trees = [(dev, m.path)]
        if fstype == "btrfs":
            for path in btrfs_subvolumes(m.path):
                tree = safe_resolve(m.path, "/" + path)
                if tree is not None:
                    trees.append(("btrfsvol:%s/%s" % (dev, path), tree))
        for name, tree in trees:
            try:
                info = describe_any(tree)
            except (OSError, ValueError, DaemonError):
                continue            # a tree too odd to read is not an OS we can describe
            if info is not None:
                found.append((name, info))
    return found


class DeviceIndex:
    """The appliance's filesystems and what blkid says of them, to turn fstab's device
    specs into appliance device names."""

    def __init__(self, filesystems, blkid):
        self.filesystems = filesystems          # [(device, type)]
        self.by = {}
        self.mbr = {}           # (disk signature hex, byte offset) -> partition
        for dev, tags in blkid.items():
            if tags.get("PART_ENTRY_SCHEME") == "dos" and \
                    tags.get("PART_ENTRY_OFFSET", "").isdigit():
                sig = tags.get("PART_ENTRY_UUID", "").partition("-")[0].lower()
                self.mbr.setdefault((sig, int(tags["PART_ENTRY_OFFSET"]) * 512), dev)
            for spec, key in (("UUID", "UUID"), ("LABEL", "LABEL"),
                              ("PARTUUID", "PART_ENTRY_UUID"),
                              ("PARTLABEL", "PART_ENTRY_NAME")):
                if tags.get(key):
                    self.by.setdefault((spec, tags[key].lower() if spec.endswith("UUID")
                                        else tags[key]), dev)

    def resolve(self, spec):
        """The appliance device fstab's SPEC names, or None."""
        # guest disk names map by index to /dev/sdX, the appliance's name for the disk
        # added at that index: kept even when no such disk was added, as libguestfs does
        req = F.remap_disk_name(spec)
        if req is None:
            return None
        kind = req[0]
        if kind in ("UUID", "LABEL", "PARTUUID", "PARTLABEL"):
            value = req[1].lower() if kind.endswith("UUID") else req[1]
            return self.by.get((kind, value))
        if kind == "device":
            return req[1]       # kept even when absent (a disk not given), as libguestfs
        elif kind == "lv":
            dev = "/dev/%s/%s" % (req[1], req[2])
            if not os.path.exists(dev) and spec.startswith("/dev/mapper/"):
                dev = spec                      # a plain mapping, such as luks-UUID
        elif kind == "mapper":
            dev = "/dev/mapper/" + req[1]
        elif kind == "md":
            dev = ("/dev/md" if req[1].isdigit() else "/dev/md/") + req[1]
        else:
            return None
        return dev if os.path.exists(dev) else None


    def drive(self, where):
        """The partition a Windows drive letter names: WHERE is ("mbr", disk signature,
        byte offset) or ("gpt", partition GUID), as windows.mounted_device gives it."""
        if where[0] == "mbr":
            return self.mbr.get((where[1], where[2]))
        return self.by.get(("PARTUUID", where[1]))


def drive_mappings(info, index):
    """[[letter, partition]] for the Windows root described by INFO, sorted by letter."""
    out = {}
    for letter, where in info.get("drive_blobs", ()):
        dev = index.drive(where)
        if dev is not None:
            out.setdefault(letter, dev)
    return sorted([k, v] for k, v in out.items())


def mountpoints(info, root_device, index):
    """[[mountpoint, device]] of the root at ROOT_DEVICE from its fstab, "/" first."""
    out = [["/", root_device]]
    seen = {"/"}
    for e in F.parse_fstab(info["fstab"]):
        mp = e["mountpoint"]
        if mp in seen:
            continue
        dev = index.resolve(e["spec"])
        if dev is None:
            continue
        if e.get("subvol") and dev.startswith("/dev/"):
            dev = "btrfsvol:%s/%s" % (dev, e["subvol"].strip("/"))
        seen.add(mp)
        out.append([mp, dev])
    return out
