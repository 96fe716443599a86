"""add_drive and friends, disk_create and the host-side image queries."""

import os

from .. import images as D
from ..errors import Error

__all__ = ["add_drive", "add_drive_ro", "add_drive_scratch", "disk_create", "disk_format",
           "disk_virtual_size", "disk_has_backing_file", "list_disk_labels"]


def add_drive(g, filename, readonly=None, format=None, iface=None, name=None, label=None,
              protocol=None, server=None, username=None, secret=None, cachemode=None,
              discard=None, copyonread=None, blocksize=None):
    d = D.Drive(filename, readonly=bool(readonly), format=format, label=label,
                cachemode=cachemode, discard=discard, copyonread=bool(copyonread),
                blocksize=blocksize, protocol=protocol or "file", server=server,
                username=username, secret=secret, iface=iface, name=name)
    D.check_drive(d)
    _append(g, d)
    g._debug("added drive %d: %r" % (len(g._drives) - 1, d))


def _append(g, d, caller="add_drive"):
    if d.label is not None and any(x.label == d.label for x in g._drives):
        raise Error("%s: label %r is already used by another drive" % (caller, d.label),
                    "EINVAL")
    if len(g._drives) >= 255:
        raise Error("%s: too many drives (at most 255)" % caller, "EINVAL")
    g._add_drives([d])


def add_drive_ro(g, filename):
    add_drive(g, filename, readonly=True)


def add_drive_scratch(g, size, name=None, label=None, blocksize=None):
    if size <= 0:
        raise Error("add_drive_scratch: size must be positive", "EINVAL")
    path = os.path.join(g._handle_tmpdir(), "scratch%d.img" % len(g._drives))
    D.disk_create(path, "raw", size)
    d = D.Drive(path, format="raw", label=label, blocksize=blocksize, scratch=True,
                cachemode="unsafe", name=name)
    try:
        D.check_drive(d)
        _append(g, d, "add_drive_scratch")
    except Error:
        os.unlink(path)
        raise


def disk_create(g, filename, format, size, backingfile=None, backingformat=None,
                preallocation=None, compat=None, clustersize=None):
    D.disk_create(filename, format, size, backingfile, backingformat, preallocation, compat,
                  clustersize)


def disk_format(g, filename):
    if not os.path.exists(filename):
        raise Error("disk_format: %s: No such file or directory" % filename, "ENOENT")
    return D.probe_format(filename)[0]


def disk_virtual_size(g, filename):
    fmt, unsafe = D.probe_format(filename)
    if fmt == "raw":
        fd = os.open(filename, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
    if fmt == "qcow2":
        return D.qcow2_virtual_size(filename)
    return D.image_info(filename, fmt)["virtual-size"]


def disk_has_backing_file(g, filename):
    fmt, unsafe = D.probe_format(filename)
    if fmt == "qcow2":
        return unsafe == "it names a backing file"
    if fmt == "raw":
        return False
    return "backing-filename" in D.image_info(filename, fmt)


def list_disk_labels(g):
    return [[d.label, "/dev/sd%s" % D.disk_letters(i)] for i, d in enumerate(g._drives) if d.label]
