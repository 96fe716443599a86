"""Helpers shared by the integration test modules."""

import contextlib
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import threading
import time

import pytest

import guestkit

MiB = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(MiB), b""):
            h.update(b)
    return h.hexdigest()


def describe_host(root):
    """{relative path: (kind, mode, size and content hash, or link target)} of a host tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, sha256_file(p))
    return out


def describe_guest(g, root):
    """describe_host for the guest directory ROOT of handle G (python_return_dict)."""
    out = {}
    for rel in g.find(root):
        p = root + "/" + rel
        st = g.lstatns(p)
        if stat.S_ISLNK(st["st_mode"]):
            out[rel] = ("link", g.readlink(p))
        elif stat.S_ISDIR(st["st_mode"]):
            out[rel] = ("dir", stat.S_IMODE(st["st_mode"]))
        else:
            out[rel] = ("file", stat.S_IMODE(st["st_mode"]), st["st_size"],
                        g.checksum("sha256", p))
    return out


def fresh(g, d):
    """An empty guest directory D."""
    g.rm_rf(d)
    g.mkdir_p(d)
    return d


def expect_error(errno_name, fn, *args, **kwargs):
    """Call FN, which must fail with guestkit.Error carrying ERRNO_NAME; returns the error."""
    with pytest.raises(guestkit.Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.errno_name == errno_name, (ei.value, ei.value.errno_name)
    return ei.value


@contextlib.contextmanager
def watchdog(g, seconds, what):
    """Kill the appliance if the block takes longer than SECONDS, so that a call that hangs
    makes the test fail instead of hanging the whole run."""
    fired = []

    def fire():
        fired.append(1)
        try:
            os.kill(g.get_pid(), 9)
        except Exception:
            pass
    t = threading.Timer(seconds, fire)
    t.start()
    try:
        yield
    finally:
        t.cancel()
        assert not fired, "%s hung for more than %s s: the appliance was killed" % (
            what, seconds)


# the host as the appliance sees it through qemu's user-mode network
RSYNC_HOST = "169.254.2.2"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def rsync_daemon(d):
    """A host rsync daemon on 127.0.0.1 (a free port) with a read-only module "src" and a
    writable "dst" in directory D; yields {"src", "dst": host dirs, "url": rsync://... as
    the appliance reaches it, "port"}."""
    if shutil.which("rsync") is None:
        pytest.fail("rsync is not installed: run the README's test command", pytrace=False)
    src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
    os.makedirs(src)
    os.makedirs(dst)
    port = free_port()
    conf = os.path.join(d, "rsyncd.conf")
    with open(conf, "w") as f:
        f.write("use chroot = no\nmunge symlinks = no\nnumeric ids = yes\n"
                + ("uid = root\ngid = root\n" if os.geteuid() == 0 else "")
                + "[src]\npath = %s\nread only = yes\n[dst]\npath = %s\nread only = no\n"
                % (src, dst))
    p = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=%s" % conf,
                          "--address=127.0.0.1", "--port=%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert p.poll() is None, "the rsync daemon did not start"
                assert time.monotonic() < deadline, "the rsync daemon never listened"
                time.sleep(0.05)
        yield {"src": src, "dst": dst, "url": "rsync://%s:%d" % (RSYNC_HOST, port),
               "port": port}
    finally:
        p.terminate()
        p.wait(10)


@contextlib.contextmanager
def served_appliance(sock, *args):
    """`guestkit serve ARGS --listen unix:SOCK` running inside the block, once it listens."""
    import sys
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "serve"] + list(args) +
                         ["--listen", "unix:" + sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(sock):
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "guestkit serve never listened"
            time.sleep(0.1)
        yield p
    finally:
        p.terminate()
        p.wait(30)


@contextlib.contextmanager
def one_ext4_partition(path):
    """A writable handle on the raw disk PATH made one MBR partition holding ext4, mounted
    at /; written out and closed at the end of the block."""
    import guestkit
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.add_drive_opts(path, format="raw")
        g.launch()
        g.part_disk("/dev/sda", "mbr")
        g.mkfs("ext4", "/dev/sda1")
        g.mount("/dev/sda1", "/")
        yield g
        g.umount_all()
        g.shutdown()
    finally:
        g.close()

