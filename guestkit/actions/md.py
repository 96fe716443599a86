"""Daemon actions: Linux software RAID (md) through mdadm (group mdadm)."""

from .table import (
    Action, String, Device, DeviceList, OInt, OInt64, OString,
    RErr, RStringList, RStructList, RHashtable,
)

ACTIONS = [
    Action("md_create", [String("name"), DeviceList("devices")], RErr(),
           [OInt64("missingbitmap"), OInt("nrdevices"), OInt("spare"), OInt64("chunk"),
            OString("level")],
           group="mdadm",
           doc="Create the md (RAID) array NAME (mdN, or a name that becomes /dev/md/NAME) "
               "from DEVICES.  missingbitmap: a set bit adds a missing device at that place "
               "of the array (the least significant bit is the first place; default 0).  "
               "nrdevices: the number of active devices (default: the devices plus the bits "
               "set in missingbitmap).  spare: the number of spare devices (default 0).  "
               "The devices plus the missing ones must equal nrdevices plus spare.  chunk: "
               "the chunk size in bytes (a multiple of 1024; not for raid1).  level: linear, "
               "raid0 (0, stripe), raid1 (1, mirror; the default), raid4 (4), raid5 (5), "
               "raid6 (6) or raid10 (10)."),
    Action("md_detail", [Device("md")], RHashtable(), group="mdadm",
           doc="What mdadm -D --export says about the md device MD, as key/value pairs with "
               "the MD_ prefix removed and the key in lower case: usually level, devices, "
               "metadata, uuid and name, and others."),
    Action("md_stat", [Device("md")], RStructList("mdstat"), group="mdadm",
           doc="The devices that make up the md device MD (from /proc/mdstat), as mdstat "
               "structs: mdstat_device (/dev/...), mdstat_index (its place in the array) and "
               "mdstat_flags, zero or more of W (write-mostly), F (faulty), S (spare), "
               "R (replacement)."),
    Action("md_stop", [Device("md")], group="mdadm",
           doc="Stop the md array MD.  It is deactivated, not destroyed or zeroed: its "
               "members still carry its metadata."),
    Action("list_md_devices", [], RStringList(),
           doc="Every running Linux md device (/dev/md127, ...), sorted."),
]
