"""Boot loaders (GRUB, SYSLINUX, EXTLINUX) and unlocking LUKS devices bound with Clevis."""

import os

from .fstools import _mounted_dir, _mountpoints_of
from .fileops import _need_group
from .util import DaemonError, device, fail, run


def _guest_errors(e, apath, gpath):
    return DaemonError(str(e).replace(apath, gpath), e.errno_name)


def do_grub_install(ctx, root, dev):
    _need_group("grub")
    dev = device(dev)
    aroot, groot = _mounted_dir(ctx, root)
    boot = ctx.resolve(root.rstrip("/") + "/boot")
    if not os.path.isdir(boot):
        os.mkdir(boot, 0o755)
    argv = ["grub-install", "--target=i386-pc", "--no-floppy", "--force",
            "--boot-directory=" + boot, dev]
    try:
        run(argv)
    except DaemonError as e:
        raise _guest_errors(e, aroot, groot) from None


def do_syslinux(ctx, dev, directory=None):
    _need_group("syslinux")
    dev = device(dev)
    if _mountpoints_of(dev):
        fail("%s: mounted (syslinux needs an unmounted FAT filesystem)" % dev, "EBUSY")
    argv = ["syslinux", "--install"]
    if directory is not None:
        if not directory or "\n" in directory:
            fail("directory %r is not valid" % directory)
        argv += ["--directory", directory]
    run(argv + [dev])


def do_extlinux(ctx, directory):
    _need_group("extlinux")
    apath, gpath = _mounted_dir(ctx, directory)
    try:
        run(["extlinux", "--install", apath])
    except DaemonError as e:
        raise _guest_errors(e, apath, gpath) from None


def do_clevis_luks_unlock(ctx, dev, mapname):
    _need_group("clevisluks")
    dev = device(dev)
    if not mapname or "/" in mapname or mapname in (".", ".."):
        fail("%r: not a valid device-mapper name" % mapname)
    run(["clevis", "luks", "unlock", "-d", dev, "-n", mapname])
