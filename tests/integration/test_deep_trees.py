"""Hostile trees: a guest directory chain whose full path is longer than PATH_MAX (4096 bytes).

Every recursive action (find, find0, checksums_out, du, tar_out, cpio_out, copy_out,
glob_expand) must return every entry of such a tree, named relative to where the walk
started; listing a directory whose own path is that long works; rsync, which cannot copy
such names, fails with a clear error; error messages show guest paths as text, never as
b'...' and never with the appliance's /sysroot.

The tree is made on the host with directory descriptors (its paths are too long for any
path-based call) and copied into an ext4 image with mkfs.ext4 -d.  One launched handle
(with the network, for rsync_out to a host rsync daemon) serves the whole module.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

import guestkit
from tests.conftest import _need
from tests.helpers import expect_error, fresh, rsync_daemon

PATH_MAX = 4096
DEPTH = 20
CHAIN = ["%02d" % i + "L" * 248 for i in range(DEPTH)]        # 250-byte names
MID = 10                                # mid.txt sits in the 10th directory of the chain
BOTTOM_DATA = b"the bottom of a tree deeper than PATH_MAX\n" * 50
MID_DATA = b"half way down\n"
TOP_DATA = b"at the top\n"

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def rel(*names):
    return "/".join(names)


BOTTOM = rel(*CHAIN)                    # relative to /deep
EXPECTED = sorted(
    ["top.txt"] + [rel(*CHAIN[:i + 1]) for i in range(DEPTH)]
    + [rel(*CHAIN[:MID], "mid.txt")]
    + [BOTTOM + "/" + n for n in ("bottom.txt", "hard", "evil")],
    key=os.fsencode)
REGULAR = {"top.txt": TOP_DATA, rel(*CHAIN[:MID], "mid.txt"): MID_DATA,
           BOTTOM + "/bottom.txt": BOTTOM_DATA, BOTTOM + "/hard": BOTTOM_DATA}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def _write_at(dfd, name, data):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644,
                 dir_fd=dfd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def build_tree(top):
    """/deep under the host directory TOP, made with directory descriptors."""
    os.mkdir(os.path.join(top, "deep"))
    cur = os.open(os.path.join(top, "deep"), _O_DIR)
    _write_at(cur, "top.txt", TOP_DATA)
    for i, name in enumerate(CHAIN):
        if i == MID:
            _write_at(cur, "mid.txt", MID_DATA)
        os.mkdir(name, 0o755, dir_fd=cur)
        nxt = os.open(name, _O_DIR, dir_fd=cur)
        os.close(cur)
        cur = nxt
    _write_at(cur, "bottom.txt", BOTTOM_DATA)
    os.link("bottom.txt", "hard", src_dir_fd=cur, dst_dir_fd=cur)
    os.symlink("/etc/passwd", "evil", dir_fd=cur)
    os.close(cur)


def host_open_chain(top, names):
    """A descriptor of TOP/names... opened one component at a time."""
    cur = os.open(top, _O_DIR)
    for n in names:
        nxt = os.open(n, _O_DIR, dir_fd=cur)
        os.close(cur)
        cur = nxt
    return cur


def host_read(dfd, name):
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
    try:
        return b"".join(iter(lambda: os.read(fd, 1 << 16), b""))
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with rsync_daemon(tmp_path_factory.mktemp("rsyncd")) as d:
        yield d


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    _need("qemu-system-x86_64")
    _need("mkfs.ext4")
    d = tmp_path_factory.mktemp("deep")
    tree = d / "tree"
    tree.mkdir()
    build_tree(str(tree))
    img = str(d / "deep.img")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tree), img], check=True)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw")
    g.set_network(True)
    g.launch()
    g.mount("/dev/sda", "/")
    g.test_dir = str(d)
    yield g
    g.close()


def test_find_returns_every_entry(g):
    assert len(("/sysroot/deep/" + BOTTOM).encode()) > PATH_MAX
    assert g.find("/deep") == EXPECTED
    everything = g.find("/")
    assert [p[len("deep/"):] for p in everything if p.startswith("deep/")] == EXPECTED
    # a start deep enough that every name below it is longer than PATH_MAX in /sysroot
    start = "/deep/" + rel(*CHAIN[:17])
    assert g.find(start) == sorted(
        [rel(*CHAIN[17:i + 1]) for i in range(17, DEPTH)]
        + [rel(*CHAIN[17:], n) for n in ("bottom.txt", "hard", "evil")], key=os.fsencode)


def test_find0_returns_every_entry(g, tmp_path):
    out = str(tmp_path / "find0")
    g.find0("/deep", out)
    with open(out, "rb") as f:
        raw = f.read()
    assert raw.endswith(b"\0")
    names = [os.fsdecode(n) for n in raw[:-1].split(b"\0")]
    assert sorted(names, key=os.fsencode) == EXPECTED
    assert len(names) == len(EXPECTED) == 25


def test_checksums_out_reads_deep_files(g, tmp_path):
    out = str(tmp_path / "sums")
    g.checksums_out("sha256", "/deep", out)
    with open(out, "rb") as f:
        lines = f.read().decode().splitlines()
    got = {}
    for line in lines:
        value, name = line.split("  ", 1)
        got[name] = value
    assert got == {"./" + n: sha256(data) for n, data in REGULAR.items()}


def _expected_du(g, top, names):
    """du -s -k -P of guest directory TOP holding NAMES: st_blocks of each inode once."""
    seen = set()
    total = 0
    for p in [top] + [top + "/" + n for n in names]:
        st = g.lstatns(p)
        key = (st["st_dev"], st["st_ino"])
        if key not in seen:
            seen.add(key)
            total += st["st_blocks"] * 512
    return -(-total // 1024)


def test_du_counts_the_whole_tree(g):
    want = _expected_du(g, "/deep", EXPECTED)
    assert g.du("/deep") == want
    assert want >= sum(len(d) for d in REGULAR.values()) // 1024
    start = "/deep/" + rel(*CHAIN[:17])
    below = g.find(start)
    assert g.du(start) == _expected_du(g, start, below) < want


def test_tar_out_holds_the_deep_files(g, tmp_path):
    out = str(tmp_path / "deep.tar")
    g.tar_out("/deep", out)
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf}
        assert sorted((n[2:] for n in members if n != "."), key=os.fsencode) == EXPECTED
        m = members["./" + BOTTOM + "/bottom.txt"]
        assert tf.extractfile(m).read() == BOTTOM_DATA
        assert members["./" + BOTTOM + "/evil"].issym()
        assert members["./" + BOTTOM + "/evil"].linkname == "/etc/passwd"
    # starting deep down: the start's own appliance path is longer than PATH_MAX
    start = "/deep/" + rel(*CHAIN[:18])
    g.tar_out(start, out)
    with tarfile.open(out) as tf:
        names = sorted(m.name for m in tf)
        assert names == sorted(["."] + ["./" + rel(*CHAIN[18:i + 1]) for i in (18, 19)]
                               + ["./" + rel(*CHAIN[18:], n)
                                  for n in ("bottom.txt", "hard", "evil")])
        data = [tf.extractfile(m).read() for m in tf if m.name.endswith("/bottom.txt")]
        assert data == [BOTTOM_DATA]


def read_cpio(raw, crc):
    """[(name, mode, nlink, ino, data)] of a newc (or crc) archive, checking it."""
    magic = b"070702" if crc else b"070701"
    out, p = [], 0
    while True:
        h = raw[p:p + 110]
        assert h[:6] == magic, (p, h[:6])
        f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        ino, mode, nlink, size, namesize, check = f[0], f[1], f[4], f[6], f[11], f[12]
        name = raw[p + 110:p + 110 + namesize - 1]
        p = (p + 110 + namesize + 3) // 4 * 4
        data = raw[p:p + size]
        assert len(data) == size
        p = (p + size + 3) // 4 * 4
        if name == b"TRAILER!!!":
            assert not raw[p:].strip(b"\0")
            return out
        if crc and stat.S_ISREG(mode):
            assert check == sum(data) & 0xFFFFFFFF
        out.append((os.fsdecode(name), mode, nlink, ino, data))


def test_cpio_out_holds_the_deep_files(g, tmp_path):
    out = str(tmp_path / "deep.cpio")
    for fmt in ("newc", "crc"):
        g.cpio_out("/deep", out, format=fmt)
        with open(out, "rb") as f:
            entries = read_cpio(f.read(), fmt == "crc")
        byname = {e[0]: e for e in entries}
        assert len(byname) == len(entries)
        assert sorted(n for n in byname if n != ".") == sorted(EXPECTED)
        assert stat.S_ISDIR(byname["."][1])
        ev = byname[BOTTOM + "/evil"]
        assert stat.S_ISLNK(ev[1]) and ev[4] == b"/etc/passwd"
        assert byname["top.txt"][4] == TOP_DATA
        # the hard-linked pair: one inode number, the data stored once
        b, h = byname[BOTTOM + "/bottom.txt"], byname[BOTTOM + "/hard"]
        assert b[2] == h[2] == 2 and b[3] == h[3]
        assert sorted([b[4], h[4]]) == [b"", BOTTOM_DATA]
    # GNU cpio itself reads the archive (listing only: it cannot create such names either)
    listing = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(out, "rb"),
                             capture_output=True, check=True).stdout.decode().splitlines()
    assert sorted(listing) == sorted(["."] + EXPECTED)


def test_copy_out_recreates_the_deep_tree(g, tmp_path):
    dest = str(tmp_path / "out")
    os.mkdir(dest)
    g.copy_out("/deep", dest)
    fd = host_open_chain(os.path.join(dest, "deep"), CHAIN)
    try:
        assert host_read(fd, "bottom.txt") == BOTTOM_DATA
        st = os.lstat("evil", dir_fd=fd)
        assert stat.S_ISLNK(st.st_mode)
        assert os.readlink("evil", dir_fd=fd) == "/etc/passwd"
    finally:
        os.close(fd)
    fd = host_open_chain(os.path.join(dest, "deep"), CHAIN[:MID])
    try:
        assert host_read(fd, "mid.txt") == MID_DATA
    finally:
        os.close(fd)
    # a directory whose own guest path is longer than PATH_MAX
    dest2 = str(tmp_path / "out2")
    os.mkdir(dest2)
    g.copy_out("/deep/" + rel(*CHAIN[:18]), dest2)
    assert os.listdir(dest2) == [CHAIN[17]]
    fd = host_open_chain(dest2, CHAIN[17:])
    try:
        assert host_read(fd, "bottom.txt") == BOTTOM_DATA
    finally:
        os.close(fd)


def test_listing_a_directory_deeper_than_path_max(g, tmp_path):
    bottom = "/deep/" + BOTTOM
    assert g.ls(bottom) == ["bottom.txt", "evil", "hard"]
    out = str(tmp_path / "ls0")
    g.ls0(bottom, out)
    with open(out, "rb") as f:
        assert sorted(f.read().split(b"\0")[:-1]) == [b"bottom.txt", b"evil", b"hard"]
    assert "bottom.txt" in g.ll(bottom)
    # and through a '..' and a trailing slash
    assert g.ls(bottom + "/../" + CHAIN[-1] + "/") == ["bottom.txt", "evil", "hard"]
    assert g.is_dir(bottom) == 1
    assert g.is_file(bottom + "/bottom.txt") == 1
    assert g.is_symlink(bottom + "/evil") == 1
    assert g.exists(bottom + "/hard") == 1
    assert g.exists(bottom + "/missing") == 0
    assert g.lstatns(bottom + "/bottom.txt")["st_size"] == len(BOTTOM_DATA)
    assert g.cat(bottom + "/bottom.txt") == BOTTOM_DATA.decode()
    assert [s["st_size"] for s in g.lstatnslist(bottom, ["bottom.txt", "hard", "nope"])] \
        == [len(BOTTOM_DATA), len(BOTTOM_DATA), 0]


def test_glob_expand_reaches_deep_names(g):
    assert g.glob_expand("/deep/" + "*/" * DEPTH + "bottom.txt") == \
        ["/deep/" + BOTTOM + "/bottom.txt"]
    assert g.glob_expand("/deep/" + "*/" * DEPTH + "*") == \
        ["/deep/" + BOTTOM + "/" + n for n in ("bottom.txt", "evil", "hard")]
    assert g.glob_expand("/deep/" + "*/" * DEPTH) == ["/deep/" + BOTTOM + "/"]
    assert g.glob_expand("/deep/" + "*/" * MID + "mid.*") == \
        ["/deep/" + rel(*CHAIN[:MID]) + "/mid.txt"]


def test_rsync_fails_clearly_on_names_longer_than_path_max(g, daemon):
    dst = daemon["dst"]
    shutil.rmtree(dst)
    os.mkdir(dst)
    e = expect_error("ENAMETOOLONG", g.rsync_out, "/deep/", daemon["url"] + "/dst/",
                     archive=True)
    msg = str(e)
    assert "b'" not in msg and "/sysroot" not in msg
    assert "/deep/" + rel(*CHAIN[:16]) in msg          # the guest path that is too long
    # what rsync could copy is there
    with open(os.path.join(dst, "top.txt"), "rb") as f:
        assert f.read() == TOP_DATA
    # rsync inside the guest: the same limit, the same clear error
    fresh(g, "/copy")
    e = expect_error("ENAMETOOLONG", g.rsync, "/deep", "/copy", archive=True)
    assert "b'" not in str(e) and "/sysroot" not in str(e)
    assert "/deep/" + rel(*CHAIN[:16]) in str(e)


def test_errors_name_guest_paths_as_text(g):
    deep = "/deep/" + BOTTOM + "/bottom.txt"
    # actions that take a path longer than PATH_MAX without supporting it refuse it
    # clearly, naming the whole guest path
    e = expect_error("ENAMETOOLONG", g.chmod, 0o600, deep)
    msg = str(e)
    assert deep in msg and "b'" not in msg and "/sysroot" not in msg
    e = expect_error("ENAMETOOLONG", g.mkdir, "/deep/" + BOTTOM + "/new")
    assert "/deep/" + BOTTOM + "/new" in str(e) and "/sysroot" not in str(e)
    # a missing deep directory is ENOENT naming it
    e = expect_error("ENOENT", g.find, "/deep/" + BOTTOM + "/nothing")
    assert "/deep/" + BOTTOM + "/nothing" in str(e) and "b'" not in str(e)


def test_cp_a_fails_clearly_on_a_deep_tree(g):
    # GNU cp reaches files by their path from where it starts: it copies what it can and
    # fails; the error says so with guest paths
    e = expect_error("ENAMETOOLONG", g.cp_a, "/deep", "/cp-a")
    msg = str(e)
    assert "b'" not in msg and "/sysroot" not in msg
    assert "'/deep/" + rel(*CHAIN[:15]) in msg
    assert g.cat("/cp-a/top.txt") == TOP_DATA.decode()
