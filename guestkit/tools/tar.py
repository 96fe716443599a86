"""``guestkit tar-in`` and ``guestkit tar-out``: virt-tar-in's and virt-tar-out's jobs.  A
tar archive (``-`` for standard input or output) unpacked into, or packed from, a guest
directory, the guest mounted as inspection finds it (or with -m)."""

from .common import guest_parser, open_guest, run_tool

COMPRESS_HELP = "the archive is compressed with TYPE (gzip, bzip2, xz, lzop, compress)"


def _file(name, stdio):
    return stdio if name == "-" else name


def tar_in(argv):
    prog = "guestkit tar-in"
    ap = guest_parser(prog, "unpack a tar archive into a guest directory, as virt-tar-in "
                            "does", mounts=True, writable=True)
    ap.add_argument("--compress", metavar="TYPE", help=COMPRESS_HELP)
    ap.add_argument("tarfile", help="the archive on this host, or - for standard input")
    ap.add_argument("directory", help="the guest directory to unpack into")

    def body(argv):
        ns = ap.parse_args(argv)
        g = open_guest(ns, mount=True)
        try:
            opts = {"compress": ns.compress} if ns.compress else {}
            g.tar_in(_file(ns.tarfile, "/dev/stdin"), ns.directory, **opts)
            g.shutdown()                # written back before reporting success
        finally:
            g.close()
        return 0
    return run_tool(prog, body, argv)


def tar_out(argv):
    prog = "guestkit tar-out"
    ap = guest_parser(prog, "pack a guest directory into a tar archive, as virt-tar-out "
                            "does", mounts=True)
    ap.add_argument("--compress", metavar="TYPE", help=COMPRESS_HELP)
    ap.add_argument("directory", help="the guest directory")
    ap.add_argument("tarfile", help="the archive to write on this host, or - for standard "
                                    "output")

    def body(argv):
        ns = ap.parse_args(argv)
        g = open_guest(ns, mount=True)
        try:
            opts = {"compress": ns.compress} if ns.compress else {}
            g.tar_out(ns.directory, _file(ns.tarfile, "/dev/stdout"), **opts)
        finally:
            g.close()
        return 0
    return run_tool(prog, body, argv)
