"""Handlers for setfiles / selinux_relabel (the appliance's setfiles on guest files) and the
deprecated getcon / setcon.

The guest's file-contexts file (and its .local, .homedirs, .subs, .subs_dist companions) is
copied out of the guest first, each opened safely (resolved in the guest root, regular files
only, bounded), so setfiles reads nothing of the appliance through a guest symlink; setfiles
then runs with -r on the guest root, told not to skip filesystems without seclabel (-m),
since the appliance kernel runs without SELinux.
"""

import os
import shutil
import tempfile

from .util import DaemonError, open_nonblocking, run

MAX_SPEC = 64 << 20
_COMPANIONS = ("", ".local", ".homedirs", ".subs", ".subs_dist")
_EXCLUDE = ("/dev", "/proc", "/selinux", "/sys")


def _available(group):
    from .system import group_available
    if not group_available(group):
        raise DaemonError("the %s feature is not available in this appliance" % group,
                          "ENOTSUP")


def _copy_spec(ctx, specfile, dest):
    """Copy guest file SPECFILE (and its companions) into DEST; the copy of SPECFILE."""
    for suffix in _COMPANIONS:
        guest = specfile + suffix
        if suffix:
            apath, st = ctx.resolve_lstat(guest)
            if st is None:
                continue
        else:
            apath = ctx.existing(guest)
        fd, st = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            if st.st_size > MAX_SPEC:
                raise DaemonError("%s: %d bytes is larger than %d" % (guest, st.st_size,
                                                                     MAX_SPEC), "EFBIG")
            with os.fdopen(os.dup(fd), "rb") as src, \
                    open(os.path.join(dest, "file_contexts" + suffix), "wb") as out:
                data = src.read(MAX_SPEC + 1)
                if len(data) > MAX_SPEC:
                    raise DaemonError("%s: larger than %d bytes" % (guest, MAX_SPEC), "EFBIG")
                out.write(data)
        finally:
            os.close(fd)
    return os.path.join(dest, "file_contexts")


def _relabel(ctx, specfile, paths, force):
    _available("selinuxrelabel")
    ctx.need_root()
    if not specfile.startswith("/"):
        raise DaemonError("%s: the spec file must be an absolute path in the guest"
                          % specfile, "EINVAL")
    if not paths:
        raise DaemonError("no path to relabel", "EINVAL")
    targets = [ctx.existing(p, follow=False) for p in paths]
    tmp = tempfile.mkdtemp(prefix="guestkit-setfiles-")
    try:
        spec = _copy_spec(ctx, specfile, tmp)
        argv = ["setfiles", "-m", "-r", ctx.sysroot]
        if force:
            argv.append("-F")
        for d in _EXCLUDE:
            apath, st = ctx.resolve_lstat(d, follow=False)
            if st is not None and os.path.isdir(apath) and not os.path.islink(apath):
                argv += ["-e", apath]
        argv += [spec] + targets
        _, err, rc = run(argv, check=False)
        if rc != 0:
            raise DaemonError("setfiles: %s" % (err.strip().replace(tmp + "/", "")[-4000:]
                                               or "exit status %d" % rc), "EIO")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def do_setfiles(ctx, specfile, paths, force=False):
    _relabel(ctx, specfile, paths, force)


def do_selinux_relabel(ctx, specfile, path, force=False):
    _relabel(ctx, specfile, [path], force)


def do_getcon(ctx):
    _available("selinux")
    with open("/proc/self/attr/current", "rb") as f:
        return f.read(4096).rstrip(b"\0\n").decode("utf-8", "replace")


def do_setcon(ctx, context):
    _available("selinux")
    try:
        with open("/proc/self/attr/current", "wb") as f:
            f.write(context.encode("utf-8"))
    except OSError as e:
        raise DaemonError("setcon: %s: %s" % (context, os.strerror(e.errno)),
                          "EINVAL" if e.errno == 22 else "EIO") from None
