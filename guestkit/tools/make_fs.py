"""``guestkit make-fs``: virt-make-fs's job.  Makes a new disk image holding one filesystem
filled from a host directory or a tar archive (plain, or compressed with gzip, bzip2 or
xz), optionally inside a partition table.

The size follows virt-make-fs: the input's size (a directory's apparent size, as
``du --apparent-size -b -s`` counts it; a plain archive's file size; a compressed
archive's uncompressed size), plus 256 KiB, plus a journal for ext3/ext4 (1024 blocks),
4 MiB for ntfs, 256 MiB for btrfs, 16 MiB for xfs, plus 2 x 128 sectors with
--partition, plus 10%; --size N instead, or --size +N for that estimate plus N.  The
output image is removed again if anything fails.  Archives compressed with compress(1)
(.Z) are not accepted (no estimate can be made here); btrfs is made with mkfs's
defaults (virt-make-fs asks for single data and metadata profiles)."""

import argparse
import bz2
import gzip
import lzma
import os
import re
import stat
import subprocess
import sys

import guestkit

from .common import ToolError, _MachineReadable, run_tool

PROG = "guestkit make-fs"
SUFFIXES = "KMGTPEZY"
#: the MBR partition type byte virt-make-fs and virt-format give each filesystem type
MBR_IDS = {"msdos": 0x01, "vfat": 0x0b, "fat": 0x0b, "ntfs": 0x07, "minix": 0x81}
_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


def mbr_id(fstype):
    if fstype in MBR_IDS:
        return MBR_IDS[fstype]
    return 0x83 if fstype.startswith("ext") else 0


def check_mkfs(fstype, option):
    """Refuse a filesystem type this machine cannot make, before any disk is touched: the
    appliance carries the host's mkfs.TYPE programs, so it lacks what the host lacks."""
    import shutil
    if not re.fullmatch(r"[a-z0-9_]+", fstype):
        raise ToolError("%s %s: not a filesystem type" % (option, fstype))
    if shutil.which("mkfs." + fstype, path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
        hint = (" (try vfat for long file names or msdos for short ones)"
                if fstype == "fat" else "")
        raise ToolError("%s %s: there is no mkfs.%s on this machine, so the appliance "
                        "cannot make that filesystem%s" % (option, fstype, fstype, hint))


def parse_size(text, estimate=0):
    """N or +N, N with an optional K/M/G/T/P/E/Z/Y (powers of 1024, KiB the same; KB and
    the like powers of 1000) or b (bytes): a number of bytes (+N: ESTIMATE + N)."""
    m = re.fullmatch(r"(\+?)(\d+)(?:([bkKMGTPEZY])(iB|B)?)?", text.strip())
    if not m:
        raise ToolError("--size %r: expecting a number of bytes with an optional unit "
                        "(K, M, G, T, ...), e.g. 200M or +50M" % text)
    n = int(m.group(2))
    unit = m.group(3)
    if unit and unit != "b":
        base = 1000 if m.group(4) == "B" else 1024
        n *= base ** (SUFFIXES.index(unit.upper()) + 1)
    return estimate + n if m.group(1) else n


def compression(path):
    """None for a plain tar archive, else the compression; ToolError for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise ToolError("%s: %s" % (path, e.strerror)) from None
    if head.startswith(b"\x1f\x8b"):
        kind = "gzip"
    elif head.startswith(b"BZh"):
        kind = "bzip2"
    elif head.startswith(b"\xfd7zXZ\x00"):
        kind = "xz"
    elif head.startswith(b"\x1f\x9d"):
        raise ToolError("%s: archives compressed with compress(1) are not supported: "
                        "uncompress it first" % path)
    else:
        kind = None
    if kind:
        try:
            with _OPENERS[kind](path, "rb") as f:
                head = f.read(512)
        except (OSError, EOFError, lzma.LZMAError) as e:
            raise ToolError("%s: cannot read it as %s: %s" % (path, kind, e)) from None
    if len(head) < 512 or head[257:262] != b"ustar":
        raise ToolError("%s: input is not a directory, tar archive or compressed tar "
                        "archive" % path)
    return kind


def estimate_input(path):
    """(bytes the input needs, None for a directory / the compression of an archive)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ToolError("%s: %s" % (path, e.strerror)) from None
    if stat.S_ISDIR(st.st_mode):
        total, seen = 0, set()
        for top, dirs, files in os.walk(path, onerror=_walk_error):
            for name in [""] + dirs + files:
                p = os.path.join(top, name) if name else top
                try:
                    s = os.lstat(p)
                except OSError as e:
                    raise ToolError("%s: %s" % (p, e.strerror)) from None
                if (s.st_dev, s.st_ino) not in seen:
                    seen.add((s.st_dev, s.st_ino))
                    total += s.st_size
        return total, "directory"
    kind = compression(path)
    if kind is None:
        return st.st_size, None
    total = 0
    with _OPENERS[kind](path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            total += len(block)
    return total, kind


def _walk_error(e):
    raise ToolError("%s: %s" % (e.filename, e.strerror))


def make_fs(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description="make a disk image holding a filesystem filled from a "
                               "directory or a tar archive, as virt-make-fs does")
    ap.add_argument("--floppy", action="store_true",
                    help="a 1440K floppy image: MBR partition, vfat")
    ap.add_argument("-s", "--size", metavar="N|+N",
                    help="the image's size, or +N: the estimate plus N (default: just "
                         "enough)")
    ap.add_argument("-F", "--format", default="raw", metavar="FMT",
                    help="the image's format, raw (default) or qcow2")
    ap.add_argument("-t", "--type", default="ext2", metavar="FS",
                    help="the filesystem type (default ext2)")
    ap.add_argument("--label", help="the filesystem's label")
    ap.add_argument("--partition", nargs="?", const="mbr", metavar="PARTTYPE",
                    help="put the filesystem in a partition (mbr unless PARTTYPE, e.g. gpt)")
    ap.add_argument("--blocksize", type=int, choices=(512, 4096), default=512,
                    help="the sector size of the image (default 512)")
    ap.add_argument("--machine-readable", action=_MachineReadable, nargs="?",
                    metavar="fd:N|file:F|stream:stdout|stream:stderr", default=None,
                    help="errors also as JSON messages there (stdout if no place is given); "
                         "alone, list what this tool supports")
    ap.add_argument("-v", "--verbose", action="store_true", help="verbose messages")
    ap.add_argument("-x", dest="trace", action="store_true", help="trace every call")
    ap.add_argument("input", help="a directory, or a tar archive (.tar, .tar.gz, .tar.bz2, "
                                  ".tar.xz)")
    ap.add_argument("output", help="the disk image to create")
    ns = ap.parse_args(argv)
    if ns.floppy:
        ns.size = ns.size or "1440K"
        ns.partition = ns.partition or "mbr"
        ns.type = "vfat"
    if ns.format not in ("raw", "qcow2"):
        raise ToolError("--format %s: guestkit make-fs writes raw or qcow2 images" % ns.format)
    if ns.type in ("iso9660", "squashfs"):
        raise ToolError("--type %s: a read-only filesystem cannot be filled this way"
                        % ns.type)
    if ns.partition == "msdos":
        ns.partition = "mbr"
    if ns.partition not in (None, "mbr", "gpt"):
        raise ToolError("--partition=%s: expecting mbr or gpt" % ns.partition)
    check_mkfs(ns.type, "--type")
    estimate, kind = estimate_input(ns.input)
    if ns.verbose:
        sys.stderr.write("input format = %s\nestimate = %d bytes\n"
                         % (kind or "tar archive", estimate))
    if ns.partition:
        estimate += 2 * 128 * ns.blocksize
    estimate += 256 * 1024
    if ns.type.startswith("ext") and ns.type[3:4] >= "3":
        estimate += 1024 * (1024 if ns.blocksize == 512 else 4096)
    elif ns.type == "ntfs":
        estimate += 4 << 20
    elif ns.type == "btrfs":
        estimate += 256 << 20
    elif ns.type == "xfs":
        estimate += 4096 * 4096
    estimate = int(estimate * 1.10)
    size = estimate if ns.size is None else parse_size(ns.size, estimate)
    if size <= 0:
        raise ToolError("--size %s: the image would be empty" % ns.size)

    g = guestkit.GuestFS(python_return_dict=True)
    created = False
    try:
        g.set_verbose(ns.verbose)
        g.set_trace(ns.trace)
        opts = {"preallocation": "metadata"} if ns.format == "qcow2" else {}
        g.disk_create(ns.output, ns.format, size, **opts)
        created = True
        g.add_drive_opts(ns.output, format=ns.format, blocksize=ns.blocksize)
        g.launch()
        dev = "/dev/sda"
        if ns.partition:
            g.part_disk(dev, ns.partition)
            dev = "/dev/sda1"
            if ns.partition == "mbr" and mbr_id(ns.type):
                g.part_set_mbr_id("/dev/sda", 1, mbr_id(ns.type))
        try:
            g.mkfs(ns.type, dev, **({"label": ns.label} if ns.label else {}))
        except guestkit.Error as e:
            hint = ("instead of 'fat', try 'vfat' (long file names) or 'msdos' (short "
                    "ones)" if ns.type == "fat" else "is '%s' a filesystem type?" % ns.type)
            raise ToolError("making the filesystem failed: %s; %s" % (e, hint)) from None
        g.mount_options("utf8" if ns.type == "vfat" else "", dev, "/")
        _fill(g, ns.input, kind)
        g.umount_all()
        g.shutdown()
    except BaseException:
        g.close()
        if created:
            try:
                os.unlink(ns.output)
            except OSError:
                pass
        raise
    g.close()
    return 0


def _fill(g, path, kind):
    """Unpack the input into the mounted filesystem."""
    try:
        if kind == "directory":
            p = subprocess.Popen(["tar", "-C", path, "-cf", "-", "."],
                                 stdout=subprocess.PIPE)
            try:
                g.tar_in("/dev/fd/%d" % p.stdout.fileno(), "/")
            finally:
                p.stdout.close()
                if p.wait() != 0:
                    raise ToolError("tar could not read all of %s (status %d)"
                                    % (path, p.returncode))
        else:
            g.tar_in(path, "/", **({"compress": kind} if kind else {}))
    except guestkit.Error as e:
        if e.errno_name == "ENOSPC":
            raise ToolError("the filesystem is full: give a bigger --size (or +N for "
                            "more room than the estimate)") from None
        raise


def main(argv):
    return run_tool(PROG, make_fs, argv)
