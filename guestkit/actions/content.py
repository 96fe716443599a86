"""Daemon actions: the content of guest files (see docs/api.md).

Results that travel in one reply are bounded: what would not fit fails with EFBIG and says
which streaming action (download, *_out) to use instead.  Reads only ever open regular files
(or devices where a device is asked for), so a guest fifo or device node never blocks a call.
"""

from .table import (
    Action, BufferIn, Device, DevOrPath, FileIn, FileOut, Int, Int64, OBool, OInt, Pathname,
    RBufferOut, RErr, RInt, RString, RStringList, String,
)

_LIMIT = ("  The result travels in one reply: when it would be too large the call fails "
          "with EFBIG (use download instead).")


def _grep_variant(name, flags, argname="regex"):
    what = {"": "grep", "E": "grep -E", "F": "grep -F", "i": "grep -i", "Ei": "grep -E -i",
            "Fi": "grep -F -i"}
    z = name.startswith("z")
    tool = ("z" if z else "") + what[flags]
    return Action(name, [String(argname), Pathname("path")], RStringList(),
                  deprecated_by="grep",
                  doc="Deprecated: use grep with optional arguments.  The lines of PATH that "
                      "match, as %s finds them%s." % (
                          tool, " (the file may be compressed)" if z else ""))


ACTIONS = [
    # ---- lines ----
    Action("head", [Pathname("path")], RStringList(),
           doc="The first 10 lines of the file PATH." + _LIMIT),
    Action("head_n", [Int("nrlines"), Pathname("path")], RStringList(),
           doc="The first NRLINES lines of PATH; a negative NRLINES returns every line but "
               "the last -NRLINES; zero returns an empty list." + _LIMIT),
    Action("tail", [Pathname("path")], RStringList(),
           doc="The last 10 lines of the file PATH." + _LIMIT),
    Action("tail_n", [Int("nrlines"), Pathname("path")], RStringList(),
           doc="The last NRLINES lines of PATH; a negative NRLINES returns the lines from "
               "line number -NRLINES (counting from 1) to the end; zero returns an empty "
               "list." + _LIMIT),
    Action("grep", [String("regex"), Pathname("path")], RStringList(),
           [OBool("extended"), OBool("fixed"), OBool("insensitive"), OBool("compressed")],
           once_had_no_optargs=True,
           doc="The lines of the file PATH that match REGEX, as grep(1) finds them.  "
               "extended: extended regular expressions (-E); fixed: REGEX is a fixed string "
               "(-F); insensitive: ignore case (-i); compressed: the file may be compressed "
               "(zgrep).  extended and fixed together are an error (EINVAL).  No match is "
               "an empty list." + _LIMIT),
    _grep_variant("egrep", "E"),
    _grep_variant("fgrep", "F", "pattern"),
    _grep_variant("grepi", "i"),
    _grep_variant("egrepi", "Ei"),
    _grep_variant("fgrepi", "Fi", "pattern"),
    _grep_variant("zgrep", ""),
    _grep_variant("zegrep", "E"),
    _grep_variant("zfgrep", "F", "pattern"),
    _grep_variant("zgrepi", "i"),
    _grep_variant("zegrepi", "Ei"),
    _grep_variant("zfgrepi", "Fi", "pattern"),
    # ---- positioned reads and writes ----
    Action("pread", [Pathname("path"), Int("count"), Int64("offset")], RBufferOut(),
           doc="Up to COUNT bytes of the regular file PATH from OFFSET (fewer at the end of "
               "the file).  A COUNT too large for one reply is EFBIG (use download_offset "
               "or smaller reads)."),
    Action("pread_device", [Device("device"), Int("count"), Int64("offset")], RBufferOut(),
           doc="Up to COUNT bytes of DEVICE from OFFSET.  A COUNT too large for one reply "
               "is EFBIG."),
    Action("pwrite", [Pathname("path"), BufferIn("content"), Int64("offset")], RInt(),
           doc="Write CONTENT into the existing regular file PATH at OFFSET; returns the "
               "number of bytes written."),
    Action("pwrite_device", [Device("device"), BufferIn("content"), Int64("offset")], RInt(),
           doc="Write CONTENT to DEVICE at OFFSET; returns the number of bytes written."),
    # ---- sizes and allocation ----
    Action("truncate", [Pathname("path")],
           doc="Truncate the existing regular file PATH to zero length."),
    Action("truncate_size", [Pathname("path"), Int64("size")],
           doc="Truncate or extend the existing regular file PATH to SIZE bytes (extending "
               "makes a sparse file: use fallocate64 for allocated zeroes)."),
    Action("fallocate64", [Pathname("path"), Int64("len")],
           doc="Create (or replace) the file PATH with LEN zero bytes, allocated on disk."),
    Action("fallocate", [Pathname("path"), Int("len")], deprecated_by="fallocate64",
           doc="Deprecated: use fallocate64.  Create (or replace) the file PATH with LEN "
               "zero bytes, allocated on disk."),
    Action("fill", [Int("c"), Int("len"), Pathname("path")],
           doc="Create (or replace) the file PATH with LEN bytes of value C (0 to 255).  "
               "Progress events are sent while it runs."),
    Action("fill_pattern", [String("pattern"), Int("len"), Pathname("path")],
           doc="Create (or replace) the file PATH of LEN bytes repeating PATTERN (its UTF-8 "
               "bytes; cut short at the end).  Progress events are sent while it runs."),
    Action("fill_dir", [Pathname("dir"), Int("nr")],
           doc="Create NR empty files in the directory DIR, named 00000000 to NR-1 (eight "
               "digits).  An existing name that is not a regular file is an error."),
    # ---- views of a file ----
    Action("hexdump", [Pathname("path")], RString(),
           doc="The canonical hex dump (hexdump -C) of the regular file PATH." + _LIMIT),
    Action("strings", [Pathname("path")], RStringList(),
           doc="The printable strings in the regular file PATH, as strings(1) -a finds them."
               + _LIMIT),
    Action("strings_e", [String("encoding"), Pathname("path")], RStringList(),
           doc="As strings, for character ENCODING: s (7-bit, as strings), S (8-bit), b and "
               "l (16-bit big and little endian), B and L (32-bit big and little endian).  "
               "The strings are returned as UTF-8 (8-bit strings that are not valid UTF-8 are "
               "read as Latin-1)." + _LIMIT),
    Action("wc_l", [Pathname("path")], RInt(), doc="The number of lines in PATH (wc -l)."),
    Action("wc_w", [Pathname("path")], RInt(), doc="The number of words in PATH (wc -w)."),
    Action("wc_c", [Pathname("path")], RInt(), doc="The number of bytes in PATH (wc -c)."),
    Action("file", [DevOrPath("path")], RString(),
           doc="What file(1) says about PATH (without the name), looking inside compressed "
               "files.  For a guest path that is not a regular file the answer is its type: "
               "directory, symbolic link, character device, block device, FIFO, socket.  A "
               "/dev/ name is a device of the appliance, read as data.  The wording comes "
               "from file(1) and may change."),
    Action("file_architecture", [Pathname("filename")], RString(),
           doc="The architecture of the binary FILENAME: i386, x86_64, arm, aarch64, ppc, "
               "ppc64, ppc64le, riscv32, riscv64, s390, s390x, sparc, sparc64, ia64, ... "
               "Works on ELF programs, libraries and kernel modules (also compressed), "
               "Windows PE executables and DLLs, and Linux initrd images (cpio, compressed "
               "or not, after any uncompressed early cpio).  Anything else is EINVAL."),
    # ---- checksums ----
    Action("checksum_device", [String("csumtype"), Device("device")], RString(),
           doc="The checksum of the content of DEVICE: crc, md5, sha1, sha224, sha256, "
               "sha384 or sha512."),
    Action("checksums_out", [String("csumtype"), Pathname("directory"), FileOut("sumsfile")],
           doc="Write to the host file SUMSFILE the checksum of every regular file under "
               "DIRECTORY, one line each as the coreutils *sum programs print them "
               "(\"HASH  ./relative/path\"; for crc \"CRC SIZE ./relative/path\").  Symlinks "
               "are not followed."),
    # ---- compressed and encoded copies ----
    Action("compress_out", [String("ctype"), Pathname("file"), FileOut("zfile")], RErr(),
           [OInt("level")], progress=True,
           doc="Compress the regular file FILE with CTYPE (gzip, bzip2, xz, lzop; compress "
               "when the appliance has it, else an error saying \"not supported\") into the "
               "host file ZFILE.  level: the compression level, whose range depends on the "
               "program."),
    Action("compress_device_out", [String("ctype"), Device("device"), FileOut("zdevice")],
           RErr(), [OInt("level")], progress=True,
           doc="Compress DEVICE into the host file ZDEVICE; CTYPE and level as in "
               "compress_out."),
    Action("base64_in", [FileIn("base64file"), Pathname("filename")], progress=True,
           doc="Decode the base64 host file BASE64FILE into the guest file FILENAME (created "
               "or replaced).  Malformed base64 is EINVAL."),
    Action("base64_out", [Pathname("filename"), FileOut("base64file")], progress=True,
           doc="Write the regular file FILENAME, base64-encoded (lines of 76 characters), to "
               "the host file BASE64FILE."),
]
