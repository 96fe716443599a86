"""The library's side of the protocol: send calls, stream files, read replies.

The daemon is untrusted: every frame goes through the bounded reader of
guestkit.daemon.protocol, replies must match the call's serial, and a broken or closed
stream ends the session with an Error instead of a hang.
"""

import contextlib
import os
import re
import select
import socket
import stat
import tempfile
import threading

from .daemon import protocol as P
from . import replies
from .errors import Error


class SessionLost(Error):
    """The appliance went away or broke the protocol; the handle cannot be used further."""

    def __init__(self, message, errno_name="EIO"):
        super().__init__(message, errno_name)


class HostOutput:
    """Where a download goes.  A regular host file is written through a temporary file
    beside it, renamed over it only when the call succeeded: a failed or cancelled download
    leaves the destination as it was.  /dev/stdout, /dev/stderr, /dev/fd/N, devices and
    fifos are written directly."""

    def __init__(self, filename):
        self.filename, self.temp = filename, None
        m = re.match(r"^/dev/fd/(\d+)$", filename)
        if m:
            self.fd = os.dup(int(m.group(1)))
        elif filename in ("/dev/stdout", "-"):
            self.fd = os.dup(1)
        elif filename == "/dev/stderr":
            self.fd = os.dup(2)
        else:
            try:
                st = os.stat(filename)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):
                self.fd = os.open(filename, os.O_WRONLY | os.O_CLOEXEC)
                return
            # a symlink to a file: the file it names is replaced, as O_TRUNC would write it
            target = os.path.realpath(filename)
            try:
                self.fd, self.temp = tempfile.mkstemp(
                    prefix=".%s." % os.path.basename(target)[:64], suffix=".part",
                    dir=os.path.dirname(target))
            except PermissionError:
                if st is None:
                    raise
                # a file we may write in a directory we may not: written in place
                self.fd = os.open(filename, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
                return
            umask = os.umask(0)
            os.umask(umask)
            # the mode the destination has, or a new file's (0666 less the umask)
            os.fchmod(self.fd, stat.S_IMODE(st.st_mode) if st else 0o666 & ~umask)
            self.target = target

    def commit(self):
        if self.temp is not None:
            os.rename(self.temp, self.target)
            self.temp = None

    def abort(self):
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except OSError:
                pass
            self.temp = None


def open_host_input(filename):
    m = re.match(r"^/dev/fd/(\d+)$", filename)
    if m:
        return os.dup(int(m.group(1)))
    if filename in ("/dev/stdin", "-"):
        return os.dup(0)
    return os.open(filename, os.O_RDONLY | os.O_CLOEXEC)


class Client:
    def __init__(self, sock, on_progress=None, on_log=None):
        self.sock = sock
        self.sock.settimeout(None)
        self.reader = P.FrameReader(self._recv)
        self.serial = 0
        self.on_progress = on_progress
        self.on_log = on_log
        self.cancel_requested = threading.Event()
        self.lost = None
        self._ret = None
        self.hello = None
        self._lock = threading.Lock()
        self._upload_size = None       # size of the host file being uploaded, if known
        self._last_progress = None     # (pos, total) of the last progress event of a call
        self._pending = None           # a reply frame that arrived while still uploading
        self._cancel_sent = None       # serial of the call a CANCEL was sent for

    def _log(self, payload):
        if self.on_log:
            self.on_log(bytes(payload[:65536]))

    def _recv(self, view):
        try:
            return self.sock.recv_into(view)
        except OSError as e:
            raise P.PeerClosed("connection to the appliance failed: %s" % e) from None

    def _send(self, ftype, payload=b""):
        try:
            P.send_frame(self.sock, ftype, payload)
        except OSError as e:
            raise P.PeerClosed("cannot send to the appliance: %s" % e) from None

    def readable(self, timeout):
        """True once the other side has sent something or closed the stream (waits up to
        TIMEOUT seconds); nothing is read."""
        pending = getattr(self.sock, "pending", None)       # TLS: already decrypted
        if pending is not None and pending():
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def read_hello(self, timeout=None):
        self.sock.settimeout(timeout)
        try:
            ftype, obj = self.reader.read_json(expect=(P.HELLO, P.ERROR))
            if ftype == P.ERROR:
                # a listening server refusing us: busy, or authentication failed
                raise SessionLost("the server refused the connection: %s"
                                  % str(obj.get("msg"))[:500])
        except socket.timeout:
            raise SessionLost("the daemon did not greet within %s s" % timeout) from None
        except P.ProtocolError as e:
            raise SessionLost("bad greeting from the daemon: %s" % e) from None
        finally:
            self.sock.settimeout(None)
        if obj.get("magic") != P.MAGIC or obj.get("version") != P.VERSION:
            raise SessionLost("the other side is not a guestkitd of protocol version %d: %s"
                              % (P.VERSION, repr(obj)[:200]))
        self.hello = obj
        return obj

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def call(self, name, args, optargs, upload=None, download=None, ret=None):
        """Run action NAME in the daemon.

        upload: a host file name whose content streams to the daemon (FileIn).
        download: a host file name the daemon's stream is written to (FileOut).
        ret: the action's declared return type (guestkit/replies.py checks the reply
        against it); internal calls, whose callers check what they get, pass None.
        """
        if self.lost:
            raise SessionLost("the appliance is gone: %s" % self.lost)
        # host files are opened first, so a bad host name never reaches the daemon
        fd = out = None
        try:
            if upload is not None:
                fd = open_host_input(upload)
            elif download is not None:
                out = HostOutput(download)
                fd = out.fd
        except OSError as e:
            raise _HostFileError(upload if upload is not None else download, e) from None
        with self._lock, self._broken_session_ends(name):
            self._ret = ret                 # the reply this call expects (under the lock)
            serial = self._next_serial()
            self._last_progress = None
            self._upload_size = None
            self._pending = None
            try:
                frame = P.dumps_call(serial, name, args, optargs)
                if len(frame) + 1 > P.MAX_JSON:
                    # the daemon's frame reader would refuse it and end the session
                    raise Error("%s: the arguments are too large for one call (%d bytes, at "
                                "most %d); use upload for big files"
                                % (name, len(frame), P.MAX_JSON), "EFBIG")
                self._send(P.CALL, frame)
                if upload is not None:
                    self._upload_size = _regular_size(fd)
                    host_error = self._stream_up(fd, upload, serial)
                    try:
                        result = self._reply(serial, name, uploading=True)
                    except Error:
                        if host_error:      # the daemon only saw our cancel: say why
                            raise host_error from None
                        raise
                    if host_error:
                        raise host_error
                    self._final_progress(serial)
                    return result
                if download is not None:
                    result = self._stream_down(serial, fd, download, name)
                    out.commit()
                    return result
                return self._reply(serial, name)
            finally:
                self._upload_size = None
                self._pending = None
                if fd is not None:
                    os.close(fd)
                if out is not None:
                    out.abort()                 # nothing once committed

    def takeover(self, name, optargs, body):
        """Run the internal action NAME whose call takes the channel over until its reply
        (a rescue session): BODY(serial) speaks with the daemon through self.reader and
        self.sock, and returns the call's result.  A broken protocol or an interruption
        ends the session as for any call."""
        if self.lost:
            raise SessionLost("the appliance is gone: %s" % self.lost)
        with self._lock, self._broken_session_ends(name):
            self._ret = None                # the body checks the reply itself
            serial = self._next_serial()
            self._send(P.CALL, P.dumps_call(serial, name, [], optargs))
            return body(serial)

    def _next_serial(self):
        self.serial = (self.serial + 1) & 0x7FFFFFFF
        if self.cancel_requested.is_set():
            self.cancel_requested.clear()
        return self.serial

    @contextlib.contextmanager
    def _broken_session_ends(self, name):
        """A broken protocol, or an interruption in the middle of a call (^C), leaves the
        stream out of step: the session is lost."""
        try:
            yield
        except P.ProtocolError as e:
            self.lost = str(e)
            raise SessionLost("%s: %s" % (name, e)) from None
        except Error:
            raise
        except BaseException:
            self.lost = "a call was interrupted"
            raise

    # -- replies --
    def _reply(self, serial, name, uploading=False):
        while True:
            if self._pending is not None:
                (ftype, payload), self._pending = self._pending, None
            else:
                ftype, payload = self.reader.read_frame()
            if ftype == P.CANCEL and uploading:
                continue        # the daemon gave up the upload after we had sent it all
            if ftype in (P.CHUNK, P.CANCEL):
                raise P.ProtocolError("unexpected %s frame" % P.TYPE_NAMES[ftype])
            if ftype == P.LOG:          # text, not JSON
                self._log(payload)
                continue
            if ftype == P.REPLY and self._ret is not None:
                replies.check_size(name, self._ret, payload)
            elif ftype != P.REPLY:
                replies.check_size(name, None, payload)         # progress, error: flat
            obj = P.loads(payload)
            if not isinstance(obj, dict):
                raise P.ProtocolError("%s frame is not an object" % P.TYPE_NAMES[ftype])
            if ftype == P.PROGRESS:
                self._progress(obj, serial)
                if self.cancel_requested.is_set() and not uploading and \
                        self._cancel_sent != serial:
                    # a long call without a stream (zero_device, fill, ...): ask it to stop
                    self._cancel_sent = serial
                    self._send(P.CANCEL)
                continue
            if ftype == P.LOG:
                continue
            if obj.get("s") != serial:
                raise P.ProtocolError("reply for call %r while waiting for %d" % (
                    obj.get("s"), serial))
            if ftype == P.REPLY:
                if self._ret is not None:
                    return replies.check_shape(name, self._ret, obj.get("r"))
                return obj.get("r")
            if ftype == P.ERROR:
                ename = obj.get("errno")
                msg = obj.get("msg")
                if not isinstance(msg, str) or not (ename is None or isinstance(ename, str)):
                    raise P.ProtocolError("malformed ERROR frame")
                raise Error(msg, ename)
            raise P.ProtocolError("unexpected %s frame" % P.TYPE_NAMES[ftype])

    def _progress(self, obj, serial):
        """Pass a PROGRESS frame on as (pos, total) with 0 <= pos <= total."""
        pos, total = obj.get("pos"), obj.get("total")
        if not (isinstance(pos, int) and isinstance(total, int)) or pos < 0 or total < 0:
            return
        if obj.get("s") not in (None, serial):
            return
        if total == 0 and self._upload_size is not None:
            # an upload: the daemon cannot know its size, the host file's size is the total
            if self._upload_size > 0:
                pos, total = min(pos, self._upload_size), self._upload_size
            else:
                pos, total = 0, 1          # unknown length (a pipe): "pulse mode"
        elif total == 0:
            pos, total = 0, 1
        pos = min(pos, total)
        self._last_progress = (pos, total)
        if self.on_progress:
            self.on_progress(serial, pos, total)

    def _final_progress(self, serial):
        """If progress was reported during a call that succeeded, end it at 100%."""
        last = self._last_progress
        if last is not None and last[0] != last[1] and self.on_progress:
            self._last_progress = (last[1], last[1])
            self.on_progress(serial, last[1], last[1])

    # -- FileIn --
    def _stream_up(self, fd, filename, serial):
        """Send the file's content; returns a host-side Error (after cancelling) or None.

        Frames the daemon sends meanwhile are read between chunks: progress becomes events
        while the upload runs (so user_cancel from a progress callback works), and a CANCEL
        from the daemon (it cannot store the data) ends the stream early."""
        while True:
            if self._poll_while_uploading(serial):
                self._send(P.CANCEL)
                return None
            if self.cancel_requested.is_set():
                self._send(P.CANCEL)
                return None
            try:
                data = os.read(fd, P.CHUNK_SIZE)
            except OSError as e:
                self._send(P.CANCEL)
                return _HostFileError(filename, e)
            if not data:
                self._send(P.CHUNK, b"")
                return None
            self._send(P.CHUNK, data)

    def _poll_while_uploading(self, serial):
        """Handle the frames already waiting; True if the daemon wants the stream to stop."""
        while self.reader.buffered() or _readable(self.sock):
            ftype, payload = self.reader.read_frame()
            if ftype == P.CANCEL:
                return True
            if ftype == P.LOG:
                self._log(payload)
                continue
            if ftype == P.PROGRESS:
                obj = P.loads(payload)
                if isinstance(obj, dict):
                    self._progress(obj, serial)
                continue
            if ftype == P.LOG:
                continue
            if ftype in (P.REPLY, P.ERROR):
                self._pending = (ftype, payload)      # the call ended early: stop sending
                return True
            raise P.ProtocolError("unexpected %s frame during an upload" %
                                  P.TYPE_NAMES[ftype])
        return False

    # -- FileOut --
    def _stream_down(self, serial, fd, filename, name):
        host_error = None
        cancelled_sent = False
        if True:
            while True:
                if self.cancel_requested.is_set() and not cancelled_sent:
                    self._send(P.CANCEL)
                    cancelled_sent = True
                ftype, payload = self.reader.read_frame()
                if ftype == P.CHUNK:
                    if not payload:
                        break
                    # after a cancel the data still in flight is dropped, not written
                    if host_error is None and not cancelled_sent:
                        try:
                            view = memoryview(payload)
                            while view:
                                n = os.write(fd, view)
                                view = view[n:]
                        except OSError as e:
                            host_error = e
                            if not cancelled_sent:
                                self._send(P.CANCEL)
                                cancelled_sent = True
                    continue
                if ftype == P.CANCEL:
                    break
                if ftype == P.LOG:
                    self._log(payload)
                    continue
                obj = P.loads(payload)
                if ftype == P.PROGRESS and isinstance(obj, dict):
                    self._progress(obj, serial)
                    continue
                if ftype == P.LOG:
                    continue
                if ftype == P.ERROR and isinstance(obj, dict) and obj.get("s") == serial:
                    # failed before streaming started
                    raise Error(str(obj.get("msg")), obj.get("errno"))
                raise P.ProtocolError("unexpected %s frame in a download" %
                                      P.TYPE_NAMES[ftype])
        try:
            result = self._reply(serial, name)
        except Error:
            if host_error is not None:      # the daemon only saw our cancel: say why
                raise _HostFileError(filename, host_error) from None
            raise
        if host_error is not None:
            raise _HostFileError(filename, host_error)
        self._final_progress(serial)
        return result


def _regular_size(fd):
    try:
        st = os.fstat(fd)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def _readable(sock):
    try:
        r, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True         # let the read report the broken socket
    return bool(r)


def _HostFileError(filename, e):
    import errno as _errno
    return Error("%s: %s" % (filename, e.strerror or e),
                 _errno.errorcode.get(e.errno or 0, "EIO"))
