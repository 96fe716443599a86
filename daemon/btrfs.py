"""Handlers for the btrfs actions of guestkit/actions/btrfs.py (standard library only).

Paths in a mounted guest filesystem are resolved in the guest (ctx.resolve) and must be
directories (or, for defragment, regular files): btrfs-progs opens what it is given, and a
guest fifo there would block the daemon.  Devices go through util.device().
"""

import os
import re
import stat

from .filesystems import mountable_device
from .fstools import _TempMount, _fstype, _mounted_dir, _refuse_mounted
from .guestpath import to_guest
from .util import ENV, DaemonError, device, fail, run

_PROFILES = ("raid0", "raid1", "raid1c3", "raid1c4", "raid5", "raid6", "raid10", "dup",
             "single")
_QGROUP_RE = re.compile(r"^(?:\d+/)?\d+$")
# where btrfs scrub keeps its progress files (the appliance's root is a tmpfs)
_SCRUB_DIR = "/var/lib/btrfs"


def _guest_msg(text, apath, gpath):
    """TEXT with the appliance path APATH (and paths under it) written as guest path
    GPATH."""
    text = text.replace(apath + "/", gpath.rstrip("/") + "/")
    return text.replace(apath, gpath)


def _guest_run(ctx, argv, apath, gpath, **kw):
    """Run a tool on the appliance path APATH; errors name the guest path GPATH."""
    try:
        return run(argv, **kw)
    except DaemonError as e:
        raise DaemonError(_guest_msg(str(e), apath, gpath), e.errno_name) from None


def _not_running(ctx, argv, apath, gpath, needles):
    """Run ARGV on APATH; when it fails saying one of NEEDLES (there is no balance or
    scrub to act on) the error is ENOTCONN, as the kernel's."""
    out, err, rc = run(argv, check=False)
    if rc != 0:
        text = " ".join(_guest_msg(err.strip() or out.strip(), apath, gpath).split())
        low = text.lower()
        code = "ENOTCONN" if any(n in low for n in needles) else "EIO"
        raise DaemonError("%s: %s" % (" ".join(argv[:3]), text), code)
    return out


def _devices(devices):
    devs = [device(d) for d in devices]
    if len(set(devs)) != len(devs):
        fail("the same device is named twice: %s" % " ".join(devices))
    return devs


def _qgroup(qid):
    if not _QGROUP_RE.match(qid):
        fail("%r: invalid qgroup id (LEVEL/ID, or ID)" % qid)
    return qid


def _btrfs_device(dev):
    dev = device(dev)
    t = _fstype(dev)
    if t != "btrfs":
        fail("%s: not a btrfs filesystem (%s)" % (dev, t or "no filesystem"))
    return dev


def _unmounted(dev, what, btrfs=True):
    """DEV checked not to be mounted; with BTRFS, to hold a btrfs blkid recognises (the
    repair tools go without: a broken superblock hides the filesystem from blkid)."""
    dev = _btrfs_device(dev) if btrfs else device(dev)
    _refuse_mounted(dev, what)
    return dev


class _FsOrPath:
    """A MountableOrPath argument as (appliance path, guest path) of a directory in the
    filesystem; a device (or btrfsvol:) is mounted privately for the duration."""

    def __init__(self, ctx, fs, readonly=True):
        self.ctx, self.fs, self.readonly = ctx, fs, readonly
        self.mount = None

    def __enter__(self):
        if self.fs.startswith("/dev/") or self.fs.startswith("btrfsvol:"):
            dev, subvol = mountable_device(self.fs)
            dev = _btrfs_device(dev)
            self.mount = _TempMount(dev, subvol, readonly=self.readonly)
            mp = self.mount.__enter__()
            return mp, self.fs
        return _mounted_dir(self.ctx, self.fs)

    def __exit__(self, *exc):
        if self.mount is not None:
            self.mount.__exit__(*exc)


# ---- mkfs -----------------------------------------------------------------------------------

def do_mkfs_btrfs(ctx, devices, allocstart=None, bytecount=None, datatype=None,
                  leafsize=None, label=None, metadata=None, nodesize=None, sectorsize=None):
    if not devices:
        fail("mkfs_btrfs: the list of devices is empty")
    devs = _devices(devices)
    argv = ["mkfs.btrfs", "-f"]
    if allocstart is not None:
        if allocstart < 0:
            fail("mkfs_btrfs: allocstart must not be negative")
        if allocstart:
            out, err, _ = run(["mkfs.btrfs", "--help"], check=False)
            if "alloc-start" not in out + err:
                fail("mkfs_btrfs: allocstart: this mkfs.btrfs has no --alloc-start "
                     "option any more", "ENOTSUP")
            argv += ["--alloc-start", str(allocstart)]
    if bytecount is not None:
        if bytecount <= 0:
            fail("mkfs_btrfs: bytecount must be positive")
        argv += ["-b", str(bytecount)]
    for name, value, opt in (("datatype", datatype, "-d"), ("metadata", metadata, "-m")):
        if value is not None:
            if value not in _PROFILES:
                fail("mkfs_btrfs: %s: %r is not one of %s" % (name, value,
                                                               ", ".join(_PROFILES)))
            argv += [opt, value]
    if leafsize is not None and nodesize is not None and leafsize != nodesize:
        fail("mkfs_btrfs: leafsize and nodesize differ (leafsize is nodesize's old name)")
    node = nodesize if nodesize is not None else leafsize
    if node is not None:
        if node <= 0:
            fail("mkfs_btrfs: nodesize must be positive")
        argv += ["-n", str(node)]
    if sectorsize is not None:
        if sectorsize <= 0:
            fail("mkfs_btrfs: sectorsize must be positive")
        argv += ["-s", str(sectorsize)]
    if label is not None:
        if len(label.encode("utf-8", "surrogateescape")) > 255 or "\n" in label:
            fail("mkfs_btrfs: %r: invalid btrfs label (at most 255 bytes)" % label)
        argv += ["-L", label]
    run(argv + ["--"] + devs)


# ---- devices --------------------------------------------------------------------------------

def do_btrfs_device_add(ctx, devices, fs):
    if not devices:
        return
    devs = _devices(devices)
    apath, gpath = _mounted_dir(ctx, fs)
    _guest_run(ctx, ["btrfs", "device", "add", "-f"] + devs + [apath], apath, gpath)


def do_btrfs_device_delete(ctx, devices, fs):
    if not devices:
        return
    devs = _devices(devices)
    apath, gpath = _mounted_dir(ctx, fs)
    _guest_run(ctx, ["btrfs", "device", "delete"] + devs + [apath], apath, gpath)


def do_btrfs_replace(ctx, srcdev, targetdev, mntpoint):
    src, target = device(srcdev), device(targetdev)
    if src == target:
        fail("btrfs_replace: the source and the target are the same device")
    _refuse_mounted(target, "btrfs_replace")
    apath, gpath = _mounted_dir(ctx, mntpoint)
    _guest_run(ctx, ["btrfs", "replace", "start", "-B", "-f", src, target, apath],
               apath, gpath)


_SHOW_PATH = re.compile(r"^\s*devid\s+\d+\s.*\spath\s+(\S+)\s*$")


def do_btrfs_filesystem_show(ctx, dev):
    dev = _btrfs_device(dev)
    out, err, _ = run(["btrfs", "filesystem", "show", "--", dev])
    if "devices missing" in out + err:
        fail("%s: some devices of the filesystem are missing" % dev, "ENODEV")
    res = []
    for line in out.splitlines():
        m = _SHOW_PATH.match(line)
        if m:
            res.append(m.group(1))
    if not res:
        fail("%s: btrfs filesystem show listed no device" % dev, "EIO")
    return res


# ---- balance --------------------------------------------------------------------------------

def do_btrfs_filesystem_balance(ctx, fs):
    apath, gpath = _mounted_dir(ctx, fs)
    _guest_run(ctx, ["btrfs", "balance", "start", "--full-balance", apath], apath, gpath)


def _balance(ctx, verb, path):
    apath, gpath = _mounted_dir(ctx, path)
    _not_running(ctx, ["btrfs", "balance", verb, apath], apath, gpath,
                 ("not running", "not in progress"))


def do_btrfs_balance_pause(ctx, path):
    _balance(ctx, "pause", path)


def do_btrfs_balance_resume(ctx, path):
    _balance(ctx, "resume", path)


def do_btrfs_balance_cancel(ctx, path):
    _balance(ctx, "cancel", path)


_BAL_STATE = re.compile(r"Balance on .* is (running|paused)")
_BAL_NUMS = re.compile(r"(\d+) out of about (\d+) chunks balanced \((\d+) considered\),"
                       r"\s*(\d+)% left")


def parse_balance_status(out):
    """The btrfsbalance struct for the output of btrfs balance status."""
    res = {"btrfsbalance_status": "none", "btrfsbalance_total": 0,
           "btrfsbalance_balanced": 0, "btrfsbalance_considered": 0,
           "btrfsbalance_left": 0}
    m = _BAL_STATE.search(out)
    if m:
        res["btrfsbalance_status"] = m.group(1)
        n = _BAL_NUMS.search(out)
        if n:
            res["btrfsbalance_balanced"] = int(n.group(1))
            res["btrfsbalance_total"] = int(n.group(2))
            res["btrfsbalance_considered"] = int(n.group(3))
            res["btrfsbalance_left"] = int(n.group(4))
    return res


def do_btrfs_balance_status(ctx, path):
    apath, gpath = _mounted_dir(ctx, path)
    # exit status 1: a balance is running or paused; 0: none
    out, err, rc = run(["btrfs", "balance", "status", apath], check=False)
    if rc not in (0, 1):
        raise DaemonError("btrfs balance status: %s" % _guest_msg(
            err.strip() or out.strip(), apath, gpath), "EIO")
    return parse_balance_status(out)


# ---- scrub ----------------------------------------------------------------------------------

def _background(ctx):
    """The scrubs this session runs in the background, [(appliance path, Popen, log)], with
    those that ended reaped (the daemon is PID 1: nothing else would reap them)."""
    server = getattr(ctx, "server", None)
    st = server.state if server is not None else {}
    bg = st.setdefault("btrfs_scrubs", [])
    for item in list(bg):
        if item[1].poll() is not None:
            item[2].close()
            bg.remove(item)
    return bg


def _scrub_in_background(ctx, verb, path, needles=()):
    """btrfs scrub VERB (start or resume) on PATH, left running in the background.  The
    tool runs with -B under the daemon (btrfs's own backgrounding would leave an orphan
    holding the daemon's pipes); a failure it meets at once is this call's error."""
    import subprocess
    import tempfile
    apath, gpath = _mounted_dir(ctx, path)
    bg = _background(ctx)
    os.makedirs(_SCRUB_DIR, exist_ok=True)
    os.makedirs("/run/guestkit", exist_ok=True)
    log = tempfile.TemporaryFile(dir="/run/guestkit")
    argv = ["btrfs", "scrub", verb, "-B", apath]
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             env=ENV, close_fds=True, start_new_session=True)
    except BaseException:
        log.close()
        raise
    try:
        rc = p.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        bg.append((apath, p, log))
        return
    log.seek(0)
    text = log.read(MAX_LOG).decode("utf-8", "replace")
    log.close()
    if rc != 0:
        text = " ".join(_guest_msg(text.strip(), apath, gpath).split())
        low = text.lower()
        code = "ENOTCONN" if any(n in low for n in needles) else (
            "EBUSY" if "already running" in low else "EIO")
        raise DaemonError("btrfs scrub %s: %s" % (verb, text or "exit status %d" % rc), code)


MAX_LOG = 64 * 1024


def do_btrfs_scrub_start(ctx, path):
    _scrub_in_background(ctx, "start", path)


def do_btrfs_scrub_resume(ctx, path):
    _scrub_in_background(ctx, "resume", path, ("nothing to resume",))


def do_btrfs_scrub_cancel(ctx, path):
    import subprocess
    apath, gpath = _mounted_dir(ctx, path)
    _not_running(ctx, ["btrfs", "scrub", "cancel", apath], apath, gpath, ("not running",))
    # the scrub's own process records where it stopped as it ends: wait for it, so that a
    # resume right after this finds the record
    for item in _background(ctx):
        if item[0] == apath:
            try:
                item[1].wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
    _background(ctx)


def do_btrfs_scrub_full(ctx, path, readonly=False):
    apath, gpath = _mounted_dir(ctx, path)
    _background(ctx)
    os.makedirs(_SCRUB_DIR, exist_ok=True)
    argv = ["btrfs", "scrub", "start", "-B"] + (["-r"] if readonly else []) + [apath]
    out, err, rc = run(argv, check=False)
    if rc != 0:
        text = " ".join(_guest_msg(err.strip() or out.strip(), apath, gpath).split())
        # status 3: the scrub found errors it could not correct
        raise DaemonError("btrfs scrub: %s: %s" % (
            gpath, "uncorrectable errors found: " + text if rc == 3 else text),
            "EBUSY" if rc != 3 and "already running" in text.lower() else "EIO")


SCRUB_FIELDS = ("data_extents_scrubbed", "tree_extents_scrubbed", "data_bytes_scrubbed",
                "tree_bytes_scrubbed", "read_errors", "csum_errors", "verify_errors",
                "no_csum", "csum_discards", "super_errors", "malloc_errors",
                "uncorrectable_errors", "unverified_errors", "corrected_errors",
                "last_physical")


def parse_scrub_status(out):
    """The btrfsscrub struct for the output of btrfs scrub status -R."""
    res = {"btrfsscrub_" + f: 0 for f in SCRUB_FIELDS}
    for line in out.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key in SCRUB_FIELDS:
            try:
                res["btrfsscrub_" + key] = int(value.strip())
            except ValueError:
                pass
    return res


def do_btrfs_scrub_status(ctx, path):
    apath, gpath = _mounted_dir(ctx, path)
    _background(ctx)
    os.makedirs(_SCRUB_DIR, exist_ok=True)
    out, _, _ = _guest_run(ctx, ["btrfs", "scrub", "status", "-R", apath], apath, gpath)
    return parse_scrub_status(out)


# ---- quotas ---------------------------------------------------------------------------------

def do_btrfs_quota_enable(ctx, fs, enable):
    with _FsOrPath(ctx, fs, readonly=False) as (apath, gpath):
        _guest_run(ctx, ["btrfs", "quota", "enable" if enable else "disable", apath],
                   apath, gpath)


def do_btrfs_quota_rescan(ctx, fs):
    with _FsOrPath(ctx, fs, readonly=False) as (apath, gpath):
        _guest_run(ctx, ["btrfs", "quota", "rescan", "-w", apath], apath, gpath)


def do_btrfs_qgroup_create(ctx, qgroupid, subvolume):
    qid = _qgroup(qgroupid)
    apath, gpath = _mounted_dir(ctx, subvolume)
    _guest_run(ctx, ["btrfs", "qgroup", "create", qid, apath], apath, gpath)


def do_btrfs_qgroup_destroy(ctx, qgroupid, subvolume):
    qid = _qgroup(qgroupid)
    apath, gpath = _mounted_dir(ctx, subvolume)
    _guest_run(ctx, ["btrfs", "qgroup", "destroy", qid, apath], apath, gpath)


def do_btrfs_qgroup_limit(ctx, subvolume, size):
    if size < 0:
        fail("btrfs_qgroup_limit: size must not be negative")
    apath, gpath = _mounted_dir(ctx, subvolume)
    _guest_run(ctx, ["btrfs", "qgroup", "limit", str(size), apath], apath, gpath)


def do_btrfs_qgroup_assign(ctx, src, dst, path):
    s, d = _qgroup(src), _qgroup(dst)
    apath, gpath = _mounted_dir(ctx, path)
    _guest_run(ctx, ["btrfs", "qgroup", "assign", s, d, apath], apath, gpath)


def do_btrfs_qgroup_remove(ctx, src, dst, path):
    s, d = _qgroup(src), _qgroup(dst)
    apath, gpath = _mounted_dir(ctx, path)
    _guest_run(ctx, ["btrfs", "qgroup", "remove", s, d, apath], apath, gpath)


_QG_LINE = re.compile(r"^\s*(\d+/\d+)\s+(\d+)\s+(\d+)(?:\s|$)")


def parse_qgroup_show(out):
    res = []
    for line in out.splitlines():
        m = _QG_LINE.match(line)
        if m:
            res.append({"btrfsqgroup_id": m.group(1), "btrfsqgroup_rfer": int(m.group(2)),
                        "btrfsqgroup_excl": int(m.group(3))})
    return res


def do_btrfs_qgroup_show(ctx, path):
    apath, gpath = _mounted_dir(ctx, path)
    out, _, _ = _guest_run(ctx, ["btrfs", "qgroup", "show", "--raw", apath], apath, gpath,
                           limit=64 << 20)
    return parse_qgroup_show(out)


# ---- offline tools --------------------------------------------------------------------------

def do_btrfs_rescue_chunk_recover(ctx, dev):
    dev = _unmounted(dev, "btrfs_rescue_chunk_recover", btrfs=False)
    run(["btrfs", "rescue", "chunk-recover", "-y", dev])


def do_btrfs_rescue_super_recover(ctx, dev):
    dev = _unmounted(dev, "btrfs_rescue_super_recover", btrfs=False)
    # a non-zero status also when bad superblocks were found and recovered
    out, err, rc = run(["btrfs", "rescue", "super-recover", "-y", dev], check=False)
    if rc != 0 and "superblocks successful" not in out + err:
        text = "\n".join((err.strip() or out.strip()).splitlines()[-10:])
        raise DaemonError("btrfs rescue super-recover: %s: %s" % (
            dev, text or "exit status %d" % rc), "EIO")


def do_btrfs_fsck(ctx, dev, superblock=None, repair=False):
    dev = _unmounted(dev, "btrfs_fsck", btrfs=False)
    argv = ["btrfs", "check"]
    if superblock is not None:
        if superblock < 0:
            fail("btrfs_fsck: superblock must not be negative")
        argv += ["--super", str(superblock)]
    if repair:
        argv.append("--repair")
    # --repair asks for a confirmation on its standard input
    out, err, rc = run(argv + ["--", dev], input=b"y\n", check=False)
    if rc != 0:
        text = (err.strip() or out.strip())
        tail = "\n".join(text.splitlines()[-20:])
        raise DaemonError("btrfs check: %s: %s" % (dev, tail), "EIO")


def do_btrfs_image(ctx, source, image, compresslevel=None):
    if not source:
        fail("btrfs_image: the list of source devices is empty")
    devs = _devices(source)
    for d in devs:
        _btrfs_device(d)
    argv = ["btrfs-image"]
    if compresslevel is not None:
        if not 0 <= compresslevel <= 9:
            fail("btrfs_image: compresslevel must be 0 to 9")
        argv += ["-c", str(compresslevel)]
    ctx.need_root()
    apath = ctx.resolve(image, follow=False)
    if apath == ctx.sysroot:
        fail("%s: is a directory" % image, "EISDIR")
    try:
        fd = os.open(apath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW |
                     os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, 0o644)
    except OSError as e:
        if e.errno in (6, 40):        # ENXIO (a fifo), ELOOP (a symlink)
            fail("%s: not a regular file" % image)
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            fail("%s: not a regular file" % image)
        # the other devices of a multi-device filesystem are found by btrfs-image itself
        run(argv + [devs[0], "/proc/self/fd/%d" % fd], pass_fds=(fd,))
    finally:
        os.close(fd)


def _btrfstune(dev, opts, what):
    dev = _unmounted(dev, what)
    run(["btrfstune"] + opts + [dev])


def do_btrfs_set_seeding(ctx, dev, seeding):
    # clearing the flag is one of btrfstune's "dangerous" operations: -f
    _btrfstune(dev, ["-S", "1"] if seeding else ["-f", "-S", "0"], "btrfs_set_seeding")


def do_btrfstune_seeding(ctx, dev, seeding):
    _btrfstune(dev, ["-S", "1"] if seeding else ["-f", "-S", "0"], "btrfstune_seeding")


def do_btrfstune_enable_extended_inode_refs(ctx, dev):
    _btrfstune(dev, ["-r"], "btrfstune_enable_extended_inode_refs")


def do_btrfstune_enable_skinny_metadata_extent_refs(ctx, dev):
    _btrfstune(dev, ["-x"], "btrfstune_enable_skinny_metadata_extent_refs")


# ---- files and subvolumes -------------------------------------------------------------------

_COMPRESS = ("zlib", "lzo", "zstd")


def do_btrfs_filesystem_defragment(ctx, path, flush=False, compress=None):
    ctx.need_root()
    apath = ctx.resolve(path)
    gpath = to_guest(ctx.sysroot, apath)
    st = os.lstat(apath)
    argv = ["btrfs", "filesystem", "defragment"]
    if stat.S_ISDIR(st.st_mode):
        # recursion visits regular files only and does not follow symlinks
        argv.append("-r")
    elif not stat.S_ISREG(st.st_mode):
        fail("%s: not a regular file or directory" % path)
    if flush:
        argv.append("-f")
    if compress is not None:
        if compress not in _COMPRESS:
            fail("btrfs_filesystem_defragment: compress must be one of %s, not %r"
                 % (", ".join(_COMPRESS), compress))
        argv.append("-c" + compress)
    _guest_run(ctx, argv + ["--", apath], apath, gpath)


def do_btrfs_subvolume_snapshot(ctx, source, dest, ro=False, qgroupid=None):
    ctx.need_root()
    asrc = ctx.resolve(source)
    if not os.path.isdir(asrc):
        fail("%s: not a subvolume" % source, "ENOTDIR" if os.path.lexists(asrc) else "ENOENT")
    gsrc = to_guest(ctx.sysroot, asrc)
    adest = ctx.resolve(dest, follow=False)
    if adest == ctx.sysroot or os.path.lexists(adest):
        fail("%s: already exists" % dest, "EEXIST")
    argv = ["btrfs", "subvolume", "snapshot"]
    if ro:
        argv.append("-r")
    if qgroupid is not None:
        argv += ["-i", _qgroup(qgroupid)]
    try:
        run(argv + ["--", asrc, adest])
    except DaemonError as e:
        msg = _guest_msg(_guest_msg(str(e), adest, to_guest(ctx.sysroot, adest)), asrc, gsrc)
        raise DaemonError(msg, e.errno_name) from None


_DEFAULT_ID = re.compile(r"^ID (\d+)\b")


def do_btrfs_subvolume_get_default(ctx, fs):
    with _FsOrPath(ctx, fs) as (apath, gpath):
        out, _, _ = _guest_run(ctx, ["btrfs", "subvolume", "get-default", apath],
                               apath, gpath)
    m = _DEFAULT_ID.match(out.strip())
    if not m:
        fail("btrfs subvolume get-default gave %r" % out.strip()[:200], "EIO")
    return int(m.group(1))
