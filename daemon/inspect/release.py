"""Identify a guest OS from its release files.

Parses /etc/os-release (shell-like ``KEY=value``) and the older per-distro
files (/etc/lsb-release, /etc/redhat-release, /etc/debian_version,
/etc/SuSE-release, /etc/alpine-release ...), plus the BSD, Hurd and MINIX
markers, into the values of libguestfs's inspect_get_type / _distro /
_product_name / _major_version / _minor_version / _package_format /
_package_management.  Distro names are the ones guestfs(3) lists.

The caller reads every path in ``RELEASE_FILES`` that exists (bounded,
``MAX_RELEASE_BYTES`` is plenty) and checks every path in ``MARKER_PATHS``
for existence, then calls ``identify({path: bytes or None})``; for a marker
any non-None value means "exists".
"""

import re

from ._text import as_bytes, first_line, parse_shell_assignments, parse_version

MAX_RELEASE_BYTES = 64 * 1024
MAX_PRODUCT_NAME = 256

# Files whose contents identify the OS; os-release first, then libguestfs's order
# for the older files (more specific before the generic files they also ship).
RELEASE_FILES = (
    "/etc/os-release", "/usr/lib/os-release",
    "/etc/lsb-release", "/etc/altlinux-release", "/etc/oracle-release",
    "/etc/fedora-release", "/etc/mageia-release", "/etc/rocky-release",
    "/etc/almalinux-release", "/etc/centos-release", "/etc/redhat-release",
    "/etc/debian_version", "/etc/pardus-release", "/etc/arch-release",
    "/etc/gentoo-release", "/etc/SuSE-release", "/etc/slackware-version",
    "/etc/frugalware-release", "/etc/alpine-release", "/etc/cirros/version",
    "/bin/freebsd-version", "/etc/release", "/etc/motd", "/etc/version",
)
# Paths that only need to exist (directories or files never read).
MARKER_PATHS = ("/etc/freebsd-update.conf", "/netbsd", "/bsd", "/hurd/console", "/service/vm")

# os-release ID -> libguestfs distro name.
_OS_RELEASE_IDS = {
    "alpine": "alpinelinux", "altlinux": "altlinux", "arch": "archlinux",
    "archarm": "archlinux", "centos": "centos", "coreos": "coreos",
    "debian": "debian", "fedora": "fedora", "frugalware": "frugalware",
    "gentoo": "gentoo", "kali": "kalilinux", "kylin": "kylin",
    "linuxmint": "linuxmint", "mageia": "mageia", "neokylin": "neokylin",
    "openmandriva": "openmandriva", "opensuse": "opensuse",
    "opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse",
    "opensuse-microos": "opensuse", "ol": "oraclelinux", "pardus": "pardus",
    "pld": "pldlinux", "rhel": "rhel", "rocky": "rocky", "scientific": "scientificlinux",
    "sles": "sles", "sled": "sles", "sles_sap": "sles", "slackware": "slackware",
    "ubuntu": "ubuntu", "void": "voidlinux",
    "freebsd": "freebsd", "netbsd": "netbsd", "openbsd": "openbsd",
}
# ID_LIKE words -> the "family" distro names guestfs(3) defines.
_ID_LIKE = (({"rhel", "fedora", "centos"}, "redhat-based"),
            ({"suse", "opensuse", "sles"}, "suse-based"),
            ({"coreos"}, "coreos"))
_BSD_TYPES = {"freebsd", "netbsd", "openbsd"}
# Distros whose os-release normally has no VERSION_ID (rolling releases).
_ROLLING = {"archlinux", "voidlinux", "gentoo"}

# Product-name prefixes in /etc/redhat-release and its siblings.
_REDHAT_PREFIXES = (
    ("Red Hat Enterprise Linux", "rhel"), ("CentOS", "centos"),
    ("Scientific Linux", "scientificlinux"), ("Fedora", "fedora"),
    ("Rocky Linux", "rocky"), ("Oracle Linux", "oraclelinux"), ("Mageia", "mageia"),
)
_RELEASE_VERSION = re.compile(r"release\s+(\d{1,9})(?:\.(\d{1,9}))?")
_RHEL_UPDATE = re.compile(r"Update\s+(\d{1,9})")
_SUSE_KEY = re.compile(r"^\s*(VERSION|PATCHLEVEL)\s*=\s*(\S+)")

# (distro) -> (package format, package management tool), per guestfs(3).
_PACKAGES = {
    "debian": ("deb", "apt"), "ubuntu": ("deb", "apt"), "linuxmint": ("deb", "apt"),
    "kalilinux": ("deb", "apt"), "archlinux": ("pacman", "pacman"),
    "gentoo": ("ebuild", "portage"), "pardus": ("pisi", "pisi"),
    "alpinelinux": ("apk", "apk"), "voidlinux": ("xbps", "xbps"),
    "opensuse": ("rpm", "zypper"), "sles": ("rpm", "zypper"), "suse-based": ("rpm", "zypper"),
    "mageia": ("rpm", "urpmi"), "mandriva": ("rpm", "urpmi"), "openmandriva": ("rpm", "dnf"),
    "altlinux": ("rpm", "apt"), "pldlinux": ("rpm", "unknown"), "meego": ("rpm", "unknown"),
    "netbsd": ("pkgsrc", "unknown"),
}
_REDHAT_FAMILY = {"rhel", "centos", "scientificlinux", "oraclelinux", "rocky", "redhat-based"}


def package_management(distro, major):
    """(package_format, package_management) for a distro and major version."""
    if distro == "fedora":
        return "rpm", "dnf" if major >= 22 else "yum"
    if distro in _REDHAT_FAMILY:
        if major >= 8:
            return "rpm", "dnf"
        return "rpm", "yum" if major >= 5 else "up2date"
    return _PACKAGES.get(distro, ("unknown", "unknown"))


def _result(os_type, distro, product_name, major=0, minor=0, build_id="", source=""):
    return {"type": os_type, "distro": distro,
            "product_name": (product_name or "unknown")[:MAX_PRODUCT_NAME],
            "product_variant": "unknown", "major_version": major, "minor_version": minor,
            "build_id": build_id, "source": source}


def parse_os_release(data):
    """Parse os-release bytes -> (identity dict, complete: bool).

    ``complete`` is false when the distro is unknown or it lacks the version
    libguestfs needs (Debian testing/sid, for one), so older files should be
    consulted.
    """
    kv = parse_shell_assignments(as_bytes(data)[:MAX_RELEASE_BYTES])
    os_id = kv.get("ID", "").strip().lower()
    distro = _OS_RELEASE_IDS.get(os_id)
    if distro is None:
        like = set(kv.get("ID_LIKE", "").lower().split())
        distro = next((name for words, name in _ID_LIKE if like & words), "unknown")
    version_id = kv.get("VERSION_ID", "").strip()
    major, minor = parse_version(version_id) if version_id else (0, 0)
    has_version = bool(version_id) and bool(re.match(r"\d", version_id))
    os_type = distro if distro in _BSD_TYPES else "linux"
    name = kv.get("PRETTY_NAME") or " ".join(x for x in (kv.get("NAME"), kv.get("VERSION")) if x)
    info = _result(os_type, distro, name, major, minor, kv.get("BUILD_ID", "")[:64],
                   "/etc/os-release")
    complete = distro != "unknown" and (has_version or distro in _ROLLING)
    return info, complete


def parse_lsb_release(data):
    """Ubuntu / Linux Mint /etc/lsb-release -> identity dict, or None for other distros."""
    kv = parse_shell_assignments(as_bytes(data)[:MAX_RELEASE_BYTES])
    distro = {"ubuntu": "ubuntu", "linuxmint": "linuxmint"}.get(
        kv.get("DISTRIB_ID", "").replace(" ", "").lower())
    if distro is None:
        return None
    major, minor = parse_version(kv.get("DISTRIB_RELEASE", ""))
    name = kv.get("DISTRIB_DESCRIPTION") or kv.get("DISTRIB_ID")
    return _result("linux", distro, name, major, minor, source="/etc/lsb-release")


def parse_redhat_release(data, default="redhat-based", path="/etc/redhat-release"):
    """A Red Hat-style "NAME release X.Y (Codename)" file -> identity dict."""
    line = first_line(data, MAX_PRODUCT_NAME)
    if not line:
        return None
    distro = next((d for prefix, d in _REDHAT_PREFIXES if line.startswith(prefix)), default)
    m = _RELEASE_VERSION.search(line)
    if m:
        major, minor = int(m.group(1)), int(m.group(2) or 0)
        update = _RHEL_UPDATE.search(line)
        if m.group(2) is None and update:          # "release 4 (Nahant Update 9)"
            minor = int(update.group(1))
    else:
        major, minor = parse_version(line)
    return _result("linux", distro, line, major, minor, source=path)


def parse_suse_release(data):
    """Old /etc/SuSE-release: product on line 1, ``VERSION =`` / ``PATCHLEVEL =`` below."""
    name = first_line(data, MAX_PRODUCT_NAME)
    if not name:
        return None
    if "SUSE Linux Enterprise" in name or name.startswith("SLES"):
        distro = "sles"
    elif "openSUSE" in name:
        distro = "opensuse"
    else:
        distro = "suse-based"
    major = minor = 0
    for line in as_bytes(data)[:4096].decode("utf-8", "replace").splitlines()[:50]:
        m = _SUSE_KEY.match(line)
        if m and m.group(1) == "VERSION":
            major, vminor = parse_version(m.group(2))
            minor = vminor or minor
        elif m and m.group(1) == "PATCHLEVEL":
            minor = parse_version(m.group(2))[0]
    return _result("linux", distro, name, major, minor, source="/etc/SuSE-release")


_ANY_VERSION = r"(\d{1,9})(?:\.(\d{1,9}))?"
_LEADING_VERSION = r"^(\d{1,9})(?:\.(\d{1,9}))?"


def _generic(distro, os_type="linux", name=None, pattern=_ANY_VERSION, prefix=""):
    """Parser for files whose first line is the product and carries ``pattern``.

    ``pattern`` None means the file has no version (Arch); no match gives 0/0.
    """
    def parse(data, path):
        line = first_line(data, MAX_PRODUCT_NAME)
        m = re.search(pattern, line) if pattern else None
        major, minor = (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)
        product = name or (prefix + line if line else "") or distro
        return _result(os_type, distro, product, major, minor, source=path)
    return parse


_parse_netbsd = _generic("netbsd", "netbsd", pattern=r"NetBSD\s+" + _ANY_VERSION)
_parse_openbsd = _generic("openbsd", "openbsd", pattern=r"OpenBSD\s+" + _ANY_VERSION)
_parse_minix = _generic("unknown", "minix", pattern=_LEADING_VERSION, prefix="MINIX ")


def _freebsd_version(data, path):
    kv = parse_shell_assignments(as_bytes(data)[:MAX_RELEASE_BYTES], max_lines=500)
    version = kv.get("USERLAND_VERSION", "")
    major, minor = parse_version(version)
    name = "FreeBSD " + version if version else "FreeBSD"
    return _result("freebsd", "freebsd", name, major, minor, source=path)


_LINUX_PARSERS = {
    "/etc/lsb-release": lambda d, p: parse_lsb_release(d),
    "/etc/altlinux-release": _generic("altlinux"),
    "/etc/oracle-release": lambda d, p: parse_redhat_release(d, "oraclelinux", p),
    "/etc/fedora-release": lambda d, p: parse_redhat_release(d, "fedora", p),
    "/etc/mageia-release": lambda d, p: parse_redhat_release(d, "mageia", p),
    "/etc/rocky-release": lambda d, p: parse_redhat_release(d, "rocky", p),
    "/etc/almalinux-release": lambda d, p: parse_redhat_release(d, "redhat-based", p),
    "/etc/centos-release": lambda d, p: parse_redhat_release(d, "centos", p),
    "/etc/redhat-release": lambda d, p: parse_redhat_release(d, "redhat-based", p),
    "/etc/debian_version": _generic("debian", pattern=_LEADING_VERSION),
    "/etc/pardus-release": _generic("pardus"),
    "/etc/arch-release": _generic("archlinux", name="Arch Linux", pattern=None),
    "/etc/gentoo-release": _generic("gentoo"),
    "/etc/SuSE-release": lambda d, p: parse_suse_release(d),
    "/etc/slackware-version": _generic("slackware"),
    "/etc/frugalware-release": _generic("frugalware"),
    "/etc/alpine-release": _generic("alpinelinux"),
    "/etc/cirros/version": _generic("cirros"),
}


def _present(files, path):
    return files.get(path) is not None


def identify(files):
    """Identify the OS from ``{guest path: bytes or None}`` -> identity dict.

    Keys: type, distro, product_name, product_variant, major_version,
    minor_version (ints), build_id, package_format, package_management, and
    source (the file that decided).  Unknown values are "unknown" / 0.
    """
    if not isinstance(files, dict):
        raise ValueError("files must be a dict of guest path -> bytes")
    info = _identify(files)
    info["package_format"], info["package_management"] = package_management(
        info["distro"], info["major_version"])
    return info


def _identify(files):
    get = files.get
    # The BSDs, Hurd and MINIX are recognised by files only they have.
    if _present(files, "/etc/freebsd-update.conf"):
        if _present(files, "/bin/freebsd-version"):
            return _freebsd_version(get("/bin/freebsd-version"), "/bin/freebsd-version")
        if _present(files, "/etc/os-release"):
            info, _ = parse_os_release(get("/etc/os-release"))
            if info["distro"] == "freebsd":
                return info
        return _result("freebsd", "freebsd", "FreeBSD", source="/etc/freebsd-update.conf")
    if _present(files, "/netbsd") and _present(files, "/etc/release"):
        return _parse_netbsd(get("/etc/release"), "/etc/release")
    if _present(files, "/bsd") and _present(files, "/etc/motd"):
        return _parse_openbsd(get("/etc/motd"), "/etc/motd")
    if _present(files, "/hurd/console"):
        if _present(files, "/etc/debian_version"):
            info = _LINUX_PARSERS["/etc/debian_version"](get("/etc/debian_version"),
                                                         "/etc/debian_version")
            info["type"] = "hurd"
            return info
        return _result("hurd", "unknown", "GNU/Hurd", source="/hurd/console")
    if _present(files, "/service/vm") and _present(files, "/etc/version"):
        return _parse_minix(get("/etc/version"), "/etc/version")

    partial = None
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if _present(files, path):
            info, complete = parse_os_release(get(path))
            info["source"] = path
            if complete:
                return _refine_debian(info, files)
            partial = info
            break
    for path, parse in _LINUX_PARSERS.items():
        if _present(files, path):
            info = parse(as_bytes(get(path))[:MAX_RELEASE_BYTES], path)
            if info is None:
                continue
            if partial and partial["distro"] == info["distro"] != "unknown":
                info["product_name"] = partial["product_name"]   # PRETTY_NAME reads better
            return info
    if partial is not None:
        return partial
    return _result("unknown", "unknown", "unknown")


def _refine_debian(info, files):
    """os-release gives Debian's major only; /etc/debian_version has the point release."""
    data = files.get("/etc/debian_version")
    if info["distro"] == "debian" and info["minor_version"] == 0 and data is not None:
        extra = _LINUX_PARSERS["/etc/debian_version"](as_bytes(data)[:4096], "")
        if extra["major_version"] == info["major_version"]:
            # libguestfs then describes the guest by that file, product name included
            info["minor_version"] = extra["minor_version"]
            info["product_name"] = extra["product_name"]
    return info
