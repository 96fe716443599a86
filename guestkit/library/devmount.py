"""Library-side device actions: numbering the devices, canonical names, the deprecated
drive-adding variants."""

import re

from .. import images as D
from ..errors import Error
from .drives import add_drive

__all__ = ["device_index", "device_name", "nr_devices", "max_disks", "canonical_device_name",
           "add_cdrom", "add_drive_with_if", "add_drive_ro_with_if"]


def device_index(g, device):
    devices = g.list_devices()
    name = canonical_device_name(g, device)
    if name in devices:
        return devices.index(name)
    raise Error("device_index: %s: device not found" % device, "ENOENT")


def device_name(g, index):
    devices = g.list_devices()
    if not 0 <= index < len(devices):
        raise Error("device_name: index %d out of range (there %s %d device%s)" % (
            index, "is" if len(devices) == 1 else "are", len(devices),
            "" if len(devices) == 1 else "s"), "EINVAL")
    return devices[index]


def nr_devices(g):
    return len(g.list_devices())


def max_disks(g):
    return D.MAX_DRIVES


_OTHER_DISK = re.compile(r"^/dev/(?:h|v|xv)d([a-z]+[0-9]*)$")


def canonical_device_name(g, device):
    m = _OTHER_DISK.match(device)
    if m:
        return "/dev/sd" + m.group(1)
    if device.startswith("/dev/mapper/") or device.startswith("/dev/dm-"):
        try:
            return g.lvm_canonical_lv_name(device)
        except Error as e:
            if e.errno_name in ("EINVAL", "ENOENT"):
                return device           # not a logical volume: unchanged
            raise
    return device


def add_cdrom(g, filename):
    add_drive(g, filename, readonly=True)


def add_drive_with_if(g, filename, iface):
    add_drive(g, filename, iface=iface)


def add_drive_ro_with_if(g, filename, iface):
    add_drive(g, filename, readonly=True, iface=iface)
