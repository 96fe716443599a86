"""rpm's package database: one rpm header blob per package, parsed here with every offset
and count checked.  Three formats: sqlite (rpmdb.sqlite, Fedora 33+, RHEL 9+, current
openSUSE), opened read-only and immutable (nothing is written next to it, no lock is taken);
ndb (Packages.db) and Berkeley DB hash (Packages), walked by rpmformats.py.  Each listing has
a time budget.
"""

import os
import struct
import time

from .packages import MAX_DESCRIPTION, MAX_FIELD, MAX_PACKAGES, application2
from ._text import clean

#: where the database lives (openSUSE moved it to /usr/lib/sysimage/rpm) and its file
#: for each format, the first one present wins
RPMDB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
RPMDB_FILES = (("rpmdb.sqlite", "sqlite"), ("Packages.db", "ndb"), ("Packages", "bdb"))
MAX_INDEX = 65536               # index entries in one header
MAX_HEADER_BYTES = 64 << 20     # one header blob
QUERY_SECONDS = 30.0            # the whole database query
# header tags read -> field, and rpm's type codes
TAGS = {1000: "name", 1001: "version", 1002: "release", 1003: "epoch", 1004: "summary",
        1005: "description", 1011: "vendor", 1020: "url", 1022: "arch", 1044: "sourcerpm"}
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9


def parse_header(blob):
    """{field: value} of one header blob (as the database stores it: no lead, no magic).
    ValueError when the blob is not a header."""
    if not isinstance(blob, bytes) or len(blob) < 8 or len(blob) > MAX_HEADER_BYTES:
        raise ValueError("not an rpm header")
    il, dl = struct.unpack(">II", blob[:8])
    start = 8 + 16 * il
    if not 0 < il <= MAX_INDEX or start + dl > len(blob):
        raise ValueError("rpm header with impossible sizes")
    store = memoryview(blob)[start:start + dl]
    out = {}
    for i in range(il):
        tag, kind, off, count = struct.unpack(">IIII", blob[8 + 16 * i:24 + 16 * i])
        field = TAGS.get(tag)
        if field is None or off >= dl or count == 0:
            continue
        if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
            limit = MAX_DESCRIPTION if field == "description" else MAX_FIELD
            chunk = bytes(store[off:off + limit * 4 + 1])
            end = chunk.find(b"\0")
            if end >= 0:
                out[field] = clean(chunk[:end], limit, keep_tab=field == "description")
        elif kind == _INT32 and off + 4 <= dl:
            out[field] = struct.unpack(">I", store[off:off + 4])[0]
    return out


def _source_package(srpm):
    """name-version-release.src.rpm -> name."""
    base = srpm[:-len(".src.rpm")] if srpm.endswith(".src.rpm") else srpm
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else ""


def application(blob):
    """The application2 record of one header blob, or None (not a header, an imported
    key)."""
    try:
        h = parse_header(blob)
    except ValueError:
        return None
    if not h.get("name") or h["name"] == "gpg-pubkey":
        return None                 # the imported keys are not applications
    epoch = h.get("epoch", 0)
    return application2(
        h["name"], h.get("version", ""), h.get("release", ""),
        epoch if isinstance(epoch, int) and epoch < 1 << 31 else 0,
        arch=h.get("arch", ""), url=h.get("url", ""), summary=h.get("summary", ""),
        description=h.get("description", ""), publisher=h.get("vendor", ""),
        source_package=_source_package(h.get("sourcerpm", "")))


def _sorted(apps):
    # the database's order is the installation order: by name, as libguestfs lists them
    apps.sort(key=lambda a: (a["app2_name"], a["app2_version"], a["app2_release"]))
    return apps


def list_rpm(path, fmt):
    """The application2 records of the rpm database at appliance path PATH (a regular
    file, opened by the caller's checks) in format FMT: sqlite, ndb or bdb."""
    if fmt == "sqlite":
        return list_rpm_sqlite(path)
    from . import rpmformats
    walk = rpmformats.ndb_blobs if fmt == "ndb" else rpmformats.bdb_hash_blobs
    deadline = time.monotonic() + QUERY_SECONDS
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        apps = []
        for _, blob in walk(lambda off, n: os.pread(fd, n, off), os.fstat(fd).st_size):
            app = application(blob)
            if app is not None:
                apps.append(app)
            if len(apps) >= MAX_PACKAGES or time.monotonic() > deadline:
                break
    finally:
        os.close(fd)
    return _sorted(apps)


def list_rpm_sqlite(path):
    """The application2 records of the sqlite rpm database at appliance path PATH, sorted
    by name."""
    import sqlite3                  # loaded when a guest needs it, not at boot
    deadline = time.monotonic() + QUERY_SECONDS
    uri = "file:%s?mode=ro&immutable=1" % path.replace("?", "%3f").replace("#", "%23")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise ValueError("rpm database: %s" % e) from None
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 10000)
    apps = []
    try:
        rows = conn.execute("SELECT blob FROM Packages ORDER BY hnum LIMIT ?",
                            (MAX_PACKAGES,))
        for (blob,) in rows:
            app = application(blob)
            if app is not None:
                apps.append(app)
    except sqlite3.Error as e:
        raise ValueError("rpm database: %s" % e) from None
    finally:
        conn.close()
    return _sorted(apps)
