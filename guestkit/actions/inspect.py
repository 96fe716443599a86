"""Inspection: find the operating systems on the disks and describe them (see docs/api.md).

inspect_os does the work in the appliance (daemon/inspection.py parses the guest's files
there) and the library keeps the result; the inspect_get_* calls read what it kept.
"""

from .table import (LAUNCHED, Action, Mountable, OBool, RBool, RBufferOut, RErr, RHashtable, RInt,
                    RString, RStringList, RStructList)

_ROOT = "ROOT is a root device returned by inspect_os."


def _getter(name, ret, doc):
    return Action("inspect_get_" + name, [Mountable("root")], ret, daemon=False,
                  doc=doc + "  " + _ROOT)


ACTIONS = [
    Action("inspect_os", [], RStringList(), daemon=False, state=LAUNCHED,
           doc="Look for operating systems on the disks and return their root devices (an "
               "empty list when there is none).  Each candidate filesystem is mounted "
               "read-only on a private directory of the appliance and its files are read "
               "and parsed there, never on the host; the guest's own mounts are not "
               "touched.  The findings are kept in the handle for the inspect_get_* "
               "calls.  Linux and the BSDs are recognised (os-release and the older "
               "release files), with their fstab mapped to the appliance's devices, and "
               "Windows from its systemroot and registry (SOFTWARE and SYSTEM hives, read "
               "with libhivex in the appliance)."),
    Action("inspect_get_roots", [], RStringList(), daemon=False,
           doc="The root devices the last inspect_os found."),
    _getter("type", RString(),
            "The type of the operating system: linux, freebsd, netbsd, openbsd, hurd, "
            "minix, windows, or unknown."),
    _getter("distro", RString(),
            "The distribution: debian, ubuntu, fedora, rhel, centos, rocky, opensuse, "
            "sles, archlinux, alpinelinux, gentoo, ... or unknown."),
    _getter("product_name", RString(),
            "The product name, as the operating system gives it (PRETTY_NAME, the text "
            "of the release file), or unknown."),
    _getter("product_variant", RString(),
            "The product variant (for Windows: Client or Server), or unknown."),
    _getter("major_version", RInt(), "The major version number (0 when unknown)."),
    _getter("minor_version", RInt(), "The minor version number (0 when unknown)."),
    _getter("arch", RString(),
            "The architecture the guest's binaries are built for (x86_64, i386, aarch64, "
            "...), from their ELF headers, or unknown."),
    _getter("hostname", RString(),
            "The hostname the guest configures for itself, or unknown."),
    _getter("build_id", RString(), "The build id (os-release BUILD_ID), or unknown."),
    _getter("package_format", RString(),
            "The package format: deb, rpm, pacman, apk, ebuild, pisi, pkgsrc, or unknown."),
    _getter("package_management", RString(),
            "The package manager: apt, dnf, yum, zypper, pacman, apk, portage, ... or "
            "unknown."),
    _getter("format", RString(),
            "installed for an installed operating system (the only kind guestkit "
            "inspects)."),
    _getter("osinfo", RString(),
            "The libosinfo short id of the operating system (debian12, fedora39, "
            "ubuntu22.04, ...), or unknown."),
    _getter("mountpoints", RHashtable(),
            "Where the operating system mounts its filesystems: mountpoint -> device, "
            "from its /etc/fstab mapped to the appliance's devices (UUID=, LABEL=, "
            "PARTUUID=, PARTLABEL=, /dev/disk/by-*, LVM and md names, and vdX/hdX/xvdX "
            "disk names by disk index); entries that name no device here are left out.  "
            "Mount them shortest mountpoint first."),
    _getter("filesystems", RStringList(),
            "Every filesystem the operating system uses (the values of "
            "inspect_get_mountpoints)."),
    _getter("drive_mappings", RHashtable(),
            "Windows drive letters (the letter alone, such as C) -> partitions, from "
            "HKLM\\SYSTEM\\MountedDevices: a fixed disk's entry names its MBR disk "
            "signature and the partition's offset, or its GPT partition GUID.  Removable "
            "and optical drives are left out; empty for other operating systems."),
    _getter("windows_systemroot", RString(),
            "The Windows system directory as it is named on disk (such as /Windows): the "
            "first of /windows, /winnt, /win32, /win, /reactos (case ignored), or a "
            "boot.ini entry, holding system32/config and system32/cmd.exe.  An error for "
            "other operating systems."),
    _getter("windows_current_control_set", RString(),
            "The Windows current control set (such as ControlSet001, from "
            "HKLM\\SYSTEM\\Select\\Current); an error for other operating systems or "
            "when the SYSTEM hive does not say."),
    _getter("windows_software_hive", RString(),
            "The path of the Windows SOFTWARE hive, as named on disk (pass it to "
            "hivex_open); an error for other operating systems or when there is none."),
    _getter("windows_system_hive", RString(),
            "The path of the Windows SYSTEM hive, as named on disk; an error for other "
            "operating systems or when there is none."),
    _getter("windows_group_policy", RBool(),
            "A guestkit addition (virt-inspector's windows_group_policy element): whether "
            "group policy objects were applied to this Windows installation (its SOFTWARE "
            "hive records {GUID} entries under Group Policy\\History).  False for other "
            "operating systems."),
    Action("inspect_is_live", [Mountable("root")], RBool(), daemon=False,
           doc="Deprecated, always false: install disks are not inspected."),
    Action("inspect_is_netinst", [Mountable("root")], RBool(), daemon=False,
           doc="Deprecated, always false: install disks are not inspected."),
    Action("inspect_is_multipart", [Mountable("root")], RBool(), daemon=False,
           doc="Deprecated, always false: install disks are not inspected."),
    Action("inspect_list_applications2", [Mountable("root")], RStructList("application2"),
           daemon=False, state=LAUNCHED,
           doc="The applications installed in the operating system at ROOT, read in the "
               "appliance from its package database (dpkg, apk, pacman, rpm's sqlite, "
               "ndb or Berkeley DB database; for Windows the Uninstall keys of the "
               "SOFTWARE hive): name, display "
               "name, epoch, version, release, arch, install path, publisher, url, source "
               "package, summary and description where the database has them.  Nothing "
               "needs to be mounted.  " + _ROOT),
    Action("inspect_list_applications", [Mountable("root")], RStructList("application"),
           daemon=False, state=LAUNCHED, deprecated_by="inspect_list_applications2",
           doc="The older form of inspect_list_applications2 (no arch, no spare fields).  "
               + _ROOT),
    Action("inspect_get_icon", [Mountable("root")], RBufferOut(),
           [OBool("favicon"), OBool("highquality")], daemon=False, state=LAUNCHED,
           doc="The operating system's logo as PNG data, or an empty buffer when it has "
               "none: the logo file its distribution ships (Debian, Fedora, Ubuntu, "
               "Mageia, openSUSE/SLES), read in the appliance and checked to be PNG of at "
               "most 1 MiB.  With FAVICON, only a small icon suitable as a favicon "
               "(Fedora's 16x16); HIGHQUALITY is accepted and changes nothing.  " + _ROOT),
    Action("inspect_mount_root", [Mountable("root")], RErr(), [OBool("readwrite")],
           daemon=False, state=LAUNCHED,
           doc="A guestkit addition: mount the filesystems of the operating system at ROOT "
               "at their mountpoints (inspect_get_mountpoints) under the guest root, "
               "shortest mountpoint first, read-only unless READWRITE is true, as guestfish "
               "-i does.  A filesystem that cannot be mounted is skipped with a WARNING "
               "event; the root filesystem itself must mount.  " + _ROOT),
]
