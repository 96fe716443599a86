"""Handlers for the metadata and tree actions (standard library only).

Every path is resolved inside the guest's root (ctx.resolve); paths returned to the library
are guest paths (guestpath.to_guest), never the appliance's /sysroot/...; walks never follow
symlinks.  Extended attributes and POSIX ACLs are read and written with the xattr system calls
on paths already resolved in the guest, so nothing follows a guest symlink with the
appliance's eyes.
"""

import errno
import os
import stat
import struct
import time

from .content import _Out, fit, walk
from .files import statns_dict
from .guestpath import fd_path, to_guest
from .util import DaemonError, run


def _einval(msg):
    return DaemonError(msg, "EINVAL")


def _guest_join(directory, name):
    return directory.rstrip("/") + "/" + name


def _run_guest(ctx, argv, apath, path):
    """Run a tool on the resolved appliance path APATH; its messages name the guest PATH."""
    try:
        return run(argv)
    except DaemonError as e:
        msg = str(e).replace(apath, path).replace(ctx.sysroot + "/", "/")
        raise DaemonError(msg, e.errno_name) from None


# ---- the tree -------------------------------------------------------------------------------

# Trees are walked with directory descriptors (content.walk) from a descriptor of the start
# (ctx.open_dir): a guest tree can be deeper than PATH_MAX, and every entry is returned.

def do_find(ctx, directory):
    ctx.need_root()
    top = ctx.open_dir(directory)
    try:
        names = [rel for rel, _, _, _ in walk(top, directory)]
    finally:
        os.close(top)
    names.sort()                                # bytewise, as strcmp
    raw = sum(len(n) for n in names) + 4 * len(names)
    return fit([os.fsdecode(n) for n in names], raw, directory)


def do_find0(ctx, directory):
    ctx.need_root()
    top = ctx.open_dir(directory)
    try:
        out = _Out(ctx)
        for rel, _, _, _ in walk(top, directory):
            out.add(rel + b"\0")
        out.flush()
    finally:
        os.close(top)


def do_ls0(ctx, dir):
    ctx.need_root()
    fd = ctx.open_dir(dir)
    try:
        out = _Out(ctx)
        with os.scandir(fd) as it:
            for e in it:
                out.add(os.fsencode(e.name) + b"\0")
        out.flush()
    finally:
        os.close(fd)


def do_du(ctx, path):
    ctx.need_root()
    # GNU du walks any depth itself (fts, with directory descriptors); it is started in the
    # directory that holds PATH, reached by a descriptor, so PATH may be that deep too
    dirfd, name, st = ctx.locate(path, follow=False)
    try:
        if name is not None and st is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        arg = name if name is not None else "."
        try:
            # du never follows symlinks (-P is its default), not even below a bind mount
            out, _, _ = run(["du", "-s", "-k", "-P", "--", arg], cwd=fd_path(dirfd),
                            pass_fds=(dirfd,))
        except DaemonError as e:
            # its messages name ARG/...: say the guest path instead
            msg = str(e).replace("'%s/" % arg, "'%s/" % path.rstrip("/")).replace(
                "'%s'" % arg, "'%s'" % path)
            raise DaemonError(msg, e.errno_name) from None
    finally:
        os.close(dirfd)
    try:
        return int(out.split()[0])
    except (IndexError, ValueError):
        raise DaemonError("du: unexpected output %r" % out[:100], "EIO") from None


def do_realpath(ctx, path):
    ctx.need_root()
    apath = ctx.existing(path)
    return to_guest(ctx.sysroot, apath)


def case_match(adir, comp):
    """The name in the appliance directory ADIR equal to COMP but for ASCII case (COMP itself
    when it exists), or None."""
    if os.path.lexists(adir + "/" + comp):
        return comp
    want = os.fsencode(comp).lower()            # bytes.lower(): ASCII only, as strcasecmp
    found = []
    with os.scandir(os.fsencode(adir)) as it:
        for e in it:
            if e.name.lower() == want:
                found.append(e.name)
    return os.fsdecode(min(found)) if found else None


def do_case_sensitive_path(ctx, path):
    ctx.need_root()
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise _einval("%s: path contained . or .. elements" % path)
    done = []
    for i, comp in enumerate(parts):
        last = i == len(parts) - 1
        gdir = "/" + "/".join(done)
        adir = ctx.resolve(gdir)
        if not os.path.isdir(adir):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), gdir)
        name = case_match(adir, comp)
        if name is None:
            if not last:
                raise DaemonError("%s: no file or directory found with this name"
                                  % _guest_join(gdir, comp), "ENOENT")
            name = comp
        done.append(name)
    return "/" + "/".join(done)


# glob(3) with GLOB_MARK | GLOB_BRACE, inside the guest: each directory is listed through a
# chrooted resolution, so a guest symlink never leads the expansion out of the guest

_MAX_BRACES = 4096


def _brace_expand(pattern):
    """The patterns a {a,b} brace expression stands for (nested braces work; a brace without
    its closing brace is literal)."""
    i, n, depth, start = 0, len(pattern), 0, -1
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                break
        i += 1
    else:
        return [pattern]
    body, pre, post = pattern[start + 1:i], pattern[:start], pattern[i + 1:]
    alts, cur, d, j = [], [], 0, 0
    while j < len(body):
        c = body[j]
        if c == "\\":
            cur.append(body[j:j + 2])
            j += 2
            continue
        if c == "{":
            d += 1
        elif c == "}":
            d -= 1
        if c == "," and d == 0:
            alts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        j += 1
    alts.append("".join(cur))
    out = []
    for alt in alts:
        out.extend(_brace_expand(pre + alt + post))
        if len(out) > _MAX_BRACES:
            raise _einval("the pattern expands to too many alternatives")
    return out


def _has_magic(comp):
    i = 0
    while i < len(comp):
        if comp[i] == "\\":
            i += 2
            continue
        if comp[i] in "*?[":
            return True
        i += 1
    return False


def _unescape(comp):
    out, i = [], 0
    while i < len(comp):
        if comp[i] == "\\" and i + 1 < len(comp):
            i += 1
        out.append(comp[i])
        i += 1
    return "".join(out)


def _glob_regex(comp):
    import re
    out, i, n = [], 0, len(comp)
    while i < n:
        c = comp[i]
        i += 1
        if c == "\\" and i < n:
            out.append(re.escape(comp[i]))
            i += 1
        elif c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i
            if j < n and comp[j] in "!^":
                j += 1
            if j < n and comp[j] == "]":
                j += 1
            while j < n and comp[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape("["))
                continue
            body, i = comp[i:j], j + 1
            neg = body[:1] in ("!", "^")
            if neg:
                body = body[1:]
            cls = "".join("-" if ch == "-" else re.escape(ch) for ch in body)
            out.append("[" + ("^" if neg else "") + cls + "]")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def _guest_isdir(ctx, gpath):
    try:
        st = ctx.stat_or_none(gpath)
    except OSError:
        return False
    return st is not None and stat.S_ISDIR(st.st_mode)


def _scan(ctx, gpath):
    """[(name, is a symlink, is a directory without following)] of the guest directory
    GPATH (any depth)."""
    fd = ctx.open_dir(gpath)
    try:
        out = []
        with os.scandir(fd) as it:
            for e in it:
                link = e.is_symlink()
                out.append((e.name, link, not link and e.is_dir(follow_symlinks=False)))
        return out
    finally:
        os.close(fd)


def _glob_one(ctx, pattern):
    """[(guest path, is a directory after following symlinks in the guest)] matching
    PATTERN (no braces)."""
    comps = [c for c in pattern.split("/") if c]
    paths = [("/", True)]
    for k, comp in enumerate(comps):
        last = k == len(comps) - 1
        found = []
        if _has_magic(comp):
            rx = _glob_regex(comp)
            hidden_ok = comp.startswith(".") or comp.startswith("\\.")
            for gp, isdir in paths:
                if not isdir:
                    continue
                try:
                    entries = _scan(ctx, gp)
                except OSError:
                    continue
                for name, link, isdir in entries:
                    if (name[0] != "." or hidden_ok) and rx.fullmatch(name):
                        cand = _guest_join(gp, name)
                        found.append((cand, _guest_isdir(ctx, cand) if link else isdir))
        else:
            name = _unescape(comp)
            for gp, isdir in paths:
                if not isdir:
                    continue
                cand = _guest_join(gp, name)
                try:
                    if ctx.stat_or_none(cand, follow=not last) is not None:
                        found.append((cand, _guest_isdir(ctx, cand)))
                except OSError:
                    pass
        paths = found
        if not paths:
            break
    return paths


def do_glob_expand(ctx, pattern, directoryslash=True):
    ctx.need_root()
    out = []
    for pat in _brace_expand(pattern):
        only_dirs = pat.endswith("/") and pat.strip("/") != ""
        matches = []
        for gp, isdir in _glob_one(ctx, pat):
            if only_dirs and not isdir:
                continue
            if (directoryslash or only_dirs) and isdir and gp != "/":
                gp += "/"
            matches.append(gp)
        out.extend(sorted(matches, key=os.fsencode))     # each alternative sorted, as glob
    return fit(out, sum(len(p) + 4 for p in out), pattern)


def do_mkdtemp(ctx, tmpl):
    if not tmpl.endswith("XXXXXX"):
        raise _einval("%s: template must end with XXXXXX" % tmpl)
    ctx.need_root()
    parent, base = tmpl.rsplit("/", 1)
    aparent = ctx.resolve(parent or "/")
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(100):
        rnd = "".join(chars[b % len(chars)] for b in os.urandom(6))
        try:
            os.mkdir(aparent + "/" + base[:-6] + rnd, 0o700)
        except FileExistsError:
            continue
        return tmpl[:-6] + rnd
    raise DaemonError("%s: could not find an unused name" % tmpl, "EEXIST")


def do_rename(ctx, oldpath, newpath):
    ctx.need_root()
    os.rename(ctx.resolve(oldpath, follow=False), ctx.resolve(newpath, follow=False))


# ---- links and special files ----------------------------------------------------------------

def _link_place(ctx, target, linkname):
    """Where ln -f / ln -sf put the link: LINKNAME, or LINKNAME/basename(TARGET) when
    LINKNAME is a directory (a symlink LINKNAME is replaced, not followed)."""
    alink = ctx.resolve(linkname, follow=False)
    if os.path.isdir(alink) and not os.path.islink(alink):
        name = os.path.basename(target.rstrip("/"))
        if not name:
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), linkname)
        alink = ctx.resolve(_guest_join(linkname, name), follow=False)
        if os.path.isdir(alink) and not os.path.islink(alink):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR),
                          _guest_join(linkname, name))
    return alink


def _replace_with(make, alink):
    """Create the new link under a temporary name next to ALINK, then rename it over ALINK:
    the old name is never missing, and nothing is lost if the link cannot be made."""
    d = os.path.dirname(alink)
    for _ in range(100):
        tmp = "%s/.guestkit-ln-%s" % (d, os.urandom(6).hex())
        try:
            make(tmp)
            break
        except FileExistsError:
            continue
    else:
        raise DaemonError("could not find a temporary name", "EEXIST")
    try:
        os.rename(tmp, alink)
    finally:
        # rename(2) does nothing when both names are links to the same file
        if os.path.lexists(tmp):
            os.unlink(tmp)


def do_ln_f(ctx, target, linkname):
    ctx.need_root()
    atarget = ctx.existing(target, follow=False)
    if os.path.isdir(atarget) and not os.path.islink(atarget):
        raise DaemonError("%s: hard link not allowed for directory" % target, "EPERM")
    alink = _link_place(ctx, target, linkname)
    # link(2) does not follow a symlink TARGET (a hard link to the symlink itself)
    _replace_with(lambda tmp: os.link(atarget, tmp, follow_symlinks=False), alink)


def do_ln_sf(ctx, target, linkname):
    ctx.need_root()
    alink = _link_place(ctx, target, linkname)
    _replace_with(lambda tmp: os.symlink(target, tmp), alink)


def _check_node_args(mode, devmajor, devminor):
    if mode < 0:
        raise _einval("mode %d is negative" % mode)
    if devmajor < 0 or devminor < 0:
        raise _einval("device numbers must not be negative")


def do_mknod(ctx, mode, devmajor, devminor, path):
    _check_node_args(mode, devmajor, devminor)
    ctx.need_root()
    os.mknod(ctx.resolve(path, follow=False), mode, os.makedev(devmajor, devminor))


def _perm_only(mode):
    if mode < 0 or mode & ~0o7777:
        raise _einval("mode %o must contain only permission bits" % mode)


def do_mknod_b(ctx, mode, devmajor, devminor, path):
    _perm_only(mode)
    do_mknod(ctx, mode | stat.S_IFBLK, devmajor, devminor, path)


def do_mknod_c(ctx, mode, devmajor, devminor, path):
    _perm_only(mode)
    do_mknod(ctx, mode | stat.S_IFCHR, devmajor, devminor, path)


def do_mkfifo(ctx, mode, path):
    _perm_only(mode)
    do_mknod(ctx, mode | stat.S_IFIFO, 0, 0, path)


# ---- stat -----------------------------------------------------------------------------------

def stat_dict(st):
    """The deprecated struct stat of libguestfs: whole seconds."""
    return {"dev": st.st_dev, "ino": st.st_ino, "mode": st.st_mode, "nlink": st.st_nlink,
            "uid": st.st_uid, "gid": st.st_gid, "rdev": st.st_rdev, "size": st.st_size,
            "blksize": st.st_blksize, "blocks": st.st_blocks,
            "atime": st.st_atime_ns // 10 ** 9, "mtime": st.st_mtime_ns // 10 ** 9,
            "ctime": st.st_ctime_ns // 10 ** 9}


def do_stat(ctx, path):
    ctx.need_root()
    return stat_dict(ctx.lstat(path))


def do_lstat(ctx, path):
    ctx.need_root()
    return stat_dict(ctx.lstat(path, follow=False))


def _named(ctx, path, names):
    """Yield (dirfd, name) for each of NAMES in the guest directory PATH (the last element
    not followed; DIRFD valid until the next one), or None for a name that cannot be
    there.  Directories are reached by descriptors: PATH may be deeper than PATH_MAX."""
    ctx.need_root()
    dfd = ctx.open_dir(path)
    try:
        for name in names:
            if not name:
                yield None
            elif "/" not in name and name not in (".", ".."):
                yield dfd, name                 # one element of the directory
            else:
                try:
                    d2, n2, _ = ctx.locate(_guest_join(path, name), follow=False)
                except OSError:
                    yield None
                    continue
                try:
                    yield d2, n2 if n2 is not None else "."
                finally:
                    os.close(d2)
    finally:
        os.close(dfd)


def _lstat_each(ctx, path, names):
    for at in _named(ctx, path, names):
        try:
            yield os.lstat(at[1], dir_fd=at[0]) if at is not None else None
        except OSError:
            yield None


def _missing(fmt, ino_key):
    """The struct of a name that could not be lstat'd: zeroes, and the inode -1."""
    d = dict.fromkeys(fmt(os.lstat("/")), 0)
    d[ino_key] = -1
    return d


def do_lstatnslist(ctx, path, names):
    none = _missing(statns_dict, "st_ino")
    out = [statns_dict(st) if st is not None else dict(none)
           for st in _lstat_each(ctx, path, names)]
    return fit(out, 80 * len(out), path)


def do_lstatlist(ctx, path, names):
    none = _missing(stat_dict, "ino")
    out = [stat_dict(st) if st is not None else dict(none)
           for st in _lstat_each(ctx, path, names)]
    return fit(out, 50 * len(out), path)


def do_utimens(ctx, path, atsecs, atnsecs, mtsecs, mtnsecs):
    for ns in (atnsecs, mtnsecs):
        if not -2 <= ns < 10 ** 9:
            raise _einval("nanoseconds %d out of range (0 to 999999999, -1 for now, -2 to "
                          "leave unchanged)" % ns)
    ctx.need_root()
    apath = ctx.resolve(path, follow=False)
    st = os.lstat(apath)
    now = time.time_ns()

    def pick(secs, nsecs, current):
        if nsecs == -1:
            return now
        if nsecs == -2:
            return current
        return secs * 10 ** 9 + nsecs
    os.utime(apath, ns=(pick(atsecs, atnsecs, st.st_atime_ns),
                        pick(mtsecs, mtnsecs, st.st_mtime_ns)), follow_symlinks=False)


def do_copy_attributes(ctx, src, dest, all=False, mode=None, xattributes=None,
                       ownership=None):
    if all:
        mode = True if mode is None else mode
        xattributes = True if xattributes is None else xattributes
        ownership = True if ownership is None else ownership
    ctx.need_root()
    asrc, adest = ctx.resolve(src), ctx.resolve(dest)
    st = os.stat(asrc)
    os.stat(adest)
    # ownership first (chown clears setuid/setgid and file capabilities), the mode last
    if ownership:
        os.chown(adest, st.st_uid, st.st_gid, follow_symlinks=False)
    if xattributes:
        for name, value in _xattrs(asrc):
            os.setxattr(adest, name, value, follow_symlinks=False)
    if mode:
        os.chmod(adest, stat.S_IMODE(st.st_mode))


# ---- extended attributes --------------------------------------------------------------------

def _xattrs(apath):
    """[(name, value)] of the extended attributes of APATH (not following a symlink)."""
    out = []
    for name in os.listxattr(apath, follow_symlinks=False):
        try:
            out.append((name, os.getxattr(apath, name, follow_symlinks=False)))
        except OSError as e:
            if e.errno != errno.ENODATA:        # removed meanwhile
                raise
    return out


def _xattr_structs(pairs):
    return [{"attrname": n, "attrval": v} for n, v in pairs]


def _fit_xattrs(out, what):
    raw = sum(len(x["attrname"]) + len(x["attrval"]) * 2 + 32 for x in out)
    return fit(out, raw, what)


def do_getxattr(ctx, path, name):
    ctx.need_root()
    return os.getxattr(ctx.resolve(path), name, follow_symlinks=False)


def do_lgetxattr(ctx, path, name):
    ctx.need_root()
    return os.getxattr(ctx.resolve(path, follow=False), name, follow_symlinks=False)


def do_getxattrs(ctx, path):
    ctx.need_root()
    return _fit_xattrs(_xattr_structs(_xattrs(ctx.resolve(path))), path)


def do_lgetxattrs(ctx, path):
    ctx.need_root()
    return _fit_xattrs(_xattr_structs(_xattrs(ctx.resolve(path, follow=False))), path)


def _setxattr(ctx, xattr, val, vallen, path, follow):
    data = val.encode("utf-8", "surrogateescape")
    if not 0 <= vallen <= len(data):
        raise _einval("vallen %d is not within the value's %d bytes" % (vallen, len(data)))
    ctx.need_root()
    os.setxattr(ctx.resolve(path, follow=follow), xattr, data[:vallen],
                follow_symlinks=False)


def do_setxattr(ctx, xattr, val, vallen, path):
    _setxattr(ctx, xattr, val, vallen, path, True)


def do_lsetxattr(ctx, xattr, val, vallen, path):
    _setxattr(ctx, xattr, val, vallen, path, False)


def do_removexattr(ctx, xattr, path):
    ctx.need_root()
    os.removexattr(ctx.resolve(path), xattr, follow_symlinks=False)


def do_lremovexattr(ctx, xattr, path):
    ctx.need_root()
    os.removexattr(ctx.resolve(path, follow=False), xattr, follow_symlinks=False)


def do_lxattrlist(ctx, path, names):
    out = []
    for at in _named(ctx, path, names):
        try:
            # /proc/self/fd/N/NAME: the directory by its descriptor, NAME not followed
            attrs = _xattrs(fd_path(*at)) if at is not None else None
        except OSError:
            attrs = None
        if attrs is None:
            out.append({"attrname": "", "attrval": b""})
        else:
            out.append({"attrname": "", "attrval": b"%d" % len(attrs)})
            out.extend(_xattr_structs(attrs))
    return _fit_xattrs(out, path)


# ---- POSIX ACLs (the system.posix_acl_* extended attributes) --------------------------------

USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_UNDEFINED_ID = 0xFFFFFFFF
_ACL_VERSION = 2
_TAG_WORDS = {"u": USER_OBJ, "user": USER_OBJ, "g": GROUP_OBJ, "group": GROUP_OBJ,
              "m": MASK, "mask": MASK, "o": OTHER, "other": OTHER}


def _acl_xattr(acltype):
    if acltype == "access":
        return "system.posix_acl_access"
    if acltype == "default":
        return "system.posix_acl_default"
    raise _einval("unknown acltype %r (use access or default)" % acltype)


def _perm_text(p):
    return ("r" if p & 4 else "-") + ("w" if p & 2 else "-") + ("x" if p & 1 else "-")


def acl_decode(data):
    """[(tag, perm, id)] of an ACL extended attribute value."""
    if len(data) < 4 or (len(data) - 4) % 8 or \
            struct.unpack_from("<I", data)[0] != _ACL_VERSION:
        raise DaemonError("malformed ACL attribute", "EIO")
    return [struct.unpack_from("<HHI", data, off) for off in range(4, len(data), 8)]


def acl_encode(entries):
    return struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in entries)


def acl_text(entries):
    """The long text form, as acl_to_text(3) writes it with numeric ids."""
    mask = next((p for t, p, _ in entries if t == MASK), None)
    lines = []
    for tag, perm, ident in entries:
        if tag == USER_OBJ:
            head = "user::"
        elif tag == USER:
            head = "user:%d:" % ident
        elif tag == GROUP_OBJ:
            head = "group::"
        elif tag == GROUP:
            head = "group:%d:" % ident
        elif tag == MASK:
            head = "mask::"
        elif tag == OTHER:
            head = "other::"
        else:
            continue
        line = head + _perm_text(perm)
        if mask is not None and tag in (USER, GROUP_OBJ, GROUP) and perm & ~mask & 7:
            line += "\t#effective:" + _perm_text(perm & mask)
        lines.append(line + "\n")
    return "".join(lines)


def _parse_perm(text, entry):
    if len(text) == 1 and text in "01234567":
        return int(text)
    perm = 0
    for ch in text:
        bit = {"r": 4, "w": 2, "x": 1, "-": 0}.get(ch)
        if bit is None:
            raise _einval("%r: invalid permissions in ACL entry" % entry)
        perm |= bit
    return perm


def acl_parse(text):
    """[(tag, perm, id)], sorted as the kernel wants them, of an ACL in long or short text
    form (entries separated by commas or white space; # starts a comment)."""
    import re
    entries = []
    for line in text.split("\n"):
        line = line.split("#", 1)[0]
        for item in re.split(r"[,\s]+", line):
            if not item:
                continue
            parts = item.split(":")
            tag = _TAG_WORDS.get(parts[0])
            if tag is None or len(parts) not in (2, 3) or \
                    (len(parts) == 2 and tag not in (MASK, OTHER)):
                raise _einval("%r: invalid ACL entry" % item)
            qual = parts[1] if len(parts) == 3 else ""
            perm = _parse_perm(parts[-1], item)
            if qual == "":
                ident = _UNDEFINED_ID
            elif tag in (USER_OBJ, GROUP_OBJ) and qual.isdigit() and qual.isascii():
                tag = USER if tag == USER_OBJ else GROUP
                ident = int(qual)
                if ident >= _UNDEFINED_ID:
                    raise _einval("%r: id out of range" % item)
            elif tag in (USER_OBJ, GROUP_OBJ):
                raise _einval("%r: users and groups must be numeric ids (the appliance "
                              "does not know the guest's names)" % item)
            else:
                raise _einval("%r: mask and other entries take no qualifier" % item)
            entries.append((tag, perm, ident))
    entries.sort(key=lambda e: (e[0], e[2]))
    keys = [(t, i) for t, _, i in entries]
    if len(set(keys)) != len(keys):
        raise _einval("duplicate entries in ACL")
    return entries


def _acl_check_complete(entries):
    tags = {t for t, _, _ in entries}
    if not {USER_OBJ, GROUP_OBJ, OTHER} <= tags:
        raise _einval("the ACL must contain the user::, group:: and other:: entries")
    if tags & {USER, GROUP} and MASK not in tags:
        raise _einval("an ACL with named users or groups needs a mask:: entry")


def do_acl_get_file(ctx, path, acltype):
    name = _acl_xattr(acltype)
    ctx.need_root()
    apath = ctx.resolve(path)
    st = os.stat(apath)
    try:
        entries = acl_decode(os.getxattr(apath, name, follow_symlinks=False))
    except OSError as e:
        if e.errno not in (errno.ENODATA, errno.EOPNOTSUPP):
            raise
        if acltype == "default":
            return ""
        m = st.st_mode
        entries = [(USER_OBJ, (m >> 6) & 7, _UNDEFINED_ID), (GROUP_OBJ, (m >> 3) & 7,
                   _UNDEFINED_ID), (OTHER, m & 7, _UNDEFINED_ID)]
    return acl_text(entries)


def do_acl_set_file(ctx, path, acltype, acl):
    name = _acl_xattr(acltype)
    entries = acl_parse(acl)
    ctx.need_root()
    apath = ctx.resolve(path)
    os.stat(apath)
    if not entries and acltype == "default":
        _remove_default_acl(apath)
        return
    _acl_check_complete(entries)
    # the kernel checks the ACL again, and for an access ACL sets the mode bits from it
    os.setxattr(apath, name, acl_encode(entries), follow_symlinks=False)


def _remove_default_acl(apath):
    try:
        os.removexattr(apath, "system.posix_acl_default", follow_symlinks=False)
    except OSError as e:
        if e.errno != errno.ENODATA:
            raise


def do_acl_delete_def_file(ctx, dir):
    ctx.need_root()
    apath = ctx.resolve(dir)
    if not stat.S_ISDIR(os.stat(apath).st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), dir)
    _remove_default_acl(apath)


# ---- Linux capabilities (getcap / setcap on the resolved path) ------------------------------

def do_cap_get_file(ctx, path):
    ctx.need_root()
    apath = ctx.existing(path)
    out, _, _ = _run_guest(ctx, ["getcap", "--", apath], apath, path)
    out = out.strip("\n")
    if not out:
        return ""
    prefix = apath + " "
    if not out.startswith(prefix):
        raise DaemonError("getcap: unexpected output", "EIO")
    return out[len(prefix):].strip()


def do_cap_set_file(ctx, path, cap):
    if cap.startswith("-") or not cap.strip():
        raise _einval("%r: not a capability set in text form" % cap)
    ctx.need_root()
    apath = ctx.existing(path)
    _run_guest(ctx, ["setcap", cap, apath], apath, path)
