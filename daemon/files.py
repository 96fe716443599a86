"""Files and directories of the mounted guest tree.

Every guest path goes through ctx.resolve (chrooted resolution); content is only read from
regular files, opened without blocking, so a guest fifo or device node cannot hang a call.
"""

import errno
import os
import stat

from .util import DaemonError, open_nonblocking, run

#: the largest file cat/read_file/read_lines return in one reply (use download beyond)
MAX_READ = 48 << 20


def _read_all(ctx, path):
    ctx.need_root()
    fd, st = open_nonblocking(ctx.resolve(path), os.O_RDONLY)
    try:
        if st.st_size > MAX_READ:
            raise DaemonError("%s: file is larger than %d bytes; use download instead"
                              % (path, MAX_READ), "EFBIG")
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            total += len(b)
            if total > MAX_READ:
                raise DaemonError("%s: file grew beyond %d bytes" % (path, MAX_READ), "EFBIG")
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _write(ctx, path, content, append):
    ctx.need_root()
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    apath = ctx.resolve(path)
    try:
        fd, _ = open_nonblocking(apath, flags)
    except OSError as e:
        if e.errno == errno.ENXIO:   # a fifo with no reader
            raise DaemonError("%s: not a regular file" % path, "EINVAL") from None
        raise
    try:
        view = memoryview(content)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def do_touch(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path)
    try:
        fd, _ = open_nonblocking(apath, os.O_WRONLY | os.O_CREAT, regular_only=False)
        os.close(fd)
    except OSError as e:
        if e.errno not in (errno.EISDIR, errno.ENXIO):
            raise
    os.utime(apath)


def do_write(ctx, path, content):
    _write(ctx, path, content, False)


def do_write_append(ctx, path, content):
    _write(ctx, path, content, True)


def do_read_file(ctx, path):
    return _read_all(ctx, path)


def do_cat(ctx, path):
    return _read_all(ctx, path).decode("utf-8", "surrogateescape")


def do_read_lines(ctx, path):
    data = _read_all(ctx, path).decode("utf-8", "surrogateescape")
    if not data:
        return []
    lines = data.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def do_filesize(ctx, path):
    ctx.need_root()
    return os.stat(ctx.resolve(path)).st_size


def do_checksum(ctx, csumtype, path):
    ctx.need_root()
    return checksum_fd(ctx, csumtype, ctx.resolve(path), path)


def checksum_fd(ctx, csumtype, apath, path, allow_block=False):
    algos = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
    if csumtype == "crc":
        fd, _ = open_nonblocking(apath, os.O_RDONLY, allow_block=allow_block)
        os.close(fd)
        out, _, _ = run(["cksum", "--", apath])
        return out.split()[0]
    if csumtype not in algos:
        raise DaemonError("unknown checksum type %r (use crc, %s)" % (csumtype,
                          ", ".join(algos)), "EINVAL")
    import hashlib      # imported when needed: it loads OpenSSL, slow at boot under TCG
    h = hashlib.new(csumtype)
    fd, _ = open_nonblocking(apath, os.O_RDONLY, allow_block=allow_block)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


# ---- tree ----

def do_mkdir(ctx, path):
    ctx.need_root()
    os.mkdir(ctx.resolve(path))


def do_mkdir_mode(ctx, path, mode):
    ctx.need_root()
    os.mkdir(ctx.resolve(path), mode)


def do_mkdir_p(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path)
    if os.path.isdir(apath):
        return
    os.makedirs(apath, exist_ok=True)


def do_rmdir(ctx, path):
    ctx.need_root()
    os.rmdir(ctx.resolve(path, follow=False))


def do_rm(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path, follow=False)
    if os.path.isdir(apath) and not os.path.islink(apath):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    os.unlink(apath)


def do_rm_f(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path, follow=False)
    if os.path.isdir(apath) and not os.path.islink(apath):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    try:
        os.unlink(apath)
    except FileNotFoundError:
        pass


def do_rm_rf(ctx, path):
    ctx.need_root()
    apath = ctx.resolve(path, follow=False)
    if apath == ctx.sysroot:
        raise DaemonError("refusing to remove the guest's root directory", "EINVAL")
    run(["rm", "-rf", "--one-file-system", "--", apath])


def do_ls(ctx, directory):
    ctx.need_root()
    return sorted(os.listdir(ctx.resolve(directory)))


def do_ll(ctx, directory):
    ctx.need_root()
    out, _, _ = run(["ls", "-la", "--", ctx.resolve(directory)])
    return out


def do_exists(ctx, path):
    ctx.need_root()
    try:
        return os.path.exists(ctx.resolve(path))
    except OSError:
        return False


def _is(ctx, path, follow, test):
    ctx.need_root()
    try:
        st = os.lstat(ctx.resolve(path, follow=bool(follow)))
    except OSError:
        return False
    return test(st.st_mode)


def do_is_file(ctx, path, followsymlinks=None):
    return _is(ctx, path, followsymlinks, stat.S_ISREG)


def do_is_dir(ctx, path, followsymlinks=None):
    return _is(ctx, path, followsymlinks, stat.S_ISDIR)


def do_is_symlink(ctx, path):
    return _is(ctx, path, False, stat.S_ISLNK)


def statns_dict(st):
    d = {"st_dev": st.st_dev, "st_ino": st.st_ino, "st_mode": st.st_mode,
         "st_nlink": st.st_nlink, "st_uid": st.st_uid, "st_gid": st.st_gid,
         "st_rdev": st.st_rdev, "st_size": st.st_size, "st_blksize": st.st_blksize,
         "st_blocks": st.st_blocks}
    for t in ("atime", "mtime", "ctime"):
        sec, nsec = divmod(getattr(st, "st_%s_ns" % t), 10 ** 9)
        d["st_%s_sec" % t] = sec
        d["st_%s_nsec" % t] = nsec
    d["st_spare1"] = d["st_spare2"] = d["st_spare3"] = 0
    d["st_spare4"] = d["st_spare5"] = d["st_spare6"] = 0
    return d


def do_statns(ctx, path):
    ctx.need_root()
    return statns_dict(os.stat(ctx.resolve(path)))


def do_lstatns(ctx, path):
    ctx.need_root()
    return statns_dict(os.lstat(ctx.resolve(path, follow=False)))


def do_chmod(ctx, mode, path):
    ctx.need_root()
    os.chmod(ctx.resolve(path), mode)


def do_chown(ctx, owner, group, path):
    ctx.need_root()
    os.chown(ctx.resolve(path), owner, group)


def do_lchown(ctx, owner, group, path):
    ctx.need_root()
    os.lchown(ctx.resolve(path, follow=False), owner, group)


def do_ln_s(ctx, target, linkname):
    ctx.need_root()
    os.symlink(target, ctx.resolve(linkname, follow=False))


def do_ln(ctx, target, linkname):
    ctx.need_root()
    os.link(ctx.resolve(target, follow=False), ctx.resolve(linkname, follow=False))


def do_readlink(ctx, path):
    ctx.need_root()
    return os.readlink(ctx.resolve(path, follow=False))


def do_mv(ctx, src, dest):
    ctx.need_root()
    run(["mv", "--", ctx.resolve(src, follow=False), ctx.resolve(dest)])


def do_cp(ctx, src, dest):
    ctx.need_root()
    fd, _ = open_nonblocking(ctx.resolve(src), os.O_RDONLY)
    os.close(fd)
    run(["cp", "--", ctx.resolve(src), ctx.resolve(dest)])


def do_cp_a(ctx, src, dest):
    ctx.need_root()
    run(["cp", "-a", "--", ctx.resolve(src), ctx.resolve(dest)])


def do_cp_r(ctx, src, dest):
    ctx.need_root()
    run(["cp", "-rP", "--", ctx.resolve(src), ctx.resolve(dest)])


def do_umask(ctx, mask):
    if not 0 <= mask <= 0o777:
        raise DaemonError("umask: %o is not a valid mask" % mask, "EINVAL")
    old = os.umask(mask)
    ctx.server.state["umask"] = mask
    return old


def do_get_umask(ctx):
    return ctx.server.state["umask"]
