"""guestkit resize (virt-resize's job) on real images: an MBR disk with a bootable ext4
partition and LVM, grown with --expand and --lv-expand; a GPT disk with one partition
resized, one deleted and the surplus given to a new one; an MBR disk with an extended
partition holding two logical ones, a logical one expanded, resized or deleted.  The output
holds the same files (read back by libguestfs too), keeps partition types, names and GUIDs,
and its filesystems fill their new room; the input is not changed by a byte; mistakes
change nothing."""

import contextlib
import hashlib
import os
import subprocess
import sys

import pytest

import guestkit

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
MIB = 1 << 20


def resize(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "resize"] + list(args),
                       capture_output=True, text=True, timeout=900)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def qemu_img_create(path, fmt, size):
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), size], check=True)
    return str(path)


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    d = tmp_path_factory.mktemp("resize")
    mbr = qemu_img_create(d / "mbr.img", "raw", "200M")
    gpt = qemu_img_create(d / "gpt.img", "raw", "200M")
    ext = qemu_img_create(d / "ext.img", "raw", "200M")
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(mbr, format="raw")
    g.add_drive_opts(gpt, format="raw")
    g.add_drive_opts(ext, format="raw")
    g.launch()
    g.part_init("/dev/sda", "mbr")
    g.part_add("/dev/sda", "p", 2048, 104447)                 # 50 MiB
    g.part_add("/dev/sda", "p", 104448, -1)
    g.part_set_bootable("/dev/sda", 1, True)
    g.mkfs("ext4", "/dev/sda1", label="BOOT")
    g.pvcreate("/dev/sda2")
    g.vgcreate("vg", ["/dev/sda2"])
    g.lvcreate("root", "vg", 80)
    g.mkfs("ext4", "/dev/vg/root")
    # the boot loader's bytes in the first sector and in the gap after it
    g.pwrite_device("/dev/sda", b"\xeb\x63BOOTCODE", 0)
    g.pwrite_device("/dev/sda", b"CORE.IMG" * 64, 512)
    g.part_init("/dev/sdb", "gpt")
    g.part_add("/dev/sdb", "p", 2048, 104447)
    g.part_add("/dev/sdb", "p", 104448, 206847)
    g.part_add("/dev/sdb", "p", 206848, 309247)
    g.part_set_name("/dev/sdb", 2, "data")
    g.part_set_gpt_type("/dev/sdb", 2, "0FC63DAF-8483-4772-8E79-3D69D8477DE4")
    for n in (1, 2, 3):
        g.mkfs("ext4", "/dev/sdb%d" % n)
    # 20 MiB primary, then an extended partition holding two 30 MiB logical ones
    g.part_init("/dev/sdc", "mbr")
    g.part_add("/dev/sdc", "p", 2048, 43007)
    g.part_add("/dev/sdc", "e", 43008, -1)
    g.part_add("/dev/sdc", "l", 45056, 106495)
    g.part_add("/dev/sdc", "l", 108544, 169983)
    g.part_set_mbr_id("/dev/sdc", 6, 0x88)
    g.part_set_bootable("/dev/sdc", 6, True)
    for n in (1, 5, 6):
        g.mkfs("ext4", "/dev/sdc%d" % n)
    for dev, text in (("/dev/sda1", b"boot files\n"), ("/dev/vg/root", b"root files\n"),
                      ("/dev/sdb1", b"gpt one\n"), ("/dev/sdb2", b"gpt two\n"),
                      ("/dev/sdb3", b"gpt three\n"), ("/dev/sdc1", b"primary\n"),
                      ("/dev/sdc5", b"logical one\n"), ("/dev/sdc6", b"logical two\n")):
        g.mount(dev, "/")
        g.write("/file", text)
        g.umount("/")
    info = {"gpt_guids": [g.part_get_gpt_guid("/dev/sdb", n) for n in (1, 2)],
            "gpt_disk": g.part_get_disk_guid("/dev/sdb"),
            "root_size": g.blockdev_getsize64("/dev/vg/root")}
    g.shutdown()
    g.close()
    return dict(info, dir=d, mbr=mbr, gpt=gpt, ext=ext, mbr_sha=sha256(mbr),
                gpt_sha=sha256(gpt), ext_sha=sha256(ext))


@contextlib.contextmanager
def opened(path, fmt):
    """A handle on the disk PATH alone, read-only, launched."""
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format=fmt, readonly=True)
    g.launch()
    try:
        yield g
    finally:
        g.close()


def fs_bytes(g, dev):
    g.mount_ro(dev, "/")
    try:
        st = g.statvfs("/")
        return st["blocks"] * st["frsize"], g.cat("/file")
    finally:
        g.umount("/")


def test_expand_mbr_and_a_logical_volume(disks):
    out = qemu_img_create(disks["dir"] / "mbr-out.qcow2", "qcow2", "400M")
    r = resize("--expand", "/dev/sda2", "--lv-expand", "/dev/vg/root", disks["mbr"], out)
    assert "Growing the physical volume" in r.stdout and "Expanding /dev/vg/root" in r.stdout
    assert sha256(disks["mbr"]) == disks["mbr_sha"]
    with opened(out, "qcow2") as g:
        parts = g.part_list("/dev/sda")
        assert len(parts) == 2 and parts[0]["part_start"] == 2048 * 512
        assert g.part_get_bootable("/dev/sda", 1) and not g.part_get_bootable("/dev/sda", 2)
        assert g.part_get_mbr_id("/dev/sda", 1) == 0x83
        assert parts[1]["part_size"] > 340 * MIB
        assert g.vfs_label("/dev/sda1") == "BOOT"
        assert fs_bytes(g, "/dev/sda1")[1] == "boot files\n"
        assert g.blockdev_getsize64("/dev/vg/root") > disks["root_size"] + 250 * MIB
        size, text = fs_bytes(g, "/dev/vg/root")
        assert text == "root files\n" and size > 300 * MIB
        assert g.pread_device("/dev/sda", 10, 0) == b"\xeb\x63BOOTCODE"
        assert g.pread_device("/dev/sda", 512, 512) == b"CORE.IMG" * 64
    r = subprocess.run(["virt-cat", "--format=qcow2", "-a", out, "-m", "/dev/vg/root",
                        "/file"], capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"root files\n"


def test_gpt_resize_delete_and_extra_partition(disks):
    out = qemu_img_create(disks["dir"] / "gpt-out.img", "raw", "300M")
    r = resize("--resize", "/dev/sda1=+20M", "--delete", "/dev/sda3", disks["gpt"], out)
    assert "/dev/sda3: deleted" in r.stdout and "new partition" in r.stdout
    assert sha256(disks["gpt"]) == disks["gpt_sha"]
    with opened(out, "raw") as g:
        parts = g.part_list("/dev/sda")
        assert len(parts) == 3                               # two kept, one extra
        assert parts[0]["part_size"] == 70 * MIB
        assert g.part_get_disk_guid("/dev/sda") == disks["gpt_disk"]
        assert [g.part_get_gpt_guid("/dev/sda", n) for n in (1, 2)] == disks["gpt_guids"]
        assert g.part_get_name("/dev/sda", 2) == "data"
        assert g.part_get_gpt_type("/dev/sda", 2) == "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
        size, text = fs_bytes(g, "/dev/sda1")
        assert text == "gpt one\n" and size > 60 * MIB          # grown with its partition
        assert fs_bytes(g, "/dev/sda2")[1] == "gpt two\n"
        assert parts[2]["part_size"] > 100 * MIB
        assert g.blkid("/dev/sda3").get("TYPE") is None     # empty: nothing copied there


def mbr_layout(g):
    """(number, kind, start sector, size in MiB, type byte, bootable) of each partition."""
    return [(p["part_num"], g.part_get_mbr_part_type("/dev/sda", p["part_num"]),
             p["part_start"] // 512, p["part_size"] // MIB,
             g.part_get_mbr_id("/dev/sda", p["part_num"]),
             g.part_get_bootable("/dev/sda", p["part_num"])) for p in g.part_list("/dev/sda")]


def libguestfs_cat(out, fmt, devices):
    """/file of each of DEVICES, and the kind of each partition, read by guestfish."""
    cmds = ["run"]
    for dev in devices:
        cmds += [":", "mount-ro", dev, "/", ":", "cat", "/file", ":", "umount", "/"]
    for n in (1, 2, 5, 6):
        cmds += [":", "part-get-mbr-part-type", "/dev/sda", str(n)]
    r = subprocess.run(["guestfish", "--ro", "--format=" + fmt, "-a", out] + cmds,
                       capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_extended_partition_with_a_logical_one_expanded(disks):
    out = qemu_img_create(disks["dir"] / "ext-out.qcow2", "qcow2", "400M")
    r = resize("--expand", "/dev/sda6", disks["ext"], out)
    assert "/dev/sda5: copied as it is" in r.stdout and "Growing the ext4" in r.stdout
    assert sha256(disks["ext"]) == disks["ext_sha"]
    with opened(out, "qcow2") as g:
        layout = mbr_layout(g)
        assert [row[:2] for row in layout] == [(1, "primary"), (2, "extended"),
                                               (5, "logical"), (6, "logical")]
        assert [row[2] % 128 for row in layout] == [0, 0, 0, 0]            # aligned
        (_, _, s1, m1, id1, b1), (_, _, s2, m2, _, _), (_, _, s5, m5, id5, b5), \
            (_, _, s6, m6, id6, b6) = layout
        assert (s1, m1, id1, b1) == (2048, 20, 0x83, False)
        assert (m5, id5, b5) == (30, 0x83, False) and (id6, b6) == (0x88, True)
        assert s2 < s5 < s5 + m5 * 2048 < s6                     # a boot record between
        assert m6 > 370 - 20 - 30 and s6 + m6 * 2048 <= s2 + m2 * 2048 + 2048
        assert fs_bytes(g, "/dev/sda1")[1] == "primary\n"
        size5, text5 = fs_bytes(g, "/dev/sda5")
        size6, text6 = fs_bytes(g, "/dev/sda6")
        assert text5 == "logical one\n" and size5 < 30 * MIB
        assert text6 == "logical two\n" and size6 > 300 * MIB      # grown with its partition
    text = libguestfs_cat(out, "qcow2", ["/dev/sda1", "/dev/sda5", "/dev/sda6"])
    assert text.split() == ["primary", "logical", "one", "logical", "two", "primary",
                            "extended", "logical", "logical"]


def test_logical_partition_deleted_and_one_resized(disks):
    r = resize("-n", "--delete", "/dev/sda2", disks["ext"], disks["gpt"])
    assert "/dev/sda5: deleted" in r.stdout and "/dev/sda6: deleted" in r.stdout
    out = qemu_img_create(disks["dir"] / "ext-out.img", "raw", "300M")
    r = resize("--delete", "/dev/sda5", "--resize", "/dev/sda6=+20M", disks["ext"], out)
    assert "/dev/sda5: deleted" in r.stdout and "new partition" in r.stdout
    assert sha256(disks["ext"]) == disks["ext_sha"] and sha256(disks["gpt"]) == \
        disks["gpt_sha"]
    with opened(out, "raw") as g:
        layout = mbr_layout(g)
        # the logical one left is numbered 5; the surplus went to a new primary one after
        assert [row[:2] for row in layout] == [(1, "primary"), (2, "extended"),
                                               (5, "logical"), (3, "primary")]
        assert layout[2][3:] == (50, 0x88, True)
        assert layout[3][2] > layout[1][2] + layout[1][3] * 2048 - 1
        size, text = fs_bytes(g, "/dev/sda5")
        assert text == "logical two\n" and size > 40 * MIB
        assert fs_bytes(g, "/dev/sda1")[1] == "primary\n"
        assert g.blkid("/dev/sda3").get("TYPE") is None


def test_mistakes_change_nothing(disks):
    out = qemu_img_create(disks["dir"] / "small.img", "raw", "100M")
    before = sha256(out)
    r = resize("--expand", "/dev/sda2", disks["mbr"], out, check=False)
    assert r.returncode == 1 and "too small" in r.stderr
    r = resize("--resize", "/dev/sda1=-10M", disks["gpt"], out, check=False)
    assert r.returncode == 1 and "shrink the content first" in r.stderr
    r = resize("--resize", "/dev/sda5=-20M", disks["ext"], out, check=False)
    assert r.returncode == 1 and "shrink the content first" in r.stderr
    r = resize("--expand", "/dev/sda9", disks["mbr"], out, check=False)
    assert r.returncode == 1 and "no such partition" in r.stderr
    r = resize(disks["mbr"], disks["mbr"], check=False)
    assert r.returncode == 1 and "same disk" in r.stderr
    r = resize(disks["mbr"], str(disks["dir"] / "missing.img"), check=False)
    assert r.returncode == 1 and "qemu-img create" in r.stderr
    assert sha256(out) == before
    assert sha256(disks["mbr"]) == disks["mbr_sha"] and sha256(disks["gpt"]) == \
        disks["gpt_sha"] and sha256(disks["ext"]) == disks["ext_sha"]
