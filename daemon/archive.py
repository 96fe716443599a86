"""Handlers for the archive actions (standard library only).

tar and cpio run in the appliance on resolved paths only.  Packing (tar_out, cpio_out) never
follows a symlink, so a guest link cannot make it read the appliance's own files.  Unpacking
is where GNU tar would follow a guest symlink already in the destination (a link to /etc
means the appliance's /etc there), so tar_in unpacks into a fresh, private directory inside
the destination and then moves the result into place in Python, resolving any guest symlink
it meets inside the guest's root (daemon/guestpath.py).
"""

import errno
import os
import select
import stat
import subprocess

from . import protocol as P
from .files import guest_regular
from .content import walk
from .guestpath import fd_path, resolve, to_guest
from .util import (ENV, PATH, DaemonError, device, open_nonblocking,
                   pwrite_all, run, tool_error)
from .transfer import receive_into

_CHUNK = P.CHUNK_SIZE
_ERR_TAIL = 16 << 10          # how much of a tool's stderr is kept for the error message

# compression name -> (tar option to pack, tar option to unpack, tool that must exist)
_COMPRESS = {
    "gzip": ("-z", "-z", "gzip"),
    "bzip2": ("-j", "-j", "bzip2"),
    "xz": ("-J", "-J", "xz"),
    "lzop": ("--lzop", "--lzop", "lzop"),
    "zstd": ("--zstd", "--zstd", "zstd"),
    # gzip reads the .Z format; writing it needs compress(1) itself, with -f: without it
    # compress exits 2 when the data does not shrink
    "compress": ("--use-compress-program=compress -f", "--use-compress-program=gzip", None),
}


def _which(name):
    return any(os.access(os.path.join(d, name), os.X_OK) for d in PATH.split(":"))


def _compress_option(compress, packing):
    if compress is None:
        return []
    if compress not in _COMPRESS:
        raise DaemonError("unknown compression type %r (use one of: %s)"
                          % (compress, ", ".join(sorted(_COMPRESS))), "EINVAL")
    opt_out, opt_in, tool = _COMPRESS[compress]
    tool = tool or ("compress" if packing else "gzip")
    if not _which(tool):
        raise DaemonError("%s compression is not available in this appliance (%s is "
                          "missing)" % (compress, tool), "ENOTSUP")
    return [opt_out if packing else opt_in]



def _guest_dir(ctx, directory):
    """The resolved appliance path of the guest directory DIRECTORY (it must exist)."""
    ctx.need_root()
    apath = ctx.resolve(directory)
    try:
        st = os.lstat(apath)
    except FileNotFoundError:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), directory) from None
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), directory)
    return apath


def _set_pipe_size(fd):
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _CHUNK)
    except (OSError, ImportError):
        pass


def _kill(procs):
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in procs:
        try:
            p.wait()
        except OSError:
            pass


def _stream_out(ctx, cmds, cwd=None, ok=(0,), check_stderr=None, pass_fds=()):
    """Run the pipeline CMDS (lists of argv) and send what the last one writes as the FileOut
    stream, checking for a cancel from the library while the tools work.  Progress is sent
    in pulse mode (the size is not known in advance).  Raises DaemonError with the tools'
    stderr if one fails.  PASS_FDS stay open in the tools (CWD may be /proc/self/fd/N)."""
    procs = []
    err_r, err_w = os.pipe()
    err = bytearray()
    try:
        prev = subprocess.DEVNULL
        for argv in cmds:
            try:
                p = subprocess.Popen(argv, stdin=prev, stdout=subprocess.PIPE, stderr=err_w,
                                     cwd=cwd, env=ENV, close_fds=True, pass_fds=pass_fds)
            except FileNotFoundError:
                raise DaemonError("%s: command not found in the appliance" % argv[0],
                                  "ENOENT") from None
            finally:
                if prev is not subprocess.DEVNULL:
                    prev.close()
            procs.append(p)
            prev = p.stdout
        os.close(err_w)
        err_w = None
        out = procs[-1].stdout
        outfd = out.fileno()
        _set_pipe_size(outfd)
        open_fds = [outfd, err_r]
        pos = 0
        buf = bytearray()
        ctx.progress(0, 0, force=True)
        while open_fds:
            # the tools write in small records: gather up to a chunk before sending one,
            # waiting a little for more while some is pending
            ready, _, _ = select.select(open_fds, [], [], 0.005 if buf else 0.2)
            if buf and (not ready or len(buf) >= _CHUNK // 2):
                ctx.write(bytes(buf))
                pos += len(buf)
                buf.clear()
                ctx.progress(pos, 0)
            if not ready:
                if not buf:
                    ctx.check_cancel()
                    ctx.progress(pos, 0)
                continue
            for fd in ready:
                data = os.read(fd, _CHUNK)
                if not data:
                    open_fds.remove(fd)
                elif fd == outfd:
                    buf += data
                else:
                    err += data
                    if len(err) > 2 * _ERR_TAIL:
                        del err[:-_ERR_TAIL]
        if buf:
            ctx.write(bytes(buf))
            pos += len(buf)
        out.close()
        codes = [p.wait() for p in procs]
    except BaseException:
        _kill(procs)
        for p in procs:
            if p.stdout:
                p.stdout.close()
        raise
    finally:
        os.close(err_r)
        if err_w is not None:
            os.close(err_w)
    for argv, code in zip(cmds, codes):
        if code not in ok:
            raise tool_error(argv, err, code)
    if check_stderr is not None:
        check_stderr(bytes(err).decode("utf-8", "replace"))
    ctx.progress(pos, 0, force=True)


# ---- tar_out, cpio_out ---------------------------------------------------------------------

def _tar_out(ctx, directory, compress=None, numericowner=None, excludes=None, xattrs=None,
             selinux=None, acls=None):
    ctx.need_root()
    # 64 KiB records (not tar's 10 KiB): a third of the time for big files under TCG, and
    # at most 64 KiB of padding at the end
    argv = ["tar", "-cf", "-", "--sparse", "-b", "128"]
    argv += _compress_option(compress, packing=True)
    if numericowner:
        argv.append("--numeric-owner")
    if xattrs:
        argv += ["--xattrs", "--xattrs-include=*"]
    if selinux:
        argv.append("--selinux")
    if acls:
        argv.append("--acls")
    for pattern in excludes or []:
        argv.append("--exclude=" + pattern)
    argv += ["--", "."]
    # GNU tar walks any depth (it opens every directory relative to its parent); it starts
    # in the directory, reached by a descriptor, so that may be deeper than PATH_MAX too
    top = ctx.open_dir(directory)
    try:
        # exit status 1: "file changed as we read it" and the like, warnings only
        _stream_out(ctx, [argv], ok=(0, 1), cwd=fd_path(top), pass_fds=(top,))
    finally:
        os.close(top)


def do_tar_out(ctx, directory, compress=None, numericowner=None, excludes=None, xattrs=None,
               selinux=None, acls=None):
    _tar_out(ctx, directory, compress, numericowner, excludes, xattrs, selinux, acls)


def do_tgz_out(ctx, directory):
    _tar_out(ctx, directory, compress="gzip")


def do_txz_out(ctx, directory):
    _tar_out(ctx, directory, compress="xz")


def do_cpio_out(ctx, directory, format=None):
    fmt = format or "newc"
    if fmt not in ("newc", "crc"):
        raise DaemonError("format must be newc or crc, not %r" % fmt, "EINVAL")
    ctx.need_root()
    # written here rather than by GNU cpio, which opens every file by its path from the top
    # and skips (with a message) what is deeper than PATH_MAX
    top = ctx.open_dir(directory)
    try:
        _Cpio(ctx, fmt == "crc", directory).tree(top)
    finally:
        os.close(top)


class _Cpio:
    """A cpio archive in the newc (070701) or crc (070702) format, as GNU cpio -o -H newc
    writes it from `find . -print0`: "." first, then every entry under its relative name,
    a directory before what it holds; symlinks are stored, never followed.  Hard links
    share an inode number and the data goes with the first name (GNU cpio puts it with the
    last; its -i and the kernel's initramfs unpacker link later empty names to the first).
    Inode numbers are renumbered (the format has 32 bits for them), so two filesystems of
    the tree never share one."""

    MAX_SIZE = 0xFFFFFFFF
    BLOCK = 512                     # the archive is padded to whole blocks, as cpio does

    def __init__(self, ctx, crc, label):
        self.ctx = ctx
        self.crc = crc
        self.label = label
        self.buf = bytearray()
        self.pos = 0
        self.inodes = {}            # (st_dev, st_ino) -> number, for files with links
        self.last_ino = 0

    def tree(self, topfd):
        self.ctx.progress(0, 0, force=True)
        self.entry(b".", os.fstat(topfd), None, None)
        for rel, _, dirfd, name in walk(topfd, self.label):
            st = os.lstat(name, dir_fd=dirfd)
            self.entry(rel, st, dirfd, name)
        self.header(b"TRAILER!!!", None, 0, 0, 0, nlink=1)
        self.put(bytes(-(self.pos + len(self.buf)) % self.BLOCK))
        self.flush()
        self.ctx.progress(self.pos, 0, force=True)

    def where(self, rel):
        return self.label if rel == b"." else self.label.rstrip("/") + "/" + os.fsdecode(rel)

    def entry(self, rel, st, dirfd, name):
        mode = st.st_mode
        data, fd, size = b"", None, 0
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.inodes:
                # another name of a file already stored: its data is not repeated
                self.header(rel, st, self.inodes[key], 0, 0)
                return
            size = st.st_size
            if size > self.MAX_SIZE:
                raise DaemonError("%s: a cpio archive (newc or crc) cannot hold a file of 4 "
                                  "GiB or more" % self.where(rel), "EFBIG")
            ino = self.number()
            if st.st_nlink > 1:
                self.inodes[key] = ino
            fd = self.open(dirfd, name, st, rel)
        elif stat.S_ISLNK(mode):
            data = os.fsencode(os.readlink(name, dir_fd=dirfd))
            size = len(data)
            ino = self.number()
        else:
            ino = self.number()
        try:
            check = self.checksum(fd, size, rel) if fd is not None and self.crc else 0
            self.header(rel, st, ino, size, check)
            if fd is not None:
                self.copy(fd, size, rel)
            else:
                self.put(data)
            self.put(bytes(-size % 4))
        finally:
            if fd is not None:
                os.close(fd)

    def number(self):
        self.last_ino += 1
        return self.last_ino

    def open(self, dirfd, name, st, rel):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY |
                     os.O_CLOEXEC, dir_fd=dirfd)
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise DaemonError("%s: the file was replaced while it was archived"
                              % self.where(rel), "EIO")
        return fd

    def chunks(self, fd, size, rel):
        pos = 0
        while pos < size:
            b = os.pread(fd, min(_CHUNK, size - pos), pos)
            if not b:
                raise DaemonError("%s: the file shrank while it was archived"
                                  % self.where(rel), "EIO")
            pos += len(b)
            yield b

    def checksum(self, fd, size, rel):
        total = 0
        for b in self.chunks(fd, size, rel):
            total += sum(b)
        return total & 0xFFFFFFFF

    def copy(self, fd, size, rel):
        for b in self.chunks(fd, size, rel):
            self.put(b)

    def header(self, rel, st, ino, size, check, nlink=None):
        if st is None:
            fields = (0, 0, 0, 0, nlink, 0, 0, 0, 0, 0, 0)
        else:
            fields = (ino, st.st_mode, st.st_uid, st.st_gid, st.st_nlink,
                      min(max(int(st.st_mtime), 0), 0xFFFFFFFF), size,
                      os.major(st.st_dev), os.minor(st.st_dev),
                      os.major(st.st_rdev), os.minor(st.st_rdev))
        fields = [f & 0xFFFFFFFF for f in fields] + [len(rel) + 1, check]
        head = b"070702" if self.crc else b"070701"
        head += b"".join(b"%08X" % f for f in fields) + rel + b"\0"
        self.put(head + bytes(-len(head) % 4))

    def put(self, data):
        self.buf += data
        if len(self.buf) >= _CHUNK:
            self.flush()

    def flush(self):
        while self.buf:
            piece = bytes(self.buf[:_CHUNK])
            del self.buf[:_CHUNK]
            self.ctx.write(piece)
            self.pos += len(piece)
            self.ctx.progress(self.pos, 0)


# ---- tar_in --------------------------------------------------------------------------------

def _tar_in(ctx, directory, compress=None, xattrs=None, selinux=None, acls=None):
    try:
        dest = _guest_dir(ctx, directory)
        # records of 1 MiB, reassembled from the pipe's short reads: fewer system calls
        argv = ["tar", "-xf", "-", "-b", "2048", "-B", "--numeric-owner"]
        argv += _compress_option(compress, packing=False)
        if xattrs:
            argv += ["--xattrs", "--xattrs-include=*"]
        if selinux:
            argv.append("--selinux")
        if acls:
            argv.append("--acls")
        staging = _make_staging(dest)
    except BaseException:
        ctx.stop_sender()          # the data has nowhere to go
        raise
    try:
        _stream_in(ctx, argv + ["-C", staging])
        _merge(ctx, staging, dest)
    finally:
        _remove_tree(staging)


def _make_staging(dest):
    while True:
        path = "%s/.guestkit-tar_in-%s" % (dest, os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def _stream_in(ctx, argv, with_stdout=False, error=tool_error):
    """Feed the FileIn stream to ARGV's standard input, with progress.  The tail of its
    stderr (and of its stdout too if WITH_STDOUT; else its stdout is dropped) makes the
    error ERROR(argv, messages, exit status) raised if it fails."""
    import threading
    err = bytearray()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE if with_stdout else subprocess.DEVNULL,
                             stderr=subprocess.STDOUT if with_stdout else subprocess.PIPE,
                             env=ENV, close_fds=True)
    except FileNotFoundError:
        ctx.stop_sender()
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None
    messages = p.stdout if with_stdout else p.stderr

    def drain():
        while True:
            b = messages.read1(65536)
            if not b:
                return
            err.extend(b)
            if len(err) > 2 * _ERR_TAIL:
                del err[:-_ERR_TAIL]
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    infd = p.stdin.fileno()
    pos = 0
    try:
        try:
            for chunk in ctx.instream():
                view = memoryview(chunk)
                while view:
                    n = os.write(infd, view)
                    view = view[n:]
                pos += len(chunk)
                ctx.progress(pos, 0)
        except BrokenPipeError:
            # the tool stopped reading: it failed (bad data), or the data goes on after
            # what it reads (a tar archive's or an image's end: it succeeds).  Stop the
            # library and drop what is on its way.
            ctx.stop_sender()
            broken = True
        else:
            broken = False
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        code = p.wait()
        t.join()
        if broken and code == 0:
            ctx.drain_in()
    except BaseException:
        _kill([p])
        t.join(5)
        raise
    finally:
        messages.close()
    if code != 0:
        raise error(argv, err, code)
    ctx.progress(pos, 0, force=True)


def _move(src, dst):
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        # another filesystem mounted in the guest tree: DST does not exist or is not a
        # directory here, so mv copies SRC as it is (symlinks as symlinks)
        run(["mv", "-T", "--", src, dst])


def _merge(ctx, staging, dest):
    """Move what tar unpacked in STAGING into DEST, as tar would have unpacked it there if it
    ran chrooted in the guest with --keep-directory-symlink --no-overwrite-dir."""
    problems = []
    stack = [(staging, dest)]
    while stack:
        sdir, ddir = stack.pop()
        with os.scandir(sdir) as it:
            names = [e.name for e in it]
        for name in names:
            src = sdir + "/" + name
            dst = ddir + "/" + name
            src_is_dir = stat.S_ISDIR(os.lstat(src).st_mode)
            try:
                dst_mode = os.lstat(dst).st_mode
            except FileNotFoundError:
                _move(src, dst)
                continue
            if src_is_dir:
                if stat.S_ISDIR(dst_mode):
                    stack.append((src, dst))
                    continue
                if stat.S_ISLNK(dst_mode):
                    # a guest symlink: follow it the guest's way, inside its root
                    try:
                        target = resolve(ctx.sysroot, to_guest(ctx.sysroot, dst))
                    except OSError:             # a loop: not a directory
                        target = None
                    if (target and _is_real_dir(target) and target != staging
                            and not target.startswith(staging + "/")):
                        stack.append((src, target))
                        continue
                os.unlink(dst)              # not a directory: replaced, as tar does
                _move(src, dst)
                continue
            if stat.S_ISDIR(dst_mode):
                try:
                    os.rmdir(dst)
                except OSError as e:
                    problems.append("%s: cannot replace a directory: %s" % (
                        to_guest(ctx.sysroot, dst), e.strerror))
                    continue
            # rename replaces an existing file or symlink itself, never writes through it
            _move(src, dst)
    if problems:
        raise DaemonError("; ".join(problems[:5]) + (" (and %d more)" % (len(problems) - 5)
                                                     if len(problems) > 5 else ""), "EEXIST")


def _is_real_dir(apath):
    try:
        return stat.S_ISDIR(os.lstat(apath).st_mode)
    except OSError:
        return False


def _remove_tree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def do_tar_in(ctx, directory, compress=None, xattrs=None, selinux=None, acls=None,
              keepdirlink=None):
    # keepdirlink (--keep-directory-symlink): guest links to directories are always kept
    # and followed inside the guest (see _merge)
    _tar_in(ctx, directory, compress, xattrs, selinux, acls)


def do_tgz_in(ctx, directory):
    _tar_in(ctx, directory, compress="gzip")


def do_txz_in(ctx, directory):
    _tar_in(ctx, directory, compress="xz")


# ---- upload_offset, download_offset --------------------------------------------------------

def _open_target(ctx, name, flags, kind="either"):
    """(fd, stat, is_device) for NAME: a device when KIND is "dev" (or "either" and NAME
    starts with /dev/), else a regular file of the guest, resolved inside its root."""
    if kind == "dev" or (kind == "either" and name.startswith("/dev/")):
        dev = device(name)
        fd, st = open_nonblocking(dev, flags & ~(os.O_CREAT | os.O_TRUNC), allow_block=True)
        return fd, st, True
    ctx.need_root()
    apath = ctx.resolve(name)
    guest_regular(apath, name, missing_ok=bool(flags & os.O_CREAT))
    try:
        fd, st = open_nonblocking(apath, flags | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno in (errno.ENXIO, errno.ELOOP):
            raise DaemonError("%s: not a regular file" % name, "EINVAL") from None
        if e.filename is None or e.filename == apath:
            e.filename = name
        raise
    return fd, st, False


def do_upload_offset(ctx, remotefilename, offset):
    try:
        if offset < 0:
            raise DaemonError("%s: offset is negative" % remotefilename, "EINVAL")
        fd, _, _ = _open_target(ctx, remotefilename, os.O_WRONLY | os.O_CREAT)
    except BaseException:
        ctx.stop_sender()
        raise
    try:
        receive_into(ctx, fd, offset)
    finally:
        os.close(fd)


def _device_or_file_size(fd, st):
    if stat.S_ISBLK(st.st_mode):
        return os.lseek(fd, 0, os.SEEK_END)
    return st.st_size


def do_download_offset(ctx, remotefilename, offset, size):
    if offset < 0:
        raise DaemonError("%s: offset is negative" % remotefilename, "EINVAL")
    if size < 0:
        raise DaemonError("%s: size is negative" % remotefilename, "EINVAL")
    fd, st, _ = _open_target(ctx, remotefilename, os.O_RDONLY)
    try:
        _send_range(ctx, fd, offset, size)
    finally:
        os.close(fd)


def _send_range(ctx, fd, offset, size, total=None, done=0):
    """Send SIZE bytes of FD from OFFSET (fewer if the end comes first)."""
    total = size if total is None else total
    pos = 0
    ctx.progress(done, total, force=True)
    while pos < size:
        b = os.pread(fd, min(_CHUNK, size - pos), offset + pos)
        if not b:
            break
        ctx.write(b)
        pos += len(b)
        ctx.progress(done + pos, total)
    ctx.progress(done + pos, max(total, done + pos), force=True)
    return pos


# ---- download_inode, download_blocks ---------------------------------------------------------

def _fs_device(name):
    if name.startswith("btrfsvol:"):
        raise DaemonError("%s: a btrfs subvolume is not a device" % name, "EINVAL")
    return device(name)


def _fs_type(dev):
    out, _, _ = run(["blkid", "-p", "-o", "value", "-s", "TYPE", dev], check=False)
    return out.strip()


_EXT = ("ext2", "ext3", "ext4")


def _no_sleuthkit(dev, tool):
    raise DaemonError("%s: only ext2/3/4 filesystems can be read without sleuthkit (%s is "
                      "not in this appliance)" % (dev, tool), "ENOTSUP")


def do_download_inode(ctx, device, inode):
    dev = _fs_device(device)
    if _fs_type(dev) not in _EXT:
        # sleuthkit for every other filesystem (NTFS counts from MFT record 0)
        if not _which("icat"):
            _no_sleuthkit(dev, "icat")
        if inode < 0:
            raise DaemonError("inode %d: inode numbers are not negative" % inode, "EINVAL")
        _stream_out(ctx, [["icat", "-r", dev, str(inode)]])
        return
    if inode < 1:
        raise DaemonError("inode %d: inode numbers start at 1" % inode, "EINVAL")

    def check(err):
        # debugfs reports a bad inode on stderr with exit status 0
        lines = [ln for ln in err.splitlines() if ln.strip()
                 and not ln.startswith("debugfs ") and "catastrophic mode" not in ln]
        if lines:
            low = lines[-1].lower()
            name = ("ENOENT" if "not found" in low else
                    "EINVAL" if "illegal" in low or "bad inode" in low else "EIO")
            raise DaemonError("%s: inode %d: %s" % (device, inode, lines[-1]), name)
    _stream_out(ctx, [["debugfs", "-c", "-R", "cat <%d>" % inode, dev]],
                check_stderr=check)


def _ext_geometry(dev):
    """(block size, block count, first data block) of the ext2/3/4 filesystem on DEV."""
    out, _, _ = run(["dumpe2fs", "-h", dev])
    info = {}
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            info[k.strip()] = v.strip()
    try:
        return (int(info["Block size"]), int(info["Block count"]),
                int(info.get("First block", "0")))
    except (KeyError, ValueError):
        raise DaemonError("%s: cannot read the filesystem geometry" % dev, "EIO") from None


def _ext_free_ranges(dev, start, stop):
    """The free block ranges [a, b] of DEV that meet [START, STOP], sorted, clipped."""
    p = subprocess.Popen(["dumpe2fs", dev], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=ENV)
    out = []
    try:
        for raw in p.stdout:
            line = raw.decode("ascii", "replace").strip()
            if not line.startswith("Free blocks:"):
                continue
            for part in line[len("Free blocks:"):].split(","):
                part = part.strip()
                if not part:
                    continue
                a, _, b = part.partition("-")
                a = int(a)
                b = int(b) if b else a
                if b < start or a > stop:
                    continue
                out.append((max(a, start), min(b, stop)))
    finally:
        p.stdout.close()
        if p.wait() != 0:
            raise DaemonError("%s: dumpe2fs failed" % dev, "EIO")
    out.sort()
    return out


def do_download_blocks(ctx, device, start, stop, unallocated=None):
    dev = _fs_device(device)
    if start < 0 or stop < start:
        raise DaemonError("invalid block range %d-%d" % (start, stop), "EINVAL")
    if _fs_type(dev) not in _EXT:
        # sleuthkit for every other filesystem (it stops at the end of the filesystem)
        if not _which("blkls"):
            _no_sleuthkit(dev, "blkls")
        _stream_out(ctx, [["blkls", "-A" if unallocated else "-e", dev,
                           "%d-%d" % (start, stop)]])
        return
    bsize, count, _first = _ext_geometry(dev)
    if stop >= count:
        raise DaemonError("%s: block %d is past the end of the filesystem (%d blocks)"
                          % (device, stop, count), "EINVAL")
    if unallocated:
        ranges = _ext_free_ranges(dev, start, stop)
    else:
        ranges = [(start, stop)]
    total = sum(b - a + 1 for a, b in ranges) * bsize
    fd, _ = open_nonblocking(dev, os.O_RDONLY, allow_block=True)
    try:
        done = 0
        for a, b in ranges:
            n = (b - a + 1) * bsize
            got = _send_range(ctx, fd, a * bsize, n, total, done)
            if got != n:
                raise DaemonError("%s: short read at block %d" % (device, a), "EIO")
            done += n
    finally:
        os.close(fd)


# ---- block copies inside the appliance -------------------------------------------------------

def _copy(ctx, src, dest, kinds, srcoffset=None, destoffset=None, size=None, sparse=None,
          append=None):
    """Copy between devices and guest files; KINDS says what SRC and DEST are ("dev",
    "path" or "either": a /dev/ name is a device)."""
    if srcoffset is not None and srcoffset < 0:
        raise DaemonError("srcoffset is negative", "EINVAL")
    if destoffset is not None and destoffset < 0:
        raise DaemonError("destoffset is negative", "EINVAL")
    if size is not None and size < 0:
        raise DaemonError("size is negative", "EINVAL")
    skind, dkind = kinds
    dest_is_dev = dkind == "dev" or (dkind == "either" and dest.startswith("/dev/"))
    if append and dest_is_dev:
        raise DaemonError("%s: the append flag cannot be used with a device" % dest, "EINVAL")
    if append and destoffset:
        raise DaemonError("the append flag cannot be used with destoffset", "EINVAL")
    srcoffset = srcoffset or 0
    sfd, sst, _ = _open_target(ctx, src, os.O_RDONLY, skind)
    try:
        flags = os.O_WRONLY
        if not dest_is_dev:
            flags |= os.O_CREAT | (0 if append else os.O_TRUNC)
        dfd, _, _ = _open_target(ctx, dest, flags, dkind)
        try:
            pos = os.lseek(dfd, 0, os.SEEK_END) if append else (destoffset or 0)
            if size is not None:
                total = size
            else:
                total = max(_device_or_file_size(sfd, sst) - srcoffset, 0)
            done = 0
            ctx.progress(0, total, force=True)
            while size is None or done < size:
                want = _CHUNK if size is None else min(_CHUNK, size - done)
                b = os.pread(sfd, want, srcoffset + done)
                if not b:
                    if size is not None:
                        raise DaemonError("%s: input too short (%d of %d bytes)"
                                          % (src, done, size), "EINVAL")
                    break
                if sparse and b.count(0) == len(b):
                    pass                        # leave a hole / what is there
                else:
                    pwrite_all(dfd, b, pos + done)
                done += len(b)
                ctx.progress(done, max(total, done))
                ctx.check_cancel()
            if not dest_is_dev and sparse and os.fstat(dfd).st_size < pos + done:
                os.ftruncate(dfd, pos + done)   # a skipped zero tail still counts
            ctx.progress(done, max(total, done), force=True)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def do_copy_size(ctx, src, dest, size):
    _copy(ctx, src, dest, ("either", "either"), size=size)


def do_copy_device_to_device(ctx, src, dest, srcoffset=None, destoffset=None, size=None,
                             sparse=None, append=None):
    _copy(ctx, src, dest, ("dev", "dev"), srcoffset, destoffset, size, sparse, append)


def do_copy_device_to_file(ctx, src, dest, srcoffset=None, destoffset=None, size=None,
                           sparse=None, append=None):
    _copy(ctx, src, dest, ("dev", "path"), srcoffset, destoffset, size, sparse, append)


def do_copy_file_to_device(ctx, src, dest, srcoffset=None, destoffset=None, size=None,
                           sparse=None, append=None):
    _copy(ctx, src, dest, ("path", "dev"), srcoffset, destoffset, size, sparse, append)


def do_copy_file_to_file(ctx, src, dest, srcoffset=None, destoffset=None, size=None,
                         sparse=None, append=None):
    _copy(ctx, src, dest, ("path", "path"), srcoffset, destoffset, size, sparse, append)
