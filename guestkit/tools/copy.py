"""``guestkit copy-in`` and ``guestkit copy-out``: virt-copy-in's and virt-copy-out's jobs.
Recursive copies between host directories and the guest, mounted as inspection finds it (or
with -m): read-write for copy-in, read-only for copy-out."""

from .common import ToolError, guest_parser, open_guest, run_tool


def copy_in(argv):
    prog = "guestkit copy-in"
    ap = guest_parser(prog, "copy host files and directories into a guest directory, as "
                            "virt-copy-in does", mounts=True, writable=True)
    ap.add_argument("paths", nargs="+", metavar="LOCAL... REMOTEDIR",
                    help="host files or directories, then the guest directory")

    def body(argv):
        ns = ap.parse_args(argv)
        if len(ns.paths) < 2:
            raise ToolError("give the host files to copy, then the guest directory")
        *local, remotedir = ns.paths
        g = open_guest(ns, mount=True)
        try:
            if not g.is_dir(remotedir, followsymlinks=True):
                raise ToolError("%s: not a directory in the guest" % remotedir)
            for path in local:
                g.copy_in(path, remotedir)
            g.shutdown()                # written back before reporting success
        finally:
            g.close()
        return 0
    return run_tool(prog, body, argv)


def copy_out(argv):
    prog = "guestkit copy-out"
    ap = guest_parser(prog, "copy files and directories out of a guest into a host "
                            "directory, as virt-copy-out does", mounts=True)
    ap.add_argument("paths", nargs="+", metavar="REMOTE... LOCALDIR",
                    help="guest files or directories, then the host directory")

    def body(argv):
        ns = ap.parse_args(argv)
        if len(ns.paths) < 2:
            raise ToolError("give the guest files to copy, then the host directory")
        *remote, localdir = ns.paths
        import os
        if not os.path.isdir(localdir):
            raise ToolError("%s: not a directory on this host" % localdir)
        g = open_guest(ns, mount=True)
        try:
            for path in remote:
                g.copy_out(path, localdir)
        finally:
            g.close()
        return 0
    return run_tool(prog, body, argv)
