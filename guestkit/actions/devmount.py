"""Devices and mounts: device numbering, device-type tests, loop and manual mountpoints,
mountables, partition UUID/label lookups, and the deprecated drive-adding variants."""

from .table import (
    Action, CONFIG, String, Int, Bool, Device, Mountable, Pathname, OBool, OString,
    RErr, RInt, RBool, RString, RStringList,
)


def _is_type(name, what):
    return Action(name, [Pathname("path")], RBool(), [OBool("followsymlinks")],
                  once_had_no_optargs=True,
                  doc="True if PATH in the guest is a %s.  A symlink is not followed "
                      "unless followsymlinks is true, in which case a chain of symlinks "
                      "ending at a %s counts too.  Only the guest's files are looked at: "
                      "the appliance's own devices (/dev/sda ...) cannot be named here."
                      % (what, what))


ACTIONS = [
    # ---- numbering devices (library side, from list_devices) ----
    Action("device_index", [Device("device")], RInt(), daemon=False,
           doc="The position (from 0) of DEVICE in the list list_devices returns; an error "
               "(ENOENT) if there is no such device."),
    Action("device_name", [Int("index")], RString(), daemon=False,
           doc="The device at position INDEX (from 0) of the list list_devices returns: the "
               "inverse of device_index.  An index out of range is an error (EINVAL)."),
    Action("nr_devices", [], RInt(), daemon=False,
           doc="How many whole block devices were added: the length of list_devices.  "
               "max_disks tells how many could be."),
    Action("max_disks", [], RInt(), daemon=False,
           doc="The most drives that may be added to one handle."),
    Action("canonical_device_name", [String("device")], RString(), daemon=False,
           doc="DEVICE written the way guestkit shows devices: /dev/hdX and /dev/vdX "
               "(disks and partitions) become /dev/sdX, a logical volume named "
               "/dev/mapper/VG-LV or /dev/dm-N becomes /dev/VG/LV; anything else is "
               "returned unchanged."),
    # ---- deprecated drive adding ----
    Action("add_cdrom", [String("filename")], daemon=False, state=CONFIG,
           deprecated_by="add_drive_ro",
           doc="Deprecated: add a CD-ROM image.  The image is added read-only, exactly as "
               "add_drive_ro does."),
    Action("add_drive_with_if", [String("filename"), String("iface")], daemon=False,
           state=CONFIG, deprecated_by="add_drive",
           doc="Deprecated: add_drive with the emulated interface IFACE (add_drive's iface "
               "optional argument)."),
    Action("add_drive_ro_with_if", [String("filename"), String("iface")], daemon=False,
           state=CONFIG, deprecated_by="add_drive",
           doc="Deprecated: add_drive_ro with the emulated interface IFACE."),
    # ---- devices seen by the daemon ----
    Action("is_whole_device", [Device("device")], RBool(),
           doc="True if DEVICE is a whole block device (a disk), false for a partition, a "
               "logical volume or another mapped device."),
    _is_type("is_blockdev", "block device"),
    _is_type("is_chardev", "character device"),
    _is_type("is_fifo", "FIFO (named pipe)"),
    _is_type("is_socket", "Unix domain socket"),
    Action("list_dm_devices", [], RStringList(),
           doc="The device-mapper devices, as /dev/mapper/NAME (for example those "
               "luks_open and cryptsetup_open make), sorted.  Logical volumes are left "
               "out: lvs lists them."),
    Action("findfs_partuuid", [String("uuid")], RString(),
           doc="The partition whose partition UUID (a GPT partition's unique GUID, or an "
               "MBR disk signature with the partition number) is UUID; ENOENT if none."),
    Action("findfs_partlabel", [String("label")], RString(),
           doc="The partition whose partition label (a GPT partition's name) is LABEL; "
               "ENOENT if none."),
    # ---- mountables ----
    Action("mountable_device", [Mountable("mountable")], RString(),
           doc="The device of MOUNTABLE: MOUNTABLE itself for a device, the device part of "
               "a btrfs subvolume mountable (btrfsvol:/dev/sda1/SUBVOL)."),
    Action("mountable_subvolume", [Mountable("mountable")], RString(),
           doc="The subvolume path of a btrfs subvolume mountable; a mountable that is not "
               "a subvolume is an error (EINVAL)."),
    # ---- mounting ----
    Action("mount_loop", [Pathname("file"), Pathname("mountpoint")],
           doc="Mount the filesystem image FILE (a regular file in the mounted guest tree) "
               "at MOUNTPOINT, through a loop device, as mount -o loop does."),
    Action("remount", [Pathname("mountpoint")], RErr(), [OBool("rw")],
           doc="Change the read-only/read-write flag of the filesystem mounted at "
               "MOUNTPOINT: rw true makes it read-write, false read-only.  rw must be "
               "given."),
    Action("mkmountpoint", [Pathname("exemptpath")],
           doc="Make a directory in the appliance's root for the guest tree, before or "
               "instead of mounting a filesystem on /, so that several unrelated (for "
               "example nested read-only) filesystems can be mounted side by side: "
               "mkmountpoint /cd, mount /dev/sda /cd, mkmountpoint /sqsh, mount_loop "
               "/cd/LiveOS/squashfs.img /sqsh.  umount_all unmounts the longest paths "
               "first, so give inner mountpoints longer names; remove the mountpoints with "
               "rmmountpoint once they are unmounted."),
    Action("rmmountpoint", [Pathname("exemptpath")],
           doc="Remove a mountpoint made by mkmountpoint (it must be unmounted and empty)."),
    Action("mount_9p", [String("mounttag"), String("mountpoint")], RErr(),
           [OString("options")], deprecated_by=None,
           doc="Deprecated, with no replacement: does nothing and fails (ENOTSUP)."),
    Action("list_9p", [], RStringList(),
           doc="Deprecated, with no replacement: does nothing and fails (ENOTSUP)."),
]
