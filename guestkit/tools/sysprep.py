"""``guestkit sysprep``: virt-sysprep's job.  Resets a guest so that clones of it do not
share what must be unique (machine id, ssh host keys, logs, histories...): the operations of
guestkit/tools/sysprep_ops.py, the default ones unless --operations says otherwise, plus the
customize operations."""

import sys

from . import customize_ops, sysprep_ops
from .common import guest_parser, run_tool
from .customize import (Clock, add_appliance_options, add_op_options, finish, fresh_identity,
                        open_for_changes)

PROG = "guestkit sysprep"


def _parser():
    ap = guest_parser(PROG, "reset a guest so that it can be cloned, as virt-sysprep does")
    ap.add_argument("--operations", "--operation", metavar="OPERATIONS",
                    help="the operations to run, comma-separated ('defaults', 'all', "
                         "'-NAME' to leave one out)")
    ap.add_argument("--enable", metavar="OPERATIONS", help="the same as --operations")
    ap.add_argument("--list-operations", action="store_true",
                    help="list the operations (* marks those run by default) and exit")
    ap.add_argument("--remove-user-accounts", metavar="USERS", action="append",
                    help="user-account: remove only these users (comma-separated)")
    ap.add_argument("--keep-user-accounts", metavar="USERS", action="append",
                    help="user-account: keep these users (comma-separated)")
    ap.add_argument("--script", metavar="SCRIPT", action="append", default=[],
                    help="script: a host shell script to run in the guest (repeatable)")
    add_appliance_options(ap)
    add_op_options(ap)
    return ap


def list_operations(out):
    for name, op in sorted(sysprep_ops.OPERATIONS.items()):
        out.write("%s %s %s\n" % (name, "*" if op.default else " ", op.doc))


def sysprep(argv):
    ns = _parser().parse_args(argv)
    if ns.list_operations:
        list_operations(sys.stdout)
        return 0
    names = sysprep_ops.select(ns.operations, ns.enable)
    customize_ops.validate(ns.ops)
    for path in ns.script:
        customize_ops.validate([("run", path)])
    say = Clock(ns.quiet)

    def context(g, root):
        ctx = customize_ops.Context(g, root, say, ns.verbose, ns.password_crypto)
        ctx.customize_ops = ns.ops
        ctx.scripts = ns.script
        ctx.remove_users = _users(ns.remove_user_accounts)
        ctx.keep_users = _users(ns.keep_user_accounts) or set()
        return ctx
    g, root = open_for_changes(ns, say, before_mount=lambda g, root: sysprep_ops.run_selected(
        context(g, root), names, say, before_mount=True))
    try:
        ctx = context(g, root)
        sysprep_ops.run_selected(ctx, names, say)
        fresh_identity(ctx, say)
        finish(ctx, ns, say)
    finally:
        g.close()
    return 0


def _users(values):
    if not values:
        return None
    return {u for v in values for u in v.split(",") if u}


def main(argv):
    return run_tool(PROG, sysprep, argv)
