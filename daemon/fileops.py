"""More file actions: directory entries, temporary files, comparisons, initrd and ISO
contents, Sleuth Kit walks, scrubbing, squashfs images, commands streamed to the host.

Guest paths go through ctx.resolve / ctx.open_dir (chrooted resolution); file content is
only read from regular files opened without blocking (files.open_guest_read)."""

import os
import stat
import subprocess

from . import protocol as P
from .files import (REPLY_LIMIT, MAX_READ, guest_regular, ls_long, open_guest_read,
                    open_guest_write)
from .guestpath import fd_path
from .util import ENV, DaemonError, device, fail, open_nonblocking, run

_CHUNK = P.CHUNK_SIZE


def _need_group(group):
    from .system import group_available
    if not group_available(group):
        raise DaemonError("feature '%s' is not available in this appliance (see "
                          "feature_available)" % group, "ENOTSUP")


# ---- directories ----------------------------------------------------------------------------

def _ftyp(entry):
    if entry.is_symlink():
        return "l"
    if entry.is_dir(follow_symlinks=False):
        return "d"
    if entry.is_file(follow_symlinks=False):
        return "r"
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "u"
    for test, c in ((stat.S_ISBLK, "b"), (stat.S_ISCHR, "c"), (stat.S_ISFIFO, "f"),
                    (stat.S_ISSOCK, "s")):
        if test(mode):
            return c
    return "?"


def do_readdir(ctx, dir):
    ctx.need_root()
    fd = ctx.open_dir(dir)
    try:
        st = os.fstat(fd)
        root = os.stat(ctx.sysroot)
        if (st.st_dev, st.st_ino) == (root.st_dev, root.st_ino):
            parent = st.st_ino              # the guest root's .. is itself
        else:
            parent = os.stat("..", dir_fd=fd, follow_symlinks=False).st_ino
        out = [{"ino": st.st_ino, "ftyp": "d", "name": "."},
               {"ino": parent, "ftyp": "d", "name": ".."}]
        size = 0
        with os.scandir(fd) as it:
            for e in it:
                out.append({"ino": e.inode(), "ftyp": _ftyp(e), "name": e.name})
                size += len(e.name) + 40
                if size > REPLY_LIMIT:
                    raise DaemonError("%s: too many entries to return in one reply; use "
                                      "ls0 or find0 instead" % dir, "EFBIG")
        return out
    finally:
        os.close(fd)


def do_readlinklist(ctx, path, names):
    ctx.need_root()
    fd = ctx.open_dir(path)
    try:
        out = []
        for name in names:
            if not name or "/" in name or name in (".", ".."):
                out.append("")              # only names in PATH itself
                continue
            try:
                out.append(os.fsdecode(os.readlink(name, dir_fd=fd)))
            except OSError:
                out.append("")
        return out
    finally:
        os.close(fd)


_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def do_mktemp(ctx, tmpl, suffix=None):
    if not tmpl.endswith("XXXXXX"):
        fail("%s: the template must end with XXXXXX" % tmpl)
    if suffix and "/" in suffix:
        fail("suffix %r must not contain /" % suffix)
    ctx.need_root()
    head, _, base = tmpl.rpartition("/")
    prefix = base[:-6]
    fd = ctx.open_dir(head or "/")
    try:
        for _ in range(100):
            rnd = "".join(_TEMP_CHARS[b % len(_TEMP_CHARS)] for b in os.urandom(6))
            name = prefix + rnd + (suffix or "")
            try:
                f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
                            os.O_CLOEXEC, 0o600, dir_fd=fd)
            except FileExistsError:
                continue
            try:
                os.fchmod(f, 0o600)
            finally:
                os.close(f)
            return (head or "") + "/" + name
        raise DaemonError("%s: could not find an unused name" % tmpl, "EEXIST")
    finally:
        os.close(fd)


def do_llz(ctx, directory):
    return ls_long(ctx, directory, "-laZ", limit=REPLY_LIMIT // 6)


def do_equal(ctx, file1, file2):
    fd1, st1 = open_guest_read(ctx, file1)
    try:
        fd2, st2 = open_guest_read(ctx, file2)
        try:
            if st1.st_size != st2.st_size:
                return False
            while True:
                a = os.read(fd1, 1 << 20)
                b = os.read(fd2, 1 << 20)
                # reads of regular files return what is asked unless at the end
                while len(b) < len(a):
                    more = os.read(fd2, len(a) - len(b))
                    if not more:
                        break
                    b += more
                while len(a) < len(b):
                    more = os.read(fd1, len(b) - len(a))
                    if not more:
                        break
                    a += more
                if a != b:
                    return False
                if not a:
                    return True
        finally:
            os.close(fd2)
    finally:
        os.close(fd1)


# ---- the Sleuth Kit -------------------------------------------------------------------------

_TSK_TYPES = {"r": "r", "d": "d", "l": "l", "c": "c", "b": "b", "p": "f", "s": "s", "h": "h",
              "w": "w", "V": "d", "v": "r"}


def _nlinks(dev):
    """{inode: link count} of the allocated inodes (ils)."""
    out, _, _ = run(["ils", "-a", dev], limit=P.MAX_JSON)
    res, header = {}, None
    for line in out.splitlines():
        f = line.split("|")
        if f and f[0] == "st_ino":
            header = {k: i for i, k in enumerate(f)}
            continue
        if header is None or len(f) != len(header):
            continue
        try:
            res[int(f[header["st_ino"]])] = int(f[header["st_nlink"]])
        except (ValueError, KeyError):
            continue
    return res


def _walk(dev, only_inode=None):
    _need_group("libtsk")
    dev = device(dev)
    out, _, _ = run(["fls", "-r", "-p", "-m", "/", dev], limit=P.MAX_JSON)
    nlinks = _nlinks(dev)
    res, size = [], 0
    for line in out.splitlines():
        f = line.split("|")
        if len(f) < 11:
            continue
        name = "|".join(f[1:len(f) - 9])
        ino_s, mode = f[-9], f[-8]
        try:
            inode = int(ino_s.split("-")[0])
            fsize, atime, mtime, ctime, crtime = (int(x) for x in f[-5:])
        except ValueError:
            continue
        if only_inode is not None and inode != only_inode:
            continue
        flags = 0x1
        if name.endswith(" (deleted-realloc)"):
            name, flags = name[:-len(" (deleted-realloc)")], 0x2
        elif name.endswith(" (deleted)"):
            name, flags = name[:-len(" (deleted)")], 0
        meta = mode[2:3] if len(mode) > 2 else "-"
        ftype = _TSK_TYPES.get(meta if meta != "-" else mode[:1], "u")
        link = ""
        if ftype == "l" and " -> " in name:
            name, link = name.split(" -> ", 1)
        name = name.lstrip("/")
        res.append({"tsk_inode": inode, "tsk_type": ftype,
                    "tsk_size": fsize if flags & 0x1 or fsize else -1,
                    "tsk_name": name, "tsk_flags": flags,
                    "tsk_atime_sec": atime, "tsk_atime_nsec": 0,
                    "tsk_mtime_sec": mtime, "tsk_mtime_nsec": 0,
                    "tsk_ctime_sec": ctime, "tsk_ctime_nsec": 0,
                    "tsk_crtime_sec": crtime, "tsk_crtime_nsec": 0,
                    "tsk_nlink": nlinks.get(inode, 0) if flags & 0x1 else 0,
                    "tsk_link": link, "tsk_spare1": 0})
        size += len(line) + 400
        if size > REPLY_LIMIT:
            raise DaemonError("%s: too many entries to return in one reply" % dev, "EFBIG")
    return res


def do_filesystem_walk(ctx, dev):
    return _walk(dev)


def do_find_inode(ctx, dev, inode):
    if inode < 0:
        fail("inode %d is negative" % inode)
    return _walk(dev, inode)


def do_filesystem_available(ctx, filesystem):
    from .system import kernel_has_fs
    if not filesystem or "/" in filesystem:
        fail("%r: not a filesystem name" % filesystem)
    return kernel_has_fs(filesystem)


# ---- initrd ---------------------------------------------------------------------------------

#: names listed from one initrd, at most (their total size is bounded by the reply too)
_MAX_MEMBERS = 1 << 20


def _members(r, visit):
    """Walk the cpio archive read by R (content._Reader), calling VISIT(name, mode, size, r)
    for each member; VISIT consumes nothing and returns True to stop.  Returns "stop",
    "end" (the trailer) or "bad"."""
    while True:
        hdr = r.read(110)
        if len(hdr) < 110 or hdr[:6] not in (b"070701", b"070702"):
            return "bad"
        try:
            fields = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            return "bad"
        mode, size, namesize = fields[1], fields[6], fields[11]
        if namesize > 65536:
            return "bad"
        name = r.read(namesize).rstrip(b"\0")
        r.skip((-(110 + namesize)) % 4)
        if name == b"TRAILER!!!":
            return "end"
        consumed = visit(name, mode, size, r)
        if consumed is True:
            return "stop"
        r.skip(size - (consumed or 0))
        r.skip((-size) % 4)


def _initrd_walk(ctx, path, visit):
    """Call VISIT for every member of every archive of the initramfs PATH."""
    from .content import _MAX_PADDING, _MAX_UNPACK, _Reader, _decompressor
    fd, _ = open_guest_read(ctx, path)
    procs = []
    try:
        r = _Reader(fd, _MAX_UNPACK)
        nested = True
        while True:
            padding = 0
            while True:
                head = r.peek(512)
                stripped = head.lstrip(b"\0")
                if not head or stripped or padding > _MAX_PADDING:
                    break
                r.skip(len(head))
                padding += len(head)
            if head and stripped:
                r.skip(len(head) - len(stripped))
            head = r.peek(8)
            if not head:
                return
            if head[:6] in (b"070701", b"070702"):
                how = _members(r, visit)
                if how == "stop":
                    return
                if how == "bad":
                    raise DaemonError("%s: damaged cpio archive" % path, "EINVAL")
                continue
            argv = _decompressor(head) if nested else None
            if argv is None:
                if procs or r.pos:
                    return          # trailing data after the archives
                raise DaemonError("%s: not an initramfs (a cpio archive, compressed or "
                                  "not)" % path, "EINVAL")
            os.lseek(fd, r.pos, os.SEEK_SET)
            try:
                p = subprocess.Popen(argv, stdin=fd, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=ENV, close_fds=True)
            except FileNotFoundError:
                raise DaemonError("%s: command not found in the appliance" % argv[0],
                                  "ENOENT") from None
            procs.append(p)
            r = _Reader(p.stdout.fileno(), _MAX_UNPACK)
            nested = False          # one compressed archive stream (as the kernel reads it)
    finally:
        for p in procs:
            p.kill()
            p.wait()
            p.stdout.close()
        os.close(fd)


def _member_name(name):
    s = os.fsdecode(name)
    while s.startswith("./"):
        s = s[2:]
    return s.lstrip("/")


def do_initrd_list(ctx, path):
    names, total = [], [0]

    def visit(name, mode, size, r):
        s = _member_name(name)
        if s in ("", "."):
            return 0
        names.append(s)
        total[0] += len(name) + 8
        if total[0] > REPLY_LIMIT // 2 or len(names) > _MAX_MEMBERS:
            raise DaemonError("%s: too many names to return in one reply" % path, "EFBIG")
        return 0
    _initrd_walk(ctx, path, visit)
    return names


def do_initrd_cat(ctx, initrdpath, filename):
    want = _member_name(filename.encode("utf-8", "surrogateescape"))
    found = []

    def visit(name, mode, size, r):
        if _member_name(name) != want:
            return 0
        if not stat.S_ISREG(mode):
            raise DaemonError("%s: %s is not a regular file in the initrd"
                              % (initrdpath, filename), "EINVAL")
        if size > MAX_READ:
            raise DaemonError("%s: %s is larger than %d bytes, too large to return in one "
                              "reply" % (initrdpath, filename, MAX_READ), "EFBIG")
        data = r.read(size)
        if len(data) != size:
            raise DaemonError("%s: %s is truncated" % (initrdpath, filename), "EINVAL")
        found.append(data)
        return True
    _initrd_walk(ctx, initrdpath, visit)
    if not found:
        raise DaemonError("%s: no file %s in the initrd" % (initrdpath, filename), "ENOENT")
    return found[0]


# ---- ISO 9660 -------------------------------------------------------------------------------

def _iso_time(b):
    """Seconds since the epoch of a 17-byte volume descriptor date, -1 if not set."""
    digits = b[:16]
    if not digits.isdigit() or digits.strip(b"0") == b"":
        return -1
    t = digits.decode()
    y, mo, d = int(t[0:4]), int(t[4:6]), int(t[6:8])
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return -1
    # days from 1970-01-01 of a proleptic Gregorian date (no calendar module in the
    # appliance)
    yy = y - (mo <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    secs = days * 86400 + int(t[8:10]) * 3600 + int(t[10:12]) * 60 + int(t[12:14])
    tz = b[16] - 256 if b[16] > 127 else b[16]     # quarter hours from GMT
    return secs - tz * 15 * 60


def _isoinfo_fd(fd, what):
    pvd = os.pread(fd, 2048, 16 * 2048)
    if len(pvd) < 2048 or pvd[0:6] != b"\x01CD001":
        raise DaemonError("%s: no ISO 9660 primary volume descriptor" % what, "EINVAL")

    def text(a, b):
        return pvd[a:b].decode("latin-1").rstrip(" \0")

    def le32(a):
        return int.from_bytes(pvd[a:a + 4], "little")

    def le16(a):
        return int.from_bytes(pvd[a:a + 2], "little")
    return {
        "iso_system_id": text(8, 40), "iso_volume_id": text(40, 72),
        "iso_volume_space_size": le32(80), "iso_volume_set_size": le16(120),
        "iso_volume_sequence_number": le16(124), "iso_logical_block_size": le16(128),
        "iso_volume_set_id": text(190, 318), "iso_publisher_id": text(318, 446),
        "iso_data_preparer_id": text(446, 574), "iso_application_id": text(574, 702),
        "iso_copyright_file_id": text(702, 739), "iso_abstract_file_id": text(739, 776),
        "iso_bibliographic_file_id": text(776, 813),
        "iso_volume_creation_t": _iso_time(pvd[813:830]),
        "iso_volume_modification_t": _iso_time(pvd[830:847]),
        "iso_volume_expiration_t": _iso_time(pvd[847:864]),
        "iso_volume_effective_t": _iso_time(pvd[864:881]),
    }


def do_isoinfo_device(ctx, dev):
    fd, _ = open_nonblocking(device(dev), os.O_RDONLY, allow_block=True)
    try:
        return _isoinfo_fd(fd, dev)
    finally:
        os.close(fd)


def do_isoinfo(ctx, isofile):
    fd, _ = open_guest_read(ctx, isofile)
    try:
        return _isoinfo_fd(fd, isofile)
    finally:
        os.close(fd)


# ---- writing, copying -----------------------------------------------------------------------

def do_write_file(ctx, path, content, size):
    data = content.encode("utf-8", "surrogateescape")
    if size < 0 or size > len(data):
        fail("size %d is out of range (the content has %d bytes)" % (size, len(data)))
    if size:
        data = data[:size]
    fd, _ = open_guest_write(ctx, path, os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _size_of(ctx, name):
    if name.startswith("/dev/"):
        fd = os.open(device(name), os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
    ctx.need_root()
    st = ctx.stat_or_none(name)
    return st.st_size if st is not None else None


def do_dd(ctx, src, dest):
    from .archive import _copy
    if dest.startswith("/dev/"):
        have, need = _size_of(ctx, dest), _size_of(ctx, src)
        if need is not None and have < need:
            raise DaemonError("%s: the destination (%d bytes) is smaller than the source "
                              "%s (%d bytes)" % (dest, have, src, need), "ENOSPC")
    _copy(ctx, src, dest, ("either", "either"))


# ---- commands streamed to the host ----------------------------------------------------------

def _command_out(ctx, argv):
    from .archive import _stream_out
    from .commands import _bind, _find_program, _missing, _unbind
    ctx.need_root()
    if not argv:
        fail("command_out: empty argument list")
    if _find_program(ctx, argv[0]) is None:
        raise _missing(argv[0])
    binds = _bind(ctx)
    try:
        # the appliance's chroot(8) enters the guest root, then runs the guest's program
        _stream_out(ctx, [["chroot", ctx.sysroot] + list(argv)])
    except DaemonError as e:
        msg = str(e)
        if msg.startswith("chroot: "):
            msg = msg[len("chroot: "):]
        raise DaemonError("%s: %s" % (argv[0], msg), e.errno_name) from None
    finally:
        _unbind(binds)


def do_command_out(ctx, arguments):
    _command_out(ctx, arguments)


def do_sh_out(ctx, command):
    _command_out(ctx, ["/bin/sh", "-c", command])


# ---- scrub ----------------------------------------------------------------------------------

def do_scrub_device(ctx, dev):
    _need_group("scrub")
    run(["scrub", "-f", device(dev)])


def do_scrub_file(ctx, file):
    _need_group("scrub")
    ctx.need_root()
    apath = ctx.resolve(file)
    guest_regular(apath, file)
    try:
        run(["scrub", "-r", "-f", "--", apath])
    except DaemonError as e:
        raise DaemonError(str(e).replace(apath, file), e.errno_name) from None


def do_scrub_freespace(ctx, dir):
    _need_group("scrub")
    ctx.need_root()
    apath = ctx.resolve(dir)
    if os.path.lexists(apath):
        raise DaemonError("%s: already exists (scrub_freespace creates it)" % dir, "EEXIST")
    try:
        run(["scrub", "-X", "--", apath])
    except DaemonError as e:
        msg = str(e).replace(apath, dir)
        raise DaemonError(msg, e.errno_name) from None


# ---- squashfs -------------------------------------------------------------------------------

_SQUASHFS_COMP = ("gzip", "lzma", "lzo", "lz4", "xz", "zstd")


def do_mksquashfs(ctx, path, compress=None, excludes=None):
    import tempfile
    _need_group("squashfs")
    if compress is not None and compress not in _SQUASHFS_COMP:
        fail("compress: %r is not one of %s" % (compress, ", ".join(_SQUASHFS_COMP)))
    ctx.need_root()
    top = ctx.open_dir(path)
    tmpdir = tempfile.mkdtemp(prefix="squash.", dir="/tmp")
    image = os.path.join(tmpdir, "image.sqfs")
    try:
        # run in the directory (reached by a descriptor) on "."
        argv = ["mksquashfs", ".", image, "-noappend", "-no-progress", "-quiet"]
        if compress:
            argv += ["-comp", compress]
        if excludes:
            ef = os.path.join(tmpdir, "excludes")
            with open(ef, "w") as f:
                for pat in excludes:
                    if "\n" in pat:
                        fail("exclude pattern %r holds a newline" % pat)
                    f.write(pat + "\n")
            argv += ["-wildcards", "-ef", ef]
        run(argv, cwd=fd_path(top), pass_fds=(top,))
        fd = os.open(image, os.O_RDONLY | os.O_CLOEXEC)
        try:
            total = os.fstat(fd).st_size
            done = 0
            ctx.progress(0, total, force=True)
            while True:
                b = os.read(fd, _CHUNK)
                if not b:
                    break
                ctx.write(b)
                done += len(b)
                ctx.progress(done, total)
        finally:
            os.close(fd)
    finally:
        os.close(top)
        for n in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, n))
        os.rmdir(tmpdir)


# ---- zfile ----------------------------------------------------------------------------------

_ZFILE = {"gzip": ["gzip", "-dc"], "compress": ["gzip", "-dc"], "bzip2": ["bzip2", "-dc"]}


def do_zfile(ctx, meth, path):
    if meth not in _ZFILE:
        fail("zfile: unknown method %r (use gzip, compress or bzip2)" % meth)
    fd, _ = open_guest_read(ctx, path)
    try:
        p = subprocess.Popen(_ZFILE[meth], stdin=fd, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=ENV, close_fds=True)
        try:
            head = p.stdout.read(1 << 20)       # file(1) looks at the start only
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
    finally:
        os.close(fd)
    if not head:
        raise DaemonError("%s: not %s-compressed data (or empty)" % (path, meth), "EINVAL")
    out, _, _ = run(["file", "-b", "-"], input=head)
    return out.rstrip("\n")

