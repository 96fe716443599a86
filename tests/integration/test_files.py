"""Files, trees, transfers and guest commands against a real appliance.

One launched handle for the whole module (the ``launched`` fixture: /dev/sda1 ext4 mounted
at /).  Every test works in its own directory, so the tests do not depend on each other,
except for the guest-command tests which need the static busybox uploaded by the ``busybox``
fixture (and the test that checks a missing /bin/sh runs before it).
"""

import hashlib
import os
import stat
import subprocess
import threading
import time

import pytest

import guestkit

from tests.helpers import MiB, expect_error, fresh, sha256_file, watchdog


@pytest.fixture(scope="module")
def g(launched):
    return launched





def posix_cksum(data):
    """The CRC of POSIX cksum(1): CRC-32 polynomial 0x04C11DB7, MSB first, then the length
    appended least significant byte first, then inverted."""
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ b]
    n = len(data)
    while n:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ (n & 0xFF)]
        n >>= 8
    return (~crc) & 0xFFFFFFFF


@pytest.fixture(scope="module")
def bigfile(g):
    """A 20 MiB random host file and its sha256."""
    path = os.path.join(g.test_dir, "big.bin")
    data = os.urandom(20 * MiB)
    with open(path, "wb") as f:
        f.write(data)
    return path, hashlib.sha256(data).hexdigest()


# ---- content ---------------------------------------------------------------------------------

def test_touch_write_cat(g):
    d = fresh(g, "/content")
    g.touch(d + "/empty")
    assert g.is_file(d + "/empty") == 1
    assert g.filesize(d + "/empty") == 0
    assert g.cat(d + "/empty") == ""
    before = g.statns(d + "/empty")
    time.sleep(0.05)
    g.touch(d + "/empty")
    after = g.statns(d + "/empty")
    assert (after["st_mtime_sec"], after["st_mtime_nsec"]) > \
        (before["st_mtime_sec"], before["st_mtime_nsec"])

    g.write(d + "/a", b"hello\n")
    assert g.cat(d + "/a") == "hello\n"
    g.write_append(d + "/a", "world\n")
    assert g.cat(d + "/a") == "hello\nworld\n"
    g.write(d + "/a", b"x")                        # write replaces, truncating
    assert g.cat(d + "/a") == "x"
    g.write_append(d + "/new", b"appended")        # write_append creates
    assert g.read_file(d + "/new") == b"appended"
    g.write(d + "/a", b"")
    assert g.filesize(d + "/a") == 0
    expect_error("ENOENT", g.cat, d + "/missing")
    expect_error("ENOENT", g.write, d + "/nodir/x", b"x")
    expect_error("EISDIR", g.cat, d)


def test_touch_refuses_non_regular_files(g):
    # guestfs_touch: "will fail on other file types such as directories, symbolic links"
    d = fresh(g, "/touchx")
    g.mkdir(d + "/dir")
    g.write(d + "/target", b"t")
    g.ln_s("target", d + "/link")
    with pytest.raises(guestkit.Error):
        g.touch(d + "/dir")
    with pytest.raises(guestkit.Error):
        g.touch(d + "/link")
    assert g.is_symlink(d + "/link") == 1


def test_read_file_binary(g):
    d = fresh(g, "/binary")
    data = bytes(range(256)) * 64 + b"\0\0\xff\0"
    g.write(d + "/bin", data)
    assert g.read_file(d + "/bin") == data
    assert g.filesize(d + "/bin") == len(data)
    assert g.read_file(d + "/bin")[:3] == b"\x00\x01\x02"
    g.write(d + "/nul", b"\0")
    assert g.read_file(d + "/nul") == b"\0"


@pytest.mark.parametrize("content,lines", [
    (b"a\nb\n", ["a", "b"]),
    (b"a\nb", ["a", "b"]),
    (b"a\r\nb\r\nc", ["a", "b", "c"]),
    (b"x\r\n\r\n", ["x", ""]),
    (b"", []),
    (b"\n\n", ["", ""]),
    (b"only", ["only"]),
    (b"tab\there \r\n", ["tab\there "]),
    (b"cr\r", ["cr\r"]),                    # a CR without LF is content
    (b"a\rb\r\n", ["a\rb"]),
])
def test_read_lines(g, content, lines):
    g.mkdir_p("/lines")
    g.write("/lines/f", content)
    assert g.read_lines("/lines/f") == lines


# ---- tree ------------------------------------------------------------------------------------

def test_mkdir_family(g):
    d = fresh(g, "/mk")
    g.mkdir(d + "/a")
    assert g.is_dir(d + "/a") == 1
    expect_error("EEXIST", g.mkdir, d + "/a")
    expect_error("ENOENT", g.mkdir, d + "/no/such/parent")
    g.mkdir_p(d + "/p/q/r")
    assert g.is_dir(d + "/p/q/r") == 1
    g.mkdir_p(d + "/p/q/r")                       # no error if it exists
    g.mkdir_p(d + "/p")
    g.write(d + "/file", b"")
    with pytest.raises(guestkit.Error):
        g.mkdir_p(d + "/file")
    with pytest.raises(guestkit.Error):
        g.mkdir_p(d + "/file/sub")
    g.mkdir_mode(d + "/m700", 0o700)
    assert g.statns(d + "/m700")["st_mode"] & 0o7777 == 0o700
    g.mkdir_mode(d + "/m777", 0o777)              # mode & ~umask (022)
    assert g.statns(d + "/m777")["st_mode"] & 0o7777 == 0o755
    assert stat.S_ISDIR(g.statns(d + "/m777")["st_mode"])
    g.write(d + "/p/q/r/f", b"x")
    expect_error("ENOTEMPTY", g.rmdir, d + "/p/q/r")
    expect_error("ENOTDIR", g.rmdir, d + "/file")
    g.rmdir(d + "/a")
    assert g.exists(d + "/a") == 0
    expect_error("ENOENT", g.rmdir, d + "/a")


def test_rm_family(g):
    d = fresh(g, "/rmt")
    g.write(d + "/f", b"x")
    g.mkdir(d + "/dir")
    g.write(d + "/target", b"keep")
    g.ln_s("target", d + "/link")
    g.rm(d + "/f")
    assert g.exists(d + "/f") == 0
    expect_error("ENOENT", g.rm, d + "/f")
    with pytest.raises(guestkit.Error):
        g.rm(d + "/dir")
    g.rm(d + "/link")                              # removes the link, not its target
    assert g.is_symlink(d + "/link") == 0
    assert g.cat(d + "/target") == "keep"
    g.rm_f(d + "/f")                               # no error when missing
    g.rm_f(d + "/target")
    assert g.exists(d + "/target") == 0
    with pytest.raises(guestkit.Error):
        g.rm_f(d + "/dir")
    g.mkdir_p(d + "/tree/a/b/c")
    g.write(d + "/tree/a/b/c/f", b"x")
    g.ln_s("/", d + "/tree/a/rootlink")           # rm_rf must not follow it
    g.rm_rf(d + "/tree")
    assert g.exists(d + "/tree") == 0
    assert g.is_dir("/content") == 1 or g.is_dir("/mk") == 1 or g.ls("/") != []
    g.rm_rf(d + "/never-existed")
    assert g.is_dir("/") == 1


def test_ls_ll(g):
    d = fresh(g, "/lst")
    for name in ("b", "a", ".hidden", "c d"):
        g.write(d + "/" + name, b"")
    g.mkdir(d + "/sub")
    assert g.ls(d) == sorted(["b", "a", ".hidden", "c d", "sub"])
    assert g.ls(d + "/sub") == []
    expect_error("ENOENT", g.ls, d + "/missing")
    expect_error("ENOTDIR", g.ls, d + "/a")
    ll = g.ll(d)
    assert isinstance(ll, str)
    for name in ("a", "b", ".hidden", "sub"):
        assert name in ll
    assert "-rw-r--r--" in ll and "drwxr-xr-x" in ll
    assert "sysroot" not in ll
    one = g.ll(d + "/a")
    assert one.count("\n") == 1 and one.startswith("-rw-r--r--") and "sysroot" not in one
    # /.. is /
    assert g.ls("/..") == g.ls("/")


def test_exists_is_file_is_dir_is_symlink(g):
    d = fresh(g, "/ist")
    g.write(d + "/f", b"x")
    g.mkdir(d + "/dir")
    g.ln_s("f", d + "/lf")
    g.ln_s("dir", d + "/ld")
    g.ln_s("nowhere", d + "/dangling")
    assert g.exists(d + "/f") == 1
    assert g.exists(d + "/lf") == 1
    assert g.exists(d + "/dangling") == 0
    assert g.exists(d + "/nope") == 0
    assert g.is_file(d + "/f") == 1
    assert g.is_file(d + "/dir") == 0
    assert g.is_file(d + "/lf") == 0
    assert g.is_file(d + "/lf", followsymlinks=True) == 1
    assert g.is_file_opts(d + "/lf", followsymlinks=True) == 1
    assert g.is_dir(d + "/dir") == 1
    assert g.is_dir(d + "/ld") == 0
    assert g.is_dir(d + "/ld", followsymlinks=True) == 1
    assert g.is_dir(d + "/f") == 0
    assert g.is_dir(d + "/nope") == 0
    assert g.is_symlink(d + "/lf") == 1
    assert g.is_symlink(d + "/dangling") == 1
    assert g.is_symlink(d + "/f") == 0
    for v in (g.exists(d + "/f"), g.is_file(d + "/f"), g.is_symlink(d + "/f")):
        assert type(v) is int


def test_statns_lstatns(g):
    d = fresh(g, "/st")
    g.write(d + "/f", b"12345")
    g.ln_s("f", d + "/l")
    s = g.statns(d + "/f")
    fields = ["st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev",
              "st_size", "st_blksize", "st_blocks", "st_atime_sec", "st_atime_nsec",
              "st_mtime_sec", "st_mtime_nsec", "st_ctime_sec", "st_ctime_nsec"]
    for f in fields:
        assert isinstance(s[f], int), f
    assert s["st_size"] == 5
    assert stat.S_ISREG(s["st_mode"])
    assert s["st_nlink"] == 1
    assert s["st_uid"] == 0 and s["st_gid"] == 0
    assert 0 <= s["st_mtime_nsec"] < 10 ** 9
    assert abs(s["st_mtime_sec"] - time.time()) < 24 * 3600
    sl = g.statns(d + "/l")                         # follows
    assert sl["st_ino"] == s["st_ino"]
    ll = g.lstatns(d + "/l")
    assert stat.S_ISLNK(ll["st_mode"])
    assert ll["st_size"] == 1                       # len("f")
    assert ll["st_ino"] != s["st_ino"]
    assert g.lstatns(d + "/f")["st_ino"] == s["st_ino"]
    dd = g.statns(d)
    assert stat.S_ISDIR(dd["st_mode"])
    expect_error("ENOENT", g.statns, d + "/missing")


def test_chmod_chown_lchown(g):
    d = fresh(g, "/perm")
    g.write(d + "/f", b"x")
    g.chmod(0o4750, d + "/f")
    assert g.statns(d + "/f")["st_mode"] & 0o7777 == 0o4750
    g.chmod(0o600, d + "/f")
    assert g.statns(d + "/f")["st_mode"] & 0o7777 == 0o600
    g.mkdir(d + "/dir")
    g.chmod(0o1777, d + "/dir")
    assert g.statns(d + "/dir")["st_mode"] & 0o7777 == 0o1777
    g.chown(1000, 1001, d + "/f")
    s = g.statns(d + "/f")
    assert (s["st_uid"], s["st_gid"]) == (1000, 1001)
    g.ln_s("f", d + "/l")
    g.lchown(2000, 2001, d + "/l")
    l = g.lstatns(d + "/l")
    assert (l["st_uid"], l["st_gid"]) == (2000, 2001)
    s = g.statns(d + "/f")
    assert (s["st_uid"], s["st_gid"]) == (1000, 1001)   # target untouched
    g.chown(3000, 3001, d + "/l")                  # chown follows the link
    s = g.statns(d + "/f")
    assert (s["st_uid"], s["st_gid"]) == (3000, 3001)
    expect_error("ENOENT", g.chmod, 0o644, d + "/missing")
    expect_error("EINVAL", g.chmod, -1, d + "/f")
    expect_error("EINVAL", g.mkdir_mode, d + "/neg", -1)


def test_links(g):
    d = fresh(g, "/lnk")
    g.write(d + "/f", b"data")
    g.ln_s("f", d + "/rel")
    g.ln_s("/lnk/f", d + "/abs")
    g.ln_s("../../../../whatever", d + "/weird")
    assert g.readlink(d + "/rel") == "f"
    assert g.readlink(d + "/abs") == "/lnk/f"
    assert g.readlink(d + "/weird") == "../../../../whatever"
    assert g.cat(d + "/rel") == "data"
    assert g.cat(d + "/abs") == "data"
    expect_error("EINVAL", g.readlink, d + "/f")
    expect_error("EEXIST", g.ln_s, "x", d + "/f")
    g.ln(d + "/f", d + "/hard")
    a, b = g.statns(d + "/f"), g.statns(d + "/hard")
    assert a["st_ino"] == b["st_ino"] and b["st_nlink"] == 2
    # link(2) on Linux does not follow a symlink: the hard link is to the symlink itself
    g.ln(d + "/rel", d + "/hardrel")
    assert g.is_symlink(d + "/hardrel") == 1
    assert g.readlink(d + "/hardrel") == "f"
    expect_error("EEXIST", g.ln, d + "/f", d + "/hard")


def test_mv(g):
    d = fresh(g, "/mvt")
    g.write(d + "/a", b"A")
    g.mv(d + "/a", d + "/b")
    assert g.exists(d + "/a") == 0 and g.cat(d + "/b") == "A"
    g.mkdir(d + "/dir")
    g.mv(d + "/b", d + "/dir")                     # into a directory
    assert g.cat(d + "/dir/b") == "A"
    g.mv(d + "/dir", d + "/dir2")
    assert g.cat(d + "/dir2/b") == "A"
    g.ln_s("dir2/b", d + "/lk")
    g.mv(d + "/lk", d + "/lk2")                    # moves the link itself
    assert g.readlink(d + "/lk2") == "dir2/b"
    expect_error("ENOENT", g.mv, d + "/missing", d + "/x")


def test_cp_family(g):
    d = fresh(g, "/cpt")
    g.write(d + "/f", b"content")
    g.chmod(0o751, d + "/f")
    g.chown(12, 34, d + "/f")
    g.cp(d + "/f", d + "/g")
    assert g.cat(d + "/g") == "content"
    g.mkdir(d + "/dir")
    g.cp(d + "/f", d + "/dir")
    assert g.cat(d + "/dir/f") == "content"
    g.write(d + "/g", b"longer old content")
    g.cp(d + "/f", d + "/g")                       # overwrite truncates
    assert g.cat(d + "/g") == "content"
    with pytest.raises(guestkit.Error):
        g.cp(d + "/dir", d + "/dir3")              # cp without -r refuses directories
    expect_error("ENOENT", g.cp, d + "/missing", d + "/x")

    time.sleep(0.02)
    g.cp_a(d + "/f", d + "/fa")
    s, sa = g.statns(d + "/f"), g.statns(d + "/fa")
    assert sa["st_mode"] & 0o7777 == 0o751
    assert (sa["st_uid"], sa["st_gid"]) == (12, 34)
    assert (sa["st_mtime_sec"], sa["st_mtime_nsec"]) == (s["st_mtime_sec"],
                                                         s["st_mtime_nsec"])
    # trees
    g.mkdir_p(d + "/src/sub")
    g.write(d + "/src/sub/x", b"xx")
    g.chmod(0o700, d + "/src/sub")
    g.ln_s("sub/x", d + "/src/link")
    g.cp_a(d + "/src", d + "/copy_a")
    assert g.cat(d + "/copy_a/sub/x") == "xx"
    assert g.statns(d + "/copy_a/sub")["st_mode"] & 0o7777 == 0o700
    assert g.readlink(d + "/copy_a/link") == "sub/x"
    g.cp_r(d + "/src", d + "/copy_r")
    assert g.cat(d + "/copy_r/sub/x") == "xx"
    assert g.is_dir(d + "/copy_r/sub") == 1
    g.mkdir(d + "/into")
    g.cp_r(d + "/src", d + "/into")                # into an existing directory
    assert g.cat(d + "/into/src/sub/x") == "xx"


def test_filesize_checksum(g):
    d = fresh(g, "/ck")
    data = os.urandom(100000) + b"\0" * 10
    g.write(d + "/f", data)
    assert g.filesize(d + "/f") == len(data)
    for algo in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512"):
        assert g.checksum(algo, d + "/f") == hashlib.new(algo, data).hexdigest(), algo
    crc = g.checksum("crc", d + "/f")
    assert crc == str(posix_cksum(data))
    host = os.path.join(g.test_dir, "ck.bin")
    with open(host, "wb") as f:
        f.write(data)
    out = subprocess.run(["cksum", host], capture_output=True, text=True, check=True).stdout
    assert crc == out.split()[0]
    # known values
    g.write(d + "/empty", b"")
    assert g.checksum("crc", d + "/empty") == "4294967295"
    assert g.checksum("md5", d + "/empty") == "d41d8cd98f00b204e9800998ecf8427e"
    g.write(d + "/abc", b"abc")
    assert g.checksum("sha256", d + "/abc") == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    expect_error("EINVAL", g.checksum, "md4", d + "/f")
    with pytest.raises(guestkit.Error):
        g.checksum("md5", d)
    expect_error("ENOENT", g.checksum, "sha256", d + "/missing")


def test_new_files_have_umask_modes(g):
    d = fresh(g, "/modes")
    assert g.get_umask() == 0o022
    g.write(d + "/w", b"x")
    g.touch(d + "/t")
    g.write_append(d + "/wa", b"x")
    g.mkdir(d + "/dir")
    for name in ("w", "t", "wa"):
        assert g.statns(d + "/" + name)["st_mode"] & 0o7777 == 0o644, name
    assert g.statns(d + "/dir")["st_mode"] & 0o7777 == 0o755
    host = os.path.join(g.test_dir, "small.txt")
    with open(host, "wb") as f:
        f.write(b"small\n")
    os.chmod(host, 0o755)
    g.upload(host, d + "/up")
    assert g.statns(d + "/up")["st_mode"] & 0o7777 == 0o644

    old = g.umask(0o077)
    try:
        assert old == 0o022
        assert g.get_umask() == 0o077
        g.write(d + "/w2", b"x")
        g.touch(d + "/t2")
        g.mkdir(d + "/dir2")
        g.mkdir_p(d + "/p2/q2")
        g.mkdir_mode(d + "/dm", 0o777)
        assert g.statns(d + "/w2")["st_mode"] & 0o777 == 0o600
        assert g.statns(d + "/t2")["st_mode"] & 0o777 == 0o600
        assert g.statns(d + "/dir2")["st_mode"] & 0o777 == 0o700
        assert g.statns(d + "/p2/q2")["st_mode"] & 0o777 == 0o700
        assert g.statns(d + "/dm")["st_mode"] & 0o777 == 0o700
        g.umask(0o002)
        g.write(d + "/w3", b"x")
        assert g.statns(d + "/w3")["st_mode"] & 0o777 == 0o664
    finally:
        assert g.umask(0o022) in (0o077, 0o002)
    assert g.get_umask() == 0o022
    expect_error("EINVAL", g.umask, 0o1000)


# ---- transfers -------------------------------------------------------------------------------

class Progress:
    def __init__(self, g):
        self.g = g
        self.events = []
        self.busy = []
        self.eh = g.set_event_callback(self.cb, guestkit.EVENT_PROGRESS)

    def cb(self, event, eh, buf, array):
        assert event == guestkit.EVENT_PROGRESS
        self.events.append(list(array))
        self.busy.append(self.g.is_busy())

    def close(self):
        self.g.delete_event_callback(self.eh)

    def check(self, total=None):
        ev = self.events
        assert ev, "no progress events"
        for a in ev:
            assert len(a) == 4
            proc, serial, pos, tot = a
            assert 0 <= pos <= tot, a
            if total is not None:
                assert tot == total, a
        assert ev[-1][2] == ev[-1][3], "the last progress event is not 100%%: %r" % ev[-1]
        assert any(a[2] < a[3] for a in ev), "no progress event before the end: %r" % ev
        assert all(self.busy)
        assert len({a[1] for a in ev}) == 1      # one call, one serial


def test_upload_download_big(g, bigfile):
    path, digest = bigfile
    d = fresh(g, "/xfer")
    p = Progress(g)
    try:
        g.upload(path, d + "/big")
    finally:
        p.close()
    p.check(total=20 * MiB)
    assert g.filesize(d + "/big") == 20 * MiB
    assert g.checksum("sha256", d + "/big") == digest
    out = os.path.join(g.test_dir, "big.out")
    p = Progress(g)
    try:
        g.download(d + "/big", out)
    finally:
        p.close()
    p.check(total=20 * MiB)
    assert sha256_file(out) == digest
    # download replaces a longer host file entirely
    with open(out, "wb") as f:
        f.write(b"x" * (21 * MiB))
    g.download(d + "/big", out)
    assert os.path.getsize(out) == 20 * MiB


def test_download_to_fd_and_upload_from_fd(g, bigfile):
    path, digest = bigfile
    d = fresh(g, "/fdx")
    g.upload(path, d + "/big")
    # to a pipe, read by a thread
    r, w = os.pipe()
    h = hashlib.sha256()
    count = []

    def reader():
        n = 0
        with os.fdopen(r, "rb") as f:
            for b in iter(lambda: f.read(MiB), b""):
                h.update(b)
                n += len(b)
        count.append(n)
    t = threading.Thread(target=reader)
    t.start()
    try:
        g.download(d + "/big", "/dev/fd/%d" % w)
    finally:
        os.close(w)
        t.join(30)
    assert count == [20 * MiB]
    assert h.hexdigest() == digest
    # to an opened file
    out = os.path.join(g.test_dir, "fd.out")
    with open(out, "wb") as f:
        g.download(d + "/big", "/dev/fd/%d" % f.fileno())
    assert sha256_file(out) == digest
    # from a pipe, fed by a thread
    r, w = os.pipe()
    payload = os.urandom(3 * MiB + 17)

    def writer():
        with os.fdopen(w, "wb") as f:
            f.write(payload)
    t = threading.Thread(target=writer)
    t.start()
    try:
        g.upload("/dev/fd/%d" % r, d + "/frompipe")
    finally:
        os.close(r)
        t.join(30)
    assert g.read_file(d + "/frompipe") == payload
    # from an opened file
    with open(path, "rb") as f:
        g.upload("/dev/fd/%d" % f.fileno(), d + "/fromfd")
    assert g.checksum("sha256", d + "/fromfd") == digest


def test_transfer_errors(g, bigfile):
    path, _ = bigfile
    d = fresh(g, "/xerr")
    g.upload(path, d + "/big")
    # a host-side failure is reported as such, not as a cancellation
    r, w = os.pipe()
    os.close(r)                                    # nobody reads: EPIPE
    try:
        expect_error("EPIPE", g.download, d + "/big", "/dev/fd/%d" % w)
    finally:
        os.close(w)
    expect_error("EISDIR", g.upload, g.test_dir, d + "/fromdir")
    g.rm(d + "/big")
    g.rm_f(d + "/fromdir")
    out = os.path.join(g.test_dir, "err.out")
    expect_error("ENOENT", g.download, d + "/missing", out)
    expect_error("EISDIR", g.download, d, out)
    expect_error("ENOENT", g.upload, os.path.join(g.test_dir, "no-such-host-file"),
                 d + "/x")
    assert g.exists(d + "/x") == 0
    t = time.monotonic()
    expect_error("ENOENT", g.upload, path, d + "/no/such/dir/file")
    assert time.monotonic() - t < 10
    expect_error("ENOENT", g.download, d + "/missing",
                 os.path.join(g.test_dir, "no-such-dir", "f"))
    assert g.ls(d) == []                           # the handle still works


def test_download_device_size(g):
    out = os.path.join(g.test_dir, "sdb.img")
    size = g.blockdev_getsize64("/dev/sdb")
    assert size > 0 and size % MiB == 0
    g.download("/dev/sdb", out)
    assert os.path.getsize(out) == size
    os.unlink(out)


def test_user_cancel_download(g, bigfile):
    path, digest = bigfile
    d = fresh(g, "/cancel")
    g.upload(path, d + "/big")
    out = os.path.join(g.test_dir, "cancel.out")
    seen = []

    def cb(event, eh, buf, array):
        seen.append(list(array))
        if array[2] > 0:
            g.user_cancel()
    eh = g.set_event_callback(cb, guestkit.EVENT_PROGRESS)
    try:
        t = time.monotonic()
        e = expect_error("EINTR", g.download, d + "/big", out)
        assert time.monotonic() - t < 10
    finally:
        g.delete_event_callback(eh)
    assert seen
    assert g.last_errno() == 4
    assert "cancel" in str(e).lower()
    # the handle still works, the next transfer is complete; a cancel asked for while no
    # transfer runs does not cancel the next one
    assert g.is_file(d + "/big") == 1
    g.user_cancel()
    g.download(d + "/big", out)
    assert sha256_file(out) == digest
    # cancelled from another thread, in the middle of a device download
    t = threading.Timer(0.5, g.user_cancel)
    t.start()
    t0 = time.monotonic()
    try:
        expect_error("EINTR", g.download, "/dev/sdb", out)
    finally:
        t.cancel()
    assert time.monotonic() - t0 < 5
    assert os.path.getsize(out) < g.blockdev_getsize64("/dev/sdb")


def test_user_cancel_upload(g, bigfile):
    path, digest = bigfile
    d = fresh(g, "/cancelup")

    def cb(event, eh, buf, array):
        if array[2] > 0:
            g.user_cancel()
    eh = g.set_event_callback(cb, guestkit.EVENT_PROGRESS)
    try:
        expect_error("EINTR", g.upload, path, d + "/big")
    finally:
        g.delete_event_callback(eh)
    assert g.filesize(d + "/big") < 20 * MiB
    g.upload(path, d + "/big")
    assert g.checksum("sha256", d + "/big") == digest


# ---- security: guest paths stay in the guest ---------------------------------------------------

def test_symlinks_resolve_inside_the_guest(g):
    fresh(g, "/etc")
    g.write("/etc/guest-marker", b"guest etc\n")
    g.rm_f("/escape")
    g.ln_s("/../../../../etc", "/escape")
    assert g.ls("/escape") == ["guest-marker"]
    assert g.cat("/escape/guest-marker") == "guest etc\n"
    assert g.ls("/../../../etc") == ["guest-marker"]
    d = fresh(g, "/sec")
    g.ln_s("../../../../../../etc", d + "/up")
    assert g.ls(d + "/up") == ["guest-marker"]
    for target in ("/proc/self/environ", "../../../../init", "/init", "/proc/1/cmdline",
                   "/sys/kernel/notes", "/../../../proc/self/status"):
        link = d + "/l%d" % len(target)
        g.rm_f(link)
        g.ln_s(target, link)
        expect_error("ENOENT", g.cat, link)
        expect_error("ENOENT", g.read_file, link)
        expect_error("ENOENT", g.checksum, "md5", link)
        expect_error("ENOENT", g.filesize, link)
        expect_error("ENOENT", g.download, link, os.path.join(g.test_dir, "leak"))
        assert g.exists(link) == 0
        assert g.is_file(link, followsymlinks=True) == 0
    expect_error("ENOENT", g.cat, "/../../../../init")
    expect_error("ENOENT", g.cat, "/../proc/self/environ")
    expect_error("ENOENT", g.ls, "/../../proc")
    expect_error("ENOENT", g.ls, "/../../sys")
    expect_error("EISDIR", g.cat, "/..")


def test_writes_through_absolute_symlinks_stay_in_the_guest(g):
    d = fresh(g, "/secw")
    g.mkdir_p("/secw/etc")
    g.ln_s("/secw/etc/written", d + "/abs")
    g.write(d + "/abs", b"inside\n")
    assert g.cat("/secw/etc/written") == "inside\n"
    g.ln_s("/../../../secw/etc", d + "/dirlink")
    g.write(d + "/dirlink/second", b"2")
    assert g.cat("/secw/etc/second") == "2"
    g.write_append(d + "/abs", b"more\n")
    assert g.cat("/secw/etc/written") == "inside\nmore\n"
    host = os.path.join(g.test_dir, "up.txt")
    with open(host, "wb") as f:
        f.write(b"uploaded")
    g.upload(host, d + "/dirlink/up")
    assert g.cat("/secw/etc/up") == "uploaded"


def test_copies_never_write_through_guest_symlinks(g):
    """A guest symlink named like a copied file, pointing at /sysroot/...: read as the guest
    sees it that is the guest's /sysroot/..., read with the appliance's eyes it is the guest's
    own root.  Copies must never write through it with the appliance's eyes."""
    d = fresh(g, "/cpsec")
    g.write("/marker", b"old")
    g.mkdir_p("/sysroot")
    g.write("/sysroot/marker", b"old")
    g.write(d + "/f", b"NEW")
    g.mkdir(d + "/dst")
    g.ln_s("/sysroot/marker", d + "/dst/f")
    g.cp(d + "/f", d + "/dst")
    assert g.cat("/marker") == "old"
    g.mkdir_p(d + "/src")
    g.write(d + "/src/f", b"NEW")
    for i, fn in enumerate((g.cp_r, g.cp_a)):
        dst = d + "/tree%d" % i
        g.mkdir_p(dst + "/src")
        g.ln_s("/sysroot/marker", dst + "/src/f")
        fn(d + "/src", dst)
        assert g.cat("/marker") == "old", fn.__name__
    # a symlink as the destination itself is resolved in the guest
    g.ln_s("/sysroot/marker", d + "/direct")
    g.cp(d + "/f", d + "/direct")
    assert g.cat("/marker") == "old"
    assert g.cat("/sysroot/marker") == "NEW"


def test_hard_link_to_symlink_is_not_followed_outside(g):
    d = fresh(g, "/lnsec")
    g.write("/lnsec-target", b"t")
    g.ln_s("/sysroot/lnsec-target", d + "/sl")
    g.ln(d + "/sl", d + "/hard")
    assert g.is_symlink(d + "/hard") == 1


def test_symlink_loops_are_eloop(g):
    d = fresh(g, "/loops")
    g.ln_s("loop2", d + "/loop1")
    g.ln_s("loop1", d + "/loop2")
    g.ln_s("self", d + "/self")
    for fn, args in ((g.cat, (d + "/loop1",)), (g.read_file, (d + "/self",)),
                     (g.ls, (d + "/loop1/",)), (g.write, (d + "/loop1", b"x")),
                     (g.statns, (d + "/loop2",)), (g.checksum, ("md5", d + "/loop1")),
                     (g.mkdir, (d + "/loop1/sub",))):
        e = expect_error("ELOOP", fn, *args)
        assert "sysroot" not in str(e)
    assert g.is_symlink(d + "/loop1") == 1
    assert g.lstatns(d + "/loop1")["st_size"] == 5
    assert g.exists(d + "/loop1") == 0


# ---- guest commands (the guest has no programs until busybox is uploaded) ----------------------

def test_sh_without_guest_shell(g):
    assert g.exists("/bin/sh") == 0
    e = expect_error("ENOENT", g.sh, "echo hi")
    assert "/bin/sh" in str(e) and "guest" in str(e)
    e = expect_error("ENOENT", g.command, ["/usr/bin/true"])
    assert "/usr/bin/true" in str(e)


@pytest.fixture(scope="module")
def busybox(g):
    if not os.path.exists("/bin/busybox"):
        pytest.fail("/bin/busybox is missing on the host: apt-get install busybox-static",
                    pytrace=False)
    out = subprocess.run(["file", "-L", "/bin/busybox"], capture_output=True, text=True)
    if out.returncode == 0 and "statically linked" not in out.stdout:
        pytest.fail("/bin/busybox is not static (%s): apt-get install busybox-static"
                    % out.stdout.strip(), pytrace=False)
    g.mkdir_p("/bin")
    g.upload("/bin/busybox", "/bin/busybox")
    g.chmod(0o755, "/bin/busybox")
    g.rm_f("/bin/sh")
    g.ln_s("busybox", "/bin/sh")
    return "/bin/busybox"


def test_commands(g, busybox):
    assert g.sh("echo hi") == "hi\n"
    assert g.command_lines(["/bin/busybox", "echo", "a b"]) == ["a b"]
    assert g.command(["/bin/busybox", "echo", "-n", "x"]) == "x"
    assert g.sh_lines("echo a; echo b; echo") == ["a", "b", ""]
    assert g.sh_lines("true") == []
    # the command sees the guest's root
    assert "bin" in g.sh_lines("/bin/busybox ls /")
    g.mkdir_p("/etc")
    g.write("/etc/cmd-marker", b"guest file\n")
    assert g.sh("/bin/busybox cat /etc/cmd-marker") == "guest file\n"
    e = expect_error("EIO", g.sh, "echo oops >&2; exit 3")
    assert "oops" in str(e)
    e = expect_error("EIO", g.sh, "exit 3")
    assert "exit status 3" in str(e)
    # a relative program name is looked up in the guest's PATH
    assert g.command(["busybox", "echo", "path"]) == "path\n"
    # /proc is available while the command runs, and gone afterwards
    g.mkdir_p("/proc")
    assert g.sh("/bin/busybox cat /proc/self/stat | /bin/busybox cut -d' ' -f1").strip()
    assert g.ls("/proc") == []
    assert "/sysroot" not in [m for m in g.mountpoints().values()]
    # files written by commands are in the guest
    g.sh("echo made > /made-by-sh")
    assert g.cat("/made-by-sh") == "made\n"


def test_guest_program_output_is_bounded(g, busybox):
    """A guest program printing without end is stopped at the output bound (EFBIG), quickly
    and without gathering it all in the appliance; just under the bound works."""
    g.mkdir_p("/dev")                           # the appliance's /dev is bound there
    t0 = time.monotonic()
    e = expect_error("EFBIG", g.sh, "/bin/busybox yes guestkit")
    assert "larger than" in str(e) and time.monotonic() - t0 < 30
    expect_error("EFBIG", g.command, ["/bin/busybox", "cat", "/dev/zero"])
    n = (8 << 20) - 4096
    assert len(g.sh("/bin/busybox head -c %d /dev/zero" % n)) == n
    assert g.sh("echo still-working") == "still-working\n"


def test_special_files_never_block(g, busybox):
    d = fresh(g, "/special")
    g.command(["/bin/busybox", "mkfifo", d + "/fifo"])
    g.command(["/bin/busybox", "mknod", d + "/zero", "c", "1", "5"])
    g.command(["/bin/busybox", "mknod", d + "/sda", "b", "8", "0"])
    assert stat.S_ISFIFO(g.lstatns(d + "/fifo")["st_mode"])
    assert stat.S_ISCHR(g.lstatns(d + "/zero")["st_mode"])
    assert g.is_file(d + "/fifo") == 0
    g.ln_s("zero", d + "/lzero")
    out = os.path.join(g.test_dir, "special.out")
    host = os.path.join(g.test_dir, "special.in")
    with open(host, "wb") as f:
        f.write(b"x" * 100)
    with watchdog(g, 30, "reading or writing a guest fifo/device"):
        for name in ("fifo", "zero", "sda", "lzero"):
            p = d + "/" + name
            for fn, args in ((g.cat, (p,)), (g.read_file, (p,)), (g.read_lines, (p,)),
                             (g.checksum, ("md5", p)), (g.checksum, ("crc", p)),
                             (g.download, (p, out)), (g.write, (p, b"x")),
                             (g.write_append, (p, b"x")), (g.upload, (host, p)),
                             (g.touch, (p,)), (g.cp, (p, d + "/copy"))):
                with pytest.raises(guestkit.Error) as ei:
                    fn(*args)
                    pytest.fail("%s(%s) worked on a %s" % (fn.__name__, p, name))
                if fn in (g.cat, g.read_file, g.download, g.write):
                    assert "regular file" in str(ei.value), (fn.__name__, name, ei.value)
        assert g.filesize(d + "/zero") == 0
    assert stat.S_ISCHR(g.lstatns(d + "/zero")["st_mode"])
    assert g.exists(d + "/copy") == 0
    # copying trees recreates special files without reading them
    with watchdog(g, 30, "copying a tree with a fifo"):
        g.cp_a(d, "/special-copy")
    assert stat.S_ISFIFO(g.lstatns("/special-copy/fifo")["st_mode"])


# ---- limits and scale ------------------------------------------------------------------------

def test_too_large_for_one_reply_fails_cleanly(g):
    """cat/read_file/read_lines/write carry the data in one frame: what does not fit gets a
    clear error (use download/upload) and the session goes on."""
    d = fresh(g, "/limits")
    host = os.path.join(g.test_dir, "limits.bin")
    with open(host, "wb") as f:
        f.write(b"\x80" * (12 * MiB))          # each byte is 6 bytes of JSON as text
    g.upload(host, d + "/junk")
    for fn in (g.cat, g.read_lines):
        e = expect_error("EFBIG", fn, d + "/junk")
        assert "download" in str(e)
    assert g.read_file(d + "/junk") == b"\x80" * (12 * MiB)
    with open(host, "wb") as f:
        f.truncate(60 * MiB)
    g.upload(host, d + "/big")
    expect_error("EFBIG", g.read_file, d + "/big")
    e = expect_error("EFBIG", g.write, d + "/w", b"\0" * (60 * MiB))
    assert "upload" in str(e)
    assert g.exists(d + "/w") == 0
    text = "é€😀" * (1 << 16)
    g.write(d + "/utf8", text)
    assert g.cat(d + "/utf8") == text
    assert g.ls(d) == ["big", "junk", "utf8"]       # the handle still works


def test_non_utf8_names_and_content(g):
    d = fresh(g, "/bytes")
    name = "caf\udce9-\udcff"                      # b"caf\xe9-\xff" as Python spells it
    g.write(d + "/" + name, b"\xe9t\xe9\n")
    assert g.ls(d) == [name]
    assert g.read_file(d + "/" + name) == b"\xe9t\xe9\n"
    assert g.cat(d + "/" + name) == "\udce9t\udce9\n"
    assert g.read_lines(d + "/" + name) == ["\udce9t\udce9"]
    g.mkdir(d + "/" + name + ".d")
    assert g.is_dir(d + "/" + name + ".d") == 1


def test_big_directory(g, busybox):
    d = fresh(g, "/many")
    n = 20000
    t0 = time.monotonic()
    g.sh("i=0; while [ $i -lt %d ]; do : > %s/f$i; i=$((i+1)); done" % (n, d))
    t1 = time.monotonic()
    names = g.ls(d)
    assert len(names) == n and names == sorted(names)
    assert time.monotonic() - t1 < 10, "ls of %d entries took too long" % n
    assert len(g.ll(d).splitlines()) >= n
    g.rm_rf(d)
    assert g.exists(d) == 0
    del t0


def test_huge_sparse_file(g, busybox):
    d = fresh(g, "/sparse")
    g.command(["/bin/busybox", "truncate", "-s", str(1 << 40), d + "/huge"])
    assert g.filesize(d + "/huge") == 1 << 40
    t0 = time.monotonic()
    expect_error("EFBIG", g.read_file, d + "/huge")
    expect_error("EFBIG", g.cat, d + "/huge")
    assert time.monotonic() - t0 < 5
    assert g.statns(d + "/huge")["st_blocks"] == 0


def test_paths_through_guest_symlinks_to_dirs(g):
    fresh(g, "/realdir")
    g.rm_f("/dirlink")
    g.ln_s("/../../realdir", "/dirlink")
    g.mkdir_p("/dirlink/a/b")
    assert g.is_dir("/realdir/a/b") == 1
    g.write("/dirlink/a/f", b"x")
    g.rm_rf("/dirlink/a/b")
    assert g.ls("/realdir/a") == ["f"]
    g.rm_rf("/dirlink")                            # removes the link, not the directory
    assert g.is_symlink("/dirlink") == 0 and g.ls("/realdir/a") == ["f"]
