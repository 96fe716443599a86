"""Resolve guest paths inside the guest's root, as if chrooted.

``/..`` is ``/``; an absolute symlink target starts again at the guest root; a relative one
continues from the link's directory; more than MAXLINKS symlinks is ELOOP.  Nothing a guest
path names can reach the appliance's own files, /proc or /sys.

resolve() builds an appliance path string, which the kernel refuses beyond PATH_MAX (4096
bytes): a guest tree can be deeper than that.  open_dir(), locate() and lstat() resolve the
same way with directory descriptors, one component at a time (openat with O_NOFOLLOW), so
they reach any depth; tree walks (content.walk) go on from such a descriptor.
"""

import errno
import os
import stat

MAXLINKS = 40
PATH_MAX = 4096
#: open a directory of the guest, never through a symlink
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _split(path):
    return [p for p in path.split("/") if p and p != "."]


_UNKNOWN = object()


def resolve(root, path, follow=True):
    """The appliance path for guest PATH under ROOT.

    With follow=False a symlink in the last component is not followed (for lstat, readlink,
    rm, ...).  Components that do not exist are kept as they are, so the result can name a
    file that is about to be created.
    """
    return _walk(root, path, follow)[0]


def _too_long(path):
    return OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), path)


def resolve_lstat(root, path, follow=True):
    """(resolve(ROOT, PATH, FOLLOW), its lstat or None if it does not exist): the walk has
    usually looked at the last component already, which saves a system call."""
    apath, st = _walk(root, path, follow)
    if st is _UNKNOWN:
        try:
            st = os.lstat(apath)
        except (FileNotFoundError, NotADirectoryError):
            st = None
    return apath, st


#: longest guest path (and root) the fast walk takes: at most 4 bytes a character, far
#: from PATH_MAX together
_FAST_MAX = 256


def _walk(root, path, follow):
    """(appliance path, lstat of it: None if missing, _UNKNOWN if not looked at)."""
    if not path.startswith("/"):
        raise OSError(errno.EINVAL, "path must be absolute", path)
    if len(path) <= _FAST_MAX and "//" not in path and "/." not in path and \
            path[-1] != "/" and len(root) <= _FAST_MAX:
        # the usual path (/etc/fstab): no '.', '..' or empty component, so nothing to
        # rewrite, unless a component is a symlink or something on the way is missing or
        # not a directory; then the full walk below starts again and decides
        found = _walk_plain(root, path, follow)
        if found is not None:
            return found
    todo = _split(path)
    todo.reverse()                      # a stack: next component at the end
    done = []
    links = 0
    last = _UNKNOWN
    while todo:
        comp = todo.pop()
        if comp == "..":
            if done:
                # like the kernel: ".." after something that is not a directory is ENOTDIR
                here = root + "/" + "/".join(done)
                try:
                    if not stat.S_ISDIR(os.lstat(here).st_mode):
                        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    if e.errno == errno.ENAMETOOLONG:
                        raise _too_long(path) from None
                    raise
                done.pop()
            last = _UNKNOWN
            continue
        if not todo and not follow:
            done.append(comp)
            last = _UNKNOWN
            break
        cand = root + "/" + "/".join(done + [comp])
        try:
            st = os.lstat(cand)
        except FileNotFoundError:
            done.append(comp)
            last = None
            continue
        except NotADirectoryError:
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path) from None
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:
                # deeper than an appliance path can go: say which guest path, as text
                raise _too_long(path) from None
            raise
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAXLINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            target = os.readlink(cand)
            if target.startswith("/"):
                done = []
            parts = _split(target)
            parts.reverse()
            todo.extend(parts)
            last = _UNKNOWN
        else:
            done.append(comp)
            last = st
    apath = root + ("/" + "/".join(done) if done else "")
    if len(os.fsencode(apath)) >= PATH_MAX:
        raise _too_long(path)
    return apath, last


def _walk_plain(root, path, follow):
    """_walk() of PATH (absolute, with only plain components) when each directory on the way
    is a directory and the last component is not a symlink to follow; else None."""
    lstat = os.lstat
    i = path.find("/", 1)
    try:
        while i > 0:
            if not stat.S_ISDIR(lstat(root + path[:i]).st_mode):
                return None
            i = path.find("/", i + 1)
        if not follow:
            return root + path, _UNKNOWN
        apath = root + path
        st = lstat(apath)
    except FileNotFoundError:
        if i > 0:
            return None             # a missing directory on the way: the full walk says
        return apath, None
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return None
    return apath, st


# ---- the same resolution with directory descriptors: no length limit ---------------------

def _ident(st):
    return st.st_dev, st.st_ino


def reopen(basefd, names, idents, what):
    """A descriptor of BASEFD/NAMES..., opened one component at a time without following
    symlinks, each directory checked against IDENTS ((st_dev, st_ino) of each level).
    OSError naming WHAT if the tree no longer holds those directories."""
    fd = os.dup(basefd)
    try:
        for name, ident in zip(names, idents):
            nxt = os.open(name, O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
            if _ident(os.fstat(fd)) != ident:
                raise OSError(errno.ESTALE, "the directory changed while it was read", what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def parent_of(fd, basefd, names, idents, what):
    """A descriptor of the parent of the directory FD, reached as BASEFD/NAMES[:-1] whose
    levels have IDENTS: openat(FD, "..") when that is the directory we came from (checked by
    device and inode: a corrupt filesystem can give a directory a second name, and '..' of
    a mount's root leaves the mount), else opened again from BASEFD by name."""
    want = idents[-2] if len(idents) > 1 else _ident(os.fstat(basefd))
    try:
        up = os.open("..", O_DIR, dir_fd=fd)
    except OSError:
        up = None
    if up is not None:
        if _ident(os.fstat(up)) == want:
            return up
        os.close(up)
    return reopen(basefd, names[:-1], idents[:-1], what)


def locate(root, path, follow=True):
    """Resolve guest PATH under ROOT like resolve(), with descriptors: returns (dirfd, name,
    st), the caller closing DIRFD.  NAME is the last component, in the directory DIRFD,
    with ST its lstat (None if it does not exist; a symlink there is followed unless FOLLOW
    is false); when PATH ends at a directory reached whole (the root, or a last '..'), NAME
    is None, DIRFD is that directory and ST its stat.  A missing directory on the way is
    ENOENT, a file on the way ENOTDIR, all naming PATH."""
    if not path.startswith("/"):
        raise OSError(errno.EINVAL, "path must be absolute", path)
    todo = _split(path)
    todo.reverse()
    rootfd = os.open(root, O_DIR)
    cur = rootfd
    names, idents = [], []              # the directories below the root we are in
    links = 0
    try:
        while todo:
            comp = todo.pop()
            if comp == "..":
                if names:               # '..' at the root stays there
                    up = parent_of(cur, rootfd, names, idents, path)
                    os.close(cur)
                    cur = up
                    names.pop()
                    idents.pop()
                continue
            last = not todo
            try:
                st = os.lstat(comp, dir_fd=cur)
            except FileNotFoundError:
                if last:
                    return _hand_over(cur, rootfd), comp, None
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
            if stat.S_ISLNK(st.st_mode) and (follow or not last):
                links += 1
                if links > MAXLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(comp, dir_fd=cur)
                if target.startswith("/"):
                    if cur != rootfd:
                        os.close(cur)
                    cur = rootfd
                    names, idents = [], []
                parts = _split(target)
                parts.reverse()
                todo.extend(parts)
                continue
            if last:
                return _hand_over(cur, rootfd), comp, st
            if not stat.S_ISDIR(st.st_mode):
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            nxt = os.open(comp, O_DIR, dir_fd=cur)
            if cur != rootfd:
                os.close(cur)
            cur = nxt
            names.append(comp)
            idents.append(_ident(os.fstat(cur)))
        st = os.fstat(cur)
        return _hand_over(cur, rootfd), None, st
    except BaseException:
        if cur != rootfd:
            os.close(cur)
        os.close(rootfd)
        raise


def _hand_over(cur, rootfd):
    """CUR for the caller (who closes it), the root descriptor closed unless it is CUR."""
    if cur != rootfd:
        os.close(rootfd)
    return cur


def open_dir(root, path):
    """A descriptor (O_DIRECTORY) of the guest directory PATH under ROOT, symlinks followed
    inside the guest; ENOENT/ENOTDIR naming PATH.  The caller closes it."""
    dirfd, name, st = locate(root, path)
    if name is None:
        return dirfd
    try:
        if st is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        return os.open(name, O_DIR, dir_fd=dirfd)
    finally:
        os.close(dirfd)


def lstat(root, path, follow=True):
    """The lstat of guest PATH under ROOT (a final symlink followed unless FOLLOW is false),
    or None if nothing is there; at any depth."""
    try:
        apath, st = _walk(root, path, follow)   # resolve_lstat()[1], one call less
        if st is _UNKNOWN:
            try:
                st = os.lstat(apath)
            except (FileNotFoundError, NotADirectoryError):
                st = None
        return st
    except OSError as e:
        if e.errno != errno.ENAMETOOLONG:
            raise
    dirfd, _, st = locate(root, path, follow)
    os.close(dirfd)
    return st


def fd_path(fd, name=None):
    """A short path for a tool (or a path-only system call) that reaches the directory FD
    of this process, or NAME in it (NAME is one component: never a symlink followed)."""
    p = "/proc/self/fd/%d" % fd
    return p if name is None else p + "/" + name


def to_guest(root, apath):
    """The guest path of an appliance path under ROOT (inverse of resolve)."""
    if apath == root:
        return "/"
    if apath.startswith(root + "/"):
        return apath[len(root):]
    raise ValueError("%s is not under %s" % (apath, root))
