"""Internal calls behind the inspect_* actions (the library shapes and caches the result;
see guestkit/inspect/).  The parsing happens here, inside the appliance, never on the host.
"""

import os

from .filesystems import blkid_export, do_list_filesystems, mountable_device
from .inspect import icons
from .inspect import packages as P
from .inspect import scan
from .util import DaemonError

MAX_DPKG_STATUS = 64 << 20
MAX_APK_DB = 64 << 20
MAX_PACMAN_PACKAGES = 100_000


def do_internal_inspect(ctx):
    """[root record] for every operating system found on the disks."""
    filesystems = do_list_filesystems(ctx)[:scan.MAX_FILESYSTEMS]
    blkid = blkid_export([d for d, _ in filesystems])
    index = scan.DeviceIndex(filesystems, blkid)
    roots = []
    for dev, fstype in filesystems:
        if fstype not in scan.OS_FS_TYPES:
            continue
        for root, info in scan.candidate_roots(dev, fstype):
            info["root"] = root
            if info["type"] == "windows":
                # Windows has no fstab: its other volumes are drive letters
                info["mountpoints"] = [["/", root]]
                info["drive_mappings"] = scan.drive_mappings(info, index)
                info.pop("drive_blobs", None)
            else:
                info["mountpoints"] = scan.mountpoints(info, root, index)
                del info["fstab"], info["crypttab"]
            info["filesystems"] = sorted({d for _, d in info["mountpoints"]})
            roots.append(info)
    return roots


def _mount_guest(m, mountpoints):
    """Mount the root's other filesystems (from its fstab) inside M, shallowest first,
    each mountpoint resolved inside the root as if chrooted."""
    for mp, dev in sorted(mountpoints, key=lambda x: (x[0].count("/"), x[0])):
        if mp == "/":
            continue
        target = scan.safe_resolve(m.path, mp)
        if target is None or not os.path.isdir(target):
            continue
        try:
            dev, subvol = mountable_device(dev)
        except DaemonError:
            continue                    # gone since inspect_os
        m.mount(dev, target, None if subvol in (None, "/") else subvol)


def do_internal_inspect_applications(ctx, root, package_format, mountpoints,
                                     windows_software_hive=None):
    """The applications of the OS at ROOT, from its package database (for Windows, the
    Uninstall keys of its SOFTWARE hive)."""
    if not isinstance(root, str) or not root.startswith(("/dev/", "btrfsvol:/dev/")):
        raise DaemonError("%s: not a root device" % root, "EINVAL")
    with scan.Mounted(root) as m:
        if m.path is None:
            raise DaemonError("%s: cannot be mounted to list its applications" % root,
                              "EINVAL")
        if windows_software_hive:
            from .inspect import winroot
            return winroot.list_applications(m.path, windows_software_hive)
        _mount_guest(m, mountpoints or [])
        if package_format == "deb":
            return P.list_dpkg(scan.read_file(m.path, "/var/lib/dpkg/status",
                                              MAX_DPKG_STATUS) or b"")
        if package_format == "apk":
            return P.list_apk(scan.read_file(m.path, "/lib/apk/db/installed",
                                             MAX_APK_DB) or b"")
        if package_format == "pacman":
            return P.list_pacman(_pacman_descs(m.path))
        if package_format == "rpm":
            return _rpm(m.path)
        return []


def _rpm(root):
    """rpm's database (sqlite, ndb or Berkeley DB, the first present), a regular file
    inside the guest, or nothing."""
    from .inspect import rpmdb
    for d in rpmdb.RPMDB_DIRS:
        for name, fmt in rpmdb.RPMDB_FILES:
            if not scan.is_file(root, d + "/" + name):
                continue
            try:
                return rpmdb.list_rpm(scan.safe_resolve(root, d + "/" + name), fmt)
            except (OSError, ValueError):
                return []               # a damaged database: no applications
    return []


def do_internal_inspect_icon(ctx, root, distro, mountpoints, favicon=False):
    """The PNG logo of the OS at ROOT (bytes), or b"" when it has none."""
    if not isinstance(root, str) or not root.startswith(("/dev/", "btrfsvol:/dev/")):
        raise DaemonError("%s: not a root device" % root, "EINVAL")
    paths = icons.candidates(distro, bool(favicon))
    if not paths:
        return b""
    with scan.Mounted(root) as m:
        if m.path is None:
            return b""
        _mount_guest(m, mountpoints or [])
        for path in paths:
            data = scan.read_file(m.path, path, icons.MAX_ICON_BYTES + 1)
            if data and len(data) <= icons.MAX_ICON_BYTES and icons.is_png(data):
                return data
    return b""


def _pacman_descs(root):
    local = scan.safe_resolve(root, "/var/lib/pacman/local")
    try:
        names = sorted(os.listdir(local))[:MAX_PACMAN_PACKAGES]
    except OSError:
        return
    for name in names:
        data = scan.read_file(root, "/var/lib/pacman/local/%s/desc" % name,
                              P.MAX_DESC_FILE_BYTES)
        if data:
            yield data
