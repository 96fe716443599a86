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


def _reply(result):
    return P.encode(P.REPLY, P.dumps({"s": 1, "r": result}))


@pytest.mark.parametrize("action, frames, what", [
    # 16 MiB of empty objects where a list of strings belongs: refused before decoding
    ("ls", P.encode(P.REPLY, b'{"s":1,"r":[' + b"{}," * ((16 << 20) // 3) + b'{}]}'),
     "lists or objects"),
    ("ls", _reply(["a", 1]), "list of strings"),
    ("ls", _reply({"a": "b"}), "list of strings"),
    ("exists", _reply("yes"), "bool"),
    ("filesize", _reply(True), "int"),
    ("cat", _reply(["x"]), "lists or objects"),
    ("statns", _reply({"st_size": [1, 2]}), "struct"),
    ("getxattrs", _reply([{"attrname": "user.x", "attrval": {"$b": "eA=="},
                           "more": [0]}]), "list of structs"),
    ("mountpoints", _reply([["/dev/sda1"]]), "hashtable"),
    ("read_file", _reply("not bytes"), "bytes"),
])
def test_replies_of_the_wrong_shape_end_the_session(action, frames, what):
    """The appliance may be subverted: a reply must have its action's declared shape, and
    cannot make the host build millions of objects."""
    from guestkit.actions import ACTIONS
    c, peer = _fake_daemon(frames)
    t0 = time.monotonic()
    with pytest.raises(SessionLost) as e:
        c.call(action, [], {}, ret=ACTIONS[action].ret)
    assert what in str(e.value) and time.monotonic() - t0 < 3, e.value


def test_replies_of_the_right_shape_pass():
    from guestkit.actions import ACTIONS
    for action, result in (("ls", ["a", "b{[", "]}"]), ("exists", True), ("filesize", 3),
                           ("statns", {"st_size": 3, "st_mode": 0o644}),
                           ("mountpoints", [["/dev/sda1", "/"]]), ("read_file", b"\0{["),
                           ("getxattrs", [{"attrname": "user.x", "attrval": b"x"}] * 1000),
                           ("part_list", [{"part_num": 1, "part_start": 0}] * 1000)):
        c, peer = _fake_daemon(_reply(result))
        assert c.call(action, [], {}, ret=ACTIONS[action].ret) == result, action


# ---- more bad input: nothing here needs a boot unless it says so ------------------------------

def _err(errno_name, fn, *args, **kwargs):
    with pytest.raises(guestkit.Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.errno_name == errno_name, (ei.value, ei.value.errno_name)
    assert ei.value.errno is not None
    return ei.value


def test_more_config_errors(tmp_path):
    img = make_image(tmp_path / "b.img", 16)
    g = guestkit.GuestFS()
    _err("EINVAL", g.add_drive_opts, str(tmp_path))              # a directory
    _err("ENOENT", g.add_drive_opts, str(tmp_path / "x:y.img"))
    _err("ENOENT", g.add_drive, str(tmp_path / "missing.img"))
    _err("EINVAL", g.add_drive_opts, img, format="raw", label="bad label")
    _err("EINVAL", g.add_drive_opts, img, format="raw", cachemode="none")
    _err("EINVAL", g.add_drive_opts, img, format="raw", discard="sometimes")
    _err("EINVAL", g.add_drive_opts, img, format="vmdk\0")
    g.add_drive_opts(img, format="raw", label="one")
    _err("EINVAL", g.add_drive_opts, img, format="raw", label="one")   # label used twice
    _err("EINVAL", g.disk_create, str(tmp_path / "c.img"), "vhd", 1 << 20)
    _err("EINVAL", g.mkdir, "/a\0b")
    _err("EINVAL", g.part_list, "sdb")                # a device name starts with /dev/
    with pytest.raises(TypeError):
        g.mkdir(42)
    with pytest.raises(TypeError):
        g.mkdir("/a", "/b")
    with pytest.raises(TypeError):
        g.add_drive_opts(img, nosuchoption=1)
    with pytest.raises(ValueError):
        g.set_event_callback(lambda *a: None, 1 << 20)
    # daemon calls before launch: no appliance is started for them
    for fn, args in ((g.list_devices, ()), (g.cat, ("/etc/fstab",)),
                     (g.download, ("/dev/sda", str(tmp_path / "out"))),
                     (g.upload, (img, "/x"))):
        e = _err("EINVAL", fn, *args)
        assert "launch" in str(e)
    assert not os.path.exists(tmp_path / "out")
    assert g.is_config() == 1
    g.close()
    # as python-guestfs: every method of a closed handle, close included, raises
    for fn, args in ((g.close, ()), (g.list_devices, ()), (g.launch, ()), (g.get_memsize, ()),
                     (g.mkdir, ("/x",)), (g.set_event_callback, (lambda *a: None, 1))):
        with pytest.raises(guestkit.ClosedHandle):
            fn(*args)
    with guestkit.GuestFS() as g2:
        g2.add_drive_opts(img, format="raw")
    with pytest.raises(guestkit.ClosedHandle):
        g2.add_drive_opts(img, format="raw")


def test_backing_file_refusal_is_einval(tmp_path):
    base = make_image(tmp_path / "base.img", 16)
    top = str(tmp_path / "top.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, top],
                   check=True)
    g = guestkit.GuestFS()
    e = _err("EINVAL", g.add_drive_opts, top)
    assert "format=" in str(e)
    e = _err("EINVAL", g.add_drive_ro, top)           # read-only does not change that
    assert "format=" in str(e)
    assert g.disk_has_backing_file(top) == 1
    g.close()


def test_unreadable_image(tmp_path):
    """An image the caller cannot read is EACCES.  Root reads any file, so under root the
    call runs in a forked child that has become nobody (the image stays root's, mode 0600)."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="gk-unreadable-", dir="/tmp")   # others may enter it
    os.chmod(d, 0o755)
    img = make_image(os.path.join(d, "secret.img"), 16)
    os.chmod(img, 0o600 if os.geteuid() == 0 else 0)

    def attempt():
        g = guestkit.GuestFS()
        try:
            _err("EACCES", g.add_drive_opts, img, format="raw", readonly=True)
        finally:
            g.close()
    if os.geteuid() != 0:
        try:
            attempt()
        finally:
            shutil.rmtree(d)
        return
    pid = os.fork()
    if pid == 0:                                    # the child: nobody, then the call
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            attempt()
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    status = os.waitpid(pid, 0)[1]
    shutil.rmtree(d)
    assert status == 0, "the unreadable image was not refused with EACCES"


def test_wrong_format_error_is_clear(tmp_path):
    img = make_image(tmp_path / "plain.img", 16)
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="qcow2")
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert time.monotonic() - t0 < 60
    assert "qcow2" in str(e.value) and e.value.errno_name
    with pytest.raises(guestkit.Error):
        g.list_devices()
    t0 = time.monotonic()
    g.close()
    assert time.monotonic() - t0 < 5
    with open(img, "rb") as f:
        assert f.read(4) != b"QFI\xfb"                # nothing was written to the image


def test_bad_arguments_never_reach_the_daemon_and_qemu_killed_while_idle(tmp_path):
    img = make_image(tmp_path / "idle.img", 32)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw")
    g.launch()
    try:
        entered = []
        eh = g.set_event_callback(lambda ev, h, buf, arr: entered.append(buf),
                                  guestkit.EVENT_ENTER)
        for fn, args in ((g.mkdir, ("relative",)), (g.cat, ("etc/passwd",)),
                         (g.part_list, ("sda",)), (g.mount, ("sda1", "/")),
                         (g.write, ("", b"x")), (g.checksum, ("md5", "a/b"))):
            _err("EINVAL", fn, *args)
        assert entered == [], "rejected calls reached the daemon: %r" % entered
        g.delete_event_callback(eh)
        _err("ENOENT", g.part_list, "/dev/sdz")
        _err("ENOENT", g.blockdev_getsize64, "/dev/sdb")       # only one drive
        _err("EINVAL", g.cat, "/etc/passwd")                   # nothing mounted yet
        _err("EINVAL", g.add_drive_opts, img, format="raw")    # config call after launch
        assert g.list_devices() == ["/dev/sda"]                # and the session goes on
        os.kill(g.get_pid(), 9)
        t0 = time.monotonic()
        with pytest.raises(guestkit.Error):
            g.list_devices()
        with pytest.raises(guestkit.Error):
            g.list_devices()
        assert time.monotonic() - t0 < 5
    finally:
        t0 = time.monotonic()
        g.close()
        assert time.monotonic() - t0 < 5


def test_serve_relay_survives_a_malformed_reply():
    """guestkit serve's relay: a REPLY that is not an object ends that client's session
    (the client never sees it), and the relay still finishes the call and cleans up, so the
    appliance is in step for the next client."""
    from guestkit.serve import Relay
    app_relay, app = socket.socketpair()
    cli_relay, cli = socket.socketpair()
    relay = Relay(app_relay)
    done = []
    t = threading.Thread(target=lambda: done.append(relay.session(cli_relay)), daemon=True)
    t.start()
    P.send_frame(cli, P.CALL, P.dumps({"s": 5, "n": "ping_daemon", "a": [], "o": {}}))
    reader = P.FrameReader(app.recv_into)
    assert reader.read_frame()[0] == P.CALL
    P.send_frame(app, P.REPLY, b"[1]")                      # malformed
    P.send_frame(app, P.REPLY, P.dumps({"s": 5, "r": 1}))    # the call's real end
    ftype, payload = reader.read_frame()                     # the relay's cleanup call
    assert ftype == P.CALL and P.loads(payload)["n"] == "internal_autosync"
    P.send_frame(app, P.REPLY, P.dumps({"s": 0, "r": None}))
    t.join(5)
    assert done == [None]
    cli.settimeout(2)
    assert cli.recv(65536) == b""                            # closed, nothing relayed
