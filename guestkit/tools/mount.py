"""``guestkit mount`` and ``guestkit unmount``: guestmount's and guestunmount's jobs.

``guestkit mount -a IMAGE -i|-m DEV[:MNT] [--ro] MOUNTPOINT`` shows the guest's filesystems
on a host directory through FUSE (mount_local + mount_local_run) and, unless --no-fork, goes
into the background once the mount is ready.  ``guestkit unmount MOUNTPOINT`` removes such a
mount, retrying while it is busy.
"""

import argparse
import errno
import faulthandler
import os
import signal
import sys
import time

from .common import ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit mount"
UPROG = "guestkit unmount"

#: guestunmount's exit statuses
EXIT_ERROR, EXIT_BUSY, EXIT_NOT_MOUNTED = 1, 2, 3
DEFAULT_RETRIES = 5


def _parser():
    ap = guest_parser(PROG, "mount a guest's filesystems on a host directory through FUSE, "
                            "as guestmount does", mounts=True, writable=True)
    ap.add_argument("-r", dest="readonly", action="store_true",
                    help="same as --ro: every change fails with EROFS")
    ap.add_argument("-w", dest="readonly", action="store_false", help="same as --rw")
    ap.add_argument("-i", "--inspector", action="store_true",
                    help="mount the filesystems of the operating system inspection finds, "
                         "where it mounts them")
    ap.add_argument("-o", "--option", action="append", default=[], metavar="OPTION",
                    help="a FUSE mount option (allow_other, default_permissions, ...); "
                         "repeatable, or comma-separated")
    ap.add_argument("--dir-cache-timeout", type=int, default=None, metavar="SECONDS",
                    help="how long attributes, listings and link targets are cached "
                         "(default 60)")
    ap.add_argument("--debug-calls", action="store_true",
                    help="report every FUSE call and its result on standard error")
    ap.add_argument("-n", "--no-sync", action="store_true",
                    help="do not sync the guest's disks when the mount ends")
    ap.add_argument("--no-fork", action="store_true",
                    help="stay in the foreground until the mount is unmounted (^C "
                         "unmounts)")
    ap.add_argument("--fd", type=int, default=None, metavar="FD",
                    help="write one byte to this file descriptor (a pipe) once the mount is "
                         "ready")
    ap.add_argument("--pid-file", metavar="FILE",
                    help="write the process id of the process serving the mount to FILE")
    ap.add_argument("mountpoint", metavar="MOUNTPOINT",
                    help="the host directory to mount the guest on")
    return ap


def _ready(ns):
    """The mount is in place: tell who asked (--pid-file, --fd)."""
    if ns.pid_file:
        with open(ns.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    if ns.fd is not None:
        try:
            os.write(ns.fd, b"1")
            os.close(ns.fd)
        except OSError as e:
            raise ToolError("--fd %d: %s" % (ns.fd, e.strerror)) from None


def _on_signal(signum, frame):
    raise KeyboardInterrupt


def _serve(ns, notify=None):
    """Open the guest, mount it and serve it until it is unmounted; NOTIFY() once ready."""
    g = open_guest(ns, mount=True, pgroup=True,
                   setup=(lambda g: g.set_autosync(False)) if ns.no_sync else None)
    try:
        g.mount_local(ns.mountpoint, readonly=ns.readonly,
                      options=",".join(ns.option) or None,
                      cachetimeout=ns.dir_cache_timeout, debugcalls=ns.debug_calls)
        _ready(ns)
        if notify is not None:
            notify()
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, _on_signal)
        # SIGUSR1 prints every thread's stack on standard error: what a server that does
        # not end is doing, for a bug report
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        try:
            g.mount_local_run()
        except KeyboardInterrupt:
            return 0 if notify is not None else 130
    finally:
        g.close()
    return 0


def mount(argv):
    ap = _parser()
    ns = ap.parse_args(argv)
    for o in ns.option:
        if not o or any(c in o for c in "\0\n"):
            raise ToolError("-o %r: not a FUSE option" % o)
    if ns.inspector and ns.mounts:
        raise ToolError("-i and -m do not go together")
    if not ns.inspector and not ns.mounts:
        raise ToolError("say what to mount: -i (inspection) or -m DEV[:MOUNTPOINT]")
    if not ns.drives:
        raise ToolError("no disk given: use -a IMAGE or -d GUEST")
    if not os.path.isdir(ns.mountpoint):
        raise ToolError("%s: not a directory" % ns.mountpoint)
    ns.mountpoint = os.path.abspath(ns.mountpoint)
    if ns.no_fork:
        return _serve(ns)
    return _daemonise(ns)


def _daemonise(ns):
    """Fork before anything starts (no thread, no appliance yet); the parent returns once
    the child says the mount is ready, or fails with the child's error."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(wfd)
        with os.fdopen(rfd, "rb") as r:
            ok = r.read(1) == b"1"
        if ok:
            return 0
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return code if code > 0 else 1
    os.close(rfd)
    os.setsid()
    status = 1

    def notify():
        os.write(wfd, b"1")
        os.close(wfd)
        # the serving process keeps no terminal: its messages would land anywhere
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
    try:
        status = run_tool(PROG, lambda argv: _serve(ns, notify), [])
    finally:
        os._exit(status)


def main(argv):
    return run_tool(PROG, mount, argv)


# ---- guestkit unmount -----------------------------------------------------------------------

def _uparser():
    ap = argparse.ArgumentParser(prog=UPROG, description="unmount a guest mounted with "
                                 "guestkit mount, as guestunmount does; exit status 0 when "
                                 "unmounted, 1 on an error, 2 when it stayed busy, 3 when "
                                 "nothing is mounted there")
    ap.add_argument("--fd", type=int, default=None, metavar="FD",
                    help="first wait until the other end of this pipe is closed")
    ap.add_argument("--no-retry", action="store_true",
                    help="try once: a busy mount fails at once")
    ap.add_argument("--retry", type=int, default=DEFAULT_RETRIES, metavar="N",
                    help="try again up to N times while the mount is busy, waiting longer "
                         "each time (default %d)" % DEFAULT_RETRIES)
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="print no error messages (the exit status still tells)")
    ap.add_argument("-v", "--verbose", action="store_true", help="say what is done")
    ap.add_argument("mountpoint", metavar="MOUNTPOINT")
    return ap


def _mounted(mountpoint):
    """True when a FUSE filesystem is mounted at MOUNTPOINT (not looking at the mount
    itself, which may hang or be dead)."""
    from ..library.mount_local import _mount_id
    return _mount_id(mountpoint) is not None


def unmount(argv):
    ap = _uparser()
    ns = ap.parse_args(argv)

    def say(text):
        if not ns.quiet:
            sys.stderr.write("%s: %s\n" % (UPROG, text))
    if ns.retry < 0:
        ap.error("--retry must not be negative")
    if ns.fd is not None:
        try:
            while os.read(ns.fd, 4096):
                pass
        except OSError as e:
            if e.errno != errno.EPIPE:
                say("--fd %d: %s" % (ns.fd, e.strerror))
                return EXIT_ERROR
    parent = os.path.realpath(os.path.dirname(os.path.abspath(ns.mountpoint)))
    mp = os.path.join(parent, os.path.basename(os.path.abspath(ns.mountpoint)))
    if not _mounted(mp):
        say("%s is not a mounted FUSE filesystem" % ns.mountpoint)
        return EXIT_NOT_MOUNTED
    from ..library.mount_local import fusermount
    tries = 1 if ns.no_retry else ns.retry + 1
    wait = 0.25
    msg = ""
    for i in range(tries):
        if i:
            if ns.verbose:
                say("busy; trying again in %g s" % wait)
            time.sleep(wait)
            wait *= 2
        ok, msg = fusermount(mp)
        if ok:
            if ns.verbose:
                say("%s unmounted" % mp)
            return 0
        if not _mounted(mp):            # someone else unmounted it meanwhile
            return 0
    say("%s could not be unmounted: %s" % (mp, msg or "busy"))
    return EXIT_BUSY


def unmount_main(argv):
    try:
        return unmount(argv)
    except KeyboardInterrupt:
        return EXIT_ERROR
