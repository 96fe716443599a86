"""A helper process for C libraries that open guest files by name (libaugeas, sd-journal).

Such a library resolves names with the kernel, so a guest symlink such as /etc/hosts ->
/etc/passwd would lead it to the appliance's own files.  The worker is a child of the daemon
that keeps the library's handle; for the calls that touch files it chroots into the guest
root first and leaves the chroot again afterwards (through a descriptor of the real root
kept open), so a guest path, and every symlink met on the way, is resolved inside the guest,
and no mount stays pinned between calls (umount still works).  A crash of the library on
hostile data kills the worker, not the daemon.

The daemon and the worker talk over a socketpair in length-prefixed JSON frames; a reply
larger than MAX_REPLY ends the worker.  Standard library only.
"""

import ctypes
import errno as _errno
import json
import os
import signal
import socket
import struct

from .util import DaemonError

MAX_REPLY = 48 << 20
MAX_REQUEST = 4 << 20
_PR_SET_PDEATHSIG = 1
_HDR = struct.Struct(">I")


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _send(sock, obj):
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8", "surrogateescape")
    sock.sendall(_HDR.pack(len(data)) + data)


def _recv(sock, limit):
    hdr = _recv_exact(sock, 4)
    if hdr is None:
        return None
    n, = _HDR.unpack(hdr)
    if n > limit:
        raise DaemonError("the worker's message of %d bytes is larger than %d" % (n, limit),
                          "EFBIG")
    data = _recv_exact(sock, n)
    if data is None:
        return None
    return json.loads(data.decode("utf-8", "surrogateescape"))


class Worker:
    """A child process holding an object made by FACTORY (called in the child); call()
    runs its method op_NAME there, inside the guest root SYSROOT when chroot is true."""

    def __init__(self, sysroot, factory, what):
        self.what = what
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:                                        # the worker
            code = 0
            try:
                a.close()
                _serve(b, sysroot, factory)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        b.close()
        self.sock, self.pid = a, pid

    def call(self, method, *args, chroot=False):
        if self.sock is None:
            raise DaemonError("%s: the helper process is gone" % self.what, "EINVAL")
        try:
            _send(self.sock, [method, list(args), bool(chroot)])
            reply = _recv(self.sock, MAX_REPLY)
        except (OSError, ValueError, DaemonError) as e:
            self.close()
            raise DaemonError("%s: the helper process failed (%s); open it again"
                              % (self.what, e), "EIO") from None
        if not isinstance(reply, dict):
            status = self.close()
            raise DaemonError("%s: the helper process died (%s) while reading guest data; "
                              "open it again" % (self.what, status), "EIO")
        if "e" in reply:
            msg, ename = reply["e"]
            raise DaemonError(str(msg), str(ename))
        return reply.get("r")

    def __del__(self):
        # a session that ends with the handle still open (a remote session closed) frees
        # its worker when the session state goes; in the appliance PDEATHSIG does it too
        try:
            self.close()
        except Exception:
            pass

    def close(self):
        """End the worker; returns how it ended (for messages)."""
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        status = "ended"
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                _, st = os.waitpid(self.pid, 0)
                if os.WIFSIGNALED(st) and os.WTERMSIG(st) != signal.SIGKILL:
                    status = "killed by signal %d" % os.WTERMSIG(st)
            except ChildProcessError:
                pass
            self.pid = 0
        return status



# ---- the session's helpers: one a kind, kept in the session state under its kind ----------

def session_worker(ctx, kind, missing):
    """The session's helper process of KIND; DaemonError EINVAL with the message MISSING if
    it has none."""
    w = ctx.server.state.get(kind)
    if w is None:
        raise DaemonError(missing, "EINVAL")
    return w


def drop_session_worker(ctx, kind):
    """End the session's helper process of KIND, if it has one."""
    w = ctx.server.state.pop(kind, None)
    if w is not None:
        w.close()


def start_session_worker(ctx, kind, factory, start):
    """Replace the session's helper process of KIND (the old one ends) by a new one holding
    FACTORY(); START(worker) makes its first calls, and if it fails the new one ends too."""
    drop_session_worker(ctx, kind)
    w = Worker(ctx.sysroot, factory, kind)
    try:
        start(w)
    except BaseException:
        w.close()
        raise
    ctx.server.state[kind] = w

def _serve(sock, sysroot, factory):
    # nothing of the daemon's (its channel to the library, open guest files) stays open here
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    realroot = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    obj = factory()
    while True:
        req = _recv(sock, MAX_REQUEST)
        if req is None:
            return
        method, args, chroot = req
        entered = False
        try:
            fn = getattr(obj, "op_" + method)
            try:
                if chroot:
                    os.chroot(sysroot)
                    entered = True
                    os.chdir("/")
                r = fn(*args)
            finally:
                if entered:
                    os.fchdir(realroot)
                    os.chroot(".")
                    os.chdir("/")
            reply = {"r": r}
        except DaemonError as e:
            reply = {"e": [str(e), e.errno_name]}
        except OSError as e:
            reply = {"e": [str(e), _errno.errorcode.get(e.errno or 0, "EIO")]}
        except (TypeError, ValueError, UnicodeError) as e:
            reply = {"e": ["%s: %s" % (method, e), "EINVAL"]}
        _send(sock, reply)
