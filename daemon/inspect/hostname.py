"""Find a guest's hostname in its configuration files.

Plain files (/etc/hostname, /etc/HOSTNAME, /etc/myname) give their first
non-blank, non-comment line; /etc/sysconfig/network (``HOSTNAME=``),
Gentoo's /etc/conf.d/hostname (``hostname="x"``) and the BSDs' /etc/rc.conf
(``hostname=``) are shell-style assignments.  The caller reads the paths of
``candidates(type, distro)`` (or all of ``HOSTNAME_FILES``) and passes them
to ``find_hostname``, which returns the first valid hostname in precedence
order.
"""

import re

from ._text import as_bytes, iter_lines, parse_shell_assignments

MAX_HOSTNAME = 255
MAX_HOSTNAME_FILE_BYTES = 64 * 1024

# Every file any guest type may keep its hostname in.
HOSTNAME_FILES = (
    "/etc/HOSTNAME", "/etc/hostname", "/etc/sysconfig/network",
    "/etc/conf.d/hostname", "/etc/myname", "/etc/rc.conf",
)
# How each file is read: None = first line, else the shell variable holding it.
_VARIABLE = {
    "/etc/sysconfig/network": "HOSTNAME",
    "/etc/conf.d/hostname": "hostname",
    "/etc/rc.conf": "hostname",
}
_VALID = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?$")


def candidates(os_type="linux", distro=None):
    """The hostname files to try for a guest type / distro, best first."""
    if os_type == "freebsd":
        return ("/etc/rc.conf",)
    if os_type == "netbsd":
        return ("/etc/myname", "/etc/rc.conf")
    if os_type == "openbsd":
        return ("/etc/myname",)
    if os_type == "hurd":
        return ("/etc/hostname",)
    if os_type != "linux":
        return ()
    if distro == "gentoo":
        return ("/etc/conf.d/hostname", "/etc/hostname")
    return ("/etc/HOSTNAME", "/etc/hostname", "/etc/sysconfig/network")


def valid_hostname(name):
    """True for a plausible host name: letters, digits, ``-._``, at most 255 characters."""
    return (isinstance(name, str) and 0 < len(name) <= MAX_HOSTNAME
            and ".." not in name and bool(_VALID.match(name)))


def parse_plain(data):
    """First non-blank, non-comment line of a plain hostname file, or None if invalid."""
    for line in iter_lines(as_bytes(data)[:MAX_HOSTNAME_FILE_BYTES], 100, 1024):
        text = line.decode("utf-8", "replace").strip()   # validated below, never cleaned
        if not text or text.startswith("#"):
            continue
        return text if valid_hostname(text) else None
    return None


def parse_variable(data, variable):
    """The value of shell variable ``variable`` in ``data``, or None if missing or invalid."""
    kv = parse_shell_assignments(as_bytes(data)[:MAX_HOSTNAME_FILE_BYTES],
                                 max_value=MAX_HOSTNAME + 1)
    name = kv.get(variable, "").strip()
    return name if valid_hostname(name) else None


def parse_file(path, data):
    """Hostname held in guest file ``path`` with contents ``data``, or None."""
    variable = _VARIABLE.get(path)
    if variable is None:
        return parse_plain(data)
    return parse_variable(data, variable)


def find_hostname(files, os_type="linux", distro=None):
    """First valid hostname among ``files`` ({path: bytes or None}) in precedence order."""
    if not isinstance(files, dict):
        raise ValueError("files must be a dict of guest path -> bytes")
    for path in candidates(os_type, distro):
        data = files.get(path)
        if data is None:
            continue
        name = parse_file(path, data)
        if name:
            return name
    return None
