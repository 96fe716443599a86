"""Handlers for the ldm actions of guestkit/actions/ldm.py (standard library only).

ldmtool parses the on-disk LDM database (guest data) and prints JSON; what it prints is
checked for shape before anything is returned.  It is always given the disks to read (-d),
so it never goes looking for devices itself.
"""

import json
import os

from .devices import disk_names
from .util import DaemonError, device, fail, run

LIMIT = 16 << 20                # ldmtool's output is bounded: it describes guest data


def _state(ctx):
    server = getattr(ctx, "server", None)
    return server.state if server is not None else {}


def _disks():
    return ["/dev/" + n for n in disk_names()]


def _ldmtool(args, devices=None):
    """Run ldmtool on DEVICES (every disk if None) with ARGS; its JSON output, parsed."""
    argv = ["ldmtool"]
    for d in (_disks() if devices is None else devices):
        argv += ["-d", d]
    out, err, rc = run(argv + args, check=False, limit=LIMIT)
    if rc != 0:
        text = (err.strip() or out.strip() or "exit status %d" % rc)
        if text.startswith("No such"):
            raise DaemonError("ldmtool: %s" % text, "ENOENT")
        raise DaemonError("ldmtool: %s" % text, "EIO")
    try:
        return json.loads(out) if out.strip() else None
    except ValueError:
        raise DaemonError("ldmtool %s: unexpected output" % args[0], "EIO") from None


def _strings(value, what):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DaemonError("ldmtool: %s: unexpected output" % what, "EIO")
    return value


def _obj(value, what):
    if not isinstance(value, dict):
        raise DaemonError("ldmtool: %s: unexpected output" % what, "EIO")
    return value


def _name(arg, what):
    if not arg or "\n" in arg or arg.startswith("-"):
        fail("%r: invalid %s" % (arg, what))
    return arg


def do_ldmtool_scan(ctx):
    return _strings(_ldmtool(["scan"]) or [], "scan")


def do_ldmtool_scan_devices(ctx, devices):
    devs = [device(d) for d in devices] if devices else _disks()
    return _strings(_ldmtool(["scan"] + devs, devices=[]) or [], "scan")


def _diskgroup(dg):
    return _obj(_ldmtool(["show", "diskgroup", _name(dg, "disk group GUID")]), "diskgroup")


def do_ldmtool_diskgroup_name(ctx, diskgroup):
    name = _diskgroup(diskgroup).get("name", "")
    if not isinstance(name, str):
        raise DaemonError("ldmtool: diskgroup: unexpected output", "EIO")
    return name


def do_ldmtool_diskgroup_volumes(ctx, diskgroup):
    return _strings(_diskgroup(diskgroup).get("volumes", []), "diskgroup volumes")


def do_ldmtool_diskgroup_disks(ctx, diskgroup):
    return _strings(_diskgroup(diskgroup).get("disks", []), "diskgroup disks")


def _volume(dg, vol):
    return _obj(_ldmtool(["show", "volume", _name(dg, "disk group GUID"),
                          _name(vol, "volume name")]), "volume")


def _vol_string(dg, vol, key):
    v = _volume(dg, vol).get(key, "")
    if not isinstance(v, str):
        raise DaemonError("ldmtool: volume %s: unexpected output" % key, "EIO")
    return v


def do_ldmtool_volume_type(ctx, diskgroup, volume):
    return _vol_string(diskgroup, volume, "type")


def do_ldmtool_volume_hint(ctx, diskgroup, volume):
    return _vol_string(diskgroup, volume, "hint")


def do_ldmtool_volume_partitions(ctx, diskgroup, volume):
    return _strings(_volume(diskgroup, volume).get("partitions", []), "volume partitions")


def do_ldmtool_create_all(ctx):
    _state(ctx)["ldm_created"] = True
    _ldmtool(["create", "all"])


def do_ldmtool_remove_all(ctx):
    _state(ctx)["ldm_created"] = True       # what the user removed stays removed
    _ldmtool(["remove", "all"])


def _dm_names(prefix):
    out = []
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return out
    for n in names:
        if not n.startswith("dm-"):
            continue
        try:
            with open("/sys/block/%s/dm/name" % n) as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith(prefix):
            out.append("/dev/mapper/" + name)
    return sorted(out)


def _autocreate(ctx):
    st = _state(ctx)
    if not st.get("ldm_created"):
        st["ldm_created"] = True
        _ldmtool(["create", "all"])


def do_list_ldm_volumes(ctx):
    _autocreate(ctx)
    return _dm_names("ldm_vol_")


def do_list_ldm_partitions(ctx):
    _autocreate(ctx)
    return _dm_names("ldm_part_")
