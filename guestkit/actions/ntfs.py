"""Daemon actions: ntfs (see docs/api.md).

NTFS tools of ntfs-3g beyond mkfs and ntfsresize (fstools.py): ntfsclone images streamed to
and from the host, files read by inode number, ntfsfix and ntfs-3g.probe.
"""

from .table import Action, Bool, Device, FileIn, FileOut, Int64, RErr, RInt

ACTIONS = [
    Action("ntfsclone_out", [Device("device"), FileOut("backupfile")], RErr(),
           [Bool("metadataonly"), Bool("rescue"), Bool("ignorefscheck"),
            Bool("preservetimestamps"), Bool("force")], progress=True, group="ntfs3g",
           doc="Save the NTFS filesystem on DEVICE into the host file BACKUPFILE, in "
               "ntfsclone(8)'s special image format (only the used clusters are stored); "
               "ntfsclone_in restores it.  metadataonly leaves the file data out (for "
               "diagnosing the filesystem, not for backups); rescue carries on past "
               "unreadable sectors; ignorefscheck saves a filesystem marked as needing a "
               "check; preservetimestamps keeps the timestamps of a metadata-only image; "
               "force goes on where ntfsclone would otherwise refuse (see ntfsclone(8))."),
    Action("ntfsclone_in", [FileIn("backupfile"), Device("device")], RErr(), progress=True,
           group="ntfs3g",
           doc="Restore the ntfsclone image BACKUPFILE (a host file made by ntfsclone_out) "
               "onto DEVICE, overwriting whatever DEVICE holds; DEVICE must be at least as "
               "big as the filesystem that was saved."),
    Action("ntfscat_i", [Device("device"), Int64("inode"), FileOut("filename")], RErr(),
           progress=True,
           doc="Copy the file with inode number (MFT record) INODE of the NTFS filesystem "
               "on DEVICE to the host file FILENAME: also files no mount shows, such as "
               "the metadata files of $Extend.  The filesystem must not be mounted "
               "(EBUSY)."),
    Action("ntfsfix", [Device("device")], RErr(), [Bool("clearbadsectors")],
           group="ntfs3g",
           doc="Fix basic inconsistencies of the NTFS filesystem on DEVICE, reset its "
               "journal and mark it for a consistency check at the next Windows boot "
               "(ntfsfix(8)).  It does not check the filesystem as chkdsk does.  "
               "clearbadsectors empties the list of bad sectors (after cloning a failing "
               "disk to a new one)."),
    Action("ntfs_3g_probe", [Bool("rw"), Device("device")], RInt(), group="ntfs3g",
           doc="Whether the NTFS filesystem on DEVICE can be mounted read-write (rw true) "
               "or read-only (rw false), by ntfs-3g.probe(8): 0 if it can, else the "
               "probe's non-zero status (12: no NTFS there, 13: inconsistent, 14: "
               "hibernated Windows, 15: unclean journal, 16: in use, ... see "
               "ntfs-3g.probe(8))."),
    Action("ntfsresize_size", [Device("device"), Int64("size")], RErr(),
           deprecated_by="ntfsresize", group="ntfsprogs",
           doc="Deprecated: use ntfsresize with size.  Resize the NTFS filesystem on "
               "DEVICE to SIZE bytes."),
]
