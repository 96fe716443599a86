"""``guestkit rescue``: virt-rescue's job.  A shell inside the appliance, with the guest's
disks as /dev/sd*, the guest's filesystems mounted under /sysroot with -i or -m (or by
hand), on this terminal or on the pipes the tool is given; the tool ends with the shell's
exit status and shuts the appliance down.  The disks are writable unless --ro, as
virt-rescue's."""

import os
import sys

from .. import rescue_session
from .common import (ToolError, add_appliance_options, add_scratch_option, appliance_setup,
                     guest_parser, open_guest, run_tool)

PROG = "guestkit rescue"


def _parser():
    ap = guest_parser(PROG, "a rescue shell inside the appliance, on a guest's disks, as "
                            "virt-rescue gives", mounts=True, writable=True, rw_letters=True,
                      mount_help="under /sysroot in the appliance (without -m or -i nothing "
                                 "is mounted)")
    ap.add_argument("-i", "--inspector", action="store_true",
                    help="mount the guest's filesystems under /sysroot as its operating "
                         "system mounts them (found by inspection)")
    add_scratch_option(ap)
    add_appliance_options(ap)
    ap.add_argument("--append", metavar="KERNELOPTS",
                    help="more options for the appliance's kernel command line")
    ap.add_argument("-e", dest="escape", default="^]", metavar="^X|none",
                    help="the escape key (default ^]; ^] ? lists the escape sequences)")
    ap.add_argument("--suggest", action="store_true",
                    help="print the mount commands for the guest's filesystems and exit "
                         "(implies --ro)")
    ap.add_argument("--selinux", action="store_true", help="does nothing (virt-rescue "
                                                           "keeps it for compatibility)")
    ap.add_argument("old_style", nargs="*", metavar="IMAGE|GUEST",
                    help="old-style disks: an existing file is -a IMAGE, else -d GUEST")
    return ap


def rescue(argv):
    ap = _parser()
    ns = ap.parse_args(argv)
    for name in ns.old_style:
        ns.drives.append(("a", name, ns.format) if os.path.exists(name) else
                         ("d", name, None))
    try:
        escape = rescue_session.parse_escape(ns.escape)
    except ValueError as e:
        ap.error("-e: %s" % e)
    if ns.inspector and ns.mounts:
        raise ToolError("-i and -m do not go together: -i mounts what inspection finds")
    if ns.suggest:
        ns.readonly = True
    # encrypted devices are opened (with --key, or asking) when the guest is mounted for
    # the user; a bare shell gets the disks as they are, as virt-rescue's does
    mount = ns.inspector or bool(ns.mounts)
    g = open_guest(ns, mount=mount, pgroup=True, encrypted=mount or ns.suggest,
                   setup=lambda g: appliance_setup(g, ns))
    try:
        if ns.suggest:
            sys.stdout.write(suggestions(g))
            return 0
        info = inspection_text(g) if ns.inspector else None
        sys.stdout.flush()
        return rescue_session.run(g._client, escape=escape, info=info,
                                  on_log=_log if ns.verbose else None)
    finally:
        g.close()


def _log(text):
    sys.stderr.write(text.decode("utf-8", "replace"))
    sys.stderr.flush()


def _mounts(g, root):
    """(mountpoint, device) of ROOT, parents first."""
    return sorted(g.inspect_get_mountpoints(root).items(), key=lambda m: (len(m[0]), m[0]))


def _describe_root(g, root):
    return ["%s is the root of a %s operating system" % (root, g.inspect_get_type(root)),
            "type: %s, distro: %s, version: %d.%d" % (
                g.inspect_get_type(root), g.inspect_get_distro(root),
                g.inspect_get_major_version(root), g.inspect_get_minor_version(root)),
            g.inspect_get_product_name(root)]


def inspection_text(g):
    """What the escape sequence i prints: the operating systems found, their mounts."""
    lines = []
    for root in g.inspect_get_roots():
        lines += _describe_root(g, root)
        lines += ["  %s on /sysroot%s" % (dev, mp.rstrip("/")) for mp, dev in _mounts(g, root)]
    return "\n".join(lines) or "no operating system was found"


def suggestions(g):
    """--suggest: for each operating system, the commands that mount it under /sysroot."""
    roots = g.inspect_os()
    if not roots:
        return ("No operating system was found on this disk.  Mount its filesystems "
                "under /sysroot by hand (guestkit filesystems lists them).\n")
    out = ["This disk holds one or more operating systems.  These commands, typed at the "
           "><rescue> prompt, mount their filesystems:", ""]
    for root in roots:
        out += ["# " + line for line in _describe_root(g, root)]
        out += ["", *("mount %s /sysroot%s" % (dev, mp) for mp, dev in _mounts(g, root))]
        if g.inspect_get_type(root) == "linux":
            out += ["mount --rbind /%s /sysroot/%s" % (d, d) for d in ("dev", "proc", "sys")]
        out.append("")
    return "\n".join(out) + "\n"


def main(argv):
    return run_tool(PROG, rescue, argv)
