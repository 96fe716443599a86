"""Daemon actions: btrfs (see docs/api.md).

Multi-device filesystems, balance, scrub, quota groups, replace, rescue, images, checks,
defragmenting, seeding, btrfstune, snapshots and the default subvolume, mkfs_btrfs.  The
older btrfs actions (subvolume create/delete/list/show/set_default, filesystem
resize/sync) are declared in fstools.py.  Every action here depends on the feature "btrfs".
"""

from .fstools import MountableOrPath
from .table import (
    Action, Bool, Device, DeviceList, Int, Int64, Pathname, RErr, RInt64,
    RStringList, RStruct, RStructList, String,
)

_QGROUP = ("A qgroup id is LEVEL/ID (0/257) or, for level 0, the subvolume id alone.")

ACTIONS = [
    Action("mkfs_btrfs", [DeviceList("devices")], RErr(),
           [Int64("allocstart"), Int64("bytecount"), String("datatype"), Int("leafsize"),
            String("label"), String("metadata"), Int("nodesize"), Int("sectorsize")],
           group="btrfs",
           doc="Make one btrfs filesystem spanning DEVICES (a non-empty list) with "
               "mkfs.btrfs(8), overwriting what they hold.  The optional arguments: "
               "allocstart (bytes; the btrfs-progs of the appliance may no longer accept "
               "it, which is then an error), bytecount (the size of the filesystem on each "
               "device, -b), datatype and metadata (the data and metadata profiles, -d and "
               "-m: raid0, raid1, raid1c3, raid1c4, raid5, raid6, raid10, dup or single), "
               "leafsize and nodesize (the tree block size, -n; leafsize is its old name), "
               "label (-L, at most 255 bytes) and sectorsize (-s).  To make a btrfs with "
               "the defaults, mkfs does as well."),
    Action("btrfs_device_add", [DeviceList("devices"), Pathname("fs")], RErr(),
           group="btrfs",
           doc="Add DEVICES to the btrfs filesystem mounted at FS (whatever they held is "
               "overwritten).  An empty list does nothing."),
    Action("btrfs_device_delete", [DeviceList("devices"), Pathname("fs")], RErr(),
           group="btrfs",
           doc="Remove DEVICES from the btrfs filesystem mounted at FS, moving their data "
               "to the devices that stay.  An empty list does nothing."),
    Action("btrfs_filesystem_balance", [Pathname("fs")], RErr(), group="btrfs",
           fish_alias=["btrfs-balance"],
           doc="Balance the btrfs filesystem mounted at FS: rewrite every chunk, spreading "
               "them over its devices (a full balance; it returns when it is done)."),
    Action("btrfs_balance_pause", [Pathname("path")], RErr(), group="btrfs",
           doc="Pause the balance running on the btrfs filesystem mounted at PATH (an "
               "error if none runs)."),
    Action("btrfs_balance_resume", [Pathname("path")], RErr(), group="btrfs",
           doc="Resume the paused balance of the btrfs filesystem mounted at PATH (an "
               "error if none is paused)."),
    Action("btrfs_balance_cancel", [Pathname("path")], RErr(), group="btrfs",
           doc="Cancel the running or paused balance of the btrfs filesystem mounted at "
               "PATH (an error if there is none)."),
    Action("btrfs_balance_status", [Pathname("path")], RStruct("btrfsbalance"),
           group="btrfs",
           doc="The state of the balance of the btrfs filesystem mounted at PATH: a struct "
               "with btrfsbalance_status (\"running\", \"paused\", or \"none\" when there "
               "is no balance, the numbers then 0), btrfsbalance_total (chunks expected), "
               "btrfsbalance_balanced (chunks done), btrfsbalance_considered and "
               "btrfsbalance_left (percent of the work left)."),
    Action("btrfs_scrub_start", [Pathname("path")], RErr(), group="btrfs",
           doc="Start a scrub of the btrfs filesystem mounted at PATH in the background: "
               "every data and metadata block is read and checked against its checksum, "
               "and what is corrupt is repaired from a good copy where the profile has "
               "one.  Follow it with btrfs_scrub_status; see btrfs_scrub_full for a scrub "
               "that waits."),
    Action("btrfs_scrub_full", [Pathname("path")], RErr(), [Bool("readonly")],
           group="btrfs",
           doc="Scrub the btrfs filesystem mounted at PATH and wait for the end, like a "
               "filesystem check: fails (EIO) if it found errors it could not correct.  "
               "readonly reports errors without repairing anything (needed on a filesystem "
               "mounted read-only)."),
    Action("btrfs_scrub_cancel", [Pathname("path")], RErr(), group="btrfs",
           doc="Cancel the scrub running on the btrfs filesystem mounted at PATH (an "
               "error if none runs); btrfs_scrub_resume continues it."),
    Action("btrfs_scrub_resume", [Pathname("path")], RErr(), group="btrfs",
           doc="Resume, in the background, the cancelled or interrupted scrub of the btrfs "
               "filesystem mounted at PATH."),
    Action("btrfs_scrub_status", [Pathname("path")], RStruct("btrfsscrub"), group="btrfs",
           doc="The counters of the running or last scrub of the btrfs filesystem mounted "
               "at PATH: a struct of integers btrfsscrub_data_extents_scrubbed, "
               "_tree_extents_scrubbed, _data_bytes_scrubbed, _tree_bytes_scrubbed, "
               "_read_errors, _csum_errors, _verify_errors, _no_csum, _csum_discards, "
               "_super_errors, _malloc_errors, _uncorrectable_errors, "
               "_unverified_errors, _corrected_errors and _last_physical (each "
               "prefixed btrfsscrub).  All 0 when the filesystem was never scrubbed."),
    Action("btrfs_quota_enable", [MountableOrPath("fs"), Bool("enable")], RErr(),
           group="btrfs",
           doc="Turn subvolume quotas (qgroups) on or off for the btrfs filesystem mounted "
               "at FS, or on the device FS (mounted privately for the call)."),
    Action("btrfs_quota_rescan", [MountableOrPath("fs")], RErr(), group="btrfs",
           doc="Throw away the qgroup numbers of the btrfs filesystem at FS (a mount point "
               "or a device) and count them again from the metadata; waits for the "
               "rescan.  Quotas must be enabled."),
    Action("btrfs_qgroup_create", [String("qgroupid"), Pathname("subvolume")], RErr(),
           group="btrfs",
           doc="Create the qgroup QGROUPID in the btrfs filesystem holding SUBVOLUME "
               "(quotas enabled).  " + _QGROUP),
    Action("btrfs_qgroup_destroy", [String("qgroupid"), Pathname("subvolume")], RErr(),
           group="btrfs",
           doc="Destroy the qgroup QGROUPID of the btrfs filesystem holding SUBVOLUME.  "
               + _QGROUP),
    Action("btrfs_qgroup_show", [Pathname("path")], RStructList("btrfsqgroup"),
           group="btrfs",
           doc="The qgroups of the btrfs filesystem holding PATH (quotas enabled): structs "
               "with btrfsqgroup_id (LEVEL/ID), btrfsqgroup_rfer (bytes referenced) and "
               "btrfsqgroup_excl (bytes used by this qgroup alone)."),
    Action("btrfs_qgroup_limit", [Pathname("subvolume"), Int64("size")], RErr(),
           group="btrfs",
           doc="Limit the space the subvolume SUBVOLUME may reference to SIZE bytes "
               "(quotas must be enabled)."),
    Action("btrfs_qgroup_assign", [String("src"), String("dst"), Pathname("path")], RErr(),
           group="btrfs",
           doc="Make the qgroup SRC a member of the higher-level qgroup DST, in the btrfs "
               "filesystem holding PATH, so that DST's limit covers them together.  "
               + _QGROUP),
    Action("btrfs_qgroup_remove", [String("src"), String("dst"), Pathname("path")], RErr(),
           group="btrfs",
           doc="Take the qgroup SRC out of its parent qgroup DST, in the btrfs filesystem "
               "holding PATH."),
    Action("btrfs_replace", [Device("srcdev"), Device("targetdev"), Pathname("mntpoint")],
           RErr(), group="btrfs",
           doc="Replace the device SRCDEV of the btrfs filesystem mounted at MNTPOINT by "
               "TARGETDEV: its data is copied to TARGETDEV (at least as big, not mounted, "
               "overwritten), then SRCDEV is wiped and leaves the filesystem.  Waits for "
               "the end."),
    Action("btrfs_rescue_chunk_recover", [Device("device")], RErr(), group="btrfs",
           doc="Rebuild the chunk tree of the (unmounted) btrfs filesystem on DEVICE by "
               "scanning its devices."),
    Action("btrfs_rescue_super_recover", [Device("device")], RErr(), group="btrfs",
           doc="Repair bad superblocks of the (unmounted) btrfs filesystem on DEVICE from "
               "its good copies."),
    Action("btrfs_image", [DeviceList("source"), Pathname("image")], RErr(),
           [Int("compresslevel")], group="btrfs",
           doc="Write to the guest file IMAGE (created or truncated; a mounted filesystem) "
               "a btrfs-image(8) dump of the btrfs filesystem on SOURCE: its metadata "
               "only, the file data left out (zeroed), for debugging.  compresslevel 0 "
               "(none) to 9."),
    Action("btrfs_fsck", [Device("device")], RErr(), [Int64("superblock"), Bool("repair")],
           group="btrfs",
           doc="Check the unmounted btrfs filesystem on DEVICE (btrfs check); errors found "
               "make it fail.  superblock: use that superblock copy (0, 1 or 2) instead of "
               "the first; repair: repair what it finds (dangerous: btrfs's own manual "
               "advises against it)."),
    Action("btrfs_filesystem_defragment", [Pathname("path")], RErr(),
           [Bool("flush"), String("compress")], group="btrfs",
           doc="Defragment the file PATH, or every file under the directory PATH, on a "
               "mounted btrfs.  flush writes the data out after each file; compress "
               "(zlib, lzo or zstd) recompresses it on the way."),
    Action("btrfs_filesystem_show", [Device("device")], RStringList(), group="btrfs",
           doc="The devices the btrfs filesystem on DEVICE spans.  Fails with ENODEV when "
               "some of them are missing."),
    Action("btrfs_set_seeding", [Device("device"), Bool("seeding")], RErr(), group="btrfs",
           doc="Turn the seeding flag of the unmounted btrfs filesystem on DEVICE on or "
               "off (see btrfstune_seeding)."),
    Action("btrfstune_seeding", [Device("device"), Bool("seeding")], RErr(), group="btrfs",
           doc="Turn the seeding flag of the unmounted btrfs filesystem on DEVICE on or "
               "off.  A seeding filesystem mounts read-only; devices added to it "
               "(btrfs_device_add) then take the writes, making a new filesystem on top "
               "of it."),
    Action("btrfstune_enable_extended_inode_refs", [Device("device")], RErr(),
           group="btrfs",
           doc="Turn on the extref feature (more hard links per file) of the unmounted "
               "btrfs filesystem on DEVICE.  It cannot be turned off."),
    Action("btrfstune_enable_skinny_metadata_extent_refs", [Device("device")], RErr(),
           group="btrfs",
           doc="Turn on the skinny-metadata feature (smaller metadata extent records) of "
               "the unmounted btrfs filesystem on DEVICE.  It cannot be turned off."),
    Action("btrfs_subvolume_snapshot", [Pathname("source"), Pathname("dest")], RErr(),
           [Bool("ro"), String("qgroupid")], once_had_no_optargs=True, group="btrfs",
           doc="Snapshot the btrfs subvolume SOURCE as DEST (/path/to/parent/name, which "
               "must not exist).  The snapshot is writable unless ro is true; qgroupid "
               "adds it to that qgroup."),
    Action("btrfs_subvolume_get_default", [MountableOrPath("fs")], RInt64(),
           group="btrfs",
           doc="The id of the default subvolume (the one a plain mount mounts; 5 is the "
               "top) of the btrfs filesystem mounted at FS, or on the device FS."),
]
