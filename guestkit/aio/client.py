"""The library's side of the protocol, native asyncio.

The same frames as guestkit/client.py (the format, the bounds and the JSON coding come from
guestkit.daemon.protocol; replies are checked by guestkit.replies exactly as the thread
client checks them), read by one reader task per connection into a queue bounded in bytes,
so a slow consumer pushes back on the appliance instead of filling memory.

One call runs at a time on a connection (the protocol is a sequence of calls).  A call is a
:class:`Call`: ``begin`` sends the CALL frame; then the stream (FileIn chunks sent, FileOut
chunks received), then ``result`` reads the REPLY or ERROR.  ``request_cancel`` maps to the
protocol's CANCEL the way the thread client's user_cancel does: a download is asked to stop
(the data still in flight is dropped), an upload sends CANCEL instead of its next chunk, a
long call without a stream gets CANCEL when it reports progress; the call then ends with
the daemon's EINTR error and the connection stays in step for the next call.
"""

import asyncio
import collections
import concurrent.futures
import os
import socket
import ssl
import threading

from ..client import HostOutput, SessionLost, open_host_input, _HostFileError, _regular_size
from ..daemon import protocol as P
from .. import replies
from ..errors import Error

#: bytes of frames the reader task buffers before it stops reading the connection
MAX_BUFFERED = 8 << 20
#: what a queued frame counts for beyond its payload (small frames are not free)
FRAME_OVERHEAD = 64


def plain_socket(sock):
    """True if asyncio can drive SOCK directly (a plain stream socket: unix or TCP)."""
    return (type(sock) is socket.socket and not isinstance(sock, ssl.SSLSocket)
            and sock.type == socket.SOCK_STREAM and sock.fileno() >= 0)


async def read_frame(reader):
    """One frame from asyncio.StreamReader READER: (type, payload), with the bounds of
    guestkit.daemon.protocol.FrameReader (a length the limits refuse ends the session
    before its payload is waited for)."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise P.ProtocolError("stream ended in the middle of a frame") from None
        raise P.PeerClosed("the other side closed the connection") from None
    length = int.from_bytes(head, "big")
    if length < 1:
        raise P.ProtocolError("frame of length 0")
    try:
        ftype = (await reader.readexactly(1))[0]
    except asyncio.IncompleteReadError:
        raise P.ProtocolError("stream ended in the middle of a frame") from None
    if ftype not in P.TYPE_NAMES:
        raise P.ProtocolError("unknown frame type %d" % ftype)
    if length > P.MAX_FRAME and (ftype not in (P.REPLY, P.CALL) or length > P.MAX_JSON):
        raise P.ProtocolError("frame of %d bytes exceeds the limit of %d" % (
            length, P.MAX_JSON if ftype in (P.REPLY, P.CALL) else P.MAX_FRAME))
    try:
        payload = await reader.readexactly(length - 1) if length > 1 else b""
    except asyncio.IncompleteReadError:
        raise P.ProtocolError("stream ended in the middle of a frame") from None
    return ftype, payload


class Connection:
    """A stream to the daemon: a reader task filling a byte-bounded frame queue, and frame
    writes (each frame is handed to the transport whole, so a cancelled writer never leaves
    half a frame behind)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self._frames = collections.deque()
        self._bytes = 0
        self._have = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.error = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    @classmethod
    async def open(cls, sock):
        reader, writer = await asyncio.open_connection(sock=sock, limit=2 * P.CHUNK_SIZE)
        return cls(reader, writer)

    async def _run(self):
        try:
            while True:
                await self._room.wait()
                ftype, payload = await read_frame(self.reader)
                self._frames.append((ftype, payload))
                self._bytes += len(payload) + FRAME_OVERHEAD
                if self._bytes >= MAX_BUFFERED:
                    self._room.clear()
                self._have.set()
        except asyncio.CancelledError:
            self.error = self.error or P.PeerClosed("the connection was closed")
        except P.ProtocolError as e:
            self.error = e
        except (OSError, ValueError) as e:        # ValueError: an operation on a closed fd
            self.error = P.PeerClosed("connection to the appliance failed: %s" % e)
        finally:
            self._have.set()

    def _pop(self):
        ftype, payload = self._frames.popleft()
        self._bytes -= len(payload) + FRAME_OVERHEAD
        if self._bytes < MAX_BUFFERED:
            self._room.set()
        if not self._frames:
            self._have.clear()
        return ftype, payload

    def get_nowait(self):
        """The next frame if one is queued, else None (an ended stream raises)."""
        if self._frames:
            return self._pop()
        if self.error is not None:
            raise self.error
        return None

    async def get(self):
        """The next frame (cancel-safe: a cancelled wait consumes nothing)."""
        while not self._frames:
            if self.error is not None:
                raise self.error
            self._have.clear()
            await self._have.wait()
        return self._pop()

    def send(self, ftype, payload=b""):
        """Queue one whole frame (no await: it cannot be cut by a cancellation)."""
        if self.writer.is_closing():
            raise P.PeerClosed("cannot send to the appliance: the connection is closed")
        if len(payload) <= 65536:
            self.writer.write(P.encode(ftype, bytes(payload)))
        else:
            self.writer.writelines([P.header(ftype, len(payload)), payload])

    async def drain(self):
        try:
            await self.writer.drain()
        except (OSError, RuntimeError) as e:
            raise P.PeerClosed("cannot send to the appliance: %s" % e) from None

    def close(self):
        self._task.cancel()
        try:
            self.writer.close()
        except RuntimeError:            # the loop is already closed
            pass


class Call:
    """One call in flight.  phase: "up" (sending a FileIn stream), "down" (receiving a
    FileOut stream), "reply" (waiting for REPLY/ERROR), "done"."""

    def __init__(self, client, serial, name, ret, stream):
        self.client, self.conn = client, client.conn
        self.serial, self.name, self.ret = serial, name, ret
        self.phase = {"in": "up", "out": "down"}.get(stream, "reply")
        self.cancel_requested = False
        self.cancel_sent = False        # we sent CANCEL (a stream given up, a call stopped)
        self.sender_stopped = False     # the daemon asked us to stop sending
        self.pending = None             # REPLY/ERROR that arrived before its time
        self.waiting_source = None      # the task fetching the next upload chunk
        self.last_progress = None
        self.upload_size = None

    # -- cancellation --
    def request_cancel(self):
        """Ask the daemon to stop this call (callable at any time, from the loop)."""
        if self.phase == "done" or self.cancel_requested:
            return
        self.cancel_requested = True
        if self.phase == "up":
            if self.waiting_source is not None and not self.waiting_source.done():
                self.waiting_source.cancel()        # stop waiting for the next chunk
            return                                  # the upload loop sends CANCEL
        self._send_cancel()

    def _send_cancel(self):
        if not self.cancel_sent:
            self.cancel_sent = True
            self.client._send(P.CANCEL)

    # -- frames every phase handles alike --
    def _side_frame(self, ftype, payload):
        """Handle LOG and PROGRESS frames; True if FTYPE was one."""
        if ftype == P.LOG:
            self.client._log(payload)
            return True
        if ftype == P.PROGRESS:
            replies.check_size(self.name, None, payload)
            obj = P.loads(payload)
            if isinstance(obj, dict):
                self.client._progress(self, obj)
            if self.cancel_requested and self.phase == "reply":
                self._send_cancel()     # a long call without a stream: ask it to stop
            return True
        return False

    def _check_error(self, payload):
        replies.check_size(self.name, None, payload)
        obj = P.loads(payload)
        if not isinstance(obj, dict):
            raise P.ProtocolError("ERROR frame is not an object")
        if obj.get("s") != self.serial:
            raise P.ProtocolError("reply for call %r while waiting for %d" % (
                obj.get("s"), self.serial))
        ename, msg = obj.get("errno"), obj.get("msg")
        if not isinstance(msg, str) or not (ename is None or isinstance(ename, str)):
            raise P.ProtocolError("malformed ERROR frame")
        return Error(msg, ename)

    # -- FileIn --
    def poll_upload(self):
        """Handle the frames already queued during an upload; True if the stream must stop
        (the daemon asked, or the call already ended)."""
        while True:
            frame = self.conn.get_nowait()
            if frame is None:
                return False
            ftype, payload = frame
            if ftype == P.CANCEL:
                self.sender_stopped = True
                return True
            if self._side_frame(ftype, payload):
                continue
            if ftype in (P.REPLY, P.ERROR):
                self.pending = frame            # the call ended early: stop sending
                return True
            raise P.ProtocolError("unexpected %s frame during an upload" %
                                  P.TYPE_NAMES[ftype])

    async def send_chunk(self, data):
        """Send DATA (any size: split into CHUNK_SIZE frames); False if the stream must
        stop instead (then end_upload(cancel=True))."""
        if not isinstance(data, bytes):
            data = bytes(data)      # the transport may keep it: a caller may reuse theirs
        view = memoryview(data)
        for off in range(0, max(len(view), 1), P.CHUNK_SIZE):
            if self.cancel_requested or self.poll_upload():
                return False
            part = view[off:off + P.CHUNK_SIZE]
            if not part:
                return True
            self.client._send(P.CHUNK, part)
            await self.client._drain()
        return True

    def end_upload(self, cancel=False):
        """End the FileIn stream: its end marker, or CANCEL when giving it up."""
        if self.phase != "up":
            return
        if cancel or self.cancel_requested or self.sender_stopped or \
                self.pending is not None:
            self._send_cancel()
        else:
            self.client._send(P.CHUNK, b"")
        self.phase = "reply"

    # -- FileOut --
    async def recv_chunk(self):
        """The next chunk of a FileOut stream (bytes), or None at its end."""
        while self.phase == "down":
            ftype, payload = await self.conn.get()
            if ftype == P.CHUNK:
                if not payload:
                    self.phase = "reply"
                    return None
                if self.cancel_sent:
                    continue            # after a cancel the data in flight is dropped
                return payload
            if ftype == P.CANCEL:
                self.phase = "reply"    # the daemon gave up the stream; its ERROR follows
                return None
            if self._side_frame(ftype, payload):
                continue
            if ftype == P.ERROR:        # failed before streaming started
                self.phase = "done"
                raise self._check_error(payload)
            raise P.ProtocolError("unexpected %s frame in a download" % P.TYPE_NAMES[ftype])
        return None

    # -- the reply --
    async def result(self):
        """The call's checked result, or its Error."""
        if self.phase == "up":
            self.end_upload(cancel=True)
        while self.phase == "down":
            await self.recv_chunk()
        if self.phase == "done":
            raise P.ProtocolError("the reply of %s was already read" % self.name)
        was_upload = self.sender_stopped or self.client._upload_call is self
        while True:
            if self.pending is not None:
                (ftype, payload), self.pending = self.pending, None
            else:
                ftype, payload = await self.conn.get()
            if ftype == P.CANCEL and was_upload:
                continue        # the daemon gave up the upload after we had sent it all
            if ftype in (P.CHUNK, P.CANCEL):
                raise P.ProtocolError("unexpected %s frame" % P.TYPE_NAMES[ftype])
            if self._side_frame(ftype, payload):
                continue
            if ftype == P.ERROR:
                self.phase = "done"
                raise self._check_error(payload)
            if ftype != P.REPLY:
                raise P.ProtocolError("unexpected %s frame" % P.TYPE_NAMES[ftype])
            if self.ret is not None:        # internal calls: their callers check them
                replies.check_size(self.name, self.ret, payload)
            obj = P.loads(payload)
            if not isinstance(obj, dict):
                raise P.ProtocolError("REPLY frame is not an object")
            if obj.get("s") != self.serial:
                raise P.ProtocolError("reply for call %r while waiting for %d" % (
                    obj.get("s"), self.serial))
            self.phase = "done"
            r = obj.get("r")
            if self.ret is not None:
                r = replies.check_shape(self.name, self.ret, r)
            self.client._final_progress(self)
            return r


class AsyncClient:
    """Calls over one Connection, one at a time."""

    def __init__(self, conn, hello=None, on_progress=None, on_log=None, sock=None):
        self.conn = conn
        self.hello = hello
        self.sock = sock
        self.on_progress, self.on_log = on_progress, on_log
        self.serial = 0
        self.lost = None
        self.current = None             # the Call in flight
        self._upload_call = None
        self._lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()

    # -- plumbing --
    def _send(self, ftype, payload=b""):
        try:
            self.conn.send(ftype, payload)
        except OSError as e:
            raise P.PeerClosed("cannot send to the appliance: %s" % e) from None

    async def _drain(self):
        await self.conn.drain()

    def _log(self, payload):
        if self.on_log:
            self.on_log(bytes(payload[:65536]))

    def _progress(self, call, obj):
        """A PROGRESS frame passed on as (pos, total) with 0 <= pos <= total, as the
        thread client does."""
        pos, total = obj.get("pos"), obj.get("total")
        if not (isinstance(pos, int) and isinstance(total, int)) or pos < 0 or total < 0:
            return
        if obj.get("s") not in (None, call.serial):
            return
        if total == 0 and call.upload_size is not None:
            if call.upload_size > 0:
                pos, total = min(pos, call.upload_size), call.upload_size
            else:
                pos, total = 0, 1
        elif total == 0:
            pos, total = 0, 1
        pos = min(pos, total)
        call.last_progress = (pos, total)
        if self.on_progress:
            self.on_progress(call.serial, pos, total)

    def _final_progress(self, call):
        last = call.last_progress
        if last is not None and last[0] != last[1] and self.on_progress:
            call.last_progress = (last[1], last[1])
            self.on_progress(call.serial, last[1], last[1])

    def _broken(self, e):
        """The session is over (protocol broken, connection gone): remember why, close."""
        if self.lost is None:
            self.lost = str(e)
            self.conn.close()
        return SessionLost("%s" % e)

    def close(self):
        if self.lost is None:
            self.lost = "the handle was closed"
        self.conn.close()

    def abort_session(self, why):
        """End the session now (a call that will not stop): the call in flight fails."""
        self._broken(P.PeerClosed(why))

    def request_cancel(self):
        """Cancel the call in flight, if any (user_cancel)."""
        if self.current is not None:
            try:
                self.current.request_cancel()
            except P.ProtocolError as e:
                self._broken(e)

    # -- a call in steps --
    async def begin(self, name, args, optargs, ret=None, stream=None):
        """Wait for the connection, send the CALL: the Call (its caller must finish it
        with result(), or abort() it)."""
        if self.lost:
            raise SessionLost("the appliance is gone: %s" % self.lost)
        await self._lock.acquire()
        try:
            if self.lost:
                raise SessionLost("the appliance is gone: %s" % self.lost)
            # serials are given out under the lock, in the order calls are sent
            serial = (self.serial + 1) & 0x7FFFFFFF
            frame = P.dumps({"s": serial, "n": name, "a": args, "o": optargs})
            if len(frame) + 1 > P.MAX_JSON:
                # the daemon's frame reader would refuse it and end the session
                raise Error("%s: the arguments are too large for one call (%d bytes, at "
                            "most %d); use upload for big files"
                            % (name, len(frame), P.MAX_JSON), "EFBIG")
            self.serial = serial
            call = Call(self, serial, name, ret, stream)
            self._send(P.CALL, frame)
        except P.ProtocolError as e:
            self._lock.release()
            raise self._broken(e) from None
        except BaseException:
            self._lock.release()
            raise
        self.current = call
        self._upload_call = call if stream == "in" else None
        return call

    def finish(self, call):
        """Release the connection after CALL ended (its reply was read)."""
        if self.current is call:
            self.current = None
            self._upload_call = None
            self._lock.release()

    async def abort(self, call):
        """Give CALL up and read it to its end so the connection stays in step (the data
        still streaming is dropped); then release the connection."""
        try:
            if call.phase != "done":
                call.request_cancel()
                if call.phase == "up":
                    call.end_upload(cancel=True)
                try:
                    await call.result()
                except Error:
                    pass
        except P.ProtocolError as e:
            self._broken(e)
        finally:
            self.finish(call)

    async def guarded(self, call, coro):
        """Run CORO (the steps of CALL); a broken protocol ends the session with
        SessionLost; any other exit aborts the call cleanly.  The connection is released."""
        try:
            try:
                return await coro
            except P.ProtocolError as e:
                raise self._broken(e) from None
        finally:
            if call.phase != "done" and not self.lost:
                await asyncio.shield(self.abort(call))
            else:
                self.finish(call)

    # -- whole calls --
    async def call(self, name, args, optargs, upload=None, download=None, ret=None):
        """Run NAME with the thread client's interface: UPLOAD/DOWNLOAD are host file
        names (FileIn/FileOut), opened before anything reaches the daemon."""
        if upload is not None:
            return await self.call_upload(name, args, optargs, HostInput(upload), ret)
        if download is not None:
            return await self.call_download(name, args, optargs, HostSink(download), ret)
        call = await self.begin(name, args, optargs, ret)
        return await self.guarded(call, call.result())

    async def call_upload(self, name, args, optargs, source, ret=None):
        """NAME with a FileIn stream read from SOURCE (a HostInput, or an async/sync
        iterable of bytes-like chunks)."""
        host = source if isinstance(source, HostInput) else None
        if host is not None:
            host.open()
        try:
            call = await self.begin(name, args, optargs, ret, stream="in")
            if host is not None:
                call.upload_size = host.size
            return await self.guarded(call, self._upload(call, source))
        finally:
            if host is not None:
                host.close()

    async def _upload(self, call, source):
        source_error = None
        it = _aiter(source)
        while True:
            if call.cancel_requested:
                break
            call.waiting_source = asyncio.ensure_future(it.__anext__())
            try:
                data = await call.waiting_source
            except StopAsyncIteration:
                break
            except asyncio.CancelledError:
                if call.cancel_requested and call.waiting_source.cancelled():
                    break                   # request_cancel stopped the wait
                raise
            except Exception as e:          # noqa: B902 - the source failed: say so after
                source_error = e
                break
            finally:
                call.waiting_source = None
            if not isinstance(data, (bytes, bytearray, memoryview)):
                source_error = TypeError("an upload source must give bytes, not %s"
                                         % type(data).__name__)
                break
            if not await call.send_chunk(data):
                break
        call.end_upload(cancel=source_error is not None)
        try:
            result = await call.result()
        except Error:
            if source_error is not None:
                raise _as_error(source_error, source) from None
            raise
        if source_error is not None:
            raise _as_error(source_error, source)
        return result

    async def call_download(self, name, args, optargs, sink, ret=None):
        """NAME with its FileOut stream written to SINK (a HostSink)."""
        sink.open()
        try:
            call = await self.begin(name, args, optargs, ret, stream="out")
            result = await self.guarded(call, self._download(call, sink))
            sink.commit()
            return result
        finally:
            sink.close()

    async def _download(self, call, sink):
        host_error = None
        while True:
            chunk = await call.recv_chunk()
            if chunk is None:
                break
            if host_error is None:
                try:
                    await sink.write(chunk)
                except OSError as e:
                    host_error = e
                    call.request_cancel()
        try:
            result = await call.result()
        except Error:
            if host_error is not None:
                raise _HostFileError(sink.filename, host_error) from None
            raise
        if host_error is not None:
            raise _HostFileError(sink.filename, host_error)
        return result


def _as_error(e, source):
    if isinstance(e, OSError):
        name = source.filename if isinstance(source, HostInput) else "upload source"
        return _HostFileError(name, e)
    return e


def _aiter(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = [source]
    if hasattr(source, "__aiter__"):
        return source.__aiter__()
    return _SyncIter(iter(source))


class _SyncIter:
    def __init__(self, it):
        self.it = it

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return next(self.it)
        except StopIteration:
            raise StopAsyncIteration from None


class _FdJob:
    """A host file descriptor read or written in the loop's default executor (a pipe or a
    slow disk must not stall the loop); closed only once no read or write is running."""

    def __init__(self):
        self.fd = None
        self._busy = None
        self._close_pending = False

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, fn, self.fd, *args)
        self._busy = fut
        fut.add_done_callback(self._done)
        return await asyncio.shield(fut)

    def _done(self, fut):
        if not fut.cancelled():
            fut.exception()             # retrieved: a cancelled caller may not look
        if self._busy is fut:
            self._busy = None
        if self._close_pending:
            self._close_fd()

    def _close_fd(self):
        self._close_pending = False
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    def close(self):
        if self._busy is not None and not self._busy.done():
            self._close_pending = True
        else:
            self._close_fd()


class HostInput(_FdJob):
    """An upload's host file (named as the thread client names them: /dev/stdin, -,
    /dev/fd/N) as an async iterator of chunks."""

    def __init__(self, filename):
        super().__init__()
        self.filename = filename
        self.size = None

    def open(self):
        try:
            self.fd = open_host_input(self.filename)
        except OSError as e:
            raise _HostFileError(self.filename, e) from None
        self.size = _regular_size(self.fd)

    def __aiter__(self):
        return self

    async def __anext__(self):
        data = await self._run(os.read, P.CHUNK_SIZE)
        if not data:
            raise StopAsyncIteration
        return data


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class HostSink(_FdJob):
    """A download's host file: written through a temporary file renamed over it when the
    call succeeded (guestkit.client.HostOutput), so a failed or cancelled download leaves
    the destination as it was."""

    def __init__(self, filename):
        super().__init__()
        self.filename = filename
        self.out = None

    def open(self):
        try:
            self.out = HostOutput(self.filename)
        except OSError as e:
            raise _HostFileError(self.filename, e) from None
        self.fd = self.out.fd

    async def write(self, data):
        await self._run(_write_all, data)

    def commit(self):
        self.out.commit()

    def close(self):
        if self._busy is not None and not self._busy.done():
            out = self.out
            self._busy.add_done_callback(lambda f: out.abort())
        elif self.out is not None:
            self.out.abort()            # nothing once committed
        super().close()


class ThreadBridge:
    """What the sync handle's library code (launch's helpers, shutdown, inspection,
    hot-plugging: code that runs in a worker thread) sees as its client once the async
    handle owns the connection: the thread client's interface, each call run on the event
    loop by the AsyncClient."""

    def __init__(self, aclient):
        self.aclient = aclient
        self.loop = aclient.loop
        self.hello = aclient.hello
        self.sock = aclient.sock
        self.cancel_requested = _CancelFlag(self)

    @property
    def lost(self):
        return self.aclient.lost

    def _usable_loop(self):
        if self.loop.is_closed() or not self.loop.is_running():
            return False
        try:
            return asyncio.get_running_loop() is not self.loop
        except RuntimeError:
            return True

    def call(self, name, args, optargs, upload=None, download=None, ret=None):
        if not self._usable_loop():
            # the loop is gone (interpreter exit), or this is the loop's own thread, which
            # must not wait for itself: the session cannot be used from here
            self.aclient.lost = self.aclient.lost or "the event loop driving it is not running"
            raise SessionLost("%s: the asyncio handle's event loop is not available from "
                              "here" % name)
        fut = asyncio.run_coroutine_threadsafe(
            self.aclient.call(name, args, optargs, upload=upload, download=download,
                              ret=ret), self.loop)
        while True:
            try:
                return fut.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                if not self.loop.is_running():      # the loop stopped under this call
                    fut.cancel()
                    self.aclient.lost = self.aclient.lost or "the event loop stopped"
                    raise SessionLost("%s: the asyncio handle's event loop stopped"
                                      % name) from None

    def readable(self, timeout):
        return False

    def close(self):
        if self.loop.is_closed():
            try:
                self.aclient.conn.writer.transport.abort()
            except Exception:
                pass
            if self.sock is not None:
                self.sock.close()
            return
        if self._on_loop():
            self.aclient.close()
        else:
            try:
                self.loop.call_soon_threadsafe(self.aclient.close)
            except RuntimeError:
                pass

    def _on_loop(self):
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False


class _CancelFlag:
    """cancel_requested of the bridge: set() (user_cancel from the sync API or a thread)
    cancels the async call in flight."""

    def __init__(self, bridge):
        self.bridge = bridge
        self._flag = threading.Event()

    def set(self):
        self._flag.set()
        loop = self.bridge.loop
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.bridge.aclient.request_cancel)
            except RuntimeError:
                pass

    def clear(self):
        self._flag.clear()

    def is_set(self):
        return self._flag.is_set()


__all__ = ["AsyncClient", "Call", "Connection", "HostInput", "HostSink", "ThreadBridge",
           "plain_socket", "read_frame"]
