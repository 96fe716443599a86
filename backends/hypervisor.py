"""The host's qemu binary: which one runs the appliance.

Neutral ground shared by the qemu-based backends (direct, libvirt, plugins built on them),
the handle's get_hv and guestkit test-tool, so that none of them imports another backend to
find it.
"""

import os
import shutil

from .base import LaunchError

#: names qemu's x86-64 system emulator goes by, in the order they are tried
QEMU_NAMES = ("qemu-system-x86_64", "qemu-kvm", "kvm")


def find_qemu(hv=None):
    """HV when given (set_hv, LIBGUESTFS_HV ...), else the first of QEMU_NAMES on PATH or in
    /usr/libexec; LaunchError when there is none."""
    if hv:
        return hv
    for name in QEMU_NAMES:
        p = shutil.which(name) or (os.path.exists("/usr/libexec/" + name) and
                                   "/usr/libexec/" + name)
        if p:
            return p
    raise LaunchError("qemu is not installed (Debian: apt-get install qemu-system-x86)")
