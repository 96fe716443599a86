"""Watching one launch attempt: how far the appliance got, and why it failed.

A launch goes through three stages, and the error names the one that failed:

- qemu: the hypervisor starts and connects the daemon's channel;
- kernel: the appliance kernel boots until PID 1 writes the init marker on the console
  (daemon/contract.py), which it does even when the kernel itself prints nothing;
- daemon: PID 1 sets the appliance up and the daemon sends its greeting.

Under KVM the watch also decides whether a failure is KVM's: qemu saying so
(``KVM internal error``, ``emulation failure``, an assertion in its KVM code), qemu dying of
SIGABRT/SIGSEGV, or the kernel giving no sign of life within KVM_SILENCE seconds, longer
than a software-emulated boot takes to reach the same point.  Such an error carries
``kvm=True`` and the backend falls back to TCG (WatchedLaunch); the verdict is cached once
the TCG launch worked, for good when qemu named KVM, for a day when only the way qemu
stopped pointed at it.
"""

import time

from .base import KVM_FAILURE_NEEDLES, KVM_UNUSABLE_NEEDLES, LaunchError
from . import kvm as kvm_verdict

#: seconds a launch under KVM may go without the init marker before KVM is blamed (a TCG
#: boot here reaches it in about 1.5 s); the kvm_timeout backend setting overrides it
KVM_SILENCE = 5.0
#: seconds after which a verdict from silence alone is tested again
VERDICT_RETRY = 86400

KVM_CAUSE = ("KVM cannot run the appliance on this host (without force_kvm guestkit falls "
             "back to TCG by itself; force_tcg skips KVM)")

STAGE_TEXT = {
    "qemu": "qemu did not start the appliance",
    "kernel": "the appliance kernel did not boot",
    "daemon": "the kernel booted but the daemon did not start",
}

# (text seen on the console, stage or None for any, the likely cause); first match wins
_CAUSES = tuple((n, None, KVM_CAUSE) for n in KVM_FAILURE_NEEDLES) + tuple(
    (n, None, "KVM is not usable here: use force_tcg, or load the kvm module and make "
              "/dev/kvm accessible") for n in KVM_UNUSABLE_NEEDLES) + (
    ("Initramfs unpacking failed", None,
     "the appliance does not fit in its memory: raise memsize (set_memsize)"),
    ("Out of memory", None, "the appliance ran out of memory: raise memsize (set_memsize)"),
    ("out of memory", None, "the appliance ran out of memory: raise memsize (set_memsize)"),
    ("Unable to mount root", None,
     "the kernel found no initramfs: the appliance in the cache may be damaged; remove "
     "the cache directory (get_cachedir_in_use) and launch again"),
    ("No working init found", None,
     "the appliance's init cannot run: remove the cache directory (get_cachedir_in_use) "
     "and launch again"),
    ("Kernel panic", None,
     "the appliance kernel panicked: the lines below say why; try another kernel "
     "(GUESTKIT_KERNEL)"),
    ("Could not open", "qemu", "qemu cannot open a file it was given"),
    ("Permission denied", "qemu", "qemu is not allowed to open a file it was given"),
    ("Traceback", "daemon",
     "the daemon crashed while starting: the lines below say where (this is a guestkit "
     "bug; please report it with the console output of set_verbose(True))"),
    ("virtio-serial port", "daemon",
     "the appliance kernel has no virtio-serial console port (virtio_console module)"),
)


def likely_cause(stage, lines):
    """One line saying what most likely went wrong, from what the console showed."""
    for needle, where, cause in _CAUSES:
        if where not in (None, stage):
            continue
        if any(needle in line for line in lines):
            return cause
    if stage == "kernel" and not any(l.strip() for l in lines):
        return ("the kernel printed nothing: it may be hung early in its boot; "
                "set_verbose(True) shows the boot")
    return None


class BootWatch:
    """The watch over one launch attempt.  BACKEND has a ConsoleLog in .console and a
    _gone() method returning None while the appliance runs, else (why, suspect) where
    suspect says the way it stopped points at KVM (a signal, a pause).  KVM: the attempt
    runs under KVM; SILENCE: seconds without the init marker before KVM is blamed (None:
    never, e.g. when a debugger holds the CPU)."""

    def __init__(self, backend, kvm, silence):
        self.backend = backend
        self.kvm = kvm
        self.silence = silence
        self.t0 = time.monotonic()
        self.connected = False          # set once the appliance dialled the channel

    def started(self):
        """The hypervisor is running now: the silence limit counts from here (starting it
        may take long, e.g. libvirt probing a new emulator)."""
        self.t0 = time.monotonic()

    def stage(self):
        if not self.connected:
            return "qemu"
        return "daemon" if self.backend.console.init_seen else "kernel"

    def trouble(self):
        """A LaunchError when the appliance will not come up, else None."""
        console = self.backend.console
        if self.kvm and console.kvm_failure:
            return self.error("qemu reported: %s" % console.kvm_failure, kvm=True)
        gone = self.backend._gone()
        if gone is not None:
            why, suspect = gone
            panicked = any("Kernel panic" in l for l in list(console.lines))
            # _gone() waited for qemu's last words: they may name KVM only now
            if self.kvm and console.kvm_failure is not None:
                return self.error(why, kvm=True)
            # no word from qemu, only the way it stopped: a verdict re-tested after a day
            kvm = self.kvm and suspect and not panicked
            return self.error(why, kvm=kvm, retry_after=VERDICT_RETRY if kvm else None)
        if (self.kvm and self.silence is not None and not console.init_seen
                and time.monotonic() - self.t0 > self.silence):
            # slowness may be passing (a loaded host): this verdict is re-tested after a day
            return self.error("no sign of the kernel within %.0f s under KVM (a TCG boot "
                              "gets there sooner)" % self.silence, kvm=True,
                              retry_after=VERDICT_RETRY)
        return None

    def error(self, why, kvm=False, retry_after=None):
        """A LaunchError naming the stage, WHY, the likely cause and the console's end.
        It keeps WHY in .reason and, for a KVM verdict that may not last, RETRY_AFTER
        (seconds) in .retry_after."""
        stage = self.stage()
        lines = self.backend.console.notable + list(self.backend.console.lines)
        cause = KVM_CAUSE if kvm else likely_cause(stage, lines)
        text = "%s: %s" % (STAGE_TEXT[stage], why)
        if cause:
            text += ".  Likely cause: %s" % cause
        text += self.backend.console.describe(
            "; the console printed nothing (set_verbose(True) shows the boot)")
        err = LaunchError(text, kvm=kvm)
        err.reason, err.retry_after = why, retry_after
        return err


def silence_limit(backend):
    """KVM_SILENCE, or the kvm_timeout setting; None (no limit) when the gdb setting holds
    the CPU, or when force_kvm rules out a fallback and no kvm_timeout was given."""
    if backend._setting("gdb") is not None:
        return None
    value = backend._setting("kvm_timeout")
    if value is None:
        return None if backend._setting("force_kvm") is not None else KVM_SILENCE
    try:
        return float(value)
    except ValueError:
        raise LaunchError("kvm_timeout must be a number of seconds") from None


class WatchedLaunch:
    """What the qemu backends (direct, libvirt, and plugins built on them) share: each
    launch attempt sets self.watch (a BootWatch) and self._qemu (the binary); the greeting
    wait consults the watch, and a KVM failure falls back to TCG (self._no_kvm, which the
    backend reads when it chooses the accelerator)."""
    watch = None
    _qemu = None
    _no_kvm = False

    def launch_trouble(self):
        return self.watch.trouble() if self.watch else None

    def launch_failed(self, what):
        return self.watch.error(what) if self.watch else super().launch_failed(what)

    #: the KVM verdict to record once the TCG launch has worked: (reason, retry_after)
    _pending_verdict = None
    #: False where a verdict about this host's KVM means nothing (a remote libvirt)
    _verdict_is_local = True

    def fall_back(self, error):
        if self.watch is None or not self.watch.kvm or not getattr(error, "kvm", False):
            return False
        if self._setting("force_kvm") is not None:
            return False
        reason = getattr(error, "reason", None) or str(error).split("\n", 1)[0]
        self._pending_verdict = (reason, getattr(error, "retry_after", None))
        self.handle._warning("KVM failed while the appliance started (%s); launching again "
                             "under TCG, which is slower%s" % (reason, (
                                 ".  Later launches use TCG directly (the verdict is cached "
                                 "in %s)" % self.handle._cachedir())
                                 if self._verdict_is_local else ""))
        self._no_kvm = True
        return True

    def launch_done(self):
        """The launch worked: a fallback's verdict is now worth keeping."""
        if self._pending_verdict is not None and self._verdict_is_local:
            reason, retry_after = self._pending_verdict
            kvm_verdict.record_failure(self._qemu, self.handle._cachedir(), reason,
                                       retry_after)
        self._pending_verdict = None
