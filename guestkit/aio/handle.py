"""The asyncio handle: every action of the table as a coroutine.

Design (docs/guide.md, "asyncio", says it for users):

- ``guestkit.aio.GuestFS`` wraps a ``guestkit.GuestFS`` (its drives, settings, events and
  the actions that run in the library) and, once launched, owns the connection to the
  appliance with a native asyncio client (guestkit/aio/client.py) speaking the same frames.
- Actions that run in the appliance are sent by that client from the event loop: no
  thread per call, so one loop drives many handles.  Actions that run in the library
  (launch, which builds the appliance and starts qemu; shutdown; add_domain; inspection)
  run in the handle's own worker thread; when they call the appliance, their calls go
  through the same async client (ThreadBridge), so there is one reader of the connection.
- One action at a time per handle (a per-handle asyncio.Lock, taken in call order).
- Cancelling a coroutine (task.cancel(), asyncio.wait_for's timeout) returns at once and
  maps to the protocol's CANCEL: a download stops and its data in flight is dropped, an
  upload sends CANCEL instead of its next chunk, a long call is asked to stop at its next
  progress report.  The call finishes in the background, the next call on the handle
  waits for it, and the handle stays usable.  A call that cannot be stopped (a command
  that ignores it, launch itself) still runs to its end before the next one starts.
- A connection asyncio cannot drive (a TLS socket of the remote backend, a third-party
  backend's odd stream) is not taken over: every action then runs in the worker thread
  through the thread client, and cancellation sets its user_cancel.
"""

import asyncio
import concurrent.futures
import inspect
import os
import weakref

from ..actions import ACTIONS, ALIASES
from ..client import SessionLost
from ..daemon import protocol as P
from ..errors import Error
from ..handle import GuestFS as _SyncGuestFS
from .client import AsyncClient, Connection, ThreadBridge, plain_socket

#: seconds close() waits for a running call to stop before it ends the session
CLOSE_WAIT = 10.0

#: actions that only read the handle's state: answered at once, even while a call runs
#: (is_busy says 1 then), without waiting for the handle
IMMEDIATE = ("user_cancel", "is_busy", "is_ready", "is_config", "is_launching", "get_state",
             "get_pid", "version")


class _Job:
    """What the running action does when it is cancelled."""

    def __init__(self, handle):
        self.handle = handle
        self.cancelled = False
        self.call = None            # the native Call in flight, if any
        self.hooks = []             # more to do on cancel (stop waiting for a source)

    def cancel(self):
        if self.cancelled:
            return
        self.cancelled = True
        for hook in self.hooks:
            hook()
        h = self.handle
        if self.call is not None:
            try:
                self.call.request_cancel()
            except P.ProtocolError as e:
                self.call.client._broken(e)     # the call in flight then fails with it
        elif h._aclient is not None:
            h._aclient.request_cancel()     # a library action's call through the bridge
        else:
            client = h._g._client
            if client is not None:
                client.cancel_requested.set()     # the thread client's user_cancel


class GuestFS:
    """An asyncio handle.  ``GuestFS(python_return_dict=False, environment=True,
    close_on_exit=True)`` as the sync handle; every action is a coroutine method with the
    sync method's arguments, plus streaming iterators for the actions with a host file
    (``download_iter``, ``upload_iter``, ``tar_out_iter`` ...)::

        async with guestkit.aio.GuestFS() as g:
            await g.add_drive_opts("disk.img", format="raw")
            await g.launch()
            await g.mount("/dev/sda1", "/")
            async for chunk in g.download_iter("/big"):
                ...
    """

    def __init__(self, python_return_dict=False, environment=True, close_on_exit=True):
        self._g = _SyncGuestFS(python_return_dict=python_return_dict,
                               environment=environment, close_on_exit=close_on_exit)
        self._lock_obj = None
        self._aclient = None
        self._job = None
        self._executor = None

    # ---- plain methods (not actions) ----
    @property
    def sync(self):
        """The underlying sync handle (for code that is not async; do not call it while
        a coroutine of this handle runs)."""
        return self._g

    def set_event_callback(self, cb, event_bitmask):
        """As the sync handle's.  Callbacks run in the event loop's thread for actions of
        the appliance, in the handle's worker thread for library actions (launch)."""
        return self._g.set_event_callback(cb, event_bitmask)

    def delete_event_callback(self, event_handle):
        self._g.delete_event_callback(event_handle)

    event_to_string = staticmethod(_SyncGuestFS.event_to_string)

    def last_errno(self):
        return self._g.last_errno()

    @property
    def native(self):
        """True once the event loop speaks to the appliance directly (after launch on a
        plain unix or TCP stream); False while not launched or in thread mode."""
        return self._aclient is not None and not self._aclient.lost

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False

    # ---- running an action ----
    @property
    def _lock(self):
        """One action at a time (made in the loop that first uses the handle: Python 3.9
        binds a lock to a loop when it is made)."""
        if self._lock_obj is None:
            self._lock_obj = asyncio.Lock()
        return self._lock_obj

    def _worker(self):
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="guestkit-aio")
        return self._executor

    async def _run(self, body):
        """Run BODY(job) as this handle's one action: in a task of its own, so that a
        cancelled caller returns at once while the action ends cleanly behind it (holding
        the handle until then)."""
        loop = asyncio.get_running_loop()
        await self._lock.acquire()
        job = _Job(self)
        try:
            task = loop.create_task(body(job))
        except BaseException:
            self._lock.release()
            raise
        self._job = job

        def done(t):
            if not t.cancelled():
                t.exception()       # retrieved: a cancelled caller no longer looks at it
            if self._job is job:
                self._job = None
            self._lock.release()
        task.add_done_callback(done)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                job.cancel()
            raise

    async def _in_thread(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker(), lambda: fn(*args, **kwargs))

    # ---- the generic call path (the sync handle's, with an awaited daemon call) ----
    def _failed(self, action, e, tracing):
        if isinstance(e, SessionLost):
            self._g._lost(str(e))
        self._g._call_failed(action, e, tracing)

    async def _daemon(self, action, args, kwargs, source=None):
        """A daemon action; SOURCE replaces its FileIn stream (an iterable of bytes)."""
        if source is not None:
            args = list(args)
            args.insert(_stream_index(action), "-")     # checked as the daemon checks it

        async def body(job):
            # checked when it runs (after the actions before it on this handle)
            a, optargs, tracing = self._g._begin_call(action, args, kwargs)
            try:
                result = await self._send(job, action, a, optargs, source)
            except Error as e:
                self._failed(action, e, tracing)
                raise
            return self._g._call_succeeded(action, result, tracing)
        return await self._run(body)

    async def _send(self, job, action, args, optargs, source):
        from .client import HostInput, HostSink
        wire, upload, download = action.split_streams(args)
        ac = self._aclient
        self._g._busy = True
        try:
            if ac is None:
                # thread mode: the thread client, its user_cancel on cancellation
                if source is not None:
                    return await self._thread_upload(job, action, wire, optargs, source)
                return await self._in_thread(
                    self._g._client.call, action.name, wire, optargs, upload=upload,
                    download=download, ret=action.ret)
            if source is not None:
                return await self._native(ac, job, action, wire, optargs, upload=source,
                                          stream="in")
            if upload is not None:
                return await self._native(ac, job, action, wire, optargs,
                                          upload=HostInput(upload), stream="in")
            if download is not None:
                return await self._native(ac, job, action, wire, optargs,
                                          download=HostSink(download), stream="out")
            return await self._native(ac, job, action, wire, optargs)
        finally:
            self._g._busy = False

    async def _native(self, ac, job, action, wire, optargs, upload=None, download=None,
                      stream=None):
        """One daemon call over the async client, cancellable through JOB."""
        host = upload if upload is not None and hasattr(upload, "open") else None
        if host is not None:
            host.open()
        if download is not None:
            download.open()
        try:
            call = await ac.begin(action.name, wire, optargs, action.ret, stream)
            job.call = call
            if job.cancelled:
                call.request_cancel()
            if upload is not None:
                if host is not None:
                    call.upload_size = host.size
                result = await ac.guarded(call, ac._upload(call, upload))
            elif download is not None:
                result = await ac.guarded(call, ac._download(call, download))
                download.commit()
            else:
                result = await ac.guarded(call, call.result())
            return result
        finally:
            job.call = None
            if host is not None:
                host.close()
            if download is not None:
                download.close()

    async def _library(self, action, args, kwargs):
        """An action of the library: the sync method in the handle's worker thread."""
        self._g._check_open()
        method = getattr(self._g, action.name)

        async def body(job):
            return await self._in_thread(method, *args, **kwargs)
        return await self._run(body)

    # ---- actions with their own behaviour ----
    async def launch(self):
        """Build or reuse the appliance and start it (in the handle's worker thread), then
        speak to its daemon from the event loop."""
        async def body(job):
            await self._in_thread(self._g.launch)
            await self._take_over()
        return await self._run(body)

    async def _take_over(self):
        g = self._g
        client = g._client
        if client is None or isinstance(client, ThreadBridge) or client.lost:
            return
        if not plain_socket(client.sock) or client.reader.buffered():
            g._debug("aio: the connection is not a plain stream: actions run in a thread")
            return
        conn = await Connection.open(client.sock)
        ref = weakref.ref(g)

        def progress(serial, pos, total):
            h = ref()
            if h is not None:
                h._on_progress(serial, pos, total)

        def log(text):
            h = ref()
            if h is not None:
                h._debug("daemon: %s" % text.decode("utf-8", "replace").rstrip())
        self._aclient = AsyncClient(conn, hello=client.hello, on_progress=progress,
                                    on_log=log, sock=client.sock)
        g._attach(client=ThreadBridge(self._aclient))

    async def user_cancel(self):
        """Cancel the action running on this handle (a transfer or a long call), as the
        sync user_cancel does; it does not wait for the handle."""
        job = self._job
        if job is not None:
            job.cancel()

    async def close(self):
        """Shut the appliance down (if launched) and close the handle.  A call still
        running is cancelled; if it has not stopped within CLOSE_WAIT seconds, the session
        is ended under it."""
        g = self._g
        if g._closed:
            return
        job = self._job
        if job is not None:
            job.cancel()
        held = False
        try:
            await asyncio.wait_for(self._lock.acquire(), CLOSE_WAIT)
            held = True
        except asyncio.TimeoutError:
            # a call that does not stop, or an iterator left open: end the session under
            # it (its owner gets SessionLost) and close without waiting for it
            if self._aclient is not None:
                self._aclient.abort_session("the handle was closed while a call was running")
            elif g._client is not None:
                g._client.close()
        try:
            if not g._closed:
                await self._in_thread(g.close)
        finally:
            if self._aclient is not None:
                self._aclient.close()
            if held:
                self._lock.release()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

    async def shutdown(self):
        """As the sync shutdown (autosync, then the appliance powers off)."""
        return await self._library(ACTIONS["shutdown"], (), {})

    # ---- streams as iterators ----
    async def _iter_out(self, action, args, kwargs):
        """The FileOut stream of ACTION as an async iterator of chunks."""
        args = list(args)
        args.insert(_stream_index(action), "-")
        await self._lock.acquire()
        ac, call, job, tracing = self._aclient, None, _Job(self), False
        release = [self._lock.release]      # what ends this action (may move to a task)
        self._job = job
        try:
            args, optargs, tracing = self._g._begin_call(action, args, kwargs)
            wire = action.split_streams(args)[0]
            self._g._busy = True
            if ac is None:
                inner = self._thread_download(job, action, wire, optargs, release)
                try:
                    async for chunk in inner:
                        yield chunk
                finally:
                    await inner.aclose()        # its clean-up first: it may keep the lock
                return
            call = await ac.begin(action.name, wire, optargs, action.ret, "out")
            job.call = call
            try:
                while True:
                    chunk = await call.recv_chunk()
                    if chunk is None:
                        break
                    yield chunk
                result = await call.result()
            except P.ProtocolError as e:
                raise ac._broken(e) from None
            self._g._call_succeeded(action, result, tracing)
        except Error as e:
            self._failed(action, e, tracing)
            raise
        finally:
            self._g._busy = False
            if self._job is job:
                self._job = None
            if call is not None and call.phase != "done" and not ac.lost:
                # given up (break, cancellation, an exception in the consumer): stop the
                # stream and read the call to its end in the background
                task = asyncio.get_running_loop().create_task(ac.abort(call))
                task.add_done_callback(lambda _, r=release[0]: r())
                release[0] = None
            elif call is not None:
                ac.finish(call)
            if release[0] is not None:
                release[0]()

    # ---- thread mode: the iterators through a pipe to the thread client ----
    def _thread_call(self, action, wire, optargs, fd, **stream):
        """The thread client's call in the worker thread, STREAM naming /dev/fd/FD (closed
        once the call ended: the client works on its own duplicate)."""
        def run():
            try:
                return self._g._client.call(action.name, wire, optargs, ret=action.ret,
                                            **stream)
            finally:
                os.close(fd)
        return asyncio.get_running_loop().run_in_executor(self._worker(), run)

    async def _thread_download(self, job, action, wire, optargs, release):
        from .client import _FdJob
        r, w = os.pipe()
        fut = self._thread_call(action, wire, optargs, w, download="/dev/fd/%d" % w)
        pipe = _FdJob()
        pipe.fd = r
        try:
            while True:
                data = await pipe._run(os.read, P.CHUNK_SIZE)
                if not data:
                    break
                yield data
            await fut
        finally:
            pipe.close()            # the client then fails to write: its call stops
            if not fut.done():
                job.cancel()
                end = release[0]
                release[0] = None

                def done(f):
                    if not f.cancelled():
                        f.exception()           # retrieved: nobody waits for it now
                    end()
                fut.add_done_callback(done)

    async def _thread_upload(self, job, action, wire, optargs, source):
        from .client import _FdJob, _aiter, _write_all
        r, w = os.pipe()
        fut = self._thread_call(action, wire, optargs, r, upload="/dev/fd/%d" % r)
        pipe = _FdJob()
        pipe.fd = w
        it, source_error = _aiter(source), None
        try:
            while not job.cancelled:
                fetch = asyncio.ensure_future(it.__anext__())
                job.hooks = [fetch.cancel]
                try:
                    data = await fetch
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if job.cancelled and fetch.cancelled():
                        break
                    raise
                except Exception as e:      # noqa: B902 - the source failed: raised below
                    source_error = e
                    break
                finally:
                    job.hooks = []
                try:
                    await pipe._run(_write_all, data)
                except BrokenPipeError:
                    break                   # the call ended (an error follows)
        finally:
            if job.cancelled or source_error is not None:
                self._g._client.cancel_requested.set()
            pipe.close()                # the end of the stream (or of a cancelled one)
        result = await fut
        if source_error is not None:
            raise source_error
        return result

    async def _iter_in(self, action, source, args, kwargs):
        """ACTION with its FileIn stream read from SOURCE (an async or sync iterable of
        bytes, or bytes)."""
        return await self._daemon(action, args, kwargs, source=source)


def _stream_index(action):
    for i, k in enumerate(action.args):
        if k.stream:
            return i
    raise ValueError(action.name)


# ---- methods from the table -------------------------------------------------------------------

def _bind(action):
    """A function turning (args, kwargs) into (positional args, optargs) exactly as the sync
    method accepts them (its signature decides: positional optargs too, if it takes
    them)."""
    sync = getattr(_SyncGuestFS, action.name)
    sig = inspect.signature(sync)
    names = [k.name for k in action.args]
    optnames = [k.name for k in action.optargs]
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        sig = None

    def split(args, kwargs):
        if sig is None:
            return list(args), dict(kwargs)
        try:
            bound = sig.bind(None, *args, **kwargs)
        except TypeError as e:
            raise TypeError("%s: %s" % (action.name, e)) from None
        a = bound.arguments
        return [a[n] for n in names], {n: a[n] for n in optnames if n in a}
    return split, sync


def _docs(method, sync, name, extra):
    try:
        method.__signature__ = inspect.signature(sync)
    except (TypeError, ValueError):
        pass
    method.__name__ = name
    method.__qualname__ = "GuestFS." + name
    method.__doc__ = ("Coroutine: %s\n\n%s" % (extra, sync.__doc__ or "")).rstrip()


def _make_method(action):
    split, sync = _bind(action)
    if action.daemon:
        async def method(self, *args, **kwargs):
            a, o = split(args, kwargs)
            return await self._daemon(action, a, o)
        extra = "runs in the appliance, sent from the event loop; cancellable."
    elif action.name in IMMEDIATE:
        async def method(self, *args, **kwargs):
            return getattr(self._g, action.name)(*args, **kwargs)
        extra = "answered at once, without waiting for the handle."
    else:
        async def method(self, *args, **kwargs):
            split(args, kwargs)             # a wrong call fails here, not in the thread
            return await self._library(action, args, kwargs)
        extra = "runs in the library, in the handle's worker thread."
    _docs(method, sync, action.name, extra)
    return method


def _make_iter_out(action):
    split, sync = _bind(action)
    idx = _stream_index(action)
    out_name = action.args[idx].name

    def method(self, *args, **kwargs):
        args = list(args)
        # the FileOut argument is left out: split as if it were given
        full = args[:idx] + ["-"] + args[idx:] if len(args) >= idx else args
        a, o = split(full, kwargs)
        del a[idx]
        return self._iter_out(action, a, o)
    _docs(method, sync, action.name + "_iter", "")
    params = [p for p in inspect.signature(sync).parameters.values() if p.name != out_name]
    method.__signature__ = inspect.Signature(params)
    method.__doc__ = (
        "Async iterator: the %s stream of %s as chunks of bytes (each at most %d bytes), "
        "the other arguments as %s takes them.  Leaving the loop early (break) stops the "
        "stream; close it (contextlib.aclosing) to free the handle at once.\n\n%s"
        % (out_name, action.name, P.CHUNK_SIZE, action.name, sync.__doc__ or "")).rstrip()
    return method


def _make_iter_in(action):
    split, sync = _bind(action)
    idx = _stream_index(action)
    in_name = action.args[idx].name

    async def method(self, source, *args, **kwargs):
        args = list(args)
        full = args[:idx] + ["-"] + args[idx:] if len(args) >= idx else args
        a, o = split(full, kwargs)
        del a[idx]
        return await self._iter_in(action, source, a, o)
    params = list(inspect.signature(sync).parameters.values())
    params = [params[0], inspect.Parameter("source", inspect.Parameter.POSITIONAL_OR_KEYWORD)] \
        + [p for p in params[1:] if p.name != in_name]
    method.__signature__ = inspect.Signature(params)
    method.__name__ = action.name + "_iter"
    method.__qualname__ = "GuestFS." + method.__name__
    method.__doc__ = (
        "Coroutine: %s with its %s stream read from SOURCE (an async iterable or an "
        "iterable of bytes-like chunks, or bytes) instead of a host file.  An exception "
        "from SOURCE cancels the stream and is raised.\n\n%s"
        % (action.name, in_name, sync.__doc__ or "")).rstrip()
    return method


_SPECIAL = ("launch", "close", "user_cancel", "shutdown")

for _name, _action in ACTIONS.items():
    if _name not in _SPECIAL:
        setattr(GuestFS, _name, _make_method(_action))
    if _action.daemon and _action.streams:
        if _action.streams[0].stream == "out":
            setattr(GuestFS, _name + "_iter", _make_iter_out(_action))
        else:
            setattr(GuestFS, _name + "_iter", _make_iter_in(_action))
for _alias, _target in ALIASES.items():
    setattr(GuestFS, _alias, getattr(GuestFS, _target))
    if hasattr(GuestFS, _target + "_iter"):
        setattr(GuestFS, _alias + "_iter", getattr(GuestFS, _target + "_iter"))
