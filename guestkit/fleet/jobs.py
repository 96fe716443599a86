"""The jobs a fleet runs on each guest.  A job is a function f(g, root, **params) of a
launched read-only handle G and, as its ``wants`` attribute says:

- "disk": ROOT is None, nothing is mounted (df);
- "roots": ROOT is the list of the guest's operating system roots, nothing mounted
  (inspect, apps); no operating system is an error;
- "mounted": ROOT is the first root, its filesystems mounted read-only as the guest
  mounts them (find, cat, win-reg, and every user job given as ``module:function``).

What it returns must be plain data (JSON-ready): it becomes the record's "result"."""

import fnmatch
import importlib
import os
import posixpath
import stat
import tempfile

from . import versions

#: cat's default size cap, bytes
CAT_MAX_BYTES = 64 * 1024
#: find's default cap on the paths it gives
FIND_MAX_MATCHES = 1000
#: the checksum types find can give (the checksum action's)
CHECKSUM_TYPES = ("crc", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def wants(kind):
    def mark(f):
        f.wants = kind
        return f
    return mark


@wants("roots")
def inspect(g, roots, applications=True, icon=True):
    """What ``guestkit inspect --json`` prints."""
    from ..tools.inspector import describe
    return {"operatingsystems": [describe(g, r, applications, icon) for r in roots]}


@wants("disk")
def df(g, root, inodes=False):
    """Each filesystem's size, use and free space, as ``guestkit df --json`` gives them
    (without the guest's name, which is the record's)."""
    from ..tools.df import SKIP, row, usage
    keys = ("inodes", "iused", "ifree", "iuse_percent") if inodes else \
        ("1k_blocks", "used", "available", "use_percent")
    out = []
    for dev, fstype in sorted(g.list_filesystems().items()):
        if fstype in SKIP:
            continue
        st = usage(g, dev)
        if st is not None:
            total, used, avail, pct = row(st, inodes)
            out.append(dict(zip(("filesystem",) + keys, (dev, total, used, avail,
                                                          round(pct, 1)))))
    return out


@wants("mounted")
def cat(g, root, path=None, max_bytes=CAT_MAX_BYTES):
    """The first MAX_BYTES of the file PATH: its text (UTF-8, undecodable bytes
    replaced), its size and whether it was cut."""
    if not path:
        raise ValueError("the cat job needs a path (--path)")
    size = g.filesize(path)
    data = g.pread(path, min(size, max_bytes), 0) if size else b""
    return {"path": path, "size": size, "truncated": size > len(data),
            "content": data.decode("utf-8", "replace")}


def _name_matches(app, patterns):
    """Whether APP's name or display name has one of PATTERNS (case-insensitively): a
    glob when it has *, ? or [, otherwise a substring."""
    names = [app.get("name", "").lower(), app.get("display_name", "").lower()]
    for p in patterns:
        p = p.lower()
        magic = any(c in p for c in "*?[")
        if any(fnmatch.fnmatchcase(n, p) if magic else p in n for n in names if n):
            return True
    return False


@wants("roots")
def apps(g, roots, names=(), version_range=None):
    """Each operating system's installed applications (as ``guestkit inspect --json``
    gives them), those whose name matches one of NAMES (all without) and whose version
    is in VERSION_RANGE (versions.parse_range; compared as the package format does)."""
    from ..tools.inspector import list_applications
    terms = versions.parse_range(version_range) if version_range else []
    out = []
    for root in roots:
        fmt = g.inspect_get_package_format(root)
        found = [a for a in list_applications(g, root)
                 if (not names or _name_matches(a, names)) and
                 versions.in_range(fmt, (a.get("epoch", 0), a.get("version", ""),
                                         a.get("release", "")), terms)]
        out.append({"root": root, "package_format": fmt, "applications": found})
    return out


def _matcher(pattern):
    """find -name's test (the last element) or, for a PATTERN with a /, find -path's
    (the whole guest path, * crossing /)."""
    if "/" in pattern:
        return lambda path: fnmatch.fnmatchcase(path, pattern)
    return lambda path: fnmatch.fnmatchcase(posixpath.basename(path), pattern)


def _walk(g, top):
    """The guest paths under the directory TOP (not following symlinks), as the
    appliance's find0 streams them to a host file read here a piece at a time."""
    with tempfile.TemporaryDirectory(prefix="guestkit-find-") as tmp:
        listing = os.path.join(tmp, "names")
        g.find0(top, listing)
        with open(listing, "rb") as f:
            rest = b""
            for chunk in iter(lambda: f.read(1 << 16), b""):
                *names, rest = (rest + chunk).split(b"\0")
                for rel in names:
                    yield posixpath.join(top, os.fsdecode(rel))


def _lstat_all(g, paths):
    """{path: lstatns} of PATHS, one lstatnslist call per directory."""
    by_dir = {}
    for p in paths:
        by_dir.setdefault(posixpath.dirname(p), []).append(p)
    out = {}
    for d, ps in by_dir.items():
        for p, st in zip(ps, g.lstatnslist(d, [posixpath.basename(p) for p in ps])):
            out[p] = st
    return out


@wants("mounted")
def find(g, root, pattern="*", directory="/", size=False, checksum=None,
         max_matches=FIND_MAX_MATCHES):
    """The paths under DIRECTORY matching PATTERN (see _matcher), at most MAX_MATCHES of them
    (sorted; "truncated" says if there were more); with SIZE each one's type and size
    (lstat: symlinks are not followed), with CHECKSUM (a checksum action type) the
    checksum of each regular file."""
    if checksum and checksum not in CHECKSUM_TYPES:
        raise ValueError("checksum type %r: expecting one of %s"
                         % (checksum, ", ".join(CHECKSUM_TYPES)))
    if not g.is_dir(directory, followsymlinks=False):
        raise ValueError("%s is not a directory in this guest" % directory)
    match = _matcher(pattern)
    paths, truncated = [], False
    for path in _walk(g, directory):
        if match(path):
            if len(paths) == max_matches:
                truncated = True
                break
            paths.append(path)
    paths.sort()
    stats = _lstat_all(g, paths) if size or checksum else {}
    matches = []
    for path in paths:
        m = {"path": path}
        st = stats.get(path)
        if st is not None and st["st_ino"] != -1:
            if size:
                m["type"] = _file_type(st["st_mode"])
                m["size"] = st["st_size"]
            if checksum:
                m[checksum] = g.checksum(checksum, path) \
                    if stat.S_ISREG(st["st_mode"]) else None
        matches.append(m)
    return {"directory": directory, "pattern": pattern, "matches": matches, "truncated": truncated}


def _file_type(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISLNK, "symlink")):
        if test(mode):
            return name
    return "other"


@wants("mounted")
def win_reg(g, root, key=None, value=None):
    """The values of the registry KEY (``HKLM\\SOFTWARE\\...``, the keys guestkit
    win-reg knows) in a Windows guest's first root, or only VALUE ("@" or "" for the
    default one): {"key", "values": [{"name", "type", "value"}]}, each value as hivexget
    reads it (see win_reg.decode_value)."""
    from ..tools.win_reg import Hives, read_value
    if not key:
        raise ValueError("the win-reg job needs a key (--key)")
    if g.inspect_get_type(root) != "windows":
        raise ValueError("this guest is not Windows (its first root %s is %s)"
                         % (root, g.inspect_get_type(root)))
    hives = Hives(g, root, write=False)
    hivefile, path, _ = hives.map_path(key)
    hives.open(hivefile)
    try:
        node = hives.lookup(path)
        if not node:
            raise ValueError("%s: no such key" % key)
        if value is None:
            handles = [v["hivex_value_h"] for v in g.hivex_node_values(node)]
        else:
            vh = g.hivex_node_get_value(node, "" if value == "@" else value)
            if not vh:
                raise ValueError("%s: no value %s in this key" % (key, value))
            handles = [vh]
        values = []
        for vh in handles:
            t, data = read_value(g, vh)
            values.append({"name": g.hivex_value_key(vh), "type": t, "value": data})
    finally:
        hives.close()
    return {"key": key, "values": sorted(values, key=lambda v: v["name"])}


BUILTIN = {"inspect": inspect, "apps": apps, "df": df, "find": find, "cat": cat,
           "win-reg": win_reg}


def resolve(job):
    """JOB as a function: a callable as it is, a built-in job's name, or
    ``module:function`` (a user job, run with the guest mounted unless the function
    says otherwise with a ``wants`` attribute)."""
    if callable(job):
        return job
    if job in BUILTIN:
        return BUILTIN[job]
    module, sep, name = str(job).partition(":")
    if not sep or not module or not name:
        raise ValueError("unknown job %r: use one of %s, or module:function"
                         % (job, ", ".join(sorted(BUILTIN))))
    f = importlib.import_module(module)
    for part in name.split("."):
        f = getattr(f, part)
    if not callable(f):
        raise ValueError("%s is not a function" % job)
    return f


def wanted(f):
    return getattr(f, "wants", "mounted")
