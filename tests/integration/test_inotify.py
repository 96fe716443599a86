"""The inotify_* actions: the appliance kernel's inotify on the mounted guest filesystem."""

import pytest

import guestkit
from tests.helpers import expect_error

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE = 0x2, 0x4, 0x8, 0x100, 0x200
IN_ALL_EVENTS, IN_ISDIR = 0xfff, 0x40000000


@pytest.fixture(scope="module")
def g(launched):
    launched.mkdir_p("/watched/sub")
    return launched


def test_available(g):
    assert g.feature_available(["inotify"]) == 1
    g.available(["inotify"])


def test_needs_init(g):
    expect_error("EINVAL", g.inotify_read)
    expect_error("EINVAL", g.inotify_add_watch, "/watched", IN_ALL_EVENTS)
    expect_error("EINVAL", g.inotify_init, -1)


def test_events(g):
    g.inotify_init(0)
    wd = g.inotify_add_watch("/watched", IN_ALL_EVENTS)
    assert wd >= 1
    assert g.inotify_read() == []
    g.touch("/watched/a")
    g.write("/watched/b", "hello")
    g.rm("/watched/a")
    g.touch("/watched/sub/deeper")              # not recursive: no event for it
    events = g.inotify_read()
    assert all(e["in_wd"] == wd for e in events)
    kinds = {(e["in_name"], e["in_mask"] & ~IN_ISDIR) for e in events}
    assert ("a", IN_CREATE) in kinds and ("a", IN_DELETE) in kinds
    assert ("b", IN_CREATE) in kinds and ("b", IN_CLOSE_WRITE) in kinds
    assert "deeper" not in {e["in_name"] for e in events}
    assert g.inotify_read() == []
    g.touch("/watched/c")
    g.write("/watched/b", "again")
    assert g.inotify_files() == ["b", "c"]
    g.inotify_rm_watch(wd)
    expect_error("EINVAL", g.inotify_rm_watch, wd)
    g.inotify_read()                            # drains IN_IGNORED
    g.touch("/watched/d")
    assert g.inotify_read() == []
    expect_error("ENOENT", g.inotify_add_watch, "/nonexistent", IN_ALL_EVENTS)
    g.inotify_close()
    expect_error("EINVAL", g.inotify_files)


def test_symlink_resolved_in_guest(g):
    """A guest symlink to /etc is followed inside the guest: the watch is on the guest's
    directory, not the appliance's."""
    g.mkdir_p("/etc")
    g.ln_sf("/etc", "/watched/link")
    g.inotify_init(100)
    g.inotify_add_watch("/watched/link", IN_CREATE)
    g.touch("/etc/inside-guest")
    assert g.inotify_files() == ["inside-guest"]
    g.inotify_close()
