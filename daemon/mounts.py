"""Mounting guest filesystems under the guest root (never on the host)."""

import os

from .filesystems import mountable_device
from .guestpath import to_guest
from .util import DaemonError, run


def _unescape(s):
    # /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) + 0 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _run_guest(ctx, argv, guest_names):
    """Run mount/umount; errors name guest paths, not appliance ones, and say EBUSY when
    the tool says busy.  GUEST_NAMES: {appliance path: guest path}."""
    try:
        return run(argv)
    except DaemonError as e:
        msg = str(e)
        for apath, gpath in sorted(guest_names.items(), key=lambda kv: -len(kv[0])):
            msg = msg.replace(apath, gpath)
        ename = e.errno_name
        low = msg.lower()
        if "busy" in low:
            ename = "EBUSY"
        elif "wrong fs type" in low or "unknown filesystem type" in low:
            ename = "EINVAL"
        elif "not mounted" in low:
            ename = "EINVAL"
        raise DaemonError(msg, ename) from None


def guest_mounts(ctx):
    """[(device, appliance mountpoint)] under the guest root, in mount order."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            mp = _unescape(fields[4])
            src = _unescape(right.split()[1]) if right else ""
            if mp == ctx.sysroot or mp.startswith(ctx.sysroot + "/"):
                res.append((src, mp))
    return res


def _mount(ctx, options, vfstype, mountable, mountpoint):
    dev, subvol = mountable_device(mountable)
    apath = ctx.resolve(mountpoint)
    if apath != ctx.sysroot:
        ctx.need_root()
    if not os.path.isdir(apath):
        raise DaemonError("%s: mount point does not exist or is not a directory"
                          % mountpoint, "ENOENT")
    opts = options
    if subvol:
        opts = ",".join(o for o in (options, "subvol=" + subvol) if o)
    argv = ["mount"]
    if opts:
        argv += ["-o", opts]
    if vfstype:
        argv += ["-t", vfstype]
    argv += ["--", dev, apath]
    _run_guest(ctx, argv, {apath: to_guest(ctx.sysroot, apath)})


def do_mount(ctx, mountable, mountpoint):
    _mount(ctx, "", None, mountable, mountpoint)


def do_mount_ro(ctx, mountable, mountpoint):
    _mount(ctx, "ro", None, mountable, mountpoint)


def do_mount_options(ctx, options, mountable, mountpoint):
    _mount(ctx, options, None, mountable, mountpoint)


def do_mount_vfs(ctx, options, vfstype, mountable, mountpoint):
    _mount(ctx, options, vfstype, mountable, mountpoint)


def do_umount(ctx, pathordevice, force=None, lazyunmount=None):
    if pathordevice.startswith("/dev/"):
        dev, _ = mountable_device(pathordevice)
        real = os.path.realpath(dev)        # /dev/disk/guestfs/LABEL is a symlink
        targets = [mp for src, mp in guest_mounts(ctx)
                   if src == dev or os.path.realpath(src) == real]
        if not targets:
            raise DaemonError("%s: not mounted" % pathordevice, "EINVAL")
        target = targets[-1]
    else:
        target = ctx.resolve(pathordevice)
        if not os.path.ismount(target):
            raise DaemonError("%s: not mounted" % pathordevice, "EINVAL")
    argv = ["umount"]
    if force:
        argv.append("-f")
    if lazyunmount:
        argv.append("-l")
    _run_guest(ctx, argv + ["--", target], {target: to_guest(ctx.sysroot, target)})


def umount_all(ctx):
    mps = [mp for _, mp in guest_mounts(ctx)]
    for mp in sorted(set(mps), key=lambda p: -p.count("/")):
        while os.path.ismount(mp):
            run(["umount", "--", mp])


def do_umount_all(ctx):
    umount_all(ctx)


def _public_name(src):
    """/dev/VG/LV for a logical volume (mount shows /dev/mapper/VG-LV), as libguestfs."""
    if src.startswith("/dev/mapper/") or src.startswith("/dev/dm-"):
        from .lvm import canonical_lv_name
        try:
            return canonical_lv_name(src) or src
        except OSError:
            return src
    return src


def do_mounts(ctx):
    return [_public_name(src) for src, _ in guest_mounts(ctx)]


def do_mountpoints(ctx):
    return [[_public_name(src), to_guest(ctx.sysroot, mp)] for src, mp in guest_mounts(ctx)]


def do_sync(ctx):
    os.sync()


def do_statvfs(ctx, path):
    ctx.need_root()
    s = os.statvfs(ctx.resolve(path))
    return {"bsize": s.f_bsize, "frsize": s.f_frsize, "blocks": s.f_blocks,
            "bfree": s.f_bfree, "bavail": s.f_bavail, "files": s.f_files,
            "ffree": s.f_ffree, "favail": s.f_favail, "fsid": s.f_fsid,
            "flag": s.f_flag, "namemax": s.f_namemax}


def _df(ctx, extra):
    ctx.need_root()
    mps = [mp for _, mp in guest_mounts(ctx)]
    out, _, _ = run(["df"] + extra + ["--"] + mps)
    # show guest mountpoints, not appliance paths
    lines = out.splitlines()
    for i, line in enumerate(lines[1:], 1):
        for mp in sorted(mps, key=len, reverse=True):
            if line.endswith(" " + mp):
                lines[i] = line[:-len(mp)] + to_guest(ctx.sysroot, mp)
                break
    return "\n".join(lines) + "\n"


def do_df(ctx):
    return _df(ctx, [])


def do_df_h(ctx):
    return _df(ctx, ["-h"])
