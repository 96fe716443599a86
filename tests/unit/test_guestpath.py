"""Guest paths resolve inside the guest root, whatever symlinks the guest holds."""

import errno
import os

import pytest

from guestkit.daemon import guestpath
from guestkit.daemon.guestpath import resolve, resolve_lstat


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("guest\n")
    (r / "dir" / "sub").mkdir(parents=True)
    os.symlink("/etc", r / "abs")                     # absolute: starts at the guest root
    os.symlink("../../../../../../etc", r / "dir" / "up")
    os.symlink("sub", r / "dir" / "rel")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("/proc/self/environ", r / "env")
    return str(r)


def test_dotdot_at_root_stays_at_root(root):
    assert resolve(root, "/../../etc/passwd") == root + "/etc/passwd"


def test_absolute_symlink_starts_at_guest_root(root):
    assert resolve(root, "/abs/passwd") == root + "/etc/passwd"


def test_relative_escape_is_clamped(root):
    assert resolve(root, "/dir/up/passwd") == root + "/etc/passwd"


def test_relative_symlink(root):
    assert resolve(root, "/dir/rel") == root + "/dir/sub"


def test_no_follow_last(root):
    assert resolve(root, "/abs", follow=False) == root + "/abs"
    assert resolve(root, "/abs/", follow=True) == root + "/etc"


def test_loops_are_eloop(root):
    with pytest.raises(OSError) as e:
        resolve(root, "/loop1")
    assert e.value.errno == errno.ELOOP


def test_links_into_appliance_paths_stay_in_guest(root):
    p = resolve(root, "/env")
    assert p == root + "/proc/self/environ" and not os.path.exists(p)


def test_missing_components_are_kept(root):
    assert resolve(root, "/new/file") == root + "/new/file"


def test_relative_path_refused(root):
    with pytest.raises(OSError):
        resolve(root, "etc")


def test_dotdot_after_a_file_is_enotdir(root):
    with pytest.raises(OSError) as e:
        resolve(root, "/etc/passwd/../x")
    assert e.value.errno == errno.ENOTDIR


@pytest.mark.parametrize("path,follow", [
    ("/", True), ("/etc", True), ("/etc/passwd", True), ("/abs/passwd", True),
    ("/abs", True), ("/abs", False), ("/dir/rel", True), ("/dir/rel", False),
    ("/dir/sub/..", True), ("/dir/sub/../rel", True), ("/missing", True),
    ("/missing/deeper", True), ("/dir/up/passwd", True), ("/dangling", True),
    ("/dangling", False), ("/etc/passwd/", True)])
def test_resolve_lstat_agrees_with_resolve_then_lstat(root, path, follow):
    os.symlink("/nowhere", os.path.join(root, "dangling"))
    apath, st = resolve_lstat(root, path, follow)
    assert apath == resolve(root, path, follow)
    try:
        want = os.lstat(apath)
    except FileNotFoundError:
        assert st is None
    else:
        assert st is not None
        assert (st.st_ino, st.st_mode) == (want.st_ino, want.st_mode)


@pytest.mark.parametrize("path", [
    "/etc", "/etc/passwd", "/abs/passwd", "/abs", "/dir/rel", "/dir/rel/x", "/missing",
    "/missing/deeper", "/etc/passwd/x", "/dir/up/passwd", "/dangling", "/loop1", "/dir/sub",
    "/.hidden", "/dir/.hidden/x", "/dir/sub/new"])
@pytest.mark.parametrize("follow", [True, False])
def test_plain_walk_agrees_with_the_full_walk(root, monkeypatch, path, follow):
    """The fast walk of plain paths gives what the full walk gives, errors included."""
    os.symlink("/nowhere", os.path.join(root, "dangling"))

    def outcome():
        try:
            apath, st = resolve_lstat(root, path, follow)
        except OSError as e:
            return "error", e.errno
        return apath, st and (st.st_ino, st.st_mode), guestpath.lstat(root, path, follow) \
            and guestpath.lstat(root, path, follow).st_ino
    fast = outcome()
    monkeypatch.setattr(guestpath, "_FAST_MAX", -1)        # every path takes the full walk
    assert outcome() == fast


def test_plain_walk_takes_plain_paths(root):
    st = os.lstat(os.path.join(root, "etc", "passwd"))
    apath, got = guestpath._walk_plain(root, "/etc/passwd", True)
    assert apath == root + "/etc/passwd" and got.st_ino == st.st_ino
    assert guestpath._walk_plain(root, "/missing", True) == (root + "/missing", None)
    assert guestpath._walk_plain(root, "/abs/passwd", True) is None      # a symlink: full walk
    assert guestpath._walk_plain(root, "/abs", True) is None
