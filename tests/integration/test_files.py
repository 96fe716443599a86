"""Files, trees, transfers and guest-path safety on a real appliance (one boot for the
module)."""

import hashlib
import os
import shutil
import stat
import threading
import time
import zlib

import pytest

import guestkit


def test_write_cat_read(launched):
    g = launched
    g.write("/hello", b"hi\n")
    g.write_append("/hello", "there\r\n")
    assert g.cat("/hello") == "hi\nthere\r\n"
    assert g.read_lines("/hello") == ["hi", "there"]
    g.write("/bin.dat", b"\x00\x01\xff" * 1000)
    assert g.read_file("/bin.dat") == b"\x00\x01\xff" * 1000
    assert g.filesize("/bin.dat") == 3000
    g.touch("/empty")
    assert g.read_lines("/empty") == [] and g.filesize("/empty") == 0


def test_tree_operations(launched):
    g = launched
    g.mkdir("/d")
    g.mkdir_p("/d/a/b/c")
    g.mkdir_p("/d/a/b/c")                       # no error when it exists
    assert g.is_dir("/d/a/b/c") == 1 and g.is_file("/d/a") == 0
    g.mkdir_mode("/d/m", 0o700)
    assert stat.S_IMODE(g.statns("/d/m")["st_mode"]) == 0o700
    g.write("/d/f", b"x")
    assert g.ls("/d") == ["a", "f", "m"]
    assert "f" in g.ll("/d")
    g.mv("/d/f", "/d/g")
    assert g.exists("/d/f") == 0 and g.exists("/d/g") == 1
    g.cp("/d/g", "/d/h")
    g.chmod(0o640, "/d/h")
    g.chown(12, 34, "/d/h")
    g.cp_a("/d/h", "/d/i")
    st = g.statns("/d/i")
    assert stat.S_IMODE(st["st_mode"]) == 0o640 and (st["st_uid"], st["st_gid"]) == (12, 34)
    g.cp_r("/d/a", "/d/a2")
    assert g.is_dir("/d/a2/b/c")
    g.rm("/d/h")
    g.rm_f("/d/h")                               # no error when missing
    with pytest.raises(guestkit.Error) as e:
        g.rm("/d/h")
    assert e.value.errno_name == "ENOENT"
    with pytest.raises(guestkit.Error) as e:
        g.rmdir("/d/a")
    assert e.value.errno_name == "ENOTEMPTY"
    g.rm_rf("/d")
    assert g.exists("/d") == 0


def test_links_and_stat(launched):
    g = launched
    g.write("/target", b"12345")
    g.ln_s("target", "/sym")
    g.ln("/target", "/hard")
    assert g.readlink("/sym") == "target"
    assert g.is_symlink("/sym") == 1 and g.is_file("/sym") == 0
    assert g.is_file("/sym", followsymlinks=True) == 1
    assert g.statns("/sym")["st_size"] == 5
    assert stat.S_ISLNK(g.lstatns("/sym")["st_mode"])
    assert g.statns("/hard")["st_nlink"] == 2
    vfs = g.statvfs("/")
    assert vfs["bsize"] > 0 and vfs["blocks"] > vfs["bfree"] > 0


def test_checksums_and_umask(launched):
    g = launched
    data = os.urandom(100000)
    g.write("/c", data)
    assert g.checksum("md5", "/c") == hashlib.md5(data).hexdigest()
    assert g.checksum("sha256", "/c") == hashlib.sha256(data).hexdigest()
    assert g.checksum("crc", "/c") == str(_posix_cksum(data))
    with pytest.raises(guestkit.Error):
        g.checksum("nosuch", "/c")
    old = g.umask(0o077)
    try:
        g.touch("/private")
        assert stat.S_IMODE(g.statns("/private")["st_mode"]) == 0o600
        assert g.get_umask() == 0o077
    finally:
        g.umask(old)


def _posix_cksum(data):
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _T[((crc >> 24) ^ b) & 0xFF]
    n = len(data)
    while n:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _T[((crc >> 24) ^ (n & 0xFF)) & 0xFF]
        n >>= 8
    return (~crc) & 0xFFFFFFFF


def _table():
    t = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if c & 0x80000000 else (c << 1) & 0xFFFFFFFF
        t.append(c)
    return t


_T = _table()


def test_upload_download_with_progress(launched, tmp_path):
    g = launched
    src = tmp_path / "src.bin"
    data = os.urandom(24 << 20)
    src.write_bytes(data)
    seen = []
    eh = g.set_event_callback(lambda ev, h, buf, arr: seen.append(list(arr)),
                              guestkit.EVENT_PROGRESS)
    try:
        g.upload(str(src), "/big.bin")
        up = list(seen)
        seen.clear()
        out = tmp_path / "out.bin"
        g.download("/big.bin", str(out))
    finally:
        g.delete_event_callback(eh)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert up and seen, "no progress events"
    assert seen[-1][2] == seen[-1][3] == len(data)
    # download into an inherited file descriptor
    r, w = os.pipe()
    got = []
    t = threading.Thread(target=lambda: got.append(os.fdopen(r, "rb").read()))
    t.start()
    g.write("/small", b"through a pipe")
    g.download("/small", "/dev/fd/%d" % w)
    os.close(w)
    t.join(10)
    assert got == [b"through a pipe"]


def test_download_device_and_cancel(launched, tmp_path):
    g = launched
    out = tmp_path / "dev.bin"
    g.download("/dev/sdb", str(out))
    assert out.stat().st_size == g.blockdev_getsize64("/dev/sdb") == 64 << 20

    def cancel(ev, h, buf, arr):
        if arr[2] > 0:
            g.user_cancel()
    eh = g.set_event_callback(cancel, guestkit.EVENT_PROGRESS)
    try:
        with pytest.raises(guestkit.Error) as e:
            g.download("/dev/sdb", str(out))
        assert e.value.errno_name == "EINTR"
    finally:
        g.delete_event_callback(eh)
    assert g.exists("/") == 1                     # the handle still works


def test_guest_paths_stay_in_the_guest(launched):
    g = launched
    g.mkdir_p("/etc")
    g.write("/etc/marker", b"guest")
    g.ln_s("/../../../../etc", "/escape")
    assert "marker" in g.ls("/escape")
    g.ln_s("../../../../init", "/initlink")
    with pytest.raises(guestkit.Error) as e:
        g.cat("/initlink")                        # the appliance's /init is not reachable
    assert e.value.errno_name == "ENOENT"
    g.ln_s("/proc/self/environ", "/envlink")
    with pytest.raises(guestkit.Error):
        g.cat("/envlink")
    g.ln_s("/etc/written", "/abs")
    g.write("/abs", b"inside")
    assert g.cat("/etc/written") == "inside"
    g.ln_s("loopb", "/loopa")
    g.ln_s("loopa", "/loopb")
    with pytest.raises(guestkit.Error) as e:
        g.cat("/loopa")
    assert e.value.errno_name == "ELOOP"
    assert g.exists("/loopa") == 0
    with pytest.raises(guestkit.Error) as e:
        g.cat("/..")
    assert e.value.errno_name == "EISDIR"


def test_special_files_never_block(launched):
    g = launched
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is installed by the README's test command"
    g.mkdir_p("/bin")
    g.upload(busybox, "/bin/busybox")
    g.chmod(0o755, "/bin/busybox")
    g.ln_s("busybox", "/bin/sh")
    assert g.sh("echo hi") == "hi\n"
    assert g.command_lines(["/bin/busybox", "echo", "a b"]) == ["a b"]
    assert g.sh_lines("echo 1; echo 2") == ["1", "2"]
    g.sh("/bin/busybox mkfifo /fifo")
    t0 = time.monotonic()
    for call in (lambda: g.cat("/fifo"), lambda: g.write("/fifo", b"x"),
                 lambda: g.download("/fifo", "/dev/null")):
        with pytest.raises(guestkit.Error) as e:
            call()
        assert "regular file" in str(e.value)
    assert time.monotonic() - t0 < 10
    with pytest.raises(guestkit.Error) as e:
        g.sh("exit 3")
    assert "exit status 3" in str(e.value)
