"""Devices and mounts: device-type tests on guest paths, device-mapper listing, partition
UUID and label lookups, mountables, loop mounts, remounting and manual mountpoints."""

import os
import stat

from .filesystems import blkid_export, mountable_device
from .guestpath import to_guest
from .util import DaemonError, device, fail, run


def do_is_whole_device(ctx, dev):
    dev = device(dev)
    name = os.path.basename(os.path.realpath(dev))
    # a whole disk has /sys/block/NAME/device; partitions have no entry there, and
    # device-mapper, md and loop devices have no "device" link
    return os.path.exists("/sys/block/%s/device" % name)


def _is_type(ctx, path, follow, test):
    ctx.need_root()
    st = ctx.stat_or_none(path, follow=bool(follow))
    return st is not None and test(st.st_mode)


def do_is_blockdev(ctx, path, followsymlinks=None):
    return _is_type(ctx, path, followsymlinks, stat.S_ISBLK)


def do_is_chardev(ctx, path, followsymlinks=None):
    return _is_type(ctx, path, followsymlinks, stat.S_ISCHR)


def do_is_fifo(ctx, path, followsymlinks=None):
    return _is_type(ctx, path, followsymlinks, stat.S_ISFIFO)


def do_is_socket(ctx, path, followsymlinks=None):
    return _is_type(ctx, path, followsymlinks, stat.S_ISSOCK)


def _dm_entries():
    """[(name, dm uuid)] of every device-mapper device."""
    out = []
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return out
    for n in names:
        if not n.startswith("dm-"):
            continue
        try:
            with open("/sys/block/%s/dm/name" % n) as f:
                name = f.read().strip()
            with open("/sys/block/%s/dm/uuid" % n) as f:
                uuid = f.read().strip()
        except OSError:
            continue
        out.append((name, uuid))
    return out


def do_list_dm_devices(ctx):
    return sorted("/dev/mapper/" + name for name, uuid in _dm_entries()
                  if not uuid.startswith("LVM-") and os.path.exists("/dev/mapper/" + name))


def _find_partition(key, value, what):
    if not value:
        raise DaemonError("an empty %s matches no partition" % what, "ENOENT")
    from .fstools import _candidates
    devs = _candidates()
    info = blkid_export(devs)
    for d in devs:
        if info.get(d, {}).get(key, "").lower() == value.lower() if key.endswith("UUID") \
                else info.get(d, {}).get(key) == value:
            return d
    raise DaemonError("no partition with %s %r" % (what, value), "ENOENT")


def do_findfs_partuuid(ctx, uuid):
    return _find_partition("PART_ENTRY_UUID", uuid, "partition UUID")


def do_findfs_partlabel(ctx, label):
    return _find_partition("PART_ENTRY_NAME", label, "partition label")


def do_mountable_device(ctx, mountable):
    return mountable_device(mountable)[0]


def do_mountable_subvolume(ctx, mountable):
    dev, subvol = mountable_device(mountable)
    if subvol is None:
        fail("%s: not a btrfs subvolume" % mountable, "EINVAL")
    return subvol


# ---- mounting -------------------------------------------------------------------------------

def _mountpoint_dir(ctx, mountpoint):
    apath = ctx.resolve(mountpoint)
    if apath != ctx.sysroot:
        ctx.need_root()
    st = ctx.stat_or_none(mountpoint)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise DaemonError("%s: mount point does not exist or is not a directory"
                          % mountpoint, "ENOENT")
    return apath


def do_mount_loop(ctx, file, mountpoint):
    from .files import guest_regular
    from .mounts import _run_guest
    ctx.need_root()
    afile = ctx.resolve(file)
    guest_regular(afile, file)
    apath = _mountpoint_dir(ctx, mountpoint)
    names = {afile: file, apath: to_guest(ctx.sysroot, apath)}
    if not os.path.exists("/dev/loop-control"):
        run(["modprobe", "loop"], check=False)  # the loop devices appear with the module
    _run_guest(ctx, ["mount", "-o", "loop", "--", afile, apath], names)


def do_remount(ctx, mountpoint, rw=None):
    from .mounts import _run_guest
    if rw is None:
        fail("remount: the rw optional argument must be given")
    apath = ctx.resolve(mountpoint)
    if not os.path.ismount(apath):
        fail("%s: not a mountpoint" % mountpoint)
    _run_guest(ctx, ["mount", "-o", "remount," + ("rw" if rw else "ro"), "--", apath],
               {apath: to_guest(ctx.sysroot, apath)})


def _exempt(ctx, path):
    if path.rstrip("/") == "":
        fail("%s: not a valid mountpoint" % path)
    # resolved like any guest path: whatever is (or is not) mounted on /, it stays under
    # the guest root
    return ctx.resolve(path, follow=False)


def do_mkmountpoint(ctx, exemptpath):
    apath = _exempt(ctx, exemptpath)
    os.mkdir(apath, 0o755)
    ctx.server.state.setdefault("mkmountpoints", set()).add(apath)


def do_rmmountpoint(ctx, exemptpath):
    apath = _exempt(ctx, exemptpath)
    if os.path.ismount(apath):
        fail("%s: still mounted (unmount it first)" % exemptpath, "EBUSY")
    os.rmdir(apath)
    ctx.server.state.get("mkmountpoints", set()).discard(apath)


def do_mount_9p(ctx, mounttag, mountpoint, options=None):
    raise DaemonError("mount_9p: deprecated; it does nothing (there is no replacement)",
                      "ENOTSUP")


def do_list_9p(ctx):
    raise DaemonError("list_9p: deprecated; it does nothing (there is no replacement)",
                      "ENOTSUP")
