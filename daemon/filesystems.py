"""Filesystem identification (blkid) and creation (mkfs)."""

import os

from .devices import disk_names, partitions_of
from .util import DaemonError, device, fail, run


def mountable_device(mountable):
    """(device, subvolume or None) for a Mountable argument."""
    if mountable.startswith("btrfsvol:"):
        rest = mountable[len("btrfsvol:"):]
        # btrfsvol:/dev/sda2/sub/vol : the device is the longest existing /dev prefix
        parts = rest.split("/")
        for i in range(len(parts), 2, -1):
            cand = "/".join(parts[:i])
            if os.path.exists(cand):
                return device(cand), "/".join(parts[i:]) or "/"
        fail("%s: no such device" % mountable, "ENOENT")
    return device(mountable), None


def blkid_export(devs):
    """{device: {KEY: value}} for DEVS, probing without any cache.

    blkid -p stops at the first device where it finds nothing (or fails), so it runs again
    for the devices after that one."""
    result = {d: {} for d in devs}
    todo = list(devs)
    while todo:
        out, _, rc = run(["blkid", "-c", "/dev/null", "-p", "-o", "export"] + todo,
                         check=False)
        seen = set()
        cur = None
        for line in out.splitlines():
            if not line.strip():
                cur = None
                continue
            key, _, value = line.partition("=")
            if key == "DEVNAME":
                cur = result.setdefault(value, {})
                seen.add(value)
            elif cur is not None:
                cur[key] = value
        if rc == 0:
            break
        done = 0
        while done < len(todo) and todo[done] in seen:
            done += 1
        todo = todo[done + 1:]
    return result


def _probe(mountable, key):
    dev, _ = mountable_device(mountable)
    return blkid_export([dev]).get(dev, {}).get(key, "")


def do_vfs_type(ctx, mountable):
    return _probe(mountable, "TYPE")


def do_vfs_label(ctx, mountable):
    return _probe(mountable, "LABEL")


def do_vfs_uuid(ctx, mountable):
    return _probe(mountable, "UUID")


def do_blkid(ctx, dev):
    dev = device(dev)
    info = blkid_export([dev]).get(dev, {})
    return [[k, v] for k, v in info.items()]


def _is_extended(disk, part):
    # an MBR extended partition shows 2 sectors (1 KiB) in sysfs
    try:
        with open("/sys/block/%s/%s/size" % (disk, part)) as f:
            return int(f.read()) <= 2
    except OSError:
        return False


def do_list_filesystems(ctx):
    devs = []
    for disk in disk_names():
        parts = partitions_of(disk)
        if parts:
            devs += ["/dev/" + p for p in parts if not _is_extended(disk, p)]
        else:
            devs.append("/dev/" + disk)
    from .luks import ENCRYPTED_TYPES, open_mappings
    devs += open_mappings()     # opened encrypted devices, as /dev/mapper/NAME
    from .lvm import lvs_for_listing
    from .md import md_for_listing
    devs += md_for_listing(ctx)     # running md arrays (or their partitions)
    devs += lvs_for_listing(ctx)    # active logical volumes, as /dev/VG/LV
    info = blkid_export(devs)
    out = []
    for d in devs:
        t = info.get(d, {}).get("TYPE")
        if info.get(d, {}).get("PTTYPE") and not t:
            continue            # a disk with a partition table that the kernel did not split
        if t in ENCRYPTED_TYPES:
            continue            # listed once opened, as its /dev/mapper/NAME
        if t and (t.startswith("LVM2_") or t.endswith("_member")):
            continue            # LVM PVs, md members: their LVs and arrays are listed
        out.append([d, t or "unknown"])
    return out


# mkfs -------------------------------------------------------------------------------------

def do_mkfs(ctx, fstype, dev, blocksize=None, features=None, inode=None, sectorsize=None,
            label=None):
    dev = device(dev)
    if not fstype.replace("_", "").isalnum():
        fail("%s: invalid filesystem type" % fstype)
    argv = ["mkfs." + fstype]
    ext = fstype in ("ext2", "ext3", "ext4")
    if ext:
        argv += ["-F", "-q"]
        if blocksize:
            argv += ["-b", str(blocksize)]
        if features:
            argv += ["-O", features]
        if inode:
            argv += ["-I", str(inode)]
        if label is not None:
            argv += ["-L", label]
    elif fstype == "xfs":
        argv += ["-f", "-q"]
        if blocksize:
            argv += ["-b", "size=%d" % blocksize]
        if sectorsize:
            argv += ["-s", "size=%d" % sectorsize]
        if label is not None:
            argv += ["-L", label]
    elif fstype == "btrfs":
        argv += ["-f", "-q"]
        if blocksize:
            argv += ["--sectorsize", str(blocksize)]
        if label is not None:
            argv += ["-L", label]
    elif fstype in ("vfat", "fat", "msdos"):
        if blocksize:
            if blocksize % 512:
                fail("vfat blocksize must be a multiple of 512")
            argv += ["-s", str(blocksize // 512)]
        if label is not None:
            argv += ["-n", label]
        argv += ["-I"]
    elif fstype == "ntfs":
        argv += ["-Q", "-F", "-q"]
        if blocksize:
            argv += ["-c", str(blocksize)]
        if label is not None:
            argv += ["-L", label]
    else:
        if blocksize or features or inode or sectorsize:
            fail("mkfs: options blocksize/features/inode/sectorsize are not supported for %s"
                 % fstype)
        if label is not None:
            argv += ["-L", label]
    if features and not ext:
        fail("mkfs: features is only supported for ext2/3/4")
    if inode and not ext:
        fail("mkfs: inode is only supported for ext2/3/4")
    argv.append(dev)
    try:
        run(argv)
    except DaemonError as e:
        if "command not found" in str(e):
            raise DaemonError("mkfs: filesystem type %s is not supported by this appliance"
                              % fstype, "ENOTSUP") from None
        raise
