"""Daemon actions: LVM2 physical volumes, volume groups and logical volumes (group lvm2)."""

from .table import (
    Action, String, Int, Int64, Bool, Device, Mountable, StringList, DeviceList,
    RBool, RString, RStringList, RStructList, RBufferOut,
)

_G = "lvm2"


def _lvm(name, args=(), ret=None, **kw):
    kw.setdefault("group", _G)
    return Action(name, args, ret, **kw)


ACTIONS = [
    # ---- physical volumes ----
    _lvm("pvcreate", [Device("device")],
         doc="Make DEVICE (usually a partition such as /dev/sda1) an LVM physical volume.  "
             "Old filesystem signatures on it are wiped; a PV that belongs to a volume group "
             "is refused."),
    _lvm("pvremove", [Device("device")],
         doc="Wipe the physical volume DEVICE so that LVM no longer recognises it.  pvremove(8) "
             "refuses PVs that still hold a volume group: remove the VG first."),
    _lvm("pvresize", [Device("device")],
         doc="Resize (grow or shrink) the physical volume DEVICE to match the size of the "
             "underlying device."),
    _lvm("pvresize_size", [Device("device"), Int64("size")],
         doc="Like pvresize, but with the new SIZE of the PV in bytes given explicitly."),
    _lvm("pvs", [], RStringList(),
         doc="The device names of every physical volume detected (like pvs(8)), sorted: "
             "/dev/sda2, ..."),
    _lvm("pvs_full", [], RStructList("lvm_pv"),
         doc="Every physical volume detected, as lvm_pv structs: pv_name, pv_uuid (32 "
             "characters, no dashes), pv_fmt, pv_size, dev_size, pv_free, pv_used (bytes), "
             "pv_attr, pv_pe_count, pv_pe_alloc_count, pv_tags, pe_start, pv_mda_count, "
             "pv_mda_free."),
    _lvm("pvuuid", [Device("device")], RString(),
         doc="The UUID of the LVM physical volume DEVICE (as LVM prints it, with dashes)."),
    _lvm("pvchange_uuid", [Device("device")],
         doc="Give the physical volume DEVICE a new random UUID."),
    _lvm("pvchange_uuid_all", [],
         doc="Give every physical volume a new random UUID."),
    # ---- volume groups ----
    _lvm("vgcreate", [String("volgroup"), DeviceList("physvols")],
         doc="Create the volume group VOLGROUP from the non-empty list of physical volumes "
             "PHYSVOLS."),
    _lvm("vgremove", [String("vgname")],
         doc="Remove the volume group VGNAME (for example VG), and forcibly every logical "
             "volume in it."),
    _lvm("vgs", [], RStringList(),
         doc="The names of every volume group detected (like vgs(8)), sorted."),
    _lvm("vgs_full", [], RStructList("lvm_vg"),
         doc="Every volume group detected, as lvm_vg structs: vg_name, vg_uuid (32 "
             "characters, no dashes), vg_fmt, vg_attr, vg_size, vg_free, vg_sysid, "
             "vg_extent_size, vg_extent_count, vg_free_count, max_lv, max_pv, pv_count, "
             "lv_count, snap_count, vg_seqno, vg_tags, vg_mda_count, vg_mda_free."),
    _lvm("vguuid", [String("vgname")], RString(),
         doc="The UUID of the volume group VGNAME (as LVM prints it, with dashes)."),
    _lvm("vg_activate", [Bool("activate"), StringList("volgroups")],
         doc="Activate (or, if ACTIVATE is false, deactivate) every logical volume in the "
             "volume groups VOLGROUPS, as vgchange -a y|n does.  An empty list means every "
             "volume group."),
    _lvm("vg_activate_all", [Bool("activate")],
         doc="Activate (or, if ACTIVATE is false, deactivate) every logical volume of every "
             "volume group, as vgchange -a y|n does."),
    _lvm("vgchange_uuid", [String("vg")],
         doc="Give the volume group VG a new random UUID."),
    _lvm("vgchange_uuid_all", [],
         doc="Give every volume group a new random UUID."),
    _lvm("vgrename", [String("volgroup"), String("newvolgroup")],
         doc="Rename the volume group VOLGROUP to NEWVOLGROUP; the /dev/NEWVOLGROUP/LV names "
             "of its active logical volumes follow."),
    _lvm("vgscan", [], deprecated_by="lvm_scan",
         doc="Rescan every block device for physical volumes, volume groups and logical "
             "volumes.  Deprecated: use lvm_scan."),
    _lvm("vglvuuids", [String("vgname")], RStringList(),
         doc="The UUIDs of every logical volume of the volume group VGNAME (see lvuuid)."),
    _lvm("vgpvuuids", [String("vgname")], RStringList(),
         doc="The UUIDs of every physical volume the volume group VGNAME lives on (see "
             "pvuuid)."),
    _lvm("vgmeta", [String("vgname")], RBufferOut(),
         doc="The LVM metadata of the volume group VGNAME, as vgcfgbackup writes it.  The "
             "format is internal to LVM and may change; for information only."),
    # ---- logical volumes ----
    _lvm("lvcreate", [String("logvol"), String("volgroup"), Int("mbytes")],
         doc="Create the logical volume LOGVOL of MBYTES megabytes in the volume group "
             "VOLGROUP; it appears as /dev/VOLGROUP/LOGVOL."),
    _lvm("lvcreate_free", [String("logvol"), String("volgroup"), Int("percent")],
         doc="Create the logical volume /dev/VOLGROUP/LOGVOL using about PERCENT % (0 to 100) "
             "of the free space left in the volume group: 100 makes the largest LV "
             "possible."),
    _lvm("lvremove", [Device("device")],
         doc="Remove the logical volume DEVICE (/dev/VG/LV), or every logical volume of a "
             "volume group when DEVICE is /dev/VG."),
    _lvm("lvrename", [String("logvol"), String("newlogvol")],
         doc="Rename the logical volume LOGVOL (/dev/VG/LV) to NEWLOGVOL (/dev/VG/NEW, or "
             "just NEW)."),
    _lvm("lvresize", [Device("device"), Int("mbytes")],
         doc="Resize (grow or shrink) the logical volume DEVICE to MBYTES megabytes.  When "
             "shrinking, the data in the removed part is lost."),
    _lvm("lvresize_free", [Device("lv"), Int("percent")],
         doc="Grow the logical volume LV by PERCENT % (0 to 100) of the free space left in "
             "its volume group: 100 uses all of it."),
    _lvm("lvs", [], RStringList(),
         doc="The device names (/dev/VG/LV) of every logical volume detected (like lvs(8)), "
             "sorted.  Internal volumes (thin pool layers, raid images) are not listed."),
    _lvm("lvs_full", [], RStructList("lvm_lv"),
         doc="Every logical volume detected, as lvm_lv structs: lv_name, lv_uuid (32 "
             "characters, no dashes), lv_attr, lv_major, lv_minor, lv_kernel_major, "
             "lv_kernel_minor, lv_size (bytes), seg_count, origin, snap_percent and "
             "copy_percent (-1 when not applicable), move_pv, lv_tags, mirror_log, modules."),
    _lvm("lvuuid", [Device("device")], RString(),
         doc="The UUID of the logical volume DEVICE (as LVM prints it, with dashes)."),
    # ---- the whole of LVM ----
    _lvm("lvm_remove_all", [],
         doc="Remove every logical volume, volume group and physical volume.  Dangerous: "
             "meant for tests."),
    _lvm("lvm_canonical_lv_name", [Device("lvname")], RString(),
         doc="The canonical name /dev/VG/LV of the logical volume LVNAME, which may also be "
             "spelled /dev/mapper/VG-LV or /dev/dm-N.  Fails with EINVAL if LVNAME is not "
             "a logical volume."),
    _lvm("lvm_scan", [Bool("activate")],
         doc="Rescan every block device for physical volumes, volume groups and logical "
             "volumes (useful after adding or opening a device, e.g. with luks_open).  If "
             "ACTIVATE is true, newly found logical volumes are activated, so their "
             "/dev/VG/LV devices appear."),
    _lvm("lvm_set_filter", [DeviceList("devices")],
         doc="Let LVM see only the block devices in DEVICES (whole disks, which include "
             "their partitions, or single partitions) and ignore every other device; useful "
             "when images hold duplicate PVs or VGs.  Deactivates every LV first, rescans, "
             "and reactivates what it still sees: it fails if a filesystem on an LV is "
             "mounted.  The filter lasts for this session."),
    _lvm("lvm_clear_filter", [],
         doc="Undo lvm_set_filter: LVM sees every block device again.  Deactivates, rescans "
             "and reactivates like lvm_set_filter."),
    _lvm("is_lv", [Mountable("mountable")], RBool(),
         doc="True if MOUNTABLE is a logical volume (any of its names: /dev/VG/LV, "
             "/dev/mapper/VG-LV, /dev/dm-N)."),
]
