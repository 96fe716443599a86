"""Files and directories of the mounted guest tree.

Every guest path goes through ctx.resolve (chrooted resolution); content is only read from
regular files, opened without blocking, so a guest fifo or device node cannot hang a call.
"""

import errno
import os
import stat
import subprocess

from . import protocol as P
from .guestpath import O_DIR, fd_path, to_guest
from .util import ENV, DaemonError, open_nonblocking, run, tool_error

#: the largest reply cat/read_file/read_lines send: the whole reply frame, encoded, must stay
#: under the protocol's bound or the library would have to end the session
REPLY_LIMIT = P.MAX_JSON - (64 << 10)
#: the largest file read_file returns (its bytes travel base64-encoded: 4 bytes per 3)
MAX_READ = REPLY_LIMIT // 4 * 3


def guest_regular(apath, path, allow_block=False, missing_ok=False, dir_fd=None):
    """Check, without opening it, that the resolved guest file APATH (a name in the directory
    DIR_FD if given) is a regular file (or a block device when ALLOW_BLOCK).  Opening a guest
    device node or fifo can have side effects or block, so what is not a regular file is
    refused before any open.  Returns the lstat result, or None when the file does not exist
    and MISSING_OK."""
    try:
        st = os.lstat(apath, dir_fd=dir_fd)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
    if stat.S_ISREG(st.st_mode) or (allow_block and stat.S_ISBLK(st.st_mode)):
        return st
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise DaemonError("%s: not a regular file" % path, "EINVAL")


def open_guest_read(ctx, path):
    """(fd, stat) of the guest regular file PATH, opened for reading (at any depth)."""
    ctx.need_root()
    try:
        apath = ctx.resolve(path)
    except OSError as e:
        if e.errno != errno.ENAMETOOLONG:
            raise
        # deeper than an appliance path can go: opened relative to its directory
        dirfd, name, _ = ctx.locate(path)
        try:
            guest_regular(name or ".", path, dir_fd=dirfd)
            return open_nonblocking(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dirfd)
        finally:
            os.close(dirfd)
    guest_regular(apath, path)
    return open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW)


def open_guest_write(ctx, path, flags):
    """(fd, stat) of the guest regular file PATH (created 0666 minus the umask if missing),
    opened for writing with FLAGS added."""
    ctx.need_root()
    apath = ctx.resolve(path)
    guest_regular(apath, path, missing_ok=True)
    try:
        return open_nonblocking(apath, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | flags)
    except OSError as e:
        if e.errno in (errno.ENXIO, errno.ELOOP):   # raced into a fifo or a symlink
            raise DaemonError("%s: not a regular file" % path, "EINVAL") from None
        raise


def _read_all(ctx, path):
    fd, st = open_guest_read(ctx, path)
    try:
        if st.st_size > MAX_READ:
            raise DaemonError("%s: file is larger than %d bytes, too large to return in one "
                              "reply; use download instead" % (path, MAX_READ), "EFBIG")
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
    fd, _ = open_guest_write(ctx, path, os.O_APPEND if append else os.O_TRUNC)
    try:
        view = memoryview(content)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def do_touch(ctx, path):
    # guestfs_touch: only regular files (not directories, symlinks, devices ...): the last
    # component is not followed, as libguestfs lstat()s it first
    ctx.need_root()
    guest_regular(ctx.resolve(path, follow=False), path, missing_ok=True)
    fd, _ = open_guest_write(ctx, path, 0)
    try:
        os.utime(fd)
    finally:
        os.close(fd)


def do_write(ctx, path, content):
    _write(ctx, path, content, False)


def do_write_append(ctx, path, content):
    _write(ctx, path, content, True)


def _fits(path, raw_len, result):
    """Refuse (EFBIG) a text result whose encoding would not fit in one reply frame.  JSON
    can spend up to 6 bytes on one byte of a file (\\u00XX), so short files are let through
    without measuring."""
    if raw_len * 6 + 1024 <= REPLY_LIMIT:
        return result
    if len(P.dumps(result)) > REPLY_LIMIT:
        raise DaemonError("%s: the content is too large to return in one reply; use "
                          "download instead" % path, "EFBIG")
    return result


def do_read_file(ctx, path):
    return _read_all(ctx, path)


def do_cat(ctx, path):
    data = _read_all(ctx, path)
    return _fits(path, len(data), data.decode("utf-8", "surrogateescape"))


def do_read_lines(ctx, path):
    raw = _read_all(ctx, path)
    data = raw.decode("utf-8", "surrogateescape")
    if not data:
        return []
    lines = data.split("\n")
    last = lines.pop()          # the text after the last LF: a line only if not empty
    # strip the CR of CRLF line endings (a CR not followed by LF is content)
    lines = [l[:-1] if l.endswith("\r") else l for l in lines]
    if last:
        lines.append(last)
    return _fits(path, len(raw) + 2 * len(lines), lines)


def do_filesize(ctx, path):
    ctx.need_root()
    return ctx.lstat(path).st_size


def do_checksum(ctx, csumtype, path):
    ctx.need_root()
    return checksum_fd(ctx, csumtype, ctx.resolve(path), path)


def _run_stdin(argv, fd):
    """Run a tool with FD as its standard input; returns its standard output."""
    p = subprocess.run(argv, stdin=fd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=ENV)
    if p.returncode != 0:
        raise tool_error(argv, p.stderr, p.returncode)
    return p.stdout.decode("ascii", "replace")


def checksum_fd(ctx, csumtype, apath, path, allow_block=False, dir_fd=None):
    """The checksum of the regular file APATH (a name in the directory DIR_FD if given), the
    guest file PATH."""
    algos = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
    if csumtype != "crc" and csumtype not in algos:
        raise DaemonError("unknown checksum type %r (use crc, %s)" % (csumtype,
                          ", ".join(algos)), "EINVAL")
    guest_regular(apath, path, allow_block=allow_block, dir_fd=dir_fd)
    if csumtype == "crc":
        # cksum reads the file on its standard input: it never opens a guest path itself
        fd, _ = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW, allow_block=allow_block,
                                 dir_fd=dir_fd)
        try:
            out = _run_stdin(["cksum"], fd)
        finally:
            os.close(fd)
        return out.split()[0]
    import hashlib      # imported when needed: it loads OpenSSL, slow at boot under TCG
    h = hashlib.new(csumtype)
    fd, _ = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW, allow_block=allow_block,
                             dir_fd=dir_fd)
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


def _check_mode(mode):
    if mode < 0:
        raise DaemonError("mode %d is negative" % mode, "EINVAL")


def do_mkdir_mode(ctx, path, mode):
    _check_mode(mode)
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
    fd = ctx.open_dir(directory)
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def ls_long(ctx, directory, option, limit=None):
    """The output of ls OPTION on the guest DIRECTORY (or file); LIMIT bounds it (bytes)."""
    ctx.need_root()
    # run ls where the entry is, on a relative name: its output never shows appliance paths,
    # and its directory is reached by a descriptor (it may be deeper than PATH_MAX)
    dirfd, name, st = ctx.locate(directory)
    try:
        if st is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), directory)
        if name is not None and stat.S_ISDIR(st.st_mode):
            fd = os.open(name, O_DIR, dir_fd=dirfd)
            os.close(dirfd)
            dirfd, name = fd, None
        out, _, _ = run(["ls", option, "--", name or "."], cwd=fd_path(dirfd),
                        pass_fds=(dirfd,), limit=limit)
    finally:
        os.close(dirfd)
    return out


def do_ll(ctx, directory):
    return ls_long(ctx, directory, "-la")


def do_exists(ctx, path):
    ctx.need_root()
    try:
        return ctx.stat_or_none(path) is not None
    except OSError:
        return False


def _is(ctx, path, follow, test):
    ctx.need_root()
    try:
        st = ctx.stat_or_none(path, follow=bool(follow))
    except OSError:
        return False
    return st is not None and test(st.st_mode)


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
    return statns_dict(ctx.lstat(path))


def do_lstatns(ctx, path):
    ctx.need_root()
    return statns_dict(ctx.lstat(path, follow=False))


def do_chmod(ctx, mode, path):
    _check_mode(mode)
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
    # link(2) does not follow a symlink in TARGET; os.link would (AT_SYMLINK_FOLLOW), and with
    # the appliance's eyes at that
    os.link(ctx.resolve(target, follow=False), ctx.resolve(linkname, follow=False),
            follow_symlinks=False)


def do_readlink(ctx, path):
    ctx.need_root()
    return os.readlink(ctx.resolve(path, follow=False))


def _source(ctx, src):
    """SRC resolved in the guest with its last component not followed; it must exist."""
    asrc = ctx.resolve(src, follow=False)
    if not os.path.lexists(asrc):
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), src)
    return asrc


def _destination(ctx, asrc, dest):
    """Where a copy or move of ASRC to DEST lands, as cp and mv decide it: DEST itself, or
    DEST/NAME when DEST is a directory.  Resolved in the guest; when the result is DEST/NAME
    its last component is not followed (it may be a guest symlink)."""
    adest = ctx.resolve(dest)
    name = os.path.basename(asrc) if asrc != ctx.sysroot else ""
    if name and os.path.isdir(adest) and not os.path.islink(adest):
        return adest + "/" + name
    return adest


def _is_real_dir(apath):
    return os.path.isdir(apath) and not os.path.islink(apath)


def _run_on(ctx, argv, *apaths):
    """run(ARGV), a tool given the resolved appliance paths APATHS: its messages name the
    guest's paths, never /sysroot (GNU cp, for one, cannot copy a tree deeper than PATH_MAX
    and says which file it could not reach)."""
    try:
        return run(argv)
    except DaemonError as e:
        msg = str(e)
        for apath in sorted(set(apaths), key=len, reverse=True):
            if apath == ctx.sysroot:
                msg = msg.replace(apath + "/", "/").replace("'%s'" % apath, "'/'")
            else:
                msg = msg.replace(apath, to_guest(ctx.sysroot, apath))
        raise DaemonError(msg, e.errno_name) from None


# The copy and move tools run in the appliance, where a guest symlink means something else
# (an absolute target names the appliance's own files).  So they are only ever given paths
# without symlinks, are told not to add a name themselves (-T), and in trees they replace a
# destination symlink instead of writing through it (--remove-destination).

def do_mv(ctx, src, dest):
    ctx.need_root()
    asrc = _source(ctx, src)
    final = _destination(ctx, asrc, dest)
    if os.path.islink(final) and not _is_real_dir(asrc):
        os.unlink(final)        # rename(2) would replace the link itself: the same result
    _run_on(ctx, ["mv", "-T", "--", asrc, final], asrc, final)


def do_cp(ctx, src, dest):
    ctx.need_root()
    asrc = ctx.resolve(src)
    try:
        guest_regular(asrc, src)
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise DaemonError("%s: is a directory (use cp_r or cp_a to copy a tree)" % src,
                              "EISDIR") from None
        raise
    final = _destination(ctx, _source(ctx, src), dest)
    if os.path.islink(final):
        # cp writes through an existing destination symlink: do that in the guest's terms
        final = ctx.resolve(to_guest(ctx.sysroot, final))
    guest_regular(final, dest, missing_ok=True)     # never open a guest fifo or device
    _run_on(ctx, ["cp", "-T", "--", asrc, final], asrc, final)


def _cp_tree(ctx, flags, src, dest):
    ctx.need_root()
    asrc = _source(ctx, src)
    final = _destination(ctx, asrc, dest)
    _run_on(ctx, ["cp"] + flags + ["--remove-destination", "-T", "--", asrc, final], asrc,
            final)


def do_cp_a(ctx, src, dest):
    _cp_tree(ctx, ["-a"], src, dest)


def do_cp_r(ctx, src, dest):
    _cp_tree(ctx, ["-r", "-P"], src, dest)


def do_umask(ctx, mask):
    if not 0 <= mask <= 0o777:
        raise DaemonError("umask: %o is not a valid mask" % mask, "EINVAL")
    old = os.umask(mask)
    ctx.server.state["umask"] = mask
    return old


def do_get_umask(ctx):
    return ctx.server.state["umask"]
