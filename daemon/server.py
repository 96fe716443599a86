"""guestkitd's session loop: read calls, dispatch them to handlers, stream files, reply.

Handlers are plain functions named ``do_<action>`` in the action modules listed in
HANDLER_MODULES; the action table says which actions exist and what their arguments are.
"""

import errno as _errno
import io
import os
import select
import sys
import time

from . import protocol as P
from .guestpath import locate, open_dir, resolve, resolve_lstat
from .guestpath import lstat as guest_lstat
from .util import DaemonError
from ..actions import DAEMON_ACTIONS

HANDLER_MODULES = ("system", "devices", "filesystems", "partitions", "mounts", "files",
                   "transfer", "commands", "lvm", "md", "luks", "fstools", "content", "meta",
                   "archive", "rsync", "inspection", "hivex", "restore", "hotplug",
                   "devmount", "fileops", "extfs", "bootloader",
                   "augeas", "inotify", "journal", "selinux", "yara", "debugging")
HANDLER_MODULES += ("btrfs", "ldm", "ntfs", "rescue")


class Cancelled(Exception):
    pass


# "in" or "out" for actions with a FileIn/FileOut argument
STREAM_KIND = {n: a.streams[0].stream for n, a in DAEMON_ACTIONS.items() if a.streams}
# actions after which the guest root may have been mounted or unmounted
MOUNT_CHANGERS = {"mount", "mount_ro", "mount_options", "mount_vfs", "umount", "umount_all",
                  "command", "command_lines", "sh", "sh_lines", "internal_autosync",
                  "command_out", "sh_out", "mount_loop", "remount"}


def load_handlers():
    """Map every daemon action of the table to its handler function."""
    import importlib
    handlers = {}
    for modname in HANDLER_MODULES:
        mod = importlib.import_module("." + modname, __package__)
        for name in dir(mod):
            if name.startswith("do_"):
                handlers[name[3:]] = getattr(mod, name)
    return handlers


class Context:
    """What a handler sees of the session: the guest root, streams, progress."""

    __slots__ = ("server", "serial", "action", "sysroot", "stream", "_in_done", "_stop_sent",
                 "_last_progress")

    def __init__(self, server, serial, action, stream=False):
        self.server = server
        self.serial = serial
        self.action = action
        self.sysroot = server.sysroot
        # STREAM: "in", "out" or None if the caller knows; False: looked up here
        self.stream = STREAM_KIND.get(action.name) if stream is False else stream
        self._in_done = False
        self._stop_sent = False
        self._last_progress = 0.0

    # -- paths --
    def resolve(self, path, follow=True):
        return resolve(self.sysroot, path, follow)

    def resolve_lstat(self, path, follow=True):
        """(appliance path, its lstat or None): one system call fewer than resolve + lstat."""
        return resolve_lstat(self.sysroot, path, follow)

    def lstat(self, path, follow=True):
        """The lstat of guest PATH resolved (following a final symlink unless FOLLOW is
        false), at any depth; ENOENT naming PATH if there is nothing there."""
        st = guest_lstat(self.sysroot, path, follow)
        if st is None:
            raise FileNotFoundError(_errno.ENOENT, os.strerror(_errno.ENOENT), path)
        return st

    def stat_or_none(self, path, follow=True):
        """lstat() of guest PATH, or None if there is nothing there."""
        return guest_lstat(self.sysroot, path, follow)

    def open_dir(self, path):
        """A descriptor of the guest directory PATH (any depth; the caller closes it)."""
        return open_dir(self.sysroot, path)

    def locate(self, path, follow=True):
        """(dirfd, name, lstat or None) of guest PATH: see guestpath.locate."""
        return locate(self.sysroot, path, follow)

    def existing(self, path, follow=True):
        """resolve(PATH, FOLLOW) of something that exists; ENOENT naming PATH if not."""
        return self._found(path, follow)[0]

    def _found(self, path, follow):
        apath, st = resolve_lstat(self.sysroot, path, follow)
        if st is None:
            raise FileNotFoundError(_errno.ENOENT, os.strerror(_errno.ENOENT), path)
        return apath, st

    def need_root(self):
        st = self.server.state
        if not st.get("root_mounted"):
            if st.get("mkmountpoints"):
                return      # mkmountpoint: the guest tree is made of mountpoints under /
            if not os.path.ismount(self.sysroot):
                raise DaemonError("no filesystem is mounted on /; call mount first", "EINVAL")
            st["root_mounted"] = True

    def mounts_changed(self):
        """Call after anything that may mount or unmount filesystems."""
        self.server.state["root_mounted"] = False

    # -- progress --
    def progress(self, pos, total, force=False):
        now = time.monotonic()
        if force or now - self._last_progress >= 0.1:
            self._last_progress = now
            self.server.send_json(P.PROGRESS, {"s": self.serial, "pos": pos, "total": total})

    # -- FileIn --
    def instream(self):
        """Yield the chunks the library sends; raises Cancelled if it gives up."""
        while not self._in_done:
            ftype, payload = self.server.reader.read_frame()
            if ftype == P.CANCEL:
                self._in_done = True
                raise Cancelled()
            if ftype != P.CHUNK:
                raise P.ProtocolError("expected a CHUNK frame, got %s" % P.TYPE_NAMES[ftype])
            if not payload:
                self._in_done = True
                return
            yield payload

    def stop_sender(self):
        """Ask the library to stop a FileIn stream whose data has nowhere to go (once)."""
        if self.stream == "in" and not self._in_done and not self._stop_sent:
            self._stop_sent = True
            try:
                self.server.send(P.CANCEL, b"")
            except OSError:
                pass

    def drain_in(self):
        if self.stream == "in":
            try:
                for _ in self.instream():
                    pass
            except Cancelled:
                pass

    # -- FileOut --
    def write(self, data):
        """Send DATA (at most CHUNK_SIZE bytes; bytes or a memoryview) as part of the FileOut
        stream."""
        for off in range(0, len(data), P.CHUNK_SIZE):
            self.server.send(P.CHUNK, data[off:off + P.CHUNK_SIZE])
        self.check_cancel()

    def check_cancel(self):
        """Raise Cancelled if the library sent CANCEL meanwhile."""
        if self.server.input_pending():
            ftype, _ = self.server.reader.read_frame()
            if ftype == P.CANCEL:
                raise Cancelled()
            raise P.ProtocolError("unexpected %s frame during a download" %
                                  P.TYPE_NAMES.get(ftype, ftype))

    def end_out(self, ok):
        self.server.send(P.CHUNK if ok else P.CANCEL, b"")


class Server:
    def __init__(self, rfd, wfd, sysroot="/sysroot", verbose=False, handlers=None):
        self.rfd = rfd
        self.wfd = wfd
        self.sysroot = sysroot
        self.verbose = verbose
        if os.get_blocking(rfd):
            # read(2) straight from C: no Python function between the reader and the kernel
            readinto = io.FileIO(rfd, "rb", closefd=False).readinto
        else:
            readinto = lambda view: os.readv(self.rfd, [view])      # noqa: E731
        self.reader = P.FrameReader(readinto)
        self.handlers = handlers if handlers is not None else load_handlers()
        # action name -> (action, handler) for every action of the table served here: one
        # lookup per call
        self.dispatch = {n: (a, self.handlers[n], STREAM_KIND.get(n))
                         for n, a in DAEMON_ACTIONS.items() if n in self.handlers}
        self.state = {"umask": 0o022, "labels": {}}
        os.umask(0o022)

    # -- output --
    def send(self, ftype, payload=b""):
        if len(payload) <= P.SMALL_FRAME:
            # one write of one joined buffer: every reply, progress and error frame
            data = _header(len(payload) + 1, ftype) + payload
            n = os.write(self.wfd, data)
            if n < len(data):
                _write_all(self.wfd, memoryview(data)[n:])
            return
        P.write_frame(lambda bufs: os.writev(self.wfd, bufs), ftype, payload)

    def send_json(self, ftype, obj):
        self.send(ftype, P.dumps(obj))

    def input_pending(self):
        if self.reader.buffered():
            return True
        r, _, _ = select.select([self.rfd], [], [], 0)
        return bool(r)

    def log(self, text):
        if self.verbose:
            self.send(P.LOG, text.encode("utf-8", "replace"))

    # -- loop --
    def hello(self, extra=None):
        info = {"magic": P.MAGIC, "version": P.VERSION, "pid": os.getpid(),
                "python": sys.version.split()[0]}
        info.update(extra or {})
        self.send_json(P.HELLO, info)

    def serve(self):
        """Serve calls until the library closes the stream."""
        read_frame, loads, handle_call = self.reader.read_frame, P.loads, self.handle_call
        while True:
            try:
                ftype, payload = read_frame()
            except P.PeerClosed:
                return
            if ftype != P.CALL:
                if ftype in (P.CANCEL, P.CHUNK, P.TTY):
                    # a late cancel after a finished stream, keys after a failed rescue
                    continue
                raise P.ProtocolError("expected a CALL frame, got %s" % P.TYPE_NAMES[ftype])
            handle_call(loads(payload))
            if self.state.get("exit"):
                return

    def handle_call(self, call):
        if not isinstance(call, dict):
            raise P.ProtocolError("CALL frame does not hold an object")
        serial = call.get("s")
        name = call.get("n")
        ctx = None
        try:
            entry = self.dispatch.get(name) if type(name) is str else None
            if entry is None:
                action, handler = self._other(name)
                stream = False
            else:
                action, handler, stream = entry
            args = call.get("a", [])
            optargs = call.get("o", {})
            if not isinstance(args, list) or not isinstance(optargs, dict):
                raise DaemonError("%s: malformed arguments" % name, "EINVAL")
            ctx = Context(self, serial, action, stream)
            if entry is not None:
                # the daemon checks arguments too: a remote client is not trusted either
                try:
                    if stream:
                        args = _fill_streams(action, args)
                    args, optargs = action.check_args(args, optargs)
                except (TypeError, ValueError) as e:
                    raise DaemonError(str(e), "EINVAL") from None
                if stream:
                    # FileIn/FileOut arguments are host names: the daemon does not see them
                    args = [a for k, a in zip(action.args, args) if not k.stream]
            try:
                result = handler(ctx, *args, **optargs) if optargs else handler(ctx, *args)
            finally:
                if name in MOUNT_CHANGERS:
                    ctx.mounts_changed()
            if ctx.stream == "out":
                ctx.end_out(True)
            reply = P.dumps_reply(serial, result)
            if len(reply) >= P.MAX_JSON:
                raise DaemonError("the result is larger than %d bytes; use an action that "
                                  "streams to a file instead" % P.MAX_JSON, "EFBIG")
            self.send(P.REPLY, reply)
        except P.ProtocolError:
            raise
        except BaseException as e:  # noqa: B902 - every failure becomes an ERROR frame
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            if ctx is not None:
                if ctx.stream == "in":
                    ctx.stop_sender()       # a failed upload: stop sending, then drain
                    ctx.drain_in()
                elif ctx.stream == "out":
                    ctx.end_out(False)
            if not isinstance(name, str):
                name = repr(name)[:100]     # a malformed call is answered, not fatal
            ename, msg = _describe(e, name, self.sysroot)
            if self.verbose and ename == "EIO" and not isinstance(e, DaemonError):
                import traceback
                self.log(traceback.format_exc())
            self.send_json(P.ERROR, {"s": serial, "errno": ename, "msg": msg})

    def _other(self, name):
        """(action, handler) of NAME, which is not a table action served here: an internal
        call from the library (not in the table, arguments unchecked), or ENOTSUP."""
        if isinstance(name, str) and name.startswith("internal_") and \
                name not in DAEMON_ACTIONS:
            handler = self.handlers.get(name)
            if handler is not None:
                from ..actions.table import Action
                return Action(name), handler
        raise DaemonError("%s: no such action in this daemon" % name, "ENOTSUP")


_header = P.FRAME_HEADER.pack


def _write_all(fd, view):
    while view:
        view = view[os.write(fd, view):]


def _fill_streams(action, args):
    """The library sends None in place of FileIn/FileOut names; keep the checker happy."""
    out = list(args)
    for i, k in enumerate(action.args):
        if k.stream and i < len(out) and out[i] is None:
            out[i] = "-"
    return out


def _describe(e, name, sysroot="/sysroot"):
    if isinstance(e, Cancelled):
        return "EINTR", "%s: operation cancelled by the user" % name
    if isinstance(e, DaemonError):
        msg = str(e)
        return e.errno_name, msg if msg.startswith(name + ":") else "%s: %s" % (name, msg)
    if isinstance(e, OSError) and e.errno:
        ename = _errno.errorcode.get(e.errno, "EIO")
        where = ""
        if e.filename is not None:
            where = _shown(e.filename, sysroot)
            if e.filename2 is not None:
                where += " -> " + _shown(e.filename2, sysroot)
            where += ": "
        return ename, "%s: %s%s" % (name, where, e.strerror or os.strerror(e.errno))
    if isinstance(e, (ValueError, TypeError)):
        return "EINVAL", "%s: %s" % (name, e)
    return "EIO", "%s: internal error: %s: %s" % (name, type(e).__name__, e)


def _shown(filename, sysroot):
    """A file name of an OSError as the message shows it: text (bytes decoded as file names
    are, never b'...'), the guest's path rather than the appliance's."""
    if isinstance(filename, bytes):
        fn = os.fsdecode(filename)
    elif isinstance(filename, int):
        fn = "descriptor %d" % filename
    else:
        fn = str(filename)
    if fn == sysroot or fn.startswith(sysroot + "/"):
        fn = fn[len(sysroot):] or "/"           # say the guest's path, not ours
    return fn
