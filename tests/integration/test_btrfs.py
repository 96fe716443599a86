"""The btrfs actions of guestkit/actions/btrfs.py on a real appliance.

One appliance for the module.  Drives (found by their distinct sizes):
  A    600M scratch  the main btrfs (mkfs_btrfs optargs, subvolumes, quotas, scrub, ...)
  B    601M scratch  devices added, replaced, deleted; a second filesystem
  C    602M scratch  replacement target; second device of a two-device filesystem
  E    160M scratch  offline tools (fsck, rescue, btrfstune): small, so that they read little
  F    200M file     the interop image: a snapshot made here, listed by libguestfs
Under TCG a full scrub of the ~400 MB written to A takes several seconds, long enough to
cancel it and resume it for real.
"""

import os
import subprocess
import textwrap
import time

import pytest

import guestkit
from tests.conftest import make_image

MiB = 1 << 20
SIZES = {"A": 600, "B": 601, "C": 602, "E": 160, "F": 200}
D = {}


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    d = tmp_path_factory.mktemp("btrfs")
    h = guestkit.GuestFS(python_return_dict=True)
    h.images = {"F": make_image(d / "interop.img", SIZES["F"])}
    for name, size in SIZES.items():
        if name in h.images:
            h.add_drive_opts(h.images[name], format="raw")
        else:
            h.add_drive_scratch(size * MiB)
    h.launch()
    by_size = {h.blockdev_getsize64(dev) // MiB: dev for dev in h.list_devices()}
    D.update({name: by_size[size] for name, size in SIZES.items()})
    if not h.feature_available(["btrfs"]):
        pytest.fail("feature btrfs is missing from the appliance: the README's set-up "
                    "installs btrfs-progs")
    yield h
    h.close()


def _err(excinfo):
    return excinfo.value.errno_name


def _fresh(g, dev=None, **kw):
    g.umount_all()
    g.mkfs_btrfs([dev or D["A"]], **kw)
    g.mount(dev or D["A"], "/")


# ---- mkfs_btrfs -----------------------------------------------------------------------------

def test_mkfs_btrfs_optargs(g):
    g.umount_all()
    g.mkfs_btrfs([D["A"]], label="gk-btrfs", nodesize=16384, sectorsize=4096,
                 datatype="single", metadata="dup", bytecount=400 * MiB)
    assert g.vfs_type(D["A"]) == "btrfs"
    assert g.vfs_label(D["A"]) == "gk-btrfs"
    assert g.btrfs_filesystem_show(D["A"]) == [D["A"]]
    g.mount(D["A"], "/")
    st = g.statvfs("/")
    # bytecount limits the filesystem to 400 MiB of the 600 MiB device
    assert 300 * MiB < st["blocks"] * st["bsize"] <= 400 * MiB
    g.umount_all()
    # leafsize is nodesize's old name
    g.mkfs_btrfs([D["A"]], leafsize=65536)
    assert g.vfs_label(D["A"]) == ""


def test_mkfs_btrfs_two_devices_and_errors(g):
    g.umount_all()
    g.mkfs_btrfs([D["B"], D["C"]], datatype="raid1", metadata="raid1")
    assert g.btrfs_filesystem_show(D["B"]) == [D["B"], D["C"]]
    assert g.btrfs_filesystem_show(D["C"]) == [D["B"], D["C"]]
    # a device of the filesystem gone: ENODEV
    g.wipefs(D["C"])
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_show(D["B"])
    assert _err(e) == "ENODEV"
    for bad in ({"datatype": "raid7"}, {"metadata": "bogus"},
                {"leafsize": 4096, "nodesize": 16384}, {"label": "x" * 256}):
        with pytest.raises(guestkit.Error) as e:
            g.mkfs_btrfs([D["B"]], **bad)
        assert _err(e) == "EINVAL", bad
    with pytest.raises(guestkit.Error) as e:
        g.mkfs_btrfs([])
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.mkfs_btrfs([D["B"], D["B"]])
    assert _err(e) == "EINVAL"
    # btrfs-progs 6 has no --alloc-start: refused, not ignored (0, its default, is fine)
    with pytest.raises(guestkit.Error) as e:
        g.mkfs_btrfs([D["B"]], allocstart=1 * MiB)
    assert _err(e) == "ENOTSUP"
    g.mkfs_btrfs([D["B"]], allocstart=0)
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_show(D["C"])               # wiped: no filesystem
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_show("/dev/sdz")
    assert _err(e) == "ENOENT"


# ---- subvolumes, snapshots ------------------------------------------------------------------

def test_snapshot_and_default(g):
    _fresh(g)
    g.btrfs_subvolume_create("/sv")
    g.write("/sv/file", b"original")
    g.btrfs_subvolume_snapshot("/sv", "/snap-rw")
    g.btrfs_subvolume_snapshot_opts("/sv", "/snap-ro", ro=True)
    g.write("/sv/file", b"changed")
    assert g.cat("/snap-rw/file") == "original"
    assert g.cat("/snap-ro/file") == "original"
    g.write("/snap-rw/file", b"writable")
    with pytest.raises(guestkit.Error) as e:
        g.write("/snap-ro/file", b"no")
    assert _err(e) == "EROFS"
    paths = {s["btrfssubvolume_path"]: s["btrfssubvolume_id"]
             for s in g.btrfs_subvolume_list("/")}
    assert set(paths) == {"sv", "snap-rw", "snap-ro"}
    assert "snap-ro" in g.btrfs_subvolume_show("/sv")["Snapshot(s)"]
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_subvolume_snapshot("/sv", "/snap-rw")
    assert _err(e) == "EEXIST"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_subvolume_snapshot("/nonexistent", "/snap2")
    assert _err(e) == "ENOENT"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_subvolume_snapshot("/sv", "/snap2", qgroupid="not/a/qgroup")
    assert _err(e) == "EINVAL"
    # the default subvolume, on a mount point and on a device
    assert g.btrfs_subvolume_get_default("/") == 5
    g.btrfs_subvolume_set_default(paths["snap-rw"], "/")
    assert g.btrfs_subvolume_get_default("/") == paths["snap-rw"]
    g.umount_all()
    assert g.btrfs_subvolume_get_default(D["A"]) == paths["snap-rw"]
    g.mount(D["A"], "/")
    assert g.cat("/file") == "writable"           # the default subvolume is what mounts
    g.umount_all()
    vol = "btrfsvol:%s/snap-ro" % D["A"]
    assert g.mountable_device(vol) == D["A"]
    assert g.mountable_subvolume(vol) == "snap-ro"
    assert g.mountable_device(D["A"]) == D["A"]
    with pytest.raises(guestkit.Error) as e:
        g.mountable_subvolume(D["A"])
    assert _err(e) == "EINVAL"


# ---- quotas ---------------------------------------------------------------------------------

def test_quota_and_qgroups(g):
    g.umount_all()
    g.mkfs_btrfs([D["A"]])
    g.btrfs_quota_enable(D["A"], True)            # on the device, unmounted
    g.mount(D["A"], "/")
    g.btrfs_subvolume_create("/sv")
    g.write("/sv/data", b"q" * 300000)
    g.sync()
    g.btrfs_quota_rescan("/")
    groups = {q["btrfsqgroup_id"]: q for q in g.btrfs_qgroup_show("/")}
    assert "0/5" in groups and "0/256" in groups
    assert groups["0/256"]["btrfsqgroup_rfer"] >= 300000
    assert groups["0/256"]["btrfsqgroup_excl"] >= 300000
    g.btrfs_qgroup_create("1/100", "/")
    g.btrfs_qgroup_assign("0/256", "1/100", "/")
    groups = {q["btrfsqgroup_id"]: q for q in g.btrfs_qgroup_show("/")}
    assert groups["1/100"]["btrfsqgroup_rfer"] == groups["0/256"]["btrfsqgroup_rfer"]
    g.btrfs_qgroup_remove("0/256", "1/100", "/")
    g.btrfs_qgroup_destroy("1/100", "/")
    assert "1/100" not in {q["btrfsqgroup_id"] for q in g.btrfs_qgroup_show("/")}
    # a limit is enforced: writing past it fails
    g.btrfs_qgroup_limit("/sv", 1 * MiB)
    with pytest.raises(guestkit.Error) as e:
        g.fill(0x51, 4 * MiB, "/sv/big")
        g.sync()
    assert _err(e) in ("EDQUOT", "EIO")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_qgroup_create("1/x", "/")
    assert _err(e) == "EINVAL"
    # a snapshot into a qgroup
    g.btrfs_qgroup_create("1/7", "/")
    g.btrfs_subvolume_snapshot("/sv", "/snapq", qgroupid="1/7")
    g.btrfs_quota_enable("/", False)
    with pytest.raises(guestkit.Error):
        g.btrfs_qgroup_show("/")
    g.umount_all()


# ---- devices, balance, replace --------------------------------------------------------------

def test_devices_balance_replace(g):
    _fresh(g)
    g.write("/data", b"d" * 200000)
    g.btrfs_device_add([], "/")                       # nothing to do
    g.btrfs_device_add([D["B"]], "/")
    assert g.btrfs_filesystem_show(D["A"]) == [D["A"], D["B"]]
    g.btrfs_filesystem_balance("/")
    st = g.btrfs_balance_status("/")
    assert st == {"btrfsbalance_status": "none", "btrfsbalance_total": 0,
                  "btrfsbalance_balanced": 0, "btrfsbalance_considered": 0,
                  "btrfsbalance_left": 0}
    for verb in ("pause", "resume", "cancel"):
        with pytest.raises(guestkit.Error) as e:
            getattr(g, "btrfs_balance_" + verb)("/")
        assert _err(e) == "ENOTCONN", verb
    g.btrfs_replace(D["B"], D["C"], "/")
    assert g.btrfs_filesystem_show(D["A"]) == [D["A"], D["C"]]
    assert g.vfs_type(D["B"]) == ""                   # the source is wiped
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_replace(D["C"], D["C"], "/")
    assert _err(e) == "EINVAL"
    g.btrfs_device_delete([D["C"]], "/")
    g.btrfs_device_delete([], "/")
    assert g.btrfs_filesystem_show(D["A"]) == [D["A"]]
    assert g.cat("/data") == "d" * 200000
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_device_add([D["B"]], "/data")          # not a directory
    assert _err(e) == "ENOTDIR"
    g.umount_all()


# ---- scrub ----------------------------------------------------------------------------------

def test_scrub(g):
    _fresh(g)
    st = g.btrfs_scrub_status("/")
    assert set(st) == {"btrfsscrub_" + f for f in (
        "data_extents_scrubbed", "tree_extents_scrubbed", "data_bytes_scrubbed",
        "tree_bytes_scrubbed", "read_errors", "csum_errors", "verify_errors", "no_csum",
        "csum_discards", "super_errors", "malloc_errors", "uncorrectable_errors",
        "unverified_errors", "corrected_errors", "last_physical")}
    assert st["btrfsscrub_data_bytes_scrubbed"] == 0
    # ~400 MB of extents to read: 300 MB preallocated (cheap to make), 100 MB written
    g.fallocate64("/prealloc", 300 * MiB)
    g.fill(0x41, 100 * MiB, "/filled")
    g.sync()
    g.btrfs_scrub_full("/")
    full = g.btrfs_scrub_status("/")
    assert full["btrfsscrub_data_bytes_scrubbed"] >= 400 * MiB
    assert full["btrfsscrub_csum_errors"] == 0
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_scrub_cancel("/")
    assert _err(e) == "ENOTCONN"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_scrub_resume("/")
    assert _err(e) == "ENOTCONN"
    # start returns while the scrub runs; cancel stops it part way; resume finishes it
    t0 = time.monotonic()
    g.btrfs_scrub_start("/")
    assert time.monotonic() - t0 < 3
    g.btrfs_scrub_cancel("/")
    part = g.btrfs_scrub_status("/")
    assert part["btrfsscrub_data_bytes_scrubbed"] < full["btrfsscrub_data_bytes_scrubbed"]
    g.btrfs_scrub_resume("/")
    deadline = time.monotonic() + 120
    while True:
        st = g.btrfs_scrub_status("/")
        if st["btrfsscrub_last_physical"] >= full["btrfsscrub_last_physical"] or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert st["btrfsscrub_last_physical"] >= full["btrfsscrub_last_physical"]
    assert st["btrfsscrub_data_bytes_scrubbed"] > part["btrfsscrub_data_bytes_scrubbed"]
    # a scrub while another runs: EBUSY
    g.btrfs_scrub_start("/")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_scrub_full("/")
    assert _err(e) == "EBUSY"
    g.btrfs_scrub_cancel("/")
    g.umount_all()
    g.mount_ro(D["A"], "/")
    g.btrfs_scrub_full("/", readonly=True)
    g.umount_all()


def test_scrub_full_finds_corruption(g, tmp_path):
    g.umount_all()
    g.mkfs_btrfs([D["E"]], datatype="single", metadata="single")
    g.mount(D["E"], "/")
    g.write("/victim", b"V" * 65536)
    g.umount_all()
    # overwrite the file's data on the device behind btrfs's back
    g.download(D["E"], str(tmp_path / "e.img"))
    off = (tmp_path / "e.img").read_bytes().find(b"V" * 4096)
    assert off > 0
    g.pwrite_device(D["E"], b"X" * 4096, off)
    g.mount(D["E"], "/")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_scrub_full("/")
    assert _err(e) == "EIO"
    assert g.btrfs_scrub_status("/")["btrfsscrub_csum_errors"] >= 1
    g.umount_all()


# ---- files ----------------------------------------------------------------------------------

def test_defragment(g):
    _fresh(g)
    g.mkdir("/dir")
    g.write("/dir/a", b"a" * 100000)
    g.write("/b", b"b" * 100000)
    g.btrfs_filesystem_defragment("/dir", flush=True, compress="zlib")
    g.btrfs_filesystem_defragment("/b", compress="zstd")
    g.btrfs_filesystem_defragment("/b", flush=False, compress="lzo")
    g.btrfs_filesystem_defragment("/")
    assert g.cat("/dir/a") == "a" * 100000
    g.mkfifo(0o644, "/fifo")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_defragment("/fifo")        # never opened: it would block
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_defragment("/b", compress="gzip")
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_filesystem_defragment("/missing")
    assert _err(e) == "ENOENT"
    g.umount_all()


def test_image(g):
    g.umount_all()
    g.mkfs_btrfs([D["B"]])
    _fresh(g)
    g.btrfs_image([D["B"]], "/b.img")
    g.btrfs_image([D["B"]], "/b9.img", compresslevel=9)
    for name in ("/b.img", "/b9.img"):
        head = g.pread(name, 8, 0)
        # a btrfs-image dump starts with its magic number, little-endian
        assert int.from_bytes(head, "little") == 0xbd5c25e27295668b, name
    assert 0 < g.filesize("/b9.img") <= g.filesize("/b.img")
    g.mkfifo(0o644, "/fifo")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_image([D["B"]], "/fifo")
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_image([D["B"]], "/c.img", compresslevel=10)
    assert _err(e) == "EINVAL"
    g.wipefs(D["C"])
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_image([D["C"]], "/x.img")             # not a btrfs
    assert _err(e) == "EINVAL"
    g.umount_all()


# ---- offline tools --------------------------------------------------------------------------

def test_fsck_rescue_btrfstune(g):
    g.umount_all()
    dev = D["E"]
    g.mkfs_btrfs([dev])
    g.mount(dev, "/")
    g.write("/f", b"f")
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_fsck(dev)
    assert _err(e) == "EBUSY"
    g.umount_all()
    g.btrfs_fsck(dev)
    g.btrfs_fsck(dev, superblock=1)
    g.btrfs_fsck(dev, repair=True)
    # a broken primary superblock: the check fails, super-recover repairs it from a copy
    g.pwrite_device(dev, b"\0" * 4096, 64 * 1024)
    assert g.vfs_type(dev) == ""
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_fsck(dev)
    assert _err(e) == "EIO"
    g.btrfs_rescue_super_recover(dev)
    assert g.vfs_type(dev) == "btrfs"
    g.btrfs_fsck(dev)
    g.btrfs_rescue_chunk_recover(dev)
    g.btrfs_fsck(dev)
    g.btrfstune_enable_extended_inode_refs(dev)
    g.btrfstune_enable_skinny_metadata_extent_refs(dev)
    # a seeding filesystem mounts read-only
    g.btrfs_set_seeding(dev, True)
    g.mount(dev, "/")
    with pytest.raises(guestkit.Error) as e:
        g.write("/g", b"g")
    assert _err(e) == "EROFS"
    g.umount_all()
    g.btrfstune_seeding(dev, False)
    g.mount(dev, "/")
    g.write("/g", b"g")
    assert g.cat("/f") == "f"
    with pytest.raises(guestkit.Error) as e:
        g.btrfstune_seeding(dev, True)
    assert _err(e) == "EBUSY"
    g.umount_all()
    g.btrfstune_seeding(dev, True)
    g.btrfs_set_seeding(dev, False)
    g.zero(D["B"])
    with pytest.raises(guestkit.Error) as e:
        g.btrfstune_enable_extended_inode_refs(D["B"])
    assert _err(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_fsck("/dev/sdz")
    assert _err(e) == "ENOENT"


# ---- interop --------------------------------------------------------------------------------

LIBGUESTFS_LIST = textwrap.dedent("""
    import json, sys, guestfs
    g = guestfs.GuestFS(python_return_dict=True)
    g.add_drive_opts(sys.argv[1], format="raw", readonly=1)
    g.launch()
    dev = g.list_devices()[0]
    g.mount_ro(dev, "/")
    subs = g.btrfs_subvolume_list("/")
    out = {"subs": [s["btrfssubvolume_path"] for s in subs],
           "snap": g.cat("/snaps/s1/file"),
           "ro": g.btrfs_subvolume_show("/snaps/s1").get("Flags", ""),
           "default": g.btrfs_subvolume_get_default("/")}
    g.close()
    print(json.dumps(out))
""")


def test_snapshot_listed_by_libguestfs(g):
    import json
    g.umount_all()
    dev = D["F"]
    g.mkfs_btrfs([dev], label="interop")
    g.mount(dev, "/")
    g.btrfs_subvolume_create("/vol")
    g.write("/vol/file", b"made by guestkit")
    g.mkdir("/snaps")
    g.btrfs_subvolume_snapshot("/vol", "/snaps/s1", ro=True)
    g.write("/vol/file", b"changed after the snapshot")
    g.umount_all()
    g.sync()
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct",
               LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    p = subprocess.run(["/usr/bin/python3", "-c", LIBGUESTFS_LIST, g.images["F"]],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert sorted(out["subs"]) == ["snaps/s1", "vol"]
    assert out["snap"] == "made by guestkit"
    assert "readonly" in out["ro"]
    assert out["default"] == 5
