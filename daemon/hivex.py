"""Handlers for the hivex actions: Windows registry hives through libhivex (ctypes).

libhivex (the C library the appliance carries, see appliance/tools.py) parses the hive
inside the appliance, never on the host.  One hive is open per session, as in libguestfs:
``ctx.server.state["hivex"]``; hivex_open while one is open closes the old one.

Paths: the guest path is resolved inside the guest root; the daemon opens the file itself
(no final symlink, never blocking, regular files only) and hands libhivex that very file as
/proc/self/fd/N, so what libhivex reads is what was checked.  The descriptor stays open with
the hive, so hivex_commit(None) writes back to the same file even if the path changed since.

Bounds: a value's data is refused above MAX_VALUE bytes, a list above MAX_LIST entries,
before libhivex builds it.  Node and value handles are checked by libhivex (a handle that is
not an "nk"/"vk" cell of the hive is EINVAL); here they must be positive.
"""

import codecs
import ctypes
import errno as _errno
import os
import stat

from . import clib
from .util import DaemonError, fail, open_nonblocking

MAX_VALUE = 32 << 20        # base64 in the JSON reply makes it 43 MiB, under MAX_JSON
MAX_LIST = 1000000
MAX_HIVE = 4 << 30         # hive offsets are 32-bit

# hivex_open flags (hivex.h)
_OPEN_VERBOSE, _OPEN_DEBUG, _OPEN_WRITE, _OPEN_UNSAFE = 1, 2, 4, 8

_LIBNAME = "libhivex.so.0"


class _SetValue(ctypes.Structure):
    # hive_set_value: { char *key; hive_type t; size_t len; char *value; }
    _fields_ = [("key", ctypes.c_char_p), ("t", ctypes.c_uint), ("len", ctypes.c_size_t),
                ("value", ctypes.c_char_p)]


def _signatures():
    P, S, I, U = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint
    CP = ctypes.c_char_p
    return {
        "hivex_open": (P, [CP, I]),
        "hivex_close": (I, [P]),
        "hivex_commit": (I, [P, CP, I]),
        "hivex_root": (S, [P]),
        "hivex_node_name": (P, [P, S]),                         # malloc'd char *
        "hivex_node_nr_children": (S, [P, S]),
        "hivex_node_children": (P, [P, S]),                     # malloc'd hive_node_h[]
        "hivex_node_get_child": (S, [P, S, CP]),
        "hivex_node_parent": (S, [P, S]),
        "hivex_node_nr_values": (S, [P, S]),
        "hivex_node_values": (P, [P, S]),                       # malloc'd hive_value_h[]
        "hivex_node_get_value": (S, [P, S, CP]),
        "hivex_value_key": (P, [P, S]),                         # malloc'd char *
        "hivex_value_type": (I, [P, S, ctypes.POINTER(U), ctypes.POINTER(S)]),
        "hivex_value_value": (P, [P, S, ctypes.POINTER(U), ctypes.POINTER(S)]),
        "hivex_node_add_child": (S, [P, S, CP]),
        "hivex_node_delete_child": (I, [P, S]),
        "hivex_node_set_value": (I, [P, S, ctypes.POINTER(_SetValue), I]),
    }


def _load():
    return clib.load(_LIBNAME, _signatures, "libhivex is not available in this appliance "
                     "(the hivex feature is not available)")


def _call(fn, *args):
    """Call FN with errno cleared first; returns (result, errno after the call)."""
    ctypes.set_errno(0)
    r = fn(*args)
    return r, ctypes.get_errno()


def _error(what, err, default="EINVAL"):
    if err == _errno.ENOKEY:
        return DaemonError("%s: no such key (hivex: %s)" % (what, os.strerror(err)), "ENOKEY")
    if err:
        return DaemonError("%s: %s" % (what, os.strerror(err)),
                           _errno.errorcode.get(err, "EIO"))
    return DaemonError("%s: failed (libhivex gave no reason)" % what, default)


def _take_string(ptr):
    """Copy and free a malloc'd NUL-terminated UTF-8 string from libhivex."""
    try:
        raw = ctypes.string_at(ptr)
    finally:
        clib.free(ptr)
    return raw.decode("utf-8", "replace")


def _take_handles(ptr, what):
    """Copy and free a malloc'd 0-terminated array of size_t handles."""
    try:
        arr = ctypes.cast(ptr, ctypes.POINTER(ctypes.c_size_t))
        out = []
        i = 0
        while True:
            h = arr[i]
            if h == 0:
                break
            if i >= MAX_LIST:
                raise DaemonError("%s: more than %d entries" % (what, MAX_LIST), "EFBIG")
            out.append(h)
            i += 1
    finally:
        clib.free(ptr)
    return out


# ---- an open hive ---------------------------------------------------------------------------

class Hive:
    """A hive libhivex has open, and the descriptor of its file.  The session's hive (the
    hivex_* actions) and the daemon's own reads (inspection, through ``Hive.open``) both go
    through these methods; handles are libhivex's, checked positive here and by libhivex."""
    __slots__ = ("h", "fd", "path", "write")

    def __init__(self, h, fd, path, write):
        self.h, self.fd, self.path, self.write = h, fd, path, write

    @classmethod
    def open(cls, apath, what, flags=0):
        """Open the hive at appliance path APATH (no final symlink, never blocking, a
        regular file of at most MAX_HIVE bytes); WHAT names it in errors."""
        lib = _load()
        # O_NOFOLLOW: the path was resolved in the guest, a symlink swapped in since is refused
        fd, st = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            if st.st_size > MAX_HIVE:
                raise DaemonError("%s: %d bytes is larger than any registry hive (cell "
                                  "offsets are 32-bit)" % (what, st.st_size), "EFBIG")
            h, err = _call(lib.hivex_open, _proc_fd(fd), flags)
            if not h:
                if err in (_errno.ENOTSUP, _errno.EINVAL, _errno.EFAULT, _errno.ERANGE, 0):
                    raise DaemonError("%s: not a Windows registry hive, or a corrupt one "
                                      "(hivex: %s)" % (what, os.strerror(err or _errno.EINVAL)),
                                      _errno.errorcode.get(err, "EINVAL"))
                raise _error(what, err)
        except BaseException:
            os.close(fd)
            raise
        return cls(h, fd, what, bool(flags & _OPEN_WRITE))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        lib = _load()
        h, self.h = self.h, None
        err = 0
        if h:
            r, err = _call(lib.hivex_close, h)
            if r == 0:
                err = 0
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return err

    def root(self):
        r, err = _call(_load().hivex_root, self.h)
        if not r:
            raise _error("the hive has no valid root key", err)
        return r

    def name(self, nodeh):
        p, err = _call(_load().hivex_node_name, self.h, _node(nodeh))
        if not p:
            raise _error("node %d" % nodeh, err)
        return _take_string(p)

    def handles(self, nodeh, what):
        """The handles of the subkeys (WHAT="children") or values of NODEH."""
        lib = _load()
        n, err = _call(getattr(lib, "hivex_node_nr_" + what), self.h, _node(nodeh))
        if err:
            raise _error("node %d" % nodeh, err)
        if n > MAX_LIST:
            raise DaemonError("node %d has %d %s, more than %d" % (nodeh, n, what, MAX_LIST),
                              "EFBIG")
        p, err = _call(getattr(lib, "hivex_node_" + what), self.h, nodeh)
        if not p:
            raise _error("node %d" % nodeh, err)
        return _take_handles(p, "node %d" % nodeh)

    def lookup(self, nodeh, what, name):
        """The child key (WHAT="child") or value (WHAT="value") of NODEH called NAME (case
        does not matter, as in Windows), or 0 when there is none."""
        r, err = _call(getattr(_load(), "hivex_node_get_" + what), self.h, _node(nodeh),
                       name.encode("utf-8"))
        if not r and err:
            raise _error("node %d" % nodeh, err)
        return r

    def key(self, valueh):
        p, err = _call(_load().hivex_value_key, self.h, _node(valueh, "value"))
        if not p:
            raise _error("value %d" % valueh, err)
        return _take_string(p)

    def type_len(self, valueh):
        t = ctypes.c_uint(0)
        n = ctypes.c_size_t(0)
        r, err = _call(_load().hivex_value_type, self.h, _node(valueh, "value"),
                       ctypes.byref(t), ctypes.byref(n))
        if r != 0:
            raise _error("value %d" % valueh, err)
        return t.value, n.value

    def data(self, valueh, limit=MAX_VALUE):
        """(type, bytes) of value VALUEH; EFBIG above LIMIT bytes."""
        _, size = self.type_len(valueh)
        if size > limit:
            raise DaemonError("value %d holds %d bytes, more than the %d this call returns"
                              % (valueh, size, limit), "EFBIG")
        t = ctypes.c_uint(0)
        n = ctypes.c_size_t(0)
        p, err = _call(_load().hivex_value_value, self.h, valueh, ctypes.byref(t),
                       ctypes.byref(n))
        if not p:
            if n.value == 0 and not err:
                return t.value, b""
            raise _error("value %d" % valueh, err)
        try:
            if n.value > limit:
                raise DaemonError("value %d holds more than %d bytes" % (valueh, limit),
                                  "EFBIG")
            return t.value, ctypes.string_at(p, n.value)
        finally:
            clib.free(p)

    def string(self, valueh, limit=MAX_VALUE):
        """Value VALUEH as text: UTF-16LE up to the first NUL code unit (registry strings
        usually end with one)."""
        data = self.data(valueh, limit)[1]
        end = len(data) & ~1
        for i in range(0, end, 2):
            if data[i] == 0 and data[i + 1] == 0:
                end = i
                break
        try:
            # the codec's C function itself: the appliance's stdlib may lack
            # encodings.utf_16_le
            return codecs.utf_16_le_decode(data[:end], "strict", True)[0]
        except UnicodeDecodeError as e:
            raise DaemonError("value %d is not a UTF-16LE string: %s" % (valueh, e),
                              "EILSEQ") from None


def _hive(ctx):
    hv = ctx.server.state.get("hivex")
    if hv is None or not hv.h:
        fail("no hive is open: call hivex_open first")
    return hv


def _node(h, what="node"):
    if h <= 0:
        fail("invalid %s handle %d (handles are positive)" % (what, h))
    return h


def _proc_fd(fd):
    return ("/proc/self/fd/%d" % fd).encode()


def do_hivex_open(ctx, filename, verbose=False, debug=False, write=False, unsafe=False):
    old = ctx.server.state.pop("hivex", None)
    if old is not None:
        old.close()
    flags = ((_OPEN_VERBOSE if verbose else 0) | (_OPEN_DEBUG if debug else 0) |
             (_OPEN_WRITE if write else 0) | (_OPEN_UNSAFE if unsafe else 0))
    ctx.server.state["hivex"] = Hive.open(ctx.existing(filename), filename, flags)


def do_hivex_close(ctx):
    hv = _hive(ctx)
    del ctx.server.state["hivex"]
    err = hv.close()
    if err:
        raise _error("close", err)


def do_hivex_root(ctx):
    return _hive(ctx).root()


def do_hivex_node_name(ctx, nodeh):
    return _hive(ctx).name(nodeh)


def do_hivex_node_children(ctx, nodeh):
    return [{"hivex_node_h": h} for h in _hive(ctx).handles(nodeh, "children")]


def do_hivex_node_get_child(ctx, nodeh, name):
    return _hive(ctx).lookup(nodeh, "child", name)


def do_hivex_node_parent(ctx, nodeh):
    hv = _hive(ctx)
    r, err = _call(_load().hivex_node_parent, hv.h, _node(nodeh))
    if not r:
        raise _error("node %d has no valid parent" % nodeh, err)
    return r


def do_hivex_node_values(ctx, nodeh):
    return [{"hivex_value_h": h} for h in _hive(ctx).handles(nodeh, "values")]


def do_hivex_node_get_value(ctx, nodeh, key):
    return _hive(ctx).lookup(nodeh, "value", key)


def do_hivex_value_key(ctx, valueh):
    return _hive(ctx).key(valueh)


def do_hivex_value_type(ctx, valueh):
    return _hive(ctx).type_len(valueh)[0]


def do_hivex_value_value(ctx, valueh):
    return _hive(ctx).data(valueh)[1]


def do_hivex_value_string(ctx, valueh):
    return _hive(ctx).string(valueh)


def do_hivex_value_utf8(ctx, valueh):
    return do_hivex_value_string(ctx, valueh)


def do_hivex_node_add_child(ctx, parent, name):
    hv = _hive(ctx)
    if not name:
        fail("the name of a key cannot be empty")
    r, err = _call(_load().hivex_node_add_child, hv.h, _node(parent, "parent node"),
                   name.encode("utf-8"))
    if not r:
        raise _error("add %r under node %d" % (name, parent), err)
    return r


def do_hivex_node_delete_child(ctx, nodeh):
    hv = _hive(ctx)
    r, err = _call(_load().hivex_node_delete_child, hv.h, _node(nodeh))
    if r != 0:
        raise _error("delete node %d" % nodeh, err)


def do_hivex_node_set_value(ctx, nodeh, key, t, val):
    hv = _hive(ctx)
    if not 0 <= t <= 0xFFFFFFFF:
        fail("type %d is out of range (0 to 0xffffffff)" % t)
    if len(val) > MAX_VALUE:
        fail("value data of %d bytes is larger than %d" % (len(val), MAX_VALUE), "EFBIG")
    buf = ctypes.create_string_buffer(val, len(val) or 1)
    sv = _SetValue(key.encode("utf-8"), t, len(val), ctypes.cast(buf, ctypes.c_char_p))
    r, err = _call(_load().hivex_node_set_value, hv.h, _node(nodeh), ctypes.byref(sv), 0)
    if r != 0:
        raise _error("set %r on node %d" % (key, nodeh), err)


def do_hivex_commit(ctx, filename=None):
    hv = _hive(ctx)
    if not hv.write:
        fail("the hive was opened read-only: open it with write=True to commit")
    fd = None
    try:
        if filename is None:
            target = hv.fd
        else:
            apath, st = ctx.resolve_lstat(filename)
            if st is not None and not stat.S_ISREG(st.st_mode):
                fail("%s: not a regular file" % filename)
            # not O_TRUNC here: a fifo or device is refused before anything is written
            fd, _ = open_nonblocking(apath, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW)
            target = fd
        r, err = _call(_load().hivex_commit, hv.h, _proc_fd(target), 0)
        if r != 0:
            raise _error("commit to %s" % (filename or hv.path), err, "EIO")
    finally:
        if fd is not None:
            os.close(fd)
