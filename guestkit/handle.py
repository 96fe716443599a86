"""The GuestFS handle.  Its action methods are made from the action table, not written here.

States follow libguestfs: CONFIG (add drives, set properties) -> LAUNCHING -> READY; after
shutdown the handle can only be closed.
"""

import atexit
import inspect
import os
import shutil
import sys
import tempfile
import typing
import warnings
import weakref

from . import events as ev
from . import images
from .actions import ACTIONS, ALIASES
from .actions.table import (CONFIG, LAUNCHED, RBool, RHashtable, RStruct, RStructList)
from .errors import ClosedHandle, Error
from .library import IMPLEMENTATIONS
from .library.config import Config

STATE_CONFIG, STATE_LAUNCHING, STATE_READY, STATE_DEAD = 0, 1, 2, 3

#: how many drives a handle takes
MAX_DRIVES = images.MAX_DRIVES

_live_handles = weakref.WeakSet()


@atexit.register
def _close_all():
    for g in list(_live_handles):
        try:
            if g._close_on_exit:
                g.close()
        except Exception:
            pass


#: the longest directory that can hold the handle's directory ("guestkit.XXXXXXXX") and, in
#: it, a unix socket's name (up to 20 bytes) within AF_UNIX's 107 bytes
MAX_SOCKET_BASE = 107 - len("/guestkit.XXXXXXXX/") - 20


class GuestFS:
    """A handle: drives, settings and (after launch) a running appliance.

    ``GuestFS(python_return_dict=False, environment=True, close_on_exit=True)`` as in
    python-guestfs.  Every action of guestfs(3) that guestkit implements is a method with the
    same name and positional arguments; optional arguments are given by keyword or
    positionally in declaration order, as python-guestfs takes them.
    """

    def __init__(self, python_return_dict=False, environment=True, close_on_exit=True):
        self._python_return_dict = bool(python_return_dict)
        self._close_on_exit = close_on_exit
        self._events = ev.EventRegistry()
        self._config = Config(environment)
        # behind the internal interface below: library code and backends never set these
        self.__drives = []
        self.__state = STATE_CONFIG
        self.__closed = False
        self.__backend = None
        self.__client = None
        self.__appliance = None
        self.__module_state = {}
        self._busy = False
        self._tmpdir = None
        self._last_errno = 0
        _live_handles.add(self)

    # ---- context manager & finalisation ----
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # ---- events (python-guestfs API) ----
    def set_event_callback(self, cb, event_bitmask):
        self._check_open()
        return self._events.add(cb, event_bitmask)

    def delete_event_callback(self, event_handle):
        self._events.remove(event_handle)

    @staticmethod
    def event_to_string(events):
        return ev.event_to_string(events)

    def last_errno(self):
        return self._last_errno

    # ---- the internal interface: what library code (guestkit/library) and backends use ----
    # They read the handle's state through these properties and change it only through
    # these methods, never by setting its fields.

    @property
    def _state(self):
        """STATE_CONFIG, STATE_LAUNCHING, STATE_READY or STATE_DEAD."""
        return self.__state

    def _set_state(self, state):
        """Move the handle to STATE (launch and shutdown do)."""
        self.__state = state

    @property
    def _drives(self):
        """The drives added so far (guestkit.images.Drive), in add order: drive i is
        /dev/sd<disk_letters(i)> in the appliance.  A tuple: add with _add_drives.  A
        backend uses the drives launch() is given rather than this."""
        return tuple(self.__drives)

    def _add_drives(self, drives):
        """Append DRIVES (checked Drive objects), all of them or none.  Callers check
        labels and the limit with their own messages first; this only refuses to go over
        MAX_DRIVES."""
        drives = list(drives)
        if len(self.__drives) + len(drives) > MAX_DRIVES:
            raise Error("too many drives (at most %d)" % MAX_DRIVES, "EINVAL")
        self.__drives.extend(drives)

    def _remove_drive(self, drive):
        """Forget DRIVE (remove_drive: before launch, or once it has been unplugged)."""
        self.__drives.remove(drive)

    @property
    def _appliance(self):
        """The appliance (kernel, initrd, root) the running launch booted, or None."""
        return self.__appliance

    @property
    def _backend(self):
        """The Backend running this handle's appliance, or None."""
        return self.__backend

    @property
    def _client(self):
        """The protocol client connected to the appliance's daemon, or None."""
        return self.__client

    def _attach(self, appliance=None, backend=None, client=None):
        """Record the pieces of the appliance as launch makes them: the APPLIANCE it
        boots, the BACKEND running it, the CLIENT talking to its daemon (arguments left
        None keep what was recorded)."""
        if appliance is not None:
            self.__appliance = appliance
        if backend is not None:
            self.__backend = backend
        if client is not None:
            self.__client = client

    def _detach(self):
        """Forget the running appliance (after shutdown, or a failed launch) and return
        (client, backend) as they were, for the caller to close and stop."""
        client, backend = self.__client, self.__backend
        self.__client = self.__backend = None
        return client, backend

    @property
    def _closed(self):
        """True once close() ran: every further call raises ClosedHandle."""
        return self.__closed

    def _mark_closed(self):
        """End of close(): the handle is closed and its private directory removed."""
        self.__closed = True
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _module_state(self, name):
        """The dict in which library module NAME keeps what it remembers between calls on
        this handle (inspection results, libvirt credentials being asked, a seclabel from
        add_domain), made empty on first use; it lives as long as the handle."""
        return self.__module_state.setdefault(name, {})

    # ---- helpers used by backends and library implementations ----
    def _check_open(self):
        if self._closed:
            raise ClosedHandle()

    def _prop(self, name):
        return self._config.get(name)

    def _backend_setting_value(self, name):
        return self._config.backend_setting(name)

    def _cachedir(self):
        """The private per-user cache (appliances, the KVM verdict)."""
        return self._config.user_cache()

    def _socket_base(self, quiet=True):
        """The directory in which the handle's private directory (which holds its unix
        sockets) is made."""
        base = self._config.tmpdir()
        if len(os.fsencode(base)) > MAX_SOCKET_BASE:
            # the appliance's unix sockets live in this directory, and a socket's path
            # holds at most 107 bytes: with a longer TMPDIR, go where libguestfs puts
            # its sockets ($XDG_RUNTIME_DIR, else /tmp)
            short = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
            if not os.path.isdir(short) or len(os.fsencode(short)) > MAX_SOCKET_BASE:
                short = "/tmp"
            if not quiet:
                self._debug("the temporary directory %s is too long a path for unix "
                            "sockets: using %s for this handle's" % (base, short))
            base = short
        return base

    def _hv_params(self):
        """The hypervisor parameters config added: (param, value or None) pairs."""
        from .library.handleprops import hv_params
        return hv_params(self)

    def _handle_tmpdir(self):
        if self._tmpdir is None:
            base = self._socket_base(quiet=False)
            self._tmpdir = tempfile.mkdtemp(prefix="guestkit.", dir=base)
            os.chmod(self._tmpdir, 0o700)
        return self._tmpdir

    def _debug(self, msg):
        if self._prop("verbose"):
            text = "guestkit: %s\n" % msg
            if not self._events.emit(ev.EVENT_LIBRARY, text):
                sys.stderr.write(text)

    def _warning(self, msg):
        text = "guestkit: warning: %s" % msg
        if not self._events.emit(ev.EVENT_WARNING, text):
            if self._prop("verbose"):
                sys.stderr.write(text + "\n")

    def _appliance_output(self, data):
        if self._events.wants(ev.EVENT_APPLIANCE):
            self._events.emit(ev.EVENT_APPLIANCE, data)
        elif self._prop("verbose"):
            sys.stderr.buffer.write(data)
            sys.stderr.flush()

    def _trace(self, text):
        if not self._events.emit(ev.EVENT_TRACE, text):
            sys.stderr.write(text + "\n")

    def _on_progress(self, serial, pos, total):
        self._events.emit(ev.EVENT_PROGRESS, b"", [0, serial, pos, total])

    # ---- the generic call path ----
    def _call(self, action, args, kwargs):
        args, optargs, tracing = self._begin_call(action, args, kwargs)
        try:
            if action.daemon:
                result = self._daemon_call(action, args, optargs)
            else:
                result = IMPLEMENTATIONS[action.name](self, *args, **optargs)
        except Error as e:
            self._call_failed(action, e, tracing)
            raise
        return self._call_succeeded(action, result, tracing)

    def _begin_call(self, action, args, kwargs):
        """Check a call of ACTION (the handle open, the arguments, the state it needs), send
        ENTER and trace it; returns (args, optargs, tracing).  The asyncio handle calls it
        too."""
        self._check_open()
        try:
            args, optargs = action.check_args(args, kwargs)
        except ValueError as e:
            raise Error(str(e), "EINVAL") from None
        if action.state == CONFIG and self._state != STATE_CONFIG:
            raise Error("%s: this function can only be called in the config state, before "
                        "launch" % action.name, "EINVAL")
        if action.state == LAUNCHED and self._state != STATE_READY:
            if self._state == STATE_DEAD:
                raise Error("%s: the appliance was shut down; create a new handle"
                            % action.name, "EINVAL")
            raise Error("%s: call launch first (the appliance is not running)"
                        % action.name, "EINVAL")
        self._events.emit(ev.EVENT_ENTER, action.name.encode())
        tracing = self._prop("trace")
        if tracing:
            ra, ro = action.redact(args, optargs)
            self._trace("guestkit: trace: %s%s" % (action.name, "".join(
                " %s" % _fmt(a) for a in ra) + "".join(
                " \"%s:%s\"" % (k, v) for k, v in ro.items())))
        return args, optargs, tracing

    def _call_failed(self, action, e, tracing):
        """Record the Error E of a call begun by _begin_call."""
        self._last_errno = e.errno or 0
        if tracing:
            self._trace("guestkit: trace: %s = -1 (error: %s)" % (action.name, e))

    def _call_succeeded(self, action, result, tracing):
        """The RESULT of a call begun by _begin_call, shaped as python-guestfs returns it."""
        result = self._shape(action, result)
        if tracing:
            shown = "***" if action.secret_ret else _fmt(result)
            self._trace("guestkit: trace: %s = %s" % (action.name, shown))
        return result

    def _daemon_call(self, action, args, optargs):
        wire, upload, download = action.split_streams(args)
        self._busy = True
        try:
            return self._client.call(action.name, wire, optargs, upload=upload,
                                     download=download, ret=action.ret)
        except Error as e:
            from .client import SessionLost
            if isinstance(e, SessionLost):
                self._lost(str(e))
            raise
        finally:
            self._busy = False

    def _lost(self, why):
        """The appliance died or broke the protocol: clean up so close() is quick."""
        self.__state = STATE_DEAD
        if self.__backend is not None:
            try:
                self.__backend.shutdown(graceful=False)
            except Exception:
                pass
            self._events.emit(ev.EVENT_SUBPROCESS_QUIT)

    def _shape(self, action, r):
        ret = action.ret
        if isinstance(ret, RBool):
            return 1 if r else 0
        if isinstance(ret, RHashtable):
            pairs = [tuple(p) for p in (r or [])]
            return dict(pairs) if self._python_return_dict else pairs
        if isinstance(ret, RStruct):
            return dict(r) if r is not None else r
        if isinstance(ret, RStructList):
            return [dict(x) for x in r]
        return r

def _fmt(v):
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (bytes, bytearray)):
        return '<%d bytes>' % len(v) if len(v) > 64 else repr(bytes(v))
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return repr(v)


# ---- methods from the table -------------------------------------------------------------------

def _make_method(action):
    posnames = [k.name for k in action.args]
    optnames = [k.name for k in action.optargs]
    npos, nall = len(posnames), len(posnames) + len(optnames)

    if action.deprecated_by:
        warning = "use GuestFS.%s() instead of GuestFS.%s()" % (action.deprecated_by,
                                                               action.name)
    else:
        warning = "do not use GuestFS.%s()" % action.name if action.deprecated else None

    def method(self, *args, **kwargs):
        if warning:
            warnings.warn(warning, DeprecationWarning, stacklevel=2)
        if len(args) > npos:
            # optional arguments given positionally, in declaration order, as
            # python-guestfs takes them (g.add_drive_opts("x.img", 1, "raw"))
            if len(args) > nall:
                raise TypeError("%s() takes at most %d arguments (%d given)" % (
                    action.name, nall, len(args)))
            for name, value in zip(optnames, args[npos:]):
                if name in kwargs:
                    raise TypeError("%s() got multiple values for argument %r" % (
                        action.name, name))
                kwargs[name] = value
            args = args[:npos]
        elif kwargs and len(args) < npos:
            # positional arguments given by name, as python-guestfs allows
            args = list(args)
            for name in posnames[len(args):]:
                if name not in kwargs:
                    break
                args.append(kwargs.pop(name))
        return self._call(action, args, kwargs)
    method.__signature__ = signature(action)
    method.__annotations__ = {p.name: p.annotation
                              for p in method.__signature__.parameters.values()
                              if p.annotation is not inspect.Parameter.empty}
    method.__annotations__["return"] = method.__signature__.return_annotation
    method.__name__ = action.name
    method.__qualname__ = "GuestFS." + action.name
    method.__doc__ = docstring(action)
    return method


def signature(action):
    """The Python signature of ACTION's method: positional arguments, then the optional
    ones (positional-or-keyword, default None), annotated."""
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    params += [P(k.name, P.POSITIONAL_OR_KEYWORD, annotation=annotation(k))
               for k in action.args]
    params += [P(k.name, P.POSITIONAL_OR_KEYWORD, default=None,
                 annotation=typing.Optional[annotation(k)]) for k in action.optargs]
    return inspect.Signature(params, return_annotation=return_annotation(action.ret))


def annotation(kind):
    """The type a caller passes for argument KIND."""
    from .actions import table as T
    if isinstance(kind, T.OptString):
        return typing.Optional[str]
    if isinstance(kind, T.StringList):
        return typing.List[str]
    if isinstance(kind, T.Bool):
        return bool
    if isinstance(kind, T.Int):
        return int
    if isinstance(kind, T.BufferIn):
        return typing.Union[bytes, str]
    if isinstance(kind, T.Pointer):
        return typing.Any
    return str


def return_annotation(ret):
    """The type an action returning RET gives back."""
    from .actions import table as T
    Struct = typing.Dict[str, typing.Any]
    for cls, ann in ((T.RErr, None), (T.RBool, int), (T.RInt, int), (T.RInt64, int),
                     (T.ROptString, typing.Optional[str]), (T.RString, str),
                     (T.RStringList, typing.List[str]), (T.RStructList, typing.List[Struct]),
                     (T.RStruct, Struct),
                     (T.RHashtable, typing.Union[typing.List[typing.Tuple[str, str]],
                                                 typing.Dict[str, str]]),
                     (T.RBufferOut, bytes)):
        if isinstance(ret, cls):
            return ann
    return typing.Any


def docstring(action):
    """help(g.NAME): the action's description from the table, then its arguments, return
    value, errors, state and feature group."""
    import textwrap
    from .actions.table import CONFIG, LAUNCHED
    wrap = textwrap.TextWrapper(width=79, break_long_words=False, break_on_hyphens=False)
    out = []
    for para in action.doc.split("\n\n"):
        out.append(wrap.fill(" ".join(para.split())))
        out.append("")
    items = [(k.name, k.label + ("; " + k.doc if k.doc else "")) for k in action.args]
    items += [(k.name, "optional, %s%s; default: unset (None)" % (
        k.label, "; " + k.doc if k.doc else "")) for k in action.optargs]
    if items:
        out.append("Arguments:")
        for name, text in items:
            out.append(textwrap.fill(text, 79, initial_indent="    %s: " % name,
                                     subsequent_indent="        "))
        if action.optargs:
            out.append("    Optional arguments may be given by keyword or positionally "
                       "after the others,")
            out.append("    in the order above.")
        out.append("")
    out.append("Returns: %s." % action.ret.label)
    out.append("")
    errs = ["Raises guestkit.Error (a RuntimeError carrying errno) when the action fails,",
            "TypeError or guestkit.Error (EINVAL) for a badly typed or invalid argument."]
    if action.state == CONFIG:
        errs.append("Only before launch: afterwards it fails with EINVAL.")
    elif action.state == LAUNCHED:
        errs.append("Needs a launched handle (runs in the appliance); before launch it "
                    "fails with EINVAL.")
    out.extend(errs)
    if action.deprecated_by:
        out.append("Deprecated: use %s instead (calling this warns with "
                   "DeprecationWarning)." % action.deprecated_by)
    elif action.deprecated:
        out.append("Deprecated, with no replacement (calling this warns with "
                   "DeprecationWarning).")
    if action.aliases:
        out.append("Also available as: %s." % ", ".join(action.aliases))
    return "\n".join(out).rstrip() + "\n"


for _name, _action in ACTIONS.items():
    setattr(GuestFS, _name, _make_method(_action))
for _alias, _target in ALIASES.items():
    setattr(GuestFS, _alias, getattr(GuestFS, _target))
