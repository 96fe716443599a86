"""``guestkit ls``: virt-ls's job.  Lists directories of a guest mounted as inspection finds
it: names (default), ``ls -la`` style (-l), every path below (-R), or one line of chosen
fields per file (-lR, with --csv, -h, --uids, --times/--time-*, --extra-stats,
--checksum), in virt-ls's formats."""

import os
import stat
import sys
import time

from .common import (ToolError, csv_field, guest_parser, json_excludes, open_guest,
                     print_json, run_tool)
from .humansize import human_size

PROG = "guestkit ls"
BATCH = 1000                    # names per lstatnslist call

_TYPES = ((stat.S_ISREG, "-"), (stat.S_ISDIR, "d"), (stat.S_ISCHR, "c"),
          (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"), (stat.S_ISLNK, "l"),
          (stat.S_ISSOCK, "s"))


def filetype(mode):
    for test, letter in _TYPES:
        if test(mode):
            return letter
    return "u"


class Lines:
    """The -lR output: the fields chosen by the options, space- or comma-separated."""

    def __init__(self, ns, out):
        self.ns, self.out, self.now = ns, out, int(time.time())

    def _time(self, t):
        ns = self.ns
        if ns.time_mode == "t":
            return "%10d" % t
        if ns.time_mode == "relative":
            return "%8d" % (self.now - t)
        if ns.time_mode == "days":
            d = self.now - t
            return "%3d" % (abs(d) // 86400 * (1 if d >= 0 else -1))
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))

    def show(self, g, path, st):
        ns = self.ns
        mode = st["st_mode"]
        fields = [filetype(mode), "%04o" % (mode & 0o7777)]
        size = st["st_size"]
        if ns.human:
            fields.append("%10s" % human_size(size))
        else:
            fields.append(str(size) if ns.csv else "%10d" % size)
        if ns.uids:
            fields += ["%4d" % st["st_uid"], "%4d" % st["st_gid"]]
        if ns.time_mode:
            fields += [self._time(st[k]) for k in ("st_atime_sec", "st_mtime_sec",
                                                   "st_ctime_sec")]
        if ns.extra_stats:
            fields += ["%d:%d" % (os.major(st["st_dev"]), os.minor(st["st_dev"])),
                       str(st["st_ino"]), str(st["st_nlink"]),
                       "%d:%d" % (os.major(st["st_rdev"]), os.minor(st["st_rdev"])),
                       str(st["st_blocks"])]
        if ns.checksum:
            if stat.S_ISREG(mode):
                fields.append(g.checksum(ns.checksum, path))
            elif ns.csv:
                fields.append("")
        fields.append(csv_field(path) if ns.csv else path)
        if stat.S_ISLNK(mode):
            target = g.readlink(path)
            fields.append(csv_field(target) if ns.csv else "-> " + target)
        self.out.write(("," if ns.csv else " ").join(fields) + "\n")


def _join(d, name):
    return ("/" if d == "/" else d + "/") + name


def _entries(g, d):
    names = g.ls(d)
    stats = []
    for i in range(0, len(names), BATCH):
        stats += g.lstatnslist(d, names[i:i + BATCH])
    return iter(list(zip(names, stats)))


def _visit_below(g, top, lines):
    """-lR below TOP: each entry in name order, a directory's contents right after it (a
    stack of iterators, not recursion: a guest's tree may be deeper than Python's stack)."""
    stack = [(top, _entries(g, top))]
    while stack:
        d, it = stack[-1]
        for name, st in it:
            path = _join(d, name)
            lines.show(g, path, st)
            if stat.S_ISDIR(st["st_mode"]):
                stack.append((path, _entries(g, path)))
                break
        else:
            stack.pop()


def ls(argv):
    ap = guest_parser(PROG, "list directories of a guest, as virt-ls does", mounts=True,
                      add_help=False)
    ap.add_argument("-l", "--long", action="store_true", help="long listing")
    ap.add_argument("-R", "--recursive", action="store_true", help="recursive listing")
    ap.add_argument("--csv", action="store_true", help="comma-separated values (-lR)")
    ap.add_argument("-h", "--human-readable", dest="human", action="store_true",
                    help="sizes as 1.0K, 12M (-lR)")
    ap.add_argument("--help", action="help", help="show this help and exit")
    ap.add_argument("--uids", action="store_true", help="show the owner's uid and gid (-lR)")
    ap.add_argument("--times", dest="time_mode", action="store_const", const="date",
                    help="show atime, mtime, ctime as dates (-lR)")
    ap.add_argument("--time-t", dest="time_mode", action="store_const", const="t",
                    help="... as seconds since the epoch (-lR)")
    ap.add_argument("--time-relative", dest="time_mode", action="store_const",
                    const="relative", help="... as seconds before now (-lR)")
    ap.add_argument("--time-days", dest="time_mode", action="store_const", const="days",
                    help="... as days before now (-lR)")
    ap.add_argument("--extra-stats", action="store_true",
                    help="show device, inode, links, rdev, blocks (-lR)")
    ap.add_argument("--checksum", nargs="?", const="md5", metavar="TYPE",
                    help="show each regular file's checksum, md5 unless TYPE (-lR)")
    ap.add_argument("--json", action="store_true",
                    help="one JSON document: each DIR's names (-R: paths; -l, -lR: objects "
                         "with the path and its lstatns fields, plus link and checksum)")
    ap.add_argument("dirs", nargs="+", metavar="DIR")
    # as in virt-ls, a TYPE goes with --checksum=TYPE only: "--checksum /etc" lists /etc
    ns = ap.parse_args(["--checksum=md5" if a == "--checksum" else a for a in argv])
    json_excludes(ns, csv="--csv", human="-h", uids="--uids", time_mode="--times/--time-*",
                  extra_stats="--extra-stats")
    long_rec = ns.long and ns.recursive
    if not long_rec and (ns.csv or ns.human or ns.uids or ns.time_mode or ns.extra_stats
                         or ns.checksum):
        raise ToolError("--csv, -h, --uids, --time*, --extra-stats and --checksum go with "
                        "-lR only")
    if ns.human and ns.csv:
        raise ToolError("-h and --csv do not go together (spreadsheets cannot read "
                        "human sizes)")
    g = open_guest(ns, mount=True)
    out = sys.stdout
    errors = 0
    doc = {}
    try:
        for d in ns.dirs:
            try:
                if ns.json:
                    doc[d] = _json_listing(g, d, ns)
                elif long_rec:
                    _visit_below_top(g, d, Lines(ns, out))
                elif ns.long:
                    out.write(g.ll(d))
                elif ns.recursive:
                    for name in sorted(g.find(d)):
                        out.write("/" + name + "\n")
                else:
                    for name in g.ls(d):
                        out.write(name + "\n")
            except Exception as e:
                import guestkit
                if not isinstance(e, guestkit.Error):
                    raise
                out.flush()
                sys.stderr.write("%s: %s\n" % (PROG, e))
                errors += 1
    finally:
        g.close()
    if ns.json:
        print_json(doc, out)
    return 1 if errors else 0


def _json_listing(g, d, ns):
    """What --json shows for directory D."""
    if not ns.long:
        return sorted("/" + n for n in g.find(d)) if ns.recursive else g.ls(d)
    entries = []

    class Collect:
        @staticmethod
        def show(g, path, st):
            entry = {"path": path}
            entry.update(st)
            if stat.S_ISLNK(st["st_mode"]):
                entry["link"] = g.readlink(path)
            if ns.checksum and stat.S_ISREG(st["st_mode"]):
                entry["checksum"] = g.checksum(ns.checksum, path)
            entries.append(entry)
    if ns.recursive:
        _visit_below_top(g, d, Collect)
    else:
        for name, st in _entries(g, d):
            Collect.show(g, _join(d, name), st)
    return entries


def _visit_below_top(g, top, lines):
    lines.show(g, top, g.lstatns(top))
    _visit_below(g, top, lines)


def main(argv):
    return run_tool(PROG, ls, argv)
