"""Handlers for the ntfs actions of guestkit/actions/ntfs.py (standard library only).

ntfsclone and ntfscat stream through pipes (archive._stream_out and archive._stream_in), so
big filesystems never land in the appliance's memory and a cancel stops the tool.
"""

from .archive import _stream_in, _stream_out
from .fstools import _fstype, _refuse_mounted, do_ntfsresize
from .util import DaemonError, device, fail, run


def _clean(text):
    """A tool's messages without its banner and progress lines."""
    keep = []
    for line in text.replace("\r", "\n").splitlines():
        s = line.strip()
        if not s or "percent completed" in s or s.startswith(("ntfsclone v", "ntfscat v")):
            continue
        keep.append(s)
    return "\n".join(keep[-20:])


def _error(argv, messages, code):
    """The error of ARGV that failed with exit status CODE, from its MESSAGES (bytes)."""
    text = _clean(bytes(messages).decode("utf-8", "replace")) or "exit status %d" % code
    return DaemonError("%s: %s" % (argv[0], text), "EIO")


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
    # its messages on either output make the error
    _stream_in(ctx, ["ntfsclone", "--restore-image", "--overwrite", dev, "-"],
               with_stdout=True, error=_error)


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
