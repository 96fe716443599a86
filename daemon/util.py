"""Helpers shared by the daemon's action modules (standard library only)."""

import errno
import os
import re
import stat
import subprocess

# tools live here in the appliance; on a host the usual PATH applies too
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# the environment every tool runs with
ENV = {"PATH": PATH, "LC_ALL": "C", "LANG": "C"}


class DaemonError(Exception):
    """An action failed; carries the errno name sent to the library."""

    def __init__(self, message, errno_name="EIO"):
        super().__init__(message)
        self.errno_name = errno_name


def fail(message, errno_name="EINVAL"):
    raise DaemonError(message, errno_name)


def run(argv, *, input=None, check=True, env=None, cwd=None, timeout=None,
        preexec_fn=None, limit=None, pass_fds=()):
    """Run a tool; returns (stdout str, stderr str, returncode).

    A failure raises DaemonError quoting the tool's stderr.  LIMIT (bytes) bounds the
    stdout of a program whose output is not trusted (a guest's): beyond it, EFBIG.
    PASS_FDS stay open in the tool (a directory it starts in: cwd="/proc/self/fd/N").
    """
    e = dict(ENV)
    if env:
        e.update(env)
    try:
        if limit is not None:
            p = _run_bounded(argv, limit, env=e, cwd=cwd, preexec_fn=preexec_fn,
                             pass_fds=pass_fds)
        else:
            p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               env=e, cwd=cwd, timeout=timeout, preexec_fn=preexec_fn,
                               pass_fds=pass_fds)
    except FileNotFoundError:
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None
    out = p.stdout.decode("utf-8", "surrogateescape") if isinstance(p.stdout, bytes) \
        else p.stdout
    err = p.stderr.decode("utf-8", "surrogateescape") if isinstance(p.stderr, bytes) \
        else p.stderr
    if check and p.returncode != 0:
        raise tool_error(argv, err.strip() or out, p.returncode)
    return out, err, p.returncode


MAX_STDERR_KEPT = 64 * 1024


def _run_bounded(argv, limit, **kw):
    """subprocess.run for a program whose output is not trusted: stdout is refused (the
    program killed, EFBIG) beyond LIMIT bytes; of stderr the last MAX_STDERR_KEPT bytes
    are kept."""
    import selectors
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, **kw)
    out, err, size = [], b"", 0
    with selectors.DefaultSelector() as sel:
        sel.register(p.stdout, selectors.EVENT_READ, "out")
        sel.register(p.stderr, selectors.EVENT_READ, "err")
        open_streams = 2
        while open_streams:
            for key, _ in sel.select():
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                elif key.data == "err":
                    err = (err + data)[-MAX_STDERR_KEPT:]
                else:
                    size += len(data)
                    if size > limit:
                        p.kill()
                        p.stdout.close()
                        p.stderr.close()
                        p.wait()
                        raise DaemonError("%s: its output is larger than %d bytes (the "
                                          "most a call returns)" % (argv[0], limit), "EFBIG")
                    out.append(data)
    p.stdout.close()
    p.stderr.close()
    p.wait()
    return subprocess.CompletedProcess(argv, p.returncode, b"".join(out), err)


# what a tool's message says -> the errno name to report; the first match wins, so the more
# specific needles come first
_ERRNO_NEEDLES = (
    ("no space left", "ENOSPC"), ("wrote only", "ENOSPC"), ("disk quota", "EDQUOT"),
    ("read-only", "EROFS"), ("read only", "EROFS"), ("file name too long", "ENAMETOOLONG"),
    ("no such file", "ENOENT"), ("permission denied", "EACCES"),
    ("not a directory", "ENOTDIR"), ("is a directory", "EISDIR"),
    ("file too large", "EFBIG"), ("out of allowed range", "EFBIG"),
    ("file exists", "EEXIST"), ("device or resource busy", "EBUSY"),
    ("target is busy", "EBUSY"), ("connection refused", "ECONNREFUSED"),
    ("no route to host", "EHOSTUNREACH"), ("network is unreachable", "ENETUNREACH"),
    ("connection timed out", "ETIMEDOUT"), ("not supported", "ENOTSUP"),
    ("not in gzip format", "EINVAL"), ("not an xz", "EINVAL"),
    ("does not look like a tar", "EINVAL"), ("unexpected eof", "EINVAL"),
    ("address too large", "EINVAL"), ("cannot determine file system type", "EINVAL"),
    ("unknown module", "ENOENT"), ("not found", "ENOENT"), ("invalid", "EINVAL"))


def guess_errno(text):
    """The errno name a tool's error message TEXT stands for (EIO when it says nothing
    recognisable)."""
    t = text.lower()
    for needle, name in _ERRNO_NEEDLES:
        if needle in t:
            return name
    return "EIO"


def tool_error(argv, err, code):
    """The DaemonError for tool ARGV that failed with exit status CODE and stderr ERR (str
    or bytes); the tool's own "name: " prefix is not repeated."""
    if not isinstance(err, str):
        err = bytes(err).decode("utf-8", "replace")
    text = err.strip()
    tool = os.path.basename(argv[0])
    if text.startswith(tool + ": "):
        text = text[len(tool) + 2:]
    return DaemonError("%s: %s" % (tool, text or "exit status %d" % code), guess_errno(text))


def run_tool(argv, stdin, on_out, ok=(0,), on_tick=None, tick=0.2):
    """Run ARGV with STDIN (a file descriptor, or None for nothing) and pass every piece of
    its standard output to ON_OUT as it comes; returns the exit status.  Standard error is
    kept (its first 64 KiB) for the error message.  ON_TICK, if given, is called at least
    every TICK seconds while the tool runs.  If ON_OUT or ON_TICK raises (output too large,
    cancelled by the user) the tool is stopped (SIGTERM, then SIGKILL after 5 s)."""
    import selectors
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL if stdin is None else stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                             close_fds=True)
    except FileNotFoundError:
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None
    err = bytearray()
    sel = selectors.DefaultSelector()
    try:
        sel.register(p.stdout, selectors.EVENT_READ, True)
        sel.register(p.stderr, selectors.EVENT_READ, False)
        live = 2
        while live:
            for key, _ in sel.select(None if on_tick is None else tick):
                b = os.read(key.fileobj.fileno(), 1 << 16)
                if not b:
                    sel.unregister(key.fileobj)
                    live -= 1
                elif key.data:
                    on_out(b)
                elif len(err) < 65536:
                    err += b
            if on_tick is not None:
                on_tick()
        rc = p.wait()
    except BaseException:
        # SIGTERM first: tools like rsync then remove their temporary files
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        raise
    finally:
        sel.close()
        p.stdout.close()
        p.stderr.close()
    if rc not in ok:
        raise tool_error(argv, err, rc)
    return rc


def pwrite_all(fd, data, offset):
    """Write all of DATA at OFFSET of FD (pwrite may write less); returns the end offset."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n
    return offset


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


def open_nonblocking(apath, flags, regular_only=True, allow_block=False, dir_fd=None):
    """Open without ever blocking on a fifo or device; refuse what is not a regular file.
    With DIR_FD, APATH is a name in that directory."""
    fd = os.open(apath, flags | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, 0o666,
                 dir_fd=dir_fd)
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
