"""copy_out's host extractor (guestkit.library.transfer.extract) with a tar stream whose
names are deeper than PATH_MAX and than Python's recursion limit: every member is created,
one directory descriptor at a time, and a symlink in the archive is made, never followed."""

import io
import os
import sys
import tarfile

from guestkit.library import transfer

DEPTH = 2100                    # "d/" * 2100: 4200 bytes, and deeper than sys.getrecursionlimit()
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def deep_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for i in range(1, DEPTH + 1):
            ti = tarfile.TarInfo("/".join(["d"] * i))
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            t.addfile(ti)
        bottom = "/".join(["d"] * DEPTH)
        data = b"at the bottom\n"
        ti = tarfile.TarInfo(bottom + "/file")
        ti.size = len(data)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo(bottom + "/out")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "/etc/passwd"
        t.addfile(ti)
    buf.seek(0)
    return buf


def remove_chain(top):
    """Remove the chain of "d" directories under TOP, one level at a time (shutil.rmtree
    recurses once per level: too deep for it)."""
    fd = os.open(top, _O_DIR)
    try:
        if not os.path.lexists(os.path.join(top, "d")):
            return
        while True:
            try:
                os.rename("d/d", "up", src_dir_fd=fd, dst_dir_fd=fd)
            except FileNotFoundError:
                break
            os.rmdir("d", dir_fd=fd)
            os.rename("up", "d", src_dir_fd=fd, dst_dir_fd=fd)
        sub = os.open("d", _O_DIR, dir_fd=fd)
        for name in os.listdir(sub):
            os.unlink(name, dir_fd=sub)
        os.close(sub)
        os.rmdir("d", dir_fd=fd)
    finally:
        os.close(fd)


def test_extract_a_tree_deeper_than_path_max(tmp_path):
    assert DEPTH > sys.getrecursionlimit() and 2 * DEPTH > 4096
    root = os.open(tmp_path, _O_DIR)
    try:
        refused, warnings = transfer.extract(deep_tar(), root)
    finally:
        os.close(root)
    assert (refused, warnings) == (0, [])
    cur = os.open(tmp_path, _O_DIR)
    try:
        for _ in range(DEPTH):
            nxt = os.open("d", _O_DIR, dir_fd=cur)
            os.close(cur)
            cur = nxt
        assert sorted(os.listdir(cur)) == ["file", "out"]
        fd = os.open("file", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=cur)
        assert os.read(fd, 100) == b"at the bottom\n"
        os.close(fd)
        assert os.readlink("out", dir_fd=cur) == "/etc/passwd"
        assert os.stat(cur).st_mode & 0o777 == 0o755 & ~transfer._umask()
    finally:
        os.close(cur)
        remove_chain(str(tmp_path))
    assert os.listdir(tmp_path) == []
