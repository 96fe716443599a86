"""``guestkit cat``: virt-cat's job.  Prints files of a guest, mounted as inspection finds
it (or with -m), byte for byte."""

import sys

from .common import guest_parser, open_guest, run_tool

PROG = "guestkit cat"


def cat(argv):
    ap = guest_parser(PROG, "print files of a guest, as virt-cat does", mounts=True)
    ap.add_argument("files", nargs="+", metavar="FILE")
    ns = ap.parse_args(argv)
    g = open_guest(ns, mount=True)
    status = 0
    try:
        for path in ns.files:
            sys.stdout.flush()
            try:
                g.download(path, "/dev/stdout")     # streamed: any size, any bytes
            except Exception as e:
                import guestkit
                if not isinstance(e, guestkit.Error):
                    raise
                sys.stderr.write("%s: %s\n" % (PROG, e))
                status = 1
    finally:
        g.close()
    return status


def main(argv):
    return run_tool(PROG, cat, argv)
