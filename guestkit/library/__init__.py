"""Implementations of the actions that run in the library rather than in the appliance.

Each is a function named after its action, taking the handle first.  IMPLEMENTATIONS maps
action names to them; a unit test checks it covers every library action of the table.
"""

from . import (add_domain, config, drives, handleprops, inspection, internal_tests, lifecycle,
               selinux, transfer)
from . import devmount
from . import mount_local


def _collect():
    out = {}
    for mod in (add_domain, config, drives, inspection, lifecycle, transfer, devmount,
                selinux, internal_tests, handleprops, mount_local):
        for name in getattr(mod, "__all__", []):
            out[name] = getattr(mod, name)
    out.update(config.property_functions())
    return out


IMPLEMENTATIONS = _collect()
