"""Daemon actions: devices, partitions, filesystems, mounting."""

from .table import (
    Action, String, Int, Int64, Device, Mountable, Pathname, StringList,
    OInt, OString, RErr, RInt, RInt64, RBool, RString, RStringList, RStructList,
    RHashtable, RStruct,
)

ACTIONS = [
    # ---- devices ----
    Action("list_devices", [], RStringList(),
           doc="The block devices of the drives added to the handle, in add order "
               "(/dev/sda, /dev/sdb, ...)."),
    Action("list_partitions", [], RStringList(),
           doc="Every partition of every drive, in order (/dev/sda1, /dev/sda2, ...)."),
    Action("list_filesystems", [], RHashtable(),
           doc="Pairs of device and filesystem type for every device and partition that "
               "holds something (unknown when it cannot be told, swap, crypto_LUKS, ...).  "
               "Disks carrying a partition table are not listed themselves."),
    Action("blockdev_getsize64", [Device("device")], RInt64(),
           doc="The size of DEVICE in bytes."),
    Action("blockdev_getss", [Device("device")], RInt(),
           doc="The logical sector size of DEVICE in bytes."),
    Action("blockdev_getro", [Device("device")], RBool(),
           doc="True if DEVICE is read-only."),
    Action("blockdev_rereadpt", [Device("device")],
           doc="Ask the kernel to re-read DEVICE's partition table."),
    Action("blockdev_flushbufs", [Device("device")],
           doc="Flush DEVICE's buffers."),
    # ---- filesystem identification ----
    Action("vfs_type", [Mountable("mountable")], RString(),
           doc="The type of the filesystem (or other content) on MOUNTABLE as blkid reports "
               "it: ext4, xfs, vfat, swap, crypto_LUKS, ...; an empty string if none."),
    Action("vfs_label", [Mountable("mountable")], RString(),
           doc="The label of the filesystem on MOUNTABLE (empty if none)."),
    Action("vfs_uuid", [Mountable("mountable")], RString(),
           doc="The UUID of the filesystem on MOUNTABLE (empty if none)."),
    Action("blkid", [Device("device")], RHashtable(),
           doc="Everything blkid knows about DEVICE as key/value pairs (TYPE, UUID, LABEL, "
               "PARTUUID, ...)."),
    # ---- partitions ----
    Action("part_init", [Device("device"), String("parttype")],
           doc="Create a new empty partition table of PARTTYPE on DEVICE: msdos (or mbr), "
               "gpt, or loop (none at all)."),
    Action("part_disk", [Device("device"), String("parttype")],
           doc="Make a partition table of PARTTYPE covering the whole of DEVICE with one "
               "partition, aligned to 1 MiB."),
    Action("part_add", [Device("device"), String("prlogex"), Int64("startsect"),
                        Int64("endsect")],
           doc="Add a partition to DEVICE from sector STARTSECT to ENDSECT (inclusive; a "
               "negative ENDSECT counts back from the end).  PRLOGEX is primary, logical or "
               "extended (p, l, e)."),
    Action("part_list", [Device("device")], RStructList("partition"),
           doc="The partitions of DEVICE as structs with part_num, part_start, part_end and "
               "part_size (bytes)."),
    Action("part_get_parttype", [Device("device")], RString(),
           doc="The partition table type of DEVICE: msdos, gpt, loop, ..."),
    # ---- filesystems ----
    Action("mkfs", [String("fstype"), Device("device")], RErr(),
           [OInt("blocksize"), OString("features"), OInt("inode"), OInt("sectorsize"),
            OString("label")],
           once_had_no_optargs=True, fish_alias=["mkfs-opts"], progress=False,
           doc="Make a filesystem of FSTYPE (ext2/3/4, xfs, btrfs, vfat, ntfs, ...) on "
               "DEVICE.  blocksize, features (ext*), inode size (ext*), sectorsize (ufs/xfs) "
               "and label are optional."),
    # ---- mounting ----
    Action("mount", [Mountable("mountable"), String("mountpoint")],
           doc="Mount MOUNTABLE at MOUNTPOINT inside the guest's tree (/ first).  Nothing is "
               "ever mounted on the host."),
    Action("mount_ro", [Mountable("mountable"), String("mountpoint")],
           doc="Mount read-only."),
    Action("mount_options", [String("options"), Mountable("mountable"), String("mountpoint")],
           doc="Mount with OPTIONS (as for mount -o)."),
    Action("mount_vfs", [String("options"), String("vfstype"), Mountable("mountable"),
                         String("mountpoint")],
           doc="Mount with OPTIONS and an explicit filesystem type VFSTYPE."),
    Action("umount", [String("pathordevice")], RErr(), [OInt("force"), OInt("lazyunmount")],
           once_had_no_optargs=True, fish_alias=["unmount"],
           doc="Unmount the filesystem mounted at a mountpoint or from a device."),
    Action("umount_all", [], fish_alias=["unmount-all"],
           doc="Unmount every filesystem, deepest first."),
    Action("mounts", [], RStringList(),
           doc="The devices currently mounted, in mount order."),
    Action("mountpoints", [], RHashtable(),
           doc="Pairs of device and mountpoint for every mounted filesystem."),
    Action("sync", [], doc="Flush all written data to the disks."),
    Action("statvfs", [Pathname("path")], RStruct("statvfs"),
           doc="Filesystem statistics for the filesystem holding PATH as a struct: bsize, "
               "frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax."),
    Action("df", [], RString(), doc="Output of df (1K blocks)."),
    Action("df_h", [], RString(), doc="Output of df -h."),
]

