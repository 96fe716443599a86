"""Daemon actions: ldm (see docs/api.md).

Windows dynamic disks (LDM) through ldmtool(1): disk groups, their volumes, disks and
partitions, and device-mapper devices for the volumes.  Every action here depends on the
feature "ldm".
"""

from .table import Action, DeviceList, RErr, RString, RStringList, String

_DG = ("DISKGROUP is a disk group's GUID, as ldmtool_scan returns them; an unknown one is "
       "ENOENT.")

ACTIONS = [
    Action("ldmtool_scan", [], RStringList(), group="ldm",
           doc="Scan every disk for Windows dynamic disk metadata and return the GUIDs of "
               "the disk groups found (an empty list if there are none)."),
    Action("ldmtool_scan_devices", [DeviceList("devices")], RStringList(), group="ldm",
           doc="Like ldmtool_scan, scanning only DEVICES (every disk if the list is "
               "empty)."),
    Action("ldmtool_diskgroup_name", [String("diskgroup")], RString(), group="ldm",
           doc="The name of the Windows dynamic disk group DISKGROUP.  " + _DG),
    Action("ldmtool_diskgroup_volumes", [String("diskgroup")], RStringList(), group="ldm",
           doc="The names of the volumes of the dynamic disk group DISKGROUP.  " + _DG),
    Action("ldmtool_diskgroup_disks", [String("diskgroup")], RStringList(), group="ldm",
           doc="The names of the disks of the dynamic disk group DISKGROUP.  " + _DG),
    Action("ldmtool_volume_type", [String("diskgroup"), String("volume")], RString(),
           group="ldm",
           doc="The type of the volume VOLUME of the disk group DISKGROUP: simple, "
               "spanned, striped, mirrored, raid5, or another type ldmtool knows.  " + _DG),
    Action("ldmtool_volume_hint", [String("diskgroup"), String("volume")], RString(),
           group="ldm",
           doc="The hint of the volume VOLUME of the disk group DISKGROUP, often the "
               "Windows drive letter it had (\"E:\"); empty if it has none.  " + _DG),
    Action("ldmtool_volume_partitions", [String("diskgroup"), String("volume")],
           RStringList(), group="ldm",
           doc="The names of the partitions making up the volume VOLUME of the disk group "
               "DISKGROUP.  " + _DG),
    Action("ldmtool_create_all", [], RErr(), group="ldm",
           doc="Scan every disk for Windows dynamic disks and make a device-mapper device "
               "for each volume and partition found (list them with list_ldm_volumes and "
               "list_ldm_partitions).  The listing actions do this once by themselves, so "
               "it is seldom needed; call it again after changing the disks."),
    Action("ldmtool_remove_all", [], RErr(), group="ldm",
           doc="Remove the device-mapper devices of every Windows dynamic disk volume and "
               "partition (the opposite of ldmtool_create_all)."),
    Action("list_ldm_volumes", [], RStringList(), group="ldm",
           doc="The devices of the Windows dynamic disk volumes "
               "(/dev/mapper/ldm_vol_...), made the first time any of these listing "
               "actions runs (see ldmtool_create_all)."),
    Action("list_ldm_partitions", [], RStringList(), group="ldm",
           doc="The devices of the Windows dynamic disk partitions "
               "(/dev/mapper/ldm_part_...), made as for list_ldm_volumes."),
]
