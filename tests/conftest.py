"""Shared fixtures.  Integration tests boot the real appliance under qemu (TCG here)."""

import shutil
import subprocess

import pytest


def _need(tool):
    if shutil.which(tool) is None:
        pytest.fail("%s is not installed: run the README's test command, which installs "
                    "everything the suite needs" % tool, pytrace=False)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("guestkit")


def make_image(path, size_mb=256, fmt="raw"):
    _need("qemu-img")
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "%dM" % size_mb],
                   check=True)
    return str(path)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """One launched handle per test module: a 512 MiB raw disk with an ext4 on /dev/sda1
    mounted at /, plus a 320 MiB blank second disk (labelled "blank": xfs needs 300 MB)."""
    import guestkit
    _need("qemu-system-x86_64")
    d = tmp_path_factory.mktemp("img")
    disk = make_image(d / "disk.img", 512)
    blank = make_image(d / "blank.img", 320)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(disk, format="raw")
    g.add_drive_opts(blank, format="raw", label="blank")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1", label="ROOT")
    g.mount("/dev/sda1", "/")
    g.test_dir = str(d)
    yield g
    g.close()
