"""LVM2 and md RAID on a real appliance.

One handle for the module, with three 256 MiB scratch disks.  The LVM tests run in order
and build on each other (PVs -> VG -> LVs -> resize -> rename -> uuids -> filter -> removal);
the md tests start from the disks lvm_remove_all left behind.
"""

import pytest

import guestkit

MiB = 1 << 20
PV_FIELDS = {"pv_name", "pv_uuid", "pv_fmt", "pv_size", "dev_size", "pv_free", "pv_used",
             "pv_attr", "pv_pe_count", "pv_pe_alloc_count", "pv_tags", "pe_start",
             "pv_mda_count", "pv_mda_free"}
VG_FIELDS = {"vg_name", "vg_uuid", "vg_fmt", "vg_attr", "vg_size", "vg_free", "vg_sysid",
             "vg_extent_size", "vg_extent_count", "vg_free_count", "max_lv", "max_pv",
             "pv_count", "lv_count", "snap_count", "vg_seqno", "vg_tags", "vg_mda_count",
             "vg_mda_free"}
LV_FIELDS = {"lv_name", "lv_uuid", "lv_attr", "lv_major", "lv_minor", "lv_kernel_major",
             "lv_kernel_minor", "lv_size", "seg_count", "origin", "snap_percent",
             "copy_percent", "move_pv", "lv_tags", "mirror_log", "modules"}


def err(errno_name, fn, *args, **kwargs):
    with pytest.raises(guestkit.Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.errno_name == errno_name, (ei.value, ei.value.errno_name)
    return ei.value


@pytest.fixture(scope="module")
def g():
    h = guestkit.GuestFS(python_return_dict=True)
    for _ in range(3):
        h.add_drive_scratch(256 * MiB)
    h.launch()
    if not h.feature_available(["lvm2", "mdadm"]):
        pytest.fail("the appliance lacks lvm2 or mdadm: the README's set-up command installs "
                    "them", pytrace=False)
    yield h
    h.close()


def by(rows, key):
    return {r[key]: r for r in rows}


# ---- LVM2 --------------------------------------------------------------------------------------

def test_create_pvs_vg_lvs(g):
    assert g.pvs() == [] and g.vgs() == [] and g.lvs() == []
    g.pvcreate("/dev/sda")
    g.pvcreate("/dev/vdb")                      # libguestfs spelling of /dev/sdb
    assert g.pvs() == ["/dev/sda", "/dev/sdb"]
    g.vgcreate("VG", ["/dev/sda", "/dev/sdb"])
    assert g.vgs() == ["VG"]
    g.lvcreate("LV1", "VG", 64)
    g.lvcreate_free("LV2", "VG", 50)
    assert g.lvs() == ["/dev/VG/LV1", "/dev/VG/LV2"]
    assert g.blockdev_getsize64("/dev/VG/LV1") == 64 * MiB
    err("EINVAL", g.lvcreate_free, "LV3", "VG", 101)
    with pytest.raises(guestkit.Error):
        g.lvcreate("LV1", "VG", 8)              # exists already
    with pytest.raises(guestkit.Error):
        g.vgcreate("VG", ["/dev/sdc"])          # exists already
    with pytest.raises(guestkit.Error):
        g.lvcreate("big", "VG", 4096)           # more than the VG holds
    err("EINVAL", g.lvcreate, "--help", "VG", 8)
    assert g.lvs() == ["/dev/VG/LV1", "/dev/VG/LV2"]


def test_filesystem_on_lv(g):
    g.mkfs("ext4", "/dev/VG/LV1", label="onlv")
    g.mount("/dev/VG/LV1", "/")
    try:
        g.write("/hello", b"data on a logical volume")
        assert g.cat("/hello") == "data on a logical volume"
    finally:
        g.umount_all()
    fs = g.list_filesystems()
    assert fs["/dev/VG/LV1"] == "ext4"
    assert fs["/dev/VG/LV2"] == "unknown"
    assert fs["/dev/sdc"] == "unknown"
    assert "/dev/sda" not in fs and "/dev/sdb" not in fs        # PVs are not filesystems
    assert g.vfs_label("/dev/VG/LV1") == "onlv"


def test_full_structs_and_uuids(g):
    pvs = by(g.pvs_full(), "pv_name")
    assert set(pvs) == {"/dev/sda", "/dev/sdb"}
    for name, pv in pvs.items():
        assert set(pv) == PV_FIELDS
        assert pv["pv_fmt"] == "lvm2"
        assert pv["dev_size"] == 256 * MiB
        assert 0 < pv["pv_size"] <= pv["dev_size"]
        assert pv["pv_free"] + pv["pv_used"] == pv["pv_size"]
        assert pv["pe_start"] > 0 and pv["pv_mda_count"] == 1
        assert pv["pv_attr"].startswith("a")
        uuid = g.pvuuid(name)
        assert len(uuid) == 38 and uuid.count("-") == 6
        assert pv["pv_uuid"] == uuid.replace("-", "") and len(pv["pv_uuid"]) == 32
    assert sorted(g.vgpvuuids("VG")) == sorted(g.pvuuid(p) for p in pvs)

    [vg] = g.vgs_full()
    assert set(vg) == VG_FIELDS
    assert vg["vg_name"] == "VG" and vg["vg_fmt"] == "lvm2"
    assert vg["pv_count"] == 2 and vg["lv_count"] == 2 and vg["snap_count"] == 0
    assert vg["vg_extent_size"] == 4 * MiB
    assert vg["vg_size"] == vg["vg_extent_size"] * vg["vg_extent_count"]
    assert vg["vg_free"] == vg["vg_extent_size"] * vg["vg_free_count"]
    assert vg["vg_size"] == sum(p["pv_size"] for p in pvs.values())
    assert vg["vg_uuid"] == g.vguuid("VG").replace("-", "")

    lvs = by(g.lvs_full(), "lv_name")
    assert set(lvs) == {"LV1", "LV2"}
    lv1 = lvs["LV1"]
    assert set(lv1) == LV_FIELDS
    assert lv1["lv_size"] == 64 * MiB
    assert lv1["lv_attr"][4] == "a"                     # active
    assert lv1["snap_percent"] == -1 and lv1["copy_percent"] == -1
    assert lv1["lv_kernel_major"] > 0 and lv1["seg_count"] == 1 and lv1["origin"] == ""
    # LV2 got half of the free space left after LV1
    assert abs(lvs["LV2"]["lv_size"] - (vg["vg_size"] - 64 * MiB) // 2) <= 4 * MiB
    uuids = {n: g.lvuuid("/dev/VG/" + n) for n in lvs}
    for n, u in uuids.items():
        assert lvs[n]["lv_uuid"] == u.replace("-", "")
    assert sorted(g.vglvuuids("VG")) == sorted(uuids.values())
    assert len(set(uuids.values())) == 2
    err("ENOENT", g.vguuid, "NOSUCHVG")


def test_resize(g):
    g.lvresize("/dev/VG/LV1", 128)
    assert g.blockdev_getsize64("/dev/VG/LV1") == 128 * MiB
    assert by(g.lvs_full(), "lv_name")["LV1"]["lv_size"] == 128 * MiB
    g.mount_ro("/dev/VG/LV1", "/")
    try:
        assert g.cat("/hello") == "data on a logical volume"     # growing kept the data
    finally:
        g.umount_all()
    g.lvresize_free("/dev/VG/LV2", 100)
    [vg] = g.vgs_full()
    assert vg["vg_free"] == 0 and vg["vg_free_count"] == 0
    err("EINVAL", g.lvresize_free, "/dev/VG/LV2", -1)
    # a PV of its own on the third disk: shrink it, then grow it back to the disk's size
    g.pvcreate("/dev/sdc")
    full = by(g.pvs_full(), "pv_name")["/dev/sdc"]["pv_size"]
    g.pvresize_size("/dev/sdc", 128 * MiB)
    assert by(g.pvs_full(), "pv_name")["/dev/sdc"]["pv_size"] <= 128 * MiB
    g.pvresize("/dev/sdc")
    assert by(g.pvs_full(), "pv_name")["/dev/sdc"]["pv_size"] == full
    g.pvremove("/dev/sdc")
    assert g.pvs() == ["/dev/sda", "/dev/sdb"]
    with pytest.raises(guestkit.Error) as e:
        g.pvremove("/dev/sda")                  # still holds VG: refused
    assert "VG" in str(e.value)
    assert g.pvs() == ["/dev/sda", "/dev/sdb"]


def test_rename(g):
    uuid = g.lvuuid("/dev/VG/LV2")
    g.lvrename("/dev/VG/LV2", "/dev/VG/LVX")
    g.lvrename("/dev/VG/LVX", "LVY")                    # a plain new name works too
    assert g.lvs() == ["/dev/VG/LV1", "/dev/VG/LVY"]
    assert g.lvuuid("/dev/VG/LVY") == uuid
    g.vgrename("VG", "VG2")
    assert g.vgs() == ["VG2"]
    assert g.lvs() == ["/dev/VG2/LV1", "/dev/VG2/LVY"]
    fs = g.list_filesystems()
    assert fs["/dev/VG2/LV1"] == "ext4" and "/dev/VG2/LVY" in fs
    assert not any(d.startswith("/dev/VG/") for d in fs)
    g.mount_ro("/dev/VG2/LV1", "/")
    try:
        assert g.cat("/hello") == "data on a logical volume"
    finally:
        g.umount_all()
    with pytest.raises(guestkit.Error):
        g.lvrename("/dev/VG2/nosuch", "other")


def test_canonical_names(g):
    assert g.lvm_canonical_lv_name("/dev/mapper/VG2-LV1") == "/dev/VG2/LV1"
    assert g.lvm_canonical_lv_name("/dev/VG2/LVY") == "/dev/VG2/LVY"
    assert g.is_lv("/dev/VG2/LV1") == 1
    assert g.is_lv("/dev/mapper/VG2-LVY") == 1
    assert g.is_lv("/dev/sda") == 0 and g.is_lv("/dev/sdc") == 0
    err("EINVAL", g.lvm_canonical_lv_name, "/dev/sda")
    err("ENOENT", g.is_lv, "/dev/VG2/nosuch")


def test_activation_and_uuid_change(g):
    old = g.vguuid("VG2")
    g.vg_activate(False, ["VG2"])
    fs = g.list_filesystems()
    assert not any(d.startswith("/dev/VG2/") for d in fs)
    assert g.lvs() == ["/dev/VG2/LV1", "/dev/VG2/LVY"]      # still there, just inactive
    assert by(g.lvs_full(), "lv_name")["LV1"]["lv_attr"][4] == "-"
    g.vgchange_uuid("VG2")
    assert g.vguuid("VG2") != old
    old_pvs = sorted(g.vgpvuuids("VG2"))
    g.pvchange_uuid("/dev/sda")
    assert sorted(g.vgpvuuids("VG2")) != old_pvs
    g.vg_activate_all(True)
    assert g.list_filesystems()["/dev/VG2/LV1"] == "ext4"
    assert g.is_lv("/dev/VG2/LV1") == 1


def test_vgmeta(g):
    meta = g.vgmeta("VG2")
    assert isinstance(meta, bytes)
    assert b"VG2 {" in meta and b"LV1 {" in meta and b"LVY {" in meta
    assert g.vguuid("VG2").encode() in meta
    with pytest.raises(guestkit.Error):
        g.vgmeta("NOSUCHVG")


def test_filter(g):
    g.mount_ro("/dev/VG2/LV1", "/")
    try:
        with pytest.raises(guestkit.Error):
            g.lvm_set_filter(["/dev/sdc"])      # an LV is in use
    finally:
        g.umount_all()
    g.lvm_set_filter(["/dev/sdc"])
    try:
        assert g.pvs() == [] and g.vgs() == [] and g.lvs() == []
        assert not any(d.startswith("/dev/VG2/") for d in g.list_filesystems())
    finally:
        g.lvm_clear_filter()
    assert g.lvs() == ["/dev/VG2/LV1", "/dev/VG2/LVY"]
    g.lvm_set_filter(["/dev/sda", "/dev/sdb"])
    assert g.pvs() == ["/dev/sda", "/dev/sdb"]
    assert g.list_filesystems()["/dev/VG2/LV1"] == "ext4"     # reactivated
    g.lvm_clear_filter()


def test_lvremove_scan_and_remove_all(g):
    g.lvremove("/dev/VG2/LVY")
    assert g.lvs() == ["/dev/VG2/LV1"]
    g.lvcreate("LVZ", "VG2", 8)
    g.lvremove("/dev/VG2")                      # every LV of the VG
    assert g.lvs() == [] and g.vgs() == ["VG2"]
    g.vgscan()
    g.lvm_scan(True)
    g.lvcreate("LVA", "VG2", 8)
    assert g.list_filesystems()["/dev/VG2/LVA"] == "unknown"
    g.lvm_remove_all()
    assert g.pvs() == [] and g.vgs() == [] and g.lvs() == []
    fs = g.list_filesystems()
    assert fs == {"/dev/sda": "unknown", "/dev/sdb": "unknown", "/dev/sdc": "unknown"}
    g.vgcreate("VG3", ["/dev/sdc"])             # vgcreate makes PVs itself
    g.vgremove("VG3")
    assert g.vgs() == []
    g.pvremove("/dev/sdc")
    assert g.pvs() == []


# ---- md RAID ---------------------------------------------------------------------------------

def test_md_raid1(g):
    assert g.list_md_devices() == []
    g.md_create("r1", ["/dev/sda", "/dev/sdb"])
    [md] = g.list_md_devices()
    assert md.startswith("/dev/md")
    detail = g.md_detail(md)
    assert detail["level"] == "raid1"
    assert detail["devices"] == "2"
    assert detail["metadata"] == "1.2"
    assert detail["name"].endswith(":r1")
    assert len(detail["uuid"].split(":")) == 4
    assert g.md_detail("/dev/md/r1")["uuid"] == detail["uuid"]
    stat = g.md_stat(md)
    assert sorted((s["mdstat_device"], s["mdstat_index"]) for s in stat) == [
        ("/dev/sda", 0), ("/dev/sdb", 1)]
    assert all(s["mdstat_flags"] == "" for s in stat)
    size = g.blockdev_getsize64(md)
    assert 250 * MiB < size < 256 * MiB
    g.mkfs("ext4", md)
    g.mount(md, "/")
    try:
        g.write("/mirrored", b"on both disks")
        assert g.cat("/mirrored") == "on both disks"
    finally:
        g.umount_all()
    fs = g.list_filesystems()
    assert fs[md] == "ext4"
    assert "/dev/sda" not in fs and "/dev/sdb" not in fs      # members are not filesystems
    assert g.vfs_type("/dev/sda") == "linux_raid_member"
    g.md_stop(md)
    assert g.list_md_devices() == []
    err("ENOENT", g.md_stat, md)
    with pytest.raises(guestkit.Error):
        g.md_detail(md)


def test_md_missing_and_errors(g):
    # a degraded mirror: [<missing>, /dev/sdc]
    g.md_create("deg", ["/dev/sdc"], missingbitmap=1, nrdevices=2, level="mirror")
    [md] = g.list_md_devices()
    [member] = g.md_stat(md)
    assert (member["mdstat_device"], member["mdstat_index"]) == ("/dev/sdc", 1)
    assert g.md_detail(md)["devices"] == "2"
    g.md_stop(md)
    assert g.list_md_devices() == []
    err("EINVAL", g.md_create, "bad", ["/dev/sda", "/dev/sdb"], nrdevices=3)
    err("EINVAL", g.md_create, "bad", ["/dev/sda", "/dev/sdb"], level="raid99")
    err("EINVAL", g.md_create, "bad", ["/dev/sda", "/dev/sdb"], level="raid0", chunk=1000)
    err("EINVAL", g.md_create, "bad", ["/dev/sda"], nrdevices=1)
    assert g.list_md_devices() == []


# ---- what the disks already hold is found after a new launch --------------------------------

def test_existing_md_and_lvm_found_at_launch(tmp_path):
    import subprocess
    imgs = []
    for i in range(2):
        p = str(tmp_path / ("d%d.img" % i))
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", p, "32M"], check=True)
        imgs.append(p)

    def launch():
        h = guestkit.GuestFS(python_return_dict=True)
        for p in imgs:
            h.add_drive_opts(p, format="raw")
        h.launch()
        return h

    h = launch()
    try:
        h.md_create("boot", ["/dev/sda", "/dev/sdb"])
        [md] = h.list_md_devices()
        h.vgcreate("VGM", [md])                 # LVM on top of the RAID
        h.lvcreate_free("data", "VGM", 100)
        h.mkfs("ext2", "/dev/VGM/data")
        h.mount("/dev/VGM/data", "/")
        h.write("/f", b"survives")
        h.umount_all()
    finally:
        h.close()
    h = launch()
    try:
        assert h.list_filesystems() == {"/dev/VGM/data": "ext2"}
        assert len(h.list_md_devices()) == 1
        assert h.lvs() == ["/dev/VGM/data"]
        h.mount_ro("/dev/VGM/data", "/")
        assert h.cat("/f") == "survives"
    finally:
        h.close()


def test_lvs_on_disk_are_active_right_after_launch(tmp_path):
    """An LV made in one session can be mounted straight after the next launch (activated
    at launch), and mounts() names it /dev/VG/LV."""
    from tests.conftest import make_image
    img = make_image(tmp_path / "lv.img", 128)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.pvcreate("/dev/sda")
    g.vgcreate("vgboot", ["/dev/sda"])
    g.lvcreate("root", "vgboot", 32)
    g.mkfs("ext4", "/dev/vgboot/root")
    g.close()
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    try:
        g.mount("/dev/vgboot/root", "/")
        assert g.mounts() == ["/dev/vgboot/root"]
        assert g.mountpoints() == {"/dev/vgboot/root": "/"}
    finally:
        g.close()
