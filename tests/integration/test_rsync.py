"""rsync, rsync_in and rsync_out against a real appliance with its network enabled, talking to
a real rsync daemon that this module starts on the host's loopback (the appliance reaches it
as 169.254.2.2 through qemu's user-mode network).

One launched handle for the module: a 256 MiB disk with ext4, mounted at /.
"""

import os
import shutil
import time

import pytest

import guestkit
from tests.conftest import _need, make_image
from tests.helpers import (RSYNC_HOST as HOST, describe_guest, describe_host, expect_error,
                           free_port, fresh, rsync_daemon, served_appliance)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with rsync_daemon(tmp_path_factory.mktemp("rsyncd")) as d:
        yield d


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    _need("qemu-system-x86_64")
    d = tmp_path_factory.mktemp("img")
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(make_image(d / "disk.img", 256), format="raw")
    g.set_network(True)
    assert g.get_network() == 1
    g.launch()
    g.mkfs("ext4", "/dev/sda")
    g.mount("/dev/sda", "/")
    yield g
    g.close()


def _fill_host_src(src):
    shutil.rmtree(src)
    os.makedirs(os.path.join(src, "sub", "deeper"))
    with open(os.path.join(src, "a.txt"), "w") as f:
        f.write("alpha\n")
    with open(os.path.join(src, "sub", "deeper", "b.bin"), "wb") as f:
        f.write(os.urandom(300000))
    os.chmod(os.path.join(src, "a.txt"), 0o640)
    os.chmod(os.path.join(src, "sub"), 0o750)
    os.symlink("/etc/passwd", os.path.join(src, "abs-link"))


def test_feature_and_network(g):
    assert g.feature_available(["rsync"]) == 1
    assert "rsync" in g.available_all_groups()


def test_rsync_in_archive_and_deletedest(g, daemon):
    _fill_host_src(daemon["src"])
    d = fresh(g, "/in")
    g.write(d + "/stale", "not on the host")
    g.rsync_in(daemon["url"] + "/src/", d, archive=True)
    tree = describe_guest(g, d)
    assert tree.pop("stale")[:3] == ("file", 0o644, 15)
    assert tree == describe_host(daemon["src"])
    assert tree["abs-link"] == ("link", "/etc/passwd")      # a link, not the host's file
    assert tree["sub"] == ("dir", 0o750) and tree["a.txt"][1] == 0o640
    # deletedest: the guest copy now mirrors the host exactly
    g.rsync_in(daemon["url"] + "/src/", d, archive=True, deletedest=True)
    assert describe_guest(g, d) == describe_host(daemon["src"])
    # without archive, only the files named are copied
    d2 = fresh(g, "/in2")
    g.rsync_in(daemon["url"] + "/src/a.txt", d2)
    g.rsync_in(daemon["url"] + "/src/sub", d2)          # a directory: skipped
    assert g.ls(d2) == ["a.txt"]
    assert g.cat(d2 + "/a.txt") == "alpha\n"


def test_rsync_out_archive_and_deletedest(g, daemon):
    d = fresh(g, "/out")
    g.mkdir_p(d + "/x/y")
    g.write(d + "/x/y/file", "from the guest")
    g.chmod(0o600, d + "/x/y/file")
    g.ln_s("/etc/shadow", d + "/x/evil")
    g.mknod_c(0o644, 1, 3, d + "/null")
    dst = daemon["dst"]
    for n in os.listdir(dst):
        shutil.rmtree(os.path.join(dst, n)) if os.path.isdir(os.path.join(dst, n)) \
            and not os.path.islink(os.path.join(dst, n)) else os.unlink(os.path.join(dst, n))
    with open(os.path.join(dst, "extra"), "w") as f:
        f.write("host only")
    g.rsync_out(d + "/", daemon["url"] + "/dst/", archive=True)
    assert os.path.exists(os.path.join(dst, "extra"))
    with open(os.path.join(dst, "x", "y", "file")) as f:
        assert f.read() == "from the guest"
    assert os.stat(os.path.join(dst, "x", "y", "file")).st_mode & 0o777 == 0o600
    # the guest's link arrives as a link: nothing read /etc/shadow on either side (the
    # daemon, not chrooted, makes the absolute target relative to the module)
    assert os.path.islink(os.path.join(dst, "x", "evil"))
    assert os.readlink(os.path.join(dst, "x", "evil")).endswith("etc/shadow")
    g.rsync_out(d + "/", daemon["url"] + "/dst/", archive=True, deletedest=True)
    assert not os.path.exists(os.path.join(dst, "extra"))
    assert sorted(os.listdir(dst)) == sorted(g.ls(d))


def test_rsync_inside_the_guest(g):
    d = fresh(g, "/local")
    g.mkdir_p(d + "/src/sub")
    g.write(d + "/src/sub/f", "x" * 5000)
    g.ln_s("../sub/f", d + "/src/rel-link")
    # trailing slash: the contents of src; none: src itself
    g.rsync(d + "/src/", d + "/contents", archive=True)
    assert sorted(g.ls(d + "/contents")) == ["rel-link", "sub"]
    assert g.readlink(d + "/contents/rel-link") == "../sub/f"
    g.rsync(d + "/src", d + "/itself", archive=True)
    assert g.ls(d + "/itself") == ["src"]
    g.rm(d + "/src/sub/f")
    g.rsync(d + "/src/", d + "/contents", archive=True, deletedest=True)
    assert not g.exists(d + "/contents/sub/f")
    # a guest symlink as the destination's parent resolves inside the guest root
    g.ln_s("/local/contents", d + "/via")
    g.rsync(d + "/src/", d + "/via/again", archive=True)
    assert g.is_dir(d + "/contents/again/sub")


def test_rsync_errors(g, daemon):
    d = fresh(g, "/err")
    e = expect_error("EINVAL", g.rsync_in, "host:/path", d)
    assert "rsync daemon address" in str(e)
    expect_error("EINVAL", g.rsync_in, "--rsh=sh", d)
    expect_error("EINVAL", g.rsync_out, d, "-e sh")
    # nothing listens there (HOST::MODULE is the daemon's port 873)
    e = expect_error("ECONNREFUSED", g.rsync_in, "rsync://%s:%d/src/" % (HOST, free_port()), d)
    assert "169.254.2.2" in str(e)
    expect_error("ECONNREFUSED", g.rsync_in, "%s::src/" % HOST, d)
    e = expect_error("ENOENT", g.rsync_in, daemon["url"] + "/nomodule/", d)
    assert "nomodule" in str(e)
    expect_error("ENOENT", g.rsync, "/no/such/dir/", d)
    # the read-only module refuses uploads
    e = expect_error("EROFS", g.rsync_out, d + "/", daemon["url"] + "/src/", archive=True)
    assert "read only" in str(e)


def test_user_cancel_rsync_in(g, daemon, tmp_path):
    big = os.path.join(daemon["src"], "big")
    with open(big, "wb") as f:
        f.write(os.urandom(64 << 20))
    d = fresh(g, "/cancel")

    def cb(event, eh, buf, array):
        g.user_cancel()
    eh = g.set_event_callback(cb, guestkit.EVENT_PROGRESS)
    try:
        t0 = time.monotonic()
        e = expect_error("EINTR", g.rsync_in, daemon["url"] + "/src/big", d)
        assert time.monotonic() - t0 < 10
    finally:
        g.delete_event_callback(eh)
        os.unlink(big)
    assert "cancel" in str(e).lower()
    # rsync was stopped with SIGTERM: no temporary file is left behind, and the handle works
    assert g.ls(d) == []
    g.rsync_in(daemon["url"] + "/src/a.txt", d)
    assert g.ls(d) == ["a.txt"]


def test_served_appliance_with_network(daemon, tmp_path):
    # `guestkit serve --network`: a remote-backend client uses the server's network
    import subprocess
    disk = make_image(tmp_path / "served.img", 64)
    subprocess.run(["mkfs.ext4", "-qF", disk], check=True)
    sock = str(tmp_path / "serve.sock")
    with served_appliance(sock, "--network", "--rw", "-a", disk, "--format", "raw"):
        with open(os.path.join(daemon["src"], "served.txt"), "w") as f:
            f.write("through the served appliance\n")
        c = guestkit.GuestFS(python_return_dict=True)
        c.set_backend("remote:unix:" + sock)
        c.launch()
        c.mount("/dev/sda", "/")
        c.rsync_in(daemon["url"] + "/src/served.txt", "/")
        assert c.cat("/served.txt") == "through the served appliance\n"
        c.close()
