"""Handlers for the ntfs actions of guestkit/actions/ntfs.py (standard library only).

ntfsclone and ntfscat stream through pipes (archive._stream_out, and _feed here), so big
filesystems never land in the appliance's memory and a cancel stops the tool.
"""

import os
import subprocess
import threading

from .archive import _kill, _stream_out
from .fstools import _fstype, _refuse_mounted, do_ntfsresize
from .util import ENV, DaemonError, device, fail, run

_ERR_TAIL = 16 << 10


def _clean(text):
    """A tool's messages without its banner and progress lines."""
    keep = []
    for line in text.replace("\r", "\n").splitlines():
        s = line.strip()
        if not s or "percent completed" in s or s.startswith(("ntfsclone v", "ntfscat v")):
            continue
        keep.append(s)
    return "\n".join(keep[-20:])


def _feed(ctx, argv):
    """Feed the FileIn stream to ARGV's standard input, with progress; its messages (on
    either output) make the error if it fails."""
    err = bytearray()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=ENV, close_fds=True)
    except FileNotFoundError:
        ctx.stop_sender()
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None

    def drain():
        while True:
            b = p.stdout.read1(65536)
            if not b:
                return
            err.extend(b)
            if len(err) > 2 * _ERR_TAIL:
                del err[:-_ERR_TAIL]
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    infd = p.stdin.fileno()
    pos = 0
    try:
        try:
            for chunk in ctx.instream():
                view = memoryview(chunk)
                while view:
                    n = os.write(infd, view)
                    view = view[n:]
                pos += len(chunk)
                ctx.progress(pos, 0)
        except BrokenPipeError:
            # the tool stopped reading: it failed, or the data goes on after the image
            ctx.stop_sender()
            broken = True
        else:
            broken = False
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        code = p.wait()
        t.join()
        if broken and code == 0:
            ctx.drain_in()
    except BaseException:
        _kill([p])
        t.join(5)
        raise
    finally:
        p.stdout.close()
    if code != 0:
        text = _clean(bytes(err).decode("utf-8", "replace")) or "exit status %d" % code
        raise DaemonError("%s: %s" % (argv[0], text), "EIO")
    ctx.progress(pos, 0, force=True)


def _out(ctx, argv):
    try:
        _stream_out(ctx, [argv])
    except DaemonError as e:
        raise DaemonError(_clean(str(e)), e.errno_name) from None


def _ntfs(dev, what):
    dev = device(dev)
    t = _fstype(dev)
    if t != "ntfs":
        fail("%s: %s: not an NTFS filesystem (%s)" % (what, dev, t or "no filesystem"))
    return dev


def do_ntfsclone_out(ctx, dev, metadataonly=False, rescue=False, ignorefscheck=False,
                     preservetimestamps=False, force=False):
    dev = _ntfs(dev, "ntfsclone_out")
    argv = ["ntfsclone", "--save-image", "--output", "-"]
    if metadataonly:
        argv.append("--metadata")
    if rescue:
        argv.append("--rescue")
    if ignorefscheck:
        argv.append("--ignore-fs-check")
    if preservetimestamps:
        argv.append("--preserve-timestamps")
    if force:
        argv.append("--force")
    _out(ctx, argv + [dev])


def do_ntfsclone_in(ctx, dev):
    try:
        dev = device(dev)
        _refuse_mounted(dev, "ntfsclone_in")
    except BaseException:
        ctx.stop_sender()          # the data has nowhere to go
        raise
    _feed(ctx, ["ntfsclone", "--restore-image", "--overwrite", dev, "-"])


def do_ntfscat_i(ctx, dev, inode):
    dev = _ntfs(dev, "ntfscat_i")
    if inode < 0:
        fail("ntfscat_i: inode must not be negative")
    _refuse_mounted(dev, "ntfscat_i")
    _out(ctx, ["ntfscat", "-i", str(inode), dev])


def do_ntfsfix(ctx, dev, clearbadsectors=False):
    dev = device(dev)
    run(["ntfsfix"] + (["-b"] if clearbadsectors else []) + [dev])


def do_ntfs_3g_probe(ctx, rw, dev):
    dev = device(dev)
    out, err, rc = run(["ntfs-3g.probe", "--readwrite" if rw else "--readonly", dev],
                       check=False)
    return rc


def do_ntfsresize_size(ctx, dev, size):
    do_ntfsresize(ctx, dev, size=size)
