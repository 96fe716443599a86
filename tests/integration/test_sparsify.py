"""guestkit sparsify (virt-sparsify's job) on a real image holding an ext4 partition, a swap
partition and LVM with free space, each full of deleted random data: the copy and the
in-place run give the space back, the data that is kept reads back the same (through
libguestfs too), and the input of a copy is not changed by a byte."""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

import guestkit

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def sparsify(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "sparsify"] + list(args),
                       capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def allocated(path):
    return os.stat(path).st_blocks * 512


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    d = tmp_path_factory.mktemp("sparsify")
    path = str(d / "in.img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", path, "300M"], check=True)
    junk = d / "junk"
    junk.write_bytes(os.urandom(40 << 20))
    small = d / "small"
    small.write_bytes(os.urandom(20 << 20))
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format="raw")
    g.launch()
    g.part_init("/dev/sda", "mbr")
    g.part_add("/dev/sda", "p", 2048, 200000)
    g.part_add("/dev/sda", "p", 200001, 260000)
    g.part_add("/dev/sda", "p", 260001, 600000)
    g.mkfs("ext4", "/dev/sda1")
    g.pvcreate("/dev/sda3")
    g.vgcreate("vg", ["/dev/sda3"])
    g.lvcreate("lv", "vg", 60)
    g.mkfs("ext4", "/dev/vg/lv")
    # random data everywhere, then deleted: the blocks stay allocated in the image
    g.upload(str(small), "/dev/sda2")           # most of the swap partition
    g.mkswap("/dev/sda2", label="SWP")
    g.lvcreate_free("tmp", "vg", 100)
    g.upload(str(junk), "/dev/vg/tmp")          # the volume group's free space
    g.lvremove("/dev/vg/tmp")
    for dev in ("/dev/sda1", "/dev/vg/lv"):
        g.mount(dev, "/")
        g.upload(str(junk), "/junk")
        g.sync()
        g.rm("/junk")
        g.write("/keep", b"kept on %s\n" % dev.encode())
        g.umount("/")
    swap_uuid = g.vfs_uuid("/dev/sda2")
    g.shutdown()
    g.close()
    return {"path": path, "dir": d, "sha256": sha256(path), "swap_uuid": swap_uuid}


def read_back(path, fmt):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format=fmt, readonly=True)
    g.launch()
    try:
        files = []
        for dev in ("/dev/sda1", "/dev/vg/lv"):
            g.mount_ro(dev, "/")
            files.append(g.cat("/keep"))
            g.umount("/")
        return (files, g.vfs_type("/dev/sda2"), g.vfs_label("/dev/sda2"),
                g.vfs_uuid("/dev/sda2"), g.lvs())
    finally:
        g.close()


def expected(disk):
    return (["kept on /dev/sda1\n", "kept on /dev/vg/lv\n"], "swap", "SWP",
            disk["swap_uuid"], ["/dev/vg/lv"])


def test_copy_gives_the_space_back(disk):
    out = str(disk["dir"] / "out.img")
    before = allocated(disk["path"])
    assert before > 120 << 20                    # the deleted data is in the image
    r = sparsify(disk["path"], out)
    assert "trimming /dev/sda1" in r.stderr and "discarding swap /dev/sda2" in r.stderr
    assert "free space of volume group vg" in r.stderr and "zeroing" not in r.stderr
    assert allocated(out) < 20 << 20
    assert os.path.getsize(out) == os.path.getsize(disk["path"])
    assert sha256(disk["path"]) == disk["sha256"]          # the input is untouched
    assert read_back(out, "raw") == expected(disk)
    # libguestfs reads the copy as well
    r = subprocess.run(["virt-cat", "--format=raw", "-a", out, "-m", "/dev/vg/lv", "/keep"],
                       capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"kept on /dev/vg/lv\n"


def test_copy_to_compressed_qcow2(disk):
    out = str(disk["dir"] / "out.qcow2")
    sparsify("-q", "--convert", "qcow2", "--compress", disk["path"], out)
    info = subprocess.run(["qemu-img", "info", "--output=json", out], capture_output=True,
                          text=True, check=True).stdout
    assert '"format": "qcow2"' in info and '"backing-filename"' not in info
    assert allocated(out) < 20 << 20
    assert read_back(out, "qcow2") == expected(disk)


def test_in_place(disk):
    work = str(disk["dir"] / "inplace.img")
    subprocess.run(["cp", "--sparse=always", disk["path"], work], check=True)
    before = allocated(work)
    r = sparsify("--in-place", work)
    assert "zeroing" not in r.stderr and "stays" not in r.stderr     # all discarded
    assert allocated(work) < before // 4, r.stderr
    assert read_back(work, "raw") == expected(disk)


def test_bad_usage(disk):
    r = sparsify(disk["path"], disk["path"], check=False)
    assert r.returncode == 1 and "--in-place" in r.stderr
    r = sparsify("--compress", disk["path"], str(disk["dir"] / "x.raw"), check=False)
    assert r.returncode == 1 and "qcow2" in r.stderr
    r = sparsify("--in-place", disk["path"], "second", check=False)
    assert r.returncode == 1 and "one disk" in r.stderr
    r = sparsify(str(disk["dir"] / "missing.img"), "out", check=False)
    assert r.returncode == 1 and "no such disk image" in r.stderr
    assert not os.path.exists("out")
    assert sha256(disk["path"]) == disk["sha256"]
