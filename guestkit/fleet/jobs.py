"""The jobs a fleet runs on each guest.  A job is a function f(g, root, **params) of a
launched read-only handle G and, as its ``wants`` attribute says:

- "disk": ROOT is None, nothing is mounted (df);
- "roots": ROOT is the list of the guest's operating system roots, nothing mounted
  (inspect); no operating system is an error;
- "mounted": ROOT is the first root, its filesystems mounted read-only as the guest
  mounts them (cat, and every user job given as ``module:function``).

What it returns must be plain data (JSON-ready): it becomes the record's "result"."""

import importlib

#: cat's default size cap, bytes
CAT_MAX_BYTES = 64 * 1024


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


BUILTIN = {"inspect": inspect, "df": df, "cat": cat}


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
