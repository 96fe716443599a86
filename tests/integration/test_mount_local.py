"""mount_local / mount_local_run / umount_local and the guestkit mount / unmount tools, with a
real appliance and a real FUSE mount on the host: browsed with ls, cat, cp, find and stat,
written in read-write mode, then the image checked by libguestfs (python3-guestfs) and by
e2fsck; read-only refusals; symlinks kept inside the mount; unmounting from another thread,
on close, on ^C and when the appliance is killed."""

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import guestkit
from tests.conftest import make_image

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
GUEST_PASSWD = b"root:x:0:0:guest root:/root:/bin/sh\n"


def _need_fuse():
    if not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None:
        pytest.fail("FUSE is not usable here (/dev/fuse, fusermount3): run the README's "
                    "test command", pytrace=False)


def is_mounted(path):
    """Looking at the mount itself would wait for it to be served: its parent only."""
    from guestkit.library.mount_local import _mount_id
    path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    return _mount_id(path) is not None


def wait_until(cond, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def tool(*args, check=True, **kw):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args),
                       capture_output=True, timeout=300, **kw)
    if check:
        assert r.returncode == 0, r.stderr.decode()
    return r


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A bare ext4 on the whole disk (e2fsck checks the image file itself), a small Debian-
    like tree that inspection recognises."""
    _need_fuse()
    d = tmp_path_factory.mktemp("mountlocal")
    path = make_image(d / "guest.img", 128)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format="raw")
    g.launch()
    g.mkfs("ext4", "/dev/sda", label="ROOT")
    g.mount("/dev/sda", "/")
    for p in ("/etc", "/bin", "/a/b", "/data"):
        g.mkdir_p(p)
    g.write("/etc/os-release", b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n')
    g.write("/etc/fstab", b"LABEL=ROOT / ext4 defaults 0 1\n")
    g.write("/etc/hostname", b"fusey\n")
    g.write("/etc/passwd", GUEST_PASSWD)
    g.ln_s("/etc/passwd", "/etc/pw")                    # absolute target
    g.ln_s("../../../../../../etc/passwd", "/a/b/up")   # climbs above the root
    g.ln_s("hostname", "/etc/rel")                      # plain relative
    g.write("/data/big", bytes(range(256)) * 4096)      # 1 MiB
    g.write("/data/sub", b"")
    g.chmod(0o640, "/data/sub")
    g.mkfifo(0o644, "/data/fifo")
    g.umount_all()
    g.shutdown()
    g.close()
    return {"path": path, "dir": d}


def _serve(g, mnt, **opts):
    """mount_local on MNT, mount_local_run in a thread; (thread, box) where box holds what
    mount_local_run raised."""
    g.mount_local(str(mnt), **opts)
    box = {}

    def run():
        try:
            g.mount_local_run()
        except BaseException as e:
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


@pytest.fixture(scope="module")
def rw(image):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(image["path"], format="raw")
    g.launch()
    g.mount("/dev/sda", "/")
    mnt = image["dir"] / "rw"
    mnt.mkdir()
    t, box = _serve(g, mnt)
    yield {"g": g, "mnt": str(mnt), "thread": t, "box": box}
    if not g._closed:               # test_image_is_consistent_for_libguestfs closes it
        if is_mounted(mnt):
            g.umount_local()
        t.join(30)
        g.close()


def test_browse_with_host_tools(rw, tmp_path):
    mnt = rw["mnt"]
    assert sorted(os.listdir(mnt)) == ["a", "bin", "data", "etc", "lost+found"]
    r = subprocess.run(["ls", "-la", mnt + "/etc"], capture_output=True, check=True,
                       timeout=60)
    assert b"os-release" in r.stdout and b"pw -> ../etc/passwd" in r.stdout
    assert subprocess.run(["cat", mnt + "/etc/hostname"], capture_output=True,
                          timeout=60).stdout == b"fusey\n"
    with open(mnt + "/data/big", "rb") as f:
        assert f.read() == bytes(range(256)) * 4096
        f.seek(300000)
        assert f.read(10) == (bytes(range(256)) * 4096)[300000:300010]
    st = os.stat(mnt + "/data/sub")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_size == 0
    assert stat.S_ISFIFO(os.lstat(mnt + "/data/fifo").st_mode)
    out = subprocess.run(["find", mnt, "-path", mnt + "/lost+found", "-prune", "-o",
                          "-type", "f", "-print"], capture_output=True, check=True,
                         timeout=60).stdout.decode().split()
    assert sorted(p[len(mnt):] for p in out) == [
        "/data/big", "/data/sub", "/etc/fstab", "/etc/hostname", "/etc/os-release",
        "/etc/passwd"]
    r = subprocess.run(["stat", "-c", "%s %a %F", mnt + "/data/big"], capture_output=True,
                       check=True, timeout=60)
    assert r.stdout == b"1048576 644 regular file\n"
    # cp -a copies symlinks as symlinks (the confined text), never what they point to
    dest = tmp_path / "copy"
    subprocess.run(["cp", "-a", mnt + "/etc", str(dest)], check=True, timeout=60)
    assert (dest / "hostname").read_bytes() == b"fusey\n"
    assert os.readlink(dest / "rel") == "hostname"
    assert os.path.islink(dest / "pw")
    assert os.statvfs(mnt).f_blocks > 0


def test_symlinks_stay_in_the_mount(rw):
    """guestmount hands the kernel a link's text as it is, so an absolute target in a guest
    is followed onto the host's own files; guestkit gives the kernel the target made
    relative to the mount, so following it reads the guest's file."""
    mnt = rw["mnt"]
    host_passwd = open("/etc/passwd", "rb").read()
    assert os.path.islink(mnt + "/etc/pw")
    assert os.readlink(mnt + "/etc/pw") == "../etc/passwd"
    for link in ("/etc/pw", "/a/b/up"):
        with open(mnt + link, "rb") as f:
            data = f.read()
        assert data == GUEST_PASSWD and data != host_passwd
    assert os.readlink(mnt + "/a/b/up") == "../../etc/passwd"
    assert os.readlink(mnt + "/etc/rel") == "hostname"
    assert os.path.realpath(mnt + "/etc/pw") == os.path.realpath(mnt) + "/etc/passwd"
    # the guest still holds the original texts
    assert rw["g"].readlink("/etc/pw") == "/etc/passwd"


def test_writes(rw):
    mnt = rw["mnt"]
    with open(mnt + "/new.txt", "w") as f:
        f.write("created on the host\n")
    with open(mnt + "/new.txt", "a") as f:
        f.write("appended\n")
    os.mkdir(mnt + "/newdir", 0o750)
    with open(mnt + "/newdir/moveme", "wb") as f:
        f.write(os.urandom(300000))
    data = open(mnt + "/newdir/moveme", "rb").read()
    os.rename(mnt + "/newdir/moveme", mnt + "/newdir/moved")
    os.chmod(mnt + "/newdir/moved", 0o600)
    os.symlink("moved", mnt + "/newdir/link")
    os.link(mnt + "/newdir/moved", mnt + "/newdir/hard")
    with open(mnt + "/gone", "w") as f:
        f.write("x")
    os.unlink(mnt + "/gone")
    os.truncate(mnt + "/data/big", 1000)
    os.utime(mnt + "/new.txt", ns=(1_000_000_000_123, 1_500_000_000_456))
    subprocess.run(["cp", "/etc/services", mnt + "/newdir/services"], check=True,
                   timeout=60)
    with pytest.raises(FileNotFoundError):
        os.stat(mnt + "/gone")
    # the same handle sees it all at once
    g = rw["g"]
    assert g.cat("/new.txt") == "created on the host\nappended\n"
    assert g.read_file("/newdir/moved") == data
    assert stat.S_IMODE(g.lstatns("/newdir/moved")["st_mode"]) == 0o600
    assert stat.S_IMODE(g.lstatns("/newdir")["st_mode"]) == 0o750
    assert g.lstatns("/newdir/moved")["st_nlink"] == 2
    assert g.readlink("/newdir/link") == "moved"
    assert g.lstatns("/data/big")["st_size"] == 1000
    st = g.lstatns("/new.txt")
    assert (st["st_mtime_sec"], st["st_mtime_nsec"]) == (1500, 456)
    assert not g.exists("/gone")
    with pytest.raises(FileExistsError):
        os.mkdir(mnt + "/newdir")
    with pytest.raises(OSError) as e:
        os.rmdir(mnt + "/newdir")
    assert e.value.errno == errno.ENOTEMPTY


def test_image_is_consistent_for_libguestfs(rw, image):
    """After the handle is closed, libguestfs reads what was written through the mount, and
    e2fsck finds the filesystem clean."""
    g, t = rw["g"], rw["thread"]
    g.umount_local()
    t.join(30)
    assert not t.is_alive() and "error" not in rw["box"]
    assert not is_mounted(rw["mnt"])
    g.close()
    script = """
import guestfs, sys
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_opts(sys.argv[1], format="raw", readonly=1)
g.launch()
g.mount_ro("/dev/sda", "/")
print(g.cat("/new.txt"), end="")
print(sorted(g.ls("/newdir")))
print(g.readlink("/newdir/link"), oct(g.lstatns("/newdir/moved")["st_mode"] & 0o7777))
print(g.filesize("/newdir/services"), g.filesize("/data/big"))
"""
    r = subprocess.run(["/usr/bin/python3", "-c", script, image["path"]],
                       capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines() == [
        "created on the host", "appended",
        "['hard', 'link', 'moved', 'services']",
        "moved 0o600", "%d 1000" % os.path.getsize("/etc/services")]
    r = subprocess.run(["e2fsck", "-fn", image["path"]], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_readonly_refuses_writes(image):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(image["path"], format="raw", readonly=True)
    g.launch()
    g.mount_ro("/dev/sda", "/")
    mnt = image["dir"] / "ro"
    mnt.mkdir()
    for call, args in ((g.mount_local_run, ()), (g.umount_local, ())):
        with pytest.raises(guestkit.Error) as e:
            call(*args)
        assert e.value.errno == errno.EINVAL
    calls = []
    g.set_event_callback(lambda ev, eh, buf, arr: calls.append(buf), guestkit.EVENT_LIBRARY)
    t, box = _serve(g, mnt, readonly=True, cachetimeout=1, debugcalls=True)
    try:
        m = str(mnt)
        with pytest.raises(guestkit.Error) as e:
            g.mount_local(str(image["dir"]))
        assert e.value.errno == errno.EBUSY
        assert open(m + "/etc/hostname", "rb").read() == b"fusey\n"
        for action in (lambda: open(m + "/etc/hostname", "a"),
                       lambda: open(m + "/newfile", "w"),
                       lambda: os.mkdir(m + "/x"),
                       lambda: os.unlink(m + "/etc/hostname"),
                       lambda: os.chmod(m + "/etc/hostname", 0o777),
                       lambda: os.symlink("x", m + "/y"),
                       lambda: os.rename(m + "/etc/hostname", m + "/etc/h2")):
            with pytest.raises(OSError) as e:
                action()
            assert e.value.errno == errno.EROFS
        assert g.cat("/etc/hostname") == "fusey\n"
        # debugcalls: every FUSE call and its outcome (the writes never come: the kernel
        # refuses them on the ro mount)
        text = b"".join(calls).decode()
        assert "getattr('/etc/hostname', None) = {'st_mode': 33188" in text
        assert "getattr('/newfile', None) = ENOENT" in text
    finally:
        g.umount_local(retry=True)
        t.join(30)
        g.close()
    assert not t.is_alive() and "error" not in box


def test_close_unmounts(image):
    """close() removes the mount, whether mount_local_run runs or not."""
    for serve in (False, True):
        g = guestkit.GuestFS(python_return_dict=True)
        g.add_drive_opts(image["path"], format="raw", readonly=True)
        g.launch()
        g.mount_ro("/dev/sda", "/")
        mnt = image["dir"] / ("close%d" % serve)
        mnt.mkdir()
        if serve:
            t, box = _serve(g, mnt)
            assert os.listdir(mnt)
        else:
            g.mount_local(str(mnt))
            assert is_mounted(mnt)
        g.close()
        assert not is_mounted(mnt)
        if serve:
            t.join(30)
            assert not t.is_alive()
        assert os.listdir(mnt) == []


def test_appliance_killed_unmounts(image):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(image["path"], format="raw", readonly=True)
    g.launch()
    g.mount_ro("/dev/sda", "/")
    mnt = image["dir"] / "killed"
    mnt.mkdir()
    t, box = _serve(g, mnt)
    try:
        assert "etc" in os.listdir(mnt)
        holder = subprocess.Popen(["sleep", "600"], cwd=str(mnt))   # keeps the mount busy
        os.kill(g.get_pid(), signal.SIGKILL)
        t.join(30)
        assert not t.is_alive()
        assert isinstance(box.get("error"), guestkit.Error) and box["error"].errno == \
            errno.EIO
        assert not is_mounted(mnt)
        holder.kill()
        holder.wait()
        assert os.listdir(mnt) == []
    finally:
        g.close()


def test_tool_mount_and_unmount(image, tmp_path):
    mnt = tmp_path / "m"
    mnt.mkdir()
    pidfile = tmp_path / "pid"
    tool("mount", "-a", image["path"], "--format", "raw", "-i", "--ro", "--pid-file",
         str(pidfile), str(mnt))
    try:
        assert is_mounted(mnt)
        pid = int(pidfile.read_text())
        assert (mnt / "etc" / "hostname").read_bytes() == b"fusey\n"
        with pytest.raises(OSError) as e:
            (mnt / "x").write_text("no")
        assert e.value.errno == errno.EROFS
        # busy: --no-retry fails with 2
        holder = subprocess.Popen(["sleep", "600"], cwd=str(mnt))
        r = tool("unmount", "--no-retry", str(mnt), check=False)
        assert r.returncode == 2 and b"could not be unmounted" in r.stderr
        holder.kill()
        holder.wait()
        tool("unmount", str(mnt))
        assert not is_mounted(mnt)
        assert wait_until(lambda: not os.path.exists("/proc/%d" % pid))
    finally:
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-uz", str(mnt)])
    r = tool("unmount", str(mnt), check=False)
    assert r.returncode == 3
    # --fd: unmounts once the other end of the pipe is closed
    tool("mount", "-a", image["path"], "--format", "raw", "-m", "/dev/sda", "--ro", str(mnt))
    rfd, wfd = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "unmount", "--fd", str(rfd),
                          str(mnt)], pass_fds=(rfd,))
    os.close(rfd)
    time.sleep(1)
    assert p.poll() is None and is_mounted(mnt)
    os.close(wfd)
    assert p.wait(60) == 0
    assert not is_mounted(mnt)
    assert tool("unmount", "-q", str(mnt), check=False).stderr == b""


def interruptible():
    """In the child, before exec: ^C's default action.  A test run started in the
    background of a script (`.ci/run &`, nohup) has SIGINT ignored, and every process it
    starts inherits that: a terminal's ^C would never reach it, and neither does the
    test's (that was why this test hung in the full suite and passed alone)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_tool_mount_foreground_interrupt(image, tmp_path):
    """--no-fork with -m: ready is told through --fd; ^C unmounts and ends it."""
    mnt = tmp_path / "m"
    mnt.mkdir()
    rfd, wfd = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "mount", "-a",
                          image["path"], "--format", "raw", "-m", "/dev/sda", "--no-fork",
                          "--fd", str(wfd), str(mnt)], pass_fds=(wfd,),
                         stderr=subprocess.PIPE, preexec_fn=interruptible)
    os.close(wfd)
    try:
        with os.fdopen(rfd, "rb") as r:
            assert r.read(1) == b"1"
        (mnt / "hello-from-fg").write_text("fg\n")
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        try:
            p.wait(150)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGUSR1)       # the tool prints its threads' stacks
            time.sleep(3)
            p.kill()
            raise AssertionError("^C did not end guestkit mount in 150 s: %s"
                                 % p.communicate()[1][-6000:].decode("utf-8", "replace"))
        print("guestkit mount ended %.1f s after ^C" % (time.monotonic() - t0))
        assert not is_mounted(mnt)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-uz", str(mnt)])
    r = tool("cat", "-a", image["path"], "--format", "raw", "-m", "/dev/sda",
             "/hello-from-fg")
    assert r.stdout == b"fg\n"


def test_tool_mount_errors(image, tmp_path):
    r = tool("mount", "-a", image["path"], str(tmp_path), check=False)
    assert r.returncode == 1 and b"-i" in r.stderr
    r = tool("mount", "-a", image["path"], "-i", str(tmp_path / "nowhere"), check=False)
    assert r.returncode == 1 and b"not a directory" in r.stderr
