"""The appliance kernel's command line, for every backend that boots guestkit's appliance
(the keys the daemon reads are declared in daemon/contract.py)."""

import os

from ..daemon.contract import (CMDLINE_DRIVES, CMDLINE_NETWORK, CMDLINE_PREFIX,
                               CMDLINE_VERBOSE)

#: what every appliance kernel gets: a quick, quiet boot on the serial console, disks
#: attached by the daemon only (scsi_mod.scan=manual), the CPU's RNG trusted
KERNEL_ARGS = ["panic=1", "console=ttyS0", "8250.nr_uarts=1", "cryptomgr.notests",
               "no_timer_check", "tsc=reliable", "scsi_mod.scan=manual", "ipv6.disable=1",
               "edd=off", "nokaslr", "random.trust_cpu=on", "mitigations=off",
               "transparent_hugepage=never"]


def appliance_cmdline(h, acpi_off=False, drives=None, hashseed=None, extra=()):
    """The kernel command line for handle H's appliance.

    acpi_off: drop ACPI (~0.2 s less boot) when the machine allows it: one vCPU (SMP needs
    ACPI's CPU tables) and every device on the root bus (not behind PCIe root ports).
    drives: how many the daemon attaches at boot (default: the handle's), one by one so
    that names follow the add order.  hashseed: Python's (default: random).  extra: more
    words from the backend (before the user's append)."""
    args = list(KERNEL_ARGS)
    args.append("%s%s=%d" % (CMDLINE_PREFIX, CMDLINE_DRIVES,
                             len(h._drives) if drives is None else drives))
    if h._prop("network"):
        args.append("%s%s=1" % (CMDLINE_PREFIX, CMDLINE_NETWORK))
    if acpi_off and h._prop("smp") == 1:
        args.append("acpi=off")
    if hashseed is None:
        hashseed = int.from_bytes(os.urandom(4), "little") % 4294967295
    args.append("PYTHONHASHSEED=%s" % hashseed)
    if h._prop("verbose"):
        args.append("%s%s=1" % (CMDLINE_PREFIX, CMDLINE_VERBOSE))
    else:
        args.append("quiet")
    from ..library.selinux import kernel_args as selinux_args
    args += selinux_args(h)                 # set_selinux (deprecated): SELinux permissive
    args += list(extra)
    if h._prop("append"):
        args.append(h._prop("append"))
    return " ".join(args)
