"""upload / download: streamed in large chunks, with progress and cancellation."""

import errno
import os
import stat

from .util import DaemonError, device, open_nonblocking


def _target(ctx, remote, for_write):
    if remote.startswith("/dev/"):
        return device(remote), True
    ctx.need_root()
    return ctx.resolve(remote), False


def do_upload(ctx, remotefilename):
    apath, is_dev = _target(ctx, remotefilename, True)
    flags = os.O_WRONLY
    if not is_dev:
        flags |= os.O_CREAT | os.O_TRUNC
    try:
        fd, _ = open_nonblocking(apath, flags, allow_block=is_dev)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise DaemonError("%s: not a regular file" % remotefilename, "EINVAL") from None
        raise
    pos = 0
    try:
        for chunk in ctx.instream():
            view = memoryview(chunk)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            pos += len(chunk)
            ctx.progress(pos, 0)
    finally:
        os.close(fd)


def do_download(ctx, remotefilename):
    apath, is_dev = _target(ctx, remotefilename, False)
    fd, st = open_nonblocking(apath, os.O_RDONLY, allow_block=is_dev)
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
            ctx.progress(pos, total)
        ctx.progress(pos, total, force=True)
    finally:
        os.close(fd)
