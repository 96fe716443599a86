"""Resolve guest paths inside the guest's root, as if chrooted.

``/..`` is ``/``; an absolute symlink target starts again at the guest root; a relative one
continues from the link's directory; more than MAXLINKS symlinks is ELOOP.  Nothing a guest
path names can reach the appliance's own files, /proc or /sys.
"""

import errno
import os
import stat

MAXLINKS = 40


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


def _walk(root, path, follow):
    """(appliance path, lstat of it: None if missing, _UNKNOWN if not looked at)."""
    if not path.startswith("/"):
        raise OSError(errno.EINVAL, "path must be absolute", path)
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
    return root + ("/" + "/".join(done) if done else ""), last


def to_guest(root, apath):
    """The guest path of an appliance path under ROOT (inverse of resolve)."""
    if apath == root:
        return "/"
    if apath.startswith(root + "/"):
        return apath[len(root):]
    raise ValueError("%s is not under %s" % (apath, root))
