"""Handlers for rsync, rsync_in and rsync_out (standard library only).

rsync runs in the appliance on resolved guest paths.  It is never given --copy-links, so it
does not follow a guest symlink while reading a tree; on the receiving side an existing guest
symlink where the source has a directory is replaced, not written through (rsync keeps
directory links only with --keep-dirlinks, which is never passed).  rsync_in and rsync_out
talk to an rsync daemon only: the appliance has no remote shell to start rsync elsewhere.

rsync cannot handle a name longer than its MAXPATHLEN (4096 bytes, relative to where it
starts): it copies the rest and fails with exit status 23.  That failure is reported as
ENAMETOOLONG naming the guest path, never as a partial success; rsync's messages are shown
with guest paths, never the appliance's /sysroot.
"""

import os
import re

from .util import DaemonError, fail, run_tool

CONNECT_TIMEOUT = 30
# rsync://HOST[:PORT]/MODULE[/PATH] or HOST::MODULE[/PATH], with HOST maybe USER@HOST or [v6]
_DAEMON_RE = re.compile(r"^(rsync://[^/\s]+/[^\s]*|[^:/\s]+::[^\s]*)$")
_OVERFLOW_RE = re.compile(r"filename overflows max-path len by \d+: ([^\n]*)")


def _remote(remote):
    if not remote or remote.startswith("-"):
        fail("remote: %r is not an rsync daemon address" % remote)
    if not _DAEMON_RE.match(remote):
        fail("remote: %r is not an rsync daemon address (rsync://HOST[:PORT]/MODULE/PATH or "
             "HOST::MODULE/PATH; the appliance has no remote shell for HOST:PATH)" % remote)
    return remote


def _network_up():
    try:
        names = [n for n in os.listdir("/sys/class/net") if n != "lo"]
    except FileNotFoundError:
        return False
    for n in names:
        try:
            with open("/sys/class/net/%s/flags" % n) as f:
                if int(f.read(), 16) & 1:          # IFF_UP (the carrier may come later)
                    return True
        except (OSError, ValueError):
            continue
    return False


def _local(ctx, path):
    """The appliance path of guest PATH, keeping a trailing slash (rsync's "contents of")."""
    apath = ctx.resolve(path)
    if path.endswith("/") and not apath.endswith("/"):
        apath += "/"
    return apath


def _rsync(ctx, options, src, dest, archive=None, deletedest=None, guest_src=None):
    """Run rsync, sending pulse-mode PROGRESS while it works (rsync's own --info=progress2
    halves its speed here); user_cancel stops it (what it copied so far stays).  GUEST_SRC:
    the guest path the source is, when it is one (for messages)."""
    argv = ["rsync"] + options
    if archive:
        argv.append("--archive")
    if deletedest:
        argv.append("--delete")

    def on_tick():
        ctx.progress(0, 0)
        ctx.check_cancel()

    ctx.progress(0, 0, force=True)
    try:
        run_tool(argv + ["--", src, dest], None, lambda _out: None, on_tick=on_tick)
    except DaemonError as e:
        raise _rsync_error(ctx, e, guest_src) from None


def _rsync_error(ctx, e, guest_src):
    """rsync's failure E, with guest paths in its message; a name too long for rsync is
    ENAMETOOLONG naming the guest path."""
    msg = str(e).replace(ctx.sysroot + "/", "/").replace('"%s"' % ctx.sysroot, '"/"')
    m = _OVERFLOW_RE.search(msg)
    if m is None:
        return DaemonError(msg, e.errno_name)
    name = m.group(1)
    if guest_src is not None:
        # rsync names files from the source directory ("src/") or from its parent ("src")
        if guest_src.endswith("/"):
            base = guest_src
        else:
            base = guest_src.rstrip("/").rsplit("/", 1)[0]
        name = base.rstrip("/") + "/" + name
    return DaemonError("rsync: %s: this name is longer than rsync can handle (4096 bytes, its "
                       "MAXPATHLEN): it and what it holds were not copied (the rest was)"
                       % name, "ENAMETOOLONG")


def do_rsync(ctx, src, dest, archive=None, deletedest=None):
    ctx.need_root()
    _rsync(ctx, [], _local(ctx, src), _local(ctx, dest), archive, deletedest, src)


def _daemon_options():
    if not _network_up():
        fail("the appliance has no network: call set_network(True) before launch", "ENETDOWN")
    return ["--contimeout=%d" % CONNECT_TIMEOUT]


def do_rsync_in(ctx, remote, dest, archive=None, deletedest=None):
    ctx.need_root()
    remote = _remote(remote)
    _rsync(ctx, _daemon_options(), remote, _local(ctx, dest), archive, deletedest)


def do_rsync_out(ctx, src, remote, archive=None, deletedest=None):
    ctx.need_root()
    remote = _remote(remote)
    _rsync(ctx, _daemon_options(), _local(ctx, src), remote, archive, deletedest, src)
