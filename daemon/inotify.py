"""Handlers for the inotify_* actions: the appliance kernel's inotify, through libc (ctypes).

The instance is a non-blocking descriptor kept in ``ctx.server.state["inotify"]``.  A watched
path is resolved inside the guest root and watched through an O_PATH descriptor of what was
resolved (/proc/self/fd/N), so a symlink swapped in afterwards changes nothing.  Reads never
block; one inotify_read returns at most READ_LIMIT bytes of events.
"""

import ctypes
import errno as _errno
import os
import struct

from .util import DaemonError

READ_LIMIT = 1 << 20
MAX_FILES = 100000
MAX_QUEUE = 1 << 20
IN_DONT_FOLLOW = 0x02000000
_EVENT = struct.Struct("iIII")          # wd, mask, cookie, len; then len bytes of name

_libc = None


def _lib():
    global _libc
    if _libc is None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        _libc = libc
    return _libc


def _oserror(what):
    e = ctypes.get_errno()
    return DaemonError("%s: %s" % (what, os.strerror(e)), _errno.errorcode.get(e, "EIO"))


def _fd(ctx):
    fd = ctx.server.state.get("inotify")
    if fd is None:
        raise DaemonError("you must call inotify_init first to initialize inotify", "EINVAL")
    return fd


def _available():
    from .system import group_available
    if not group_available("inotify"):
        raise DaemonError("the inotify feature is not available in this appliance", "ENOTSUP")


def do_inotify_init(ctx, maxevents):
    _available()
    if maxevents < 0:
        raise DaemonError("inotify_init: maxevents %d must not be negative" % maxevents,
                          "EINVAL")
    if maxevents > MAX_QUEUE:
        raise DaemonError("inotify_init: maxevents %d is more than %d" % (maxevents, MAX_QUEUE),
                          "EINVAL")
    if maxevents > 0:
        with open("/proc/sys/fs/inotify/max_queued_events", "w") as f:
            f.write("%d\n" % maxevents)
    _close(ctx)
    fd = _lib().inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        raise _oserror("inotify_init")
    ctx.server.state["inotify"] = fd


def do_inotify_add_watch(ctx, path, mask):
    fd = _fd(ctx)
    ctx.need_root()
    follow = not mask & IN_DONT_FOLLOW
    apath = ctx.existing(path, follow=follow)
    # the watch goes on what was resolved: an O_PATH descriptor, read back through /proc
    pfd = os.open(apath, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        wd = _lib().inotify_add_watch(fd, ("/proc/self/fd/%d" % pfd).encode(),
                                      (mask & ~IN_DONT_FOLLOW) & 0xffffffff)
        if wd < 0:
            raise _oserror("inotify_add_watch: %s" % path)
    finally:
        os.close(pfd)
    return wd


def do_inotify_rm_watch(ctx, wd):
    fd = _fd(ctx)
    if _lib().inotify_rm_watch(fd, wd) < 0:
        raise _oserror("inotify_rm_watch: %d" % wd)


def _read(fd):
    out = []
    got = 0
    while got < READ_LIMIT:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not buf:
            break
        got += len(buf)
        off = 0
        while off + _EVENT.size <= len(buf):
            wd, mask, cookie, n = _EVENT.unpack_from(buf, off)
            off += _EVENT.size
            name = buf[off:off + n].split(b"\0", 1)[0]
            off += n
            out.append({"in_wd": wd, "in_mask": mask, "in_cookie": cookie,
                        "in_name": name.decode("utf-8", "replace")})
    return out


def do_inotify_read(ctx):
    return _read(_fd(ctx))


def do_inotify_files(ctx):
    fd = _fd(ctx)
    names = set()
    while True:
        events = _read(fd)
        if not events:
            break
        names.update(e["in_name"] for e in events)
        if len(names) > MAX_FILES:
            raise DaemonError("inotify_files: more than %d names" % MAX_FILES, "EFBIG")
    return sorted(names)


def _close(ctx):
    fd = ctx.server.state.pop("inotify", None)
    if fd is not None:
        os.close(fd)


def do_inotify_close(ctx):
    _fd(ctx)
    _close(ctx)
