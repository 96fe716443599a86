"""Daemon actions: files and directories in the mounted guest tree, and transfers."""

from .table import (
    Action, String, Int, Pathname, BufferIn, FileIn, FileOut, DevOrPath, StringList,
    OBool, RInt, RInt64, RBool, RString, RStringList, RStruct, RBufferOut,
)

ACTIONS = [
    # ---- content ----
    Action("touch", [Pathname("path")],
           doc="Create an empty file, or update the timestamps of an existing one."),
    Action("write", [Pathname("path"), BufferIn("content")],
           doc="Create or replace the file PATH with CONTENT."),
    Action("write_append", [Pathname("path"), BufferIn("content")],
           doc="Append CONTENT to the file PATH (created if missing)."),
    Action("cat", [Pathname("path")], RString(),
           doc="The content of a text file (use read_file for binary content)."),
    Action("read_file", [Pathname("path")], RBufferOut(),
           doc="The content of PATH as bytes."),
    Action("read_lines", [Pathname("path")], RStringList(),
           doc="The lines of a text file, without their line endings."),
    Action("filesize", [Pathname("file")], RInt64(),
           doc="The size of FILE in bytes."),
    Action("checksum", [String("csumtype"), Pathname("path")], RString(),
           doc="The checksum of a file: crc, md5, sha1, sha224, sha256, sha384 or sha512."),
    # ---- tree ----
    Action("mkdir", [Pathname("path")], doc="Create a directory."),
    Action("mkdir_p", [Pathname("path")],
           doc="Create a directory and any missing parents; no error if it exists."),
    Action("mkdir_mode", [Pathname("path"), Int("mode")],
           doc="Create a directory with permissions MODE (minus the umask)."),
    Action("rmdir", [Pathname("path")], doc="Remove an empty directory."),
    Action("rm", [Pathname("path")], doc="Remove a file (not a directory)."),
    Action("rm_f", [Pathname("path")],
           doc="Remove a file, with no error if it does not exist."),
    Action("rm_rf", [Pathname("path")],
           doc="Remove a file or directory tree, with no error if it does not exist."),
    Action("ls", [Pathname("directory")], RStringList(),
           doc="The names in DIRECTORY, sorted (the entries . and .. left out)."),
    Action("ll", [Pathname("directory")], RString(),
           doc="A long listing of DIRECTORY (as ls -la), for people to read."),
    Action("exists", [Pathname("path")], RBool(),
           doc="True if PATH exists (after following symlinks)."),
    Action("is_file", [Pathname("path")], RBool(), [OBool("followsymlinks")],
           once_had_no_optargs=True,
           doc="True if PATH is a regular file.  Symlinks are not followed unless "
               "followsymlinks is true."),
    Action("is_dir", [Pathname("path")], RBool(), [OBool("followsymlinks")],
           once_had_no_optargs=True,
           doc="True if PATH is a directory.  Symlinks are not followed unless "
               "followsymlinks is true."),
    Action("is_symlink", [Pathname("path")], RBool(),
           doc="True if PATH is a symbolic link."),
    Action("statns", [Pathname("path")], RStruct("statns"),
           doc="stat(2) of PATH (following symlinks) with nanosecond times: st_dev, st_ino, "
               "st_mode, st_nlink, st_uid, st_gid, st_rdev, st_size, st_blksize, st_blocks, "
               "st_atime_sec, st_atime_nsec, st_mtime_sec, ... st_ctime_nsec."),
    Action("lstatns", [Pathname("path")], RStruct("statns"),
           doc="As statns, but a symlink is described itself."),
    Action("chmod", [Int("mode"), Pathname("path")],
           doc="Change the permissions of PATH to MODE (give it in octal: 0o644)."),
    Action("chown", [Int("owner"), Int("group"), Pathname("path")],
           doc="Change the numeric owner and group of PATH (following symlinks)."),
    Action("lchown", [Int("owner"), Int("group"), Pathname("path")],
           doc="Change the numeric owner and group of PATH, not following a symlink."),
    Action("ln_s", [String("target"), Pathname("linkname")],
           doc="Create a symbolic link LINKNAME pointing to TARGET (stored as given)."),
    Action("ln", [Pathname("target"), Pathname("linkname")],
           doc="Create a hard link."),
    Action("readlink", [Pathname("path")], RString(),
           doc="The target of the symbolic link PATH, as stored."),
    Action("mv", [Pathname("src"), Pathname("dest")],
           doc="Move or rename a file or directory."),
    Action("cp", [Pathname("src"), Pathname("dest")], doc="Copy a file."),
    Action("cp_a", [Pathname("src"), Pathname("dest")],
           doc="Copy a file or directory tree, preserving modes, owners and times."),
    Action("cp_r", [Pathname("src"), Pathname("dest")],
           doc="Copy a file or directory tree."),
    Action("umask", [Int("mask")], RInt(),
           doc="Set the daemon's umask for files it creates; returns the previous one."),
    Action("get_umask", [], RInt(), doc="The daemon's current umask."),
    # ---- transfers ----
    Action("upload", [FileIn("filename"), DevOrPath("remotefilename")], progress=True,
           doc="Copy the host file FILENAME (any size; - or /dev/stdin reads standard input) "
               "to REMOTEFILENAME in the guest.  Progress events are sent while it runs and "
               "user_cancel stops it."),
    Action("download", [DevOrPath("remotefilename"), FileOut("filename")], progress=True,
           doc="Copy the guest file (or device) REMOTEFILENAME to the host file FILENAME "
               "(any size; /dev/stdout and /dev/fd/N work).  Progress events are sent while "
               "it runs and user_cancel stops it."),
    # ---- commands inside the guest ----
    Action("command", [StringList("arguments")], RString(),
           doc="Run a program of the guest, chrooted in the mounted guest root, and return "
               "its standard output.  ARGUMENTS is the argv list."),
    Action("command_lines", [StringList("arguments")], RStringList(),
           doc="As command, returning the output split into lines."),
    Action("sh", [String("command")], RString(),
           doc="Run COMMAND with the guest's /bin/sh, chrooted in the mounted guest root."),
    Action("sh_lines", [String("command")], RStringList(),
           doc="As sh, returning the output split into lines."),
]

