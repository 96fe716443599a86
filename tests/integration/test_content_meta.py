"""File content and metadata actions against a real appliance (issue 5: "Files: Content",
"Metadata and tree").

One launched handle for the module (the ``launched`` fixture: /dev/sda1 ext4 mounted at /,
/dev/sdb blank).  Every test works in its own guest directory.  The security tests check that
guest fifos and device nodes are refused quickly where a regular file is read, and that guest
symlinks never lead an action out of the guest's root.
"""

import base64
import bz2
import gzip
import hashlib
import lzma
import os
import stat
import struct
import subprocess
import time

import pytest

import guestkit

from tests.helpers import MiB, expect_error, fresh, watchdog


@pytest.fixture(scope="module")
def g(launched):
    return launched





def host_file(g, name, data=None):
    path = os.path.join(g.test_dir, name)
    if data is not None:
        with open(path, "wb") as f:
            f.write(data)
    return path


def read_host(path):
    with open(path, "rb") as f:
        return f.read()


# ---- lines -----------------------------------------------------------------------------------

def test_head_tail(g):
    d = fresh(g, "/ht")
    lines = ["line %d" % i for i in range(100)]
    g.write(d + "/f", "".join(l + "\n" for l in lines))
    assert g.head(d + "/f") == lines[:10]
    assert g.head_n(3, d + "/f") == lines[:3]
    assert g.head_n(-97, d + "/f") == lines[:3]          # all but the last 97
    assert g.head_n(0, d + "/f") == []
    assert g.head_n(1000, d + "/f") == lines
    assert g.tail(d + "/f") == lines[-10:]
    assert g.tail_n(2, d + "/f") == lines[-2:]
    assert g.tail_n(-98, d + "/f") == lines[97:]         # from the 98th line on
    assert g.tail_n(0, d + "/f") == []
    g.write(d + "/nolf", b"a\r\nb\nlast")                 # CRs are content; no empty line
    assert g.head(d + "/nolf") == ["a\r", "b", "last"]
    assert g.tail_n(1, d + "/nolf") == ["last"]
    g.write(d + "/empty", b"")
    assert g.head(d + "/empty") == [] and g.tail(d + "/empty") == []
    expect_error("ENOENT", g.head, d + "/missing")
    expect_error("ENOENT", g.head_n, 0, d + "/missing")
    expect_error("EISDIR", g.tail, d)


def test_grep_family(g):
    d = fresh(g, "/grep")
    g.write(d + "/f", b"alpha\nBeta\nbeta\ngamma-x\na.c\nabc\n")
    f = d + "/f"
    assert g.grep("beta", f) == ["beta"]
    assert g.grep("beta", f, insensitive=True) == ["Beta", "beta"]
    assert g.grep("^(alpha|gamma)", f, extended=True) == ["alpha", "gamma-x"]
    assert g.grep("^(alpha|gamma)", f) == []                     # basic regex: literal ()
    assert g.grep("a.c", f) == ["a.c", "abc"]
    assert g.grep("a.c", f, fixed=True) == ["a.c"]
    assert g.grep("-x", f) == ["gamma-x"]                         # not taken as an option
    assert g.grep("nomatch", f) == []
    assert g.grep_opts("BETA", f, insensitive=True) == ["Beta", "beta"]
    expect_error("EINVAL", g.grep, "a", f, extended=True, fixed=True)
    assert g.egrep("alpha|abc", f) == ["alpha", "abc"]
    assert g.fgrep("a.c", f) == ["a.c"]
    assert g.grepi("BETA", f) == ["Beta", "beta"]
    assert g.egrepi("BETA|ALPHA", f) == ["alpha", "Beta", "beta"]
    assert g.fgrepi("A.C", f) == ["a.c"]
    gz = gzip.compress(b"Hello\nworld\nhello.world\n")
    g.write(d + "/z.gz", gz)
    z = d + "/z.gz"
    assert g.zgrep("hello", z) == ["hello.world"]
    assert g.zgrepi("hello", z) == ["Hello", "hello.world"]
    assert g.zegrep("^(world|Hello)$", z) == ["Hello", "world"]
    assert g.zfgrep("o.w", z) == ["hello.world"]
    assert g.zegrepi("^(WORLD)$", z) == ["world"]
    assert g.zfgrepi("O.W", z) == ["hello.world"]
    assert g.grep("hello", z, compressed=True, insensitive=True) == ["Hello", "hello.world"]
    assert g.zgrep("beta", f) == ["beta"]                         # plain files work too
    assert g.grep("hello", z) == []                               # not decompressed
    expect_error("ENOENT", g.grep, "x", d + "/missing")


# ---- positioned reads and writes -----------------------------------------------------------

def test_pread_pwrite(g):
    d = fresh(g, "/pio")
    data = bytes(range(256)) * 16
    g.write(d + "/f", data)
    assert g.pread(d + "/f", 10, 5) == data[5:15]
    assert g.pread(d + "/f", 100, len(data) - 4) == data[-4:]     # short at the end
    assert g.pread(d + "/f", 10, len(data) + 100) == b""
    assert g.pread(d + "/f", 0, 0) == b""
    expect_error("EINVAL", g.pread, d + "/f", -1, 0)
    expect_error("EINVAL", g.pread, d + "/f", 1, -1)
    expect_error("EFBIG", g.pread, d + "/f", 1 << 30, 0)          # too large for one reply
    expect_error("ENOENT", g.pread, d + "/missing", 1, 0)
    expect_error("EISDIR", g.pread, d, 1, 0)
    assert g.pwrite(d + "/f", b"XYZ", 1) == 3
    assert g.pread(d + "/f", 5, 0) == data[:1] + b"XYZ" + data[4:5]
    assert g.pwrite(d + "/f", b"tail", len(data) + 10) == 4       # extends, with a hole
    assert g.filesize(d + "/f") == len(data) + 14
    assert g.pread(d + "/f", 14, len(data)) == b"\0" * 10 + b"tail"
    expect_error("ENOENT", g.pwrite, d + "/missing", b"x", 0)     # pwrite does not create
    expect_error("EINVAL", g.pwrite, d + "/f", b"x", -1)


@pytest.fixture(scope="module")
def small_dev(g):
    """An 8 MiB partition /dev/sdb1 holding known bytes."""
    g.part_init("/dev/sdb", "mbr")
    g.part_add("/dev/sdb", "p", 2048, 2048 + 8 * 2048 - 1)
    data = hashlib.sha256(b"seed").digest() * (8 * MiB // 32)
    for off in range(0, len(data), 4 * MiB):
        assert g.pwrite_device("/dev/sdb1", data[off:off + 4 * MiB], off) == 4 * MiB
    return "/dev/sdb1", data


def test_devices(g, small_dev):
    dev, data = small_dev
    assert g.pread_device(dev, 100, 12345) == data[12345:12445]
    assert g.pread_device(dev, 100, len(data) - 10) == data[-10:]
    expect_error("EINVAL", g.pread_device, dev, 10, -1)
    assert g.pwrite_device(dev, b"hello", 7) == 5
    assert g.pread_device(dev, 7, 5) == data[5:7] + b"hello"
    g.pwrite_device(dev, data[7:12], 7)
    assert g.checksum_device("md5", dev) == hashlib.md5(data).hexdigest()
    assert g.checksum_device("sha256", dev) == hashlib.sha256(data).hexdigest()
    expect_error("EINVAL", g.checksum_device, "nosuchsum", dev)
    out = host_file(g, "dev.gz")
    g.compress_device_out("gzip", dev, out, level=1)
    assert gzip.decompress(read_host(out)) == data
    with pytest.raises((guestkit.Error, ValueError)):
        g.pread_device("/dev/../etc/passwd", 1, 0)
    expect_error("ENOENT", g.pread_device, "/dev/sdz", 1, 0)


# ---- sizes, allocation, fill ----------------------------------------------------------------

def test_truncate_fallocate(g):
    d = fresh(g, "/trunc")
    g.write(d + "/f", b"0123456789")
    g.truncate_size(d + "/f", 4)
    assert g.read_file(d + "/f") == b"0123"
    g.truncate_size(d + "/f", 100 * MiB)                          # sparse
    s = g.statns(d + "/f")
    assert s["st_size"] == 100 * MiB and s["st_blocks"] * 512 < MiB
    assert g.pread(d + "/f", 6, 0) == b"0123\0\0"
    g.truncate(d + "/f")
    assert g.filesize(d + "/f") == 0
    expect_error("ENOENT", g.truncate, d + "/missing")            # must exist
    expect_error("EINVAL", g.truncate_size, d + "/f", -1)
    g.fallocate64(d + "/fa", 3 * MiB)
    s = g.statns(d + "/fa")
    assert s["st_size"] == 3 * MiB and s["st_blocks"] * 512 >= 3 * MiB   # allocated
    assert g.pread(d + "/fa", 16, MiB) == b"\0" * 16
    g.write(d + "/old", b"previous content")
    g.fallocate(d + "/old", 1000)                                 # replaces
    assert g.read_file(d + "/old") == b"\0" * 1000
    expect_error("EINVAL", g.fallocate64, d + "/neg", -5)


def test_fill(g):
    d = fresh(g, "/fill")
    g.fill(0x41, 10, d + "/a")
    assert g.read_file(d + "/a") == b"A" * 10
    g.fill_pattern("abc", 10, d + "/p")
    assert g.read_file(d + "/p") == b"abcabcabca"
    g.fill(0, 0, d + "/empty")
    assert g.filesize(d + "/empty") == 0
    expect_error("EINVAL", g.fill, 256, 1, d + "/bad")
    expect_error("EINVAL", g.fill, -1, 1, d + "/bad")
    expect_error("EINVAL", g.fill_pattern, "", 1, d + "/bad")
    expect_error("EINVAL", g.fill, 0, -1, d + "/bad")
    # a pattern that does not divide the internal block size stays continuous
    n = 3 * MiB + 5
    events = []
    eh = g.set_event_callback(lambda ev, h, buf, arr: events.append(list(arr)),
                              guestkit.EVENT_PROGRESS)
    try:
        g.fill_pattern("0123456", n, d + "/big")
    finally:
        g.delete_event_callback(eh)
    assert g.filesize(d + "/big") == n
    assert g.checksum("sha1", d + "/big") == hashlib.sha1(
        (b"0123456" * (n // 7 + 1))[:n]).hexdigest()
    assert events and events[-1][2] == events[-1][3] == n


def test_fill_dir(g):
    d = fresh(g, "/filld")
    g.fill_dir(d, 12)
    assert g.ls(d) == ["%08d" % i for i in range(12)]
    assert g.filesize(d + "/00000011") == 0
    g.write(d + "/00000003", b"content")
    g.fill_dir(d, 5)                                              # existing files emptied
    assert g.filesize(d + "/00000003") == 0
    g.fill_dir(d, 0)
    expect_error("ENOTDIR", g.fill_dir, d + "/00000001", 1)
    e = fresh(g, "/filld2")
    g.mkfifo(0o644, e + "/00000001")
    with watchdog(g, 20, "fill_dir over a fifo"):
        with pytest.raises(guestkit.Error):
            g.fill_dir(e, 3)
    assert g.is_symlink(e + "/00000001") == 0
    assert stat.S_ISFIFO(g.lstatns(e + "/00000001")["st_mode"])


# ---- views of a file -------------------------------------------------------------------------

def test_hexdump_strings_wc(g):
    d = fresh(g, "/views")
    content = b"hello world\n\x00\x01\x02abc\nsecond line here\n"
    g.write(d + "/f", content)
    hd = g.hexdump(d + "/f")
    assert hd.startswith("00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 01 02 61  "
                         "|hello world....a|\n")
    assert hd.endswith("\n00000024\n")
    assert hd == subprocess.run(["hexdump", "-C"], input=content,
                                capture_output=True).stdout.decode()
    assert g.strings(d + "/f") == ["hello world", "second line here"]
    u16 = "wide string\0\0\0".encode("utf-16-le") + b"\xff\xfe" * 8
    g.write(d + "/u16", u16)
    assert g.strings_e("l", d + "/u16") == ["wide string"]
    assert g.strings_e("s", d + "/u16") == []
    for enc in "bBL":
        assert g.strings_e(enc, d + "/u16") == subprocess.run(
            ["strings", "-a", "-e", enc], input=u16, capture_output=True
        ).stdout.decode().splitlines()
    # 8-bit strings come back as UTF-8: UTF-8 text stays, other bytes are read as Latin-1
    g.write(d + "/s8", b"\x01caf\xc3\xa9 ok\x00\x01\xe9t\xe9 here\x00")
    assert g.strings_e("S", d + "/s8") == ["caf\u00e9 ok", "\u00e9t\u00e9 here"]
    assert g.strings_e("s", d + "/s8") == [" here"]
    expect_error("EINVAL", g.strings_e, "q", d + "/f")
    expect_error("EINVAL", g.strings_e, "ss", d + "/f")
    assert g.wc_l(d + "/f") == 3
    assert g.wc_w(d + "/f") == int(subprocess.run(["wc", "-w"], input=content,
                                                  capture_output=True).stdout)
    assert g.wc_c(d + "/f") == 36
    g.write(d + "/nolf", b"one two")
    assert (g.wc_l(d + "/nolf"), g.wc_w(d + "/nolf"), g.wc_c(d + "/nolf")) == (0, 2, 7)
    expect_error("ENOENT", g.wc_l, d + "/missing")


def test_file(g):
    d = fresh(g, "/filet")
    g.write(d + "/text", b"just some text\n")
    assert g.file(d + "/text") == "ASCII text"
    g.write(d + "/z", gzip.compress(b"just some text\n"))
    out = g.file(d + "/z")
    assert "ASCII text" in out and "gzip compressed data" in out      # looked inside
    g.write(d + "/empty", b"")
    assert g.file(d + "/empty") == "empty"
    g.mkdir(d + "/dir")
    assert g.file(d + "/dir") == "directory"
    g.ln_s("text", d + "/link")
    assert g.file(d + "/link") == "symbolic link"
    g.mkfifo(0o600, d + "/fifo")
    g.mknod_c(0o600, 1, 5, d + "/chr")
    g.mknod_b(0o600, 8, 0, d + "/blk")
    with watchdog(g, 20, "file on special files"):
        assert g.file(d + "/fifo") == "FIFO"
        assert g.file(d + "/chr") == "character device"
        assert g.file(d + "/blk") == "block device"
    assert "boot sector" in g.file("/dev/sda")
    expect_error("ENOENT", g.file, d + "/missing")


def _cpio(members):
    """A newc cpio archive of (name, mode, data) members."""
    out = b""
    for ino, (name, mode, data) in enumerate(members + [("TRAILER!!!", 0, b"")], 1):
        nb = name.encode() + b"\0"
        hdr = b"070701" + b"".join(b"%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out += hdr + nb
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return out + b"\0" * (-len(out) % 512)


def _elf(cls, data, machine):
    end = "<" if data == 1 else ">"
    return b"\x7fELF" + bytes((cls, data, 1)) + b"\0" * 9 + struct.pack(end + "HH", 2,
                                                                         machine) + b"\0" * 44


def test_file_architecture(g):
    d = fresh(g, "/arch")
    true = read_host("/bin/true")
    g.write(d + "/true", true)
    assert g.file_architecture(d + "/true") == "x86_64"
    cases = {"i386": _elf(1, 1, 3), "aarch64": _elf(2, 1, 183), "ppc64": _elf(2, 2, 21),
             "ppc64le": _elf(2, 1, 21), "s390x": _elf(2, 2, 22), "riscv64": _elf(2, 1, 243),
             "sparc64": _elf(2, 2, 43), "arm": _elf(1, 1, 40)}
    for arch, blob in cases.items():
        g.write(d + "/bin", blob)
        assert g.file_architecture(d + "/bin") == arch
    pe = bytearray(b"MZ" + b"\0" * 0x3e)
    pe[0x3c:0x40] = struct.pack("<I", 0x80)
    pe += b"\0" * (0x80 - len(pe)) + b"PE\0\0" + struct.pack("<H", 0x8664) + b"\0" * 64
    g.write(d + "/win64.exe", bytes(pe))
    assert g.file_architecture(d + "/win64.exe") == "x86_64"
    pe[0x84:0x86] = struct.pack("<H", 0x14c)
    g.write(d + "/win32.dll", bytes(pe))
    assert g.file_architecture(d + "/win32.dll") == "i386"
    g.write(d + "/mod.ko.xz", lzma.compress(_elf(2, 1, 183) + b"\0" * 1000))
    assert g.file_architecture(d + "/mod.ko.xz") == "aarch64"
    # initrds: compressed cpio, and uncompressed early cpio + compressed main cpio
    main = _cpio([("bin", 0o40755, b""), ("bin/sh", 0o120777, b"busybox"),
                  ("etc/motd", 0o100644, b"hello\n" * 30), ("bin/ls", 0o100755, true)])
    g.write(d + "/initrd.gz", gzip.compress(main))
    assert g.file_architecture(d + "/initrd.gz") == "x86_64"
    early = _cpio([("kernel/x86/microcode/GenuineIntel.bin", 0o100644, b"\x01" * 100)])
    g.write(d + "/initrd.img", early + bz2.compress(_cpio([("bin/ls", 0o100755,
                                                            _elf(2, 2, 22))])))
    assert g.file_architecture(d + "/initrd.img") == "s390x"
    g.write(d + "/initrd.raw", main)
    assert g.file_architecture(d + "/initrd.raw") == "x86_64"
    g.write(d + "/text", b"not a binary at all\n" * 10)
    expect_error("EINVAL", g.file_architecture, d + "/text")
    g.write(d + "/notinitrd.gz", gzip.compress(b"plain text\n"))
    expect_error("EINVAL", g.file_architecture, d + "/notinitrd.gz")


# ---- checksums, compression, base64 -----------------------------------------------------------

def test_checksums_out(g):
    d = fresh(g, "/sums")
    files = {"a": b"A", "sub/b": b"BB", "sub/deeper/c": b"", "with space": b"s"}
    g.mkdir_p(d + "/sub/deeper")
    for name, data in files.items():
        g.write(d + "/" + name, data)
    g.write(d + "/back\\slash", b"bs")
    g.ln_s("/", d + "/rootlink")                # never followed
    g.ln_s("a", d + "/alink")                   # symlinks are not regular files
    g.mkfifo(0o644, d + "/fifo")
    out = host_file(g, "sums")
    with watchdog(g, 30, "checksums_out"):
        g.checksums_out("sha256", d, out)
    got = sorted(read_host(out).decode().splitlines())
    want = sorted(["%s  ./%s" % (hashlib.sha256(v).hexdigest(), k) for k, v in files.items()]
                  + ["\\%s  ./back\\\\slash" % hashlib.sha256(b"bs").hexdigest()])
    assert got == want
    g.checksums_out("md5", d + "/sub", out)
    assert sorted(read_host(out).decode().splitlines()) == sorted([
        "%s  ./b" % hashlib.md5(b"BB").hexdigest(),
        "%s  ./deeper/c" % hashlib.md5(b"").hexdigest()])
    g.checksums_out("crc", d + "/sub/deeper", out)
    assert read_host(out) == b"4294967295 0 ./c\n"
    expect_error("EINVAL", g.checksums_out, "nosuch", d, out)
    expect_error("ENOTDIR", g.checksums_out, "md5", d + "/a", out)


def test_compress_out(g):
    d = fresh(g, "/comp")
    data = b"".join(b"line %d of some compressible text\n" % i for i in range(20000))
    g.write(d + "/f", data)
    out = host_file(g, "comp.out")
    g.compress_out("gzip", d + "/f", out)
    assert gzip.decompress(read_host(out)) == data
    g.compress_out("bzip2", d + "/f", out, level=1)
    assert bz2.decompress(read_host(out)) == data
    g.compress_out("xz", d + "/f", out, level=0)
    assert lzma.decompress(read_host(out)) == data
    g.compress_out("lzop", d + "/f", out)
    assert subprocess.run(["lzop", "-dc", out], capture_output=True).stdout == data
    g.compress_out("gzip", d + "/f", out, level=9)
    small = len(read_host(out))
    g.compress_out("gzip", d + "/f", out, level=1)
    assert small < len(read_host(out))
    expect_error("EINVAL", g.compress_out, "gzip", d + "/f", out, level=10)
    expect_error("EINVAL", g.compress_out, "rar", d + "/f", out)
    try:
        g.compress_out("compress", d + "/f", out)
    except guestkit.Error as e:
        assert "not supported" in str(e)
    expect_error("ENOENT", g.compress_out, "gzip", d + "/missing", out)


def test_base64(g):
    d = fresh(g, "/b64")
    data = os.urandom(300000)
    g.write(d + "/f", data)
    out = host_file(g, "b64.out")
    g.base64_out(d + "/f", out)
    text = read_host(out)
    assert base64.b64decode(text) == data
    lines = text.split(b"\n")
    assert lines[-1] == b"" and all(len(l) == 76 for l in lines[:-2])
    src = host_file(g, "b64.in", base64.encodebytes(data))
    g.base64_in(src, d + "/back")
    assert g.checksum("sha256", d + "/back") == hashlib.sha256(data).hexdigest()
    host_file(g, "b64.one", base64.b64encode(b"hello world"))       # no newline at all
    g.base64_in(os.path.join(g.test_dir, "b64.one"), d + "/hello")
    assert g.read_file(d + "/hello") == b"hello world"
    bad = host_file(g, "b64.bad", b"aGVs!!bG8=\n")
    expect_error("EINVAL", g.base64_in, bad, d + "/bad")
    trunc = host_file(g, "b64.trunc", b"aGVsbG")
    expect_error("EINVAL", g.base64_in, trunc, d + "/bad")
    assert g.read_file(d + "/hello") == b"hello world"               # handle still fine
    expect_error("ENOENT", g.base64_in, src, d + "/nodir/x")
    expect_error("ENOENT", g.base64_out, d + "/missing", out)


def test_too_large_for_one_reply(g):
    d = fresh(g, "/efbig")
    g.fill(ord("A"), 70 * MiB, d + "/huge")                       # one 70 MiB line
    with watchdog(g, 120, "oversized results"):
        e = expect_error("EFBIG", g.head, d + "/huge")
        assert "download" in str(e)
        expect_error("EFBIG", g.grep, "A", d + "/huge")
    assert g.wc_c(d + "/huge") == 70 * MiB                         # the session goes on
    g.rm(d + "/huge")


# ---- security: special files and symlinks -------------------------------------------------------

def test_special_files_refused_fast(g):
    d = fresh(g, "/special")
    g.mkfifo(0o644, d + "/fifo")
    g.mknod_c(0o644, 1, 5, d + "/zero")          # the appliance's /dev/zero: endless
    g.mknod_b(0o644, 8, 0, d + "/sda")           # the appliance's /dev/sda
    out = host_file(g, "special.out")
    readers = [
        lambda p: g.pread(p, 10, 0), g.head, g.tail, lambda p: g.head_n(5, p),
        lambda p: g.grep("x", p), lambda p: g.zgrep("x", p), g.hexdump, g.strings,
        g.wc_l, g.wc_c, g.file_architecture, lambda p: g.compress_out("gzip", p, out),
        lambda p: g.base64_out(p, out), g.truncate, lambda p: g.pwrite(p, b"x", 0),
        lambda p: g.truncate_size(p, 5),
    ]
    with watchdog(g, 45, "reading guest special files"):
        for name in ("fifo", "zero", "sda"):
            for fn in readers:
                t = time.monotonic()
                with pytest.raises(guestkit.Error) as ei:
                    fn(d + "/" + name)
                assert ei.value.errno_name == "EINVAL", (name, ei.value)
                assert time.monotonic() - t < 5, (name, ei.value)
    assert g.file(d + "/zero") == "character device"
    assert g.statns(d + "/sda")["st_rdev"] == os.makedev(8, 0)


def test_symlinks_stay_in_the_guest(g):
    fresh(g, "/etc")
    g.write("/etc/guestfile", b"guest data\n")
    d = fresh(g, "/sec")
    g.ln_s("/../../etc", d + "/up")              # the guest's /etc, not the appliance's
    g.ln_s("../../../../../etc/mke2fs.conf", d + "/abs")   # exists in the appliance only
    g.ln_s("/", d + "/root")                      # a loop for anything following links
    g.ln_s("/proc/self", d + "/proc")
    assert g.realpath(d + "/up") == "/etc"
    assert g.realpath(d + "/up/guestfile") == "/etc/guestfile"
    assert g.realpath(d + "/root/sec/up/../etc/../..") == "/"
    assert g.realpath("/..") == "/"
    expect_error("ENOENT", g.realpath, d + "/abs")
    expect_error("ENOENT", g.realpath, d + "/proc")
    assert g.head(d + "/up/guestfile") == ["guest data"]
    for fn in (g.head, g.hexdump, g.strings, g.wc_l, g.file_architecture,
               lambda p: g.grep("a", p), lambda p: g.pread(p, 10, 0)):
        expect_error("ENOENT", fn, d + "/abs")
    expect_error("ENOENT", g.getxattrs, d + "/abs")
    expect_error("ENOENT", g.acl_get_file, d + "/abs", "access")
    expect_error("ENOENT", g.cap_get_file, d + "/abs")
    expect_error("ENOENT", g.copy_attributes, d + "/abs", "/etc/guestfile", all=True)
    # walks list symlinks, never follow them
    with watchdog(g, 30, "find over symlink loops"):
        assert g.find(d) == ["abs", "proc", "root", "up"]
        out = host_file(g, "sec.find0")
        g.find0(d, out)
        assert sorted(read_host(out).split(b"\0")) == [b"", b"abs", b"proc", b"root", b"up"]
        g.checksums_out("md5", d, out)
        assert read_host(out) == b""
        assert g.du(d) < 100
    assert g.find(d + "/up") == ["guestfile"]     # the argument itself is resolved in the guest
    assert g.glob_expand(d + "/up/*") == [d + "/up/guestfile"]
    assert g.glob_expand(d + "/abs") == [d + "/abs"]
    assert g.glob_expand(d + "/proc/*") == []
    assert g.glob_expand(d + "/*/guest*") == [d + "/up/guestfile"]
    assert g.glob_expand(d + "/root/etc/g*") == [d + "/root/etc/guestfile"]
    assert g.case_sensitive_path("/SEC/UP/GUESTFILE") == "/sec/up/guestfile"
    assert g.file(d + "/abs") == "symbolic link"
    for p in g.find("/"):
        assert not p.startswith("sysroot") and "mke2fs.conf" not in p


# ---- the tree -----------------------------------------------------------------------------------

def test_find_ls0(g):
    d = fresh(g, "/findt")
    g.mkdir_p(d + "/c/e")
    latin1 = os.fsdecode(b"caf\xe9")             # not UTF-8: travels surrogate-escaped
    for p in ("a", "b", "c/d", "c/e/f", ".hidden", "sp ace", "nl\nname", "Z", "b\u00e9",
              latin1):
        g.write(d + "/" + p, b"")
    want = sorted(["a", "b", "c", "c/d", "c/e", "c/e/f", ".hidden", "sp ace", "nl\nname",
                   "Z", "b\u00e9", latin1], key=os.fsencode)         # bytewise, as strcmp
    assert g.find(d) == want
    out = host_file(g, "find0")
    g.find0(d, out)
    raw = read_host(out)
    assert raw.endswith(b"\0")
    assert sorted(raw.split(b"\0")[:-1]) == sorted(os.fsencode(w) for w in want)
    g.ls0(d, out)
    assert sorted(read_host(out).split(b"\0")[:-1]) == sorted(
        [b"a", b"b", b"c", b".hidden", b"sp ace", b"nl\nname", b"Z", b"b\xc3\xa9",
         b"caf\xe9"])
    assert g.glob_expand(d + "/caf*") == [d + "/" + latin1]
    assert g.case_sensitive_path(d.upper() + "/CAF" + latin1[-1]) == d + "/" + latin1
    assert g.find(d + "/c/e") == ["f"]
    assert g.find(d + "/c/e/") == ["f"]
    g.mkdir(d + "/empty")
    assert g.find(d + "/empty") == []
    expect_error("ENOTDIR", g.find, d + "/a")
    expect_error("ENOENT", g.find, d + "/missing")
    expect_error("ENOTDIR", g.ls0, d + "/a", out)
    expect_error("ENOTDIR", g.find0, d + "/a", out)


def test_find_100000_entries(g):
    d = fresh(g, "/many")
    with watchdog(g, 240, "fill_dir, find, find0 of 100,000 entries"):
        t = time.monotonic()
        g.fill_dir(d, 100000)
        t1 = time.monotonic()
        names = g.find(d)
        print("fill_dir %.1f s, find %.1f s" % (t1 - t, time.monotonic() - t1))
        assert len(names) == 100000
        assert names[0] == "00000000" and names[-1] == "00099999"
        assert names == sorted(names)
        out = host_file(g, "many.find0")
        g.find0(d, out)
        raw = read_host(out)
        assert raw.count(b"\0") == 100000
        g.ls0(d, out)
        assert read_host(out).count(b"\0") == 100000
    assert len(g.glob_expand(d + "/000001*")) == 100
    st = g.lstatnslist(d, ["00000005", "nope", "00099999"])
    assert [s["st_ino"] == -1 for s in st] == [False, True, False]


def test_du(g):
    d = fresh(g, "/dut")
    g.fallocate64(d + "/f", 2 * MiB)
    g.write(d + "/sparse", b"")
    g.truncate_size(d + "/sparse", 50 * MiB)
    kb = g.du(d)
    assert 2048 <= kb < 2048 + 64
    assert 2048 <= g.du(d + "/f") < 2048 + 16
    assert g.du(d + "/sparse") < 16
    expect_error("ENOENT", g.du, d + "/missing")


def test_realpath_case_sensitive_path(g):
    d = fresh(g, "/rp")
    g.mkdir_p(d + "/Windows/System32")
    g.write(d + "/Windows/System32/netkvm.sys", b"")
    g.ln_s("Windows", d + "/win")
    assert g.realpath(d + "/win/System32/../System32/./netkvm.sys") == \
        d + "/Windows/System32/netkvm.sys"
    assert g.realpath(d + "//win/") == d + "/Windows"
    assert g.realpath("/") == "/"
    expect_error("ENOENT", g.realpath, d + "/nope")
    csp = g.case_sensitive_path
    assert csp(d + "/windows/system32/NETKVM.SYS") == d + "/Windows/System32/netkvm.sys"
    assert csp(d + "/WINDOWS/system32/NoSuchFile") == d + "/Windows/System32/NoSuchFile"
    assert csp(d + "/Windows") == d + "/Windows"
    assert csp("/") == "/"
    assert csp(d + "/WIN/system32") == d + "/win/System32"     # through a symlink
    expect_error("ENOENT", csp, d + "/windows/system33/netkvm.sys")
    expect_error("EINVAL", csp, d + "/windows/../x")
    g.write(d + "/file", b"")
    expect_error("ENOTDIR", csp, d + "/FILE/x")


def test_glob_expand(g):
    d = fresh(g, "/gl")
    for p in ("a1", "a2", "b1", ".hid", "x[1]", "star*"):
        g.write(d + "/" + p, b"")
    g.mkdir(d + "/dir")
    g.write(d + "/dir/in", b"")
    g.ln_s("dir", d + "/ldir")
    ge = g.glob_expand
    assert ge(d + "/a*") == [d + "/a1", d + "/a2"]
    assert ge(d + "/?1") == [d + "/a1", d + "/b1"]
    assert ge(d + "/[ab]2") == [d + "/a2"]
    assert ge(d + "/[!a]1") == [d + "/b1"]
    assert ge(d + "/*") == [d + "/a1", d + "/a2", d + "/b1", d + "/dir/", d + "/ldir/",
                            d + "/star*", d + "/x[1]"]
    assert ge(d + "/.h*") == [d + "/.hid"]
    assert ge(d + "/*", directoryslash=False) == [
        d + "/a1", d + "/a2", d + "/b1", d + "/dir", d + "/ldir", d + "/star*", d + "/x[1]"]
    assert g.glob_expand_opts(d + "/d*", directoryslash=False) == [d + "/dir"]
    assert ge(d + "/*/") == [d + "/dir/", d + "/ldir/"]
    assert ge(d + "/{b,a}1") == [d + "/b1", d + "/a1"]               # alternatives in order
    assert ge(d + "/{a*,dir/i?}") == [d + "/a1", d + "/a2", d + "/dir/in"]
    assert ge(d + "/*/in") == [d + "/dir/in", d + "/ldir/in"]
    assert ge(d + "/star\\*") == [d + "/star*"]
    assert ge(d + "/x\\[1]") == [d + "/x[1]"]
    assert ge(d + "/nomatch*") == []
    assert ge(d + "/nofile") == []
    assert ge(d + "/a1") == [d + "/a1"]
    assert ge("/") == ["/"]


def test_mkdtemp_rename(g):
    d = fresh(g, "/tmpd")
    t1 = g.mkdtemp(d + "/fooXXXXXX")
    t2 = g.mkdtemp(d + "/fooXXXXXX")
    assert t1 != t2 and t1.startswith(d + "/foo") and len(t1) == len(d + "/fooXXXXXX")
    s = g.statns(t1)
    assert stat.S_ISDIR(s["st_mode"]) and s["st_mode"] & 0o7777 == 0o700
    expect_error("EINVAL", g.mkdtemp, d + "/fooXXXX")
    expect_error("ENOENT", g.mkdtemp, d + "/no/fooXXXXXX")
    g.write(d + "/a", b"A")
    g.rename(d + "/a", d + "/b")
    assert g.exists(d + "/a") == 0 and g.cat(d + "/b") == "A"
    g.ln_s("b", d + "/l")
    g.rename(d + "/l", d + "/l2")                                  # the link itself moves
    assert g.readlink(d + "/l2") == "b" and g.cat(d + "/b") == "A"
    g.mkdir(d + "/dir")
    expect_error("EISDIR", g.rename, d + "/b", d + "/dir")        # rename(2), not mv
    expect_error("ENOENT", g.rename, d + "/missing", d + "/x")


# ---- links and special files --------------------------------------------------------------------

def test_ln_f_ln_sf(g):
    d = fresh(g, "/lnf")
    g.write(d + "/t", b"T")
    g.write(d + "/old", b"old")
    g.ln_f(d + "/t", d + "/old")                                 # replaces
    assert g.statns(d + "/old")["st_ino"] == g.statns(d + "/t")["st_ino"]
    g.ln_f(d + "/t", d + "/old")                                 # already the same file
    g.ln_f(d + "/t", d + "/t")
    assert g.cat(d + "/t") == "T" and g.statns(d + "/t")["st_nlink"] == 2
    g.mkdir(d + "/dir")
    g.ln_f(d + "/t", d + "/dir")                                 # into the directory
    assert g.statns(d + "/dir/t")["st_ino"] == g.statns(d + "/t")["st_ino"]
    expect_error("ENOENT", g.ln_f, d + "/missing", d + "/x")
    g.ln_sf("t", d + "/s")
    assert g.readlink(d + "/s") == "t"
    g.ln_sf("/somewhere/else", d + "/s")                         # replaces the symlink
    assert g.readlink(d + "/s") == "/somewhere/else"
    g.ln_sf("t", d + "/old")                                     # replaces a file
    assert g.readlink(d + "/old") == "t"
    g.ln_sf("../t", d + "/dir")
    assert g.readlink(d + "/dir/t") == "../t"                    # dir/t was replaced
    assert [n for n in g.ls(d) if n.startswith(".guestkit")] == []
    assert [n for n in g.ls(d + "/dir") if n.startswith(".guestkit")] == []


def test_mknod_family(g):
    d = fresh(g, "/nodes")
    g.mknod(0o777 | stat.S_IFIFO, 0, 0, d + "/fifo")
    s = g.lstatns(d + "/fifo")
    assert stat.S_ISFIFO(s["st_mode"]) and s["st_mode"] & 0o777 == 0o755   # umask 022
    g.mknod_b(0o640, 8, 17, d + "/blk")
    s = g.lstatns(d + "/blk")
    assert stat.S_ISBLK(s["st_mode"]) and s["st_rdev"] == os.makedev(8, 17)
    assert s["st_mode"] & 0o777 == 0o640
    g.mknod_c(0o600, 4, 64, d + "/chr")
    s = g.lstatns(d + "/chr")
    assert stat.S_ISCHR(s["st_mode"]) and s["st_rdev"] == os.makedev(4, 64)
    g.mkfifo(0o600, d + "/fifo2")
    assert stat.S_ISFIFO(g.lstatns(d + "/fifo2")["st_mode"])
    g.mknod(0o644, 0, 0, d + "/regular")                         # no type: a regular file
    assert g.is_file(d + "/regular") == 1
    g.mknod(0o644 | stat.S_IFSOCK, 0, 0, d + "/sock")
    assert stat.S_ISSOCK(g.lstatns(d + "/sock")["st_mode"])
    expect_error("EINVAL", g.mknod_b, 0o644 | stat.S_IFBLK, 8, 0, d + "/x")
    expect_error("EINVAL", g.mkfifo, 0o10644, d + "/x")
    expect_error("EEXIST", g.mkfifo, 0o644, d + "/fifo")
    g.ln_s("/etc/passwd", d + "/link")
    expect_error("EEXIST", g.mkfifo, 0o644, d + "/link")         # not through the link


# ---- stat ---------------------------------------------------------------------------------------

def test_stat_family(g):
    d = fresh(g, "/statt")
    g.write(d + "/f", b"12345")
    g.ln_s("f", d + "/l")
    s = g.stat(d + "/f")
    assert set(s) == {"dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize",
                      "blocks", "atime", "mtime", "ctime"}
    ns = g.statns(d + "/f")
    assert s["ino"] == ns["st_ino"] and s["size"] == 5 and s["mtime"] == ns["st_mtime_sec"]
    assert g.stat(d + "/l")["ino"] == s["ino"]
    ls = g.lstat(d + "/l")
    assert stat.S_ISLNK(ls["mode"]) and ls["size"] == 1
    lst = g.lstatnslist(d, ["f", "l", "missing", "", "../statt/f", ".."])
    assert len(lst) == 6
    assert lst[0] == g.lstatns(d + "/f")
    assert stat.S_ISLNK(lst[1]["st_mode"])
    assert lst[2]["st_ino"] == -1 and lst[3]["st_ino"] == -1
    assert lst[4]["st_ino"] == ns["st_ino"]
    assert lst[5]["st_ino"] == g.lstatns("/")["st_ino"]
    old = g.lstatlist(d, ["f", "missing"])
    assert old[0]["ino"] == s["ino"] and old[1]["ino"] == -1
    expect_error("ENOTDIR", g.lstatnslist, d + "/f", ["x"])


def test_utimens(g):
    d = fresh(g, "/ut")
    g.write(d + "/f", b"x")
    g.utimens(d + "/f", 1000000000, 123456789, 1500000000, 987654321)
    s = g.statns(d + "/f")
    assert (s["st_atime_sec"], s["st_atime_nsec"]) == (1000000000, 123456789)
    assert (s["st_mtime_sec"], s["st_mtime_nsec"]) == (1500000000, 987654321)
    g.utimens(d + "/f", 0, -2, 42, 0)                            # atime unchanged
    s = g.statns(d + "/f")
    assert (s["st_atime_sec"], s["st_atime_nsec"]) == (1000000000, 123456789)
    assert (s["st_mtime_sec"], s["st_mtime_nsec"]) == (42, 0)
    g.utimens(d + "/f", 0, -1, 0, -2)                            # atime now
    s = g.statns(d + "/f")
    assert abs(s["st_atime_sec"] - g.statns(d)["st_ctime_sec"]) < 3600 * 24
    assert s["st_atime_sec"] > 1500000000 and s["st_mtime_sec"] == 42
    g.ln_s("f", d + "/l")
    g.utimens(d + "/l", 7, 0, 8, 0)                              # the link itself
    assert g.lstatns(d + "/l")["st_mtime_sec"] == 8
    assert g.statns(d + "/f")["st_mtime_sec"] == 42
    expect_error("EINVAL", g.utimens, d + "/f", 0, 10 ** 9, 0, 0)
    expect_error("EINVAL", g.utimens, d + "/f", 0, 0, 0, -3)
    expect_error("ENOENT", g.utimens, d + "/missing", 0, 0, 0, 0)


def test_copy_attributes(g):
    d = fresh(g, "/ca")
    g.write(d + "/src", b"s")
    g.write(d + "/dst", b"d")
    g.chown(100, 200, d + "/src")
    g.chmod(0o4751, d + "/src")
    g.setxattr("user.k", "value", 5, d + "/src")
    g.copy_attributes(d + "/src", d + "/dst")                    # nothing by default
    s = g.statns(d + "/dst")
    assert (s["st_uid"], s["st_mode"] & 0o7777) == (0, 0o644)
    g.copy_attributes(d + "/src", d + "/dst", mode=True)
    s = g.statns(d + "/dst")
    assert (s["st_uid"], s["st_mode"] & 0o7777) == (0, 0o4751)
    g.chmod(0o644, d + "/dst")
    g.copy_attributes(d + "/src", d + "/dst", all=True, mode=False)
    s = g.statns(d + "/dst")
    assert (s["st_uid"], s["st_gid"], s["st_mode"] & 0o7777) == (100, 200, 0o644)
    assert g.getxattr(d + "/dst", "user.k") == b"value"
    g.write(d + "/dst2", b"")
    g.copy_attributes(d + "/src", d + "/dst2", all=True)         # setuid survives the chown
    s = g.statns(d + "/dst2")
    assert (s["st_uid"], s["st_gid"], s["st_mode"] & 0o7777) == (100, 200, 0o4751)
    g.mkdir(d + "/dir")
    g.copy_attributes(d + "/src", d + "/dir", ownership=True)
    assert g.statns(d + "/dir")["st_uid"] == 100
    expect_error("ENOENT", g.copy_attributes, d + "/missing", d + "/dst", all=True)


# ---- extended attributes, ACLs, capabilities --------------------------------------------------

def test_xattrs(g):
    d = fresh(g, "/xa")
    g.write(d + "/f", b"")
    g.ln_s("f", d + "/l")
    g.setxattr("user.one", "1", 1, d + "/f")
    g.setxattr("user.two", "two and more", 3, d + "/f")
    assert g.getxattr(d + "/f", "user.two") == b"two"
    assert g.getxattr(d + "/l", "user.one") == b"1"               # follows the link
    xs = g.getxattrs(d + "/l")
    assert sorted((x["attrname"], x["attrval"]) for x in xs) == [("user.one", b"1"),
                                                                   ("user.two", b"two")]
    assert g.lgetxattrs(d + "/l") == []
    g.lsetxattr("trusted.onlink", "L", 1, d + "/l")               # on the link itself
    assert g.lgetxattr(d + "/l", "trusted.onlink") == b"L"
    expect_error("ENODATA", g.getxattr, d + "/f", "trusted.onlink")
    assert [x["attrname"] for x in g.lgetxattrs(d + "/l")] == ["trusted.onlink"]
    g.lremovexattr("trusted.onlink", d + "/l")
    assert g.lgetxattrs(d + "/l") == []
    g.setxattr("user.bin", "\u00e9\u00e9", 4, d + "/f")            # UTF-8 bytes
    assert g.getxattr(d + "/f", "user.bin") == "\u00e9\u00e9".encode()
    lst = g.lxattrlist(d, ["f", "missing", "l"])
    assert lst[0] == {"attrname": "", "attrval": b"3"}
    assert sorted(x["attrname"] for x in lst[1:4]) == ["user.bin", "user.one", "user.two"]
    assert lst[4] == {"attrname": "", "attrval": b""}
    assert lst[5] == {"attrname": "", "attrval": b"0"}
    assert len(lst) == 6
    g.removexattr("user.one", d + "/l")                          # through the link
    assert sorted(x["attrname"] for x in g.getxattrs(d + "/f")) == ["user.bin", "user.two"]
    expect_error("ENODATA", g.removexattr, "user.one", d + "/f")
    expect_error("EINVAL", g.setxattr, "user.x", "ab", 3, d + "/f")
    expect_error("ENOENT", g.getxattrs, d + "/missing")
    big = "v" * 700                     # fits in a 1 KiB block (the fixture's ext4)
    g.setxattr("user.big", big, len(big), d + "/f")
    assert g.getxattr(d + "/f", "user.big") == big.encode()


def test_acls(g):
    d = fresh(g, "/acl")
    g.write(d + "/f", b"")
    g.chmod(0o640, d + "/f")
    assert g.acl_get_file(d + "/f", "access") == "user::rw-\ngroup::r--\nother::---\n"
    assert g.acl_get_file(d + "/f", "default") == ""
    g.acl_set_file(d + "/f", "access", "u::rwx,g::rx,o::r,m::rx,u:500:rwx,g:600:w")
    assert g.acl_get_file(d + "/f", "access") == (
        "user::rwx\nuser:500:rwx\t#effective:r-x\ngroup::r-x\ngroup:600:-w-\t#effective:---\n"
        "mask::r-x\nother::r--\n")
    assert g.statns(d + "/f")["st_mode"] & 0o777 == 0o754         # group bits = mask
    # the long text form it returns is accepted back
    text = g.acl_get_file(d + "/f", "access")
    g.acl_set_file(d + "/f", "access", text)
    assert g.acl_get_file(d + "/f", "access") == text
    g.acl_set_file(d + "/f", "access", "user::rw-\ngroup::---\nother::---\n")
    assert g.statns(d + "/f")["st_mode"] & 0o777 == 0o600         # minimal: only the mode
    assert all(x["attrname"] != "system.posix_acl_access" for x in g.getxattrs(d + "/f"))
    g.mkdir(d + "/dir")
    g.acl_set_file(d + "/dir", "default", "u::rwx,g::r-x,o::---")
    assert g.acl_get_file(d + "/dir", "default") == "user::rwx\ngroup::r-x\nother::---\n"
    g.write(d + "/dir/new", b"")                                 # inherits the default ACL
    assert g.statns(d + "/dir/new")["st_mode"] & 0o777 == 0o640
    g.acl_delete_def_file(d + "/dir")
    assert g.acl_get_file(d + "/dir", "default") == ""
    g.acl_delete_def_file(d + "/dir")                            # none left: no error
    expect_error("EINVAL", g.acl_set_file, d + "/f", "access", "u::rwx,g::rx")   # no other
    expect_error("EINVAL", g.acl_set_file, d + "/f", "access", "u::rwx,g::r,o::r,u:9:r")
    expect_error("EINVAL", g.acl_set_file, d + "/f", "access",
                 "u::rwx,g::r,o::r,m::r,u:root:r")
    expect_error("EINVAL", g.acl_set_file, d + "/f", "access", "u::rwz,g::r,o::r")
    expect_error("EINVAL", g.acl_set_file, d + "/f", "access", "u::r,u::w,g::r,o::r")
    expect_error("EINVAL", g.acl_get_file, d + "/f", "other")
    with pytest.raises(guestkit.Error):
        g.acl_set_file(d + "/f", "default", "u::rwx,g::rx,o::r")  # not a directory
    expect_error("ENOTDIR", g.acl_delete_def_file, d + "/f")


def test_caps(g):
    d = fresh(g, "/caps")
    g.write(d + "/prog", b"#!/bin/sh\n")
    assert g.cap_get_file(d + "/prog") == ""
    g.cap_set_file(d + "/prog", "cap_net_raw,cap_chown+ep")
    assert g.cap_get_file(d + "/prog") == "cap_chown,cap_net_raw=ep"
    g.ln_s("prog", d + "/link")
    assert g.cap_get_file(d + "/link") == "cap_chown,cap_net_raw=ep"
    g.write(d + "/sp ace", b"")
    g.cap_set_file(d + "/sp ace", "cap_sys_admin=p")
    assert g.cap_get_file(d + "/sp ace") == "cap_sys_admin=p"
    with pytest.raises(guestkit.Error):
        g.cap_set_file(d + "/prog", "not_a_capability+ep")
    expect_error("EINVAL", g.cap_set_file, d + "/prog", "-r")
    expect_error("ENOENT", g.cap_get_file, d + "/missing")
