"""Windows roots inside the appliance: find the systemroot of a mounted filesystem (names
compared without case, as NTFS and FAT compare them), read what inspection needs from its
SOFTWARE and SYSTEM hives through libhivex, and list the applications of its Uninstall keys.

Hives are guest files: they are opened as regular files only, resolved inside the guest, and
libhivex bounds what it parses; every value read here is bounded again (MAX_VALUE_BYTES) and
every list cut (MAX_KEYS).  A hive libhivex refuses leaves the fields it would have given
unknown: the root is still reported.
"""

import os
import struct

from ..hivex import Hive
from ..meta import case_match
from ..util import DaemonError
from . import windows as W
from ._text import clean
from .osinfo import osinfo_short_id
from .packages import MAX_DESCRIPTION, MAX_FIELD, application2
from .scan import is_dir, is_file, read_file, safe_resolve

MAX_VALUE_BYTES = 64 * 1024     # a registry value inspection looks at
MAX_KEYS = 20_000               # subkeys of one key looked at (Uninstall, GPO history)
MAX_TEXT = 1024                 # characters kept of a product name, version, hostname ...
_OPEN_UNSAFE = 8                # hivex_open: tolerate some damage (as libguestfs lists apps)
UNINSTALL_PATHS = (("Microsoft", "Windows", "CurrentVersion", "Uninstall"),
                   ("WOW6432Node", "Microsoft", "Windows", "CurrentVersion", "Uninstall"))


def nocase(root, path):
    """Guest PATH with each name as it is on disk (ASCII case ignored, as in Windows), or
    None when a component is missing or the tree cannot be walked."""
    done = []
    for comp in (p for p in path.split("/") if p):
        if comp in (".", ".."):
            return None
        adir = safe_resolve(root, "/" + "/".join(done))
        try:
            name = case_match(adir, comp) if adir and os.path.isdir(adir) else None
        except OSError:
            return None
        if name is None:
            return None
        done.append(name)
    return "/" + "/".join(done)


def is_systemroot(root, path):
    """PATH holds system32, system32/config and system32/cmd.exe (a directory that just
    has the name is not a systemroot, nor is a data volume with Program Files)."""
    return (is_dir(root, nocase(root, path + "/system32") or "/\0") and
            is_dir(root, nocase(root, path + "/system32/config") or "/\0") and
            is_file(root, nocase(root, path + "/system32/cmd.exe")))


def find_systemroot(root):
    """The systemroot of the filesystem mounted at ROOT, as named on disk, or None."""
    for cand in W.SYSTEMROOT_PATHS:
        path = nocase(root, cand)
        if path and is_systemroot(root, path):
            return path
    ini = nocase(root, "/boot.ini")
    if ini:
        for cand in W.boot_ini_systemroots(read_file(root, ini, W.MAX_BOOT_INI) or b""):
            path = nocase(root, cand)
            if path and is_systemroot(root, path):
                return path
    return None


def open_hive(root, path, flags=0):
    """The hive at guest PATH opened read-only (a Hive), or None when it cannot be."""
    apath = safe_resolve(root, path)
    if apath is None:
        return None
    try:
        return Hive.open(apath, path, flags)
    except (OSError, DaemonError):
        return None


def _node(hv, names, start=None):
    node = start or hv.root()
    for name in names:
        node = hv.lookup(node, "child", name)
        if not node:
            return 0
    return node


def _string(hv, node, key, limit=MAX_TEXT):
    v = hv.lookup(node, "value", key)
    if not v or hv.type_len(v)[0] not in (W.REG_SZ, W.REG_EXPAND_SZ):
        return None
    try:
        return clean(hv.string(v, MAX_VALUE_BYTES), limit).strip() or None
    except DaemonError:
        return None                     # longer than bounded, or not UTF-16


def _dword(hv, node, key):
    v = hv.lookup(node, "value", key)
    if not v:
        return None
    t, data = hv.data(v, MAX_VALUE_BYTES)
    if t == W.REG_DWORD and len(data) >= 4:
        return struct.unpack_from("<I", data)[0]
    if t == 5 and len(data) >= 4:       # REG_DWORD_BIG_ENDIAN
        return struct.unpack_from(">I", data)[0]
    return None


def read_software(hv, info):
    """Product, version, variant and build from the SOFTWARE hive; group policy."""
    node = _node(hv, ("Microsoft", "Windows NT", "CurrentVersion"))
    if node:
        info["product_name"] = _string(hv, node, "ProductName") or "unknown"
        major, minor = W.version(_dword(hv, node, "CurrentMajorVersionNumber"),
                                 _dword(hv, node, "CurrentMinorVersionNumber"),
                                 _string(hv, node, "CurrentVersion"))
        info["major_version"], info["minor_version"] = major & 0x7FFFFFFF, minor & 0x7FFFFFFF
        info["product_variant"] = _string(hv, node, "InstallationType") or "unknown"
        # CurrentBuildNumber, not CurrentBuild (which meant something else in XP)
        info["build_id"] = _string(hv, node, "CurrentBuildNumber") or "unknown"
    history = _node(hv, ("Microsoft", "Windows", "CurrentVersion", "Group Policy",
                         "History"))
    info["windows_group_policy"] = bool(history) and any(
        W.is_gpo_guid(hv.name(c)) for c in hv.handles(history, "children")[:MAX_KEYS])


def read_system(hv, info):
    """Current control set, hostname and the raw drive mappings from the SYSTEM hive."""
    select = _node(hv, ("Select",))
    current = _dword(hv, select, "Current") if select else None
    if current is not None:
        ccs = "ControlSet%03d" % current
        info["windows_current_control_set"] = ccs
        params = _node(hv, (ccs, "Services", "Tcpip", "Parameters"))
        name = _string(hv, params, "Hostname") if params else None
        if name:
            info["hostname"] = name
    mounted = _node(hv, ("MountedDevices",))
    drives = []
    if mounted:
        for v in hv.handles(mounted, "values")[:MAX_KEYS]:
            t, size = hv.type_len(v)
            if t != W.REG_BINARY or size > 1024:
                continue
            found = W.mounted_device(hv.key(v), t, hv.data(v, 1024)[1])
            if found:
                drives.append(found)
    info["drive_blobs"] = drives


def describe_windows(root):
    """The identity of the Windows installation whose system volume is mounted at ROOT,
    or None when it holds no systemroot."""
    sysroot = find_systemroot(root)
    if sysroot is None:
        return None
    info = {"type": "windows", "distro": "windows", "windows_systemroot": sysroot,
            "package_format": "unknown", "package_management": "unknown"}
    cmd = nocase(root, sysroot + "/system32/cmd.exe")
    info["arch"] = W.pe_arch(read_file(root, cmd, W.MAX_PE_HEADER) or b"") or "unknown"
    for name, reader in (("software", read_software), ("system", read_system)):
        path = nocase(root, sysroot + "/system32/config/" + name)
        if not is_file(root, path):
            continue
        info["windows_%s_hive" % name] = path
        hv = open_hive(root, path)
        if hv is None:
            continue
        with hv:
            try:
                reader(hv, info)
            except DaemonError:
                pass                    # a damaged hive: what was read so far stays
    info["osinfo"] = osinfo_short_id(info)
    return info


def list_applications(root, software_hive):
    """The applications of the Uninstall keys (native and WOW6432Node) of the SOFTWARE
    hive at guest path SOFTWARE_HIVE: those with a DisplayName, as libguestfs lists them."""
    hv = open_hive(root, software_hive, _OPEN_UNSAFE)
    if hv is None:
        return []
    apps = []
    with hv:
        for path in UNINSTALL_PATHS:
            try:
                node = _node(hv, path)
                children = hv.handles(node, "children")[:MAX_KEYS] if node else []
                for child in children:
                    display = _string(hv, child, "DisplayName", MAX_FIELD)
                    if not display:
                        continue
                    apps.append(application2(
                        clean(hv.name(child), MAX_FIELD), _string(
                            hv, child, "DisplayVersion", MAX_FIELD) or "",
                        display_name=display,
                        install_path=_string(hv, child, "InstallLocation", MAX_FIELD) or "",
                        publisher=_string(hv, child, "Publisher", MAX_FIELD) or "",
                        url=_string(hv, child, "URLInfoAbout", MAX_FIELD) or "",
                        description=_string(hv, child, "Comments", MAX_DESCRIPTION) or ""))
            except DaemonError:
                continue                # a damaged key: the other path may still be read
    apps.sort(key=lambda a: a["app2_name"])
    return apps
