"""Checking what the appliance says about the operating systems it found.

The appliance has parsed hostile guest data and may itself be subverted: every record is
checked field by field against the shape below, sizes and counts are bounded, and anything
unexpected fails the call with EIO instead of reaching the caller.
"""

import re

from ..daemon.inspect.icons import MAX_ICON_BYTES, is_png
from ..daemon.inspect.packages import APPLICATION2_FIELDS
from ..errors import Error

MAX_ROOTS = 64
MAX_MOUNTPOINTS = 1024
MAX_APPLICATIONS = 100_000
MAX_TEXT = 4096
MAX_DESCRIPTION = 64 * 1024

#: a root record's fields: name -> (type, default)
ROOT_FIELDS = {
    "root": (str, None), "type": (str, "unknown"), "distro": (str, "unknown"),
    "product_name": (str, "unknown"), "product_variant": (str, "unknown"),
    "major_version": (int, 0), "minor_version": (int, 0), "build_id": (str, "unknown"),
    "package_format": (str, "unknown"), "package_management": (str, "unknown"),
    "hostname": (str, "unknown"), "arch": (str, "unknown"), "osinfo": (str, "unknown"),
    "mountpoints": (list, None), "filesystems": (list, None),
}
#: Windows fields: present only in a Windows root's record
WINDOWS_FIELDS = ("windows_systemroot", "windows_current_control_set",
                  "windows_software_hive", "windows_system_hive")

#: the older application struct: its field -> the application2 field it comes from
APPLICATION_FIELDS = {"app_" + f[len("app2_"):]: f for f in APPLICATION2_FIELDS
                      if not f.startswith(("app2_arch", "app2_spare"))}


def _bad(what):
    raise Error("the appliance sent a malformed inspection result (%s)" % what, "EIO")


# characters no XML document may hold (control characters but tab and newline, the
# non-characters U+FFFE/U+FFFF, lone surrogates): dropped from what the appliance says
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value, what, limit=MAX_TEXT):
    if not isinstance(value, str) or len(value) > limit:
        _bad(what)
    return _NOT_XML.sub("", value)


def _int(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 31:
        _bad(what)
    return value


def _device(value, what):
    if not isinstance(value, str) or _NOT_XML.search(value):
        _bad(what)
    value = _text(value, what)
    if not value.startswith(("/dev/", "btrfsvol:/dev/")) or "/.." in value:
        _bad(what)
    return value


def root_records(reply):
    """{root device: record} from the appliance's reply to internal_inspect."""
    if not isinstance(reply, list) or len(reply) > MAX_ROOTS:
        _bad("a list of at most %d roots" % MAX_ROOTS)
    out = {}
    for r in reply:
        if not isinstance(r, dict):
            _bad("a root that is not a record")
        rec = {}
        for name, (kind, default) in ROOT_FIELDS.items():
            value = r.get(name, default)
            if value is None:
                _bad("a root without %s" % name)
            if kind is int:
                rec[name] = _int(value, name)
            elif kind is str:
                rec[name] = _text(value, name) or "unknown"
        rec["root"] = _device(rec["root"], "root")
        mps = r.get("mountpoints")
        if not isinstance(mps, list) or len(mps) > MAX_MOUNTPOINTS:
            _bad("mountpoints")
        rec["mountpoints"] = []
        for mp in mps:
            if not isinstance(mp, list) or len(mp) != 2:
                _bad("a mountpoint that is not a pair")
            path = _text(mp[0], "mountpoint")
            if not path.startswith("/"):
                _bad("a relative mountpoint")
            rec["mountpoints"].append((path, _device(mp[1], "mountpoint device")))
        rec["filesystems"] = sorted({d for _, d in rec["mountpoints"]})
        _windows(r, rec)
        out[rec["root"]] = rec
    return out


def _guest_path(value, what):
    value = _text(value, what)
    if not value.startswith("/") or "\0" in value or "/../" in value + "/":
        _bad(what)
    return value


def _windows(r, rec):
    """The Windows fields of record R into REC (guest paths, a control set name, the
    group policy flag, drive letter -> partition), checked; absent for other systems."""
    for name in WINDOWS_FIELDS:
        value = r.get(name)
        if value is None:
            continue
        if rec["type"] != "windows":
            _bad("%s for a %s root" % (name, rec["type"]))
        if name == "windows_current_control_set":
            rec[name] = _text(value, name, 64)
        else:
            rec[name] = _guest_path(value, name)
    gp = r.get("windows_group_policy", False)
    if not isinstance(gp, bool):
        _bad("windows_group_policy")
    rec["windows_group_policy"] = gp
    drives = r.get("drive_mappings", [])
    if not isinstance(drives, list) or len(drives) > 26:
        _bad("drive_mappings")
    rec["drive_mappings"] = {}
    for d in drives:
        if not isinstance(d, list) or len(d) != 2 or not isinstance(d[0], str) or \
                len(d[0]) != 1 or not d[0].isascii() or not d[0].isalpha():
            _bad("a drive mapping that is not [letter, device]")
        rec["drive_mappings"][d[0].upper()] = _device(d[1], "drive mapping device")


def applications2(reply):
    """The appliance's list of applications, checked: [application2 dict]."""
    if not isinstance(reply, list) or len(reply) > MAX_APPLICATIONS:
        _bad("a list of at most %d applications" % MAX_APPLICATIONS)
    out = []
    for a in reply:
        if not isinstance(a, dict) or set(a) != set(APPLICATION2_FIELDS):
            _bad("an application record with other fields")
        app = {}
        for f in APPLICATION2_FIELDS:
            if f == "app2_epoch":
                app[f] = _int(a[f], f)
            else:
                app[f] = _text(a[f], f, MAX_DESCRIPTION if f == "app2_description"
                               else MAX_TEXT)
        out.append(app)
    return out


def applications(apps2):
    """The older application structs made from application2 ones."""
    return [{old: a[new] for old, new in APPLICATION_FIELDS.items()} for a in apps2]


def icon(reply):
    """The appliance's icon, checked: PNG bytes of bounded size, or b""."""
    if reply == b"":
        return b""
    if not isinstance(reply, bytes) or len(reply) > MAX_ICON_BYTES or not is_png(reply):
        _bad("an icon that is not PNG data of at most %d bytes" % MAX_ICON_BYTES)
    return reply
