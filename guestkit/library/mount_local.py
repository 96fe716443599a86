"""mount_local, mount_local_run, umount_local: the guest's mounted filesystems as a FUSE mount
on the host (guestfs(3) "MOUNT LOCAL").

FUSE on the host through mfusepy (ctypes over libfuse 3), used at the level of libfuse's
path-based API: fuse_new + fuse_mount in mount_local (the mount exists, requests wait),
fuse_loop in mount_local_run, fusermount -u in umount_local.  Every request becomes a call on
the handle (lstatns, ls + lstatnslist, pread, pwrite, mknod, mkdir_mode, rm, rmdir, rename,
ln_s, ln, readlink, chmod, lchown, utimens, truncate_size, lgetxattr, lgetxattrs, lsetxattr,
lremovexattr, statvfs): the host never reads guest data itself.

Symlinks: the kernel, not the host process, follows a symlink met under the mount, and it
would follow an absolute target (or one with enough ..) out of the mount, onto the host's own
files.  So the target text is given to the kernel confined: an absolute target becomes the
relative path from the link's directory to that path inside the mount, and a relative one
that would climb above the mount's root is normalised the same way (see confine()).  Other
relative targets are given as they are.
"""

import ctypes
import errno
import functools
import os
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import threading
import time

from .. import events as ev
from ..errors import Error

__all__ = ["mount_local", "mount_local_run", "umount_local"]

DEFAULT_CACHE_TIMEOUT = 60
#: longest symlink target accepted from the appliance (PATH_MAX)
MAX_LINK = 4096
#: largest extended attribute value (XATTR_SIZE_MAX) and name list (XATTR_LIST_MAX)
MAX_XATTR = 65536
#: names per lstatnslist call while listing a directory
DIR_CHUNK = 1000
#: bytes per pread / pwrite call
MAX_IO = 1 << 20
#: entries the attribute cache holds before it starts again
MAX_CACHE = 200_000
#: how often mount_local_run looks whether the appliance is still alive (seconds)
WATCH_INTERVAL = 0.25
#: umount_local retry=True: waits between tries (seconds)
RETRY_WAITS = (0.25, 0.5, 1, 2, 4)

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
RENAME_NOREPLACE = 1

_lib = None


def _unsupported(why):
    return Error("mount_local: FUSE is not usable here: %s (it needs libfuse 3, Debian's "
                 "fuse3 package, and the mfusepy module: pip install 'guestkit[mount]')"
                 % why, "ENOTSUP")


def _fuse():
    """(mfusepy, its libfuse 3 CDLL, the FUSE subclass this module drives), loaded once."""
    global _lib
    if _lib is not None:
        return _lib
    # mfusepy takes libfuse 2 when both are installed, unless told otherwise
    saved = os.environ.get("FUSE_LIBRARY_NAME")
    if "mfusepy" not in sys.modules and not os.environ.get("FUSE_LIBRARY_PATH"):
        os.environ["FUSE_LIBRARY_NAME"] = "fuse3"
    try:
        import mfusepy
    except (ImportError, OSError, AttributeError) as e:
        raise _unsupported(str(e)) from None
    finally:
        if saved is None:
            os.environ.pop("FUSE_LIBRARY_NAME", None)
        else:
            os.environ["FUSE_LIBRARY_NAME"] = saved
    if mfusepy.fuse_version_major != 3:
        raise _unsupported("mfusepy loaded libfuse %d, not 3" % mfusepy.fuse_version_major)
    lib = mfusepy._libfuse
    new = getattr(lib, "fuse_new_31", None) or lib.fuse_new
    new.restype = ctypes.c_void_p
    new.argtypes = [ctypes.POINTER(_FuseArgs), ctypes.c_void_p, ctypes.c_size_t,
                    ctypes.c_void_p]
    lib.fuse_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.fuse_mount.restype = ctypes.c_int
    for name in ("fuse_loop", "fuse_unmount", "fuse_destroy", "fuse_exit"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.fuse_loop.restype = ctypes.c_int
    _lib = (mfusepy, lib, new, _session_class(mfusepy))
    return _lib


class _FuseArgs(ctypes.Structure):
    _fields_ = [("argc", ctypes.c_int), ("argv", ctypes.POINTER(ctypes.c_char_p)),
                ("allocated", ctypes.c_int)]


def _session_class(mfusepy):
    """mfusepy.FUSE, split in two: its constructor builds the operations table and calls
    fuse_new + fuse_mount (no loop, no daemonising, no signal handlers); the loop is run by
    LocalMount.run."""

    class Session(mfusepy.FUSE):
        def __init__(self, operations, mountpoint, options, lib, new):  # noqa: no super()
            self.operations = operations
            self.raw_fi = False
            self.encoding, self.errors = "utf-8", "surrogateescape"
            self.use_ns = True
            self._FUSE__critical_exception = None
            self._libfuse2_options_moved_into_libfuse3_config = {}
            ops = mfusepy.fuse_operations()
            for field in mfusepy.fuse_operations._fields_:
                name, proto = field[:2]
                if not hasattr(proto, "argtypes"):
                    continue
                if name != "init" and not hasattr(operations, name):
                    continue
                method = getattr(self, name + "_fuse_3", None) or getattr(self, name)
                setattr(ops, name, proto(functools.partial(self._wrapper, method)))
            self._ops = ops
            self._argv = (ctypes.c_char_p * 3)(b"guestkit", b"-o", options.encode("utf-8"))
            self._args = _FuseArgs(3, self._argv, 0)
            self.fuse = new(ctypes.byref(self._args), ctypes.byref(ops),
                            ctypes.sizeof(ops), None)
            if not self.fuse:
                raise Error("mount_local: FUSE refused the options %r" % options, "EINVAL")
            if lib.fuse_mount(self.fuse, os.fsencode(mountpoint)) != 0:
                lib.fuse_destroy(self.fuse)
                self.fuse = None
                raise Error("mount_local: %s: FUSE could not mount there (is /dev/fuse "
                            "usable?)" % mountpoint, "EIO")

        def critical(self):
            """What a FUSE callback raised that was no OSError (it stopped the loop)."""
            return self._FUSE__critical_exception

        def rename_fuse_3(self, old, new, flags):
            return self.operations.rename(old.decode(self.encoding, self.errors),
                                          new.decode(self.encoding, self.errors), flags)

        def utimens_fuse_3(self, path, buf, fip):
            if buf:
                times = [(t.tv_sec, t.tv_nsec) for t in (buf.contents.actime,
                                                           buf.contents.modtime)]
            else:
                times = [(0, UTIME_NOW), (0, UTIME_NOW)]
            return self.operations.utimens(path.decode(self.encoding, self.errors), times)

    return Session


# ---- symlinks ---------------------------------------------------------------------------

def confine(linkpath, target):
    """The symlink text given to the kernel for a guest symlink at LINKPATH (its path in the
    mount, from /) whose target is TARGET, such that the kernel, following it, stays inside
    the mount: absolute targets start at the guest's root, and .. never climbs above it
    (/.. is /).  Relative targets that cannot leave the mount are kept as they are."""
    if not target:
        return target
    linkdir = posixpath.dirname(linkpath)
    depth = len([p for p in linkdir.split("/") if p])
    if not target.startswith("/"):
        ups, named, plain = 0, False, True
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if named:           # .. after a name: the name may be a symlink elsewhere
                    plain = False
                    break
                ups += 1
            else:
                named = True
        if plain and ups <= depth:
            return target
        target = posixpath.join(linkdir, target)
    parts = []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    text = "/".join([".."] * depth + parts) or "."
    return text + "/" if target.endswith("/") and parts else text


# ---- the operations -----------------------------------------------------------------------

class _Lost(Exception):
    """The appliance is gone: the mount is being removed."""


class Operations:
    """FUSE operations (mfusepy's path-based interface) forwarded to a guestkit handle."""

    use_ns = True

    def __init__(self, mount):
        self._m = mount
        self._g = mount.g
        self._timeout = mount.cachetimeout
        self._attrs = {}        # path -> (expires, attribute dict)
        self._links = {}        # path -> (expires, confined target)
        self._dirs = {}         # path -> (expires, [names])

    # -- plumbing --
    def _call(self, name, *args):
        from ..client import SessionLost
        import guestkit
        if self._m.lost:
            raise OSError(errno.EIO, "the appliance is gone")
        try:
            return getattr(self._g, name)(*args)
        except SessionLost:
            self._m.appliance_lost()
            raise OSError(errno.EIO, "the appliance is gone") from None
        except guestkit.Error as e:
            raise OSError(e.errno or errno.EIO, str(e)) from None

    def _cached(self, table, key):
        hit = table.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def _remember(self, table, key, value):
        if len(table) >= MAX_CACHE:
            table.clear()
        table[key] = (time.monotonic() + self._timeout, value)

    def _changed(self):
        """Something was written: nothing cached can be trusted."""
        self._attrs.clear()
        self._links.clear()
        self._dirs.clear()

    def _writable(self):
        if self._m.readonly:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        self._changed()

    @staticmethod
    def _stat(st):
        """A statns struct from the appliance as mfusepy's attribute dict (checked)."""
        try:
            out = {k: int(st[k]) for k in (
                "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
                "st_blksize", "st_blocks")}
            for t in ("atime", "mtime", "ctime"):
                sec, nsec = int(st["st_%s_sec" % t]), int(st["st_%s_nsec" % t])
                if not 0 <= nsec < 10 ** 9:
                    raise ValueError(nsec)
                out["st_" + t] = sec * 10 ** 9 + nsec
        except (KeyError, TypeError, ValueError):
            raise OSError(errno.EIO, "the appliance sent a malformed stat") from None
        if any(out[k] < 0 for k in ("st_mode", "st_nlink", "st_size", "st_blocks")) or \
                any(not 0 <= out[k] < 1 << 32 for k in ("st_mode", "st_uid", "st_gid")) or \
                any(out[k] >= 1 << 63 for k in out):
            raise OSError(errno.EIO, "the appliance sent a stat out of range")
        return out

    # -- reading --
    def getattr(self, path, fh=None):
        attrs = self._cached(self._attrs, path)
        if attrs is None:
            attrs = self._stat(self._call("lstatns", path))
            self._remember(self._attrs, path, attrs)
        return attrs

    def access(self, path, amode):
        self.getattr(path)
        if amode & os.W_OK and self._m.readonly:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    def readdir(self, path, fh):
        names = self._cached(self._dirs, path)
        if names is None:
            names = [n for n in self._call("ls", path)
                     if isinstance(n, str) and n not in ("", ".", "..")
                     and "/" not in n and "\0" not in n]
            self._remember(self._dirs, path, names)
            # one round trip for the attributes of many entries (ls -l, find)
            for i in range(0, len(names), DIR_CHUNK):
                chunk = names[i:i + DIR_CHUNK]
                stats = self._call("lstatnslist", path, chunk)
                if not isinstance(stats, list) or len(stats) != len(chunk):
                    raise OSError(errno.EIO, "the appliance sent a malformed lstatnslist")
                for name, st in zip(chunk, stats):
                    if isinstance(st, dict) and st.get("st_ino", -1) != -1:
                        self._remember(self._attrs, posixpath.join(path, name),
                                       self._stat(st))
        return [".", ".."] + names

    def readlink(self, path):
        text = self._cached(self._links, path)
        if text is None:
            target = self._call("readlink", path)
            if not isinstance(target, str) or "\0" in target or \
                    len(os.fsencode(target)) > MAX_LINK:
                raise OSError(errno.EIO, "the appliance sent a malformed link target")
            text = confine(path, target)
            self._remember(self._links, path, text)
        return text

    def open(self, path, flags):
        if self._m.readonly and (flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return 0

    def read(self, path, size, offset, fh):
        size = max(0, min(size, MAX_IO))
        data = self._call("pread", path, size, offset)
        if not isinstance(data, (bytes, bytearray)) or len(data) > size:
            raise OSError(errno.EIO, "the appliance sent more than was asked")
        return bytes(data)

    def statfs(self, path):
        s = self._call("statvfs", path)
        try:
            return {"f_" + k: int(s[k]) for k in (
                "bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "favail",
                "namemax")}
        except (KeyError, TypeError, ValueError):
            raise OSError(errno.EIO, "the appliance sent a malformed statvfs") from None

    def getxattr(self, path, name, position=0):
        value = self._call("lgetxattr", path, name)
        if not isinstance(value, (bytes, bytearray)) or len(value) > MAX_XATTR:
            raise OSError(errno.E2BIG, "extended attribute too large")
        return bytes(value)

    def listxattr(self, path):
        pairs = self._call("lgetxattrs", path)
        names = [x.get("attrname") for x in pairs if isinstance(x, dict)]
        names = [n for n in names if isinstance(n, str) and n and "\0" not in n]
        if sum(len(os.fsencode(n)) + 1 for n in names) > MAX_XATTR:
            raise OSError(errno.E2BIG, "extended attribute list too large")
        return names

    # -- writing --
    def write(self, path, data, offset, fh):
        self._writable()
        done = 0
        while done < len(data):
            chunk = data[done:done + MAX_IO]
            n = self._call("pwrite", path, bytes(chunk), offset + done)
            if not isinstance(n, int) or not 0 < n <= len(chunk):
                raise OSError(errno.EIO, "short write")
            done += n
        return done

    def truncate(self, path, length, fh=None):
        self._writable()
        self._call("truncate_size", path, length)

    def _make(self, path, mode, dev=0):
        perm = stat.S_IMODE(mode)
        kind = stat.S_IFMT(mode) or stat.S_IFREG
        if kind == stat.S_IFIFO:
            self._call("mkfifo", perm, path)
        else:
            self._call("mknod", kind | perm, os.major(dev), os.minor(dev), path)
        self._call("chmod", perm, path)     # exactly PERM, whatever the guest's umask

    def create(self, path, mode, flags):
        self._writable()
        self._make(path, mode)
        return 0

    def mknod(self, path, mode, dev):
        self._writable()
        self._make(path, mode, dev)

    def mkdir(self, path, mode):
        self._writable()
        perm = stat.S_IMODE(mode)
        self._call("mkdir_mode", path, perm)
        self._call("chmod", perm, path)

    def unlink(self, path):
        self._writable()
        self._call("rm", path)

    def rmdir(self, path):
        self._writable()
        self._call("rmdir", path)

    def rename(self, old, new, flags=0):
        self._writable()
        if flags & ~RENAME_NOREPLACE:
            raise OSError(errno.EINVAL, "rename: flags %#x are not supported" % flags)
        if flags & RENAME_NOREPLACE:
            try:
                self._call("lstatns", new)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise
            else:
                raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))
        self._call("rename", old, new)

    def symlink(self, linkpath, target):
        self._writable()
        self._call("ln_s", target, linkpath)

    def link(self, newpath, existing):
        self._writable()
        self._call("ln", existing, newpath)

    def chmod(self, path, mode):
        self._writable()
        self._call("chmod", stat.S_IMODE(mode), path)

    def chown(self, path, uid, gid):
        self._writable()
        self._call("lchown", uid, gid, path)

    def utimens(self, path, times):
        self._writable()
        args = []
        for sec, nsec in times:
            args += [0, -1] if nsec == UTIME_NOW else [0, -2] if nsec == UTIME_OMIT \
                else [sec, nsec]
        self._call("utimens", path, *args)

    def setxattr(self, path, name, value, options, position=0):
        self._writable()
        if b"\0" in value:
            raise OSError(errno.ENOTSUP, "values holding a NUL byte cannot be set")
        if options & (os.XATTR_CREATE | os.XATTR_REPLACE):
            try:
                self._call("lgetxattr", path, name)
                exists = True
            except OSError as e:
                if e.errno != errno.ENODATA:
                    raise
                exists = False
            if options & os.XATTR_CREATE and exists:
                raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))
            if options & os.XATTR_REPLACE and not exists:
                raise OSError(errno.ENODATA, os.strerror(errno.ENODATA))
        text = value.decode("utf-8", "surrogateescape")
        self._call("lsetxattr", name, text, len(value), path)

    def removexattr(self, path, name):
        self._writable()
        self._call("lremovexattr", name, path)

    def fsync(self, path, datasync, fh):
        if not self._m.readonly:
            self._call("sync")


class _Traced(Operations):
    """debugcalls: every operation and its outcome as a debug message."""

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        if name.startswith("_") or not callable(value) or name not in _OPS:
            return value
        mount = super().__getattribute__("_m")

        def traced(*args):
            shown = ", ".join(repr(a) if not isinstance(a, (bytes, bytearray))
                              else "<%d bytes>" % len(a) for a in args)
            try:
                r = value(*args)
            except OSError as e:
                mount.message("%s(%s) = %s" % (name, shown, errno.errorcode.get(
                    e.errno, e.errno)))
                raise
            mount.message("%s(%s) = %s" % (name, shown, "<%d bytes>" % len(r)
                                           if isinstance(r, bytes) else repr(r)[:200]))
            return r
        return traced


_OPS = {n for n in vars(Operations) if not n.startswith("_") and n != "use_ns"}


# ---- the mount --------------------------------------------------------------------------

def _mount_id(mountpoint):
    """The FUSE connection number of the mount at MOUNTPOINT (from /proc/self/mountinfo), or
    None.  MOUNTPOINT must be a real path already: resolving it now would wait on the mount
    itself."""
    want = os.fsencode(mountpoint)
    found = None
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 5 or b"-" not in fields:
                    continue
                mp = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]),
                            fields[4])
                if mp == want and fields[fields.index(b"-") + 1].startswith(b"fuse"):
                    found = int(fields[2].split(b":")[1])
    except (OSError, ValueError, IndexError):
        return None
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rpartition(")")[2].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def fusermount(mountpoint, lazy=False):
    """Unmount the FUSE mount at MOUNTPOINT as the host user can: fusermount3, fusermount,
    or (root without either) umount2.  Returns (ok, message)."""
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool:
        argv = [tool, "-u"] + (["-z"] if lazy else []) + ["--", mountpoint]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        return p.returncode == 0, p.stderr.decode("utf-8", "replace").strip()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(mountpoint), 2 if lazy else 0) == 0:   # MNT_DETACH
        return True, ""
    e = ctypes.get_errno()
    return False, "umount %s: %s" % (mountpoint, os.strerror(e))


class LocalMount:
    """One mount_local: made by mount(), served by run(), ended by unmount() or end()."""

    def __init__(self, g, mountpoint, readonly, options, cachetimeout, debugcalls):
        self.g = g
        # resolved before the mount exists: once it does, looking at it waits for the loop
        self.mountpoint = os.path.realpath(mountpoint)
        self.readonly = readonly
        self.cachetimeout = cachetimeout
        self.debugcalls = debugcalls
        self.options = options
        self.lost = False
        self.running = False
        self.session = None
        self.conn = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ender = None

    def message(self, text):
        text = "mount_local: %s\n" % text
        if not self.g._events.emit(ev.EVENT_LIBRARY, text):
            sys.stderr.write(text)

    def mount(self):
        opts = ["fsname=guestkit", "subtype=guestkit"]
        if self.readonly:
            opts.append("ro")
        opts += [o for o in (self.options or "").split(",") if o]
        _, lib, new, Session = _fuse()
        ops = (_Traced if self.debugcalls else Operations)(self)
        self.session = Session(ops, self.mountpoint, ",".join(opts), lib, new)
        self.conn = _mount_id(self.mountpoint)

    def run(self):
        """Serve until unmounted; the appliance's death or an interrupt unmounts."""
        _, lib, _, _ = _fuse()
        with self._lock:
            if self.session is None:
                raise Error("mount_local_run: the mount is gone", "EINVAL")
            self.running = True
        result = {}

        def loop():
            try:
                result["status"] = lib.fuse_loop(self.session.fuse)
            finally:
                self._done.set()
        t = threading.Thread(target=loop, name="guestkit-mount-local", daemon=True)
        t.start()
        try:
            while not self._done.wait(WATCH_INTERVAL):
                if not self.lost and not self._appliance_alive():
                    self.appliance_lost()
        except BaseException:
            # ^C (or anything else) while serving: unmount, then let it go on its way
            self.end()
            self._done.wait(30)
            raise
        finally:
            if self._done.is_set():
                self._release()
        t.join()
        critical = self.session_error
        if self._ender is not None:
            self._ender.join(30)            # the mount is gone, not only the connection
        if self.lost:
            raise Error("mount_local_run: the appliance died; %s was unmounted"
                        % self.mountpoint, "EIO")
        if critical is not None:
            raise Error("mount_local_run: %s" % critical, "EIO")

    session_error = None

    def _release(self):
        with self._lock:
            s, self.session = self.session, None
            self.running = False
        if s is not None:
            _, lib, _, _ = _fuse()
            self.session_error = s.critical()
            lib.fuse_unmount(s.fuse)
            lib.fuse_destroy(s.fuse)

    def _appliance_alive(self):
        g = self.g
        client, backend = g._client, g._backend
        if client is None or getattr(client, "lost", False):
            return False
        pid = backend.pid() if backend is not None else None
        return pid is None or _alive(pid)

    def appliance_lost(self):
        """The appliance died: remove the mount even if it is busy."""
        if not self.lost:
            self.lost = True
            self.message("the appliance died: unmounting %s" % self.mountpoint)
            self._ender = threading.Thread(target=self.end, daemon=True)
            self._ender.start()

    def _abort(self):
        """End the FUSE connection itself: a lazily unmounted mount still in use keeps it,
        and the loop waiting on it, alive otherwise.  umount2(MNT_FORCE) aborts a FUSE
        connection (root); else the fusectl file system's abort file, when it is mounted."""
        if os.geteuid() == 0 and self.conn is not None and \
                _mount_id(self.mountpoint) == self.conn:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.umount2(os.fsencode(self.mountpoint), 1)        # MNT_FORCE
        if self.conn is not None:
            try:
                with open("/sys/fs/fuse/connections/%d/abort" % self.conn, "w") as f:
                    f.write("1")
            except OSError:
                pass

    def unmount(self, retry=False):
        """umount_local: a plain unmount (busy: EBUSY), tried again when RETRY."""
        waits = RETRY_WAITS if retry else ()
        for i in range(len(waits) + 1):
            ok, msg = fusermount(self.mountpoint)
            if ok:
                break
            if i < len(waits):
                time.sleep(waits[i])
        else:
            raise Error("umount_local: %s: %s" % (self.mountpoint, msg or "busy"), "EBUSY")
        self.wait_or_release()

    def end(self):
        """Unmount whatever holds the mount (lazily), and end the connection."""
        ok, _ = fusermount(self.mountpoint)
        if not ok:
            self._abort()                   # while it is still mounted (MNT_FORCE)
            fusermount(self.mountpoint, lazy=True)
        self.wait_or_release()

    def wait_or_release(self):
        """After the unmount: if a thread serves the mount, let it finish; else free it."""
        with self._lock:
            running = self.running
        if running:
            if threading.current_thread().name != "guestkit-mount-local":
                if not self._done.wait(10):
                    self._abort()
                    self._done.wait(10)
        else:
            self._release()


def _state(g):
    return g._module_state("mount_local")


def mount_local(g, localmountpoint, readonly=None, options=None, cachetimeout=None,
                debugcalls=None):
    st = _state(g)
    if st.get("mount") is not None:
        raise Error("mount_local: %s is already mounted by this handle"
                    % st["mount"].mountpoint, "EBUSY")
    if not os.path.isdir(localmountpoint):
        raise Error("mount_local: %s: not a directory" % localmountpoint,
                    "ENOTDIR" if os.path.exists(localmountpoint) else "ENOENT")
    timeout = DEFAULT_CACHE_TIMEOUT if cachetimeout is None else int(cachetimeout)
    if timeout < 0:
        raise Error("mount_local: cachetimeout must not be negative", "EINVAL")
    if options and any(c in options for c in "\0\n"):
        raise Error("mount_local: options must be one line", "EINVAL")
    m = LocalMount(g, localmountpoint, bool(readonly), options, timeout, bool(debugcalls))
    m.mount()
    st["mount"] = m


def mount_local_run(g):
    st = _state(g)
    m = st.get("mount")
    if m is None:
        raise Error("mount_local_run: call mount_local first", "EINVAL")
    try:
        m.run()
    finally:
        if m.session is None and st.get("mount") is m:
            st["mount"] = None


def umount_local(g, retry=None):
    st = _state(g)
    m = st.get("mount")
    if m is None:
        raise Error("umount_local: nothing is mounted by mount_local", "EINVAL")
    m.unmount(bool(retry))
    if m.session is None and not m.running:
        st["mount"] = None


def release(g):
    """Before the appliance stops (shutdown, close): remove a mount this handle made."""
    st = g._module_state("mount_local")
    m = st.get("mount")
    if m is not None:
        st["mount"] = None
        m.end()
