"""add_drive and friends, disk_create and the host-side image queries."""

import os

from .. import images as D
from ..errors import Error
from .lifecycle import is_config, is_ready

__all__ = ["add_drive", "add_drive_ro", "add_drive_scratch", "remove_drive", "disk_create",
           "disk_format", "disk_virtual_size", "disk_has_backing_file", "list_disk_labels"]

MAX_DRIVES = D.MAX_DRIVES


def add_drive(g, filename, readonly=None, format=None, iface=None, name=None, label=None,
              protocol=None, server=None, username=None, secret=None, cachemode=None,
              discard=None, copyonread=None, blocksize=None):
    d = D.Drive(filename, readonly=bool(readonly), format=format, label=label,
                cachemode=cachemode, discard=discard, copyonread=bool(copyonread),
                blocksize=blocksize, protocol=protocol or "file", server=server,
                username=username, secret=secret, iface=iface, name=name)
    D.check_drive(d)
    if is_config(g):
        _append(g, d)
        g._debug("added drive %d: %r" % (len(g._drives) - 1, d))
    else:
        _hotplug(g, d)


def _append(g, d, caller="add_drive"):
    _check_room(g, d, caller)
    g._add_drives([d])


def _check_room(g, d, caller):
    if d.label is not None and any(x.label == d.label for x in g._drives):
        raise Error("%s: label %r is already used by another drive" % (caller, d.label),
                    "EINVAL")
    if len(g._drives) >= MAX_DRIVES:
        raise Error("%s: too many drives (at most %d)" % (caller, MAX_DRIVES), "EINVAL")


def _running_backend(g, caller):
    if not is_ready(g) or g._backend is None or g._client is None:
        raise Error("%s: the appliance is not running (launch first, or call it before "
                    "launch)" % caller, "EINVAL")
    return g._backend


def _hotplug(g, d):
    """add_drive after launch: plug D into the running appliance."""
    backend = _running_backend(g, "add_drive")
    if not d.label:
        raise Error("add_drive: a drive added after launch needs a label (label=NAME): it "
                    "is known by /dev/disk/guestfs/NAME", "EINVAL")
    ok, why = backend.hotplug_supported()
    if not ok:
        raise Error("add_drive: backend %s cannot hot-plug drives: %s" % (backend.name, why),
                    "ENOTSUP")
    _check_room(g, d, "add_drive")
    used = {x.target for x in g._drives}
    target = min(t for t in range(MAX_DRIVES + 1) if t not in used)
    if d.readonly:
        D.make_overlay(d, g._handle_tmpdir(), "-plug%d" % target)
    try:
        name = backend.plug(g._client, d, target, d.label)
    except Error:
        _drop_overlay(d)
        raise
    except Exception as e:          # the hypervisor refused (qemu's words)
        _drop_overlay(d)
        raise Error("add_drive: %s: %s" % (d.filename, e), "EIO") from None
    if not isinstance(name, str) or not name.startswith("sd") or not name[2:].isalpha():
        raise Error("add_drive: the appliance named the drive %r" % (repr(name)[:40],), "EIO")
    d.device = "/dev/" + name
    g._add_drives([d])
    g._debug("hot-plugged drive %r as %s" % (d, d.device))


def _drop_overlay(d):
    if d.overlay:
        try:
            os.unlink(d.overlay)
        except OSError:
            pass
        d.overlay = None


def remove_drive(g, label):
    for d in g._drives:
        if d.label == label:
            break
    else:
        raise Error("remove_drive: no drive has the label %r" % label, "ENOENT")
    if not is_config(g):
        backend = _running_backend(g, "remove_drive")
        ok, why = backend.hotplug_supported()
        if not ok:
            raise Error("remove_drive: backend %s cannot hot-unplug drives: %s"
                        % (backend.name, why), "ENOTSUP")
        try:
            backend.unplug(g._client, d)
        except Error:
            raise
        except Exception as e:
            raise Error("remove_drive: %s: %s" % (label, e), "EIO") from None
    g._remove_drive(d)
    _drop_overlay(d)
    if d.scratch:
        try:
            os.unlink(d.filename)
        except OSError:
            pass
    g._debug("removed drive %r" % d)


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
    return [[d.label, d.device or "/dev/sd%s" % D.disk_letters(i)]
            for i, d in enumerate(g._drives) if d.label]
