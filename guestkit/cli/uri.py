"""``-a URI``: remote disks named by a URI on the command line, as guestfish(1) "ADDING
REMOTE STORAGE" lists them, turned into the add_drive arguments they stand for
(``-a nbd://example.com/exp`` is ``add exp protocol:nbd server:tcp:example.com``)."""

from urllib.parse import parse_qs, unquote, urlsplit

from . import CliError

#: scheme -> (protocol, whether the path keeps its leading /)
SCHEMES = {
    "ftp": ("ftp", True), "ftps": ("ftps", True), "http": ("http", True),
    "https": ("https", True), "tftp": ("tftp", True), "ssh": ("ssh", True),
    "gluster": ("gluster", False), "iscsi": ("iscsi", False), "nbd": ("nbd", False),
    "rbd": ("rbd", False), "sheepdog": ("sheepdog", False),
}


def is_uri(text):
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in set(SCHEMES) | {"file"}


def drive_from_uri(text):
    """(filename, add_drive keyword arguments) for the URI TEXT."""
    u = urlsplit(text)
    scheme = u.scheme.lower()
    if scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise CliError("-a %s: a file: URI names a file on this host (file:///path)"
                           % text)
        return unquote(u.path), {}
    protocol, keep_slash = SCHEMES[scheme]
    path = unquote(u.path)
    if not keep_slash:
        path = path.lstrip("/")
    kw = {"protocol": protocol}
    query = parse_qs(u.query)
    sockets = query.get("socket", [])
    try:
        host, port = u.hostname, u.port
    except ValueError:
        raise CliError("-a %s: bad port" % text) from None
    if sockets:
        if host:
            raise CliError("-a %s: give a server name or ?socket=, not both" % text)
        kw["server"] = ["unix:" + sockets[0]]
    elif host:
        name = "[%s]" % host if ":" in host else host
        kw["server"] = ["tcp:%s%s" % (name, ":%d" % port if port else "")]
    elif scheme not in ("rbd", "sheepdog"):
        raise CliError("-a %s: the URI names no server" % text)
    if u.username:
        kw["username"] = unquote(u.username)
    if u.password is not None:
        kw["secret"] = unquote(u.password)
    if keep_slash and not path:
        raise CliError("-a %s: the URI names no disk image" % text)
    return path, kw
