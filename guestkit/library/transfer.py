"""Library-side transfer actions (copy_in, copy_out, ...): they run on the host and use the
daemon's archive actions, keeping everything that lands on the host inside the chosen
destination.

copy_in packs the host tree with tarfile, in a thread, into a pipe that tar_in streams to the
appliance.  copy_out streams tar_out through a pipe into a thread that unpacks it with its own
extractor: the archive comes from the appliance, which parses the guest's filesystems, so it
is hostile.  Every name is checked (no absolute names, no ..), every directory is opened
relative to its parent with O_NOFOLLOW (so a symlink made from the archive, or found on the
host, is never followed), device nodes are not made, setuid/setgid bits are dropped, and no
single read is large enough for a crafted header to exhaust memory.
"""

import errno
import os
import posixpath
import stat
import tarfile
import threading

from ..errors import Error

__all__ = ["copy_in", "copy_out"]

CHUNK = 1 << 20
#: the largest read a tar header may ask for (long names, pax headers)
MAX_HEADER_READ = 16 << 20
#: how many refused archive members are reported one by one as WARNING events
MAX_WARNINGS = 50
#: directory descriptors kept open while extracting
_FD_CACHE = 256

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _host_error(action, path, e):
    return Error("%s: %s: %s" % (action, path, e.strerror or e),
                 errno.errorcode.get(e.errno or 0, "EIO"))


# ---- running a FileIn/FileOut action through a pipe --------------------------------------------

def _through_pipe(g, action, call, worker, direction):
    """Run CALL("/dev/fd/N") while WORKER(file) runs in a thread on the other end of a pipe.

    direction "out": the action writes (FileOut) and WORKER reads; "in": WORKER writes and the
    action reads (FileIn).  Returns WORKER's result.  If the worker fails, the action is
    stopped: for "out" its end of the pipe is closed (the action fails with EPIPE instead of
    blocking); for "in" the transfer is cancelled and the archive spoilt, so that a cut
    archive is never taken for a whole one.  The error reported is the one that caused the
    failure, prefixed with ACTION."""
    r, w = os.pipe()
    mine, theirs = (r, w) if direction == "out" else (w, r)
    box = {}

    def run():
        try:
            with os.fdopen(mine, "rb" if direction == "out" else "wb", buffering=0) as f:
                try:
                    box["result"] = worker(f)
                except BrokenPipeError:
                    raise
                except BaseException:
                    if direction == "in":
                        g.user_cancel()
                        try:
                            f.write(b"\xff" * tarfile.BLOCKSIZE)    # not a tar header
                        except OSError:
                            pass
                    raise
                if direction == "out":
                    while f.read(CHUNK):        # let the action finish its stream
                        pass
        except BaseException as e:              # noqa: B902 - reported by the caller
            box["error"] = e
    t = threading.Thread(target=run, name="guestkit-transfer", daemon=True)
    t.start()
    call_error = None
    try:
        try:
            call("/dev/fd/%d" % theirs)
        except Error as e:
            call_error = e
    finally:
        os.close(theirs)
        t.join()
    werr = box.get("error")
    if direction == "in":
        if isinstance(werr, BrokenPipeError):
            werr = None             # the action stopped reading: its own result says why
        if werr is not None:
            raise _as_error(action, werr)   # the host side failed first
        if call_error is not None:
            raise call_error
        return box.get("result")
    if call_error is not None:
        # the action failed because the worker gave up (EPIPE): the worker's error says why
        if werr is not None and call_error.errno_name == "EPIPE":
            raise _as_error(action, werr)
        raise call_error
    if werr is not None:
        raise _as_error(action, werr)
    return box.get("result")


class _Stop(Exception):
    """A host-side failure of copy_in/copy_out, with its errno name."""

    def __init__(self, message, errno_name="EIO"):
        super().__init__(message)
        self.errno_name = errno_name


def _as_error(action, e):
    if isinstance(e, Error):
        return e
    if isinstance(e, _Stop):
        return Error("%s: %s" % (action, e), e.errno_name)
    if isinstance(e, OSError):
        where = " %s:" % e.filename if e.filename else ""
        return Error("%s: host:%s %s" % (action, where, e.strerror or e),
                     errno.errorcode.get(e.errno or 0, "EIO"))
    if isinstance(e, tarfile.TarError):
        return Error("%s: the archive from the appliance is malformed: %s" % (action, e),
                     "EIO")
    return Error("%s: %s: %s" % (action, type(e).__name__, e), "EIO")


# ---- copy_in ----------------------------------------------------------------------------------

class _ExactReader:
    """A file-like object returning exactly the bytes asked for (tarfile.addfile wants that),
    from a list of pieces: bytes, or (fd, offset, length) ranges of a host file."""

    def __init__(self, pieces):
        self._pieces = list(reversed(pieces))
        self._cur = None

    def read(self, n):
        out = []
        need = n
        while need:
            if not self._cur:
                if not self._pieces:
                    break
                self._cur = self._pieces.pop()
            cur = self._cur
            if isinstance(cur, bytes):
                b, self._cur = cur[:need], cur[need:]
            else:
                fd, off, length = cur
                b = os.pread(fd, min(need, length, CHUNK), off)
                if not b:
                    raise _Stop("a host file shrank while it was read", "EIO")
                self._cur = (fd, off + len(b), length - len(b)) if length > len(b) else None
            out.append(b)
            need -= len(b)
        return b"".join(out)


def _data_extents(fd, size):
    """[(offset, length)] of the data of a host file (holes left out)."""
    out = []
    pos = 0
    while pos < size:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:          # only a hole up to the end
                break
            raise
        if data >= size:
            break
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
        out.append((data, hole - data))
        pos = hole
    return out


def _pack(f, parent, base):
    """Write a tar archive of PARENT/BASE (or PARENT's content if BASE is empty) to F."""
    tar = tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK,
                       copybufsize=CHUNK)
    links = {}
    try:
        if base:
            todo = [(base, os.path.join(parent, base))]
        else:
            todo = [(name, os.path.join(parent, name))
                    for name in sorted(os.listdir(parent), reverse=True)]
        while todo:
            arc, path = todo.pop()
            st = os.lstat(path)
            _add(tar, arc, path, st, links)
            if stat.S_ISDIR(st.st_mode):
                with os.scandir(path) as it:
                    names = sorted(e.name for e in it)
                todo.extend((arc + "/" + n, os.path.join(path, n)) for n in reversed(names))
    finally:
        tar.close()


def _add(tar, arc, path, st, links):
    mode = st.st_mode
    ti = tarfile.TarInfo(arc)
    ti.mode = stat.S_IMODE(mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""                 # numeric owners: the guest's names differ
    ti.mtime = int(st.st_mtime)
    if stat.S_ISDIR(mode):
        ti.type = tarfile.DIRTYPE
        tar.addfile(ti)
    elif stat.S_ISLNK(mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = os.readlink(path)
        tar.addfile(ti)
    elif stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            ti.type = tarfile.LNKTYPE
            ti.linkname = links[key]
            tar.addfile(ti)
            return
        if st.st_nlink > 1:
            links[key] = arc
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            _add_regular(tar, ti, fd, st)
        finally:
            os.close(fd)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(ti)
    elif stat.S_ISFIFO(mode):
        ti.type = tarfile.FIFOTYPE
        tar.addfile(ti)
    # sockets cannot be archived (tar skips them too)


def _add_regular(tar, ti, fd, st):
    size = st.st_size
    extents = None
    if size and st.st_blocks * 512 < size:
        extents = _data_extents(fd, size)
        if len(extents) == 1 and extents[0] == (0, size):
            extents = None
    if extents is None:
        ti.type = tarfile.REGTYPE
        ti.size = size
        tar.addfile(ti, _ExactReader([(fd, 0, size)] if size else []))
        return
    # a sparse file: a PAX member in GNU sparse format 1.0 (GNU tar unpacks it with holes)
    if not extents or extents[-1][0] + extents[-1][1] < size:
        extents.append((size, 0))
    text = ("%d\n" % len(extents) + "".join("%d\n%d\n" % e for e in extents)).encode()
    text += b"\0" * (-len(text) % tarfile.BLOCKSIZE)
    name = ti.name
    d, b = posixpath.split(name)
    ti.name = posixpath.join(d, "GNUSparseFile.0", b)
    ti.type = tarfile.REGTYPE
    ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                      "GNU.sparse.name": name, "GNU.sparse.realsize": str(size)}
    ti.size = len(text) + sum(n for _, n in extents)
    tar.addfile(ti, _ExactReader([text] + [(fd, o, n) for o, n in extents if n]))


def copy_in(g, localpath, remotedir):
    """Copy the host file or tree LOCALPATH into the guest directory REMOTEDIR."""
    if not g.is_dir(remotedir):
        raise Error("copy_in: target %s is not a directory" % remotedir, "ENOTDIR")
    try:
        os.lstat(localpath)
    except OSError as e:
        raise _host_error("copy_in", localpath, e) from None
    norm = os.path.normpath(localpath)
    parent, base = os.path.split(norm)
    if base in ("..", "."):
        parent, base = os.path.split(os.path.abspath(norm))
    if not parent:
        parent = "."

    def call(fdname):
        g.tar_in(fdname, remotedir)
    _through_pipe(g, "copy_in", call, lambda f: _pack(f, parent, base), "in")


# ---- copy_out ---------------------------------------------------------------------------------

class _ForwardReader:
    """The read end of the pipe as the seekable file tarfile wants: tell(), forward seek() by
    reading, and no read above MAX_HEADER_READ (data is read by the extractor in chunks)."""

    def __init__(self, f):
        self._f = f
        self._pos = 0

    def read(self, n=-1):
        if n is None or n < 0 or n > MAX_HEADER_READ:
            raise _Stop("the archive from the appliance asks for a %s byte header: refused"
                        % ("unbounded" if n is None or n < 0 else n), "EIO")
        chunks = []
        need = n
        while need:
            b = self._f.read(need)
            if not b:
                break
            chunks.append(b)
            need -= len(b)
        data = b"".join(chunks)
        self._pos += len(data)
        return data

    def tell(self):
        return self._pos

    def seek(self, pos, whence=0):
        if whence != 0 or pos < self._pos:
            raise OSError(errno.ESPIPE, "the archive stream can only be read forwards")
        while self._pos < pos:
            b = self._f.read(min(CHUNK, pos - self._pos))
            if not b:
                break
            self._pos += len(b)
        return self._pos


class _Refused(Exception):
    """An archive member that is not created (reported as a warning)."""


class _Extractor:
    """Unpack a tar stream under the directory open as ROOTFD, never outside it."""

    def __init__(self, rootfd, apply_root_meta, allow_owner):
        self.root = rootfd
        self.apply_root_meta = apply_root_meta
        self.allow_owner = allow_owner
        # the process umask applies, as to any file a program makes, unless the guest's
        # owners are asked for (then its modes are kept as they are too)
        self.umask = 0 if allow_owner else _umask()
        self.cache = {}                 # tuple of components -> fd of that directory
        self.last = None                # the directory dirfd() gave last (kept by trimming)
        self.files = set()              # regular files made here (hard links may name them)
        self.dirs = []                  # (components, mode, mtime, uid, gid), set at the end
        self.warnings = []
        self.refused = 0

    # -- names and directories --
    @staticmethod
    def components(name):
        """The components of an archive name, or None if it is absolute or has '..'."""
        if name.startswith("/"):
            return None
        out = []
        for p in name.split("/"):
            if p in ("", "."):
                continue
            if p == "..":
                return None
            out.append(p)
        return tuple(out)

    def dirfd(self, comps, create):
        """A descriptor of the directory COMPS under the root; every component is opened
        relative to its parent with O_NOFOLLOW, missing ones are made when CREATE.  Any
        depth: no path longer than one component is given to the kernel, the components are
        taken one after the other (no recursion), and only COMPS itself is kept open (in the
        cache) for the members that follow, not the directories on the way."""
        if not comps:
            return self.root
        fd = self.cache.get(comps)
        if fd is not None:
            self.last = comps
            return fd
        # from the deepest ancestor already open (usually the parent: tar lists a
        # directory before what it holds)
        have = len(comps) - 1
        while have and comps[:have] not in self.cache:
            have -= 1
        parent = self.cache[comps[:have]] if have else self.root
        own = None                          # the descriptor opened last, ours to close
        try:
            for i in range(have + 1, len(comps) + 1):
                sub, name = comps[:i], comps[i - 1]
                try:
                    fd = os.open(name, _O_DIR, dir_fd=parent)
                except FileNotFoundError:
                    if not create:
                        raise _Refused("%s: no such directory" % "/".join(sub)) from None
                    os.mkdir(name, 0o700, dir_fd=parent)
                    fd = os.open(name, _O_DIR, dir_fd=parent)
                    self.dirs.append((sub, 0o755, None, None, None))
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise _Refused("%s: not a directory here (a symlink or a file is in "
                                       "the way)" % "/".join(sub)) from None
                    raise
                if own is not None:
                    os.close(own)
                own = parent = fd
        except BaseException:
            if own is not None:
                os.close(own)
            raise
        self.cache[comps] = own
        self.last = comps
        return own

    def trim_cache(self):
        """Close the cached descriptors when there are too many, but for the last directory
        used (the next member is most likely in it, or in a directory of it)."""
        if len(self.cache) > _FD_CACHE:
            keep = self.cache.pop(self.last, None)
            self.close()
            if keep is not None:
                self.cache[self.last] = keep

    def close(self):
        for fd in self.cache.values():
            os.close(fd)
        self.cache.clear()

    def warn(self, msg):
        self.refused += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(msg)

    @staticmethod
    def _clear(pfd, name, comps):
        """Remove a non-directory NAME so a member can take its place."""
        try:
            st = os.lstat(name, dir_fd=pfd)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise _Refused("%s: a directory is in the way" % "/".join(comps))
        os.unlink(name, dir_fd=pfd)

    def mode(self, m):
        mode = m.mode & 0o7777
        if mode & 0o6000:
            self.warn("%s: setuid/setgid bits dropped" % m.name)
        return mode & 0o1777 & ~self.umask

    # -- members --
    def member(self, src, m):
        comps = self.components(m.name)
        if comps is None:
            raise _Refused("%s: absolute name or .. component" % m.name)
        if not comps:
            if m.isdir() and self.apply_root_meta:
                self.dirs.append(((), self.mode(m), m.mtime, m.uid, m.gid))
            return
        if m.ischr() or m.isblk():
            raise _Refused("%s: device node not created" % m.name)
        if not (m.isdir() or m.isreg() or m.issym() or m.islnk() or m.isfifo()):
            raise _Refused("%s: unsupported member type %r" % (m.name, m.type))
        pfd = self.dirfd(comps[:-1], create=True)
        name = comps[-1]
        if m.isdir():
            try:
                st = os.lstat(name, dir_fd=pfd)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                os.unlink(name, dir_fd=pfd)     # a symlink or file: replaced, not followed
                st = None
            if st is None:
                os.mkdir(name, 0o700, dir_fd=pfd)
            self.dirs.append((comps, self.mode(m), m.mtime, m.uid, m.gid))
            return
        if m.islnk():
            target = self.components(m.linkname)
            if not target or target not in self.files:
                raise _Refused("%s: hard link to %s, which is not a file of this copy"
                               % (m.name, m.linkname))
            tfd = self.dirfd(target[:-1], create=False)
            self._clear(pfd, name, comps)
            os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            self.files.add(comps)
            return
        self._clear(pfd, name, comps)
        if m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
            if self.allow_owner:
                os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
            os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
            return
        if m.isfifo():
            os.mkfifo(name, 0o600, dir_fd=pfd)
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                # a fifo cannot be opened to fchmod it without blocking: go by /proc
                path = "/proc/self/fd/%d" % fd
                if self.allow_owner:
                    os.chown(path, m.uid, m.gid)
                os.chmod(path, self.mode(m))
                os.utime(path, (m.mtime, m.mtime))
            finally:
                os.close(fd)
            return
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            write_member_data(src, m, fd)
            if self.allow_owner:
                os.fchown(fd, m.uid, m.gid)
            os.fchmod(fd, self.mode(m))
            os.utime(fd, (m.mtime, m.mtime))
        finally:
            os.close(fd)
        self.files.add(comps)

    def finish(self):
        """Set directories' modes, owners and times, each directory after everything in it
        (a mode may forbid writing into it, or searching it).  The directories are taken in
        reverse sorted order, going from one to the next along a path of open descriptors
        (the last _WALK_FDS kept, those above reached again with '..', checked): time in
        proportion to their number, at any depth."""
        final = {}
        for comps, mode, mtime, uid, gid in self.dirs:
            # a directory the extractor made on its own way never overrides a member's
            if mtime is None and comps in final:
                continue
            final[comps] = (mode, mtime, uid, gid)
        if not self.apply_root_meta:
            final.pop((), None)
        self.close()
        path = []                       # [(components, fd or None)] from the root down
        try:
            for comps in sorted(final, reverse=True):
                fd = self._goto(path, comps)
                if fd is None:
                    continue
                mode, mtime, uid, gid = final[comps]
                if self.allow_owner and uid is not None:
                    os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
        finally:
            for _, fd in path:
                if fd is not None:
                    os.close(fd)

    def _goto(self, path, comps):
        """Move PATH (a list of (components, fd or None), the root's children first) to the
        directory COMPS; returns its descriptor, or None if it is not there (anymore)."""
        while path and comps[:len(path[-1][0])] != path[-1][0]:
            child, fd = path.pop()
            if path and path[-1][1] is None and fd is not None:
                path[-1] = (path[-1][0], _parent(fd, child[-1]))
            if fd is not None:
                os.close(fd)
        if path and path[-1][1] is None:
            # '..' did not lead back: open the way down again from the root, by name
            for _, fd in path:
                if fd is not None:
                    os.close(fd)
            path.clear()
        parent = path[-1][1] if path else self.root
        for i in range(len(path), len(comps)):
            try:
                fd = os.open(comps[i], _O_DIR, dir_fd=parent)
            except OSError:
                return None             # removed, or not a directory: nothing to set
            path.append((comps[:i + 1], fd))
            if len(path) > _WALK_FDS and path[-_WALK_FDS - 1][1] is not None:
                os.close(path[-_WALK_FDS - 1][1])
                path[-_WALK_FDS - 1] = (path[-_WALK_FDS - 1][0], None)
            parent = fd
        return parent


#: how many directories of its path finish() keeps open
_WALK_FDS = 16


def _parent(fd, name):
    """A descriptor of the parent of the directory FD, whose name there is NAME: '..',
    checked to hold NAME as that very directory; None if it does not."""
    try:
        up = os.open("..", _O_DIR, dir_fd=fd)
    except OSError:
        return None
    try:
        st, here = os.stat(name, dir_fd=up, follow_symlinks=False), os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino):
            return up
    except OSError:
        pass
    os.close(up)
    return None


def _sparse_map(m):
    """The data blocks [(offset, length)] of member M, checked."""
    if m.sparse is None:
        return [(0, m.size)] if m.size else []
    out = []
    end = 0
    for off, n in m.sparse:
        if n == 0:
            continue
        if off < end or n < 0 or off + n > m.size:
            raise _Refused("%s: malformed sparse map" % m.name)
        out.append((off, n))
        end = off + n
    return out


def write_member_data(src, m, fd):
    """Write the data of the regular member M, read from SRC, to FD: holes of a sparse member
    and runs of zeroes are left as holes, and the file gets M's size."""
    blocks = _sparse_map(m)
    src.seek(m.offset_data)
    for off, n in blocks:
        done = 0
        while done < n:
            b = src.read(min(CHUNK, n - done))
            if not b:
                raise _Stop("%s: the archive from the appliance ends early" % m.name, "EIO")
            write_sparse(fd, b, off + done)
            done += len(b)
    os.ftruncate(fd, m.size)


_HOLE = 64 << 10


def write_sparse(fd, b, offset):
    """pwrite B at OFFSET, skipping 64 KiB runs of zeroes (they stay holes)."""
    n = len(b)
    view = memoryview(b)
    i = 0
    while i < n:
        j = min(i + _HOLE, n)
        if b.count(0, i, j) == j - i:
            i = j
            continue
        # extend the run of data blocks
        k = j
        while k < n:
            e = min(k + _HOLE, n)
            if b.count(0, k, e) == e - k:
                break
            k = e
        part = view[i:k]
        at = offset + i
        while part:
            w = os.pwrite(fd, part, at)
            part = part[w:]
            at += w
        i = k


#: errors creating one member that come from the member itself, not from the host
_MEMBER_ERRORS = {errno.ENAMETOOLONG, errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ELOOP,
                  errno.EINVAL, errno.EFBIG, errno.EMLINK, errno.EPERM, errno.ENOTEMPTY,
                  errno.EILSEQ}


def _umask():
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def extract(f, rootfd, apply_root_meta=False, allow_owner=False):
    """Unpack the tar stream F under the directory ROOTFD.  Returns (refused count,
    warnings).  Raises _Stop or OSError for host failures and tarfile errors for a
    malformed archive."""
    ex = _Extractor(rootfd, apply_root_meta, allow_owner)
    src = _ForwardReader(f)
    try:
        tar = tarfile.open(fileobj=src, mode="r:", errorlevel=2)
        while True:
            m = tar.next()
            if m is None:
                break
            tar.members.clear()             # constant memory, whatever the member count
            ex.trim_cache()
            try:
                ex.member(src, m)
            except _Refused as e:
                ex.warn(str(e))
            except OSError as e:
                # what a crafted member can cause; a full or failing host disk still stops
                if e.errno not in _MEMBER_ERRORS:
                    raise
                ex.warn("%s: %s" % (m.name, e.strerror))
        ex.finish()
    finally:
        ex.close()
    return ex.refused, ex.warnings


def _open_dest_dir(localdir):
    try:
        fd = os.open(localdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            raise Error("copy_out: target %s is not a directory" % localdir,
                        "ENOTDIR") from None
        raise _host_error("copy_out", localdir, e) from None
    return fd


def _report(g, refused, warnings):
    for w in warnings:
        g._warning("copy_out: %s" % w)
    if refused > len(warnings):
        g._warning("copy_out: %d more archive members were refused" % (refused - len(warnings)))


def copy_out(g, remotepath, localdir, owners=None):
    """Copy the guest file or tree REMOTEPATH into the host directory LOCALDIR."""
    owners = bool(owners)
    if owners and os.geteuid() != 0:
        raise Error("copy_out: owners=True needs root (only root may give files to other "
                    "users)", "EPERM")
    dfd = _open_dest_dir(localdir)
    try:
        name = posixpath.basename(posixpath.normpath(remotepath))
        if g.is_file(remotepath):
            _copy_out_file(g, remotepath, dfd, name or "file", localdir, owners)
        elif g.is_dir(remotepath):
            _copy_out_dir(g, remotepath, dfd, name, localdir, owners)
        else:
            raise Error("copy_out: %s is not a file or directory" % remotepath, "EINVAL")
    finally:
        os.close(dfd)


def _copy_out_dir(g, remotepath, dfd, name, localdir, owners):
    made = False
    if name:
        try:
            os.mkdir(name, 0o700, dir_fd=dfd)
            made = True
        except FileExistsError:
            pass
        except OSError as e:
            raise _host_error("copy_out", os.path.join(localdir, name), e) from None
        try:
            rootfd = os.open(name, _O_DIR, dir_fd=dfd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Error("copy_out: %s exists and is not a directory (symlinks are not "
                            "followed)" % os.path.join(localdir, name), "EEXIST") from None
            raise _host_error("copy_out", os.path.join(localdir, name), e) from None
    else:
        rootfd = os.dup(dfd)
    try:
        def call(fdname):
            g.tar_out(remotepath, fdname, numericowner=True)
        refused, warnings = _through_pipe(
            g, "copy_out", call, lambda f: extract(f, rootfd, apply_root_meta=made, allow_owner=owners), "out")
    finally:
        os.close(rootfd)
    _report(g, refused, warnings)


def _copy_out_file(g, remotepath, dfd, name, localdir, owners):
    st = g.lstatns(remotepath)
    try:
        try:
            old = os.lstat(name, dir_fd=dfd)
        except FileNotFoundError:
            old = None
        if old is not None:
            if stat.S_ISDIR(old.st_mode):
                raise Error("copy_out: %s is a directory" % os.path.join(localdir, name),
                            "EISDIR")
            os.unlink(name, dir_fd=dfd)         # a file or a symlink: replaced, not followed
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dfd)
    except OSError as e:
        raise _host_error("copy_out", os.path.join(localdir, name), e) from None
    try:
        def worker(f):
            pos = 0
            while True:
                b = f.read(CHUNK)
                if not b:
                    break
                write_sparse(fd, b, pos)
                pos += len(b)
            os.ftruncate(fd, pos)

        def call(fdname):
            g.download(remotepath, fdname)
        _through_pipe(g, "copy_out", call, worker, "out")
        mode = st["st_mode"] & 0o7777
        if mode & 0o6000:
            g._warning("copy_out: %s: setuid/setgid bits dropped" % remotepath)
        if owners:
            os.fchown(fd, st["st_uid"], st["st_gid"])
        os.fchmod(fd, mode & 0o1777 & ~(0 if owners else _umask()))
        os.utime(fd, ns=(st["st_atime_sec"] * 10**9 + st["st_atime_nsec"],
                         st["st_mtime_sec"] * 10**9 + st["st_mtime_nsec"]))
    finally:
        os.close(fd)
