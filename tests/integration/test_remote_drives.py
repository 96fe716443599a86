"""Remote drives: nbd (unix socket and 127.0.0.1) served by qemu-nbd, http served by busybox
httpd (byte ranges), read through the appliance."""

import os
import shutil
import socket
import subprocess
import time

import pytest

import guestkit
from tests.conftest import make_image


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on port %d" % port)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("remote-drives")
    img = make_image(d / "disk.img", 64)
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    g.write("/where", b"served remotely\n")
    g.close()
    return d, img


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def read_back(**drive):
    g = guestkit.GuestFS()
    try:
        g.add_drive_opts(**drive)
        g.launch()
        g.mount_ro("/dev/sda1", "/")
        return g.cat("/where")
    finally:
        g.close()


def test_nbd_unix_socket(image, procs):
    d, img = image
    sock = str(d / "nbd.sock")
    procs.append(subprocess.Popen(["qemu-nbd", "-k", sock, "-f", "raw", "-x", "disk", "-t",
                                   "-r", img]))
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    assert read_back(filename="disk", protocol="nbd", server=["unix:" + sock],
                     format="raw", readonly=True) == "served remotely\n"


def test_nbd_tcp_loopback(image, procs):
    d, img = image
    port = free_port()
    procs.append(subprocess.Popen(["qemu-nbd", "-b", "127.0.0.1", "-p", str(port), "-f",
                                   "raw", "-x", "disk", "-t", "-r", img]))
    wait_port(port)
    assert read_back(filename="/disk", protocol="nbd",
                     server=["tcp:127.0.0.1:%d" % port], format="raw",
                     readonly=True) == "served remotely\n"


def test_http_read_only(image, procs):
    d, img = image
    assert shutil.which("busybox"), "busybox-static is installed by the README's test command"
    port = free_port()
    procs.append(subprocess.Popen(["busybox", "httpd", "-f", "-p", "127.0.0.1:%d" % port,
                                   "-h", str(d)]))
    wait_port(port)
    assert read_back(filename="/disk.img", protocol="http",
                     server=["127.0.0.1:%d" % port], format="raw",
                     readonly=True) == "served remotely\n"


def test_remote_drive_errors():
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error, match="needs server"):
        g.add_drive_opts("disk", protocol="nbd", format="raw")
    with pytest.raises(guestkit.Error, match="format="):
        g.add_drive_opts("disk", protocol="nbd", server=["unix:/tmp/x.sock"])
    with pytest.raises(guestkit.Error, match="read-only"):
        g.add_drive_opts("/d.img", protocol="http", server=["localhost"], format="raw")
    with pytest.raises(guestkit.Error, match="not one of"):
        g.add_drive_opts("/d.img", protocol="gopher", server=["localhost"], format="raw")
    with pytest.raises(guestkit.Error, match="bad"):
        g.add_drive_opts("d", protocol="nbd", server=["host:99999"], format="raw")
    g.close()
