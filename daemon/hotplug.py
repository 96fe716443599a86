"""Drives that arrive or leave while the appliance runs (hot-plug over QMP on the host).

The host plugs one drive at a time and asks the daemon to attach it, so that names follow
the add order exactly as at a cold boot (the kernel probes disks asynchronously: two drives
plugged at once could swap names).  Removal refuses a disk that is still in use.
"""

import os
import time

from .boot import attach_target, disk_at, scsi_host
from .devices import disk_names, make_label_links, partitions_of
from .util import fail

ATTACH_TIMEOUT = 30.0


def _target_dir(hostno, target):
    return "/sys/bus/scsi/devices/%s:0:%d:0" % (hostno, target)


def _host():
    host = scsi_host()
    if host is None:
        fail("the appliance has no virtio-scsi adapter", "EIO")
    return host, os.path.basename(host)[4:]


def do_internal_attach(ctx, target, label=None, **_):
    """Attach the drive qemu just plugged as SCSI target TARGET; its disk name (sdX)."""
    if not isinstance(target, int) or not 0 <= target < 256:
        fail("bad SCSI target %r" % (target,))
    host, _ = _host()
    # the kernel adds a plugged disk on qemu's event (when the adapter sends them); asking
    # for the target too makes the wait independent of how soon the event is handled
    try:
        name = attach_target(host, target, time.monotonic() + ATTACH_TIMEOUT)
    except OSError as e:
        fail("the plugged drive: %s" % e, "EIO")
    if label is not None:
        labels = ctx.server.state.setdefault("labels", {})
        if label in labels:
            fail("label %r is in use" % label)
        labels[label] = name
        make_label_links(labels)
    return name


def _holders(name):
    """What holds disk NAME or one of its partitions: mounts, swap, device-mapper/md."""
    devs = [name] + partitions_of(name)
    busy = []
    for dev in devs:
        try:
            held = os.listdir("/sys/class/block/%s/holders" % dev)
        except FileNotFoundError:
            held = []
        busy += ["%s is used by %s" % (dev, h) for h in held]
    nodes = {"/dev/" + d for d in devs}
    for table in ("/proc/self/mounts", "/proc/swaps"):
        try:
            with open(table) as f:
                for line in f:
                    first = line.split(" ", 1)[0]
                    if first in nodes:
                        busy.append("%s is %s" % (first, "mounted" if "mounts" in table
                                                  else "used as swap"))
        except FileNotFoundError:
            pass
    return busy


def do_internal_detach(ctx, target, **_):
    """Detach the disk at SCSI target TARGET, refusing while it is in use; its name."""
    if not isinstance(target, int) or not 0 <= target < 256:
        fail("bad SCSI target %r" % (target,))
    _, hostno = _host()
    name = disk_at(hostno, target)
    if name is None:
        fail("no disk at SCSI target %d" % target, "ENOENT")
    busy = _holders(name)
    if busy:
        fail("the drive is in use: %s" % "; ".join(busy[:4]), "EBUSY")
    os.sync()
    with open(_target_dir(hostno, target) + "/delete", "w") as f:
        f.write("1")
    deadline = time.monotonic() + ATTACH_TIMEOUT
    while name in disk_names():
        if time.monotonic() > deadline:
            fail("the drive did not go away", "EIO")
        time.sleep(0.002)
    labels = ctx.server.state.get("labels") or {}
    for label in [l for l, n in labels.items() if n == name]:
        del labels[label]
    make_label_links(labels)
    return name
