"""Guest paths resolve inside the guest root, whatever symlinks the guest holds."""

import errno
import os

import pytest

from guestkit.daemon.guestpath import resolve


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
