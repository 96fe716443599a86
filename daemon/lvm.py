"""Handlers for the lvm2 actions (standard library only).

The appliance has no udev: its lvm.conf (appliance/builder.py) turns udev sync and udev rules
off, so LVM makes the /dev/mapper nodes and the /dev/VG/LV links itself.  Every LVM command
goes through :func:`lvm`, which points LVM at the session's configuration when
lvm_set_filter has made one.
"""

import json
import os
import re
import stat

from .util import DaemonError, device, fail, run

ETC_LVM_CONF = "/etc/lvm/lvm.conf"
FILTER_DIR = "/run/guestkit/lvm"

# a VG or LV name as LVM accepts it (it never starts with a hyphen)
_NAME_RE = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
_LV_PATH_RE = re.compile(r"^/dev/([^/]+)/([^/]+)$")


# ---- running LVM ----------------------------------------------------------------------------

def _state(ctx):
    server = getattr(ctx, "server", None)
    return server.state if server is not None else {}


def lvm(ctx, *args, check=True):
    """Run an lvm subcommand (with the session's filter, if any); returns stdout."""
    if not _state(ctx).get("lvm_activated"):
        autoactivate(ctx)
    sysdir = _state(ctx).get("lvm_system_dir")
    env = {"LVM_SYSTEM_DIR": sysdir} if sysdir else None
    out, _, _ = run(["lvm"] + list(args), env=env, check=check)
    return out


def _lines(out):
    """Non-empty, stripped lines of LVM output, without LVM's "unknown device" rows."""
    return [l.strip() for l in out.splitlines()
            if l.strip() and l.strip() != "unknown device"]


def _name(kind, name):
    if name.startswith("/dev/") and kind == "volume group":
        name = name[len("/dev/"):]
    if not _NAME_RE.match(name) or name in (".", ".."):
        fail("%s: invalid %s name" % (name, kind))
    return name


def _lv_path(name):
    """Check an LV argument: /dev/VG/LV (active or not), or another name of an active LV
    (/dev/mapper/VG-LV, /dev/dm-N) which is turned into /dev/VG/LV."""
    m = _LV_PATH_RE.match(name)
    if m and m.group(1) != "mapper":
        _name("volume group", m.group(1))
        _name("logical volume", m.group(2))
        return name
    canon = canonical_lv_name(device(name))
    if canon is None:
        fail("%s: not a logical volume" % name)
    return canon


def _pv_name(name):
    # LVM may report a PV through one of the aliases it scanned (/dev/disk/...)
    if name.startswith("/dev/disk/"):
        return os.path.realpath(name)
    return name


# ---- active logical volumes, from sysfs (no LVM command needed) ------------------------------

def _split_dm_name(name):
    """VG-LV device-mapper name -> (VG, LV); LVM doubles the hyphens inside each part."""
    i = 0
    while i < len(name):
        if name[i] == "-":
            if name[i + 1:i + 2] == "-":
                i += 2
                continue
            return name[:i].replace("--", "-"), name[i + 1:].replace("--", "-")
        i += 1
    return None


def active_lvs():
    """[(/dev/VG/LV, st_rdev)] of every active, visible logical volume, sorted by name.

    A dm device belongs to LVM when its dm uuid is LVM-<vg uuid><lv uuid>; layers below an LV
    (snapshot -real/-cow, thin -tpool, ...) carry a suffix after that, and hidden LVs (raid
    images, thin data) have no /dev/VG/LV link."""
    out = []
    try:
        names = os.listdir("/sys/block")
    except FileNotFoundError:
        return out
    for n in names:
        if not n.startswith("dm-"):
            continue
        try:
            with open("/sys/block/%s/dm/uuid" % n) as f:
                uuid = f.read().strip()
            with open("/sys/block/%s/dm/name" % n) as f:
                dmname = f.read().strip()
            with open("/sys/block/%s/dev" % n) as f:
                major, minor = (int(x) for x in f.read().split(":"))
        except (OSError, ValueError):
            continue
        if not uuid.startswith("LVM-") or len(uuid) != 4 + 64:
            continue
        parts = _split_dm_name(dmname)
        if parts is None:
            continue
        path = "/dev/%s/%s" % parts
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISBLK(st.st_mode) and st.st_rdev == os.makedev(major, minor):
            out.append((path, st.st_rdev))
    return sorted(out)


def canonical_lv_name(dev):
    """/dev/VG/LV for any name of an active logical volume, else None."""
    st = os.stat(dev)
    if not stat.S_ISBLK(st.st_mode):
        return None
    for path, rdev in active_lvs():
        if rdev == st.st_rdev:
            return path
    return None


# ---- activation of what the disks already hold ---------------------------------------------

def _block_devices():
    """sd* disks and their partitions, and md devices (names in /dev)."""
    from .devices import disk_names, partitions_of
    devs = []
    for disk in disk_names():
        devs.append("/dev/" + disk)
        devs += ["/dev/" + p for p in partitions_of(disk)]
    try:
        devs += ["/dev/" + n for n in os.listdir("/sys/block") if n.startswith("md")]
    except FileNotFoundError:
        pass
    return devs


def _has_lvm_label(dev):
    """LVM2 writes LABELONE ... LVM2 001 into one of the first four sectors."""
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        head = os.pread(fd, 2048, 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    for off in range(0, len(head) - 31, 512):
        if head[off:off + 8] == b"LABELONE" and head[off + 24:off + 32] == b"LVM2 001":
            return True
    return False


def autoactivate(ctx):
    """Once per session, before the first LVM command or listing, activate the LVs the disks
    already hold (as libguestfs does at launch); cheap when no disk carries an LVM label.
    Explicit activation actions count as done, so LVs the user deactivated stay so."""
    st = _state(ctx)
    if st.get("lvm_activated"):
        return
    st["lvm_activated"] = True
    from .md import autoassemble
    autoassemble(ctx)                       # PVs may live on md arrays
    if any(_has_lvm_label(d) for d in _block_devices()):
        lvm(ctx, "vgchange", "-aay", "--sysinit", check=False)


def lvs_for_listing(ctx):
    """The /dev/VG/LV names list_filesystems shows: every active, visible LV."""
    autoactivate(ctx)
    return [p for p, _ in active_lvs()]


# ---- physical volumes ------------------------------------------------------------------------

def do_pvcreate(ctx, dev):
    lvm(ctx, "pvcreate", "--force", "--yes", device(dev))


def do_pvremove(ctx, dev):
    # no -ff: a PV that still belongs to a VG is refused
    lvm(ctx, "pvremove", "--force", "--yes", device(dev))


def do_pvresize(ctx, dev):
    lvm(ctx, "pvresize", "--yes", device(dev))


def do_pvresize_size(ctx, dev, size):
    if size < 0:
        fail("pvresize_size: size cannot be negative")
    lvm(ctx, "pvresize", "--yes", "--setphysicalvolumesize", "%db" % size, device(dev))


def do_pvs(ctx):
    out = lvm(ctx, "pvs", "-o", "pv_name", "--noheadings")
    return sorted(_pv_name(l) for l in _lines(out))


def do_pvuuid(ctx, dev):
    out = lvm(ctx, "pvs", "--noheadings", "-o", "pv_uuid", device(dev))
    return out.strip()


def do_pvchange_uuid(ctx, dev):
    lvm(ctx, "pvchange", "--uuid", device(dev))


def do_pvchange_uuid_all(ctx):
    lvm(ctx, "pvchange", "--uuid", "--all")


# ---- volume groups ---------------------------------------------------------------------------

def do_vgcreate(ctx, volgroup, physvols):
    if not physvols:
        fail("vgcreate: the list of physical volumes is empty")
    lvm(ctx, "vgcreate", _name("volume group", volgroup), *[device(p) for p in physvols])


def do_vgremove(ctx, vgname):
    lvm(ctx, "vgremove", "--force", "--yes", _name("volume group", vgname))


def do_vgs(ctx):
    return sorted(_lines(lvm(ctx, "vgs", "-o", "vg_name", "--noheadings")))


def do_vguuid(ctx, vgname):
    out = lvm(ctx, "vgs", "--noheadings", "-o", "vg_uuid", _name("volume group", vgname))
    return out.strip()


def do_vg_activate(ctx, activate, volgroups):
    _state(ctx)["lvm_activated"] = True
    vgs = [_name("volume group", v) for v in volgroups]
    lvm(ctx, "vgchange", "-a", "y" if activate else "n", *vgs)


def do_vg_activate_all(ctx, activate):
    do_vg_activate(ctx, activate, [])


def do_vgchange_uuid(ctx, vg):
    lvm(ctx, "vgchange", "--uuid", _name("volume group", vg))


def do_vgchange_uuid_all(ctx):
    lvm(ctx, "vgchange", "--uuid")


def do_vgrename(ctx, volgroup, newvolgroup):
    lvm(ctx, "vgrename", _name("volume group", volgroup), _name("volume group", newvolgroup))


def do_vgscan(ctx):
    lvm(ctx, "vgscan")


def do_vglvuuids(ctx, vgname):
    out = lvm(ctx, "vgs", "--noheadings", "-o", "lv_uuid", _name("volume group", vgname))
    return _lines(out)


def do_vgpvuuids(ctx, vgname):
    out = lvm(ctx, "vgs", "--noheadings", "-o", "pv_uuid", _name("volume group", vgname))
    return _lines(out)


def do_vgmeta(ctx, vgname):
    import tempfile
    vg = _name("volume group", vgname)
    fd, tmp = tempfile.mkstemp(prefix="vgmeta", dir="/tmp")
    os.close(fd)
    try:
        lvm(ctx, "vgcfgbackup", "-f", tmp, vg)
        with open(tmp, "rb") as f:
            return f.read()
    finally:
        os.unlink(tmp)


# ---- logical volumes -------------------------------------------------------------------------

def do_lvcreate(ctx, logvol, volgroup, mbytes):
    if mbytes <= 0:
        fail("lvcreate: size must be positive (was %d MB)" % mbytes)
    lvm(ctx, "lvcreate", "--yes", "-L", "%dm" % mbytes, "-n", _name("logical volume", logvol),
        _name("volume group", volgroup))


def _percent(p):
    if not 0 <= p <= 100:
        fail("percentage must be [0..100] (was %d)" % p)
    return p


def do_lvcreate_free(ctx, logvol, volgroup, percent):
    lvm(ctx, "lvcreate", "--yes", "-l", "%d%%FREE" % _percent(percent),
        "-n", _name("logical volume", logvol), _name("volume group", volgroup))


def do_lvremove(ctx, dev):
    # /dev/VG removes every LV of the volume group
    if re.match(r"^/dev/[^/]+$", dev) and not _is_blockdev(dev):
        target = _name("volume group", dev)
    else:
        target = _lv_path(dev)
    lvm(ctx, "lvremove", "--force", "--yes", target)


def _is_blockdev(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def do_lvrename(ctx, logvol, newlogvol):
    old = _lv_path(logvol)
    if not newlogvol.startswith("/"):
        new = _name("logical volume", newlogvol)
    elif _LV_PATH_RE.match(newlogvol):
        new = _lv_path(newlogvol)
    else:
        fail("%s: not a logical volume name (/dev/VG/LV)" % newlogvol)
    lvm(ctx, "lvrename", old, new)


def do_lvresize(ctx, dev, mbytes):
    if mbytes <= 0:
        fail("lvresize: size must be positive (was %d MB)" % mbytes)
    lvm(ctx, "lvresize", "--force", "-L", "%dm" % mbytes, _lv_path(dev))


def do_lvresize_free(ctx, lv, percent):
    lvm(ctx, "lvresize", "-l", "+%d%%FREE" % _percent(percent), _lv_path(lv))


def do_lvs(ctx):
    out = lvm(ctx, "lvs", "-o", "vg_name,lv_name",
              "-S", "lv_role=public && lv_skip_activation!=yes",
              "--noheadings", "--separator", "/")
    return sorted("/dev/" + l for l in _lines(out))


def do_lvuuid(ctx, dev):
    out = lvm(ctx, "lvs", "--noheadings", "-o", "lv_uuid", _lv_path(dev))
    return out.strip()


# ---- the *_full structs ----------------------------------------------------------------------

# field, kind: s string, u uuid without dashes, b bytes/unsigned (0 if empty),
# i signed (-1 if empty), f percentage (-1.0 if empty)
PV_FIELDS = [("pv_name", "s"), ("pv_uuid", "u"), ("pv_fmt", "s"), ("pv_size", "b"),
             ("dev_size", "b"), ("pv_free", "b"), ("pv_used", "b"), ("pv_attr", "s"),
             ("pv_pe_count", "i"), ("pv_pe_alloc_count", "i"), ("pv_tags", "s"),
             ("pe_start", "b"), ("pv_mda_count", "i"), ("pv_mda_free", "b")]
VG_FIELDS = [("vg_name", "s"), ("vg_uuid", "u"), ("vg_fmt", "s"), ("vg_attr", "s"),
             ("vg_size", "b"), ("vg_free", "b"), ("vg_sysid", "s"), ("vg_extent_size", "b"),
             ("vg_extent_count", "i"), ("vg_free_count", "i"), ("max_lv", "i"),
             ("max_pv", "i"), ("pv_count", "i"), ("lv_count", "i"), ("snap_count", "i"),
             ("vg_seqno", "i"), ("vg_tags", "s"), ("vg_mda_count", "i"), ("vg_mda_free", "b")]
LV_FIELDS = [("lv_name", "s"), ("lv_uuid", "u"), ("lv_attr", "s"), ("lv_major", "i"),
             ("lv_minor", "i"), ("lv_kernel_major", "i"), ("lv_kernel_minor", "i"),
             ("lv_size", "b"), ("seg_count", "i"), ("origin", "s"), ("snap_percent", "f"),
             ("copy_percent", "f"), ("move_pv", "s"), ("lv_tags", "s"), ("mirror_log", "s"),
             ("modules", "s")]


def _convert(value, kind, field):
    value = value.strip()
    try:
        if kind == "s":
            return value
        if kind == "u":
            return value.replace("-", "")
        if kind == "f":
            return float(value) if value else -1.0
        if not value:
            return 0 if kind == "b" else -1
        return int(value)
    except ValueError:
        raise DaemonError("lvm: cannot parse %s=%r" % (field, value), "EIO") from None


def _report(ctx, cmd, key, fields):
    out = lvm(ctx, cmd, "--reportformat", "json", "--units", "b", "--nosuffix",
              "--unbuffered", "-o", ",".join(f for f, _ in fields))
    start = out.find("{")
    try:
        doc, _ = json.JSONDecoder().raw_decode(out[start:]) if start >= 0 else ({}, 0)
        rows = [r for rep in doc.get("report", []) for r in rep.get(key, [])]
    except (ValueError, AttributeError, TypeError):
        raise DaemonError("lvm %s: cannot parse the report" % cmd, "EIO") from None
    result = []
    for row in rows:
        # LVM names some columns after their current field name (modules -> lv_modules):
        # the report keeps the order asked for
        values = list(row.values())
        if len(values) != len(fields):
            raise DaemonError("lvm %s: expected %d columns, got %d" % (
                cmd, len(fields), len(values)), "EIO")
        result.append({f: _convert(str(v), k, f) for (f, k), v in zip(fields, values)})
    return result


def do_pvs_full(ctx):
    rows = _report(ctx, "pvs", "pv", PV_FIELDS)
    for r in rows:
        r["pv_name"] = _pv_name(r["pv_name"])
    return rows


def do_vgs_full(ctx):
    return _report(ctx, "vgs", "vg", VG_FIELDS)


def do_lvs_full(ctx):
    return _report(ctx, "lvs", "lv", LV_FIELDS)


# ---- everything at once ----------------------------------------------------------------------

def do_lvm_remove_all(ctx):
    vgs = do_vgs(ctx)
    if vgs:
        lvm(ctx, "vgchange", "-an", *vgs)
        lvm(ctx, "vgremove", "--force", "--force", "--yes", *vgs)
    pvs = do_pvs(ctx)
    if pvs:
        lvm(ctx, "pvremove", "--force", "--force", "--yes", *pvs)


def do_lvm_canonical_lv_name(ctx, lvname):
    autoactivate(ctx)
    canon = canonical_lv_name(device(lvname))
    if canon is None:
        fail("%s: not a logical volume" % lvname)
    return canon


def do_is_lv(ctx, mountable):
    if mountable.startswith("btrfsvol:"):
        return False
    autoactivate(ctx)
    try:
        return canonical_lv_name(mountable) is not None
    except FileNotFoundError:
        raise DaemonError("%s: No such file or directory" % mountable, "ENOENT") from None


def do_lvm_scan(ctx, activate):
    if activate:
        _state(ctx)["lvm_activated"] = True
        lvm(ctx, "vgchange", "-a", "ay")
    else:
        lvm(ctx, "vgscan")


# ---- the session's device filter -------------------------------------------------------------

_FILTER_LINE = re.compile(r"^\s*(global_)?filter\s*=")
_DEVICES_SECTION = re.compile(r"^\s*devices\s*\{")


def _filter_rules(devices):
    rules = []
    for d in devices:
        dev = device(d)
        if not re.match(r"^/dev/[A-Za-z0-9/_.+:-]+$", dev):
            fail("%s: this device name cannot be used in an LVM filter" % d)
        rx = dev.replace(".", "\\.").replace("+", "\\+")
        rules.append('"a|^%s$|"' % rx)
        base = os.path.basename(os.path.realpath(dev))
        if not os.path.exists("/sys/class/block/%s/partition" % base):
            # a whole disk: its partitions too (sda1, md127p1)
            rules += ['"a|^%s[0-9]|"' % rx, '"a|^%sp[0-9]|"' % rx]
    rules.append('"r|.*|"')
    return "[ %s ]" % ", ".join(rules)


def _write_config(rules):
    try:
        with open(ETC_LVM_CONF) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    lines = [l for l in lines if not _FILTER_LINE.match(l)]
    line = "    filter = %s" % rules
    for i, l in enumerate(lines):
        if _DEVICES_SECTION.match(l):
            lines.insert(i + 1, line)
            break
    else:
        lines += ["devices {", line, "}"]
    os.makedirs(FILTER_DIR, mode=0o700, exist_ok=True)
    tmp = os.path.join(FILTER_DIR, "lvm.conf.new")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(FILTER_DIR, "lvm.conf"))


def _refilter(ctx, rules):
    st = _state(ctx)
    st["lvm_activated"] = True
    lvm(ctx, "vgchange", "-an")             # fails if an LV is in use: nothing is changed
    if rules is None:
        st.pop("lvm_system_dir", None)
    else:
        _write_config(rules)
        st["lvm_system_dir"] = FILTER_DIR
    lvm(ctx, "vgscan")
    lvm(ctx, "vgchange", "-ay")


def do_lvm_set_filter(ctx, devices):
    _refilter(ctx, _filter_rules(devices))


def do_lvm_clear_filter(ctx):
    _refilter(ctx, None)

