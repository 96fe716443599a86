"""ext2/3/4 tuning and deprecated journal helpers, ext file generations, lost+found, the
XFS geometry as a hashtable, f2fs growth."""

from .table import (
    Action, String, Int, Int64, Device, Pathname, DevOrPath,
    OBool, OInt, OInt64, OString, RErr, RInt64, RHashtable,
)

ACTIONS = [
    Action("tune2fs", [Device("device")], RErr(),
           [OBool("force"), OInt("maxmountcount"), OInt("mountcount"),
            OString("errorbehavior"), OInt64("group"), OInt("intervalbetweenchecks"),
            OInt("reservedblockspercentage"), OString("lastmounteddirectory"),
            OInt64("reservedblockscount"), OInt64("user")],
           doc="Change parameters of the ext2/3/4 filesystem on DEVICE, as tune2fs(8) "
               "does: force (-f), maxmountcount (-c; 0 disables the mount-count check), "
               "mountcount (-C), errorbehavior (-e: continue, remount-ro or panic), group "
               "(-g, a number), intervalbetweenchecks (-i, seconds; 0 disables), "
               "reservedblockspercentage (-m), lastmounteddirectory (-M), "
               "reservedblockscount (-r) and user (-u, a number).  tune2fs_l reads them "
               "back."),
    Action("tune2fs_l", [Device("device")], RHashtable(),
           doc="The superblock of the ext2/3/4 filesystem on DEVICE as tune2fs -l prints "
               "it, as pairs of field name and value (a value shown as <none> or <not "
               "available> is empty).  Which fields appear depends on the filesystem and "
               "on the version of e2fsprogs."),
    Action("mke2journal", [Int("blocksize"), Device("device")], deprecated_by="mke2fs",
           doc="Deprecated (use mke2fs): make an external ext journal on DEVICE with block "
               "size BLOCKSIZE (mke2fs -O journal_dev -b BLOCKSIZE)."),
    Action("mke2journal_L", [Int("blocksize"), String("label"), Device("device")],
           deprecated_by="mke2fs",
           doc="Deprecated (use mke2fs): make an external ext journal labelled LABEL."),
    Action("mke2journal_U", [Int("blocksize"), String("uuid"), Device("device")],
           deprecated_by="mke2fs", group="linuxfsuuid",
           doc="Deprecated (use mke2fs): make an external ext journal with UUID UUID."),
    Action("mke2fs_J", [String("fstype"), Int("blocksize"), Device("device"),
                        Device("journal")], deprecated_by="mke2fs",
           doc="Deprecated (use mke2fs): make an ext2/3/4 filesystem of FSTYPE on DEVICE "
               "whose journal is the external journal device JOURNAL (mke2fs -t FSTYPE -b "
               "BLOCKSIZE -J device=JOURNAL)."),
    Action("mke2fs_JL", [String("fstype"), Int("blocksize"), Device("device"),
                         String("label")], deprecated_by="mke2fs",
           doc="Deprecated (use mke2fs): as mke2fs_J, the journal being the external "
               "journal labelled LABEL."),
    Action("mke2fs_JU", [String("fstype"), Int("blocksize"), Device("device"),
                         String("uuid")], deprecated_by="mke2fs", group="linuxfsuuid",
           doc="Deprecated (use mke2fs): as mke2fs_J, the journal being the external "
               "journal with UUID UUID."),
    Action("mkfs_b", [String("fstype"), Int("blocksize"), Device("device")],
           deprecated_by="mkfs",
           doc="Deprecated (use mkfs with blocksize): make a filesystem of FSTYPE on "
               "DEVICE with block size BLOCKSIZE (the cluster size for vfat and ntfs)."),
    Action("mklost_and_found", [Pathname("mountpoint")],
           doc="Make the lost+found directory (with the preallocated blocks e2fsck wants) "
               "in directory MOUNTPOINT, normally the root of an ext2/3/4 filesystem."),
    Action("get_e2generation", [Pathname("file")], RInt64(),
           doc="The generation number of FILE's inode (used by NFS servers); FILE must be "
               "on an ext2/3/4 filesystem."),
    Action("set_e2generation", [Pathname("file"), Int64("generation")],
           doc="Set the generation number of FILE's inode (ext2/3/4)."),
    Action("xfs_info2", [DevOrPath("pathordevice")], RHashtable(),
           doc="The geometry of the XFS filesystem on a device or mounted at a path, as "
               "pairs taken from xfs_info's report: a section name (meta-data, data, "
               "naming, log, realtime) maps to the text that follows its = sign (the "
               "device, version 2, internal log ...), and SECTION.FIELD to each numeric "
               "field (meta-data.isize 512, meta-data.crc 1, data.bsize 4096, "
               "log.blocks ...; a count of blocks or extents keeps its unit, as in "
               "4 blks).  Which fields appear depends on the filesystem and on "
               "xfsprogs."),
    Action("f2fs_expand", [Device("device")], group="f2fs",
           doc="Grow the f2fs filesystem on DEVICE to the size of the device."),
]
