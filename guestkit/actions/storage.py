"""Daemon actions: devices, partitions, filesystems, mounting."""

from .table import (
    Action, String, Int, Int64, Bool, Device, Mountable, Pathname,
    OBool, OInt, OString, RErr, RInt, RInt64, RBool, RString, RStringList, RStructList,
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
           doc="Pairs of device and filesystem type for every device, partition, md array "
               "and logical volume that holds something (unknown when it cannot be told, "
               "swap, ...).  Disks carrying a partition table, LVM physical volumes, md "
               "members and encrypted devices are not listed themselves; an opened LUKS "
               "device appears as /dev/mapper/NAME."),
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
    Action("blockdev_setro", [Device("device")], doc="Make DEVICE read-only."),
    Action("blockdev_setrw", [Device("device")], doc="Make DEVICE read-write."),
    Action("blockdev_getsz", [Device("device")], RInt64(),
           doc="The size of DEVICE in 512-byte sectors (whatever its sector size)."),
    Action("blockdev_getbsz", [Device("device")], RInt(),
           doc="The kernel's block size for DEVICE (not the filesystem's)."),
    Action("blockdev_setbsz", [Device("device"), Int("blocksize")],
           doc="Deprecated: does nothing, as in libguestfs (use mkfs blocksize)."),
    Action("blockdev_getra", [Device("device")], RInt(),
           doc="The readahead of DEVICE in 512-byte sectors."),
    Action("blockdev_setra", [Device("device"), Int("sectors")],
           doc="Set the readahead of DEVICE in 512-byte sectors."),
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
    Action("part_del", [Device("device"), Int("partnum")],
           doc="Delete partition PARTNUM (deleting an MBR extended partition deletes its "
               "logical partitions too)."),
    Action("part_resize", [Device("device"), Int("partnum"), Int64("endsect")],
           doc="Move the end of partition PARTNUM to sector ENDSECT.  Filesystems inside "
               "are not resized: grow them after, shrink them before."),
    Action("part_expand_gpt", [Device("device")], group="gdisk",
           doc="Move the backup GPT structures to the end of the disk (after the image "
               "grew), as sgdisk -e does."),
    Action("part_set_bootable", [Device("device"), Int("partnum"), Bool("bootable")],
           doc="Set or clear the bootable flag of partition PARTNUM."),
    Action("part_get_bootable", [Device("device"), Int("partnum")], RBool(),
           doc="The bootable flag of partition PARTNUM."),
    Action("part_set_mbr_id", [Device("device"), Int("partnum"), Int("idbyte")],
           doc="Set the MBR type byte of partition PARTNUM (e.g. 0x83 Linux, 0x07 NTFS)."),
    Action("part_get_mbr_id", [Device("device"), Int("partnum")], RInt(),
           doc="The MBR type byte of partition PARTNUM."),
    Action("part_get_mbr_part_type", [Device("device"), Int("partnum")], RString(),
           doc="primary, logical or extended, for MBR partition PARTNUM."),
    Action("part_set_gpt_type", [Device("device"), Int("partnum"), String("guid")],
           group="gdisk", doc="Set the type GUID of GPT partition PARTNUM."),
    Action("part_get_gpt_type", [Device("device"), Int("partnum")], RString(), group="gdisk",
           doc="The type GUID of GPT partition PARTNUM."),
    Action("part_set_gpt_guid", [Device("device"), Int("partnum"), String("guid")],
           group="gdisk", doc="Set the unique GUID of GPT partition PARTNUM."),
    Action("part_get_gpt_guid", [Device("device"), Int("partnum")], RString(), group="gdisk",
           doc="The unique GUID of GPT partition PARTNUM."),
    Action("part_set_gpt_attributes", [Device("device"), Int("partnum"),
                                       Int64("attributes")], group="gdisk",
           doc="Set the attribute flags (a 64-bit mask) of GPT partition PARTNUM."),
    Action("part_get_gpt_attributes", [Device("device"), Int("partnum")], RInt64(),
           group="gdisk", doc="The attribute flags of GPT partition PARTNUM."),
    Action("part_set_name", [Device("device"), Int("partnum"), String("name")],
           doc="Set the name of partition PARTNUM (GPT only)."),
    Action("part_get_name", [Device("device"), Int("partnum")], RString(),
           doc="The name of partition PARTNUM (GPT only)."),
    Action("part_get_disk_guid", [Device("device")], RString(), group="gdisk",
           doc="The disk GUID of a GPT-partitioned DEVICE."),
    Action("part_set_disk_guid", [Device("device"), String("guid")], group="gdisk",
           doc="Set the disk GUID of a GPT-partitioned DEVICE."),
    Action("part_set_disk_guid_random", [Device("device")], group="gdisk",
           doc="Give a GPT-partitioned DEVICE a new random disk GUID."),
    Action("part_to_dev", [Device("partition")], RString(),
           doc="The disk a partition belongs to (/dev/sdb1 -> /dev/sdb)."),
    Action("part_to_partnum", [Device("partition")], RInt(),
           doc="The number of a partition (/dev/sdb1 -> 1)."),
    Action("sfdisk_l", [Device("device")], RString(),
           doc="Deprecated: the partition table as sfdisk -l prints it (use part_list)."),
    Action("sfdisk_disk_geometry", [Device("device")], RString(),
           doc="Deprecated: the disk geometry as sfdisk prints it."),
    Action("sfdisk_kernel_geometry", [Device("device")], RString(),
           doc="Deprecated: the kernel's idea of the disk geometry as sfdisk prints it."),
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
           doc="Mount the filesystem on MOUNTABLE (a device such as /dev/sda1 or "
               "/dev/VG/LV, or btrfsvol:/dev/sdX/SUBVOL for a btrfs subvolume) at "
               "MOUNTPOINT in the guest's tree.  The first mount must be on /; "
               "later ones go on directories that exist inside what is already mounted "
               "(MOUNTPOINT is resolved inside the guest, symlinks included, so it never "
               "leads out of it).  The filesystem type is detected.  The mount is "
               "read-write with the kernel's defaults (use mount_ro or mount_options "
               "otherwise); writing to a drive added read-only goes to its temporary "
               "overlay.  Nothing is ever mounted on the host.  Errors: ENOENT when "
               "MOUNTPOINT is not a directory, EINVAL when / is not mounted yet, and "
               "mount(8)'s message when the kernel refuses (unknown filesystem, "
               "damaged superblock, device busy).  Undo with umount or umount_all."),
    Action("mount_ro", [Mountable("mountable"), String("mountpoint")],
           doc="Like mount, but read-only (mount -o ro): nothing can be written through "
               "this mount.  Note that some filesystems still replay their journal when "
               "mounted read-only; add the drive with readonly=True to keep the image "
               "itself untouched."),
    Action("mount_options", [String("options"), Mountable("mountable"), String("mountpoint")],
           doc="Like mount, with OPTIONS, a comma-separated list as given to mount -o "
               "(\"ro,noatime\", \"subvol=@home\", ...; empty for none).  Options the "
               "kernel does not know make the call fail with mount(8)'s message."),
    Action("mount_vfs", [String("options"), String("vfstype"), Mountable("mountable"),
                         String("mountpoint")],
           doc="Mount with OPTIONS and an explicit filesystem type VFSTYPE."),
    Action("umount", [String("pathordevice")], RErr(), [OBool("force"), OBool("lazyunmount")],
           once_had_no_optargs=True, fish_alias=["unmount"],
           doc="Unmount a filesystem, named by its mount point in the guest's tree or "
               "by the device it was mounted from (the last mount of that device).  "
               "Filesystems mounted below it must be unmounted first.  force (umount -f) "
               "forces the unmount; lazyunmount (umount -l) detaches it now and cleans up "
               "when it is no longer busy.  Errors: EINVAL when PATHORDEVICE is not "
               "mounted, and umount(8)'s message when the filesystem is busy."),
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

