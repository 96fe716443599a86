"""Actions about the appliance itself, and the library's internal calls."""

import os
import sys

from .util import DaemonError, PATH

# Optional groups of actions, and what the appliance needs for each: tools on PATH,
# prefixed with "fs:" a filesystem the running kernel can mount, prefixed with "lib:" a
# shared library the daemon loads with ctypes.
GROUPS = {
    "acl": [],                # system calls on system.posix_acl_* (daemon/meta.py)
    "blkdiscard": [],         # the BLKDISCARD ioctl (daemon/fstools.py)
    "blkdiscardzeroes": [],
    "btrfs": ["btrfs", "mkfs.btrfs", "fs:btrfs"],
    "clevisluks": ["clevis", "cryptsetup"],
    "extlinux": ["extlinux"],
    "f2fs": ["mkfs.f2fs", "fs:f2fs"],
    "fstrim": ["fstrim"],
    "gdisk": ["sgdisk"],
    "grub": ["grub-install"],
    "hivex": ["lib:libhivex.so.0"],
    "inotify": [None],
    "journal": [None],
    "ldm": ["ldmtool"],
    "libtsk": ["fls", "ils"],  # the Sleuth Kit's tools (daemon/fileops.py)
    "libyara": [None],
    "linuxcaps": ["getcap", "setcap"],
    "linuxfsuuid": ["tune2fs"],
    "linuxmodules": ["modprobe"],
    "linuxxattrs": [],        # os.getxattr and friends
    "luks": ["cryptsetup"],
    "lvm2": ["lvm"],
    "mdadm": ["mdadm"],
    "mknod": [],
    "ntfs3g": ["ntfs-3g", "fs:fuseblk"],
    "ntfsprogs": ["ntfsresize", "mkfs.ntfs"],
    "rsync": ["rsync"],
    "scrub": ["scrub"],
    "selinux": [None],
    "selinuxrelabel": [None],
    "sleuthkit": ["icat"],
    "squashfs": ["mksquashfs", "fs:squashfs"],
    "syslinux": ["syslinux", "mcopy", "mattrib"],   # Debian's syslinux drives mtools
    "wipefs": ["wipefs"],
    "xfs": ["mkfs.xfs", "xfs_repair", "fs:xfs"],
    "xz": ["xz"],
    "zerofree": ["zerofree"],
}

# kernel module providing a filesystem, where the name differs
_FS_MODULE = {"fuseblk": "fuse"}


def kernel_has_fs(fs):
    try:
        with open("/proc/filesystems") as f:
            if any(line.split()[-1] == fs for line in f if line.strip()):
                return True
    except OSError:
        pass
    mod = _FS_MODULE.get(fs, fs)
    release = os.uname().release
    base = "/lib/modules/%s" % release
    try:
        with open(base + "/modules.builtin") as f:
            for line in f:
                if os.path.basename(line.strip()) in (mod + ".ko",):
                    return True
    except OSError:
        return False
    try:
        with open(base + "/modules.dep") as f:
            for line in f:
                path = line.split(":", 1)[0]
                if os.path.basename(path).split(".ko")[0] == mod:
                    return os.path.exists(os.path.join(base, path))
    except OSError:
        pass
    return False


_cache = {}

#: where the appliance (and a Debian or Fedora host) keeps shared libraries
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
                "/usr/lib")


def library_present(name):
    return any(os.path.exists(os.path.join(d, name)) for d in LIBRARY_DIRS)


def _which(name):
    return any(os.access(os.path.join(d, name), os.X_OK) for d in PATH.split(":"))


def group_available(group):
    if group not in GROUPS:
        raise DaemonError("%s: unknown group" % group, "EINVAL")
    if group not in _cache:
        ok = True
        for need in GROUPS[group]:
            if need is None:
                ok = False
            elif need.startswith("fs:"):
                ok = ok and kernel_has_fs(need[3:])
            elif need.startswith("lib:"):
                ok = ok and library_present(need[4:])
            else:
                ok = ok and _which(need)
            if not ok:
                break
        _cache[group] = ok
    return _cache[group]


def do_available(ctx, groups):
    missing = [g for g in groups if not group_available(g)]
    if missing:
        raise DaemonError("these groups are not available in this appliance: %s"
                          % " ".join(missing), "ENOTSUP")


def do_feature_available(ctx, groups):
    return all(group_available(g) for g in groups)


def do_available_all_groups(ctx):
    return sorted(GROUPS)


def do_ping_daemon(ctx):
    return None


def do_debug_appliance_version(ctx):
    return "%s python %s" % (os.uname().release, sys.version.split()[0])


# ---- internal calls from the library (not in the action table) ----

def do_internal_setup(ctx, labels=None, umask=None, **_):
    """After launch, once the disks are there: disk labels (label -> index) become
    /dev/disk/guestfs/LABEL symlinks, and md arrays and LVM volumes the disks hold are
    assembled and activated, as libguestfs does at launch."""
    from .devices import make_label_links
    from .lvm import autoactivate
    from .devices import disk_names
    names = disk_names()
    # kept by disk name: a drive removed later must not shift the others' labels
    ctx.server.state["labels"] = {
        label: names[i] if isinstance(i, int) and 0 <= i < len(names) else i
        for label, i in (labels or {}).items()}
    if labels:
        make_label_links(ctx.server.state["labels"])
    autoactivate(ctx)
    return None


def do_internal_autosync(ctx):
    from .mounts import umount_all
    umount_all(ctx)
    os.sync()
    return None


def do_internal_exit(ctx):
    os.sync()
    ctx.server.state["exit"] = True
    return None
