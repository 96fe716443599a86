"""inspect_os and the inspect_* calls: the appliance inspects, the handle keeps the checked
result (guestkit/inspect/records.py) and answers the getters from it."""

from ..errors import Error
from ..inspect import records

__all__ = ["inspect_os", "inspect_get_roots", "inspect_get_mountpoints",
           "inspect_get_filesystems", "inspect_get_format", "inspect_get_drive_mappings",
           "inspect_get_windows_systemroot", "inspect_get_windows_current_control_set",
           "inspect_get_windows_software_hive", "inspect_get_windows_system_hive",
           "inspect_get_windows_group_policy",
           "inspect_is_live", "inspect_is_netinst", "inspect_is_multipart",
           "inspect_list_applications2", "inspect_list_applications", "inspect_get_icon",
           "inspect_mount_root"]

#: getters that return one field of the root's record as it is
FIELD_GETTERS = ("type", "distro", "product_name", "product_variant", "major_version",
                 "minor_version", "arch", "hostname", "build_id", "package_format",
                 "package_management", "osinfo")


def _internal(g, name, **optargs):
    from ..client import SessionLost
    try:
        return g._client.call(name, [], optargs)
    except SessionLost as e:
        g._lost(str(e))
        raise


def _record(g, root, action):
    rec = (g._module_state("inspection").get("roots") or {}).get(root)
    if rec is None:
        raise Error("%s: %s is not a root found by inspect_os (call inspect_os first)"
                    % (action, root), "EINVAL")
    return rec


def inspect_os(g):
    state = g._module_state("inspection")
    state["roots"] = records.root_records(_internal(g, "internal_inspect"))
    state["applications"], state["icons"] = {}, {}
    return list(state["roots"])


def inspect_get_roots(g):
    return list(g._module_state("inspection").get("roots") or {})


def _field_getter(field):
    def getter(g, root):
        return _record(g, root, "inspect_get_" + field)[field]
    getter.__name__ = "inspect_get_" + field
    return getter


for _f in FIELD_GETTERS:
    globals()["inspect_get_" + _f] = _field_getter(_f)
    __all__.append("inspect_get_" + _f)


def inspect_get_mountpoints(g, root):
    return list(_record(g, root, "inspect_get_mountpoints")["mountpoints"])


def inspect_get_filesystems(g, root):
    return list(_record(g, root, "inspect_get_filesystems")["filesystems"])


def inspect_get_format(g, root):
    _record(g, root, "inspect_get_format")
    return "installed"


def inspect_get_drive_mappings(g, root):
    return sorted(_record(g, root, "inspect_get_drive_mappings")["drive_mappings"].items())


def inspect_get_windows_group_policy(g, root):
    return _record(g, root, "inspect_get_windows_group_policy")["windows_group_policy"]


def _windows_only(name):
    def getter(g, root):
        rec = _record(g, root, "inspect_get_" + name)
        if rec["type"] != "windows":
            raise Error("inspect_get_%s: %s is not a Windows root (it is %s)"
                        % (name, root, rec["type"]), "EINVAL")
        if name not in rec:
            raise Error("inspect_get_%s: inspection could not find this for the Windows "
                        "root %s" % (name, root), "ENOENT")
        return rec[name]
    return getter


inspect_get_windows_systemroot = _windows_only("windows_systemroot")
inspect_get_windows_current_control_set = _windows_only("windows_current_control_set")
inspect_get_windows_software_hive = _windows_only("windows_software_hive")
inspect_get_windows_system_hive = _windows_only("windows_system_hive")


def _never(name):
    def check(g, root):
        _record(g, root, name)
        return False
    return check


inspect_is_live = _never("inspect_is_live")
inspect_is_netinst = _never("inspect_is_netinst")
inspect_is_multipart = _never("inspect_is_multipart")


def inspect_list_applications2(g, root):
    rec = _record(g, root, "inspect_list_applications2")
    cache = g._module_state("inspection")["applications"]
    if root not in cache:
        extra = {}
        if rec["type"] == "windows":
            if "windows_software_hive" not in rec:
                cache[root] = []            # no SOFTWARE hive, no Uninstall keys
                return []
            extra["windows_software_hive"] = rec["windows_software_hive"]
        cache[root] = records.applications2(_internal(
            g, "internal_inspect_applications", root=root,
            package_format=rec["package_format"],
            mountpoints=[list(mp) for mp in rec["mountpoints"]], **extra))
    return [dict(a) for a in cache[root]]


def inspect_list_applications(g, root):
    return records.applications(inspect_list_applications2(g, root))


def inspect_get_icon(g, root, favicon=None, highquality=None):
    rec = _record(g, root, "inspect_get_icon")
    key = (root, bool(favicon))
    icons = g._module_state("inspection")["icons"]
    if key not in icons:
        icons[key] = records.icon(_internal(
            g, "internal_inspect_icon", root=root, distro=rec["distro"],
            mountpoints=[list(mp) for mp in rec["mountpoints"]], favicon=bool(favicon)))
    return icons[key]


def inspect_mount_root(g, root, readwrite=None):
    mps = _record(g, root, "inspect_mount_root")["mountpoints"]
    mount = g.mount if readwrite else g.mount_ro
    for mp, dev in sorted(mps, key=lambda m: (len(m[0]), m[0])):
        try:
            mount(dev, mp)
        except Error as e:
            if mp == "/":
                raise
            g._warning("inspect_mount_root: %s on %s not mounted: %s" % (dev, mp, e))
