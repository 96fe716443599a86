"""Handlers for the journal_* actions: the guest's systemd journal through sd-journal.

libsystemd's sd-journal is reached with ctypes in a helper process (daemon/chrootworker.py)
kept in ``ctx.server.state["journal"]``; journal_open runs there chrooted in the guest root,
so the directory, its symlinks and the files in it are the guest's.  A corrupt journal that
crashes the library ends the helper, not the daemon.  An entry's fields are returned up to
MAX_ENTRY bytes in all (EFBIG beyond).
"""

import base64
import ctypes
import os

from . import clib
from . import system as _system
from .chrootworker import drop_session_worker, session_worker, start_session_worker
from .util import DaemonError

MAX_ENTRY = 32 << 20
MAX_FIELDS = 100000

_LIBNAME = "libsystemd.so.0"


def _signatures():
    P, I, S, U64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint64
    return {
        "sd_journal_open_directory": (I, [ctypes.POINTER(P), ctypes.c_char_p, I]),
        "sd_journal_close": (None, [P]),
        "sd_journal_next": (I, [P]),
        "sd_journal_next_skip": (I, [P, U64]),
        "sd_journal_previous_skip": (I, [P, U64]),
        "sd_journal_restart_data": (None, [P]),
        "sd_journal_enumerate_data": (I, [P, ctypes.POINTER(P), ctypes.POINTER(S)]),
        "sd_journal_set_data_threshold": (I, [P, S]),
        "sd_journal_get_data_threshold": (I, [P, ctypes.POINTER(S)]),
        "sd_journal_get_realtime_usec": (I, [P, ctypes.POINTER(U64)]),
    }


def _load():
    return clib.load(_LIBNAME, _signatures, "libsystemd is not available in this appliance "
                     "(the journal feature is not available)")


def _fail(what, r):
    import errno as _errno
    err = -r
    return DaemonError("%s: %s" % (what, os.strerror(err)), _errno.errorcode.get(err, "EIO"))


class Journal:
    """The sd_journal handle, inside the helper process; op_* are what call() reaches."""

    def __init__(self):
        self.lib = _load()
        self.j = None

    def op_open(self, directory):
        j = ctypes.c_void_p()
        r = self.lib.sd_journal_open_directory(ctypes.byref(j), directory.encode(
            "utf-8", "surrogateescape"), 0)
        if r < 0:
            raise _fail("journal_open: %s" % directory, r)
        self.j = j

    def op_next(self):
        r = self.lib.sd_journal_next(self.j)
        if r < 0:
            raise _fail("journal_next", r)
        return r > 0

    def op_skip(self, skip):
        if skip >= 0:
            r = self.lib.sd_journal_next_skip(self.j, skip)
        else:
            r = self.lib.sd_journal_previous_skip(self.j, -skip)
        if r < 0:
            raise _fail("journal_skip", r)
        return r

    def op_get(self):
        lib = self.lib
        lib.sd_journal_restart_data(self.j)
        data, n = ctypes.c_void_p(), ctypes.c_size_t()
        out = []
        total = 0
        while True:
            r = lib.sd_journal_enumerate_data(self.j, ctypes.byref(data), ctypes.byref(n))
            if r < 0:
                raise _fail("journal_get", r)
            if r == 0:
                return out
            total += n.value
            if total > MAX_ENTRY or len(out) >= MAX_FIELDS:
                raise DaemonError("journal_get: the entry is larger than %d bytes or has "
                                  "more than %d fields (set a data threshold)"
                                  % (MAX_ENTRY, MAX_FIELDS), "EFBIG")
            raw = ctypes.string_at(data, n.value)
            name, eq, value = raw.partition(b"=")
            if not eq:
                continue            # not NAME=VALUE: sd-journal never gives these
            out.append([name.decode("utf-8", "replace"),
                        base64.b64encode(value).decode("ascii")])

    def op_get_threshold(self):
        n = ctypes.c_size_t()
        r = self.lib.sd_journal_get_data_threshold(self.j, ctypes.byref(n))
        if r < 0:
            raise _fail("journal_get_data_threshold", r)
        return n.value

    def op_set_threshold(self, n):
        r = self.lib.sd_journal_set_data_threshold(self.j, n)
        if r < 0:
            raise _fail("journal_set_data_threshold", r)

    def op_realtime(self):
        t = ctypes.c_uint64()
        r = self.lib.sd_journal_get_realtime_usec(self.j, ctypes.byref(t))
        if r < 0:
            raise _fail("journal_get_realtime_usec", r)
        return t.value


# ---- the handlers ----------------------------------------------------------------------------

def _handle(ctx):
    return session_worker(ctx, "journal", "no journal handle: use journal_open to open one")


def do_journal_open(ctx, directory):
    if not _system.group_available("journal"):
        raise DaemonError("the journal feature is not available in this appliance", "ENOTSUP")
    ctx.need_root()
    _load()
    start_session_worker(ctx, "journal", Journal,
                         lambda w: w.call("open", directory, chroot=True))


def do_journal_close(ctx):
    _handle(ctx)
    drop_session_worker(ctx, "journal")


def do_journal_next(ctx):
    return bool(_handle(ctx).call("next"))


def do_journal_skip(ctx, skip):
    return int(_handle(ctx).call("skip", skip))


def do_journal_get(ctx):
    fields = _handle(ctx).call("get")
    return [{"attrname": str(k), "attrval": base64.b64decode(v)} for k, v in fields]


def do_journal_get_data_threshold(ctx):
    return int(_handle(ctx).call("get_threshold"))


def do_journal_set_data_threshold(ctx, threshold):
    w = _handle(ctx)
    if threshold < 0:
        raise DaemonError("journal_set_data_threshold: %d must not be negative" % threshold,
                          "EINVAL")
    w.call("set_threshold", threshold)


def do_journal_get_realtime_usec(ctx):
    return int(_handle(ctx).call("realtime"))
