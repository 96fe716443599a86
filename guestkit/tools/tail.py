"""``guestkit tail``: virt-tail's job.  Follows files of a guest as ``tail -f`` does, until
Ctrl-C (or SIGINT), or until every file named has been deleted.

As virt-tail does, each look at the guest is a fresh read-only launch (a disk that changes
under a running appliance would show it stale or inconsistent data): the guest is opened,
the files are checked with statns, what changed is printed, and the appliance is shut down
before waiting.  Between looks the tool only watches the -a images' modification times on
the host, every --sleep-interval seconds (30 by default, virt-tail's pause), and looks
again once an image changed and then stayed still for one interval (so that it does not
read a disk in the middle of being written), or after ten intervals anyway (the only way
to notice changes to -d guests and remote disks).

What is printed for a file that changed follows virt-tail: a banner ``--- FILE ---``
(between two blank lines above and one below) whenever the file shown is not the one shown
last; then, when the file grew by at most 10000 bytes, the new bytes; when it grew more,
shrank, or changed at the same size (replaced, truncated, rewritten), its last 10 lines.
The first look counts as growth from nothing, so a small file is printed whole.  -n N
(guestkit's own: virt-tail has no such option) shows the last N lines instead of 10, also
on the first look, which then never prints more than N lines.  A file that does not exist
(yet) counts as empty; none existing on the first look is an error.  Windows drive letters
and backslashes in paths (virt-tail's Windows path handling) are not understood."""

import os
import signal
import sys
import time

import guestkit

from .common import Keys, ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit tail"
GREW_A_LOT = 10000              # bytes; more than this and only the last lines are shown
RECHECK_AFTER = 10              # intervals without a visible change before looking anyway


def disk_mtime(ns):
    """The latest modification time of the local -a images (0 if there are none)."""
    latest = 0
    for kind, name, _ in ns.drives:
        if kind == "a" and "://" not in name:
            try:
                latest = max(latest, os.stat(name).st_mtime_ns)
            except OSError as e:
                raise ToolError("%s: %s" % (name, e.strerror)) from None
    return latest


def wait_for_change(ns, last):
    """Sleep until the images' mtime moved away from LAST and then held still for one
    interval, or until RECHECK_AFTER intervals passed; the mtime then."""
    seen = disk_mtime(ns)
    for _ in range(RECHECK_AFTER):
        time.sleep(ns.interval)
        now = disk_mtime(ns)
        if now != seen:                 # still being written: give it another interval
            seen = now
            continue
        if now != last:
            return now
    return disk_mtime(ns)


class Follower:
    """What was last seen of each file, and what to print when it changed."""

    def __init__(self, ns, out):
        self.ns, self.out = ns, out
        self.state = [(0, 0)] * len(ns.files)   # (mtime, size) when last shown
        self.shown = [False] * len(ns.files)
        self.last_shown = -1

    def look(self, g):
        """Check every file once; how many exist."""
        found = 0
        for i, path in enumerate(self.ns.files):
            try:
                st = g.statns(path)
            except guestkit.Error as e:
                if e.errno_name != "ENOENT":
                    raise ToolError("%s: %s" % (path, e)) from None
                self.state[i] = (int(time.time()), 0)   # as if empty until it appears
                continue
            found += 1
            mtime, size = st["st_mtime_sec"], st["st_size"]
            if (mtime, size) == self.state[i]:
                continue
            if i != self.last_shown:
                self.out.write(b"\n\n--- %s ---\n\n" % os.fsencode(path))
            self.last_shown = i
            old = self.state[i][1]
            try:
                if size <= old or size > old + GREW_A_LOT or (
                        self.ns.lines is not None and not self.shown[i]):
                    self._last_lines(g, path)
                else:
                    self.out.write(g.pread(path, size - old, old))
            except guestkit.Error as e:
                self.out.flush()
                sys.stderr.write("%s: %s: %s\n" % (PROG, path, e))
            self.out.flush()
            self.state[i] = (mtime, size)
            self.shown[i] = True
        return found

    def _last_lines(self, g, path):
        n = 10 if self.ns.lines is None else self.ns.lines
        for line in g.tail_n(n, path):
            self.out.write(line.encode("utf-8", "surrogateescape") + b"\n")


def close_whole(g):
    """Close G with SIGINT held back until it is done: a Ctrl-C in the middle of the
    appliance's shutdown would leave it behind; it is taken right after."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    try:
        g.close()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def tail(argv):
    ap = guest_parser(PROG, "follow files of a guest, printing what is added to them, as "
                            "virt-tail does (until Ctrl-C)", mounts=True)
    ap.add_argument("-f", "--follow", action="store_true",
                    help="ignored: the tool always follows, as tail -f")
    ap.add_argument("-n", "--lines", type=int, metavar="N",
                    help="show the last N lines where virt-tail shows 10, and at most N "
                         "on the first look (guestkit's own option)")
    ap.add_argument("-s", "--sleep-interval", dest="interval", type=float, default=30.0,
                    metavar="SECONDS",
                    help="how often to check the disk images for changes (default 30)")
    ap.add_argument("files", nargs="+", metavar="FILE",
                    help="a file of the guest, a full path")
    ns = ap.parse_args(argv)
    if ns.lines is not None and ns.lines < 0:
        raise ToolError("-n %d: expecting a number of lines, 0 or more" % ns.lines)
    if ns.interval <= 0:
        raise ToolError("--sleep-interval must be more than 0 seconds")
    for path in ns.files:
        if not path.startswith("/"):
            raise ToolError("%s: a file of the guest must be a full path, starting with /"
                            % path)
    if not ns.drives:
        raise ToolError("no disk given: use -a IMAGE or -d GUEST")
    follower = Follower(ns, sys.stdout.buffer)
    keys = Keys(ns)
    looking, interrupted = [False], [False]

    def on_sigint(signum, frame):
        if looking[0]:
            interrupted[0] = True
        else:
            raise KeyboardInterrupt
    previous = signal.signal(signal.SIGINT, on_sigint)
    first = True
    g = None
    try:
        last = disk_mtime(ns)
        while True:
            # a Ctrl-C during a look (launch, read, close) is noted and taken when the look
            # is done: raised in the middle of a launch it could leave the appliance's qemu
            # running (in its own process group, qemu never sees the Ctrl-C).  A handler,
            # not a signal mask: the signal may go to any thread of the process.
            looking[0] = True
            try:
                g = open_guest(ns, mount=True, pgroup=True, keys=keys)
                found = follower.look(g)
                g, h = None, g
                h.close()
            finally:
                looking[0] = False
            if interrupted[0]:
                raise KeyboardInterrupt
            if not found:
                if first:
                    raise ToolError("none of the files were found in the disk image")
                sys.stdout.write("%s: all files deleted, exiting\n" % PROG)
                return 0
            first = False
            last = wait_for_change(ns, last)
    except KeyboardInterrupt:           # Ctrl-C: the way to stop following
        sys.stdout.flush()
        return 0
    finally:
        if g is not None:
            close_whole(g)
        signal.signal(signal.SIGINT, previous)


def main(argv):
    return run_tool(PROG, tail, argv)
