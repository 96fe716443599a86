"""ext2/3/4 tuning and deprecated journal helpers, inode generations, lost+found, XFS
geometry as pairs, f2fs growth."""

import fcntl
import os
import re
import struct

from .fstools import _attr_target, _mounted_dir, _mountpoints_of
from .util import DaemonError, device, fail, run

_ERROR_BEHAVIORS = ("continue", "remount-ro", "panic")


def do_tune2fs(ctx, dev, force=None, maxmountcount=None, mountcount=None, errorbehavior=None,
               group=None, intervalbetweenchecks=None, reservedblockspercentage=None,
               lastmounteddirectory=None, reservedblockscount=None, user=None):
    dev = device(dev)
    argv = ["tune2fs"]
    if force:
        argv.append("-f")
    for value, opt in ((maxmountcount, "-c"), (mountcount, "-C"), (group, "-g"),
                       (intervalbetweenchecks, "-i"), (reservedblockspercentage, "-m"),
                       (reservedblockscount, "-r"), (user, "-u")):
        if value is None:
            continue
        if value < 0 and opt != "-c":
            fail("tune2fs: %s: the value must not be negative (%d)" % (opt, value))
        if opt == "-i":
            argv += [opt, "%ds" % value]           # seconds (a bare number is days)
        else:
            argv += [opt, str(value)]
    if errorbehavior is not None:
        if errorbehavior not in _ERROR_BEHAVIORS:
            fail("tune2fs: errorbehavior must be one of %s" % ", ".join(_ERROR_BEHAVIORS))
        argv += ["-e", errorbehavior]
    if lastmounteddirectory is not None:
        argv += ["-M", lastmounteddirectory]
    if len(argv) == 1 or argv == ["tune2fs", "-f"]:
        return                  # nothing to change
    run(argv + ["--", dev])


def do_tune2fs_l(ctx, dev):
    dev = device(dev)
    out, _, _ = run(["tune2fs", "-l", "--", dev], limit=1 << 20)
    pairs = []
    for line in out.splitlines():
        if line.startswith("tune2fs ") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value in ("<none>", "<not available>"):
            value = ""
        pairs.append([key.strip(), value])
    return pairs


def _check_blocksize(blocksize):
    if blocksize not in (1024, 2048, 4096, 8192, 16384, 32768, 65536):
        fail("blocksize %d: must be a power of 2 from 1024 to 65536" % blocksize)
    return str(blocksize)


def _mke2journal(blocksize, dev, extra):
    dev = device(dev)
    run(["mke2fs", "-F", "-q", "-O", "journal_dev", "-b", _check_blocksize(blocksize)] +
        extra + ["--", dev])


def do_mke2journal(ctx, blocksize, dev):
    _mke2journal(blocksize, dev, [])


def do_mke2journal_L(ctx, blocksize, label, dev):
    if len(label.encode()) > 16:
        fail("%r: ext2/3/4 labels are limited to 16 bytes" % label)
    _mke2journal(blocksize, dev, ["-L", label])


def do_mke2journal_U(ctx, blocksize, uuid, dev):
    from .fstools import _check_uuid
    _check_uuid(uuid)
    _mke2journal(blocksize, dev, ["-U", uuid])


def _mke2fs_j(fstype, blocksize, dev, journal_spec):
    if fstype not in ("ext2", "ext3", "ext4"):
        fail("%s: not an ext2/3/4 filesystem type" % fstype)
    dev = device(dev)
    if "," in journal_spec:
        fail("%r: the journal cannot be named with a comma" % journal_spec)
    run(["mke2fs", "-F", "-q", "-t", fstype, "-b", _check_blocksize(blocksize),
         "-J", "device=" + journal_spec, "--", dev])


def do_mke2fs_J(ctx, fstype, blocksize, dev, journal):
    _mke2fs_j(fstype, blocksize, dev, device(journal))


def do_mke2fs_JL(ctx, fstype, blocksize, dev, label):
    _mke2fs_j(fstype, blocksize, dev, "LABEL=" + label)


def do_mke2fs_JU(ctx, fstype, blocksize, dev, uuid):
    from .fstools import _check_uuid
    _check_uuid(uuid)
    _mke2fs_j(fstype, blocksize, dev, "UUID=" + uuid)


def do_mkfs_b(ctx, fstype, blocksize, dev):
    from .filesystems import do_mkfs
    do_mkfs(ctx, fstype, dev, blocksize=blocksize)


def do_mklost_and_found(ctx, mountpoint):
    ctx.need_root()
    fd = ctx.open_dir(mountpoint)
    try:
        # mklost+found works in its current directory: the guest directory, reached by a
        # descriptor
        run(["mklost+found"], cwd="/proc/self/fd/%d" % fd, pass_fds=(fd,))
    finally:
        os.close(fd)


# FS_IOC_GETVERSION / FS_IOC_SETVERSION: the inode's generation
_GETVERSION = 0x80087601
_SETVERSION = 0x40087602


def _open_attr(ctx, path):
    apath = _attr_target(ctx, path)           # a regular file or a directory, else refused
    return os.open(apath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


def _generation_error(e, path):
    import errno
    if e.errno in (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP):
        return DaemonError("%s: inode generations are only available on ext2/3/4 (and "
                           "ext4 with metadata_csum cannot change them)" % path, "EINVAL")
    return e


def do_get_e2generation(ctx, file):
    fd = _open_attr(ctx, file)
    try:
        buf = fcntl.ioctl(fd, _GETVERSION, bytes(8))
    except OSError as e:
        raise _generation_error(e, file) from None
    finally:
        os.close(fd)
    return struct.unpack("<I", buf[:4])[0]


def do_set_e2generation(ctx, file, generation):
    if not 0 <= generation < 1 << 32:
        fail("generation %d: must be from 0 to 2^32-1" % generation)
    fd = _open_attr(ctx, file)
    try:
        fcntl.ioctl(fd, _SETVERSION, struct.pack("<Ixxxx", generation))
    except OSError as e:
        raise _generation_error(e, file) from None
    finally:
        os.close(fd)


# ---- xfs_info2 ------------------------------------------------------------------------------

_XFS_FIELD = re.compile(r"([-\w]+)=(\d+(?: (?:blks|extents))?)")
_XFS_LEAD = re.compile(r"(version \d+|\S+ log|\S+)")


def parse_xfs_info2(text):
    """[[key, value]] from xfs_info's report: SECTION for the text after a section's =,
    SECTION.FIELD for its numeric fields."""
    pairs = []
    section = None
    for line in text.splitlines():
        head, eq, rest = line.partition("=")
        if not eq:
            continue
        name = head.strip()
        if name:
            section = name
            m = _XFS_LEAD.match(rest)
            if m and "=" not in m.group(1):
                pairs.append([section, m.group(1)])
                rest = rest[m.end():]
        elif section is None:
            continue
        for key, value in _XFS_FIELD.findall(rest):
            pairs.append(["%s.%s" % (section, key), value])
    return pairs


def do_xfs_info2(ctx, pathordevice):
    if pathordevice.startswith("/dev/"):
        dev = device(pathordevice)
        mps = _mountpoints_of(dev)
        target = mps[0] if mps else dev
    else:
        target, _ = _mounted_dir(ctx, pathordevice)
        if not os.path.ismount(target):
            fail("%s: not a mountpoint" % pathordevice)
    out, _, _ = run(["xfs_info", target], limit=1 << 20)
    shown = target if target.startswith("/dev/") else pathordevice
    out = out.replace(target, shown)
    pairs = parse_xfs_info2(out)
    if not pairs:
        raise DaemonError("%s: xfs_info printed nothing it could read" % pathordevice, "EIO")
    return pairs


# ---- f2fs -----------------------------------------------------------------------------------

def do_f2fs_expand(ctx, dev):
    from .fileops import _need_group
    _need_group("f2fs")
    dev = device(dev)
    if _mountpoints_of(dev):
        fail("%s: mounted (unmount it first)" % dev, "EBUSY")
    run(["resize.f2fs", "--", dev])

