"""Daemon actions: fstools (see docs/api.md).

Filesystem tools beyond mkfs: ext2/3/4 (mke2fs, labels, UUIDs, attributes, resize, fsck,
zerofree), swap, labels and UUIDs of every filesystem type, xfs, btrfs, NTFS resizing,
minimum sizes, trimming, wiping and zeroing.
"""

from .table import (
    Action, Bool, DevOrPath, Device, Int, Int64, Mountable, Pathname, RBool, RErr, RHashtable,
    RInt, RInt64, RString, RStruct, RStructList, String,
)


class MountableOrPath(String):
    """A device, btrfsvol:/dev/sdX/subvol, or an absolute path in the guest."""
    label = "mountable or path"

    def check(self, value, action):
        value = super().check(value, action)
        if not (value.startswith("/") or value.startswith("btrfsvol:")):
            raise ValueError("%s: %s: expecting a device, btrfsvol:... or an absolute path, "
                             "got %r" % (action, self.name, value))
        return value


_E2ATTRS = (
    "The attributes are letters as lsattr(1) prints them: A (no atime updates), a "
    "(append only), c (compressed), C (no copy on write), D (synchronous directory updates), "
    "d (no dump), E (encrypted), e (extents), F (casefolded), I (indexed directory), i "
    "(immutable), j (data journalling), m (don't compress), N (inline data), P (project "
    "hierarchy), S (synchronous updates), s (secure deletion), T (top of directory "
    "hierarchies), t (no tail merging), u (undeletable), V (verity), x (DAX).")

ACTIONS = [
    # ---- ext2/3/4 ----
    Action("mke2fs", [Device("device")], RErr(),
           [Int64("blockscount"), Int64("blocksize"), Int64("fragsize"),
            Int64("blockspergroup"), Int64("numberofgroups"), Int64("bytesperinode"),
            Int64("inodesize"), Int64("journalsize"), Int64("numberofinodes"),
            Int64("stridesize"), Int64("stripewidth"), Int64("maxonlineresize"),
            Int("reservedblockspercentage"), Int("mmpupdateinterval"),
            String("journaldevice"), String("label"), String("lastmounteddir"),
            String("creatoros"), String("fstype"), String("usagetype"), String("uuid"),
            Bool("forcecreate"), Bool("writesbandgrouponly"), Bool("lazyitableinit"),
            Bool("lazyjournalinit"), Bool("testfs"), Bool("discard"), Bool("quotatype"),
            Bool("extent"), Bool("filetype"), Bool("flexbg"), Bool("hasjournal"),
            Bool("journaldev"), Bool("largefile"), Bool("quota"), Bool("resizeinode"),
            Bool("sparsesuper"), Bool("uninitbg")],
           doc="Create an ext2, ext3 or ext4 filesystem on DEVICE with mke2fs(8).  "
               "blockscount is the size in blocks (default: the whole device; a filesystem "
               "too small for a journal silently becomes ext2).  The optional arguments map "
               "to mke2fs's options: blocksize -b, fragsize -f, blockspergroup -g, "
               "numberofgroups -G, bytesperinode -i, inodesize -I, journalsize -J size= "
               "(MiB), journaldevice -J device= (a device, LABEL=... or UUID=...), "
               "numberofinodes -N, stridesize/stripewidth/maxonlineresize/"
               "mmpupdateinterval/lazyitableinit/lazyjournalinit/testfs/discard -E, "
               "quotatype -E quotatype=usrquota:grpquota (with quota), "
               "reservedblockspercentage -m, label -L, lastmounteddir -M, creatoros -o, "
               "fstype -t, usagetype -T, uuid -U, forcecreate -F, writesbandgrouponly -S; "
               "the booleans extent, filetype, flexbg, hasjournal, journaldev, largefile, "
               "quota, resizeinode, sparsesuper and uninitbg turn the -O feature of that "
               "name on (true) or off (false)."),
    Action("get_e2label", [Device("device")], RString(), deprecated_by="vfs_label",
           doc="Deprecated: use vfs_label.  The label of the ext2/3/4 filesystem on "
               "DEVICE."),
    Action("set_e2label", [Device("device"), String("label")], RErr(),
           deprecated_by="set_label",
           doc="Deprecated: use set_label.  Set the label of the ext2/3/4 filesystem on "
               "DEVICE (at most 16 bytes)."),
    Action("get_e2uuid", [Device("device")], RString(), deprecated_by="vfs_uuid",
           doc="Deprecated: use vfs_uuid.  The UUID of the ext2/3/4 filesystem on DEVICE."),
    Action("set_e2uuid", [Device("device"), String("uuid")], RErr(),
           deprecated_by="set_uuid",
           doc="Deprecated: use set_uuid.  Set the UUID of the ext2/3/4 filesystem on "
               "DEVICE; besides a UUID, clear, random and time are accepted as in "
               "tune2fs(8)."),
    Action("get_e2attrs", [Pathname("file")], RString(),
           doc="The file attributes of FILE (on ext2/3/4; btrfs supports some), as a "
               "string of letters, empty if none is set.  " + _E2ATTRS + "  Not to be "
               "confused with extended attributes (getxattr)."),
    Action("set_e2attrs", [Pathname("file"), String("attrs")], RErr(), [Bool("clear")],
           doc="Set (or with clear=True, clear) the file attributes ATTRS, a string of "
               "letters as get_e2attrs returns them, on FILE; attributes not named are left "
               "as they are.  Not every attribute can be changed (e, I, E, N, V cannot).  "
               "An unknown letter is EINVAL."),
    Action("resize2fs", [Device("device")], RErr(),
           doc="Resize the ext2/3/4 filesystem on DEVICE to fill the device.  An unmounted "
               "filesystem is checked first (e2fsck -f -y), as resize2fs requires; a "
               "mounted one is grown online."),
    Action("resize2fs_M", [Device("device")], RErr(),
           doc="Shrink the ext2/3/4 filesystem on DEVICE to its minimum size (resize2fs "
               "-M); checked first like resize2fs.  The new size is Block count times "
               "Block size (see vfs_minimum_size)."),
    Action("resize2fs_size", [Device("device"), Int64("size")], RErr(),
           doc="Resize the ext2/3/4 filesystem on DEVICE to SIZE bytes (rounded down to "
               "KiB); checked first like resize2fs."),
    Action("e2fsck", [Device("device")], RErr(),
           [Bool("correct"), Bool("forceall"), Bool("forceno")],
           doc="Check the ext2/3/4 filesystem on DEVICE (e2fsck -f).  correct repairs "
               "what can safely be repaired without a human (-p); forceall answers yes to "
               "every question (-y); forceno answers no to every question (-n), so "
               "nothing changes; only one of the three may be given.  With none, the "
               "check changes nothing (-n).  Errors left uncorrected make it fail."),
    Action("e2fsck_f", [Device("device")], RErr(), deprecated_by="e2fsck",
           doc="Deprecated: use e2fsck.  Run e2fsck -p -f on DEVICE: check even if clean, "
               "repair what is safe."),
    Action("fsck", [String("fstype"), Device("device")], RInt(),
           doc="Run the filesystem checker for FSTYPE on DEVICE (fsck -a -t FSTYPE DEVICE) "
               "and return its status, a sum of fsck(8)'s codes: 0 clean, 1 errors "
               "corrected, 4 errors left uncorrected, 8 operational error, ...  A non-zero "
               "status is not an error of this call.  NTFS cannot be checked."),
    Action("zerofree", [Device("device")], RErr(), group="zerofree",
           doc="Zero the unused blocks and inodes of the (unmounted) ext2/3/4 filesystem "
               "on DEVICE with zerofree, so the image compresses or sparsifies better.  Do "
               "not run it on a mounted filesystem."),
    # ---- labels and UUIDs ----
    Action("set_label", [Mountable("mountable"), String("label")], RErr(),
           doc="Set the label of the filesystem on MOUNTABLE: ext2/3/4 (at most 16 bytes), "
               "ntfs (128 characters), xfs (12 bytes, unmounted), btrfs (255 bytes, "
               "unmounted; a subvolume's label is its filesystem's), vfat/fat (11 bytes), "
               "swap (16 bytes).  Too long is EINVAL; any other type is ENOTSUP.  Read it "
               "back with vfs_label."),
    Action("set_uuid", [Device("device"), String("uuid")], RErr(),
           doc="Set the UUID of the filesystem on DEVICE: ext2/3/4, xfs and btrfs "
               "(unmounted), swap, and vfat (whose UUID is a volume id, XXXX-XXXX).  Any "
               "other type is ENOTSUP.  Read it back with vfs_uuid."),
    Action("set_uuid_random", [Device("device")], RErr(),
           doc="Set the UUID of the filesystem on DEVICE to a random one (types as for "
               "set_uuid; others are ENOTSUP)."),
    Action("findfs_label", [String("label")], RString(),
           doc="The device holding the filesystem labelled LABEL (disks, partitions, md, "
               "logical volumes and opened encrypted devices are searched); ENOENT if there "
               "is none."),
    Action("findfs_uuid", [String("uuid")], RString(),
           doc="The device holding the filesystem whose UUID is UUID; ENOENT if there is "
               "none."),
    # ---- swap ----
    Action("mkswap", [Device("device")], RErr(), [String("label"), String("uuid")],
           once_had_no_optargs=True,
           doc="Make a Linux swap area on DEVICE, with the optional label (at most 16 "
               "bytes) and UUID."),
    Action("mkswap_L", [String("label"), Device("device")], RErr(), deprecated_by="mkswap",
           doc="Deprecated: use mkswap with label.  Make a swap area on DEVICE labelled "
               "LABEL."),
    Action("mkswap_U", [String("uuid"), Device("device")], RErr(), deprecated_by="mkswap",
           group="linuxfsuuid",
           doc="Deprecated: use mkswap with uuid.  Make a swap area on DEVICE with UUID "
               "UUID."),
    Action("mkswap_file", [Pathname("path")], RErr(),
           doc="Write a swap signature into the existing regular file PATH (make the file "
               "first, e.g. with fallocate; at least 40 KiB)."),
    Action("swapon_device", [Device("device")], RErr(),
           doc="Let the appliance swap on DEVICE (more memory for every later command).  "
               "Don't use a guest's own swap: it may hold hibernation data; add a scratch "
               "drive instead."),
    Action("swapoff_device", [Device("device")], RErr(),
           doc="Stop the appliance swapping on DEVICE."),
    Action("swapon_file", [Pathname("file")], RErr(),
           doc="Let the appliance swap on the swap file FILE (see swapon_device)."),
    Action("swapoff_file", [Pathname("file")], RErr(),
           doc="Stop the appliance swapping on the file FILE."),
    Action("swapon_label", [String("label")], RErr(),
           doc="Let the appliance swap on the swap partition labelled LABEL."),
    Action("swapoff_label", [String("label")], RErr(),
           doc="Stop the appliance swapping on the swap partition labelled LABEL."),
    Action("swapon_uuid", [String("uuid")], RErr(), group="linuxfsuuid",
           doc="Let the appliance swap on the swap partition with UUID UUID."),
    Action("swapoff_uuid", [String("uuid")], RErr(), group="linuxfsuuid",
           doc="Stop the appliance swapping on the swap partition with UUID UUID."),
    # ---- trimming, wiping, zeroing ----
    Action("fstrim", [Pathname("mountpoint")], RErr(),
           [Int64("offset"), Int64("length"), Int64("minimumfreeextent")], group="fstrim",
           doc="Discard (trim) the free space of the filesystem mounted read-write on "
               "MOUNTPOINT, giving it back to the host image; offset, length and "
               "minimumfreeextent (bytes) limit the range and the extents considered.  "
               "ENOTSUP when the filesystem or device cannot discard.  See also "
               "zero_free_space."),
    Action("blkdiscard", [Device("device")], RErr(), group="blkdiscard",
           doc="Discard every block of DEVICE, giving the space back to the host image: "
               "the data on it is gone.  The drive must have been added with discard "
               "enable or besteffort (see add_drive_opts); ENOTSUP when DEVICE cannot "
               "discard."),
    Action("blkdiscardzeroes", [Device("device")], RBool(), group="blkdiscardzeroes",
           doc="True if blocks of DEVICE discarded by blkdiscard read back as zero bytes; "
               "false when they may read back as stale data."),
    Action("wipefs", [Device("device")], RErr(), group="wipefs",
           doc="Erase the filesystem, RAID and partition-table signatures on DEVICE so "
               "blkid no longer sees them (wipefs -a); the data itself stays.  Compare "
               "zero."),
    Action("zero", [Device("device")], RErr(), progress=True,
           doc="Write zeroes over the first blocks (128 KiB) of DEVICE: enough to remove "
               "partition tables and superblocks, not to wipe it securely.  Blocks that "
               "are already zero are not written, so sparse images stay sparse."),
    Action("zero_device", [Device("device")], RErr(), progress=True,
           doc="Write zeroes over the whole of DEVICE, skipping blocks that are already "
               "zero (so sparse images stay sparse)."),
    Action("zero_free_space", [Pathname("directory")], RErr(), progress=True,
           doc="Turn the free space of the filesystem mounted read-write on DIRECTORY into "
               "zeroes, by filling it with a temporary file of zeroes, then removing it.  "
               "The files are untouched; nothing is trimmed (see fstrim)."),
    Action("is_zero", [Pathname("path")], RBool(),
           doc="True if the regular file PATH is empty or holds only zero bytes.  Holes of "
               "sparse files are skipped, not read."),
    Action("is_zero_device", [Device("device")], RBool(),
           doc="True if DEVICE holds only zero bytes (it is read up to the first non-zero "
               "byte: a long time for big zeroed devices)."),
    Action("vfs_minimum_size", [Mountable("mountable")], RInt64(),
           doc="The minimum size in bytes the filesystem on MOUNTABLE can be shrunk to: "
               "ext2/3/4 (resize2fs -P), ntfs (ntfsresize), btrfs (min-dev-size, mounted "
               "temporarily if need be), xfs (which cannot shrink: its current size).  "
               "ENOTSUP for other types."),
    # ---- NTFS ----
    Action("ntfsresize", [Device("device")], RErr(), [Int64("size"), Bool("force")],
           once_had_no_optargs=True, group="ntfsprogs",
           doc="Resize the NTFS filesystem on DEVICE to fill the device, or to size bytes.  "
               "force resizes even a filesystem marked for a consistency check; after a "
               "resize it is always so marked, so a second resize without booting Windows "
               "needs force."),
    # ---- XFS ----
    Action("xfs_info", [DevOrPath("pathordevice")], RStruct("xfsinfo"), group="xfs",
           doc="The geometry of the XFS filesystem on a device, or mounted at a path: a "
               "struct with xfs_mntpoint, xfs_inodesize, xfs_agcount, xfs_agsize, "
               "xfs_sectsize, xfs_attr, xfs_blocksize, xfs_datablocks, xfs_imaxpct, "
               "xfs_sunit, xfs_swidth, xfs_dirversion, xfs_dirblocksize, xfs_cimode, "
               "xfs_logname, xfs_logblocksize, xfs_logblocks, xfs_logversion, "
               "xfs_logsectsize, xfs_logsunit, xfs_lazycount, xfs_rtname, xfs_rtextsize, "
               "xfs_rtblocks, xfs_rtextents.  Missing numbers are -1, missing strings "
               "empty."),
    Action("xfs_growfs", [Pathname("path")], RErr(),
           [Bool("datasec"), Bool("logsec"), Bool("rtsec"), Int64("datasize"),
            Int64("logsize"), Int64("rtsize"), Int64("rtextsize"), Int("maxpct")],
           group="xfs",
           doc="Grow the XFS filesystem mounted at PATH (xfs_growfs): datasec/logsec/rtsec "
               "grow that section to its maximum; datasize, logsize, rtsize (in filesystem "
               "blocks), rtextsize and maxpct (inode space, %) as in xfs_growfs(8)."),
    Action("xfs_admin", [Device("device")], RErr(),
           [Bool("extunwritten"), Bool("imgfile"), Bool("v2log"), Bool("projid32bit"),
            Bool("lazycounter"), String("label"), String("uuid")], group="xfs",
           doc="Change parameters of the unmounted XFS filesystem on DEVICE (xfs_admin): "
               "extunwritten -e, imgfile -f, v2log -j, projid32bit -p, lazycounter -c "
               "(no effect on XFS v5), label -L, uuid -U (a UUID, generate, nil or "
               "rewrite).  A mounted filesystem is EBUSY."),
    Action("xfs_repair", [DevOrPath("device")], RInt(),
           [Bool("forcelogzero"), Bool("nomodify"), Bool("noprefetch"),
            Bool("forcegeometry"), Int64("maxmem"), Int64("ihashsize"), Int64("bhashsize"),
            Int64("agstride"), String("logdev"), String("rtdev")], group="xfs",
           doc="Repair the unmounted XFS filesystem on DEVICE (or in the guest image file "
               "at a path): forcelogzero -L, nomodify -n (check only), noprefetch -P, "
               "forcegeometry, maxmem -m (MiB), ihashsize, bhashsize, agstride, logdev, "
               "rtdev as in xfs_repair(8).  Returns 1 if corruption was found (with "
               "nomodify), 0 if not."),
    # ---- btrfs ----
    Action("btrfs_subvolume_create", [Pathname("dest")], RErr(), [String("qgroupid")],
           once_had_no_optargs=True, group="btrfs",
           doc="Create the btrfs subvolume DEST (/path/to/parent/name) in a mounted btrfs; "
               "qgroupid adds it to that qgroup."),
    Action("btrfs_subvolume_delete", [Pathname("subvolume")], RErr(), group="btrfs",
           doc="Delete the btrfs subvolume or snapshot SUBVOLUME."),
    Action("btrfs_subvolume_list", [MountableOrPath("fs")], RStructList("btrfssubvolume"),
           group="btrfs",
           doc="The subvolumes and snapshots of the btrfs filesystem mounted at FS (or on "
               "the device FS, which is mounted privately for the call): structs with "
               "btrfssubvolume_id, btrfssubvolume_top_level_id and btrfssubvolume_path "
               "(relative to the filesystem's top)."),
    Action("btrfs_subvolume_set_default", [Int64("id"), Pathname("fs")], RErr(),
           group="btrfs",
           doc="Make subvolume ID (see btrfs_subvolume_list; 5 is the top) the one mounted "
               "by default from the btrfs filesystem mounted at FS."),
    Action("btrfs_subvolume_show", [Pathname("subvolume")], RHashtable(), group="btrfs",
           doc="Details of the btrfs subvolume SUBVOLUME as key/value pairs (Name, UUID, "
               "Parent UUID, Creation time, Subvolume ID, Generation, Parent ID, Top level "
               "ID, Flags, ..., Snapshot(s) as a comma-separated list)."),
    Action("btrfs_filesystem_resize", [Pathname("mountpoint")], RErr(), [Int64("size")],
           group="btrfs",
           doc="Resize the btrfs filesystem mounted at MOUNTPOINT to size bytes, or to the "
               "whole device when size is omitted (btrfs resizes mounted only)."),
    Action("btrfs_filesystem_sync", [Pathname("fs")], RErr(), group="btrfs",
           doc="Force a sync of the btrfs filesystem mounted at FS."),
]
