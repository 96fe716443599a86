"""``guestkit test-tool``: check, one step at a time, that this host can launch the
appliance, and say what to install or set when it cannot (guestkit's counterpart of
libguestfs-test-tool).  Exit status 0 only when a real launch and a few calls worked."""

import argparse
import os
import platform
import subprocess
import sys
import time

from ..events import EVENT_APPLIANCE, EVENT_LIBRARY, EVENT_WARNING

ENV_PREFIXES = ("GUESTKIT_", "LIBGUESTFS_", "SUPERMIN_")
ENV_NAMES = ("TMPDIR", "LIBVIRT_DEFAULT_URI")
HV_VARS = ("GUESTKIT_HV", "LIBGUESTFS_HV", "LIBGUESTFS_QEMU")
KERNEL_VARS = ("GUESTKIT_KERNEL", "SUPERMIN_KERNEL")
QEMU_HINT = "install qemu-system-x86 (apt-get install qemu-system-x86)"
KVM_HINTS = {"does not exist": "load kvm_intel or kvm_amd, or enable virtualization "
                               "(VT-x/AMD-V, or nested virtualization) for this machine",
             "not accessible": "add this user to the group that owns /dev/kvm (usually kvm)"}
CALLS = [("part_disk", ("/dev/sda", "mbr")), ("mkfs", ("ext4", "/dev/sda1")),
         ("mount", ("/dev/sda1", "/")), ("write", ("/test", "hello")), ("cat", ("/test",)),
         ("umount_all", ()), ("shutdown", ())]


class StepFailed(Exception):
    """A step that did not pass; the message says why and what to install or set."""


class Run:
    """What the steps share: the options, the output, the handle, what was found so far."""

    def __init__(self, args, out):
        self.args, self.out = args, out
        self.g = self.qemu = None
        self._midline = False               # the console's last chunk ended mid-line

    def say(self, tag, text):
        self.line("[%s] %s" % (tag, text))

    def line(self, text):
        self.write("%s%s\n" % ("\n" if self._midline else "", text))

    def write(self, text):
        self.out.write(text)
        self.out.flush()
        self._midline = not text.endswith("\n")

    def event(self, event, _eh, buf, _array):
        text = buf.decode("utf-8", "replace")
        if event == EVENT_WARNING:
            self.say("info", text.strip())
        elif text:                          # the appliance console, library debug lines
            self.write(text)


# ---- the steps, in order: each prints its lines, or raises StepFailed -------------------------

def check_guestkit(run):
    import guestkit
    run.say("info", "host: %s" % " ".join(platform.uname()[i] for i in (0, 2, 4)))
    run.say("info", "python: %s (%s)" % (platform.python_version(), sys.executable))
    g = run.g = guestkit.GuestFS(python_return_dict=True)
    v = g.version()
    run.say("info", "guestkit: %d.%d.%d%s" % (v["major"], v["minor"], v["release"], v["extra"]))
    if run.args.backend:
        g.set_backend(run.args.backend)
    if run.args.timeout:
        g.set_backend_setting("launch_timeout", "%g" % run.args.timeout)
    verbose = EVENT_APPLIANCE | EVENT_LIBRARY if run.args.verbose else 0
    g.set_event_callback(run.event, EVENT_WARNING | verbose)
    g.set_verbose(run.args.verbose)


def show_environment(run):
    names = sorted(n for n in os.environ if n.startswith(ENV_PREFIXES) or n in ENV_NAMES)
    for name in names:
        run.say("info", "env: %s=%s" % (name, os.environ[name]))
    if not names:
        run.say("info", "env: no variable that affects launching is set")
    settings = ":".join(run.g.get_backend_settings()) or "none"
    run.say("info", "backend: %s (settings: %s)" % (run.g.get_backend(), settings))


def check_qemu(run):
    from ..backends.base import LaunchError
    from ..backends.hypervisor import find_qemu
    hv = run.g._prop("hv")
    if hv and not os.path.isfile(hv):
        var = next((v for v in HV_VARS if os.environ.get(v)), "the hv setting")
        raise StepFailed("%s does not exist (set by %s): unset %s or point it at a "
                         "qemu-system-x86_64 binary" % (hv, var, var))
    try:
        run.qemu = find_qemu(hv)
    except LaunchError:
        raise StepFailed("qemu-system-x86_64 not found: " + QEMU_HINT) from None
    try:
        p = subprocess.run([run.qemu, "--version"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise StepFailed("cannot run %s: %s" % (run.qemu, e)) from None
    if p.returncode != 0:
        raise StepFailed("%s --version failed (status %d): %s"
                         % (run.qemu, p.returncode, p.stderr.strip()[-300:]))
    version = (p.stdout.splitlines() or ["no version printed"])[0]
    run.say(" ok ", "qemu: %s (%s)" % (run.qemu, version))


def check_kernel(run):
    from ..appliance.builder import ApplianceError, find_kernel
    try:
        path, release = find_kernel()
    except ApplianceError as e:
        var = next((v for v in KERNEL_VARS if os.environ.get(v)), None)
        hint = "; unset %s or point it at a readable vmlinuz" % var if var else ""
        raise StepFailed(str(e) + hint) from None
    run.say(" ok ", "kernel: %s (release %s)" % (path, release))


def check_appliance(run):
    from ..appliance.builder import ApplianceError, get_appliance
    t0 = time.monotonic()
    try:
        app = get_appliance(cachedir=run.g._cachedir())
    except (ApplianceError, OSError) as e:
        raise StepFailed("the appliance could not be built in %s: %s"
                         % (run.g.get_cachedir_in_use(), e)) from None
    run.say(" ok ", "appliance: %s (cache %s, ready in %.1f s)"
            % (app.path, run.g.get_cachedir_in_use(), time.monotonic() - t0))


def check_kvm(run):
    from ..backends import kvm
    for setting in ("force_tcg", "force_kvm"):
        if run.g._backend_setting_value(setting) is not None:
            run.say("info", "kvm: not probed: the backend setting %s is set" % setting)
            return
    cachedir = run.g._cachedir()
    works, reason, cached = kvm.probe(run.qemu, cachedir)
    when = "probed now"
    if cached:
        t = (kvm.cached_verdict(run.qemu, cachedir) or {}).get("time")
        when = "verdict cached %.0f min ago" % ((time.time() - t) / 60) if t else "cached"
    if works:
        run.say(" ok ", "kvm: used (%s; %s)" % (reason, when))
    else:
        hint = next((h for key, h in KVM_HINTS.items() if key in reason), None)
        run.say("info", "kvm: not used (%s; %s): launches run under TCG, which is slower%s"
                % (reason, when, "; to use KVM, " + hint if hint else ""))
    run.say("info", "kvm: GUESTKIT_BACKEND_SETTINGS=force_tcg skips KVM and its probe")


def list_backends(run):
    from ..plugins import discover, split_backend
    exts, failures = discover()
    selected = split_backend(run.g.get_backend())[0]
    for name in sorted(set(exts) | set(failures)):
        if name in failures:
            ok, why = False, "failed to load: %s" % failures[name]
        else:
            try:
                ok, why = exts[name].plugin.host_supported()
            except Exception as e:        # a plugin's own check must not stop the test
                ok, why = False, "host_supported() raised %s: %s" % (type(e).__name__, e)
        run.say("info", "backend %s%s: %s" % (name, " (selected)" if name == selected else "",
                                              "can run here" if ok else "cannot run here: " + why))


def check_launch(run):
    g = run.g
    g.add_drive_scratch(64 * 1024 * 1024)
    t0 = time.monotonic()
    try:
        g.launch()
    except Exception as e:
        hint = "" if run.args.verbose else "\n(run again with --verbose to see the console)"
        raise StepFailed("%s%s" % (e, hint)) from None
    accel = getattr(g._backend, "accel", None)
    hello = g._client.hello or {}
    if hello.get("restored"):
        how = ", restored from a snapshot"
    elif getattr(g._backend, "cold_reason", None):
        how = ", booted cold (%s)" % g._backend.cold_reason
    else:
        how = ""
    run.say(" ok ", "launch: %s backend%s%s, %.1f s" % (
        g.get_backend(), ", accelerator %s" % accel if accel else "", how,
        time.monotonic() - t0))


def check_calls(run):
    for name, args in CALLS:
        try:
            result = getattr(run.g, name)(*args)
        except Exception as e:
            raise StepFailed("%s%r failed: %s" % (name, args, e)) from None
        if name == "cat" and result != "hello":
            raise StepFailed("cat('/test') returned %r instead of 'hello'" % (result,))
    run.say(" ok ", "calls: %s" % ", ".join(name for name, _ in CALLS))


STEPS = [("guestkit", check_guestkit), ("environment", show_environment),
         ("qemu", check_qemu), ("kernel", check_kernel), ("appliance", check_appliance),
         ("kvm", check_kvm), ("backends", list_backends), ("launch", check_launch),
         ("calls", check_calls)]


def run_steps(run):
    """Run the steps in order; after a failure, skip the rest.  (step, reason) or None."""
    failed = None
    for name, step in STEPS:
        if failed:
            run.say("skip", "%s: skipped because the %s step failed" % (name, failed[0]))
            continue
        try:
            step(run)
        except Exception as e:            # a diagnostic tool reports; it does not crash
            reason = str(e) if isinstance(e, StepFailed) else "%s: %s" % (type(e).__name__, e)
            run.say("FAIL", "%s: %s" % (name, reason))
            failed = (name, reason)
    return failed


def main(argv, out=None):
    ap = argparse.ArgumentParser(
        prog="guestkit test-tool",
        description="check step by step that guestkit can launch its appliance on this "
                    "host, and say what to install or set when it cannot")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print the appliance console and guestkit's debug messages")
    ap.add_argument("--backend", metavar="NAME", help="launch with this backend")
    ap.add_argument("--timeout", type=float, metavar="SECONDS",
                    help="give up launching after this long (backend setting launch_timeout)")
    args = ap.parse_args(argv)
    if args.timeout is not None and not args.timeout > 0:
        ap.error("--timeout must be a positive number of seconds")
    run = Run(args, out or sys.stdout)
    try:
        failed = run_steps(run)
    finally:
        if run.g is not None:
            run.g.close()
    if failed:
        run.line("TEST FAILED: %s: %s" % (failed[0], (failed[1].splitlines() or [""])[0]))
        return 1
    run.line("TEST FINISHED OK")
    return 0
