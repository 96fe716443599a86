"""Guess the libosinfo short id of an identified OS (inspect_get_osinfo).

Input is an identity dict as ``release.identify`` returns it (type, distro,
major_version, minor_version, product_name, product_variant, build_id); for
Windows the caller fills those from the registry (build_id being
CurrentBuildNumber).  As guestfs(3) says, the id is only a guess and need
not exist in osinfo-db; "unknown" when no guess can be made.
"""

import re

# Distros whose osinfo id is the distro name plus the major version only.
_MAJOR_ONLY = {"fedora", "mageia", "debian"}
# Rolling releases: the osinfo id is the bare name.
_BARE = {"archlinux", "gentoo", "voidlinux"}
# libguestfs distro name -> osinfo-db prefix, where they differ.
_PREFIX = {"oraclelinux": "ol"}
# Distros osinfo-db knows under "<prefix><major>.<minor>".
_MAJOR_MINOR = {"rhel", "centos", "rocky", "alpinelinux", "opensuse", "oraclelinux",
                "scientificlinux", "altlinux", "linuxmint", "kalilinux", "mandriva",
                "openmandriva", "cirros", "freebsd", "netbsd", "openbsd"}
# Windows (major, minor) -> (client id, server id).
_WINDOWS = {
    (5, 0): ("win2k", "win2k"),
    (5, 1): ("winxp", "winxp"),
    (6, 0): ("winvista", "win2k8"),
    (6, 1): ("win7", "win2k8r2"),
    (6, 2): ("win8", "win2k12"),
    (6, 3): ("win8.1", "win2k12r2"),
}
# Windows 10 / Server 2016+ share version 10.0; the build number tells them apart.
_WIN10_SERVERS = ((26100, "win2k25"), (20348, "win2k22"), (17763, "win2k19"), (0, "win2k16"))
_WIN11_BUILD = 22000


def _int(value):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(str(value)[:12])
        except ValueError:
            return 0
    return value


def _build_number(info):
    m = re.match(r"\s*(\d{1,9})", str(info.get("build_id") or "")[:64])
    return int(m.group(1)) if m else 0


def _windows(info, major, minor):
    product = str(info.get("product_name") or "")[:256]
    variant = str(info.get("product_variant") or "")[:64]
    server = variant.lower() == "server" or "Server" in product
    if (major, minor) == (5, 2):
        if "XP" in product:
            return "winxp"
        return "win2k3r2" if "R2" in product else "win2k3"
    if (major, minor) == (10, 0):
        build = _build_number(info)
        if server:
            return next(name for first, name in _WIN10_SERVERS if build >= first)
        return "win11" if build >= _WIN11_BUILD else "win10"
    ids = _WINDOWS.get((major, minor))
    if ids is None:
        return "unknown"
    return ids[1] if server else ids[0]


def _linux(distro, major, minor, product):
    if distro in _BARE:
        return distro
    if distro == "opensuse" and "tumbleweed" in product.lower():
        return "opensusetumbleweed"
    if major <= 0 and minor <= 0:
        return "unknown"
    if distro == "ubuntu":
        return "ubuntu%d.%02d" % (major, minor)
    if distro == "centos":
        if major >= 9:
            return "centos-stream%d" % major
        if major == 8:
            return "centos8"
        return "centos%d.%d" % (major, minor)
    if distro == "sles":
        return "sles%d" % major if minor == 0 else "sles%dsp%d" % (major, minor)
    if distro in _MAJOR_ONLY:
        return "%s%d" % (distro, major)
    if distro == "altlinux":
        return "%s%d.%d" % ("alt" if major >= 8 else "altlinux", major, minor)
    if distro in _MAJOR_MINOR:
        return "%s%d.%d" % (_PREFIX.get(distro, distro), major, minor)
    return "unknown"


def osinfo_short_id(info):
    """The libosinfo short id for an identity dict, e.g. "debian12", "win10"; else "unknown"."""
    if not isinstance(info, dict):
        raise ValueError("info must be a dict")
    os_type = info.get("type")
    distro = str(info.get("distro") or "unknown")
    major = _int(info.get("major_version", 0))
    minor = _int(info.get("minor_version", 0))
    if not (0 <= major < 10**9 and 0 <= minor < 10**9):
        return "unknown"
    if os_type == "windows":
        return _windows(info, major, minor)
    if os_type in ("linux", "freebsd", "netbsd", "openbsd"):
        return _linux(distro, major, minor, str(info.get("product_name") or "")[:256])
    return "unknown"
