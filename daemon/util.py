"""Helpers shared by the daemon's action modules (standard library only)."""

import errno
import os
import re
import stat
import subprocess

# tools live here in the appliance; on a host the usual PATH applies too
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class DaemonError(Exception):
    """An action failed; carries the errno name sent to the library."""

    def __init__(self, message, errno_name="EIO"):
        super().__init__(message)
        self.errno_name = errno_name


def fail(message, errno_name="EINVAL"):
    raise DaemonError(message, errno_name)


def run(argv, *, input=None, check=True, env=None, cwd=None, timeout=None,
        preexec_fn=None):
    """Run a tool; returns (stdout str, stderr str, returncode).

    A failure raises DaemonError quoting the tool's stderr.
    """
    e = {"PATH": PATH, "LC_ALL": "C", "LANG": "C"}
    if env:
        e.update(env)
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           env=e, cwd=cwd, timeout=timeout, preexec_fn=preexec_fn)
    except FileNotFoundError:
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None
    out = p.stdout.decode("utf-8", "surrogateescape") if isinstance(p.stdout, bytes) \
        else p.stdout
    err = p.stderr.decode("utf-8", "surrogateescape") if isinstance(p.stderr, bytes) \
        else p.stderr
    if check and p.returncode != 0:
        msg = (err.strip() or out.strip() or "exit status %d" % p.returncode)
        raise DaemonError("%s: %s" % (os.path.basename(argv[0]), msg),
                          _guess_errno(err))
    return out, err, p.returncode


def _guess_errno(text):
    t = text.lower()
    for needle, name in (("no such file", "ENOENT"), ("not found", "ENOENT"),
                         ("permission denied", "EACCES"), ("read-only", "EROFS"),
                         ("no space left", "ENOSPC"), ("device or resource busy", "EBUSY"),
                         ("target is busy", "EBUSY"),
                         ("is a directory", "EISDIR"), ("not a directory", "ENOTDIR"),
                         ("file exists", "EEXIST"), ("invalid argument", "EINVAL")):
        if needle in t:
            return name
    return "EIO"


_DEV_RE = re.compile(r"^/dev/(?:[hv]|xv)d([a-z]+[0-9]*)$")


def device(name):
    """Check and normalise a device name; /dev/vda and /dev/hda mean /dev/sda."""
    m = _DEV_RE.match(name)
    if m:
        name = "/dev/sd" + m.group(1)
    norm = os.path.normpath(name)
    if not norm.startswith("/dev/") or norm != name.rstrip("/"):
        fail("%s: not a device name" % name)
    try:
        st = os.stat(norm)
    except FileNotFoundError:
        fail("%s: No such file or directory" % name, "ENOENT")
    if not stat.S_ISBLK(st.st_mode):
        fail("%s: not a block device" % name)
    return norm


def open_nonblocking(apath, flags, regular_only=True, allow_block=False):
    """Open without ever blocking on a fifo or device; refuse what is not a regular file."""
    fd = os.open(apath, flags | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, 0o666)
    try:
        st = os.fstat(fd)
        ok = stat.S_ISREG(st.st_mode) or (allow_block and stat.S_ISBLK(st.st_mode))
        if regular_only and not ok:
            if stat.S_ISDIR(st.st_mode):
                raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
            raise DaemonError("not a regular file", "EINVAL")
        # back to blocking mode for regular files / block devices
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st
