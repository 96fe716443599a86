"""upload / download: streamed in large chunks, with progress and cancellation.

Progress of an upload is sent with total 0: the daemon cannot know how much the library
will send; the library knows the size of its host file and reports it in the events.
"""

import errno
import os
import stat

from .files import guest_regular
from .util import DaemonError, device, open_nonblocking, pwrite_all


def _target(ctx, remote):
    if remote.startswith("/dev/"):
        return device(remote), True
    ctx.need_root()
    return ctx.resolve(remote), False


def _open_upload_target(ctx, remotefilename):
    apath, is_dev = _target(ctx, remotefilename)
    if is_dev:
        return open_nonblocking(apath, os.O_WRONLY, allow_block=True)[0]
    # refuse a guest fifo or device node before opening it
    guest_regular(apath, remotefilename, missing_ok=True)
    try:
        fd, _ = open_nonblocking(apath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno in (errno.ENXIO, errno.ELOOP):
            raise DaemonError("%s: not a regular file" % remotefilename, "EINVAL") from None
        raise
    return fd


def do_upload(ctx, remotefilename):
    try:
        fd = _open_upload_target(ctx, remotefilename)
    except BaseException:
        # tell the library to stop streaming: the data has nowhere to go (it answers with
        # CANCEL, which ends the stream the server then drains)
        ctx.stop_sender()
        raise
    try:
        receive_into(ctx, fd)
    finally:
        os.close(fd)


def receive_into(ctx, fd, offset=0):
    """Write the FileIn stream into FD from OFFSET on, with progress; if writing fails the
    library is asked to stop sending."""
    pos = 0
    for chunk in ctx.instream():
        try:
            pwrite_all(fd, chunk, offset + pos)
        except OSError:
            ctx.stop_sender()
            raise
        pos += len(chunk)
        ctx.progress(pos, 0)
    ctx.progress(pos, 0, force=True)


def do_download(ctx, remotefilename):
    apath, is_dev = _target(ctx, remotefilename)
    if not is_dev:
        guest_regular(apath, remotefilename)
    fd, st = open_nonblocking(apath, os.O_RDONLY | (0 if is_dev else os.O_NOFOLLOW),
                              allow_block=is_dev)
    try:
        if stat.S_ISBLK(st.st_mode):
            total = os.lseek(fd, 0, os.SEEK_END)
            os.lseek(fd, 0, os.SEEK_SET)
        else:
            total = st.st_size
        pos = 0
        ctx.progress(0, total, force=True)
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            ctx.write(b)
            pos += len(b)
            ctx.progress(pos, max(total, pos))
        ctx.progress(pos, max(total, pos), force=True)
    finally:
        os.close(fd)
