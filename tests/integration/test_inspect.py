"""Inspection on real images made here: a Debian-like guest on LVM with a separate /boot,
and a second disk holding two operating systems (Alpine-like and Arch-like) on two
partitions, one of them with hostile files (a fifo for a release file, a hostname that is a
symlink to /proc, a 20,000-line fstab).  libguestfs's virt-inspector reads the Debian guest
too, and the two must agree."""

import os
import shutil
import subprocess
import time

import pytest

import guestkit
from tests.conftest import make_image
from tests.guest_images import RPM_PACKAGES, rpm_bdb, rpm_database, rpm_ndb

DEB_STATUS = b"""Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
Homepage: https://www.gnu.org/software/bash/
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: gone

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

"""

APK_DB = b"""P:musl
V:1.2.4_git20230717-r4
A:x86_64
T:the musl c library (libc) implementation
U:https://musl.libc.org/

P:busybox
V:1.36.1-r15
A:x86_64
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/

"""

PACMAN_DESC = b"""%NAME%
bash

%VERSION%
5.2.026-2

%DESC%
The GNU Bourne Again shell

%URL%
https://www.gnu.org/software/bash/bash.html

%ARCH%
x86_64

"""


def png(width=4, height=4):
    """A small valid PNG image."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _write_debian(g, boot_uuid):
    for d in ("/etc", "/boot", "/usr/bin", "/var/lib/dpkg", "/usr/share/pixmaps"):
        g.mkdir_p(d)
    g.write("/usr/share/pixmaps/debian-logo.png", png())
    g.write("/etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
                               b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
                               b'VERSION="12 (bookworm)"\nID=debian\n')
    g.write("/etc/debian_version", b"12.5\n")
    g.write("/etc/hostname", b"web01\n")
    g.write("/etc/fstab", ("# /etc/fstab\n/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\n"
                           "UUID=%s /boot ext4 defaults 0 2\n"
                           "proc /proc proc defaults 0 0\n"
                           "/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n" % boot_uuid
                           ).encode())
    g.upload("/bin/ls", "/usr/bin/ls")
    g.ln_s("usr/bin", "/bin")
    g.write("/var/lib/dpkg/status", DEB_STATUS)


def _write_alpine(g):
    for d in ("/etc", "/lib/apk/db", "/bin"):
        g.mkdir_p(d)
    g.write("/etc/os-release", b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'
                               b'PRETTY_NAME="Alpine Linux v3.19"\n')
    g.write("/etc/alpine-release", b"3.19.1\n")
    g.write("/etc/hostname", b"alpine-box\n")
    g.write("/etc/fstab", b"LABEL=ALPINE / ext4 rw,relatime 0 1\n")
    g.write("/lib/apk/db/installed", APK_DB)
    g.upload("/bin/ls", "/bin/busybox")


def _write_ubuntu_on_btrfs(g, uuid):
    """Root in subvolume @, /home in @home, as Ubuntu's installer lays btrfs out."""
    for d in ("/etc", "/usr/bin"):
        g.mkdir_p(d)
    g.write("/etc/os-release", b'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'
                               b'PRETTY_NAME="Ubuntu 24.04 LTS"\n')
    g.write("/etc/hostname", b"subvol-host\n")
    g.write("/etc/fstab", ("UUID=%s / btrfs defaults,subvol=@ 0 1\n"
                           "UUID=%s /home btrfs defaults,subvol=@home 0 2\n" % (uuid, uuid)
                           ).encode())
    g.upload("/bin/ls", "/usr/bin/ls")


def _write_fedora_on_btrfs(g, uuid, rpmdb):
    """Fedora's layout: root in subvolume root, its rpm database made by rpm itself."""
    for d in ("/etc", "/usr/bin", "/var/lib/rpm"):
        g.mkdir_p(d)
    g.write("/etc/os-release", b'NAME="Fedora Linux"\nVERSION_ID=39\nID=fedora\n'
                               b'PRETTY_NAME="Fedora Linux 39 (Server Edition)"\n')
    g.write("/etc/fedora-release", b"Fedora release 39 (Thirty Nine)\n")
    g.write("/etc/hostname", b"fedora-box\n")
    g.write("/etc/fstab", ("UUID=%s / btrfs subvol=root,compress=zstd:1 0 0\n" % uuid).encode())
    g.upload(rpmdb, "/var/lib/rpm/rpmdb.sqlite")
    g.upload("/bin/ls", "/usr/bin/ls")


def _write_rpm_root(g, os_release, dbdir, dbfile, hostname):
    for d in ("/etc", "/usr/bin", dbdir):
        g.mkdir_p(d)
    g.write("/etc/os-release", os_release)
    g.write("/etc/hostname", hostname + b"\n")
    g.write("/etc/fstab", b"/dev/sdd1 / ext4 defaults 0 0\n")
    g.upload("/bin/ls", "/usr/bin/ls")
    g.upload(dbfile, dbdir + "/" + os.path.basename(dbfile))


def _write_arch_hostile(g):
    for d in ("/etc", "/usr/bin", "/var/lib/pacman/local/bash-5.2.026-2"):
        g.mkdir_p(d)
    g.write("/etc/os-release",
            b'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n')
    g.mknod(0o10644, 0, 0, "/etc/lsb-release")            # a fifo where a file is read
    g.ln_s("/proc/self/environ", "/etc/hostname")          # inside the guest: nothing
    lines = ["PARTUUID=00000000-0000-0000-0000-%012d /data%d ext4 defaults 0 0" % (i, i)
             for i in range(20000)]
    g.write("/etc/fstab", ("LABEL=ARCH / ext4 rw 0 1\n" + "\n".join(lines) + "\n").encode())
    g.write("/var/lib/pacman/local/bash-5.2.026-2/desc", PACMAN_DESC)
    g.upload("/bin/ls", "/usr/bin/ls")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect")
    deb = make_image(d / "debian.img", 300)
    two = make_image(d / "two.img", 200)
    btr = make_image(d / "btrfs.img", 256)
    rpms = make_image(d / "rpms.img", 96)
    sqlite = rpm_database(d / "rpm")
    g = guestkit.GuestFS(python_return_dict=True)
    for disk in (deb, two, btr, rpms):
        g.add_drive_opts(disk, format="raw")
    g.launch()
    g.part_init("/dev/sda", "mbr")
    g.part_add("/dev/sda", "p", 2048, 206847)
    g.part_add("/dev/sda", "p", 206848, -1)
    g.mkfs("ext4", "/dev/sda1", label="BOOT")
    g.pvcreate("/dev/sda2")
    g.vgcreate("vg0", ["/dev/sda2"])
    g.lvcreate("root", "vg0", 150)
    g.mkfs("ext4", "/dev/vg0/root")
    g.mount("/dev/vg0/root", "/")
    g.mkdir("/boot")
    g.mount("/dev/sda1", "/boot")
    _write_debian(g, g.vfs_uuid("/dev/sda1"))
    g.write("/boot/vmlinuz-6.1.0-18-amd64", b"not a kernel")
    g.umount_all()
    g.part_init("/dev/sdb", "mbr")
    g.part_add("/dev/sdb", "p", 2048, 204799)
    g.part_add("/dev/sdb", "p", 204800, -1)
    g.mkfs("ext4", "/dev/sdb1", label="ALPINE")
    g.mkfs("ext4", "/dev/sdb2", label="ARCH")
    g.mount("/dev/sdb1", "/")
    _write_alpine(g)
    g.umount_all()
    g.mount("/dev/sdb2", "/")
    _write_arch_hostile(g)
    g.umount_all()
    g.mkfs("btrfs", "/dev/sdc")
    g.mount("/dev/sdc", "/")
    g.btrfs_subvolume_create("/@")
    g.btrfs_subvolume_create("/@home")
    g.btrfs_subvolume_create("/root")
    uuid = g.vfs_uuid("/dev/sdc")
    g.umount_all()
    g.mount("btrfsvol:/dev/sdc/@", "/")
    _write_ubuntu_on_btrfs(g, uuid)
    g.umount_all()
    g.mount("btrfsvol:/dev/sdc/root", "/")
    _write_fedora_on_btrfs(g, uuid, sqlite)
    g.umount_all()
    # rpm's older databases: CentOS 7's Berkeley DB, openSUSE's ndb (in /usr/lib/sysimage,
    # as openSUSE keeps it), and a RHEL 8 whose Packages file is garbage
    g.part_init("/dev/sdd", "mbr")
    for start, end in ((2048, 65535), (65536, 131071), (131072, -1)):
        g.part_add("/dev/sdd", "p", start, end)
    for n, (os_release, dbdir, dbfile, host) in enumerate((
            (b'NAME="CentOS Linux"\nVERSION_ID="7"\nID=centos\n', "/var/lib/rpm",
             rpm_bdb(sqlite, d / "bdb"), b"centos7"),
            (b'NAME="openSUSE Tumbleweed"\nID=opensuse-tumbleweed\nVERSION_ID=20210101\n',
             "/usr/lib/sysimage/rpm", rpm_ndb(sqlite, d / "ndb"), b"tumbleweed"),
            (b'NAME="Red Hat Enterprise Linux"\nVERSION_ID="8.9"\nID=rhel\n',
             "/var/lib/rpm", str(d / "garbage" / "Packages"), b"rhel8"))):
        if n == 2:
            os.makedirs(d / "garbage")
            (d / "garbage" / "Packages").write_bytes(
                bytes.fromhex("000000000000000000000000611506000900000000100000") +
                os.urandom(1 << 20))
        dev = "/dev/sdd%d" % (n + 1)
        g.mkfs("ext4", dev)
        g.mount(dev, "/")
        _write_rpm_root(g, os_release, dbdir, dbfile, host)
        g.umount_all()
    g.shutdown()
    g.close()
    g = guestkit.GuestFS(python_return_dict=True)
    for disk in (deb, two, btr, rpms):
        g.add_drive_opts(disk, format="raw", readonly=True)
    g.launch()
    t0 = time.monotonic()
    roots = g.inspect_os()
    took = time.monotonic() - t0
    yield {"g": g, "roots": roots, "took": took, "deb": deb}
    g.close()


def test_every_os_gets_a_root(images):
    assert sorted(images["roots"]) == ["/dev/sdb1", "/dev/sdb2", "/dev/sdd1", "/dev/sdd2",
                                       "/dev/sdd3", "/dev/vg0/root",
                                       "btrfsvol:/dev/sdc/@", "btrfsvol:/dev/sdc/root"]
    assert images["g"].inspect_get_roots() == images["roots"]
    assert images["took"] < 10          # the hostile fstab and fifo cost nothing much


def test_debian_on_lvm(images):
    g, r = images["g"], "/dev/vg0/root"
    got = {f: getattr(g, "inspect_get_" + f)(r) for f in (
        "type", "distro", "product_name", "major_version", "minor_version", "arch",
        "hostname", "package_format", "package_management", "osinfo", "format")}
    assert got == {"type": "linux", "distro": "debian", "product_name": "12.5",
                   "major_version": 12, "minor_version": 5, "arch": "x86_64",
                   "hostname": "web01", "package_format": "deb", "package_management": "apt",
                   "osinfo": "debian12", "format": "installed"}
    assert g.inspect_get_mountpoints(r) == {"/": "/dev/vg0/root", "/boot": "/dev/sda1"}
    assert g.inspect_get_filesystems(r) == ["/dev/sda1", "/dev/vg0/root"]
    assert g.inspect_get_drive_mappings(r) == {}
    assert g.inspect_is_live(r) == 0
    assert g.inspect_get_icon(r) == png() and g.inspect_get_icon(r, favicon=True) == b""
    assert g.inspect_get_icon("/dev/sdb1") == b""          # Alpine: no logo file
    with pytest.raises(guestkit.Error) as e:
        g.inspect_get_windows_systemroot(r)
    assert e.value.errno_name == "EINVAL"
    apps = g.inspect_list_applications2(r)
    assert [(a["app2_name"], a["app2_epoch"], a["app2_version"], a["app2_release"],
             a["app2_arch"]) for a in apps] == [
        ("bash", 0, "5.2.15", "2+b2", "amd64"), ("tzdata", 0, "2024a", "0+deb12u1", "all"),
        ("libc6", 0, "2.36", "9+deb12u4", "amd64")]
    assert apps[0]["app2_url"] == "https://www.gnu.org/software/bash/"
    assert apps[0]["app2_summary"] == "GNU Bourne Again SHell"
    assert apps[2]["app2_source_package"] == "glibc"
    old = g.inspect_list_applications(r)
    assert old[0]["app_name"] == "bash" and "app_arch" not in old[0]
    # mounted as guestfish -i would: / then /boot, read-only
    g.inspect_mount_root(r)
    try:
        assert g.mounts() == ["/dev/vg0/root", "/dev/sda1"]
        assert g.cat("/etc/hostname") == "web01\n" and "vmlinuz-6.1.0-18-amd64" in g.ls("/boot")
        with pytest.raises(guestkit.Error):
            g.write("/etc/motd", b"no")
    finally:
        g.umount_all()


def test_two_oses_on_one_disk(images):
    g = images["g"]
    a, b = "/dev/sdb1", "/dev/sdb2"
    assert (g.inspect_get_distro(a), g.inspect_get_major_version(a),
            g.inspect_get_minor_version(a)) == ("alpinelinux", 3, 19)
    assert g.inspect_get_hostname(a) == "alpine-box" and g.inspect_get_osinfo(a) == \
        "alpinelinux3.19"
    assert g.inspect_get_package_format(a) == "apk"
    assert g.inspect_get_mountpoints(a) == {"/": "/dev/sdb1"}
    assert [(x["app2_name"], x["app2_version"], x["app2_release"])
            for x in g.inspect_list_applications2(a)] == [
        ("musl", "1.2.4_git20230717", "r4"), ("busybox", "1.36.1", "r15")]
    assert g.inspect_get_distro(b) == "archlinux" and g.inspect_get_package_format(b) == \
        "pacman"
    assert [(x["app2_name"], x["app2_version"], x["app2_release"], x["app2_url"])
            for x in g.inspect_list_applications2(b)] == [
        ("bash", "5.2.026", "2", "https://www.gnu.org/software/bash/bash.html")]


def test_root_in_a_btrfs_subvolume(images):
    g, r = images["g"], "btrfsvol:/dev/sdc/@"
    assert (g.inspect_get_distro(r), g.inspect_get_major_version(r),
            g.inspect_get_hostname(r)) == ("ubuntu", 24, "subvol-host")
    assert g.inspect_get_mountpoints(r) == {"/": r, "/home": "btrfsvol:/dev/sdc/@home"}
    assert g.inspect_list_applications2(r) == []          # no dpkg database there
    g.inspect_mount_root(r)
    try:
        assert g.cat("/etc/hostname") == "subvol-host\n"
    finally:
        g.umount_all()


def test_fedora_and_its_rpm_database(images):
    g, r = images["g"], "btrfsvol:/dev/sdc/root"
    assert (g.inspect_get_distro(r), g.inspect_get_major_version(r),
            g.inspect_get_package_format(r), g.inspect_get_package_management(r),
            g.inspect_get_osinfo(r)) == ("fedora", 39, "rpm", "dnf", "fedora39")
    apps = g.inspect_list_applications2(r)
    assert [(a["app2_name"], a["app2_epoch"], a["app2_version"], a["app2_release"],
             a["app2_arch"], a["app2_url"], a["app2_summary"], a["app2_description"])
            for a in apps] == [
        (p["name"], 1 if p["epoch"] else 0, p["version"], p["release"], "noarch", p["url"],
         p["summary"], p["description"]) for p in RPM_PACKAGES]
    assert apps[0]["app2_source_package"] == "hello-gk"


def test_inspection_beside_the_users_own_mounts(images):
    """With the guest mounted read-write by the user (the order guestfs(3) shows:
    inspect_os, mount, list applications), inspection still reads it, and leaves the
    user's mount as it was."""
    g, r = images["g"], "/dev/vg0/root"
    g.mount(r, "/")
    try:
        assert len(g.inspect_list_applications2(r)) == 3
        assert r in g.inspect_os()
        g.write("/still-writable", b"yes")
        assert g.mounts() == [r]
    finally:
        g.umount_all()


def test_hostile_files_give_a_partial_answer(images):
    """A fifo for a release file is not read (no hang), a hostname symlink to /proc
    resolves inside the guest (nothing there), a 20,000-line fstab whose devices do not
    exist maps only what exists."""
    g, b = images["g"], "/dev/sdb2"
    assert g.inspect_get_hostname(b) == "unknown"
    assert g.inspect_get_mountpoints(b) == {"/": "/dev/sdb2"}
    assert g.inspect_get_arch(b) == "x86_64"


def test_getters_need_a_root_from_inspect_os(images):
    g = images["g"]
    with pytest.raises(guestkit.Error) as e:
        g.inspect_get_type("/dev/sda1")
    assert "inspect_os" in str(e.value) and e.value.errno_name == "EINVAL"
    h = guestkit.GuestFS()
    with pytest.raises(guestkit.Error):
        h.inspect_os()                                  # not launched
    h.close()


@pytest.mark.slow
def test_agrees_with_virt_inspector(images):
    """libguestfs's virt-inspector and guestkit say the same of the Debian guest."""
    from lxml import etree
    if shutil.which("virt-inspector") is None:
        pytest.fail("virt-inspector is not installed: run the README's test command",
                    pytrace=False)
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    out = subprocess.run(["virt-inspector", "--format=raw", "-a", images["deb"]], env=env,
                         check=True, capture_output=True).stdout
    os_ = etree.fromstring(out).find("operatingsystem")
    g, r = images["g"], "/dev/vg0/root"
    assert os_.findtext("root") == r
    for tag, getter in (("name", "type"), ("arch", "arch"), ("distro", "distro"),
                        ("product_name", "product_name"), ("hostname", "hostname"),
                        ("package_format", "package_format"),
                        ("package_management", "package_management"), ("osinfo", "osinfo")):
        assert os_.findtext(tag) == getattr(g, "inspect_get_" + getter)(r), tag
    for tag in ("major_version", "minor_version"):
        assert int(os_.findtext(tag)) == getattr(g, "inspect_get_" + tag)(r)
    assert {m.text: m.get("dev") for m in os_.find("mountpoints")} == \
        g.inspect_get_mountpoints(r)
    theirs = [(a.findtext("name"), a.findtext("version"), a.findtext("release"),
               a.findtext("arch")) for a in os_.find("applications")]
    ours = [(a["app2_name"], a["app2_version"], a["app2_release"], a["app2_arch"])
            for a in g.inspect_list_applications2(r)]
    assert sorted(theirs) == sorted(ours)


def test_shell_inspector_option(images):
    """guestkit -i: the Debian guest's filesystems mounted where it mounts them, read-only
    by default, as with guestfish -i."""
    import sys
    run = [sys.executable, "-m", "guestkit.cli", "--format=raw", "-a", images["deb"], "-i"]
    p = subprocess.run(run + ["cat", "/etc/hostname", ":", "mounts"], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["web01", "/dev/vg0/root", "/dev/sda1"]
    p = subprocess.run(run + ["touch", "/x"], capture_output=True, text=True)
    assert p.returncode == 1 and "Read-only file system" in p.stderr


def test_inspect_tool_xml_validates_for_every_os(images, tmp_path):
    """guestkit inspect on the two disks: one document, three operating systems, valid
    against virt-inspector's schema."""
    import sys
    from tests.integration.test_inspect_tool import validate
    two = os.path.join(os.path.dirname(images["deb"]), "two.img")
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "inspect", "--format=raw",
                        "-a", images["deb"], "-a", two], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    doc = validate(p.stdout)
    got = {o.findtext("root"): (o.findtext("distro"), len(o.find("applications")))
           for o in doc.findall("operatingsystem")}
    assert got == {"/dev/vg0/root": ("debian", 3), "/dev/sdb1": ("alpinelinux", 2),
                   "/dev/sdb2": ("archlinux", 1)}       # the btrfs disk was not given


def test_rpm_berkeley_db_and_ndb_databases(images):
    """CentOS 7's Berkeley DB (made by db_load, read by rpm's own bdb_ro backend first) and
    openSUSE's ndb list the same packages as the sqlite database; a RHEL whose Packages file
    is garbage lists none, quickly."""
    g = images["g"]
    want = [(p["name"], 1 if p["epoch"] else 0, p["version"], p["release"], p["summary"])
            for p in RPM_PACKAGES]
    for r, distro in (("/dev/sdd1", "centos"), ("/dev/sdd2", "opensuse"),
                      ("/dev/sdd3", "rhel")):
        assert (g.inspect_get_distro(r), g.inspect_get_package_format(r)) == (distro, "rpm")
        t0 = time.monotonic()
        apps = [(a["app2_name"], a["app2_epoch"], a["app2_version"], a["app2_release"],
                 a["app2_summary"]) for a in g.inspect_list_applications2(r)]
        assert apps == (want if r != "/dev/sdd3" else []), r
        assert time.monotonic() - t0 < 10


def test_python_guestfs_inspect_vm_example_runs_unchanged(images, tmp_path):
    """guestfs-python(3)'s inspect_vm example, taken from the manual as it is, runs with
    guestkit standing in for the guestfs module."""
    import re
    import sys
    manual = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                          "guestfs-python.3.txt")
    with open(manual) as f:
        text = f.read()
    start = text.index("\timport sys\n\timport guestfs\n")
    end = text.index("\n", text.index("g.umount_all()", start))
    program = "\n".join(line.expandtabs(8)[8:] for line in text[start:end].splitlines())
    (tmp_path / "inspect_vm.py").write_text(program + "\n")
    (tmp_path / "guestfs.py").write_text("import sys, guestkit\nsys.modules[__name__] = guestkit\n")
    p = subprocess.run([sys.executable, str(tmp_path / "inspect_vm.py"), images["deb"]],
                       capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert p.returncode == 0, p.stderr
    g, r = images["g"], "/dev/vg0/root"
    assert re.search(r"Root device: %s\n  Product name: %s\n  Version: +%d\.%d\n"
                     r"  Type: +linux\n  Distro: +debian\n" % (
                         r, re.escape(g.inspect_get_product_name(r)),
                         g.inspect_get_major_version(r), g.inspect_get_minor_version(r)),
                     p.stdout), p.stdout
