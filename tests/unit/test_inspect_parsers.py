"""The daemon's inspection parsers (guestkit.daemon.inspect): realistic guest files
and hostile ones.  Pure functions, no VM."""

import os
import random
import time

import pytest

from guestkit.daemon.inspect import fstab, hostname, osinfo, packages, release
from guestkit.daemon.inspect._text import parse_shell_assignments

# --------------------------------------------------------------------- samples

DEBIAN12_OS_RELEASE = b'''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
'''

DEBIAN_SID_OS_RELEASE = b'''PRETTY_NAME="Debian GNU/Linux trixie/sid"
NAME="Debian GNU/Linux"
VERSION_CODENAME=trixie
ID=debian
'''

UBUNTU_2204_OS_RELEASE = b'''PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
'''

UBUNTU_LSB_RELEASE = b'''DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=20.04
DISTRIB_CODENAME=focal
DISTRIB_DESCRIPTION="Ubuntu 20.04.6 LTS"
'''

MINT_LSB_RELEASE = b'''DISTRIB_ID=LinuxMint
DISTRIB_RELEASE=21.3
DISTRIB_CODENAME=virginia
DISTRIB_DESCRIPTION="Linux Mint 21.3 Virginia"
'''

ALMA_OS_RELEASE = b'''NAME="AlmaLinux"
VERSION="9.3 (Shamrock Pampas Cat)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.3 (Shamrock Pampas Cat)"
'''

FLATCAR_OS_RELEASE = b'''NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=3760.2.0
VERSION_ID=3760.2.0
BUILD_ID=2024-01-25-2253
PRETTY_NAME="Flatcar Container Linux by Kinvolk 3760.2.0 (Oklo)"
'''

ARCH_OS_RELEASE = b'''NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
ANSI_COLOR="38;2;23;147;209"
'''

DEBIAN_STATUS = b'''Package: adduser
Status: install ok installed
Priority: important
Section: admin
Installed-Size: 849
Maintainer: Debian Adduser Developers <adduser@packages.debian.org>
Architecture: all
Multi-Arch: foreign
Version: 3.134
Depends: passwd
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands for creating
 and removing users.
 .
 Second paragraph.
Homepage: https://salsa.debian.org/debian/adduser

Package: broken-thing
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1
Description: must be skipped

Package: oldconf
Status: deinstall ok config-files
Architecture: amd64
Version: 2.0-1
Description: removed, only config left

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc (2.36-9+deb12u4)
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: openssh-server
Status: install ok installed
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server
Homepage: https://www.openssh.com/
'''

FSTAB = b'''# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=2f0f3a1c-5a57-4c39-9f0e-3f8f0f1b2a11 /               ext4    errors=remount-ro 0       1
LABEL=boot      /boot           ext2    defaults        0       2
/dev/vda1       /boot/efi/      vfat    umask=0077      0       1
/dev/mapper/vg--root-lv_root /srv xfs defaults 0 0
UUID=6d3c0f5e-1111-2222-3333-444455556666 /home btrfs subvol=@home,subvolid=257,compress=zstd 0 0
/dev/sdb1       /mnt/my\\040data ext4 defaults,nofail 0 2
UUID=aaaa-bbbb  none            swap    sw              0       0
proc            /proc           proc    defaults        0       0
tmpfs           /tmp            tmpfs   defaults        0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto 0       0
server:/export  /nfs            nfs     defaults        0       0
/dev/vdb2       /var/../etc     ext4    defaults        0       0
'''

# --------------------------------------------------------------------- release


def test_debian12_os_release_with_point_release():
    info = release.identify({"/etc/os-release": DEBIAN12_OS_RELEASE,
                             "/etc/debian_version": b"12.5\n"})
    assert (info["type"], info["distro"]) == ("linux", "debian")
    assert (info["major_version"], info["minor_version"]) == (12, 5)
    assert info["product_name"] == "12.5"           # as libguestfs names it
    assert (info["package_format"], info["package_management"]) == ("deb", "apt")
    assert osinfo.osinfo_short_id(info) == "debian12"


def test_debian_sid_falls_back_to_debian_version():
    info = release.identify({"/etc/os-release": DEBIAN_SID_OS_RELEASE,
                             "/etc/debian_version": b"trixie/sid\n"})
    assert info["distro"] == "debian"
    assert (info["major_version"], info["minor_version"]) == (0, 0)
    assert info["source"] == "/etc/debian_version"
    assert info["product_name"] == "Debian GNU/Linux trixie/sid"
    assert osinfo.osinfo_short_id(info) == "unknown"


def test_debian_version_only():
    info = release.identify({"/etc/debian_version": b"9.13\n"})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("debian", 9, 13)


def test_ubuntu_os_release_and_lsb_release():
    info = release.identify({"/etc/os-release": UBUNTU_2204_OS_RELEASE,
                             "/etc/lsb-release": UBUNTU_LSB_RELEASE,
                             "/etc/debian_version": b"bookworm/sid\n"})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("ubuntu", 22, 4)
    assert osinfo.osinfo_short_id(info) == "ubuntu22.04"
    # without os-release, lsb-release wins over debian_version
    info = release.identify({"/etc/lsb-release": UBUNTU_LSB_RELEASE,
                             "/etc/debian_version": b"bullseye/sid\n"})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("ubuntu", 20, 4)
    assert info["product_name"] == "Ubuntu 20.04.6 LTS"


def test_linux_mint_lsb_release():
    info = release.identify({"/etc/lsb-release": MINT_LSB_RELEASE,
                             "/etc/debian_version": b"bookworm/sid\n"})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("linuxmint", 21, 3)
    assert info["package_management"] == "apt"


def test_rhel7_redhat_release_without_os_release():
    info = release.identify({"/etc/redhat-release":
                             b"Red Hat Enterprise Linux Server release 7.9 (Maipo)\n"})
    assert (info["type"], info["distro"]) == ("linux", "rhel")
    assert (info["major_version"], info["minor_version"]) == (7, 9)
    assert info["product_name"] == "Red Hat Enterprise Linux Server release 7.9 (Maipo)"
    assert (info["package_format"], info["package_management"]) == ("rpm", "yum")
    assert osinfo.osinfo_short_id(info) == "rhel7.9"


@pytest.mark.parametrize("path, text, distro, major, minor, mgmt, short", [
    ("/etc/redhat-release", b"Red Hat Enterprise Linux release 9.3 (Plow)", "rhel", 9, 3, "dnf",
     "rhel9.3"),
    ("/etc/redhat-release", b"Red Hat Enterprise Linux AS release 4 (Nahant Update 9)", "rhel",
     4, 9, "up2date", "rhel4.9"),
    ("/etc/centos-release", b"CentOS Linux release 7.9.2009 (Core)", "centos", 7, 9, "yum",
     "centos7.9"),
    ("/etc/centos-release", b"CentOS Linux release 8.5.2111", "centos", 8, 5, "dnf", "centos8"),
    ("/etc/centos-release", b"CentOS Stream release 9", "centos", 9, 0, "dnf", "centos-stream9"),
    ("/etc/fedora-release", b"Fedora release 39 (Thirty Nine)", "fedora", 39, 0, "dnf",
     "fedora39"),
    ("/etc/rocky-release", b"Rocky Linux release 9.3 (Blue Onyx)", "rocky", 9, 3, "dnf",
     "rocky9.3"),
    ("/etc/oracle-release", b"Oracle Linux Server release 8.9", "oraclelinux", 8, 9, "dnf",
     "ol8.9"),
    ("/etc/redhat-release", b"Scientific Linux release 6.10 (Carbon)", "scientificlinux", 6, 10,
     "yum", "scientificlinux6.10"),
    ("/etc/redhat-release", b"Some Rebuild release 8.1 (X)", "redhat-based", 8, 1, "dnf",
     "unknown"),
    ("/etc/mageia-release", b"Mageia release 9 (Official) for x86_64", "mageia", 9, 0, "urpmi",
     "mageia9"),
    ("/etc/alpine-release", b"3.19.1\n", "alpinelinux", 3, 19, "apk", "alpinelinux3.19"),
    ("/etc/gentoo-release", b"Gentoo Base System release 2.14", "gentoo", 2, 14, "portage",
     "gentoo"),
    ("/etc/arch-release", b"", "archlinux", 0, 0, "pacman", "archlinux"),
    ("/etc/altlinux-release", b"ALT Server 10.1 (Mendelevium)", "altlinux", 10, 1, "apt",
     "alt10.1"),
    ("/etc/slackware-version", b"Slackware 15.0\n", "slackware", 15, 0, "unknown", "unknown"),
])
def test_legacy_release_files(path, text, distro, major, minor, mgmt, short):
    info = release.identify({path: text})
    assert info["type"] == "linux"
    assert (info["distro"], info["major_version"], info["minor_version"]) == (distro, major, minor)
    assert info["package_management"] == mgmt
    assert osinfo.osinfo_short_id(info) == short


def test_specific_file_beats_generic_redhat_release():
    info = release.identify({"/etc/fedora-release": b"Fedora release 38 (Thirty Eight)",
                             "/etc/redhat-release": b"Fedora release 38 (Thirty Eight)",
                             "/etc/centos-release": None})
    assert info["source"] == "/etc/fedora-release" and info["distro"] == "fedora"


def test_suse_release():
    sles = b"SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n"
    info = release.identify({"/etc/SuSE-release": sles})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("sles", 11, 4)
    assert osinfo.osinfo_short_id(info) == "sles11sp4"
    assert info["package_management"] == "zypper"
    leap = b"openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin\n"
    info = release.identify({"/etc/SuSE-release": leap})
    assert (info["distro"], info["major_version"], info["minor_version"]) == ("opensuse", 13, 2)


def test_os_release_id_like_and_rolling():
    alma = release.identify({"/etc/os-release": ALMA_OS_RELEASE})
    assert (alma["distro"], alma["major_version"], alma["minor_version"]) == ("redhat-based", 9, 3)
    assert alma["package_management"] == "dnf"
    flatcar = release.identify({"/etc/os-release": FLATCAR_OS_RELEASE})
    assert (flatcar["distro"], flatcar["major_version"]) == ("coreos", 3760)
    assert flatcar["build_id"] == "2024-01-25-2253"
    arch = release.identify({"/etc/os-release": ARCH_OS_RELEASE})
    assert (arch["distro"], arch["source"]) == ("archlinux", "/etc/os-release")
    void = release.identify({"/usr/lib/os-release": b'NAME="Void"\nID="void"\n'})
    assert void["distro"] == "voidlinux" and void["package_format"] == "xbps"


def test_os_release_quoting_and_escapes():
    kv = parse_shell_assignments(
        b"A='single $x \\n'\nB=\"dq \\\"q\\\" \\$HOME \\\\ \\n\"\nC=plain\\ word # comment\n"
        b"D=\"unterminated\nexport E=1\n  # F=2\nG=\"a\"'b'c\n")
    assert kv["A"] == "single $x \\n"
    assert kv["B"] == 'dq "q" $HOME \\ \\n'
    assert kv["C"] == "plain word"
    assert "D" not in kv and "F" not in kv
    assert kv["E"] == "1" and kv["G"] == "abc"


@pytest.mark.parametrize("files, os_type, distro, major, minor", [
    ({"/etc/freebsd-update.conf": b"", "/bin/freebsd-version":
      b'#!/bin/sh\nUSERLAND_VERSION="14.0-RELEASE-p3"\n'}, "freebsd", "freebsd", 14, 0),
    ({"/netbsd": b"", "/etc/release": b"NetBSD 9.3 (GENERIC) #0: Thu Aug  4 15:30:37 UTC 2022\n"},
     "netbsd", "netbsd", 9, 3),
    ({"/bsd": b"", "/etc/motd": b"OpenBSD 7.4 (GENERIC) #1397: Tue Oct 10 09:02:37 MDT 2023\n"},
     "openbsd", "openbsd", 7, 4),
    ({"/hurd/console": b"", "/etc/debian_version": b"13.0\n"}, "hurd", "debian", 13, 0),
    ({"/service/vm": b"", "/etc/version": b"3.3.0\n"}, "minix", "unknown", 3, 3),
])
def test_non_linux_types(files, os_type, distro, major, minor):
    info = release.identify(files)
    assert (info["type"], info["distro"]) == (os_type, distro)
    assert (info["major_version"], info["minor_version"]) == (major, minor)


def test_nothing_identifies_as_unknown():
    info = release.identify({"/etc/os-release": None, "/etc/motd": b"Welcome!\n"})
    assert (info["type"], info["distro"], info["product_name"]) == ("unknown", "unknown", "unknown")
    assert info["package_format"] == "unknown"
    with pytest.raises(ValueError):
        release.identify([("/etc/os-release", b"")])


def test_release_file_paths_exported():
    assert release.RELEASE_FILES[0] == "/etc/os-release"
    assert "/etc/redhat-release" in release.RELEASE_FILES
    assert "/etc/freebsd-update.conf" in release.MARKER_PATHS


# --------------------------------------------------------------------- osinfo


@pytest.mark.parametrize("info, short", [
    ({"type": "windows", "distro": "windows", "major_version": 6, "minor_version": 1,
      "product_variant": "Client", "product_name": "Windows 7 Enterprise"}, "win7"),
    ({"type": "windows", "major_version": 6, "minor_version": 1, "product_variant": "Server",
      "product_name": "Windows Server 2008 R2 Standard"}, "win2k8r2"),
    ({"type": "windows", "major_version": 10, "minor_version": 0, "product_variant": "Client",
      "build_id": "19045", "product_name": "Windows 10 Pro"}, "win10"),
    ({"type": "windows", "major_version": 10, "minor_version": 0, "product_variant": "Client",
      "build_id": "22631", "product_name": "Windows 10 Pro"}, "win11"),
    ({"type": "windows", "major_version": 10, "minor_version": 0, "product_variant": "Server",
      "build_id": "17763", "product_name": "Windows Server 2019 Standard"}, "win2k19"),
    ({"type": "windows", "major_version": 10, "minor_version": 0, "product_variant": "Server",
      "build_id": "14393"}, "win2k16"),
    ({"type": "windows", "major_version": 5, "minor_version": 2,
      "product_name": "Microsoft Windows Server 2003 R2"}, "win2k3r2"),
    ({"type": "linux", "distro": "centos", "major_version": 7, "minor_version": 0}, "centos7.0"),
    ({"type": "linux", "distro": "opensuse", "major_version": 15, "minor_version": 5},
     "opensuse15.5"),
    ({"type": "linux", "distro": "opensuse", "major_version": 20240101, "minor_version": 0,
      "product_name": "openSUSE Tumbleweed"}, "opensusetumbleweed"),
    ({"type": "linux", "distro": "ubuntu", "major_version": 24, "minor_version": 4}, "ubuntu24.04"),
    ({"type": "freebsd", "distro": "freebsd", "major_version": 14, "minor_version": 0},
     "freebsd14.0"),
    ({"type": "linux", "distro": "unknown", "major_version": 5, "minor_version": 1}, "unknown"),
    ({"type": "linux", "distro": "rhel", "major_version": -1, "minor_version": 0}, "unknown"),
    ({"type": "windows", "major_version": "garbage", "minor_version": None}, "unknown"),
])
def test_osinfo_short_ids(info, short):
    assert osinfo.osinfo_short_id(info) == short


# --------------------------------------------------------------------- hostname


def test_hostname_precedence_and_formats():
    files = {"/etc/hostname": b"# comment\n\nweb01.example.com\n",
             "/etc/sysconfig/network": b"NETWORKING=yes\nHOSTNAME=other\n"}
    assert hostname.find_hostname(files) == "web01.example.com"
    files["/etc/HOSTNAME"] = b"suse-host\n"
    assert hostname.find_hostname(files) == "suse-host"
    assert hostname.find_hostname({"/etc/sysconfig/network":
                                   b'NETWORKING=yes\nHOSTNAME="rhel6.local"\n'}) == "rhel6.local"
    assert hostname.find_hostname({"/etc/conf.d/hostname": b'hostname="gentoo-box"\n'},
                                  distro="gentoo") == "gentoo-box"
    assert hostname.find_hostname({"/etc/rc.conf": b'ifconfig_vtnet0="DHCP"\nhostname="fbsd"\n'},
                                  "freebsd") == "fbsd"
    assert hostname.find_hostname({"/etc/myname": b"obsd.example.org\n"}, "openbsd") == \
        "obsd.example.org"
    assert hostname.find_hostname({}) is None
    assert hostname.HOSTNAME_FILES[:2] == ("/etc/HOSTNAME", "/etc/hostname")


def test_hostname_rejects_hostile_values():
    bad = [b"evil;rm -rf /\n", b"\xff\xfe\n", b"a\x00b\n", b"x" * 300 + b"\n", b"../etc\n",
           b"-leading\n"]
    for data in bad:
        assert hostname.find_hostname({"/etc/hostname": data}) is None, data
    # an invalid first candidate falls through to the next
    files = {"/etc/HOSTNAME": b"bad name!\n", "/etc/hostname": b"good\n"}
    assert hostname.find_hostname(files) == "good"
    assert hostname.find_hostname({"/etc/hostname": b"h" * 255}) == "h" * 255


# --------------------------------------------------------------------- fstab


def test_fstab_realistic():
    entries = fstab.parse_fstab(FSTAB)
    by_mp = {e["mountpoint"]: e for e in entries}
    assert list(by_mp) == ["/", "/boot", "/boot/efi", "/srv", "/home", "/mnt/my data"]
    assert by_mp["/"]["spec"] == "UUID=2f0f3a1c-5a57-4c39-9f0e-3f8f0f1b2a11"
    assert by_mp["/"]["options"] == "errors=remount-ro"
    assert by_mp["/boot"]["spec"] == "LABEL=boot"
    assert by_mp["/boot/efi"]["vfstype"] == "vfat"
    assert by_mp["/home"]["subvol"] == "@home" and by_mp["/home"]["subvolid"] == 257
    assert by_mp["/srv"]["subvol"] is None
    assert by_mp["/mnt/my data"]["spec"] == "/dev/sdb1"


def test_crypttab():
    data = (b"# <target> <source> <keyfile> <options>\n"
            b"luks-root UUID=0d1e2f3a-aaaa-bbbb-cccc-1234567890ab none luks,discard\n"
            b"swap /dev/vda3 /dev/urandom swap,cipher=aes-xts-plain64\n"
            b"home PARTUUID=1234-5678\n"
            b"../evil /dev/vda4 none luks\n")
    entries = fstab.parse_crypttab(data)
    assert [e["name"] for e in entries] == ["luks-root", "swap", "home"]
    assert entries[0]["keyfile"] is None and entries[0]["options"] == ["luks", "discard"]
    assert entries[1]["keyfile"] == "/dev/urandom"
    assert entries[2] == {"name": "home", "device": "PARTUUID=1234-5678", "keyfile": None,
                          "options": []}


@pytest.mark.parametrize("spec, expected", [
    ("/dev/vda3", ("device", "/dev/sda3")),
    ("/dev/hda3", ("device", "/dev/sda3")),
    ("/dev/xvdb1", ("device", "/dev/sdb1")),
    ("/dev/sdb1", ("device", "/dev/sdb1")),
    ("/dev/vdb", ("device", "/dev/sdb")),
    ("/dev/vdaa2", ("device", "/dev/sdaa2")),
    ("/dev/nvme1n1p2", ("device", "/dev/sdb2")),
    ("/dev/vtbd0p2", ("device", "/dev/sda2")),
    ("/dev/vda0", None),
    ("UUID=abc-123", ("UUID", "abc-123")),
    ('LABEL="my root"', ("LABEL", "my root")),
    ("PARTUUID=1-2", ("PARTUUID", "1-2")),
    ("PARTLABEL=root", ("PARTLABEL", "root")),
    ("UUID=", None),
    ("/dev/disk/by-uuid/2f0f3a1c", ("UUID", "2f0f3a1c")),
    ("/dev/disk/by-label/my\\x20disk", ("LABEL", "my disk")),
    ("/dev/disk/by-partuuid/ab-01", ("PARTUUID", "ab-01")),
    ("/dev/disk/by-partlabel/EFI", ("PARTLABEL", "EFI")),
    ("/dev/disk/by-id/ata-XYZ", None),
    ("/dev/VolGroup00/LogVol00", ("lv", "VolGroup00", "LogVol00")),
    ("/dev/mapper/vg--root-lv_root", ("lv", "vg-root", "lv_root")),
    ("/dev/mapper/rhel-root", ("lv", "rhel", "root")),
    ("/dev/mapper/cryptroot", ("mapper", "cryptroot")),
    ("/dev/md0", ("md", "0")),
    ("/dev/md/root", ("md", "root")),
    ("/dev/VG/../etc", None),
    ("/dev/mapper/..", None),
    ("/etc/passwd", None),
    ("none", None),
    ("/dev/" + "a/" * 600, None),
])
def test_remap_disk_name(spec, expected):
    assert fstab.remap_disk_name(spec) == expected


def test_remap_disk_name_with_appliance_disks():
    disks = ["/dev/sda", "/dev/nvme0n1"]
    assert fstab.remap_disk_name("/dev/vdb3", disks) == ("device", "/dev/nvme0n1p3")
    assert fstab.remap_disk_name("/dev/vda1", disks) == ("device", "/dev/sda1")
    assert fstab.remap_disk_name("/dev/vdc1", disks) is None     # no third disk
    assert [fstab.disk_letters(i) for i in (0, 25, 26, 701, 702)] == ["a", "z", "aa", "zz", "aaa"]
    assert all(fstab.disk_index(fstab.disk_letters(i)) == i for i in range(0, 2000, 7))


# --------------------------------------------------------------------- packages


def test_dpkg_status():
    apps = packages.list_dpkg(DEBIAN_STATUS)
    names = [a["app2_name"] for a in apps]
    assert names == ["adduser", "libc6", "openssh-server"]      # half-installed / config-files skipped
    for app in apps:
        assert tuple(app) == packages.APPLICATION2_FIELDS
    adduser, libc, ssh = apps
    assert (adduser["app2_epoch"], adduser["app2_version"], adduser["app2_release"]) == \
        (0, "3.134", "")
    assert adduser["app2_arch"] == "all"
    assert adduser["app2_summary"] == "add and remove users and groups"
    assert adduser["app2_description"].splitlines() == [
        "This package includes the 'adduser' and 'deluser' commands for creating",
        "and removing users.", ".", "Second paragraph."]   # "." kept, as libguestfs
    assert adduser["app2_url"] == "https://salsa.debian.org/debian/adduser"
    assert (libc["app2_version"], libc["app2_release"], libc["app2_source_package"]) == \
        ("2.36", "9+deb12u4", "glibc")
    assert (ssh["app2_epoch"], ssh["app2_version"], ssh["app2_release"]) == (1, "9.2p1", "2+deb12u2")
    assert ssh["app2_url"] == "https://www.openssh.com/"
    assert ssh["app2_display_name"] == "" and ssh["app2_spare4"] == ""


def test_dpkg_bad_epoch_skipped():
    data = (b"Package: a\nStatus: install ok installed\nVersion: x:1.0-1\n\n"
            b"Package: b\nStatus: install ok installed\nVersion: 2:1.0\n")
    apps = packages.list_dpkg(data)
    assert [(a["app2_name"], a["app2_epoch"], a["app2_release"]) for a in apps] == [("b", 2, "")]


def test_apk_installed():
    data = (b"C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383152\nI:622592\n"
            b"T:the musl c library (libc) implementation\nU:https://musl.libc.org/\n"
            b"L:MIT\no:musl\nm:Timo Ter\xc3\xa4s <timo.teras@iki.fi>\nF:lib\nR:libc.musl-x86_64.so.1\n"
            b"\n"
            b"C:Q1def=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nT:Size optimized toolbox\n"
            b"U:https://busybox.net/\no:busybox\n\n")
    apps = packages.list_apk(data)
    assert [(a["app2_name"], a["app2_version"], a["app2_release"]) for a in apps] == [
        ("musl", "1.2.4_git20230717", "r4"), ("busybox", "1.36.1", "r15")]
    assert apps[0]["app2_url"] == "https://musl.libc.org/"
    assert apps[0]["app2_summary"] == "the musl c library (libc) implementation"
    assert apps[1]["app2_source_package"] == "busybox" and apps[1]["app2_arch"] == "x86_64"


def test_pacman_desc():
    desc = (b"%NAME%\nbash\n\n%VERSION%\n5.2.026-2\n\n%BASE%\nbash\n\n"
            b"%DESC%\nThe GNU Bourne Again shell\n\n%URL%\nhttps://www.gnu.org/software/bash/\n\n"
            b"%ARCH%\nx86_64\n\n%DEPENDS%\nreadline\nglibc\n")
    app = packages.parse_pacman_desc(desc)
    assert (app["app2_name"], app["app2_version"], app["app2_release"], app["app2_epoch"]) == \
        ("bash", "5.2.026", "2", 0)
    assert app["app2_summary"] == "The GNU Bourne Again shell"
    assert app["app2_url"] == "https://www.gnu.org/software/bash/"
    assert app["app2_arch"] == "x86_64"
    epoch = packages.parse_pacman_desc(b"%NAME%\nlibjpeg\n\n%VERSION%\n1:3.0.1-1\n")
    assert (epoch["app2_epoch"], epoch["app2_version"]) == (1, "3.0.1")
    assert packages.parse_pacman_desc(b"%VERSION%\n1.0-1\n") is None
    apps = packages.list_pacman([desc, b"garbage", desc])
    assert [a["app2_name"] for a in apps] == ["bash", "bash"]


# --------------------------------------------------------------------- hostile input


@pytest.fixture(scope="module")
def garbage():
    return random.Random(1234).randbytes(50 * 1024 * 1024)


def _all_parsers():
    return [
        ("identify", lambda d: release.identify({p: d for p in release.RELEASE_FILES
                                                 + release.MARKER_PATHS})),
        ("os-release", release.parse_os_release),
        ("fstab", fstab.parse_fstab),
        ("crypttab", fstab.parse_crypttab),
        ("hostname", lambda d: hostname.find_hostname({p: d for p in hostname.HOSTNAME_FILES})),
        ("dpkg", packages.list_dpkg),
        ("apk", packages.list_apk),
        ("pacman", packages.parse_pacman_desc),
    ]


@pytest.mark.parametrize("name, parse", _all_parsers(), ids=[n for n, _ in _all_parsers()])
def test_50mb_garbage_is_quick(name, parse, garbage):
    # CPU time of this process: a loaded machine does not make it fail, a parser that
    # goes quadratic does
    for blob in (garbage, b"\n" * (20 * 1024 * 1024), b"x" * (20 * 1024 * 1024)):
        start = time.process_time()
        try:
            result = parse(blob)
        except ValueError:
            result = None
        assert time.process_time() - start < 1.0, name
        assert result is None or isinstance(result, (dict, list, str, tuple))


def test_fstab_line_bound():
    line = b"/dev/vda1 /data%d ext4 defaults 0 0\n"
    data = b"".join(line % i for i in range(50_000))
    start = time.process_time()
    entries = fstab.parse_fstab(data)
    assert time.process_time() - start < 1.0
    assert len(entries) == fstab.MAX_FSTAB_LINES
    assert entries[-1]["mountpoint"] == "/data%d" % (fstab.MAX_FSTAB_LINES - 1)


def test_non_utf8_nul_and_long_lines():
    # fstab: a NUL inside a field is dropped, bad UTF-8 is replaced, long lines skipped
    data = (b"/dev/vda1 /\xff\xfeweird ext4 defaults 0 0\n"
            b"/dev/vda2 /x\x00y ext4 defaults 0 0\n"
            b"/dev/vda3 /" + b"a" * 100_000 + b" ext4 defaults 0 0\n"
            b"/dev/vda4 /ok ext4 defaults 0 0\n")
    mps = [e["mountpoint"] for e in fstab.parse_fstab(data)]
    assert mps == ["/\ufffd\ufffdweird", "/xy", "/ok"]
    # os-release: NULs and invalid bytes never reach the output
    info, _ = release.parse_os_release(b'ID=debian\nVERSION_ID="1\x002"\nPRETTY_NAME="\xff\x00X"\n')
    assert info["distro"] == "debian" and "\x00" not in info["product_name"]
    assert info["product_name"] == "\ufffdX" and info["major_version"] == 12
    # a huge product name is bounded
    info = release.identify({"/etc/redhat-release": b"Fedora release 39 " + b"Z" * 1_000_000})
    assert info["distro"] == "fedora" and len(info["product_name"]) <= release.MAX_PRODUCT_NAME
    # huge version numbers do not become huge ints
    info = release.identify({"/etc/alpine-release": b"9" * 5000})
    assert info["major_version"] < 10**9
    # dpkg: an endless description is bounded, bad bytes replaced
    data = (b"Package: big\nStatus: install ok installed\nVersion: 1\nDescription: s\xff\n"
            + b" line\n" * 200_000 + b"Homepage: http://x\n")
    (app,) = packages.list_dpkg(data)
    assert len(app["app2_description"]) <= packages.MAX_DESCRIPTION
    assert app["app2_summary"] == "s\ufffd" and app["app2_url"] == "http://x"


def test_package_count_bounded(monkeypatch):
    monkeypatch.setattr(packages, "MAX_PACKAGES", 10)
    stanza = b"Package: p%d\nStatus: install ok installed\nVersion: 1.0-1\n\n"
    assert len(packages.list_dpkg(b"".join(stanza % i for i in range(100)))) == 10
    apk = b"P:p%d\nV:1-r0\n\n"
    assert len(packages.list_apk(b"".join(apk % i for i in range(100)))) == 10


def test_wrong_input_types_raise_value_error():
    for call in (lambda: fstab.parse_fstab(None), lambda: packages.list_dpkg(12),
                 lambda: release.parse_os_release(object()), lambda: osinfo.osinfo_short_id("x"),
                 lambda: hostname.find_hostname(None)):
        with pytest.raises(ValueError):
            call()


# ---- the appliance-side walk and the host-side checks (no VM: host directories) ----------

def test_odd_trees_do_not_stop_inspection(tmp_path):
    """A symlink loop at /etc, a regular file where /usr should be: no exception, just
    'not an OS' (one odd disk must not stop the inspection of the others)."""
    from guestkit.daemon.inspect import scan
    loop = tmp_path / "loop"
    loop.mkdir()
    os.symlink("etc", loop / "etc")
    assert scan.is_dir(str(loop), "/etc") is False
    assert scan.describe_root(str(loop)) is None
    odd = tmp_path / "odd"
    (odd / "etc").mkdir(parents=True)
    (odd / "etc" / "fstab").write_bytes(b"/dev/sda1 / ext4 defaults 0 1\n")
    (odd / "usr").write_bytes(b"not a directory")
    assert scan.exists(str(odd), "/usr/bin/ls") is False
    assert scan.describe_root(str(odd)) is None
    assert scan.safe_resolve(str(loop), "/etc/x") is None


def test_guest_files_are_read_inside_the_root_only(tmp_path):
    from guestkit.daemon.inspect import scan
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    secret = tmp_path / "host-secret"
    secret.write_bytes(b"host only\n")
    os.symlink(str(secret), root / "etc" / "hostname")     # absolute: inside the root
    os.mkfifo(root / "etc" / "os-release")                  # never blocks
    assert scan.read_file(str(root), "/etc/hostname", 100) is None
    assert scan.read_file(str(root), "/etc/os-release", 100) is None
    (root / "etc" / "debian_version").write_bytes(b"12.5\n" * 1000)
    assert scan.read_file(str(root), "/etc/debian_version", 10) == b"12.5\n12.5\n"


def test_elf_architectures():
    from guestkit.daemon.inspect.scan import elf_arch
    hdr = lambda cls, data, machine: (b"\x7fELF" + bytes((cls, data)) + b"\0" * 12 +
                                      machine.to_bytes(2, "little" if data == 1 else "big"))
    assert elf_arch(hdr(2, 1, 62)) == "x86_64" and elf_arch(hdr(1, 1, 3)) == "i386"
    assert elf_arch(hdr(2, 1, 183)) == "aarch64" and elf_arch(hdr(2, 1, 21)) == "ppc64le"
    assert elf_arch(hdr(2, 2, 21)) == "ppc64" and elf_arch(hdr(2, 2, 22)) == "s390x"
    assert elf_arch(hdr(2, 1, 243)) == "riscv64"
    assert elf_arch(b"#!/bin/sh\n" + b"\0" * 20) is None and elf_arch(b"\x7fELF") is None


def test_host_checks_what_the_appliance_says():
    import guestkit
    from guestkit.inspect import records
    good = {"root": "/dev/sda1", "type": "linux", "distro": "debian",
            "product_name": "Deb\ufffeian\x01 12", "major_version": 12, "minor_version": 5,
            "mountpoints": [["/", "/dev/sda1"], ["/boot", "btrfsvol:/dev/sdb/@boot"]],
            "filesystems": []}
    rec = records.root_records([good])["/dev/sda1"]
    assert rec["product_name"] == "Debian 12"          # nothing XML cannot carry
    assert rec["hostname"] == "unknown" and rec["filesystems"] == [
        "/dev/sda1", "btrfsvol:/dev/sdb/@boot"]
    for bad in (dict(good, root="/etc/passwd"), dict(good, major_version=-1),
                dict(good, major_version=True), dict(good, mountpoints=[["boot", "/dev/x"]]),
                dict(good, mountpoints=[["/", "/dev/../etc"]]), dict(good, distro="x" * 5000),
                dict(good, mountpoints=[["/", "/dev/sda\x01"]])):
        with pytest.raises(guestkit.Error) as e:
            records.root_records([bad])
        assert e.value.errno_name == "EIO"
    with pytest.raises(guestkit.Error):
        records.root_records([good] * 65)
    with pytest.raises(guestkit.Error):
        records.icon(b"GIF89a....")
    assert records.icon(b"") == b""


def test_key_selectors(tmp_path):
    from guestkit.tools.common import ToolError, parse_key_selector
    assert parse_key_selector("/dev/sda2:key:pa:key:ss") == ("/dev/sda2", "pa:key:ss")
    assert parse_key_selector("0b1e-uuid:key:") == ("0b1e-uuid", "")
    f = tmp_path / "k"
    f.write_text("from a file\nsecond line\n")
    assert parse_key_selector("/dev/vg/lv:file:%s" % f) == ("/dev/vg/lv", "from a file")
    for bad in ("nonsense", "/dev/sda2:pass:x", ":key:x", "/dev/sda2:file:"):
        with pytest.raises(ToolError):
            parse_key_selector(bad)


def test_rpm_database_garbage_and_bad_headers(tmp_path):
    """A database of garbage is refused at once; a database whose header blobs are garbage
    or lie about their sizes yields the good headers only."""
    import sqlite3
    import struct
    from guestkit.daemon.inspect import rpmdb
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(1 << 20))
    t0 = time.monotonic()
    with pytest.raises(ValueError):
        rpmdb.list_rpm_sqlite(str(junk))
    assert time.monotonic() - t0 < 5

    def header(entries, store):
        index = b"".join(struct.pack(">IIII", *e) for e in entries)
        return struct.pack(">II", len(entries), len(store)) + index + store
    store = b"good\0" + b"1.0\0" + b"2\0" + struct.pack(">I", 7)
    good = header([(1000, 6, 0, 1), (1001, 6, 5, 1), (1002, 6, 9, 1), (1003, 4, 11, 1)],
                  store)
    liar = struct.pack(">II", 1000000, 5) + b"x" * 100           # more entries than bytes
    unterminated = header([(1000, 6, 0, 1)], b"no-nul-here")
    db = tmp_path / "rpmdb.sqlite"
    c = sqlite3.connect(str(db))
    c.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB)")
    for b in (liar, good, b"", unterminated, os.urandom(64)):
        c.execute("INSERT INTO Packages (blob) VALUES (?)", (b,))
    c.commit()
    c.close()
    apps = rpmdb.list_rpm_sqlite(str(db))
    assert [(a["app2_name"], a["app2_version"], a["app2_release"], a["app2_epoch"])
            for a in apps] == [("good", "1.0", "2", 7)]
    with pytest.raises(ValueError):
        rpmdb.parse_header(liar)


# ---- Windows ----------------------------------------------------------------------------

def test_pe_arch():
    from tests.windows_image import pe_header
    from guestkit.daemon.inspect import windows as W
    assert W.pe_arch(pe_header()) == "x86_64"
    assert W.pe_arch(pe_header(0x14C)) == "i386"
    assert W.pe_arch(pe_header(0xAA64)) == "aarch64"
    assert W.pe_arch(pe_header(0x1234)) is None             # a machine we do not know
    assert W.pe_arch(b"MZ") is None
    bad = bytearray(pe_header())
    bad[0x3C:0x40] = (0xFFFFFFF0).to_bytes(4, "little")       # e_lfanew past the header
    assert W.pe_arch(bytes(bad)) is None
    assert W.pe_arch(b"\x7fELF" + bytes(100)) is None


def test_boot_ini_systemroots():
    from guestkit.daemon.inspect import windows as W
    ini = (b"[boot loader]\r\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
           b"[operating systems]\r\n"
           b"multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS=\"XP\" /fastdetect\r\n"
           b"scsi(0)disk(1)rdisk(0)partition(2)\\Other\\Win=\"2003\"\r\n"
           b"multi(0)disk(0)rdisk(0)partition(1)\\..\\..\\etc=\"escape\"\r\n"
           b"C:\\CMDCONS\\BOOTSECT.DAT=\"Recovery Console\" /cmdcons\r\n"
           b"multi(0)disk(0)rdisk(0)partition(3)\\After=\"not read\"\r\n")
    assert W.boot_ini_systemroots(ini) == ["/WINDOWS", "/Other/Win"]
    assert W.boot_ini_systemroots(b"no sections here") == []
    many = b"[operating systems]\n" + b"multi(0)disk(0)rdisk(0)partition(1)\\W=x\n" * 10000
    assert len(W.boot_ini_systemroots(many)) <= W.MAX_BOOT_INI_ENTRIES


def test_mounted_device_blobs():
    import struct
    import uuid
    from guestkit.daemon.inspect import windows as W
    mbr = struct.pack("<IQ", 0x8E43F1BB, 34816 * 512)
    assert W.mounted_device("\\DosDevices\\C:", W.REG_BINARY, mbr) == \
        ("C", ("mbr", "8e43f1bb", 34816 * 512))
    guid = "79252bc3-8398-45dc-9b1c-1a620d2e2b38"
    gpt = b"DMIO:ID:" + uuid.UUID(guid).bytes_le
    assert W.mounted_device("\\dosdevices\\e:", W.REG_BINARY, gpt) == ("E", ("gpt", guid))
    assert W.registry_guid(uuid.UUID(guid).bytes_le) == guid
    for key, typ, blob in (("\\??\\Volume{x}", W.REG_BINARY, mbr),      # not a letter
                           ("\\DosDevices\\C:", W.REG_SZ, mbr),         # not binary
                           ("\\DosDevices\\D:", W.REG_BINARY, "\\??\\IDE#CdRom".encode(
                               "utf-16-le")),                           # optical drive
                           ("\\DosDevices\\CC:", W.REG_BINARY, mbr),
                           ("\\DosDevices\\1:", W.REG_BINARY, mbr)):
        assert W.mounted_device(key, typ, blob) is None, key


def test_windows_version_and_gpo_names():
    from guestkit.daemon.inspect import windows as W
    assert W.version(10, 0, "6.3") == (10, 0)             # Windows 10 says 6.3 too
    assert W.version(None, None, "6.1") == (6, 1)
    assert W.version(10, None, "5.2") == (5, 2)
    assert W.version(None, None, "x" * 10000) == (0, 0)
    assert W.version(None, None, None) == (0, 0)
    assert W.is_gpo_guid("{31B2F340-016D-11D2-945F-00C04FB984F9}")
    assert not W.is_gpo_guid("Extensions") and not W.is_gpo_guid("{}")


# ---- rpm's Berkeley DB and ndb databases -----------------------------------------------

@pytest.fixture(scope="module")
def rpm_sqlite(tmp_path_factory):
    from tests.guest_images import rpm_database
    return rpm_database(tmp_path_factory.mktemp("rpmdb"))


def _walk(fn, path):
    with open(path, "rb") as f:
        data = f.read()
    return list(fn(lambda off, n: data[off:off + n], len(data)))


def test_rpm_bdb_both_byte_orders(rpm_sqlite, tmp_path):
    """A Berkeley DB made by db_load, in the host's byte order and big-endian (as an s390x
    guest writes it, keys included), gives every header blob back."""
    import struct
    import subprocess
    from guestkit.daemon.inspect import rpmformats
    from tests.guest_images import rpm_bdb, rpm_header_blobs
    want = sorted((i, bytes(b)) for i, b in rpm_header_blobs(rpm_sqlite))
    assert sorted(_walk(rpmformats.bdb_hash_blobs, rpm_bdb(rpm_sqlite, tmp_path / "le"))) \
        == want
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=1024", "HEADER=END"]
    for idx, blob in want:
        lines += [" " + struct.pack(">I", idx).hex(), " " + blob.hex()]
    big = tmp_path / "Packages.be"
    subprocess.run(["db5.3_load", "-c", "db_lorder=4321", str(big)],
                   input=("\n".join(lines + ["DATA=END"]) + "\n").encode(), check=True)
    assert sorted(_walk(rpmformats.bdb_hash_blobs, big)) == want


def test_rpm_bdb_damage(rpm_sqlite, tmp_path):
    """Garbage, a loop in an overflow chain, and a truncated file: a quick ValueError or
    the entries still whole, never a hang."""
    import struct
    from guestkit.daemon.inspect import rpmformats
    from tests.guest_images import rpm_bdb
    with pytest.raises(ValueError):
        list(rpmformats.bdb_hash_blobs(lambda o, n: os.urandom(n), 1 << 20))
    data = bytearray(open(rpm_bdb(rpm_sqlite, tmp_path), "rb").read())
    pagesize = struct.unpack_from("<I", data, 20)[0]
    for pg in range(1, len(data) // pagesize):              # every overflow page -> itself
        if data[pg * pagesize + 25] == 7:
            struct.pack_into("<I", data, pg * pagesize + 16, pg)
    t0 = time.monotonic()
    looped = list(rpmformats.bdb_hash_blobs(lambda o, n: bytes(data[o:o + n]), len(data)))
    assert time.monotonic() - t0 < 2
    assert all(rpmformats.MAX_BLOB >= len(b) for _, b in looped)
    short = bytes(data[:len(data) // 2])
    list(rpmformats.bdb_hash_blobs(lambda o, n: short[o:o + n], len(short)))


def test_rpm_ndb_and_its_damage(rpm_sqlite, tmp_path):
    from guestkit.daemon.inspect import rpmformats
    from tests.guest_images import rpm_header_blobs, rpm_ndb
    want = sorted((i, bytes(b)) for i, b in rpm_header_blobs(rpm_sqlite))
    path = rpm_ndb(rpm_sqlite, tmp_path)
    assert sorted(_walk(rpmformats.ndb_blobs, path)) == want
    data = bytearray(open(path, "rb").read())
    data[4096 + 40] ^= 0xFF                     # inside the first blob: its adler32 fails
    got = list(rpmformats.ndb_blobs(lambda o, n: bytes(data[o:o + n]), len(data)))
    assert [i for i, _ in got] == [want[1][0]]
    for bad in (b"RpmP" + bytes(28), os.urandom(8192)):
        with pytest.raises(ValueError):
            list(rpmformats.ndb_blobs(lambda o, n: bad[o:o + n], len(bad)))
