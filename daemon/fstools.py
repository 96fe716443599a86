"""Handlers for the fstools actions (standard library only).

Guest paths go through ctx.resolve (chrooted resolution); what a tool then receives is an
appliance path without any symlink left in it, and files meant to be regular are checked to
be so.  Devices go through util.device().
"""

import errno
import os
import re
import stat

from .filesystems import blkid_export, mountable_device
from .guestpath import to_guest
from .util import DaemonError, device, fail, open_nonblocking, run

BLKGETSIZE64 = 0x80081272
ZERO_BLOCK = 1 << 20            # zero / is_zero work in blocks of this size


# ---- helpers --------------------------------------------------------------------------------

def _info(dev):
    return blkid_export([dev]).get(dev, {})


def _fstype(dev):
    return _info(dev).get("TYPE", "")


def _is_ext(t):
    return t in ("ext2", "ext3", "ext4")


def _guest_run(ctx, argv, apath, gpath, **kw):
    """Run a tool on an appliance path; errors name the guest path instead."""
    try:
        return run(argv, **kw)
    except DaemonError as e:
        msg = str(e).replace(apath, gpath) if apath != ctx.sysroot else str(e)
        raise DaemonError(msg, e.errno_name) from None


def _mounted_dir(ctx, path):
    """(appliance path, guest path) of a directory of a mounted guest filesystem."""
    ctx.need_root()
    apath = ctx.resolve(path)
    if not os.path.isdir(apath):
        fail("%s: not a directory" % path, "ENOTDIR" if os.path.exists(apath) else "ENOENT")
    return apath, to_guest(ctx.sysroot, apath)


def _mountinfo():
    """[(major:minor, source, mountpoint, fstype)] of every mount in the appliance."""
    from .mounts import _unescape
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            res.append((fields[2], _unescape(rfields[1]) if len(rfields) > 1 else "",
                        _unescape(fields[4]), rfields[0] if rfields else ""))
    return res


def _mountpoints_of(dev):
    """Where the block device DEV is mounted (any filesystem type, btrfs included)."""
    st = os.stat(dev)
    mm = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    real = os.path.realpath(dev)
    out = []
    for dmm, src, mp, _ in _mountinfo():
        if dmm == mm or (src.startswith("/dev/") and os.path.realpath(src) == real):
            out.append(mp)
    return out


def _refuse_mounted(dev, what):
    if _mountpoints_of(dev):
        fail("%s: %s: the filesystem is mounted (unmount it first)" % (what, dev), "EBUSY")


class _TempMount:
    """Mount DEV (optionally a btrfs subvolume) privately, outside the guest tree."""

    def __init__(self, dev, subvol=None, readonly=True):
        self.dev, self.subvol, self.readonly = dev, subvol, readonly
        self.dir = None

    def __enter__(self):
        import tempfile
        os.makedirs("/run/guestkit", exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="mnt.", dir="/run/guestkit")
        opts = ["ro" if self.readonly else "rw"]
        if self.subvol and self.subvol != "/":
            opts.append("subvol=" + self.subvol)
        try:
            run(["mount", "-o", ",".join(opts), "--", self.dev, self.dir])
        except DaemonError:
            os.rmdir(self.dir)
            raise
        return self.dir

    def __exit__(self, *exc):
        run(["umount", "--", self.dir], check=False)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def _canonical(dev):
    """/dev/VG/LV for a logical volume's /dev/mapper or /dev/dm-N name; else DEV."""
    try:
        st = os.stat(dev)
        base = "/sys/dev/block/%d:%d/dm/" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        with open(base + "uuid") as f:
            uuid = f.read().strip()
        with open(base + "name") as f:
            name = f.read().strip()
    except OSError:
        return dev
    if uuid.startswith("LVM-"):
        # device-mapper doubles the dashes inside VG and LV names
        m = re.match(r"^((?:[^-]|--)+)-((?:[^-]|--)+)$", name)
        if m:
            vg, lv = (x.replace("--", "-") for x in m.groups())
            if os.path.exists("/dev/%s/%s" % (vg, lv)):
                return "/dev/%s/%s" % (vg, lv)
    return "/dev/mapper/" + name


def _candidates():
    """Every block device a guest filesystem can be on: disks, partitions, md and dm."""
    from .devices import disk_names, partitions_of
    devs = []
    for disk in disk_names():
        devs.append("/dev/" + disk)
        devs += ["/dev/" + p for p in partitions_of(disk)]
    try:
        names = os.listdir("/sys/block")
    except OSError:
        names = []
    for n in sorted(names):
        if n.startswith("md") and os.path.exists("/dev/" + n):
            devs.append("/dev/" + n)
    for n in sorted(names, key=lambda x: (len(x), x)):
        if n.startswith("dm-"):
            try:
                with open("/sys/block/%s/dm/name" % n) as f:
                    name = f.read().strip()
            except OSError:
                continue
            if os.path.exists("/dev/mapper/" + name):
                devs.append("/dev/mapper/" + name)
    return devs


def _find(key, value):
    if not value:
        raise DaemonError("an empty %s matches no filesystem" % key.lower(), "ENOENT")
    devs = _candidates()
    info = blkid_export(devs)
    for d in devs:
        if info.get(d, {}).get(key) == value:
            return _canonical(d)
    if key == "UUID":                   # vfat volume ids: ABCD-1234 or abcd-1234
        for d in devs:
            if info.get(d, {}).get(key, "").lower() == value.lower():
                return _canonical(d)
    raise DaemonError("no filesystem with %s %r" % (key.lower(), value), "ENOENT")


def do_findfs_label(ctx, label):
    return _find("LABEL", label)


def do_findfs_uuid(ctx, uuid):
    return _find("UUID", uuid)


# ---- mke2fs ---------------------------------------------------------------------------------

_MKE2FS_NUM = [("blocksize", "-b"), ("fragsize", "-f"), ("blockspergroup", "-g"),
               ("numberofgroups", "-G"), ("bytesperinode", "-i"), ("inodesize", "-I"),
               ("numberofinodes", "-N"), ("reservedblockspercentage", "-m")]
_MKE2FS_STR = [("label", "-L"), ("lastmounteddir", "-M"), ("creatoros", "-o"),
               ("fstype", "-t"), ("usagetype", "-T"), ("uuid", "-U")]
_MKE2FS_FEATURES = [("extent", "extent"), ("filetype", "filetype"), ("flexbg", "flex_bg"),
                    ("hasjournal", "has_journal"), ("journaldev", "journal_dev"),
                    ("largefile", "large_file"), ("quota", "quota"),
                    ("resizeinode", "resize_inode"), ("sparsesuper", "sparse_super"),
                    ("uninitbg", "uninit_bg")]


def do_mke2fs(ctx, dev, blockscount=None, journalsize=None, stridesize=None,
              stripewidth=None, maxonlineresize=None, mmpupdateinterval=None,
              journaldevice=None, forcecreate=None, writesbandgrouponly=None,
              lazyitableinit=None, lazyjournalinit=None, testfs=None, discard=None,
              quotatype=None, **opts):
    dev = device(dev)
    argv = ["mke2fs", "-q"]
    for name, flag in _MKE2FS_NUM:
        v = opts.pop(name, None)
        if v is not None:
            if v < 0:
                fail("mke2fs: %s must not be negative" % name)
            argv += [flag, str(v)]
    for name, flag in _MKE2FS_STR:
        v = opts.pop(name, None)
        if v is not None:
            if name in ("fstype", "usagetype", "creatoros") and \
                    not re.match(r"^[A-Za-z0-9_.,-]+$", v):
                fail("mke2fs: invalid %s %r" % (name, v))
            if name == "label" and len(v.encode()) > 16:
                fail("mke2fs: %r: ext2/3/4 labels are limited to 16 bytes" % v)
            argv += [flag, v]
    journal = []
    if journalsize is not None:
        if journalsize <= 0:
            fail("mke2fs: journalsize must be positive")
        journal.append("size=%d" % journalsize)
    if journaldevice is not None:
        if journaldevice.startswith(("LABEL=", "UUID=")):
            jdev = journaldevice
        else:
            jdev = device(journaldevice)
        if "," in jdev:
            fail("mke2fs: invalid journaldevice %r" % journaldevice)
        journal.append("device=" + jdev)
    if journal:
        argv += ["-J", ",".join(journal)]
    ext = []
    for name, v in (("stride", stridesize), ("stripe_width", stripewidth),
                    ("resize", maxonlineresize), ("mmp_update_interval", mmpupdateinterval)):
        if v is not None:
            if v < 0:
                fail("mke2fs: %s must not be negative" % name)
            ext.append("%s=%d" % (name, v))
    if lazyitableinit is not None:
        ext.append("lazy_itable_init=%d" % bool(lazyitableinit))
    if lazyjournalinit is not None:
        ext.append("lazy_journal_init=%d" % bool(lazyjournalinit))
    if testfs:
        ext.append("test_fs")
    if discard is not None:
        ext.append("discard" if discard else "nodiscard")
    if quotatype:
        # mke2fs wants the list; true means the usual pair (user and group quotas)
        ext.append("quotatype=usrquota:grpquota")
    if ext:
        argv += ["-E", ",".join(ext)]
    features = []
    for name, feature in _MKE2FS_FEATURES:
        v = opts.pop(name, None)
        if v is not None:
            features.append(feature if v else "^" + feature)
    if features:
        argv += ["-O", ",".join(features)]
    if forcecreate:
        argv.append("-F")
    if writesbandgrouponly:
        argv.append("-S")
    if opts:
        fail("mke2fs: unknown options %s" % ", ".join(sorted(opts)))
    argv += ["--", dev]
    if blockscount is not None:
        if blockscount <= 0:
            fail("mke2fs: blockscount must be positive")
        argv.append(str(blockscount))
    run(argv)


# ---- ext2/3/4 labels, UUIDs, attributes -----------------------------------------------------

def _need_ext(dev, what):
    t = _fstype(dev)
    if not _is_ext(t):
        fail("%s: %s: not an ext2/3/4 filesystem (%s)" % (what, dev, t or "no filesystem"))


def do_get_e2label(ctx, dev):
    dev = device(dev)
    _need_ext(dev, "get_e2label")
    out, _, _ = run(["e2label", dev])
    return out.rstrip("\n")


def do_set_e2label(ctx, dev, label):
    dev = device(dev)
    _need_ext(dev, "set_e2label")
    _set_ext_label(dev, label)


def _set_ext_label(dev, label):
    if len(label.encode()) > 16:
        fail("%r: ext2/3/4 labels are limited to 16 bytes" % label)
    run(["e2label", dev, label])


def do_get_e2uuid(ctx, dev):
    dev = device(dev)
    out, _, _ = run(["tune2fs", "-l", dev])
    for line in out.splitlines():
        if line.startswith("Filesystem UUID:"):
            v = line.split(":", 1)[1].strip()
            return "" if v == "<none>" else v
    fail("%s: no UUID in tune2fs output" % dev, "EIO")


def do_set_e2uuid(ctx, dev, uuid):
    dev = device(dev)
    _need_ext(dev, "set_e2uuid")
    run(["tune2fs", "-f", "-U", uuid, dev])


# letters lsattr prints and chattr accepts; e, I, E, N, V are shown but cannot be changed
_ATTR_SETTABLE = set("aAcCdDFijmPsStTux")
_ATTR_ALL = _ATTR_SETTABLE | set("eIENVhXZ")


def _attr_target(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path)
    st = os.lstat(apath)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        fail("%s: file attributes are only supported on regular files and directories"
             % path, "EOPNOTSUPP")
    return apath


def do_get_e2attrs(ctx, path):
    apath = _attr_target(ctx, path)
    out, _, _ = _guest_run(ctx, ["lsattr", "-d", "--", apath], apath, path)
    word = out.split(None, 1)[0] if out.strip() else ""
    return word.replace("-", "")


def do_set_e2attrs(ctx, path, attrs, clear=False):
    for c in attrs:
        if c not in _ATTR_ALL:
            fail("%r: unknown file attribute %r" % (attrs, c))
        if c not in _ATTR_SETTABLE:
            fail("%r: file attribute %r cannot be changed" % (attrs, c))
    apath = _attr_target(ctx, path)
    if not attrs:
        return
    _guest_run(ctx, ["chattr", ("-" if clear else "+") + attrs, "--", apath], apath, path)


# ---- resize2fs, e2fsck, fsck, zerofree ------------------------------------------------------

def _e2fsck_before_resize(dev):
    if not _mountpoints_of(dev):
        _e2fsck(dev, ["-f", "-y"])


def _e2fsck(dev, flags):
    out, err, rc = run(["e2fsck"] + flags + [dev], check=False)
    # 0: no errors, 1: errors corrected; 2 and more: reboot needed, errors left, failure
    if rc >= 2:
        msg = " ".join((err.strip() or out.strip() or "exit status %d" % rc).split("\n"))
        raise DaemonError("e2fsck: %s: %s" % (dev, msg), "EIO")


def _resize2fs(dev, flags=(), size=()):
    dev = device(dev)
    _need_ext(dev, "resize2fs")
    _e2fsck_before_resize(dev)
    run(["resize2fs"] + list(flags) + [dev] + list(size))


def do_resize2fs(ctx, dev):
    _resize2fs(dev)


def do_resize2fs_M(ctx, dev):
    _resize2fs(dev, flags=["-M"])


def do_resize2fs_size(ctx, dev, size):
    if size < 1024:
        fail("resize2fs_size: size %d is too small" % size)
    _resize2fs(dev, size=["%dK" % (size // 1024)])


def do_e2fsck(ctx, dev, correct=False, forceall=False, forceno=False):
    dev = device(dev)
    if sum(bool(x) for x in (correct, forceall, forceno)) > 1:
        fail("only one of the options 'correct', 'forceall', 'forceno' may be specified")
    _e2fsck(dev, ["-f", "-p" if correct else "-y" if forceall else "-n"])


def do_e2fsck_f(ctx, dev):
    dev = device(dev)
    _e2fsck(dev, ["-p", "-f"])


def do_fsck(ctx, fstype, dev):
    dev = device(dev)
    if not re.match(r"^[A-Za-z0-9_]+$", fstype):
        fail("%r: invalid filesystem type" % fstype)
    out, err, rc = run(["fsck", "-a", "-t", fstype, dev], check=False)
    if rc & 8 and "fsck." in err and "not found" in err:
        raise DaemonError("fsck: no checker for %s in the appliance" % fstype, "ENOTSUP")
    return rc


def do_zerofree(ctx, dev):
    dev = device(dev)
    _refuse_mounted(dev, "zerofree")
    run(["zerofree", dev])


# ---- labels and UUIDs of every type ---------------------------------------------------------

def _check_no_quote(value, what):
    # xfs_admin hands its arguments to xfs_db through the shell's eval
    if "'" in value or "\n" in value or "\\" in value:
        fail("%r: an XFS %s cannot contain quotes, backslashes or newlines" % (value, what))


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}$")


def _check_uuid(uuid):
    if not _UUID_RE.match(uuid):
        fail("%r: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" % uuid)


def do_set_label(ctx, mountable, label):
    dev, _ = mountable_device(mountable)
    t = _fstype(dev)
    n = len(label.encode())
    if _is_ext(t):
        _set_ext_label(dev, label)
    elif t == "xfs":
        if n > 12:
            fail("%r: XFS labels are limited to 12 bytes" % label)
        _check_no_quote(label, "label")
        _refuse_mounted(dev, "set_label")
        run(["xfs_admin", "-L", label or "--", dev])
    elif t == "btrfs":
        if n > 255:
            fail("%r: btrfs labels are limited to 255 bytes" % label)
        if "\n" in label:
            fail("%r: invalid btrfs label" % label)
        _refuse_mounted(dev, "set_label")
        run(["btrfs", "filesystem", "label", dev, label])
    elif t in ("vfat", "msdos", "fat"):
        if n > 11:
            fail("%r: FAT labels are limited to 11 bytes" % label)
        if label:
            run(["fatlabel", dev, label])
        else:
            run(["fatlabel", "-r", dev])
    elif t == "ntfs":
        if len(label) > 128:
            fail("%r: NTFS labels are limited to 128 characters" % label)
        run(["ntfslabel", dev, label])
    elif t == "swap":
        if n > 16:
            fail("%r: swap labels are limited to 16 bytes" % label)
        run(["swaplabel", "-L", label, dev])
    else:
        fail("set_label: %s: setting the label of %s is not supported"
             % (dev, t or "a device without a filesystem"), "ENOTSUP")


def _random_uuid():
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _set_uuid(dev, uuid, what):
    """UUID None: a random one."""
    t = _fstype(dev)
    if _is_ext(t):
        if uuid is not None:
            _check_uuid(uuid)
        run(["tune2fs", "-f", "-U", uuid or "random", dev])
    elif t == "xfs":
        if uuid is not None:
            _check_uuid(uuid)
        _refuse_mounted(dev, what)
        run(["xfs_admin", "-U", uuid or "generate", dev])
    elif t == "btrfs":
        _refuse_mounted(dev, what)
        if uuid is None:
            run(["btrfstune", "-f", "-u", dev])
        else:
            _check_uuid(uuid)
            run(["btrfstune", "-f", "-U", uuid, dev])
    elif t == "swap":
        if uuid is not None:
            _check_uuid(uuid)
        run(["swaplabel", "-U", uuid or _random_uuid(), dev])
    elif t in ("vfat", "msdos", "fat"):
        if uuid is None:
            vid = os.urandom(4).hex()
        else:
            vid = uuid.replace("-", "")
            if not re.match(r"^[0-9a-fA-F]{8}$", vid):
                fail("%r: a FAT volume id is 8 hex digits (XXXX-XXXX)" % uuid)
        run(["fatlabel", "-i", dev, vid.lower()])
    else:
        fail("%s: %s: setting the UUID of %s is not supported"
             % (what, dev, t or "a device without a filesystem"), "ENOTSUP")


def do_set_uuid(ctx, dev, uuid):
    _set_uuid(device(dev), uuid, "set_uuid")


def do_set_uuid_random(ctx, dev):
    _set_uuid(device(dev), None, "set_uuid_random")


# ---- swap -----------------------------------------------------------------------------------

def _mkswap(dev, label=None, uuid=None):
    argv = ["mkswap", "-f"]
    if label is not None:
        if len(label.encode()) > 16:
            fail("%r: Linux swap labels are limited to 16 bytes" % label)
        argv += ["-L", label]
    if uuid is not None:
        _check_uuid(uuid)
        argv += ["-U", uuid]
    run(argv + ["--", dev])


def do_mkswap(ctx, dev, label=None, uuid=None):
    _mkswap(device(dev), label, uuid)


def do_mkswap_L(ctx, label, dev):
    _mkswap(device(dev), label=label)


def do_mkswap_U(ctx, uuid, dev):
    _mkswap(device(dev), uuid=uuid)


def _regular_file(ctx, path):
    """The appliance path of the regular guest file PATH (symlinks resolved in the guest)."""
    ctx.need_root()
    apath = ctx.resolve(path)
    fd, st = open_nonblocking(apath, os.O_RDONLY)
    os.close(fd)
    return apath


def do_mkswap_file(ctx, path):
    apath = _regular_file(ctx, path)
    _guest_run(ctx, ["mkswap", "-f", "--", apath], apath, path)


def _swap(ctx, on, dev):
    run(["swapon" if on else "swapoff", "--", dev])


def do_swapon_device(ctx, dev):
    _swap(ctx, True, device(dev))


def do_swapoff_device(ctx, dev):
    _swap(ctx, False, device(dev))


def do_swapon_file(ctx, path):
    apath = _regular_file(ctx, path)
    _guest_run(ctx, ["swapon", "--", apath], apath, path)


def do_swapoff_file(ctx, path):
    apath = _regular_file(ctx, path)
    _guest_run(ctx, ["swapoff", "--", apath], apath, path)


def do_swapon_label(ctx, label):
    _swap(ctx, True, _find("LABEL", label))


def do_swapoff_label(ctx, label):
    _swap(ctx, False, _find("LABEL", label))


def do_swapon_uuid(ctx, uuid):
    _swap(ctx, True, _find("UUID", uuid))


def do_swapoff_uuid(ctx, uuid):
    _swap(ctx, False, _find("UUID", uuid))


# ---- trim, wipe, zero -----------------------------------------------------------------------

def do_fstrim(ctx, mountpoint, offset=None, length=None, minimumfreeextent=None):
    apath, gpath = _mounted_dir(ctx, mountpoint)
    argv = ["fstrim"]
    for flag, v in (("-o", offset), ("-l", length), ("-m", minimumfreeextent)):
        if v is not None:
            if v < 0:
                fail("fstrim: %s must not be negative" % flag)
            argv += [flag, str(v)]
    os.sync()
    try:
        _guest_run(ctx, argv + ["--", apath], apath, gpath)
    except DaemonError as e:
        if "not supported" in str(e).lower():
            raise DaemonError(str(e), "ENOTSUP") from None
        raise


def do_wipefs(ctx, dev):
    dev = device(dev)
    run(["wipefs", "-a", "--", dev])


def _size_of(fd):
    import fcntl
    import struct
    st = os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        return struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, bytes(8)))[0]
    return st.st_size


_ZERO = bytes(ZERO_BLOCK)


def _zero_block(buf, n):
    """True if the first N bytes of BUF (a ZERO_BLOCK bytearray) are all zero."""
    if n == ZERO_BLOCK:
        return buf == _ZERO                 # one memcmp, no copy
    return buf.count(0, 0, n) == n


def _zero_range(ctx, fd, start, end, total):
    """Write zeroes over [START, END) of FD where it is not zero already."""
    buf = bytearray(ZERO_BLOCK)
    pos = start
    while pos < end:
        n = min(ZERO_BLOCK, end - pos)
        got = os.preadv(fd, [memoryview(buf)[:n]], pos)
        if got <= 0:
            break
        if not _zero_block(buf, got):
            os.pwrite(fd, memoryview(_ZERO)[:got], pos)
        pos += got
        ctx.progress(pos - start, total)
        ctx.check_cancel()
    return pos


BLKDISCARD = 0x1277              # _IO(0x12, 119)
BLKDISCARDZEROES = 0x127c        # _IO(0x12, 124)


def do_blkdiscard(ctx, dev):
    import fcntl
    import struct
    dev = device(dev)
    fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    try:
        size = _size_of(fd)
        try:
            fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", 0, size))
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
                fail("blkdiscard: %s cannot discard blocks (was the drive added with "
                     "discard enabled?)" % dev, "ENOTSUP")
            raise
        os.fsync(fd)
    finally:
        os.close(fd)


def do_blkdiscardzeroes(ctx, dev):
    import fcntl
    import struct
    dev = device(dev)
    fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
    try:
        got = fcntl.ioctl(fd, BLKDISCARDZEROES, bytes(4))
    finally:
        os.close(fd)
    return struct.unpack("I", got)[0] != 0


def do_zero(ctx, dev):
    dev = device(dev)
    fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    try:
        end = min(_size_of(fd), 32 * 4096)
        _zero_range(ctx, fd, 0, end, end)
        os.fsync(fd)
    finally:
        os.close(fd)
    ctx.progress(end, end, force=True)


def do_zero_device(ctx, dev):
    dev = device(dev)
    fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    try:
        size = _size_of(fd)
        ctx.progress(0, size, force=True)
        _zero_range(ctx, fd, 0, size, size)
        os.fsync(fd)
    finally:
        os.close(fd)
    ctx.progress(size, size, force=True)


def do_zero_free_space(ctx, directory):
    import tempfile
    apath, gpath = _mounted_dir(ctx, directory)
    sv = os.statvfs(apath)
    total = sv.f_bavail * sv.f_frsize
    written = 0
    names = []
    try:
        ctx.progress(0, total, force=True)
        full = False
        while not full:
            fd, name = tempfile.mkstemp(prefix=".guestkit-zero-", dir=apath)
            names.append(name)
            in_file = 0
            try:
                while True:
                    try:
                        n = os.write(fd, _ZERO)
                    except OSError as e:
                        if e.errno == errno.EFBIG and in_file:
                            break           # the file size limit (FAT): go on in another
                        if e.errno in (errno.ENOSPC, errno.EFBIG):
                            full = True
                            break
                        raise
                    if n == 0:
                        full = True
                        break
                    in_file += n
                    written += n
                    ctx.progress(min(written, total), total)
                    ctx.check_cancel()
                try:
                    os.fsync(fd)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
            finally:
                os.close(fd)
    except OSError as e:
        raise DaemonError("zero_free_space: %s: %s" % (gpath, e.strerror),
                          errno.errorcode.get(e.errno, "EIO")) from None
    finally:
        for name in names:
            try:
                os.unlink(name)
            except OSError:
                pass
        os.sync()
    ctx.progress(total, total, force=True)


def _all_zero(ctx, fd, start, end):
    buf = bytearray(ZERO_BLOCK)
    pos = start
    while pos < end:
        n = min(ZERO_BLOCK, end - pos)
        got = os.preadv(fd, [memoryview(buf)[:n]], pos)
        if got <= 0:
            break
        if not _zero_block(buf, got):
            return False
        pos += got
        ctx.check_cancel()
    return True


def do_is_zero(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path)
    fd, st = open_nonblocking(apath, os.O_RDONLY)
    try:
        size = st.st_size
        pos = 0
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:          # only a hole from POS to the end
                    return True
                if e.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                    return _all_zero(ctx, fd, pos, size)    # no SEEK_DATA here
                raise
            try:
                hole = os.lseek(fd, data, os.SEEK_HOLE)
            except OSError:
                hole = size
            if not _all_zero(ctx, fd, data, min(hole, size)):
                return False
            pos = max(hole, data + 1)
        return True
    finally:
        os.close(fd)


def do_is_zero_device(ctx, dev):
    dev = device(dev)
    fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _all_zero(ctx, fd, 0, _size_of(fd))
    finally:
        os.close(fd)


# ---- minimum size ---------------------------------------------------------------------------

def _ext_block_size(dev):
    out, _, _ = run(["tune2fs", "-l", dev])
    for line in out.splitlines():
        if line.startswith("Block size:"):
            return int(line.split(":", 1)[1])
    fail("%s: no block size in tune2fs output" % dev, "EIO")


def do_vfs_minimum_size(ctx, mountable):
    dev, subvol = mountable_device(mountable)
    t = _fstype(dev)
    if _is_ext(t):
        out, _, _ = run(["resize2fs", "-P", dev])
        m = re.search(r"Estimated minimum size of the filesystem: (\d+)", out)
        if not m:
            fail("%s: resize2fs -P gave no estimate" % dev, "EIO")
        return int(m.group(1)) * _ext_block_size(dev)
    if t == "ntfs":
        out, err, _ = run(["ntfsresize", "--info", "--force", "--no-progress-bar", dev],
                          check=False)
        m = re.search(r"You might resize at (\d+) bytes", out)
        if m:
            return int(m.group(1))
        fail("%s: ntfsresize gave no minimum size: %s" % (dev, (err or out).strip()),
             "EIO")
    if t == "btrfs":
        mps = _mountpoints_of(dev)
        if mps:
            out, _, _ = run(["btrfs", "inspect-internal", "min-dev-size", mps[0]])
        else:
            with _TempMount(dev) as mp:
                out, _, _ = run(["btrfs", "inspect-internal", "min-dev-size", mp])
        m = re.match(r"\s*(\d+) bytes", out)
        if not m:
            fail("%s: btrfs min-dev-size gave %r" % (dev, out.strip()), "EIO")
        return int(m.group(1))
    if t == "xfs":
        mps = _mountpoints_of(dev)
        info = _xfs_geometry(mps[0], dev) if mps else _xfs_info_of(dev)
        return info["xfs_blocksize"] * info["xfs_datablocks"]
    fail("vfs_minimum_size: %s: not supported for %s" % (dev, t or "a device without a "
                                                          "filesystem"), "ENOTSUP")


# ---- NTFS -----------------------------------------------------------------------------------

def do_ntfsresize(ctx, dev, size=None, force=False):
    dev = device(dev)
    argv = ["ntfsresize", "--no-progress-bar"]
    if size is not None:
        if size <= 0:
            fail("ntfsresize: size must be positive")
        argv += ["--size", str(size)]
    if force:
        argv.append("--force")
    # ntfsresize asks for confirmation on stdin: say yes
    run(argv + [dev], input=b"y\n")


# ---- XFS ------------------------------------------------------------------------------------

_XFS_FIELDS = [
    ("xfs_mntpoint", str), ("xfs_inodesize", int), ("xfs_agcount", int), ("xfs_agsize", int),
    ("xfs_sectsize", int), ("xfs_attr", int), ("xfs_blocksize", int),
    ("xfs_datablocks", int), ("xfs_imaxpct", int), ("xfs_sunit", int), ("xfs_swidth", int),
    ("xfs_dirversion", int), ("xfs_dirblocksize", int), ("xfs_cimode", int),
    ("xfs_logname", str), ("xfs_logblocksize", int), ("xfs_logblocks", int),
    ("xfs_logversion", int), ("xfs_logsectsize", int), ("xfs_logsunit", int),
    ("xfs_lazycount", int), ("xfs_rtname", str), ("xfs_rtextsize", int),
    ("xfs_rtblocks", int), ("xfs_rtextents", int),
]

# (section, key) in xfs_info's output -> field
_XFS_KEYS = {
    ("meta-data", "isize"): "xfs_inodesize", ("meta-data", "agcount"): "xfs_agcount",
    ("meta-data", "agsize"): "xfs_agsize", ("meta-data", "sectsz"): "xfs_sectsize",
    ("meta-data", "attr"): "xfs_attr",
    ("data", "bsize"): "xfs_blocksize", ("data", "blocks"): "xfs_datablocks",
    ("data", "imaxpct"): "xfs_imaxpct", ("data", "sunit"): "xfs_sunit",
    ("data", "swidth"): "xfs_swidth",
    ("naming", "bsize"): "xfs_dirblocksize", ("naming", "ascii-ci"): "xfs_cimode",
    ("log", "bsize"): "xfs_logblocksize", ("log", "blocks"): "xfs_logblocks",
    ("log", "version"): "xfs_logversion", ("log", "sectsz"): "xfs_logsectsize",
    ("log", "sunit"): "xfs_logsunit", ("log", "lazy-count"): "xfs_lazycount",
    ("realtime", "extsz"): "xfs_rtextsize", ("realtime", "blocks"): "xfs_rtblocks",
    ("realtime", "rtextents"): "xfs_rtextents",
}


def parse_xfs_info(text):
    res = {name: ("" if kind is str else -1) for name, kind in _XFS_FIELDS}
    kinds = dict(_XFS_FIELDS)
    section = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            head, _, rest = line.partition("=")
            section = head.strip()
            rest = rest.strip()
            # the section's own value, up to two spaces ("internal log", "version 2"), if
            # it has one (data has none: its line starts with bsize=...)
            first = re.split(r"\s{2,}", rest, maxsplit=1)[0]
            value = "" if "=" in first else first
            rest = rest[len(value):]
            if section == "meta-data":
                res["xfs_mntpoint"] = value
            elif section == "naming" and value.startswith("version"):
                try:
                    res["xfs_dirversion"] = int(value.split()[1])
                except (IndexError, ValueError):
                    pass
            elif section == "log":
                res["xfs_logname"] = value.split()[0] if value else ""
            elif section == "realtime":
                res["xfs_rtname"] = value.split()[0] if value else ""
        else:
            rest = line.strip().lstrip("=")
        for key, val in re.findall(r"([A-Za-z][A-Za-z0-9_-]*)=([^\s,]+)", rest):
            field = _XFS_KEYS.get((section, key))
            if field and kinds[field] is int:
                try:
                    res[field] = int(val)
                except ValueError:
                    pass
    return res


def _xfs_info_of(target):
    out, _, _ = run(["xfs_info", target])
    return parse_xfs_info(out)


def do_xfs_info(ctx, pathordevice):
    if pathordevice.startswith("/dev/"):
        dev = device(pathordevice)
        mps = _mountpoints_of(dev)
        if mps:
            mp = mps[0]
            shown = to_guest(ctx.sysroot, mp) if mp.startswith(ctx.sysroot) else dev
            return _xfs_geometry(mp, shown)
        return _xfs_info_of(dev)
    apath, gpath = _mounted_dir(ctx, pathordevice)
    for _, _, mp, fstype in _mountinfo():
        if mp == apath:
            if fstype != "xfs":
                fail("%s: not an XFS filesystem (%s)" % (gpath, fstype))
            return _xfs_geometry(apath, gpath)
    fail("%s: not a mountpoint" % gpath)


# XFS_IOC_FSGEOMETRY (struct xfs_fsop_geom, 256 bytes) and its v4 predecessor (112 bytes)
_XFS_IOC_FSGEOMETRY = (2 << 30) | (256 << 16) | (ord("X") << 8) | 126
_XFS_IOC_FSGEOMETRY_V4 = (2 << 30) | (112 << 16) | (ord("X") << 8) | 124
_GEOM_ATTR, _GEOM_DIRV2, _GEOM_LOGV2, _GEOM_ATTR2 = 0x1, 0x80, 0x100, 0x400
_GEOM_DIRV2CI, _GEOM_LAZYSB = 0x1000, 0x4000


def _xfs_geometry(mp, shown):
    """xfs_info's report of the XFS mounted at MP, from the kernel (what xfs_spaceman's info
    command prints): the on-disk superblock of a mounted filesystem may lag behind."""
    import fcntl
    import struct
    fd = os.open(mp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            buf = fcntl.ioctl(fd, _XFS_IOC_FSGEOMETRY, bytes(256))
        except OSError:
            buf = fcntl.ioctl(fd, _XFS_IOC_FSGEOMETRY_V4, bytes(112))
    except OSError as e:
        raise DaemonError("xfs_info: %s: %s" % (shown, e.strerror), "EINVAL") from None
    finally:
        os.close(fd)
    (blocksize, rtextsize, agblocks, agcount, logblocks, sectsize, inodesize, imaxpct,
     datablocks, rtblocks, rtextents, logstart, _uuid, sunit, swidth, _version, flags,
     logsectsize, _rtsectsize, dirblocksize, logsunit) = struct.unpack_from("<8I4Q16s8I", buf)
    return {
        "xfs_mntpoint": shown, "xfs_inodesize": inodesize, "xfs_agcount": agcount,
        "xfs_agsize": agblocks, "xfs_sectsize": sectsize,
        "xfs_attr": 2 if flags & _GEOM_ATTR2 else 1 if flags & _GEOM_ATTR else 0,
        "xfs_blocksize": blocksize, "xfs_datablocks": datablocks, "xfs_imaxpct": imaxpct,
        "xfs_sunit": sunit, "xfs_swidth": swidth,
        "xfs_dirversion": 2 if flags & _GEOM_DIRV2 else 1,
        "xfs_dirblocksize": dirblocksize, "xfs_cimode": 1 if flags & _GEOM_DIRV2CI else 0,
        "xfs_logname": "internal" if logstart > 0 else "external",
        "xfs_logblocksize": blocksize, "xfs_logblocks": logblocks,
        "xfs_logversion": 2 if flags & _GEOM_LOGV2 else 1, "xfs_logsectsize": logsectsize,
        "xfs_logsunit": logsunit // blocksize if blocksize else -1,
        "xfs_lazycount": 1 if flags & _GEOM_LAZYSB else 0,
        "xfs_rtname": "none" if not rtblocks else "external",
        "xfs_rtextsize": rtextsize * blocksize, "xfs_rtblocks": rtblocks,
        "xfs_rtextents": rtextents,
    }


def do_xfs_growfs(ctx, path, datasec=False, logsec=False, rtsec=False, datasize=None,
                  logsize=None, rtsize=None, rtextsize=None, maxpct=None):
    apath, gpath = _mounted_dir(ctx, path)
    argv = ["xfs_growfs"]
    if datasec:
        argv.append("-d")
    if logsec:
        argv.append("-l")
    if rtsec:
        argv.append("-r")
    for flag, v in (("-D", datasize), ("-L", logsize), ("-R", rtsize), ("-e", rtextsize),
                    ("-m", maxpct)):
        if v is not None:
            if v < 0:
                fail("xfs_growfs: %s must not be negative" % flag)
            argv += [flag, str(v)]
    _guest_run(ctx, argv + [apath], apath, gpath)


def do_xfs_admin(ctx, dev, extunwritten=False, imgfile=False, v2log=False,
                 projid32bit=False, lazycounter=None, label=None, uuid=None):
    dev = device(dev)
    _refuse_mounted(dev, "xfs_admin")
    argv = ["xfs_admin"]
    if extunwritten:
        argv.append("-e")
    if imgfile:
        argv.append("-f")
    if v2log:
        argv.append("-j")
    if projid32bit:
        argv.append("-p")
    if lazycounter is not None:
        argv += ["-c", "1" if lazycounter else "0"]
    if label is not None:
        if len(label.encode()) > 12:
            fail("%r: XFS labels are limited to 12 bytes" % label)
        _check_no_quote(label, "label")
        argv += ["-L", label or "--"]
    if uuid is not None:
        if uuid not in ("generate", "nil", "rewrite"):
            _check_uuid(uuid)
        argv += ["-U", uuid]
    run(argv + [dev])


def do_xfs_repair(ctx, target, forcelogzero=False, nomodify=False, noprefetch=False,
                  forcegeometry=False, maxmem=None, ihashsize=None, bhashsize=None,
                  agstride=None, logdev=None, rtdev=None):
    argv = ["xfs_repair"]
    if forcelogzero:
        argv.append("-L")
    if nomodify:
        argv.append("-n")
    if noprefetch:
        argv.append("-P")
    if forcegeometry:
        argv += ["-o", "force_geometry"]
    if maxmem is not None:
        argv += ["-m", str(maxmem)]
    for name, v in (("ihash", ihashsize), ("bhash", bhashsize), ("ag_stride", agstride)):
        if v is not None:
            if v < 0:
                fail("xfs_repair: %s must not be negative" % name)
            argv += ["-o", "%s=%d" % (name, v)]
    if logdev is not None:
        argv += ["-l", device(logdev)]
    if rtdev is not None:
        argv += ["-r", device(rtdev)]
    apath = gpath = None
    if target.startswith("/dev/"):
        dev = device(target)
        _refuse_mounted(dev, "xfs_repair")
        argv.append(dev)
    else:
        apath = _regular_file(ctx, target)
        gpath = target
        argv += ["-f", apath]
    out, err, rc = run(argv, check=False)
    if rc in (0, 1):
        return rc
    msg = " ".join((err.strip() or out.strip() or "exit status %d" % rc).split("\n"))
    if apath:
        msg = msg.replace(apath, gpath)
    raise DaemonError("xfs_repair: %s" % msg, "EIO")


# ---- btrfs ----------------------------------------------------------------------------------

def do_btrfs_subvolume_create(ctx, dest, qgroupid=None):
    ctx.need_root()
    apath = ctx.resolve(dest, follow=False)
    if apath == ctx.sysroot or os.path.lexists(apath):
        fail("%s: already exists" % dest, "EEXIST")
    argv = ["btrfs", "subvolume", "create"]
    if qgroupid is not None:
        if not re.match(r"^\d+/\d+$", qgroupid):
            fail("%r: invalid qgroup id (level/id)" % qgroupid)
        argv += ["-i", qgroupid]
    _guest_run(ctx, argv + ["--", apath], apath, dest)


def do_btrfs_subvolume_delete(ctx, subvolume):
    # followed in the guest: btrfs would otherwise follow a final symlink itself, outside
    ctx.need_root()
    apath = ctx.resolve(subvolume)
    _guest_run(ctx, ["btrfs", "subvolume", "delete", "--", apath], apath, subvolume)


def _parse_subvolume_list(out):
    res = []
    for line in out.splitlines():
        m = re.match(r"^ID (\d+) .*?top level (\d+) .*?path (.*)$", line)
        if not m:
            continue
        path = m.group(3)
        if path.startswith("<FS_TREE>/"):
            path = path[len("<FS_TREE>/"):]
        res.append({"btrfssubvolume_id": int(m.group(1)),
                    "btrfssubvolume_top_level_id": int(m.group(2)),
                    "btrfssubvolume_path": path})
    return res


def do_btrfs_subvolume_list(ctx, fs):
    if fs.startswith("/dev/") or fs.startswith("btrfsvol:"):
        dev, subvol = mountable_device(fs)
        t = _fstype(dev)
        if t != "btrfs":
            fail("%s: not a btrfs filesystem (%s)" % (fs, t or "no filesystem"))
        with _TempMount(dev, subvol) as mp:
            out, _, _ = run(["btrfs", "subvolume", "list", mp])
        return _parse_subvolume_list(out)
    apath, gpath = _mounted_dir(ctx, fs)
    out, _, _ = _guest_run(ctx, ["btrfs", "subvolume", "list", apath], apath, gpath)
    return _parse_subvolume_list(out)


def do_btrfs_subvolume_set_default(ctx, id, fs):
    if id < 0:
        fail("btrfs_subvolume_set_default: invalid subvolume id %d" % id)
    apath, gpath = _mounted_dir(ctx, fs)
    _guest_run(ctx, ["btrfs", "subvolume", "set-default", str(id), apath], apath, gpath)


def do_btrfs_subvolume_show(ctx, subvolume):
    ctx.need_root()
    apath = ctx.resolve(subvolume)
    gpath = to_guest(ctx.sysroot, apath)
    out, _, _ = _guest_run(ctx, ["btrfs", "subvolume", "show", "--", apath], apath, gpath)
    lines = out.splitlines()
    res = []
    snapshots = None
    for line in lines[1:]:
        s = line.strip()
        if not s:
            continue
        if snapshots is not None:
            snapshots.append(s)
            continue
        key, sep, value = s.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "Snapshot(s)":
            snapshots = [value.strip()] if value.strip() else []
            continue
        res.append([key, value.strip()])
    if snapshots is not None:
        res.append(["Snapshot(s)", ",".join(snapshots)])
    return res


def do_btrfs_filesystem_resize(ctx, mountpoint, size=None):
    apath, gpath = _mounted_dir(ctx, mountpoint)
    if size is not None and size <= 0:
        fail("btrfs_filesystem_resize: size must be positive")
    _guest_run(ctx, ["btrfs", "filesystem", "resize",
                     str(size) if size is not None else "max", apath], apath, gpath)


def do_btrfs_filesystem_sync(ctx, fs):
    apath, gpath = _mounted_dir(ctx, fs)
    _guest_run(ctx, ["btrfs", "filesystem", "sync", apath], apath, gpath)
