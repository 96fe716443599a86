"""Parse package databases into libguestfs ``application2`` dicts.

Reads dpkg's /var/lib/dpkg/status (RFC 822-like stanzas; only packages
whose Status is "installed"), apk's /lib/apk/db/installed (``K:value``
lines, blank-line separated) and one pacman local-db ``desc`` file
(/var/lib/pacman/local/NAME-VER-REL/desc, ``%SECTION%`` blocks).  Every
dict has exactly the fields of guestfs(3)'s struct guestfs_application2.
"""

import re

from ._text import as_bytes, clean, iter_lines

MAX_PACKAGES = 100_000            # applications returned by one listing
MAX_DB_LINES = 4_000_000          # lines of one database file looked at
MAX_LINE_BYTES = 64 * 1024        # longer lines are cut
MAX_FIELD = 1024                  # characters in a name, version, url ...
MAX_SUMMARY = 1024                # characters in a summary
MAX_DESCRIPTION = 16 * 1024       # characters in a description
MAX_DESC_FILE_BYTES = 1024 * 1024  # bytes of one pacman desc file looked at

APPLICATION2_FIELDS = (
    "app2_name", "app2_display_name", "app2_epoch", "app2_version", "app2_release",
    "app2_arch", "app2_install_path", "app2_trans_path", "app2_publisher", "app2_url",
    "app2_source_package", "app2_summary", "app2_description",
    "app2_spare1", "app2_spare2", "app2_spare3", "app2_spare4",
)
_EPOCH = re.compile(r"^[0-9]{1,9}$")
_DPKG_FIELDS = {b"package", b"status", b"version", b"architecture", b"description",
                b"homepage", b"source"}


def application2(name, version="", release="", epoch=0, **fields):
    """A complete application2 dict: every field present, "" / 0 when unknown."""
    app = dict.fromkeys(APPLICATION2_FIELDS, "")
    app.update(app2_name=name, app2_epoch=epoch, app2_version=version, app2_release=release)
    for key, value in fields.items():
        if "app2_" + key not in app:
            raise ValueError("no application2 field %r" % key)
        app["app2_" + key] = value
    return app


def split_version(text, release_sep="-"):
    """Split "[epoch:]version[-release]" -> (epoch int, version, release).

    The release is what follows the last ``release_sep``; a malformed epoch
    or empty version raises ValueError.
    """
    epoch = 0
    if ":" in text:
        head, text = text.split(":", 1)
        if not _EPOCH.match(head):
            raise ValueError("bad epoch in version %r" % text[:64])
        epoch = int(head)
    version, sep, release = text.rpartition(release_sep)
    if not sep:
        version, release = text, ""
    if not version:
        raise ValueError("empty version")
    return epoch, version, release


def _stanzas(data, wanted, max_lines=MAX_DB_LINES):
    """Yield {lowercased field name: [first line, continuation lines...]} per stanza.

    Only fields in ``wanted`` are kept; each field is bounded to
    MAX_DESCRIPTION bytes in total.
    """
    stanza = {}
    current = None
    for line in iter_lines(data, max_lines, MAX_LINE_BYTES, collapse_blank=True):
        if not line.strip():
            if stanza:
                yield stanza
            stanza, current = {}, None
            continue
        if line[:1] in (b" ", b"\t"):
            if current is not None and current[1] + len(line) <= MAX_DESCRIPTION:
                current[0].append(line[1:])
                current[1] += len(line)
            continue
        key, colon, value = line.partition(b":")
        key = key.strip().lower()
        if not colon or key not in wanted:
            current = None
            continue
        current = [[value.strip()], len(value)]
        stanza[key] = current
    if stanza:
        yield stanza


def _field(stanza, key, limit=MAX_FIELD):
    entry = stanza.get(key)
    return clean(entry[0][0], limit) if entry else ""


def _dpkg_description(lines):
    """Debian description: the continuation lines (" ." lines, which stand for an empty
    line, are kept as "." as libguestfs keeps them)."""
    out = []
    for raw in lines:
        out.append(clean(raw, MAX_DESCRIPTION, keep_tab=True).rstrip())
    return "\n".join(out)[:MAX_DESCRIPTION]


def list_dpkg(data):
    """Parse /var/lib/dpkg/status bytes -> list of application2 dicts (installed only)."""
    apps = []
    for stanza in _stanzas(as_bytes(data), _DPKG_FIELDS):
        status = _field(stanza, b"status").split()
        name = _field(stanza, b"package")
        if not name or status[-1:] != ["installed"]:
            continue
        try:
            epoch, version, release = split_version(_field(stanza, b"version"))
        except ValueError:
            continue
        description = stanza.get(b"description", [[b""]])[0]
        source = _field(stanza, b"source").split(" ")[0]
        apps.append(application2(
            name, version, release, epoch, arch=_field(stanza, b"architecture"),
            url=_field(stanza, b"homepage"), source_package=source,
            summary=clean(description[0], MAX_SUMMARY),
            description=_dpkg_description(description[1:])))
        if len(apps) >= MAX_PACKAGES:
            break
    return apps


def list_apk(data):
    """Parse /lib/apk/db/installed bytes -> list of application2 dicts.

    P: name, V: version ("1.36.1-r15" -> version "1.36.1", release "r15"),
    A: arch, T: summary, U: url, o: origin (source package).
    """
    apps = []
    wanted = {b"P", b"V", b"A", b"T", b"U", b"o"}
    current = {}

    def finish():
        if b"P" in current and b"V" in current and len(apps) < MAX_PACKAGES:
            try:
                epoch, version, release = split_version(clean(current[b"V"], MAX_FIELD))
            except ValueError:
                return
            apps.append(application2(
                clean(current[b"P"], MAX_FIELD), version, release, epoch,
                arch=clean(current.get(b"A", b""), MAX_FIELD),
                url=clean(current.get(b"U", b""), MAX_FIELD),
                source_package=clean(current.get(b"o", b""), MAX_FIELD),
                summary=clean(current.get(b"T", b""), MAX_SUMMARY)))

    for line in iter_lines(as_bytes(data), MAX_DB_LINES, MAX_LINE_BYTES, collapse_blank=True):
        if not line.strip():
            finish()
            current = {}
            continue
        key = line[:1]
        if line[1:2] != b":" or key not in wanted:
            continue
        if key == b"P" and b"P" in current:     # a missing blank line between packages
            finish()
            current = {}
        current[key] = line[2:]
        if len(apps) >= MAX_PACKAGES:
            return apps
    finish()
    return apps


def parse_pacman_desc(data):
    """Parse one pacman local-db ``desc`` file -> application2 dict, or None.

    Reads %NAME%, %VERSION% ("[epoch:]pkgver-pkgrel"), %DESC%, %URL% and
    %ARCH%; None when the name or a valid version is missing.
    """
    sections = {}
    current = None
    for line in iter_lines(as_bytes(data)[:MAX_DESC_FILE_BYTES], 20_000, 8192,
                           collapse_blank=True):
        text = clean(line, 8192, keep_tab=True).strip()
        if not text:
            current = None
        elif len(text) > 2 and text[0] == "%" and text[-1] == "%" and current is None:
            current = text[1:-1]
            if current in ("NAME", "VERSION", "DESC", "URL", "ARCH"):
                sections.setdefault(current, [])
            else:
                current = ""
        elif current and len(sections[current]) < 1:
            sections[current].append(text)

    def first(name, limit=MAX_FIELD):
        values = sections.get(name)
        return values[0][:limit] if values else ""

    name = first("NAME")
    if not name:
        return None
    try:
        epoch, version, release = split_version(first("VERSION"))
    except ValueError:
        return None
    return application2(name, version, release, epoch, arch=first("ARCH"),
                        url=first("URL"), summary=first("DESC", MAX_SUMMARY))


def list_pacman(desc_files):
    """Parse an iterable of pacman ``desc`` file contents -> list of application2 dicts."""
    apps = []
    for data in desc_files:
        app = parse_pacman_desc(data)
        if app is not None:
            apps.append(app)
            if len(apps) >= MAX_PACKAGES:
                break
    return apps
