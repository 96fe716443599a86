"""The interface every backend, built-in or third-party, implements.

A backend turns a handle's drives and settings into a running appliance and hands back a
connected byte stream to its daemon.  Backends are found with stevedore in the
``guestkit.backends`` namespace; nothing is special-cased for the built-in ones.
"""

import abc
import collections
import os
import select
import socket
import time
import weakref

from ..daemon.contract import INIT_MARKER

DEFAULT_LAUNCH_TIMEOUT = 300.0

#: console lines worth quoting in an error even after a long stack trace pushed them out of
#: the last lines
NOTABLE_NEEDLES = ("Kernel panic", "Unable to mount root", "Out of memory", "Traceback",
                   "KVM internal error")

#: what qemu prints when KVM cannot run the guest (qemu then pauses or aborts)
KVM_FAILURE_NEEDLES = ("KVM internal error", "emulation failure", "kvm run failed",
                       "KVM: entry failed", "kvm_buf_set_msrs")
#: what qemu prints when it cannot use KVM at all
KVM_UNUSABLE_NEEDLES = ("Could not access KVM kernel module", "failed to initialize kvm",
                        "failed to initialize KVM")


class LaunchError(Exception):
    """The backend could not start the appliance; the message says why.

    kvm: the failure is KVM's (the same appliance may well run under TCG), which lets a
    backend that used KVM fall back by itself."""

    def __init__(self, message, kvm=False):
        super().__init__(message)
        self.kvm = kvm


class HandleGone(Exception):
    """The handle a backend served was dropped while the backend still worked."""


class Backend(abc.ABC):
    #: the name users select it by (set_backend / GUESTKIT_BACKEND)
    name = None
    #: settings this backend understands: {name: one-line description}
    settings_doc = {}
    #: False when the appliance outlives the handle (a shared server): shutdown then only
    #: syncs and disconnects, it does not power the appliance off
    owns_appliance = True

    def __init__(self, handle, param=None):
        self.handle = handle          # the GuestFS handle: config, drives, events
        self.param = param            # text after "name:" in the backend name, or None

    # The handle is held weakly, so that handle and backend make no reference cycle:
    # dropping the last reference to a handle (del g) closes it at once and stops its
    # appliance, as with python-guestfs.  The handle re-binds itself before shutdown.
    @property
    def handle(self):
        h = self._handle_ref()
        if h is None:
            raise HandleGone("the guestkit handle this backend served is gone")
        return h

    @handle.setter
    def handle(self, h):
        self._handle_ref = weakref.ref(h)

    @classmethod
    def host_supported(cls):
        """(True, "") if this backend can run on this host, else (False, why not)."""
        return True, ""

    @abc.abstractmethod
    def launch(self, appliance, drives, tmpdir):
        """Start the appliance; return a connected socket to its daemon (after the daemon's
        greeting has NOT been read yet).  Raise LaunchError with a clear message."""

    @abc.abstractmethod
    def shutdown(self, graceful=True):
        """Stop the appliance: wait for it to power off when graceful, force otherwise.
        Returns the hypervisor's exit status, or None."""

    def pid(self):
        """The hypervisor's process id, or None."""
        return None

    #: when launch() gave up waiting (time.monotonic); set by backends that wait
    _deadline = None

    def remaining(self):
        """Seconds left of the launch timeout, for the daemon's greeting (at least 1)."""
        if self._deadline is None:
            return DEFAULT_LAUNCH_TIMEOUT
        return max(1.0, self._deadline - time.monotonic())

    def _setting(self, name):
        """The value of backend setting NAME ("" for a bare flag), or None if not set."""
        return self.handle._backend_setting_value(name)

    def launch_timeout(self):
        """Seconds to wait for the appliance: the launch_timeout setting, else
        GUESTKIT_LAUNCH_TIMEOUT, else 300."""
        try:
            return float(self._setting("launch_timeout") or
                         os.environ.get("GUESTKIT_LAUNCH_TIMEOUT") or DEFAULT_LAUNCH_TIMEOUT)
        except ValueError:
            raise LaunchError("launch_timeout must be a number of seconds") from None

    def console_tail(self):
        """The last lines the appliance printed on its console (for error messages)."""
        return []

    # -- while the handle waits for the daemon's greeting --
    def launch_trouble(self):
        """Called every few tens of milliseconds until the daemon greets: a LaunchError if
        the appliance will not come up (waiting longer is pointless), else None."""
        return None

    def launch_failed(self, what):
        """The LaunchError to raise when the daemon's greeting did not come; WHAT is the
        client's account (timed out, connection closed).  Backends that watch a console
        say which stage failed and why."""
        tail = self.console_tail()[-10:]
        return LaunchError(what + ("; last console lines:\n  " + "\n  ".join(tail)
                                   if tail else ""))

    #: the daemon's greeting when launch() already has it: a backend that restored a saved
    #: appliance talked to the daemon itself (it does not greet twice); None otherwise
    greeting = None

    # -- hot-plugging: drives added or removed while the appliance runs --
    @classmethod
    def hotplug_supported(cls):
        """(True, what can be plugged) or (False, why not), for ``guestkit backends``."""
        return False, "this backend does not implement hot-plugging"

    @classmethod
    def snapshot_supported(cls):
        """(True, how) when launches restore a saved appliance instead of booting it, or
        (False, why not), for ``guestkit backends``."""
        return False, "the appliance boots on every launch"

    def plug(self, client, drive, target, label=None):
        """Attach DRIVE (a guestkit.images.Drive) to the running appliance as SCSI target
        TARGET and have the daemon attach it (CLIENT.call("internal_attach", ...), which
        returns its disk name, returned here).  LABEL: its /dev/disk/guestfs name."""
        raise LaunchError("backend %s cannot hot-plug drives: %s"
                          % (self.name, self.hotplug_supported()[1]))

    def unplug(self, client, drive):
        """Detach DRIVE: first CLIENT.call("internal_detach", ...), which refuses while the
        drive is in use, then the hypervisor's side."""
        raise LaunchError("backend %s cannot hot-unplug drives: %s"
                          % (self.name, self.hotplug_supported()[1]))

    def launch_done(self):
        """Called once the daemon greeted (the launch worked)."""

    def fall_back(self, error):
        """After a failed launch (ERROR, a LaunchError), prepare the next launch() to avoid
        the cause and return True, or return False to give up.  The appliance of the
        failed attempt has been shut down already.  The default gives up."""
        return False


class ConsoleLog:
    """What the appliance printed on its console: every chunk goes to the handle (APPLIANCE
    events), the last lines are kept for error messages.  Bounded whatever the guest prints.

    It also notes the two things a launch watches for: the line PID 1 writes once the
    kernel has started it (init_seen), and the hypervisor saying that KVM failed
    (kvm_failure, the first such line)."""

    def __init__(self, handle, maxlines=60):
        # held weakly: the thread feeding the log must not keep the handle alive, so that
        # dropping the last reference to the handle closes it and stops the appliance
        self._handle = weakref.ref(handle)
        self.lines = collections.deque(maxlen=maxlines)
        self._partial = b""
        self.init_seen = False
        self.kvm_failure = None
        self.notable = []               # the first few NOTABLE_NEEDLES lines

    def feed(self, data):
        handle = self._handle()
        if handle is not None:
            handle._appliance_output(data)
        *lines, rest = (self._partial + data).split(b"\n")
        self._partial = rest[-4096:]            # no newline for ever: stay bounded
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip("\r")
            self.lines.append(text)
            if not self.init_seen and INIT_MARKER in line:
                self.init_seen = True
            if self.kvm_failure is None and any(n in text for n in KVM_FAILURE_NEEDLES):
                self.kvm_failure = text[:200]
            if len(self.notable) < 4 and any(n in text for n in NOTABLE_NEEDLES):
                self.notable.append(text[:300])

    def flush(self):
        if self._partial:
            self.lines.append(self._partial.decode("utf-8", "replace"))
            self._partial = b""

    def describe(self, empty=""):
        """The notable lines and the last non-empty ones, as the end of an error message."""
        lines = [l for l in list(self.lines) if l.strip()][-12:]
        earlier = [l for l in list(self.notable) if l not in lines]
        if earlier:
            lines = earlier + ["..."] + lines
        return ("; last console lines:\n  " + "\n  ".join(lines)) if lines else empty


class ApplianceListener:
    """The unix socket, in the handle's private directory, that the appliance's daemon
    channel connects to (qemu or libvirt dials it)."""

    def __init__(self, tmpdir):
        self.path = os.path.join(tmpdir, "guestkitd.sock")
        try:
            os.unlink(self.path)        # left by an earlier launch that failed
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.bind(self.path)
            os.chmod(self.path, 0o600)
            self.sock.listen(1)
        except OSError:
            self.close()
            raise

    def accept(self, timeout, trouble, timed_out):
        """The connection, once the appliance dials in (within TIMEOUT seconds; the
        deadline stays in self.deadline).  TROUBLE() returns a LaunchError when the
        appliance can no longer come (it stopped, KVM failed), else None; TIMED_OUT(text)
        makes the error raised when the time is up."""
        self.deadline = time.monotonic() + timeout
        while True:
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if r:
                conn, _ = self.sock.accept()
                conn.settimeout(None)
                return conn
            err = trouble()
            if err is not None:
                raise err
            if time.monotonic() > self.deadline:
                raise timed_out("the appliance did not connect within %.0f s" % timeout)

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
