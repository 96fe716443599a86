"""launch, shutdown, close, cancellation and the state queries."""

import sys
import time
import weakref

from .. import events as ev
from ..client import Client, SessionLost
from ..errors import Error

__all__ = ["launch", "shutdown", "close", "user_cancel", "version", "is_config",
           "is_launching", "is_ready", "is_busy", "get_state", "get_pid"]

VERSION = (0, 1, 0, "")


def launch(g):
    from ..handle import STATE_CONFIG, STATE_LAUNCHING, STATE_READY
    from ..appliance import get_appliance, ApplianceError
    from ..images import make_overlay
    from ..plugins import backend_class, split_backend

    if g._state != STATE_CONFIG:
        raise Error("launch: the handle was already launched", "EINVAL")
    t0 = time.monotonic()
    name, param = split_backend(g._config.backend_name())
    cls = backend_class(name)
    if g._hv_params() and not getattr(cls, "takes_hv_params", False):
        raise Error("launch: the %s backend cannot pass the hypervisor parameters added "
                    "with config" % name, "ENOTSUP")
    g._set_state(STATE_LAUNCHING)
    client = None
    try:
        building = []

        def progress(msg):
            if not building:
                building.append(1)
                g._debug("building the appliance (first launch; it is cached afterwards)")
                if not g._prop("verbose") and not g._events.wants(ev.EVENT_LIBRARY) \
                        and sys.stderr.isatty():
                    sys.stderr.write("guestkit: building the appliance (first launch; it is "
                                     "cached afterwards)...\n")
            g._debug("appliance: %s" % msg)
            g._events.emit(ev.EVENT_LIBRARY, ("guestkit: building appliance: %s\n" % msg))

        try:
            appliance = get_appliance(cachedir=g._cachedir(), progress=progress)
        except ApplianceError as e:
            raise Error("launch: %s" % e, "ENOENT") from None
        g._attach(appliance=appliance)
        g._debug("appliance %s (%.2fs)" % (appliance.path, time.monotonic() - t0))
        tmpdir = g._handle_tmpdir()
        for i, d in enumerate(g._drives):
            if d.readonly and d.overlay is None:
                make_overlay(d, tmpdir, i)
        backend = cls(g, param)
        g._attach(backend=backend)
        client, hello = _start_appliance(g, backend, name, appliance, tmpdir)
        g._attach(client=client)
        g._debug("daemon says hello: %r" % hello)
        from ..daemon.contract import disk_letters
        for i, d in enumerate(g._drives):
            d.device = "/dev/sd" + disk_letters(i)
        labels = {d.label: i for i, d in enumerate(g._drives) if d.label}
        if getattr(backend, "owns_appliance", True):
            client.call("internal_setup", [], {"labels": labels})
    except BaseException:
        g._set_state(STATE_CONFIG)
        if client is not None:
            client.close()
        backend = g._detach()[1]
        if backend is not None:
            try:
                backend.shutdown(graceful=False)
            except Exception:
                pass
        raise
    g._set_state(STATE_READY)
    g._debug("launch took %.2fs" % (time.monotonic() - t0))
    g._events.emit(ev.EVENT_LAUNCH_DONE)


def _start_appliance(g, backend, name, appliance, tmpdir):
    """Launch through BACKEND and wait for the daemon's greeting: (client, hello).  A
    failed attempt is shut down, and tried once more if the backend can avoid the cause
    (KVM that fails late falls back to TCG)."""
    from ..backends.base import LaunchError
    for attempt in (1, 2):
        client = None
        try:
            try:
                sock = backend.launch(appliance, g._drives, tmpdir)
            except (LaunchError, Error):
                raise
            except Exception as e:          # a third-party backend's own failure
                raise Error("launch: backend %s failed: %s: %s"
                            % (name, type(e).__name__, e), "EIO") from e
            client = Client(sock, on_progress=_weakly(g, "_on_progress"),
                            on_log=_weakly(g, "_debug", lambda text: "daemon: %s" % text.decode(
                                "utf-8", "replace").rstrip()))
            hello = backend.greeting
            if hello is not None:
                client.hello = hello
            else:
                hello = _await_greeting(client, backend)
            backend.launch_done()
            return client, hello
        except LaunchError as e:
            if client is not None:
                client.close()
            try:
                backend.shutdown(graceful=False)
            except Exception:
                pass
            if attempt == 1 and backend.fall_back(e):
                g._debug("launch: trying again after: %s" % e)
                continue
            raise Error("launch: backend %s: %s" % (name, e), "EIO") from None
        except BaseException:
            if client is not None:
                client.close()
            raise


def _weakly(g, method, convert=None):
    """A callback calling G's METHOD (with its first argument passed through CONVERT) that
    does not keep G alive: the client the handle owns must not point back at it."""
    ref = weakref.ref(g)

    def call(*args):
        h = ref()
        if h is not None:
            if convert is not None:
                args = (convert(args[0]),) + args[1:]
            getattr(h, method)(*args)
    return call


def _await_greeting(client, backend):
    """The daemon's greeting, while the backend watches the appliance come up: a stopped
    appliance or failed KVM ends the wait at once, with the backend's account of it."""
    from ..backends.base import LaunchError
    wait = backend.remaining()
    deadline = time.monotonic() + wait
    while not client.readable(0.05):
        trouble = backend.launch_trouble()
        if trouble is not None:
            raise trouble
        if time.monotonic() > deadline:
            raise backend.launch_failed("the daemon did not greet within %.0f s" % wait)
    try:
        return client.read_hello(timeout=max(1.0, deadline - time.monotonic()))
    except SessionLost as e:
        if getattr(backend, "owns_appliance", True):
            # the appliance went away or spoke nonsense: say what the console showed, once
            # qemu's exit and last words have been seen (they may lag the closed socket)
            end = time.monotonic() + 3.0      # libvirt notices a dead qemu late
            trouble = backend.launch_trouble()
            while trouble is None and time.monotonic() < end:
                time.sleep(0.05)
                trouble = backend.launch_trouble()
            raise trouble if trouble is not None else backend.launch_failed(str(e))
        raise LaunchError(str(e)) from None


def shutdown(g):
    from ..handle import STATE_DEAD
    from .mount_local import release
    release(g)                          # a mount_local mount goes before its appliance
    if g._backend is None:
        g._set_state(STATE_DEAD if g._state != 0 else g._state)
        return
    client, backend = g._client, g._backend
    error = None
    if client is not None:
        if not client.lost and g._prop("autosync"):
            try:
                client.call("internal_autosync", [], {})
            except Error as e:
                error = e
        # the appliance syncs and unmounts again as it powers off, even if autosync failed
        if not client.lost and getattr(backend, "owns_appliance", True):
            try:
                client.call("internal_exit", [], {})
            except Error as e:
                error = error or e
        client.close()
    status = backend.shutdown(graceful=client is not None and not client.lost)
    g._detach()
    g._set_state(STATE_DEAD)
    g._events.emit(ev.EVENT_SUBPROCESS_QUIT)
    g._debug("appliance exited with status %r" % status)
    if error is not None:
        from ..client import SessionLost
        if not isinstance(error, SessionLost):
            raise Error("shutdown: %s" % error, error.errno_name)


def close(g):
    if g._closed:
        return
    try:
        if g._backend is not None:
            # when the garbage collector closes a dropped handle, weak references to it
            # are already cleared: bind the backend to it again for the shutdown
            g._backend.handle = g
            try:
                shutdown(g)
            except Error:
                pass
    finally:
        g._events.emit(ev.EVENT_CLOSE)
        g._mark_closed()


def user_cancel(g):
    if g._client is not None:
        g._client.cancel_requested.set()


def version(g):
    return {"major": VERSION[0], "minor": VERSION[1], "release": VERSION[2],
            "extra": VERSION[3]}


def is_config(g):
    return g._state == 0


def is_launching(g):
    return g._state == 1


def is_ready(g):
    return g._state == 2


def is_busy(g):
    return bool(g._busy)


def get_state(g):
    return g._state if g._state <= 2 else 0     # after shutdown: config, as libguestfs


def get_pid(g):
    pid = g._backend.pid() if g._backend else None
    if pid is None:
        raise Error("get_pid: no appliance is running", "EINVAL")
    return pid
