"""``guestkit customize``: virt-customize's job.  Opens a guest read-write, mounts it as
inspection finds it, gives it a fresh random seed, and runs the operations of the command
line (guestkit/tools/customize_ops.py) in the order they were given."""

import argparse
import sys
import time

from . import common, customize_ops, passwords
from .common import ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit customize"


class _Op(argparse.Action):
    """Every operation option appends (name, value) to ns.ops: command-line order is the
    order they run in."""

    def __call__(self, parser, ns, value, option=None):
        ns.ops.append((self.dest[len("op_"):].replace("_", "-"), value))


def add_op_options(ap):
    """The operations as options of AP (customize's, and sysprep's)."""
    ap.set_defaults(ops=[])
    group = ap.add_argument_group("operations (run in the order given)")
    for name, op in sorted(customize_ops.OPS.items()):
        kw = {"nargs": 0} if op.metavar is None else {"metavar": op.metavar}
        group.add_argument("--" + name, dest="op_" + name.replace("-", "_"), action=_Op,
                           default=argparse.SUPPRESS, help=op.help, **kw)
    ap.add_argument("--commands-from-file", metavar="FILE", action=_CommandsFromFile,
                    help="more operations, one per line (OPTION VALUE, # comments)")
    ap.add_argument("--selinux-relabel", action="store_true",
                    help="relabel SELinux guests at their next boot")
    ap.add_argument("--password-crypto", choices=sorted(passwords.METHODS),
                    default="sha512",
                    help="how --root-password and --password hash (default %(default)s)")


class _CommandsFromFile(argparse.Action):
    def __call__(self, parser, ns, path, option=None):
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            parser.error("--commands-from-file %s: %s" % (path, e.strerror))
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, value = line.partition(" ")
            name = name.lstrip("-")
            if name not in customize_ops.OPS:
                parser.error("%s:%d: unknown operation %r" % (path, n, name))
            if customize_ops.OPS[name].metavar is None:
                ns.ops.append((name, None))
            else:
                ns.ops.append((name, value.strip()))


def add_appliance_options(ap):
    common.add_appliance_options(
        ap, memsize=("-m", "--memsize"),
        network_help="give the appliance a network (the default when an operation may "
                     "need one: --install, --run...)")
    ap.add_argument("--no-network", dest="network", action="store_false",
                    help="no network, even for --install and --run")
    ap.add_argument("-n", "--dry-run", action="store_true",
                    help="do everything on a throw-away overlay: the disks are not changed")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress messages")


class Clock:
    """virt-customize's messages: seconds since the start, then what is being done."""

    def __init__(self, quiet):
        self.start, self.quiet = time.monotonic(), quiet

    def __call__(self, text):
        if not self.quiet:
            sys.stdout.write("[%6.1f] %s\n" % (time.monotonic() - self.start, text))
            sys.stdout.flush()


def open_for_changes(ns, say, before_mount=None):
    """The guest opened writable (an overlay with --dry-run), its OS mounted read-write;
    (handle, root).  BEFORE_MOUNT(g, root), when given, runs between inspection and
    mounting."""
    if ns.network is None:
        ns.network = any(customize_ops.OPS[name].network for name, _ in ns.ops)
    ns.readonly = bool(ns.dry_run)
    say("Examining the guest ...")
    g = open_guest(ns, setup=lambda g: common.appliance_setup(g, ns))
    try:
        roots = g.inspect_os()
        if len(roots) != 1:
            raise ToolError("no operating system was found on this disk" if not roots else
                            "several operating systems were found (%s)" % ", ".join(roots))
        if before_mount is not None:
            before_mount(g, roots[0])
        g.inspect_mount_root(roots[0], readwrite=True)
    except BaseException:
        g.close()
        raise
    return g, roots[0]


def fresh_identity(ctx, say):
    """A new random seed and (where it is empty or missing) machine id, as virt-customize
    gives every guest it changes."""
    if customize_ops.random_seed(ctx):
        say("Setting a random seed")
    if customize_ops.machine_id(ctx):
        say("Setting the machine ID in /etc/machine-id")


def finish(ctx, ns, say):
    """The last steps of customize and sysprep: SELinux relabelling if asked, then the
    guest unmounted and written back."""
    if ns.selinux_relabel and customize_ops.selinux_relabel(ctx):
        say("SELinux relabelling at next boot")
    say("Finishing off")
    ctx.g.umount_all()
    ctx.g.shutdown()


def customize(argv):
    ap = guest_parser(PROG, "change a guest: files, packages, passwords, first-boot "
                            "scripts..., as virt-customize does")
    add_appliance_options(ap)
    add_op_options(ap)
    ns = ap.parse_args(argv)
    customize_ops.validate(ns.ops)
    say = Clock(ns.quiet)
    g, root = open_for_changes(ns, say)
    try:
        ctx = customize_ops.Context(g, root, say, ns.verbose, ns.password_crypto)
        fresh_identity(ctx, say)
        customize_ops.run_ops(ctx, ns.ops)
        finish(ctx, ns, say)
    finally:
        g.close()
    return 0


def main(argv):
    return run_tool(PROG, customize, argv)
