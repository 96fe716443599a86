"""The action table: every action guestkit offers, declared once.

``ACTIONS`` maps an action's name to its :class:`~guestkit.actions.table.Action`.  Methods of
GuestFS, argument checking, the daemon's dispatch, the shell's commands and the API reference
are all made from it.  Standard library only: the appliance's daemon imports it.
"""

from . import (add_domain, archive, content, files, fstools, hivex, inspect, library, luks, lvm,
               md, meta, storage, system)
from . import devmount, fileops, extfs, bootloader
from . import augeas, inotify, journal, selinux, yara
from . import debugging, handleprops, internal_tests
from . import btrfs, ldm, ntfs
from . import mount_local
from .table import Action  # noqa: F401

_ORDER = [library, add_domain, system, storage, files, lvm, md, luks, fstools, content, meta,
          archive, inspect, hivex, devmount, fileops, extfs, bootloader, augeas, inotify,
          journal, selinux, yara]
_ORDER += [handleprops, debugging, internal_tests]
_ORDER += [btrfs, ldm, ntfs]
_ORDER.append(mount_local)

ACTIONS = {}
for _mod in _ORDER:
    for _a in _mod.ACTIONS:
        if _a.name in ACTIONS:
            raise ValueError("action %s declared twice" % _a.name)
        ACTIONS[_a.name] = _a

# python-guestfs aliases (add_drive_opts, mkfs_opts, ...)
ALIASES = {alias: a.name for a in ACTIONS.values() for alias in a.aliases}

DAEMON_ACTIONS = {n: a for n, a in ACTIONS.items() if a.daemon}


def lookup(name):
    """The action called NAME (an alias, or a shell spelling with dashes, also works)."""
    name = name.replace("-", "_")
    name = ALIASES.get(name, name)
    return ACTIONS.get(name)
