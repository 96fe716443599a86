"""Directory trees deeper than PATH_MAX, walked and resolved with directory descriptors
(the daemon's guestpath and content modules, run on a host directory standing in for the
guest root)."""

import errno
import os

import pytest

from guestkit.daemon import guestpath
from guestkit.daemon.content import walk
from guestkit.daemon.server import _describe

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
CHAIN = ["%02d" % i + "D" * 198 for i in range(30)]      # 30 x 201 bytes > 4096


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("guest\n")
    (r / "dir" / "sub").mkdir(parents=True)
    os.symlink("/etc", r / "abs")
    os.symlink("../../../../../../etc", r / "dir" / "up")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.mkdir(r / "deep")
    cur = os.open(r / "deep", _O_DIR)
    for level, name in enumerate(CHAIN):
        # a file listed before the next directory and one after it, whatever the order
        # readdir gives: some are reached after the walk came back up from the bottom
        _write_at(cur, "a", b"%d" % level)
        os.mkdir(name, dir_fd=cur)
        _write_at(cur, "z", b"%d" % level)
        nxt = os.open(name, _O_DIR, dir_fd=cur)
        os.close(cur)
        cur = nxt
    _write_at(cur, "file", b"deep down\n")
    os.symlink("/etc/passwd", "out", dir_fd=cur)
    os.symlink("/" + "/".join(["deep"] + CHAIN[:5]), "back", dir_fd=cur)
    os.close(cur)
    return str(r)


DEEP = "/deep/" + "/".join(CHAIN)


def _write_at(dfd, name, data):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dfd)
    os.write(fd, data)
    os.close(fd)


def same_dir(fd, path):
    a, b = os.fstat(fd), os.stat(path)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def test_open_dir_of_a_path_longer_than_path_max(root):
    assert len(DEEP) > 4096
    fd = guestpath.open_dir(root, DEEP)
    try:
        assert sorted(os.listdir(fd)) == ["back", "file", "out"]
    finally:
        os.close(fd)
    # '..' steps back up; a trailing '..' ends at a directory too
    fd = guestpath.open_dir(root, DEEP + "/../" + CHAIN[-1] + "/./")
    try:
        assert "file" in os.listdir(fd)
    finally:
        os.close(fd)
    fd = guestpath.open_dir(root, DEEP + "/" + "../" * 31)
    try:
        assert same_dir(fd, root)
    finally:
        os.close(fd)
    # an absolute symlink met deep down starts again at the guest root
    fd = guestpath.open_dir(root, DEEP + "/back")
    try:
        assert sorted(os.listdir(fd)) == sorted([CHAIN[5], "a", "z"])
    finally:
        os.close(fd)


def test_open_dir_stays_in_the_guest_root(root):
    for path in ("/../../etc", "/abs", "/dir/up", "/dir/sub/../up/"):
        fd = guestpath.open_dir(root, path)
        try:
            assert same_dir(fd, os.path.join(root, "etc")), path
        finally:
            os.close(fd)
    for path, code in (("/loop1", errno.ELOOP), ("/etc/passwd", errno.ENOTDIR),
                       ("/missing", errno.ENOENT), (DEEP + "/nothing", errno.ENOENT),
                       ("/etc/passwd/../etc", errno.ENOTDIR), (DEEP + "/out", errno.ENOTDIR)):
        with pytest.raises(OSError) as e:
            os.close(guestpath.open_dir(root, path))
        assert e.value.errno == code, path
        assert e.value.filename == path


def test_lstat_of_deep_paths(root):
    st = guestpath.lstat(root, DEEP + "/file")
    assert st is not None and st.st_size == len(b"deep down\n")
    assert guestpath.lstat(root, DEEP + "/missing") is None
    link = guestpath.lstat(root, DEEP + "/out", follow=False)
    assert link is not None and os.path.stat.S_ISLNK(link.st_mode)
    target = guestpath.lstat(root, DEEP + "/out")
    assert target.st_ino == os.stat(os.path.join(root, "etc", "passwd")).st_ino


def test_resolve_refuses_a_deep_path_naming_it(root):
    with pytest.raises(OSError) as e:
        guestpath.resolve(root, DEEP + "/file")
    assert e.value.errno == errno.ENAMETOOLONG
    assert e.value.filename == DEEP + "/file"


def test_walk_returns_every_entry_of_a_deep_tree(root):
    fd = os.open(root, _O_DIR)
    try:
        got = [(rel, isdir) for rel, isdir, _dfd, _name in walk(fd, "/")]
    finally:
        os.close(fd)
    names = {rel for rel, _ in got}
    chain = [b"deep/" + "/".join(CHAIN[:i + 1]).encode() for i in range(len(CHAIN))]
    bottom = chain[-1]
    files = {d + n for d in [b"deep"] + chain[:-1] for n in (b"/a", b"/z")}
    assert names == {b"etc", b"etc/passwd", b"dir", b"dir/sub", b"dir/up", b"abs", b"loop1",
                     b"loop2", b"deep", bottom + b"/file", bottom + b"/out",
                     bottom + b"/back"} | set(chain) | files
    assert len(got) == len(names)
    assert dict(got)[bottom] is True and dict(got)[b"abs"] is False


def test_walk_gives_a_descriptor_to_open_each_entry(root):
    # the walk keeps a few directories open and goes back up the rest with '..': the
    # descriptor it gives is the entry's directory at every level, on the way down and up
    fd = guestpath.open_dir(root, "/deep/" + "/".join(CHAIN[:3]))
    try:
        data = {}
        for rel, isdir, dfd, name in walk(fd, "/x"):
            if not isdir and name in ("file", "a", "z"):
                f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
                data[rel] = os.read(f, 100)
                os.close(f)
    finally:
        os.close(fd)
    want = {"/".join(CHAIN[3:]).encode() + b"/file": b"deep down\n"}
    for level in range(3, len(CHAIN)):
        d = "/".join(CHAIN[3:level]).encode()
        for n in (b"a", b"z"):
            want[d + b"/" + n if d else n] = b"%d" % level
    assert data == want


def test_errors_name_guest_paths_as_text():
    e = OSError(errno.ENAMETOOLONG, "File name too long", b"/sysroot/deep/x\xff")
    ename, msg = _describe(e, "find", "/sysroot")
    assert ename == "ENAMETOOLONG"
    assert msg == "find: /deep/x\udcff: File name too long"
    e = OSError(errno.EEXIST, "File exists", "/sysroot/a", None, b"/sysroot/b")
    assert _describe(e, "rename", "/sysroot")[1] == "rename: /a -> /b: File exists"
