"""More file actions: directory entries, temporary files, comparisons, initrd and ISO
contents, the Sleuth Kit walks, scrubbing, squashfs images and commands whose output is
streamed to a host file."""

from .table import (
    Action, String, Int, Int64, Device, Pathname, DevOrPath, StringList, FileOut,
    OString, OStringList, RErr, RBool, RString, RStringList, RStruct, RStructList,
    RBufferOut,
)

_TSK = ("Each entry is a tsk_dirent struct: tsk_inode, tsk_type (b c d f l r s h w u, as "
        "for readdir, f being a FIFO), tsk_size (-1 when unknown), tsk_name (the path from "
        "the filesystem's root, without a leading /), tsk_flags (0x1 allocated, 0x2 the "
        "name is unallocated but its metadata is in use again, 0x4 compressed), the "
        "tsk_atime/mtime/ctime/crtime _sec and _nsec pairs, tsk_nlink, tsk_link (a "
        "symlink's target, else empty) and tsk_spare1.")

ACTIONS = [
    Action("readdir", [Pathname("dir")], RStructList("dirent"),
           doc="The entries of directory DIR, . and .. included, unsorted (in the "
               "filesystem's order), as dirent structs: ino (inode number), ftyp (b block "
               "device, c character device, d directory, f FIFO, l symlink, r regular "
               "file, s socket, u unknown, ? anything else) and name.  For a plain list of "
               "names use ls, for people to read use ll."),
    Action("readlinklist", [Pathname("path"), StringList("names")], RStringList(),
           doc="readlink on every name of NAMES in directory PATH at once: the result has "
               "one string per name, the link's target, or an empty string for a name "
               "that is not a symlink (or cannot be read); the call itself does not fail "
               "for those."),
    Action("mktemp", [Pathname("tmpl")], RString(), [OString("suffix")],
           doc="Create a new empty file, mode 0600, owned by root, from the template TMPL: "
               "a full path whose last six characters are XXXXXX, replaced by random "
               "characters (/tmp/myprogXXXXXX).  suffix, if given, is appended to the "
               "name.  Returns the file's name; deleting it is up to the caller."),
    Action("llz", [Pathname("directory")], RString(), deprecated_by="lgetxattrs",
           doc="Deprecated (use lgetxattrs): a long listing of DIRECTORY with SELinux "
               "contexts, as ls -laZ prints it, for people to read."),
    Action("equal", [Pathname("file1"), Pathname("file2")], RBool(),
           doc="True if regular files FILE1 and FILE2 have exactly the same content."),
    Action("find_inode", [Device("device"), Int64("inode")], RStructList("tsk_dirent"),
           group="libtsk",
           doc="Every directory entry of the (unmounted) filesystem on DEVICE that refers "
               "to inode INODE, deleted ones included, found as filesystem_walk finds "
               "them.  " + _TSK),
    Action("filesystem_walk", [Device("device")], RStructList("tsk_dirent"),
           group="libtsk",
           doc="Every file and directory of the filesystem on DEVICE (which need not be "
               "mounted), read from its own structures with the Sleuth Kit, deleted and "
               "unreachable entries included, unsorted.  " + _TSK),
    Action("filesystem_available", [String("filesystem")], RBool(),
           doc="True if the appliance's kernel can mount filesystems of type FILESYSTEM "
               "(ext4, xfs, vfat ...).  Mostly useful as a negative test: true does not "
               "promise that a given filesystem mounts."),
    Action("initrd_list", [Pathname("path")], RStringList(),
           doc="The names in the initramfs PATH (a cpio archive, compressed with gzip, "
               "xz, lzma, zstd, bzip2, lz4 or lzop, or not at all, possibly after an "
               "uncompressed early-microcode archive), without a leading /, in archive "
               "order; directories are listed too.  Old ext2-image initrds are not "
               "supported."),
    Action("initrd_cat", [Pathname("initrdpath"), String("filename")], RBufferOut(),
           doc="The content of FILENAME (given without a leading /, as initrd_list shows "
               "it) in the initramfs INITRDPATH, for example init."),
    Action("isoinfo_device", [Device("device")], RStruct("isoinfo"),
           doc="The primary volume descriptor of the ISO 9660 image on DEVICE as an "
               "isoinfo struct: iso_system_id, iso_volume_id, iso_volume_space_size, "
               "iso_volume_set_size, iso_volume_sequence_number, iso_logical_block_size, "
               "iso_volume_set_id, iso_publisher_id, iso_data_preparer_id, "
               "iso_application_id, iso_copyright_file_id, iso_abstract_file_id, "
               "iso_bibliographic_file_id, and the times iso_volume_creation_t, "
               "_modification_t, _expiration_t and _effective_t (seconds since the epoch, "
               "-1 when not set)."),
    Action("isoinfo", [Pathname("isofile")], RStruct("isoinfo"),
           doc="As isoinfo_device, for an ISO image that is a file of the mounted guest "
               "tree."),
    Action("write_file", [Pathname("path"), String("content"), Int("size")],
           deprecated_by="write",
           doc="Deprecated (use write): create or replace PATH with the first SIZE bytes of "
               "CONTENT; SIZE 0 means all of it.  CONTENT cannot hold NUL bytes."),
    Action("command_out", [StringList("arguments"), FileOut("output")], progress=True,
           doc="As command (a program of the guest, run chrooted in the mounted guest "
               "root), but its standard output, of any size, is written to the host file "
               "OUTPUT instead of being returned."),
    Action("sh_out", [String("command"), FileOut("output")], progress=True,
           doc="As sh, but the command's standard output, of any size, is written to the "
               "host file OUTPUT."),
    Action("dd", [DevOrPath("src"), DevOrPath("dest")], deprecated_by="copy_device_to_device",
           doc="Deprecated (use copy_device_to_device): copy the whole of SRC (a device or "
               "a guest file) to DEST (a device or a guest file).  A destination device "
               "smaller than the source is an error (ENOSPC); no partial copies."),
    Action("scrub_device", [Device("device")], group="scrub",
           doc="Overwrite DEVICE with patterns (scrub(1)) so its data is hard to recover."),
    Action("scrub_file", [Pathname("file")], group="scrub",
           doc="Overwrite the regular file FILE with patterns (scrub(1)), then remove it."),
    Action("scrub_freespace", [Pathname("dir")], group="scrub",
           doc="Create directory DIR, fill it with files until the filesystem is full, "
               "scrub them and delete them: the free space of the filesystem holding DIR "
               "is overwritten (scrub -X)."),
    Action("mksquashfs", [Pathname("path"), FileOut("filename")], RErr(),
           [OString("compress"), OStringList("excludes")], group="squashfs", progress=True,
           doc="Make a squashfs image of directory PATH and write it to the host file "
               "FILENAME.  compress is gzip (the default), lzma, lzo, lz4, xz or zstd; "
               "excludes is a list of wildcards: matching files are left out."),
    Action("zfile", [String("meth"), Pathname("path")], RString(), deprecated_by="file",
           doc="Deprecated (use file, which sees through compression): what file(1) says "
               "of PATH once decompressed with METH (gzip, compress or bzip2)."),
]
