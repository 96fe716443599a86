"""Handlers for the aug_* actions: Augeas through libaugeas (ctypes).

The Augeas handle lives in a helper process (daemon/chrootworker.py), kept in the session
state as ``ctx.server.state["augeas"]``.  The calls that read or write guest files (aug_load,
aug_save, and aug_init unless it was asked not to load) run chrooted in the guest root, so
the guest's paths and symlinks never reach the appliance's own files; the lenses are loaded
outside the chroot, from the appliance's /usr/share/augeas/lenses.

Bounds: aug_match/aug_ls return at most MAX_MATCHES paths; a value is returned whole (the
helper's replies are bounded by chrootworker.MAX_REPLY).
"""

import ctypes

from . import clib
from .chrootworker import drop_session_worker, session_worker, start_session_worker
from .util import DaemonError

MAX_MATCHES = 1000000

_LIBNAME = "libaugeas.so.0"

# augeas.h
AUG_SAVE_BACKUP, AUG_SAVE_NEWFILE, AUG_TYPE_CHECK, AUG_NO_STDINC = 1, 2, 4, 8
AUG_SAVE_NOOP, AUG_NO_LOAD, AUG_NO_MODL_AUTOLOAD = 16, 32, 64
AUG_NO_ERR_CLOSE = 256
USER_FLAGS = 63


def _signatures():
    P, I, CP, U = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
    PCP = ctypes.POINTER(ctypes.c_char_p)
    return {
        "aug_init": (P, [CP, CP, U]),
        "aug_close": (None, [P]),
        "aug_defvar": (I, [P, CP, CP]),
        "aug_defnode": (I, [P, CP, CP, CP, ctypes.POINTER(I)]),
        "aug_get": (I, [P, CP, PCP]),              # the value belongs to the tree
        "aug_label": (I, [P, CP, PCP]),
        "aug_set": (I, [P, CP, CP]),
        "aug_setm": (I, [P, CP, CP, CP]),
        "aug_insert": (I, [P, CP, CP, I]),
        "aug_rm": (I, [P, CP]),
        "aug_mv": (I, [P, CP, CP]),
        "aug_match": (I, [P, CP, ctypes.POINTER(ctypes.POINTER(P))]),   # malloc'd
        "aug_save": (I, [P]),
        "aug_load": (I, [P]),
        "aug_transform": (I, [P, CP, CP, I]),
        "aug_error": (I, [P]),
        "aug_error_message": (CP, [P]),
        "aug_error_minor_message": (CP, [P]),
        "aug_error_details": (CP, [P]),
    }


def _load():
    return clib.load(_LIBNAME, _signatures, "libaugeas is not available in this appliance")


def _b(s):
    return None if s is None else s.encode("utf-8", "surrogateescape")


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


class Augeas:
    """The libaugeas handle, inside the helper process; op_* are what call() reaches."""

    def __init__(self):
        self.lib = _load()
        self.aug = None

    def _error(self, what, default="EINVAL"):
        lib, aug = self.lib, self.aug
        if aug and lib.aug_error(aug) != 0:
            parts = [_s(lib.aug_error_message(aug)), _s(lib.aug_error_minor_message(aug)),
                     _s(lib.aug_error_details(aug))]
            return DaemonError("%s: %s" % (what, ": ".join(p for p in parts if p)), default)
        return DaemonError("%s: failed" % what, default)

    def op_init(self, root, flags):
        # the lenses are compiled here, outside the chroot; files are read by op_load
        aug = self.lib.aug_init(_b(root), None, flags | AUG_NO_LOAD | AUG_NO_ERR_CLOSE)
        if not aug:
            raise DaemonError("aug_init: augeas initialization failed", "ENOMEM")
        self.aug = aug
        if self.lib.aug_error(aug) != 0:
            err = self._error("aug_init: %s (flags %d)" % (root, flags))
            self.lib.aug_close(aug)
            self.aug = None
            raise err

    def op_load(self):
        if self.lib.aug_load(self.aug) != 0:
            raise self._error("aug_load")

    def op_save(self):
        if self.lib.aug_save(self.aug) != 0:
            err = self._error("aug_save")
            why = self._file_errors()
            if why:
                err = DaemonError("%s (%s)" % (err, why), err.errno_name)
            raise err

    def _file_errors(self):
        """What Augeas recorded under /augeas//error after a failed save."""
        out = []
        try:
            for p in self._match("/augeas//error")[:8]:
                msg = self._get_or_none(p + "/message") or self._get_or_none(p)
                out.append("%s: %s" % (p[len("/augeas"):].rsplit("/error", 1)[0], msg))
        except DaemonError:
            pass
        return "; ".join(out)

    def _get_or_none(self, path):
        v = ctypes.c_char_p()
        if self.lib.aug_get(self.aug, _b(path), ctypes.byref(v)) == 1:
            return _s(v.value)
        return None

    def op_defvar(self, name, expr):
        r = self.lib.aug_defvar(self.aug, _b(name), _b(expr))
        if r < 0:
            raise self._error("aug_defvar: %s" % name)
        return r

    def op_defnode(self, name, expr, val):
        created = ctypes.c_int(0)
        r = self.lib.aug_defnode(self.aug, _b(name), _b(expr), _b(val), ctypes.byref(created))
        if r < 0:
            raise self._error("aug_defnode: %s" % name)
        return {"i": r, "b": 1 if created.value else 0}

    def _one(self, fn, what, path):
        v = ctypes.c_char_p()
        r = fn(self.aug, _b(path), ctypes.byref(v))
        if r == 0:
            raise DaemonError("%s: %s: no matching node" % (what, path), "ENOENT")
        if r != 1:
            raise self._error("%s: %s" % (what, path))
        if v.value is None:
            raise DaemonError("%s: %s: the node has no %s" % (
                what, path, "value" if what == "aug_get" else "label"), "EINVAL")
        return _s(v.value)

    def op_get(self, path):
        return self._one(self.lib.aug_get, "aug_get", path)

    def op_label(self, path):
        return self._one(self.lib.aug_label, "aug_label", path)

    def op_set(self, path, val):
        if self.lib.aug_set(self.aug, _b(path), _b(val)) != 0:
            raise self._error("aug_set: %s" % path)

    def op_clear(self, path):
        if self.lib.aug_set(self.aug, _b(path), None) != 0:
            raise self._error("aug_clear: %s" % path)

    def op_setm(self, base, sub, val):
        r = self.lib.aug_setm(self.aug, _b(base), _b(sub), _b(val))
        if r < 0:
            raise self._error("aug_setm: %s" % base)
        return r

    def op_insert(self, path, label, before):
        if self.lib.aug_insert(self.aug, _b(path), _b(label), 1 if before else 0) != 0:
            raise self._error("aug_insert: %s" % path)

    def op_rm(self, path):
        r = self.lib.aug_rm(self.aug, _b(path))
        if r < 0:
            raise self._error("aug_rm: %s" % path)
        return r

    def op_mv(self, src, dest):
        if self.lib.aug_mv(self.aug, _b(src), _b(dest)) != 0:
            raise self._error("aug_mv: %s" % src)

    def _match(self, path):
        arr = ctypes.POINTER(ctypes.c_void_p)()
        n = self.lib.aug_match(self.aug, _b(path), ctypes.byref(arr))
        if n < 0:
            raise self._error("aug_match: %s" % path)
        out = []
        try:
            for i in range(n):
                if i < MAX_MATCHES:
                    out.append(_s(ctypes.string_at(arr[i])))
                clib.free(arr[i])
        finally:
            if arr:
                clib.free(arr)
        if n > MAX_MATCHES:
            raise DaemonError("aug_match: %s: %d matches, more than %d" % (
                path, n, MAX_MATCHES), "EFBIG")
        return out

    def op_match(self, path):
        return self._match(path)

    def op_transform(self, lens, file, remove):
        if self.lib.aug_transform(self.aug, _b(lens), _b(file), 1 if remove else 0) != 0:
            raise self._error("aug_transform: %s" % lens)

    def op_close(self):
        if self.aug:
            self.lib.aug_close(self.aug)
            self.aug = None


# ---- the handlers ----------------------------------------------------------------------------

def _handle(ctx):
    return session_worker(ctx, "augeas", "no Augeas handle: use aug_init to create one")


def do_aug_init(ctx, root, flags):
    ctx.need_root()
    if flags & ~USER_FLAGS or flags < 0:
        raise DaemonError("aug_init: flags %d: unknown flag bits (known: 1 2 4 8 16 32)"
                          % flags, "EINVAL")
    if not root.startswith("/"):
        raise DaemonError("aug_init: %s: the root must be an absolute path in the guest "
                          "(/ for the guest's root)" % root, "EINVAL")
    _load()

    def start(w):
        w.call("init", root, flags)
        if not flags & AUG_NO_LOAD:
            w.call("load", chroot=True)
    start_session_worker(ctx, "augeas", Augeas, start)


def do_aug_close(ctx):
    _handle(ctx)
    drop_session_worker(ctx, "augeas")


def do_aug_load(ctx):
    _handle(ctx).call("load", chroot=True)


def do_aug_save(ctx):
    _handle(ctx).call("save", chroot=True)


def do_aug_defvar(ctx, name, expr):
    return _handle(ctx).call("defvar", name, expr)


def do_aug_defnode(ctx, name, expr, val):
    r = _handle(ctx).call("defnode", name, expr, val)
    return {"i": int(r["i"]), "b": int(r["b"])}


def do_aug_get(ctx, augpath):
    return _handle(ctx).call("get", augpath)


def do_aug_label(ctx, augpath):
    return _handle(ctx).call("label", augpath)


def do_aug_set(ctx, augpath, val):
    _handle(ctx).call("set", augpath, val)


def do_aug_clear(ctx, augpath):
    _handle(ctx).call("clear", augpath)


def do_aug_setm(ctx, base, sub, val):
    return _handle(ctx).call("setm", base, sub, val)


def do_aug_insert(ctx, augpath, label, before):
    _handle(ctx).call("insert", augpath, label, bool(before))


def do_aug_rm(ctx, augpath):
    return _handle(ctx).call("rm", augpath)


def do_aug_mv(ctx, src, dest):
    _handle(ctx).call("mv", src, dest)


def do_aug_match(ctx, augpath):
    return _handle(ctx).call("match", augpath)


def do_aug_ls(ctx, augpath):
    w = _handle(ctx)
    if len(augpath) > 1 and augpath[-1] in "/]*":
        raise DaemonError("aug_ls: %s: the path must not end with /, ] or *" % augpath,
                          "EINVAL")
    pattern = "/*" if augpath == "/" else augpath + "/*"
    return sorted(w.call("match", pattern))


def do_aug_transform(ctx, lens, file, remove=False):
    _handle(ctx).call("transform", lens, file, bool(remove))

