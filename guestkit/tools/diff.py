"""``guestkit diff``: virt-diff's job.  Lists the differences between the filesystems of two
guests (-a/-d the first, -A/-D the second), each opened read-only and mounted as
inspection finds it, in virt-diff's format:

  ``- FILE`` only in the first guest, ``+ FILE`` only in the second;
  ``= FILE`` a regular file whose content changed (its mtime, ctime or size differ, or its
  --checksum does), followed (except with --csv) by a unified diff of the two versions
  and ``@@ End of diff @@``;
  ``- FILE``, ``+ FILE``, ``# changed: FIELD...`` for a file whose status or extended
  attributes changed but not its content.

Each FILE is shown as virt-ls -lR shows it (type, permissions, size, then the fields
--uids, --times..., --extra-stats, --checksum ask for, the path, ``-> target`` for a
link, and with --xattrs each attribute's name and value).  Access times, and the times
and link counts of directories, are ignored unless --atime, --dir-times, --dir-links.
The walk and the merge are virt-diff's (each directory's names in order, each directory
followed by its contents; the two lists merged by comparing full paths byte by byte), so
the lines come out in the same order.  The content diff is computed here (Python's
difflib, written as GNU diff -u writes hunks, three lines of context, binary files
shown by an empty diff), not by running diff(1) on the host as virt-diff does: for
changes where several alignments are equally short the hunks may be split differently
from GNU diff's."""

import argparse
import difflib
import os
import stat
import sys
import tempfile
import time

from .common import ToolError, csv_field, guest_parser, open_guest, run_tool
from .humansize import human_size
from .ls import filetype

PROG = "guestkit diff"
BATCH = 1000
CONTEXT = 3
CHANGED_FIELDS = ("st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev",
                  "st_size", "st_blksize", "st_blocks", "st_atime_sec", "st_mtime_sec",
                  "st_ctime_sec")


class _Drive2(argparse.Action):
    """-A/-D: the second guest's disks, with the --format in force."""

    def __call__(self, parser, ns, value, option=None):
        kind = "d" if option == "-D" else "a"
        ns.drives2.append((kind, value, ns.format if kind == "a" else None))


class File:
    __slots__ = ("path", "key", "st", "xattrs", "csum")

    def __init__(self, path, st, xattrs, csum):
        self.path, self.st, self.xattrs, self.csum = path, st, xattrs, csum
        self.key = path.encode("utf-8", "surrogateescape")   # strcmp order


def _full_path(d, name):
    if name is None:
        return d
    return ("/" if d == "/" else d + "/") + name


class Tree:
    """Everything in one guest, in virt-diff's visiting order, with the fields that
    should not count flattened."""

    def __init__(self, g, ns):
        self.g, self.ns, self.files = g, ns, []
        self._visit("/")

    def _add(self, d, name, st, xattrs):
        ns = self.ns
        path = _full_path(d, name)
        st = dict(st)
        csum = None
        if ns.checksum and stat.S_ISREG(st["st_mode"]):
            csum = self.g.checksum(ns.checksum, path)
        if not ns.atime:
            st["st_atime_sec"] = st["st_atime_nsec"] = 0
        if stat.S_ISDIR(st["st_mode"]):
            if not ns.dir_links:
                st["st_nlink"] = 0
            if not ns.dir_times:
                for k in ("atime", "mtime", "ctime"):
                    st["st_%s_sec" % k] = st["st_%s_nsec" % k] = 0
        self.files.append(File(path, st, xattrs, csum))

    def _entries(self, d):
        g = self.g
        names = g.ls(d)
        out = []
        for i in range(0, len(names), BATCH):
            chunk = names[i:i + BATCH]
            stats = g.lstatnslist(d, chunk)
            flat = g.lxattrlist(d, chunk)
            pos = 0
            for name, st in zip(chunk, stats):
                head = flat[pos]
                if head["attrname"] != "":
                    raise ToolError("%s: malformed extended attribute list from the "
                                    "appliance" % d)
                count = int(head["attrval"] or b"0")
                xattrs = [(x["attrname"], bytes(x["attrval"]))
                          for x in flat[pos + 1:pos + 1 + count]]
                pos += 1 + count
                out.append((name, st, xattrs))
        return iter(out)

    def _visit(self, top):
        g = self.g
        self._add(top, None, g.lstatns(top),
                  [(x["attrname"], bytes(x["attrval"])) for x in g.lgetxattrs(top)])
        stack = [(top, self._entries(top))]       # not recursion: trees may be deep
        while stack:
            d, it = stack[-1]
            for name, st, xattrs in it:
                self._add(d, name, st, xattrs)
                if stat.S_ISDIR(st["st_mode"]):
                    path = _full_path(d, name)
                    stack.append((path, self._entries(path)))
                    break
            else:
                stack.pop()


class Output:
    """virt-diff's lines: fields separated by spaces, or CSV."""

    def __init__(self, ns, out):
        self.ns, self.out, self.now = ns, out, int(time.time())
        self.fields = []

    def string(self, s):
        self.fields.append(csv_field(s) if self.ns.csv else s)

    def raw(self, s):
        self.fields.append(s)

    def end(self):
        self.out.write((b"," if self.ns.csv else b" ").join(
            f.encode("utf-8", "surrogateescape") if isinstance(f, str) else f
            for f in self.fields) + b"\n")
        self.fields = []

    def binary(self, value):
        printable = lambda b: 0x20 <= b < 0x7f          # noqa: E731 (c_isprint)
        if not self.ns.csv or not any(not printable(b) or b in b' ",\n' for b in value):
            self.raw(b"".join(bytes([b]) if printable(b) else b"\\x%02x" % b
                              for b in value))
            return
        # virt-diff's CSV quoting prints a byte >= 0x80 sign-extended and pads with spaces
        parts = []
        for b in value:
            if b == 0x22:
                parts.append(b'""')
            elif printable(b):
                parts.append(bytes([b]))
            else:
                parts.append(b"\\x%2x" % (b if b < 0x80 else 0xffffff00 | b))
        self.raw(b'"' + b"".join(parts) + b'"')

    def time(self, secs):
        ns = self.ns
        if ns.time_mode == "t":
            self.raw("%10d" % secs)
        elif ns.time_mode == "relative":
            self.raw("%8d" % (self.now - secs))
        elif ns.time_mode == "days":
            d = self.now - secs
            self.raw("%3d" % (abs(d) // 86400 * (1 if d >= 0 else -1)))
        else:
            self.raw(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs)))

    def file(self, g, f):
        ns, st = self.ns, f.st
        self.string(filetype(st["st_mode"]))
        self.raw("%04o" % (st["st_mode"] & 0o7777))
        size = st["st_size"]
        if ns.human:
            self.raw(human_size(size) if ns.csv else "%10s" % human_size(size))
        else:
            self.raw(str(size) if ns.csv else "%10d" % size)
        if ns.uids:
            for k in ("st_uid", "st_gid"):
                self.raw(str(st[k]) if ns.csv else "%4d" % st[k])
        if ns.time_mode:
            if ns.atime:
                self.time(st["st_atime_sec"])
            self.time(st["st_mtime_sec"])
            self.time(st["st_ctime_sec"])
        if ns.extra_stats:
            dev = lambda n: "%d:%d" % (os.major(n), os.minor(n))    # noqa: E731
            self.raw(dev(st["st_dev"]))
            self.raw(str(st["st_ino"]))
            self.raw(str(st["st_nlink"]))
            self.raw(dev(st["st_rdev"]))
            self.raw(str(st["st_blocks"]))
        if f.csum is not None:
            self.string(f.csum)
        self.string(f.path)
        if stat.S_ISLNK(st["st_mode"]):
            import guestkit
            try:
                target = g.readlink(f.path)
            except guestkit.Error:
                target = None
            if target is not None:
                if ns.csv:
                    self.string(target)
                else:
                    self.raw("-> " + target)
        if ns.xattrs:
            for name, value in f.xattrs:
                self.string(name)
                self.binary(value)


def unified_diff(a, b):
    """The hunks GNU diff -u prints for bytes A and B (without its two header lines); an
    empty result for binary content (diff says "Binary files ... differ" on one line,
    which virt-diff cuts off with the header)."""
    if b"\0" in a[:32768] or b"\0" in b[:32768]:
        return b""
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    out = []

    def rng(start, stop):
        length = stop - start
        if length == 1:
            return b"%d" % (start + 1)
        return b"%d,%d" % (start if length == 0 else start + 1, length)

    def line(prefix, text):
        out.append(prefix + text)
        if not text.endswith(b"\n"):
            out.append(b"\n\\ No newline at end of file\n")
    matcher = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        out.append(b"@@ -%s +%s @@\n" % (rng(first[1], last[2]), rng(first[3], last[4])))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for t in la[i1:i2]:
                    line(b" ", t)
                continue
            for t in la[i1:i2]:
                line(b"-", t)
            for t in lb[j1:j2]:
                line(b"+", t)
    return b"".join(out)


def _content(g, path):
    with tempfile.TemporaryFile() as f:
        g.download(path, "/dev/fd/%d" % f.fileno())
        f.seek(0)
        return f.read()


def diff_trees(t1, t2, out):
    files1, files2 = t1.files, t2.files
    i = j = 0
    while i < len(files1) or j < len(files2):
        if i < len(files1) and j < len(files2):
            f1, f2 = files1[i], files2[j]
            if f1.key < f2.key:
                _one(out, "-", t1.g, f1)
                i += 1
            elif f1.key > f2.key:
                _one(out, "+", t2.g, f2)
                j += 1
            else:
                st_changed = f1.st != f2.st or f1.xattrs != f2.xattrs
                if st_changed:
                    _changed(out, t1.g, f1, t2.g, f2, True, False)
                elif f1.csum is not None and f2.csum is not None:
                    _changed(out, t1.g, f1, t2.g, f2, False, f1.csum != f2.csum)
                i += 1
                j += 1
        elif i < len(files1):
            _one(out, "-", t1.g, files1[i])
            i += 1
        else:
            _one(out, "+", t2.g, files2[j])
            j += 1


def _one(out, mark, g, f):
    out.string(mark)
    out.file(g, f)
    out.end()


def _changed(out, g1, f1, g2, f2, st_changed, csum_changed):
    s1, s2 = f1.st, f2.st
    both_reg = stat.S_ISREG(s1["st_mode"]) and stat.S_ISREG(s2["st_mode"])
    if csum_changed or (both_reg and any(s1[k] != s2[k] for k in (
            "st_mtime_sec", "st_ctime_sec", "st_size"))):
        _one(out, "=", g1, f1)
        if not out.ns.csv:             # (a checksum exists for regular files only)
            out.out.write(unified_diff(_content(g1, f1.path), _content(g2, f2.path)))
            out.out.write(b"@@ End of diff @@\n")
    elif st_changed:
        _one(out, "-", g1, f1)
        _one(out, "+", g2, f2)
        out.string("#")
        out.string("changed:")
        for k in CHANGED_FIELDS:
            if s1[k] != s2[k]:
                out.string(k)
        if f1.xattrs != f2.xattrs:
            out.string("xattrs")
        out.end()


def diff(argv):
    ap = guest_parser(PROG, "list the differences between the files of two guests, as "
                            "virt-diff does", add_help=False)
    ap.set_defaults(drives2=[])
    ap.add_argument("-A", action=_Drive2, metavar="IMAGE",
                    help="add a disk image of the second guest (repeatable)")
    ap.add_argument("-D", action=_Drive2, metavar="GUEST",
                    help="add the disks of a second libvirt guest")
    ap.add_argument("--all", action="store_true",
                    help="the same as --extra-stats --times --uids --xattrs")
    ap.add_argument("--atime", action="store_true", help="do not ignore access times")
    ap.add_argument("--checksum", "--checksums", nargs="?", const="md5", metavar="TYPE",
                    help="compare (and show) the checksums of regular files, md5 unless "
                         "TYPE")
    ap.add_argument("--csv", action="store_true", help="comma-separated values")
    ap.add_argument("--dir-links", "--dir-link", "--dir-nlink", "--dir-nlinks",
                    dest="dir_links", action="store_true",
                    help="do not ignore the link counts of directories")
    ap.add_argument("--dir-times", "--dir-time", dest="dir_times", action="store_true",
                    help="do not ignore the times of directories")
    ap.add_argument("--extra-stats", "--extra-stat", dest="extra_stats",
                    action="store_true", help="show device, inode, links, rdev, blocks")
    ap.add_argument("-h", "--human-readable", dest="human", action="store_true",
                    help="sizes as 1.0K, 12M")
    ap.add_argument("--help", action="help", help="show this help and exit")
    ap.add_argument("--times", "--time", dest="time_mode", action="store_const",
                    const="date", help="show the times (mtime, ctime; atime with --atime)")
    ap.add_argument("--time-t", dest="time_mode", action="store_const", const="t",
                    help="... as seconds since the epoch")
    ap.add_argument("--time-relative", dest="time_mode", action="store_const",
                    const="relative", help="... as seconds before now")
    ap.add_argument("--time-days", dest="time_mode", action="store_const", const="days",
                    help="... as days before now")
    ap.add_argument("--uids", "--uid", dest="uids", action="store_true",
                    help="show the owner's uid and gid")
    ap.add_argument("--xattrs", "--xattr", dest="xattrs", action="store_true",
                    help="show extended attributes")
    ns = ap.parse_args(argv)
    if ns.all:
        ns.extra_stats = ns.uids = ns.xattrs = True
        ns.time_mode = ns.time_mode or "date"
    if not ns.drives:
        raise ToolError("no first guest given: use -a IMAGE or -d GUEST")
    if not ns.drives2:
        raise ToolError("no second guest given: use -A IMAGE or -D GUEST")
    if ns.human and ns.csv:
        raise ToolError("-h and --csv do not go together (spreadsheets cannot read "
                        "human sizes)")
    ns2 = argparse.Namespace(**vars(ns))
    ns2.drives = ns.drives2
    out = Output(ns, sys.stdout.buffer)
    g1 = open_guest(ns, mount=True)
    try:
        t1 = Tree(g1, ns)
        g2 = open_guest(ns2, mount=True)
        try:
            t2 = Tree(g2, ns)
            diff_trees(t1, t2, out)
            out.out.flush()
        finally:
            g2.close()
    finally:
        g1.close()
    return 0


def main(argv):
    return run_tool(PROG, diff, argv)
