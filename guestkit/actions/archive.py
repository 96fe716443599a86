"""Daemon actions: archive (see docs/api.md).

Archives in and out of the guest (tar, cpio), partial transfers (upload_offset,
download_offset), raw reads of a filesystem (download_inode, download_blocks), block copies
inside the appliance (copy_size, copy_*_to_*), and the library's recursive copies between
the host and the guest (copy_in, copy_out).
"""

from .table import (Action, DevOrPath, Device, FileIn, FileOut, Int64, LAUNCHED,
                    Mountable, OBool, OInt64, OString, OStringList, Pathname, RErr, String)

_COMPRESS_DOC = ("COMPRESS selects the compression: compress, gzip, bzip2, xz, lzop or zstd "
                 "(default: none).")

_COPY_OPTARGS = [OInt64("srcoffset"), OInt64("destoffset"), OInt64("size"), OBool("sparse"),
                 OBool("append")]

_COPY_DOC = (
    "SRCOFFSET and DESTOFFSET (bytes, default 0) and SIZE (default: up to the end of the "
    "source) make partial copies.  A destination file is created if needed and truncated, "
    "unless APPEND is true (then the copy is added at its end; APPEND cannot be used with a "
    "device or with DESTOFFSET).  With SPARSE true, blocks that contain only zeroes are not "
    "written (skipped), which is only right when the destination already reads as zeroes "
    "there.  The source and destination may be the same object; overlapping regions may "
    "not be copied correctly.  Progress events are sent while it runs.")

_RSYNC_OPTARGS = [OBool("archive"), OBool("deletedest")]

_RSYNC_DOC = ("ARCHIVE is rsync's --archive (recursive; keeps links, modes, times, owners, "
              "devices); DELETEDEST deletes files in the destination that the source does not "
              "have.  Without ARCHIVE rsync copies only the files named, not directories.  Progress events "
              "are sent in pulse mode while it runs; user_cancel stops it (what was copied so "
              "far stays).")

_RSYNC_REMOTE_DOC = (
    "The network must be enabled before launch (set_network).  REMOTE is an rsync daemon "
    "address, rsync://HOST[:PORT]/MODULE/PATH or HOST::MODULE/PATH (the appliance has no "
    "remote shell, so HOST:PATH over ssh is refused); the host itself is 169.254.2.2 from "
    "inside the appliance, and a daemon there listening on 127.0.0.1 is reachable.  There "
    "is no way to give a password: the module must not ask for one.  Connecting gives up "
    "after 30 seconds.")

ACTIONS = [
    # ---- partial transfers ----
    Action("upload_offset", [FileIn("filename"), DevOrPath("remotefilename"),
                             Int64("offset")], progress=True,
           doc="Copy the host file FILENAME into the guest file or device REMOTEFILENAME, "
               "writing from byte OFFSET on without truncating it.  A missing guest file is "
               "created, with a hole before OFFSET.  Any size works (the data is streamed); "
               "progress events are sent and user_cancel stops it."),
    Action("download_offset", [DevOrPath("remotefilename"), FileOut("filename"),
                               Int64("offset"), Int64("size")], progress=True,
           doc="Copy SIZE bytes of the guest file or device REMOTEFILENAME, starting at byte "
               "OFFSET, to the host file FILENAME.  If the region goes past the end of the "
               "file, fewer bytes are written.  Any size works (the data is streamed); "
               "progress events are sent and user_cancel stops it."),
    Action("download_inode", [Mountable("device"), Int64("inode"), FileOut("filename")],
           progress=True, group="sleuthkit",
           doc="Copy the content of the file with inode number INODE of the filesystem on "
               "DEVICE (which need not be mounted; deleted files whose data is still there "
               "can be read) to the host file FILENAME.  ext2/3/4 are read with debugfs; other "
               "filesystems (NTFS, FAT, ...; NTFS inodes are MFT record numbers) with "
               "sleuthkit's icat."),
    Action("download_blocks", [Mountable("device"), Int64("start"), Int64("stop"),
                               FileOut("filename")], None, [OBool("unallocated")],
           progress=True, group="sleuthkit",
           doc="Copy the data units (blocks) START to STOP, both included, of the filesystem "
               "on DEVICE to the host file FILENAME.  With UNALLOCATED true, only the blocks "
               "the filesystem does not use are copied (to find hidden or deleted data).  "
               "ext2/3/4 are read directly (a range past the end is EINVAL); other "
               "filesystems with sleuthkit's blkls (which stops at the filesystem's end)."),
    # ---- tar and cpio ----
    Action("tar_in", [FileIn("tarfile"), Pathname("directory")], None,
           [OString("compress"), OBool("xattrs"), OBool("selinux"), OBool("acls"),
            OBool("keepdirlink")],
           once_had_no_optargs=True, progress=True,
           doc="Unpack the host tar file TARFILE into the guest directory DIRECTORY.  "
               + _COMPRESS_DOC + "  XATTRS, SELINUX and ACLS restore extended attributes, "
               "SELinux contexts and POSIX ACLs from the archive.  Symbolic links already in "
               "the guest are resolved inside the guest, never in the appliance: a guest "
               "link to a directory is kept and followed as the guest would (as GNU tar's "
               "--keep-directory-symlink, which keepdirlink asks for: guestkit keeps "
               "such links whether or not it is given), any other existing file is "
               "replaced, not written "
               "through; existing directories keep their metadata (--no-overwrite-dir).  "
               "Progress events are sent and user_cancel stops it.  The archive is "
               "unpacked in a private directory of the destination's filesystem first, "
               "then moved into place: nothing lands unless tar unpacks all of it, and "
               "files it replaces need room for their old and new versions meanwhile."),
    Action("tar_out", [Pathname("directory"), FileOut("tarfile")], None,
           [OString("compress"), OBool("numericowner"), OStringList("excludes"),
            OBool("xattrs"), OBool("selinux"), OBool("acls")],
           once_had_no_optargs=True, progress=True,
           doc="Pack the contents of the guest directory DIRECTORY into the host tar file "
               "TARFILE (GNU format; sparse files are stored sparse).  " + _COMPRESS_DOC +
               "  NUMERICOWNER stores numeric owners only; EXCLUDES is a list of wildcards "
               "of files to leave out; XATTRS, SELINUX and ACLS save extended attributes, "
               "SELinux contexts and POSIX ACLs.  Progress events are sent and user_cancel "
               "stops it."),
    Action("tgz_in", [FileIn("tarball"), Pathname("directory")], progress=True,
           deprecated_by="tar_in",
           doc="Unpack the host gzip-compressed tar file TARBALL into the guest directory "
               "DIRECTORY (tar_in with compress=\"gzip\")."),
    Action("tgz_out", [Pathname("directory"), FileOut("tarball")], progress=True,
           deprecated_by="tar_out",
           doc="Pack the guest directory DIRECTORY into the host gzip-compressed tar file "
               "TARBALL (tar_out with compress=\"gzip\")."),
    Action("txz_in", [FileIn("tarball"), Pathname("directory")], progress=True,
           deprecated_by="tar_in", group="xz",
           doc="Unpack the host xz-compressed tar file TARBALL into the guest directory "
               "DIRECTORY (tar_in with compress=\"xz\")."),
    Action("txz_out", [Pathname("directory"), FileOut("tarball")], progress=True,
           deprecated_by="tar_out", group="xz",
           doc="Pack the guest directory DIRECTORY into the host xz-compressed tar file "
               "TARBALL (tar_out with compress=\"xz\")."),
    Action("cpio_out", [Pathname("directory"), FileOut("cpiofile")], None,
           [OString("format")],
           progress=True,
           doc="Pack the contents of the guest directory DIRECTORY into the host cpio file "
               "CPIOFILE.  FORMAT is newc (the default; what the Linux kernel reads as an "
               "initramfs) or crc (newc with checksums).  Progress events are sent and "
               "user_cancel stops it."),
    # ---- copies inside the appliance ----
    Action("copy_size", [DevOrPath("src"), DevOrPath("dest"), Int64("size")],
           progress=True, deprecated_by="copy_device_to_device",
           doc="Copy exactly SIZE bytes from the start of the device or file SRC to the "
               "device or file DEST (a file is created or truncated).  Fails if SRC is "
               "shorter or DEST cannot hold them.  Progress events are sent while it runs."),
    Action("copy_device_to_device", [Device("src"), Device("dest")], None, _COPY_OPTARGS,
           progress=True,
           doc="Copy the device SRC to the device DEST.  " + _COPY_DOC),
    Action("copy_device_to_file", [Device("src"), Pathname("dest")], None, _COPY_OPTARGS,
           progress=True,
           doc="Copy the device SRC to the guest file DEST.  " + _COPY_DOC),
    Action("copy_file_to_device", [Pathname("src"), Device("dest")], None, _COPY_OPTARGS,
           progress=True,
           doc="Copy the guest file SRC to the device DEST.  " + _COPY_DOC),
    Action("copy_file_to_file", [Pathname("src"), Pathname("dest")], None, _COPY_OPTARGS,
           progress=True,
           doc="Copy blocks of the guest file SRC to the guest file DEST (for copying "
               "files, use cp, cp_a or mv).  " + _COPY_DOC),
    # ---- rsync ----
    Action("rsync", [Pathname("src"), Pathname("dest")], None, _RSYNC_OPTARGS, group="rsync",
           progress=True,
           doc="Copy or synchronise the guest directory SRC to the guest directory DEST with "
               "rsync(1), which skips files that are already the same.  " + _RSYNC_DOC
               + "  As with rsync, a trailing slash on SRC copies its contents rather than "
               "the directory itself."),
    Action("rsync_in", [String("remote"), Pathname("dest")], None, _RSYNC_OPTARGS,
           group="rsync", progress=True,
           doc="Copy or synchronise the directory REMOTE of an rsync daemon into the guest "
               "directory DEST.  " + _RSYNC_REMOTE_DOC + "  " + _RSYNC_DOC),
    Action("rsync_out", [Pathname("src"), String("remote")], None, _RSYNC_OPTARGS,
           group="rsync", progress=True,
           doc="Copy or synchronise the guest directory SRC to the directory REMOTE of an "
               "rsync daemon.  " + _RSYNC_REMOTE_DOC + "  " + _RSYNC_DOC + "  SRC is not "
               "globbed: expand wildcards with glob_expand (guestfish: glob rsync-out ...)."),
    # ---- recursive copies between the host and the guest (run in the library) ----
    Action("copy_in", [String("localpath"), Pathname("remotedir")], daemon=False,
           state=LAUNCHED, fish_many=True,
           doc="Copy the host file or directory LOCALPATH, recursively, into the existing "
               "guest directory REMOTEDIR (as REMOTEDIR/basename).  Modes, owners (numeric), "
               "times, symbolic links, hard links, fifos and device nodes are kept; sparse "
               "files stay sparse.  Streamed through tar_in: any size, progress events, "
               "user_cancel."),
    Action("copy_out", [Pathname("remotepath"), String("localdir")], RErr(),
           [OBool("owners")], daemon=False, state=LAUNCHED, fish_many=True,
           doc="Copy the guest file or directory REMOTEPATH, recursively, into the existing "
               "host directory LOCALDIR (as LOCALDIR/basename; \"/\" is copied into LOCALDIR "
               "itself).  Nothing is ever written outside LOCALDIR: guest symbolic links are "
               "recreated as symbolic links and never followed on the host, names that are "
               "absolute or contain .. are refused, device nodes are not created and "
               "setuid/setgid bits are dropped (each refusal is reported as a WARNING "
               "event).  Times are kept, and modes less the process umask (a guest's 0777 "
               "directory is not world-writable on the host).  Files belong to the caller; "
               "with OWNERS true (a guestkit addition; it needs root) they get the guest's "
               "numeric owners and groups and the modes are kept as they are.  Sparse "
               "files stay sparse (a directory's sparse files take time proportional to "
               "their data; a single file given as REMOTEPATH is streamed in full).  "
               "Progress events are sent and user_cancel stops it."),
]

