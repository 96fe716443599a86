"""Bad input gets a clear error and loses nothing."""

import hashlib
import os
import socket
import subprocess
import threading
import time

import pytest

import guestkit
from guestkit.client import Client, SessionLost
from guestkit.daemon import protocol as P
from tests.conftest import make_image


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def test_config_errors_before_launch(tmp_path):
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_drive_opts(str(tmp_path / "missing.img"))
    assert e.value.errno_name == "ENOENT" and "missing.img" in str(e.value)
    img = make_image(tmp_path / "a.img", 16)
    with pytest.raises(guestkit.Error) as e:
        g.add_drive_opts(img, format="nosuch")
    assert e.value.errno_name == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.mkdir("/x")
    assert "launch" in str(e.value)
    with pytest.raises(guestkit.Error) as e:
        g.mkdir("relative")
    assert e.value.errno_name == "EINVAL" and "must start with a /" in str(e.value)
    with pytest.raises(TypeError):
        g.set_memsize("lots")
    g.close()
    with pytest.raises(guestkit.ClosedHandle):
        g.add_drive_opts(img)
    assert isinstance(guestkit.ClosedHandle(), ValueError)
    assert issubclass(guestkit.Error, RuntimeError)


def test_backing_file_needs_explicit_format(tmp_path):
    base = make_image(tmp_path / "base.img", 16)
    top = str(tmp_path / "top.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, top],
                   check=True)
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_drive_opts(top)
    assert "format=" in str(e.value) and "backing file" in str(e.value)
    g.add_drive_opts(top, format="qcow2")       # trusted by the user: accepted
    g.close()


def test_raw_image_that_looks_like_qcow2_stays_raw(tmp_path):
    """A raw image whose first bytes are a qcow2 header naming a host file is never opened
    as qcow2 when the format is pinned: the guest sees the header bytes as data."""
    secret = tmp_path / "host-secret"
    secret.write_bytes(b"TOP SECRET" * 100)
    evil = str(tmp_path / "evil.img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(secret),
                    evil, "1M"], check=True)
    with open(evil, "ab") as f:
        f.truncate(8 << 20)
    g = guestkit.GuestFS()
    g.add_drive_opts(evil, format="raw", readonly=True)
    g.launch()
    try:
        assert g.blockdev_getsize64("/dev/sda") == 8 << 20
        out = tmp_path / "dump"
        g.download("/dev/sda", str(out))
        data = out.read_bytes()
        assert data[:4] == b"QFI\xfb" and b"TOP SECRET" not in data
    finally:
        g.close()


def test_readonly_drive_is_never_written_and_lifecycle_errors(tmp_path):
    img = make_image(tmp_path / "ro.img", 64)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.close()
    before = sha(img)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    try:
        with pytest.raises(guestkit.Error):
            g.launch()
        with pytest.raises(guestkit.Error) as e:
            g.set_memsize(1024)
        assert "config" in str(e.value)
        g.mount("/dev/sda1", "/")
        g.write("/scribble", b"x" * 100000)
        g.umount("/")
        g.mkfs("ext2", "/dev/sda1")
        g.sync()
        with pytest.raises(guestkit.Error):
            g.part_list("/dev/sdz")
    finally:
        g.shutdown()
        g.close()
    assert sha(img) == before


def test_wrong_format_fails_launch_cleanly(tmp_path):
    img = make_image(tmp_path / "plain.img", 16)
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="qcow2")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "qcow2" in str(e.value) or "qemu" in str(e.value)
    g.close()


def test_qemu_killed_during_a_call(tmp_path):
    g = guestkit.GuestFS()
    g.add_drive_scratch(2 << 30)
    g.launch()
    pid = g.get_pid()
    killer = threading.Timer(1.0, os.kill, (pid, 9))
    killer.start()
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error):
        g.download("/dev/sda", "/dev/null")     # 2 GiB: still running after 1 s
    assert time.monotonic() - t0 < 1.0 + 5.0
    with pytest.raises(guestkit.Error):
        g.list_devices()
    t0 = time.monotonic()
    g.close()
    assert time.monotonic() - t0 < 5


def _fake_daemon(frames):
    a, b = socket.socketpair()

    def serve():
        b.sendall(P.encode(P.HELLO, P.dumps({"magic": P.MAGIC, "version": P.VERSION})))
        b.recv(65536)
        b.sendall(frames)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    c = Client(a)
    c.read_hello(timeout=5)
    return c, b


@pytest.mark.parametrize("frames", [
    b"\xff\xff\xff\xff" + b"garbage",
    P.encode(P.REPLY, b"{{{{not json"),
    P.encode(P.REPLY, P.dumps({"s": 999, "r": 1})),
    P.encode(42, b"x"),
    b"\x00\x00",
])
def test_garbage_from_the_daemon_ends_the_session(frames):
    c, peer = _fake_daemon(frames)
    if frames == b"\x00\x00":
        threading.Timer(0.5, peer.close).start()
    t0 = time.monotonic()
    with pytest.raises(SessionLost):
        c.call("ping_daemon", [], {})
    assert time.monotonic() - t0 < 5
    with pytest.raises(SessionLost):
        c.call("ping_daemon", [], {})
