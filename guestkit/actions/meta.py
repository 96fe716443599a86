"""Daemon actions: metadata and the guest tree (see docs/api.md).

Paths these actions return are guest paths, computed inside the guest's root; walks never
follow symlinks.
"""

from .table import (
    Action, FileOut, Int, Int64, OBool, Pathname, RBufferOut, RInt64, RString, RStringList,
    RStruct, RStructList, String, StringList,
)

ACTIONS = [
    # ---- the tree ----
    Action("find", [Pathname("directory")], RStringList(),
           doc="Every file and directory under DIRECTORY, recursively, as paths relative to "
               "it (a, b, c, c/d), sorted bytewise.  Symlinks are listed, never followed.  "
               "DIRECTORY must be a directory (ENOTDIR).  A list too large for one reply is "
               "EFBIG: use find0."),
    Action("find0", [Pathname("directory"), FileOut("files")],
           doc="As find, written to the host file FILES with each name followed by a NUL "
               "byte, unsorted (streamed: any number of names)."),
    Action("ls0", [Pathname("dir"), FileOut("filenames")],
           doc="The names in the directory DIR, without . and .., written to the host file "
               "FILENAMES each followed by a NUL byte, unsorted."),
    Action("du", [Pathname("path")], RInt64(),
           doc="The disk space used by PATH and (for a directory) everything under it, in "
               "KiB, as du -s counts it.  Symlinks are not followed."),
    Action("realpath", [Pathname("path")], RString(),
           doc="The canonical guest path of PATH: no ., .. or symlink left, resolved inside "
               "the guest (an absolute symlink target starts at the guest's root; /.. is /).  "
               "PATH must exist."),
    Action("case_sensitive_path", [Pathname("path")], RString(),
           doc="PATH with the true case of each element, found by comparing names without "
               "regard to (ASCII) case: for paths read from Windows configuration.  When "
               "only the last element is missing it is kept as given; a missing directory "
               "on the way is ENOENT.  . and .. elements are EINVAL."),
    Action("glob_expand", [Pathname("pattern")], RStringList(), [OBool("directoryslash")],
           once_had_no_optargs=True,
           doc="The guest paths matching the shell wildcard PATTERN (*, ?, [...], {a,b}, "
               "backslash escapes), as glob(3) with GLOB_MARK|GLOB_BRACE, expanded inside "
               "the guest.  No match is an empty list.  directoryslash (default true): add "
               "a / to the names of directories."),
    Action("mkdtemp", [Pathname("tmpl")], RString(),
           doc="Create a new directory, mode 0700, named TMPL with its last six characters "
               "(which must be XXXXXX) made unique; returns its name."),
    Action("rename", [Pathname("oldpath"), Pathname("newpath")],
           doc="Rename OLDPATH to NEWPATH on the same filesystem, as rename(2) (neither last "
               "element is followed if it is a symlink)."),
    # ---- links and special files ----
    Action("ln_f", [Pathname("target"), Pathname("linkname")],
           doc="Create the hard link LINKNAME to TARGET, replacing LINKNAME if it exists (a "
               "directory LINKNAME receives the link under TARGET's name)."),
    Action("ln_sf", [String("target"), Pathname("linkname")],
           doc="Create the symbolic link LINKNAME pointing to TARGET, replacing LINKNAME if "
               "it exists (a directory LINKNAME receives the link under TARGET's name; an "
               "existing symlink is replaced, not followed)."),
    Action("mknod", [Int("mode"), Int("devmajor"), Int("devminor"), Pathname("path")],
           doc="Create the special file PATH: MODE holds the type (S_IFBLK, S_IFCHR, "
               "S_IFIFO, S_IFSOCK; none makes a regular file) and the permissions (minus "
               "the umask); DEVMAJOR and DEVMINOR are used for devices."),
    Action("mknod_b", [Int("mode"), Int("devmajor"), Int("devminor"), Pathname("path")],
           doc="Create the block device node PATH; MODE is permission bits only."),
    Action("mknod_c", [Int("mode"), Int("devmajor"), Int("devminor"), Pathname("path")],
           doc="Create the character device node PATH; MODE is permission bits only."),
    Action("mkfifo", [Int("mode"), Pathname("path")],
           doc="Create the FIFO (named pipe) PATH; MODE is permission bits only."),
    # ---- stat ----
    Action("stat", [Pathname("path")], RStruct("stat"), deprecated_by="statns",
           doc="Deprecated: use statns.  stat(2) of PATH (following symlinks) as a struct "
               "with dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime, "
               "mtime, ctime (whole seconds)."),
    Action("lstat", [Pathname("path")], RStruct("stat"), deprecated_by="lstatns",
           doc="Deprecated: use lstatns.  As stat, but a symlink is described itself."),
    Action("lstatlist", [Pathname("path"), StringList("names")], RStructList("stat"),
           deprecated_by="lstatnslist",
           doc="Deprecated: use lstatnslist.  lstat of each of NAMES in the directory PATH, "
               "as stat structs, one per name; a name that cannot be lstat'd has ino -1."),
    Action("lstatnslist", [Pathname("path"), StringList("names")], RStructList("statns"),
           doc="lstatns of each of NAMES in the directory PATH, one struct per name, in "
               "order; a name that cannot be lstat'd has st_ino -1."),
    Action("utimens", [Pathname("path"), Int64("atsecs"), Int64("atnsecs"), Int64("mtsecs"),
                       Int64("mtnsecs")],
           doc="Set the access and modification times of PATH (a symlink itself, not its "
               "target) in seconds and nanoseconds since the epoch.  A nanoseconds value of "
               "-1 means now, -2 leaves that time unchanged."),
    Action("copy_attributes", [Pathname("src"), Pathname("dest")], optargs=[
        OBool("all"), OBool("mode"), OBool("xattributes"), OBool("ownership")],
           doc="Copy attributes of SRC to DEST (files or directories): mode (permissions "
               "with setuid, setgid, sticky), xattributes (extended attributes), ownership "
               "(uid and gid).  all enables every one not given explicitly.  By default "
               "nothing is copied."),
    # ---- extended attributes ----
    Action("getxattr", [Pathname("path"), String("name")], RBufferOut(), group="linuxxattrs",
           doc="The value of the extended attribute NAME of PATH (following symlinks); "
               "ENODATA if it has none of that name."),
    Action("lgetxattr", [Pathname("path"), String("name")], RBufferOut(),
           group="linuxxattrs",
           doc="As getxattr, for a symlink itself."),
    Action("getxattrs", [Pathname("path")], RStructList("xattr"), group="linuxxattrs",
           doc="The extended attributes of PATH (following symlinks) as structs with "
               "attrname and attrval (bytes)."),
    Action("lgetxattrs", [Pathname("path")], RStructList("xattr"), group="linuxxattrs",
           doc="As getxattrs, for a symlink itself."),
    Action("setxattr", [String("xattr"), String("val"), Int("vallen"), Pathname("path")],
           group="linuxxattrs",
           doc="Set the extended attribute XATTR of PATH (following symlinks) to the first "
               "VALLEN bytes of VAL (its UTF-8 encoding)."),
    Action("lsetxattr", [String("xattr"), String("val"), Int("vallen"), Pathname("path")],
           group="linuxxattrs",
           doc="As setxattr, for a symlink itself."),
    Action("removexattr", [String("xattr"), Pathname("path")], group="linuxxattrs",
           doc="Remove the extended attribute XATTR of PATH (following symlinks)."),
    Action("lremovexattr", [String("xattr"), Pathname("path")], group="linuxxattrs",
           doc="As removexattr, for a symlink itself."),
    Action("lxattrlist", [Pathname("path"), StringList("names")], RStructList("xattr"),
           group="linuxxattrs",
           doc="The extended attributes of each of NAMES in the directory PATH (symlinks "
               "not followed), as one flat list: for each name a struct with an empty "
               "attrname whose attrval is the number of attributes that follow (as decimal "
               "text), or empty if they could not be read; then those attributes."),
    # ---- ACLs and capabilities ----
    Action("acl_get_file", [Pathname("path"), String("acltype")], RString(), group="acl",
           doc="The POSIX ACL of PATH in long text form (numeric ids), ACLTYPE access or "
               "default.  A file without an access ACL shows the one its mode implies; "
               "without a default ACL the result is empty."),
    Action("acl_set_file", [Pathname("path"), String("acltype"), String("acl")],
           group="acl",
           doc="Replace the POSIX ACL of PATH, ACLTYPE access or default, by ACL in long or "
               "short text form (u::rwx,g::rx,o::rx,m::rwx,u:500:rwx).  Users and groups "
               "must be numeric ids; a mask entry is needed with them."),
    Action("acl_delete_def_file", [Pathname("dir")], group="acl",
           doc="Remove the default POSIX ACL of the directory DIR (no error if it has "
               "none)."),
    Action("cap_get_file", [Pathname("path")], RString(), group="linuxcaps",
           doc="The Linux capabilities of PATH in text form (cap_to_text(3)), or an empty "
               "string if it has none."),
    Action("cap_set_file", [Pathname("path"), String("cap")], group="linuxcaps",
           doc="Set the Linux capabilities of PATH from CAP in text form "
               "(cap_from_text(3)), as cap_net_raw+ep."),
]
