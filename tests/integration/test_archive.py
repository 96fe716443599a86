"""Archives and transfers against a real appliance: tar/cpio in and out, copy_in/copy_out,
partial transfers, block copies, raw filesystem reads, progress and cancellation, and the
host-destination rules with hostile guest content.

One launched handle for the module (the ``launched`` fixture: /dev/sda1 ext4 mounted at /,
/dev/sdb blank).  Every test works in its own guest directory and host temporary directory.
"""

import hashlib
import io
import os
import resource
import stat
import subprocess
import tarfile
import threading
import time

import pytest

import guestkit
from guestkit.library import transfer
from tests.helpers import describe_host, expect_error, fresh, sha256_file

MiB = 1 << 20
TiB = 1 << 40
SPARSE = 64 * MiB           # apparent size of the sparse file of the test trees


@pytest.fixture(scope="module")
def g(launched):
    return launched


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Events:
    """Collects progress (and warning) events of the handle while active."""

    def __init__(self, g, mask=guestkit.EVENT_PROGRESS, on_event=None):
        self.g = g
        self.events = []
        self.on_event = on_event
        self.eh = g.set_event_callback(self.cb, mask)

    def cb(self, event, eh, buf, array):
        self.events.append((event, bytes(buf), list(array)))
        if self.on_event:
            self.on_event(event, array)

    def progress(self):
        return [a for e, _, a in self.events if e == guestkit.EVENT_PROGRESS]

    def warnings(self):
        return [b.decode() for e, b, _ in self.events if e == guestkit.EVENT_WARNING]

    def close(self):
        self.g.delete_event_callback(self.eh)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_progress(ev):
    assert ev, "no progress events"
    for _, _, pos, total in ev:
        assert 0 <= pos <= total, ev
    assert ev[-1][2] == ev[-1][3], "the last progress event is not 100%%: %r" % ev[-1]


def make_tar(members):
    """An uncompressed tar (bytes) of MEMBERS: (name, type, data or linkname, mode, extra)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, typ, payload, mode, extra in members:
            ti = tarfile.TarInfo(name)
            ti.type = typ
            ti.mode = mode
            ti.mtime = 1600000000
            data = None
            if typ == tarfile.REGTYPE:
                ti.size = len(payload)
                data = io.BytesIO(payload)
            elif typ in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                ti.linkname = payload
            for k, v in (extra or {}).items():
                setattr(ti, k, v)
            t.addfile(ti, data)
    return buf.getvalue()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def host_tree(root):
    """A host tree with modes, symlinks, a hard link, an empty dir and a sparse file; returns
    the sparse file's data layout."""
    os.makedirs(os.path.join(root, "tree", "sub", "deep"))
    os.makedirs(os.path.join(root, "tree", "empty"))
    t = os.path.join(root, "tree")
    write(os.path.join(t, "hello"), b"hello\n")
    os.chmod(os.path.join(t, "hello"), 0o640)
    write(os.path.join(t, "run.sh"), b"#!/bin/sh\necho hi\n")
    os.chmod(os.path.join(t, "run.sh"), 0o755)
    write(os.path.join(t, "sub", "deep", "data.bin"), os.urandom(300 * 1024))
    os.chmod(os.path.join(t, "sub"), 0o750)
    os.symlink("hello", os.path.join(t, "rel-link"))
    os.symlink("/etc/passwd", os.path.join(t, "abs-link"))
    os.symlink("../../nowhere", os.path.join(t, "sub", "dangling"))
    os.link(os.path.join(t, "hello"), os.path.join(t, "hard"))
    sparse = os.path.join(t, "sparse.img")
    with open(sparse, "wb") as f:
        f.truncate(SPARSE)
        f.seek(10 * MiB)
        f.write(b"A" * 4096)
        f.seek(SPARSE - 4096)
        f.write(b"Z" * 4096)
    os.utime(os.path.join(t, "hello"), (1500000000, 1500000000))
    return t


def snapshot(root):
    """Every path under ROOT with its lstat (type, size, mtime): to see what changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[p] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return out


# ---- tar and cpio --------------------------------------------------------------------------------

def test_tar_round_trips(g, tmp_path):
    src = host_tree(str(tmp_path / "src"))
    # a tar made by the host's GNU tar, sparse file stored sparse
    tarball = str(tmp_path / "in.tar")
    subprocess.run(["tar", "-C", os.path.dirname(src), "--sparse", "-cf", tarball, "tree"],
                   check=True)
    d = fresh(g, "/tar1")
    with Events(g) as ev:
        g.tar_in(tarball, d)
    check_progress(ev.progress())
    t = d + "/tree"
    assert g.cat(t + "/hello") == "hello\n"
    assert g.statns(t + "/hello")["st_mode"] & 0o7777 == 0o640
    assert g.statns(t + "/hello")["st_mtime_sec"] == 1500000000
    assert g.statns(t + "/run.sh")["st_mode"] & 0o7777 == 0o755
    assert g.statns(t + "/sub")["st_mode"] & 0o7777 == 0o750
    assert g.readlink(t + "/rel-link") == "hello"
    assert g.readlink(t + "/abs-link") == "/etc/passwd"
    assert g.statns(t + "/hard")["st_ino"] == g.statns(t + "/hello")["st_ino"]
    assert g.is_dir(t + "/empty") == 1
    sp = g.statns(t + "/sparse.img")
    assert sp["st_size"] == SPARSE
    assert sp["st_blocks"] * 512 < MiB, "the sparse file was filled in the guest"
    assert g.checksum("sha256", t + "/sub/deep/data.bin") == \
        sha256_file(os.path.join(src, "sub/deep/data.bin"))
    assert g.checksum("sha256", t + "/sparse.img") == sha256_file(os.path.join(src,
                                                                               "sparse.img"))
    # no staging directory is left behind
    assert g.ls(d) == ["tree"]

    # tar_out, then unpack it on the host with the host's tar and compare
    out = str(tmp_path / "out.tar")
    with Events(g) as ev:
        g.tar_out(d, out)
    check_progress(ev.progress())
    with tarfile.open(out) as tf:
        names = {m.name for m in tf}
        sparse_member = tf.getmember("./tree/sparse.img")
        assert sparse_member.sparse is not None, "tar_out did not store the sparse file sparse"
    assert "./tree/sub/deep/data.bin" in names
    assert os.path.getsize(out) < 8 * MiB
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-C", str(unpacked), "-xf", out], check=True)
    assert describe_host(str(unpacked / "tree")) == describe_host(src)

    # compressed round trips, and the deprecated tgz/txz forms
    for compress in ("gzip", "bzip2", "xz", "zstd", "lzop", "compress"):
        path = str(tmp_path / ("out." + compress))
        g.tar_out(t + "/sub", path, compress=compress)
        e = fresh(g, "/tar-" + compress)
        g.tar_in(path, e, compress=compress)
        assert g.checksum("sha256", e + "/deep/data.bin") == \
            sha256_file(os.path.join(src, "sub/deep/data.bin")), compress
    with open(str(tmp_path / "out.gzip"), "rb") as f:
        assert f.read(2) == b"\x1f\x8b"
    tgz = str(tmp_path / "t.tgz")
    g.tgz_out(t + "/sub", tgz)
    subprocess.run(["tar", "-tzf", tgz], check=True, stdout=subprocess.DEVNULL)
    e = fresh(g, "/tgz")
    g.tgz_in(tgz, e)
    assert g.is_file(e + "/deep/data.bin") == 1
    txz = str(tmp_path / "t.txz")
    g.txz_out(t + "/sub", txz)
    subprocess.run(["tar", "-tJf", txz], check=True, stdout=subprocess.DEVNULL)
    e = fresh(g, "/txz")
    g.txz_in(txz, e)
    assert g.is_file(e + "/deep/data.bin") == 1
    # the _opts aliases
    g.tar_out_opts(t + "/sub", str(tmp_path / "o.tar"), numericowner=True)
    g.tar_in_opts(str(tmp_path / "o.tar"), fresh(g, "/tar-opts"))


def test_tar_out_options(g, tmp_path):
    d = fresh(g, "/taropt")
    g.write(d + "/keep.txt", b"k")
    g.write(d + "/drop.log", b"d")
    g.mkdir(d + "/logs")
    g.write(d + "/logs/x.log", b"x")
    g.chown(1234, 5678, d + "/keep.txt")
    out = str(tmp_path / "x.tar")
    g.tar_out(d, out, excludes=["*.log"], numericowner=True)
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf}
    assert "./keep.txt" in members and "./logs" in members
    assert not [n for n in members if n.endswith(".log")]
    assert (members["./keep.txt"].uid, members["./keep.txt"].gid) == (1234, 5678)
    assert members["./keep.txt"].uname == ""
    # extended attributes and ACLs are accepted (what is stored depends on the filesystem)
    g.tar_out(d, out, xattrs=True, acls=True, selinux=True)
    g.tar_in(out, fresh(g, "/taropt2"), xattrs=True, acls=True, selinux=True)
    assert g.cat("/taropt2/keep.txt") == "k"
    assert g.statns("/taropt2/keep.txt")["st_uid"] == 1234


def test_tar_errors(g, tmp_path):
    d = fresh(g, "/tarerr")
    good = write(str(tmp_path / "good.tar"), make_tar([("f", tarfile.REGTYPE, b"x", 0o644,
                                                        None)]))
    expect_error("ENOENT", g.tar_in, good, d + "/missing")
    g.write(d + "/file", b"")
    expect_error("ENOTDIR", g.tar_in, good, d + "/file")
    expect_error("EINVAL", g.tar_in, good, d, compress="rar")
    expect_error("ENOENT", g.tar_out, d + "/missing", str(tmp_path / "x.tar"))
    expect_error("ENOTDIR", g.tar_out, d + "/file", str(tmp_path / "x.tar"))
    expect_error("EINVAL", g.tar_out, d, str(tmp_path / "x.tar"), compress="rar")
    # garbage, and a truncated archive: an error, and nothing is unpacked
    garbage = write(str(tmp_path / "garbage.tar"), os.urandom(64 * 1024))
    with pytest.raises(guestkit.Error):
        g.tar_in(garbage, d)
    big = make_tar([("a", tarfile.REGTYPE, b"a" * 5000, 0o644, None),
                    ("b", tarfile.REGTYPE, os.urandom(200000), 0o644, None)])
    cut = write(str(tmp_path / "cut.tar"), big[:100000])
    with pytest.raises(guestkit.Error):
        g.tar_in(cut, d)
    with pytest.raises(guestkit.Error):
        g.tgz_in(good, d)                      # not gzip
    assert g.ls(d) == ["file"]
    # the handle still works
    g.tar_in(good, d)
    assert g.cat(d + "/f") == "x"


def test_cpio_out(g, tmp_path):
    d = fresh(g, "/cpio")
    g.write(d + "/a", b"alpha")
    g.mkdir(d + "/sub")
    g.write(d + "/sub/b", b"beta")
    g.ln_s("a", d + "/link")
    out = str(tmp_path / "x.cpio")
    with Events(g) as ev:
        g.cpio_out(d, out)
    check_progress(ev.progress())
    with open(out, "rb") as f:
        assert f.read(6) == b"070701"
    listing = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(out, "rb"),
                             capture_output=True, check=True).stdout.decode().split()
    assert {"a", "sub", "sub/b", "link"} <= set(listing)
    unpack = tmp_path / "cpio-x"
    unpack.mkdir()
    subprocess.run(["cpio", "-id", "--quiet", "--no-absolute-filenames"],
                   stdin=open(out, "rb"), cwd=str(unpack), check=True)
    assert (unpack / "sub" / "b").read_bytes() == b"beta"
    assert os.readlink(str(unpack / "link")) == "a"
    g.cpio_out(d, out, format="crc")
    with open(out, "rb") as f:
        assert f.read(6) == b"070702"
    expect_error("EINVAL", g.cpio_out, d, out, format="tar")
    expect_error("ENOENT", g.cpio_out, d + "/missing", out)


# ---- copy_in / copy_out --------------------------------------------------------------------------

def test_copy_in_copy_out_tree(g, tmp_path):
    src = host_tree(str(tmp_path / "src"))
    d = fresh(g, "/cp")
    t0 = time.monotonic()
    with Events(g) as ev:
        g.copy_in(src, d)
    check_progress(ev.progress())
    assert time.monotonic() - t0 < 30
    t = d + "/tree"
    assert g.statns(t + "/hello")["st_mode"] & 0o7777 == 0o640
    assert g.statns(t + "/run.sh")["st_mode"] & 0o7777 == 0o755
    assert g.statns(t + "/sub")["st_mode"] & 0o7777 == 0o750
    assert g.readlink(t + "/abs-link") == "/etc/passwd"
    assert g.readlink(t + "/sub/dangling") == "../../nowhere"
    assert g.statns(t + "/hard")["st_ino"] == g.statns(t + "/hello")["st_ino"]
    sp = g.statns(t + "/sparse.img")
    assert sp["st_size"] == SPARSE and sp["st_blocks"] * 512 < MiB
    assert g.checksum("sha256", t + "/sparse.img") == sha256_file(src + "/sparse.img")

    dest = tmp_path / "dest"
    dest.mkdir()
    with Events(g) as ev:
        g.copy_out(t, str(dest))
    check_progress(ev.progress())
    out = str(dest / "tree")
    assert describe_host(out) == describe_host(src)
    st = os.lstat(os.path.join(out, "sparse.img"))
    assert st.st_size == SPARSE
    assert st.st_blocks * 512 < MiB, "the sparse file was filled on the host"
    assert os.lstat(os.path.join(out, "hard")).st_ino == os.lstat(os.path.join(out,
                                                                               "hello")).st_ino
    assert os.lstat(os.path.join(out, "hello")).st_mtime == 1500000000

    # a single file each way; the copy replaces an existing host file or symlink
    g.copy_in(src + "/run.sh", d)
    assert g.statns(d + "/run.sh")["st_mode"] & 0o7777 == 0o755
    single = tmp_path / "single"
    single.mkdir()
    os.symlink("/etc/passwd", str(single / "run.sh"))
    g.copy_out(d + "/run.sh", str(single))
    assert not os.path.islink(str(single / "run.sh"))
    assert (single / "run.sh").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert stat.S_IMODE(os.stat(str(single / "run.sh")).st_mode) == 0o755
    g.copy_out(t + "/sparse.img", str(single))
    st = os.stat(str(single / "sparse.img"))
    assert st.st_size == SPARSE and st.st_blocks * 512 < MiB
    # the contents of / go into the destination itself; copying again merges
    e = fresh(g, "/cp-again")
    g.copy_in(src, e)
    g.copy_in(src, e)
    assert g.cat(e + "/tree/hello") == "hello\n"

    # errors
    expect_error("ENOTDIR", g.copy_in, src, d + "/tree/hello")
    expect_error("ENOENT", g.copy_in, str(tmp_path / "no-such"), d)
    expect_error("ENOENT", g.copy_out, t, str(tmp_path / "no-such-dir"))
    expect_error("ENOTDIR", g.copy_out, t, src + "/hello")
    with pytest.raises(guestkit.Error):
        g.copy_out(d + "/no-such", str(dest))
    g.ln_s("tree", d + "/tree-link")
    with pytest.raises(guestkit.Error):
        g.copy_out(d + "/tree-link", str(dest))        # neither a file nor a directory


def test_copy_in_host_failure_lands_nothing(g, tmp_path, monkeypatch):
    """A host file that cannot be read half-way through: the error says so, and the guest
    gets nothing (not a tree cut short)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        write(str(src / ("f%02d" % i)), os.urandom(100 * 1024))
    real_add = transfer._add

    def failing_add(tar, arc, path, st, links):
        if arc.endswith("f15"):
            raise OSError(5, "Input/output error", path)
        return real_add(tar, arc, path, st, links)
    monkeypatch.setattr(transfer, "_add", failing_add)
    d = fresh(g, "/cp-fail")
    e = expect_error("EIO", g.copy_in, str(src), d)
    assert "copy_in" in str(e) and "f15" in str(e)
    assert g.ls(d) == []
    monkeypatch.setattr(transfer, "_add", real_add)
    g.copy_in(str(src), d)                      # the handle still works
    assert len(g.ls(d + "/src")) == 20


def test_copy_out_of_root(g, tmp_path):
    d = fresh(g, "/rootcopy")
    g.write(d + "/x", b"x")
    dest = tmp_path / "root"
    dest.mkdir()
    os.chmod(str(dest), 0o711)
    g.copy_out("/", str(dest))
    assert (dest / "rootcopy" / "x").read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o711     # not changed


def test_copy_out_modes_and_owners(g, tmp_path):
    """Guest modes arrive less the umask and files belong to the caller, as any file a
    program makes; owners=True (root) keeps the guest's numeric owners and exact modes."""
    d = fresh(g, "/perm")
    g.mkdir_mode(d + "/open", 0o777)
    g.chmod(0o777, d + "/open")
    g.write(d + "/open/f", b"f")
    g.chmod(0o666, d + "/open/f")
    g.chown(1234, 4321, d + "/open")
    g.chown(1234, 4321, d + "/open/f")
    old = os.umask(0o027)
    try:
        for sub in ("tree", "file"):
            (tmp_path / sub).mkdir()
        g.copy_out(d + "/open", str(tmp_path / "tree"))
        g.copy_out(d + "/open/f", str(tmp_path / "file"))
    finally:
        os.umask(old)
    for path, mode in ((tmp_path / "tree" / "open", 0o750), (tmp_path / "tree" / "open" / "f",
                                                             0o640),
                       (tmp_path / "file" / "f", 0o640)):
        st = os.lstat(str(path))
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
            (mode, os.geteuid(), os.getegid()), path
    (tmp_path / "owners").mkdir()
    g.copy_out(d + "/open", str(tmp_path / "owners"), owners=True)
    for path, mode in (("open", 0o777), ("open/f", 0o666)):
        st = os.lstat(str(tmp_path / "owners" / path))
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, 1234, 4321)


def test_failed_download_leaves_the_destination_alone(g, tmp_path):
    d = fresh(g, "/dl")
    g.write(d + "/new", b"new content")
    dest = tmp_path / "kept"
    dest.write_bytes(b"precious")
    os.chmod(str(dest), 0o640)
    expect_error("ENOENT", g.download, d + "/no-such", str(dest))
    assert dest.read_bytes() == b"precious"
    with pytest.raises(guestkit.Error):
        g.download("/dev/sda", str(tmp_path / "no-such-dir" / "x"))
    g.download(d + "/new", str(dest))
    assert dest.read_bytes() == b"new content"
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o640       # its mode is kept
    assert sorted(os.listdir(str(tmp_path))) == ["kept"]          # no temporary left


# ---- hostile guest content -----------------------------------------------------------------------

def hostile_members(outside):
    R, L, S, D = tarfile.REGTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE
    return [
        ("hostile", D, None, 0o755, None),
        ("hostile/passwd", S, "/etc/passwd", 0o777, None),
        ("hostile/up", S, "../../../../../../../..", 0o777, None),
        ("hostile/outside", S, outside, 0o777, None),
        ("hostile/root", S, "/", 0o777, None),
        ("hostile/null", tarfile.CHRTYPE, None, 0o666, {"devmajor": 1, "devminor": 3}),
        ("hostile/sda", tarfile.BLKTYPE, None, 0o660, {"devmajor": 8, "devminor": 0}),
        ("hostile/fifo", tarfile.FIFOTYPE, None, 0o644, None),
        ("hostile/suid", R, b"#!/bin/sh\n", 0o4755, None),
        ("hostile/sgid-dir", D, None, 0o2775, None),
        ("hostile/sgid-dir/f", R, b"f", 0o2755, None),
        ("hostile/data", R, b"data", 0o644, None),
        ("hostile/data-link", L, "hostile/data", 0o644, None),
    ]


def test_copy_out_hostile_tree(g, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    outside = base / "outside"
    outside.mkdir()
    dest = base / "dest"
    dest.mkdir()
    d = fresh(g, "/hostile-src")
    tarball = write(str(tmp_path / "hostile.tar"), make_tar(hostile_members(str(outside))))
    g.tar_in(tarball, d)
    h = d + "/hostile"
    assert g.is_symlink(h + "/passwd") == 1
    assert stat.S_ISCHR(g.lstatns(h + "/null")["st_mode"])
    assert g.lstatns(h + "/suid")["st_mode"] & 0o4000
    # a file of 1 TiB apparent size: a hole then 5 bytes
    five = write(str(tmp_path / "five"), b"hello")
    g.upload_offset(five, h + "/huge", TiB - 5)
    assert g.filesize(h + "/huge") == TiB

    passwd_before = (os.stat("/etc/passwd").st_mtime_ns, sha256_file("/etc/passwd"))
    before = snapshot(str(base))
    with Events(g, guestkit.EVENT_PROGRESS | guestkit.EVENT_WARNING) as ev:
        t0 = time.monotonic()
        g.copy_out(h, str(dest))
        took = time.monotonic() - t0
    assert took < 30, "copy_out of a 1 TiB sparse file took %.1f s" % took
    after = snapshot(str(base))
    # nothing changed or appeared outside the destination
    outside_changes = {p for p in set(before) | set(after)
                       if not (p + os.sep).startswith(str(dest) + os.sep)
                       and before.get(p) != after.get(p)}
    assert outside_changes == set(), outside_changes
    assert os.listdir(str(outside)) == []
    assert (os.stat("/etc/passwd").st_mtime_ns, sha256_file("/etc/passwd")) == passwd_before

    out = dest / "hostile"
    for name, target in (("passwd", "/etc/passwd"), ("up", "../../../../../../../.."),
                         ("outside", str(outside)), ("root", "/")):
        assert os.path.islink(str(out / name)), name
        assert os.readlink(str(out / name)) == target, name
    assert not os.path.lexists(str(out / "null"))
    assert not os.path.lexists(str(out / "sda"))
    assert stat.S_ISFIFO(os.lstat(str(out / "fifo")).st_mode)
    assert stat.S_IMODE(os.stat(str(out / "suid")).st_mode) == 0o755
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(str(out / "sgid-dir")).st_mode) == 0o775 & ~umask
    assert stat.S_IMODE(os.stat(str(out / "sgid-dir" / "f")).st_mode) == 0o755
    assert os.stat(str(out / "data-link")).st_ino == os.stat(str(out / "data")).st_ino
    huge = os.lstat(str(out / "huge"))
    assert huge.st_size == TiB
    assert huge.st_blocks * 512 < MiB, "the sparse file takes real space on the host"
    with open(str(out / "huge"), "rb") as f:
        f.seek(TiB - 5)
        assert f.read() == b"hello"
    warnings = "\n".join(ev.warnings())
    assert "device node" in warnings and "setuid" in warnings, warnings

    # the same tree through tar_out: the host's own tar sees the symlinks as they are
    tarout = str(tmp_path / "hostile-out.tar")
    g.tar_out(h, tarout)
    with tarfile.open(tarout) as tf:
        m = tf.getmember("./huge")
        assert m.size == TiB and m.sparse is not None
    assert os.path.getsize(tarout) < MiB


def test_extractor_refuses_a_hostile_stream(tmp_path):
    """The host-side extractor with a crafted archive (what a subverted appliance could
    send): symlink then a file through it, absolute and .. names, hard links out, devices,
    setuid, a symlink replaced by a file, oversized headers."""
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    R, L, S, D = tarfile.REGTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE
    data = make_tar([
        ("./", D, None, 0o755, None),
        ("./esc", S, str(outside), 0o777, None),
        ("./esc/pwned", R, b"x", 0o644, None),
        ("./esc/sub/pwned", R, b"x", 0o644, None),
        ("./esc", D, None, 0o755, None),               # replaces the symlink, not followed
        ("./esc/inside", R, b"in", 0o644, None),
        ("../up", R, b"x", 0o644, None),
        ("/abs", R, b"x", 0o644, None),
        ("./a/../../b", R, b"x", 0o644, None),
        ("./dev", tarfile.CHRTYPE, None, 0o666, {"devmajor": 1, "devminor": 3}),
        ("./hl", L, "/etc/passwd", 0o644, None),
        ("./hl2", L, "../outside/f", 0o644, None),
        ("./p", S, "/etc/passwd", 0o777, None),
        ("./p", R, b"replaced", 0o644, None),
        ("./suid", R, b"#!", 0o6755, None),
        ("./ro", D, None, 0o555, None),
        ("./ro/file", R, b"r", 0o444, None),
    ])
    r, w = os.pipe()
    threading.Thread(target=lambda: (os.write(w, data), os.close(w))).start()
    rootfd = os.open(str(dest), os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.fdopen(r, "rb", buffering=0) as f:
            refused, warnings = transfer.extract(f, rootfd)
    finally:
        os.close(rootfd)
    assert os.listdir(str(outside)) == []
    assert not os.path.lexists(str(tmp_path / "up")) and not os.path.lexists("/abs")
    assert not os.path.lexists(str(tmp_path / "b"))
    assert sorted(os.listdir(str(dest))) == ["esc", "p", "ro", "suid"]
    assert os.path.isdir(str(dest / "esc")) and not os.path.islink(str(dest / "esc"))
    assert (dest / "esc" / "inside").read_bytes() == b"in"
    assert (dest / "p").read_bytes() == b"replaced"
    assert stat.S_IMODE(os.stat(str(dest / "suid")).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(str(dest / "ro")).st_mode) == 0o555
    assert refused >= 8 and len(warnings) == refused

    # a header asking for a gigantic long name is refused without allocating it
    hdr = tarfile.TarInfo("././@LongLink")
    hdr.type = tarfile.GNUTYPE_LONGNAME
    hdr.size = 1 << 40
    blob = hdr.tobuf(tarfile.GNU_FORMAT) + b"\0" * 4096
    r, w = os.pipe()
    threading.Thread(target=lambda: (os.write(w, blob), os.close(w))).start()
    rootfd = os.open(str(dest), os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.fdopen(r, "rb", buffering=0) as f:
            with pytest.raises(Exception, match="refused|header"):
                transfer.extract(f, rootfd)
    finally:
        os.close(rootfd)


def test_tar_in_guest_symlinks_stay_in_the_guest(g, tmp_path):
    """A symlink already in the guest must not redirect tar_in's writes out of the guest
    root (GNU tar follows it; /etc would be the appliance's /etc)."""
    fresh(g, "/etc")
    g.write("/etc/guest-passwd", b"guest\n")
    d = fresh(g, "/tin")
    g.ln_s("/etc", d + "/abs")                         # absolute: the guest's /etc
    g.ln_s("../../../../../../..", d + "/up")          # climbs to the guest's root
    g.ln_s("/etc/guest-passwd", d + "/file-link")
    g.mkdir(d + "/realdir")
    g.ln_s("realdir", d + "/dirlink")
    R, D = tarfile.REGTYPE, tarfile.DIRTYPE
    tarball = write(str(tmp_path / "t.tar"), make_tar([
        ("abs/pwned", R, b"1", 0o644, None),           # no directory member: followed
        ("./up/pwned-up", R, b"2", 0o644, None),
        ("file-link", R, b"replaced", 0o644, None),    # replaces the link, not its target
        ("dirlink/", D, None, 0o700, None),            # a directory member: link kept
        ("dirlink/inner", R, b"3", 0o644, None),
    ]))
    g.tar_in(tarball, d)
    assert g.cat("/etc/pwned") == "1"                 # landed in the guest, not the appliance
    assert g.cat("/pwned-up") == "2"
    assert g.is_symlink(d + "/file-link") == 0
    assert g.cat(d + "/file-link") == "replaced"
    assert g.cat("/etc/guest-passwd") == "guest\n"
    assert g.is_symlink(d + "/dirlink") == 1
    assert g.cat(d + "/realdir/inner") == "3"
    assert sorted(g.ls(d)) == ["abs", "dirlink", "file-link", "realdir", "up"]
    # copy_in goes the same way
    src = tmp_path / "src"
    (src / "abs").mkdir(parents=True)
    write(str(src / "abs" / "from-copy-in"), b"4")
    e = fresh(g, "/tin2")
    g.ln_s("/etc", e + "/abs")
    g.copy_in(str(src / "abs"), e)
    assert g.cat("/etc/from-copy-in") == "4"
    assert g.is_symlink(e + "/abs") == 1


# ---- partial transfers -----------------------------------------------------------------------------

def test_upload_download_offset(g, tmp_path):
    d = fresh(g, "/off")
    payload = os.urandom(3 * MiB + 123)
    src = write(str(tmp_path / "payload"), payload)
    with Events(g) as ev:
        g.upload_offset(src, d + "/f", MiB)           # a new file: a hole before
    check_progress(ev.progress())
    assert g.filesize(d + "/f") == MiB + len(payload)
    out = str(tmp_path / "out")
    g.download_offset(d + "/f", out, 0, MiB)
    assert open(out, "rb").read() == bytes(MiB)
    with Events(g) as ev:
        g.download_offset(d + "/f", out, MiB, len(payload))
    check_progress(ev.progress())
    assert open(out, "rb").read() == payload
    # overwrite in the middle without truncating
    patch = write(str(tmp_path / "patch"), b"PATCH")
    g.upload_offset(patch, d + "/f", MiB + 10)
    assert g.filesize(d + "/f") == MiB + len(payload)
    g.download_offset(d + "/f", out, MiB + 5, 15)
    assert open(out, "rb").read() == payload[5:10] + b"PATCH" + payload[15:20]
    # past the end: what there is
    g.download_offset(d + "/f", out, MiB + len(payload) - 3, 100)
    assert open(out, "rb").read() == payload[-3:]
    g.download_offset(d + "/f", out, 10 * MiB, 100)
    assert open(out, "rb").read() == b""
    expect_error("EINVAL", g.download_offset, d + "/f", out, -1, 10)
    expect_error("EINVAL", g.download_offset, d + "/f", out, 0, -1)
    expect_error("EINVAL", g.upload_offset, patch, d + "/f", -1)
    expect_error("ENOENT", g.download_offset, d + "/missing", out, 0, 1)
    expect_error("ENOENT", g.upload_offset, patch, d + "/no/such/file", 0)
    expect_error("EISDIR", g.download_offset, d, out, 0, 1)
    # devices
    g.upload_offset(src, "/dev/sdb", 5 * MiB + 7)
    g.download_offset("/dev/sdb", out, 5 * MiB + 7, len(payload))
    assert sha256_file(out) == sha256(payload)


# ---- copies inside the appliance ------------------------------------------------------------------

def test_copy_file_and_device(g, tmp_path):
    d = fresh(g, "/cpy")
    data = bytes(range(256)) * 4096                      # 1 MiB
    g.write(d + "/src", data)
    g.copy_file_to_file(d + "/src", d + "/whole")
    assert g.read_file(d + "/whole") == data
    g.copy_file_to_file(d + "/src", d + "/part", srcoffset=1000, size=5000)
    assert g.read_file(d + "/part") == data[1000:6000]
    g.copy_file_to_file(d + "/src", d + "/shifted", srcoffset=10, destoffset=100, size=50)
    assert g.read_file(d + "/shifted") == bytes(100) + data[10:60]
    # truncated unless append
    g.write(d + "/dst", b"x" * 1000)
    g.copy_file_to_file(d + "/src", d + "/dst", size=10)
    assert g.read_file(d + "/dst") == data[:10]
    g.copy_file_to_file(d + "/src", d + "/dst", size=10, append=True)
    assert g.read_file(d + "/dst") == data[:10] * 2
    # sparse: zero blocks are not written
    g.write(d + "/zeros", bytes(4 * MiB) + b"end")
    with Events(g) as ev:
        g.copy_file_to_file(d + "/zeros", d + "/sparse", sparse=True)
    check_progress(ev.progress())
    assert g.filesize(d + "/sparse") == 4 * MiB + 3
    assert g.statns(d + "/sparse")["st_blocks"] * 512 < MiB + 8192
    assert g.read_file(d + "/sparse")[-3:] == b"end"
    g.write(d + "/z2", bytes(2 * MiB))
    g.copy_file_to_file(d + "/z2", d + "/sparse-tail", sparse=True)
    assert g.filesize(d + "/sparse-tail") == 2 * MiB
    # devices
    g.copy_file_to_device(d + "/src", "/dev/sdb", destoffset=MiB)
    g.copy_device_to_file("/dev/sdb", d + "/back", srcoffset=MiB, size=len(data))
    assert g.read_file(d + "/back") == data
    g.copy_device_to_device("/dev/sdb", "/dev/sdb", srcoffset=MiB, destoffset=8 * MiB,
                            size=len(data))
    g.copy_device_to_file("/dev/sdb", d + "/back2", srcoffset=8 * MiB, size=len(data))
    assert g.read_file(d + "/back2") == data
    with Events(g) as ev:
        g.copy_size(d + "/src", d + "/sized", 4096)
    check_progress(ev.progress())
    assert g.read_file(d + "/sized") == data[:4096]
    g.copy_size("/dev/sdb", d + "/sized-dev", 4096)
    # errors
    expect_error("EINVAL", g.copy_size, d + "/part", d + "/x", 10 ** 6)     # input too short
    expect_error("EINVAL", g.copy_file_to_file, d + "/src", d + "/x", srcoffset=-1)
    expect_error("EINVAL", g.copy_file_to_file, d + "/src", d + "/x", destoffset=-1)
    expect_error("EINVAL", g.copy_file_to_file, d + "/src", d + "/x", size=-1)
    expect_error("EINVAL", g.copy_file_to_device, d + "/src", "/dev/sdb", append=True)
    expect_error("ENOENT", g.copy_file_to_file, d + "/missing", d + "/x")
    expect_error("EISDIR", g.copy_file_to_file, d, d + "/x")
    g.ln_s("/dev/sda", d + "/devlink")                 # a guest path, never the appliance's
    with pytest.raises(guestkit.Error):
        g.copy_file_to_file(d + "/devlink", d + "/x")
    with pytest.raises(guestkit.Error):
        g.copy_device_to_file("/dev/sdb", d + "/no/such/dir/x")


# ---- raw filesystem reads ------------------------------------------------------------------------

def test_download_inode_and_blocks(g, tmp_path):
    d = fresh(g, "/raw")
    data = os.urandom(200 * 1024)
    g.write(d + "/f", data)
    g.sync()
    ino = g.statns(d + "/f")["st_ino"]
    out = str(tmp_path / "inode")
    with Events(g) as ev:
        g.download_inode("/dev/sda1", ino, out)
    check_progress(ev.progress())
    assert open(out, "rb").read() == data
    with pytest.raises(guestkit.Error):
        g.download_inode("/dev/sda1", 10 ** 9, out)
    expect_error("EINVAL", g.download_inode, "/dev/sda1", 0, out)

    # one block gives the block size; blocks 0-3 are the first 4 blocks of the device
    g.download_blocks("/dev/sda1", 0, 0, out)
    bs = os.path.getsize(out)
    assert bs in (1024, 2048, 4096)
    with Events(g) as ev:
        g.download_blocks("/dev/sda1", 0, 3, out)
    check_progress(ev.progress())
    ref = str(tmp_path / "ref")
    g.download_offset("/dev/sda1", ref, 0, 4 * bs)
    assert open(out, "rb").read() == open(ref, "rb").read()
    # the superblock area is allocated; the last blocks of a new filesystem are free
    g.download_blocks("/dev/sda1", 0, 3, out, unallocated=True)
    assert os.path.getsize(out) == 0
    nblocks = g.blockdev_getsize64("/dev/sda1") // bs
    g.download_blocks("/dev/sda1", nblocks - 4, nblocks - 1, out, unallocated=True)
    g.download_offset("/dev/sda1", ref, (nblocks - 4) * bs, 4 * bs)
    assert open(out, "rb").read() == open(ref, "rb").read()
    expect_error("EINVAL", g.download_blocks, "/dev/sda1", 5, 4, out)
    expect_error("EINVAL", g.download_blocks, "/dev/sda1", 0, nblocks + 10, out)
    with pytest.raises(guestkit.Error):
        g.download_blocks("/dev/sdb", 0, 1, out)     # no filesystem there

    # sleuthkit reads other filesystems too: a file of an NTFS (its inode number is the
    # MFT record number, the same for ntfs-3g and sleuthkit)
    assert g.feature_available(["sleuthkit"]) == 1
    g.mkfs("ntfs", "/dev/sdb")
    g.mount("/dev/sdb", d)
    g.write(d + "/ntfs.bin", data)
    ino = g.statns(d + "/ntfs.bin")["st_ino"]
    g.umount(d)
    g.download_inode("/dev/sdb", ino, out)
    assert open(out, "rb").read() == data
    g.download_inode("/dev/sdb", 0, out)            # record 0 is the MFT itself
    assert open(out, "rb").read(4) == b"FILE"
    e = expect_error("EINVAL", g.download_inode, "/dev/sdb", 10 ** 7, out)
    assert "address too large" in str(e)
    g.download_blocks("/dev/sdb", 0, 1, out)        # the boot sector's cluster
    assert open(out, "rb").read()[3:11] == b"NTFS    "
    g.wipefs("/dev/sdb")
    expect_error("EINVAL", g.download_inode, "/dev/sdb", 5, out)


# ---- progress and cancellation ---------------------------------------------------------------------

def test_rsync_without_network(g):
    # this module's appliance has no network: rsync_in/out say so instead of timing out
    # (test_rsync.py launches one with the network)
    d = fresh(g, "/rsync-nonet")
    assert g.get_network() == 0
    e = expect_error("ENETDOWN", g.rsync_in, "rsync://169.254.2.2:873/m/", d)
    assert "set_network" in str(e)
    expect_error("ENETDOWN", g.rsync_out, d, "169.254.2.2::m/")
    g.write(d + "/f", "local rsync needs no network")
    g.rsync(d + "/f", d + "/g")
    assert g.cat(d + "/g") == "local rsync needs no network"


def test_user_cancel_tar_out_tar_in_copy_out(g, tmp_path):
    d = fresh(g, "/cancel")
    big = write(str(tmp_path / "big"), os.urandom(24 * MiB))
    g.upload(big, d + "/big")
    g.upload(big, d + "/big2")
    out = str(tmp_path / "c.tar")

    def cancel(event, array):
        g.user_cancel()
    for fn, args in ((g.tar_out, (d, out)), (g.tgz_out, (d, out)), (g.cpio_out, (d, out)),
                     (g.download_offset, (d + "/big", out, 0, 24 * MiB)),
                     (g.download_blocks, ("/dev/sda1", 0, 100000, out))):
        with Events(g, on_event=cancel) as ev:
            t0 = time.monotonic()
            e = expect_error("EINTR", fn, *args)
            assert time.monotonic() - t0 < 10, fn
        assert ev.progress(), fn
        assert "cancel" in str(e).lower()
    # the handle works and a later transfer is complete
    g.tar_out(d, out)
    with tarfile.open(out) as tf:
        assert {m.name for m in tf} >= {"./big", "./big2"}

    # tar_in: cancelled while uploading, nothing is unpacked
    e2 = fresh(g, "/cancel-in")
    with Events(g, on_event=cancel):
        expect_error("EINTR", g.tar_in, out, e2)
    assert g.ls(e2) == []
    with Events(g, on_event=cancel):
        expect_error("EINTR", g.upload_offset, big, e2 + "/x", 0)
    # copy_out and copy_in: the nested tar_out/tar_in is cancelled
    dest = tmp_path / "cdest"
    dest.mkdir()
    with Events(g, on_event=cancel):
        expect_error("EINTR", g.copy_out, d, str(dest))
    e3 = fresh(g, "/cancel-copy-in")
    with Events(g, on_event=cancel):
        expect_error("EINTR", g.copy_in, big, e3)
    assert g.ls(e3) == []
    g.copy_out(d, str(dest))
    assert sha256_file(str(dest / "cancel" / "big")) == sha256_file(big)


# ---- large data in constant memory ------------------------------------------------------------------

def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_half_a_gib_in_constant_memory(tmp_path_factory):
    """copy_in/download_offset/tar_out/tar_in/copy_out of 512 MiB: the host process's peak
    RSS must not grow with the data, and the appliance runs with 256 MB, half the data (the
    daemon buffering the data would fail there)."""
    d = tmp_path_factory.mktemp("gib")
    disk = str(d / "disk.img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", disk, "2G"], check=True)
    big = str(d / "big.bin")
    h = hashlib.sha256()
    with open(big, "wb") as f:
        block = os.urandom(MiB)
        for i in range(512):
            b = block[i % 997:] + block[:i % 997]
            f.write(b)
            h.update(b)
    digest = h.hexdigest()
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.set_memsize(256)
        g.add_drive_opts(disk, format="raw")
        g.launch()
        g.mkfs("ext4", "/dev/sda")
        g.mount("/dev/sda", "/")
        base = _maxrss_mib()
        g.mkdir("/in")
        g.copy_in(big, "/in")
        assert g.checksum("sha256", "/in/big.bin") == digest
        out = str(d / "out.bin")
        g.download_offset("/in/big.bin", out, 0, 512 * MiB)
        assert sha256_file(out) == digest
        os.unlink(out)
        tarball = str(d / "out.tar")
        g.tar_out("/in", tarball)
        os.unlink(big)
        g.rm("/in/big.bin")
        g.tar_in(tarball, "/in")
        os.unlink(tarball)
        dest = d / "dest"
        dest.mkdir()
        g.copy_out("/in", str(dest))
        assert sha256_file(str(dest / "in" / "big.bin")) == digest
        grew = _maxrss_mib() - base
        assert grew < 100, "the host process grew by %d MiB moving 512 MiB" % grew
    finally:
        g.close()
