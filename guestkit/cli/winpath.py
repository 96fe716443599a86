"""``win:`` paths (guestfish(1) "WINDOWS PATHS"): in an argument that names a guest path,
``win:c:\\Windows\\System32`` means that path on the Windows drive C:, found through
inspection and the current mounts, with backslashes as slashes and the letter case the
guest's filesystem has."""

from . import CliError


def is_win_path(text):
    return isinstance(text, str) and text[:4].lower() == "win:"


def resolve(g, text):
    """The guest path ``win:...`` TEXT stands for (the handle must be launched, the guest
    inspected and its drive mounted)."""
    path = text[4:]
    if len(path) >= 2 and path[0].isascii() and path[0].isalpha() and path[1] == ":":
        path = _drive_mountpoint(g, path[0].lower(), text) + _sep(path[2:])
    elif not path:
        path = "/"
    path = path.replace("\\", "/")
    return g.case_sensitive_path(path)


def _sep(rest):
    return rest if rest.startswith(("/", "\\")) or not rest else "/" + rest


def _drive_mountpoint(g, letter, text):
    roots = list(g.inspect_get_roots() or [])
    if not roots:
        raise CliError("%s: drive letters need an inspected guest: use -i, or run "
                       "inspect-os first" % text)
    drives = _pairs(g.inspect_get_drive_mappings(roots[0]))
    if not drives:
        raise CliError("%s: drive letters only exist in Windows guests" % text)
    device = next((dev for name, dev in drives if name.lower() == letter), None)
    if device is None:
        raise CliError("%s: the guest has no drive %s: (inspect-get-drive-mappings %s "
                       "lists them)" % (text, letter.upper(), roots[0]))
    mountpoint = next((mp for dev, mp in _pairs(g.mountpoints()) if dev == device), None)
    if mountpoint is None:
        raise CliError("%s: drive %s: is %s, which is not mounted (mount %s / mounts it)"
                       % (text, letter.upper(), device, device))
    return mountpoint.rstrip("/")


def _pairs(value):
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    return [tuple(p) for p in value]
