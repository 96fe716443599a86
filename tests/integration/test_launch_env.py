"""Launching on a machine as a new user brings it: the cache directory variables of
guestfs(3) (LIBGUESTFS_CACHEDIR, TMPDIR) and launch errors that say which stage failed and
why."""

import os
import tempfile
import shutil
import stat

import pytest

import guestkit
from tests.conftest import make_image


def _launch_and_check(img):
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="raw")
    g.launch()
    try:
        assert g.list_devices() == ["/dev/sda"]
        return g.get_cachedir(), g.get_cachedir_in_use()
    finally:
        g.close()


@pytest.mark.parametrize("var", ["LIBGUESTFS_CACHEDIR", "TMPDIR"])
def test_cache_lives_inside_the_named_directory(tmp_path, monkeypatch, var):
    """A shared directory like /var/tmp (mode 1777) is what people name: the cache is a
    private .guestkit-UID inside it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    img = make_image(tmp_path / "d.img", 16)
    for v in ("GUESTKIT_CACHEDIR", "LIBGUESTFS_CACHEDIR"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv(var, str(shared))
    base, cache = _launch_and_check(img)
    assert base == str(shared)
    assert cache == str(shared / (".guestkit-%d" % os.geteuid()))
    st = os.lstat(cache)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert [n for n in os.listdir(cache) if n.startswith("appliance-")]
    assert os.listdir(shared) == [".guestkit-%d" % os.geteuid()]


def test_a_cache_another_user_could_write_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    inner = shared / (".guestkit-%d" % os.geteuid())
    inner.mkdir(parents=True)
    os.chmod(inner, 0o777)
    monkeypatch.setenv("GUESTKIT_CACHEDIR", str(shared))
    g = guestkit.GuestFS()
    g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "not a private directory" in str(e.value) and str(inner) in str(e.value)
    g.close()


def test_qemu_failing_to_start_names_the_stage_and_cause(tmp_path):
    hv = tmp_path / "qemu"
    hv.write_text("#!/bin/sh\necho \"qemu-system-x86_64: -drive file=x: Could not open "
                  "'x': Permission denied\" >&2\nexit 1\n")
    os.chmod(hv, 0o755)
    g = guestkit.GuestFS()
    g.set_hv(str(hv))
    g.set_backend_settings(["force_tcg"])
    g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    msg = str(e.value)
    assert "qemu did not start the appliance: qemu exited with status 1" in msg
    assert "Likely cause: qemu cannot open a file it was given" in msg
    assert "Could not open 'x'" in msg               # qemu's own words, quoted
    g.close()


def test_kernel_that_cannot_boot_names_the_stage(tmp_path):
    """The kernel panics before PID 1 ran (no init marker): the kernel stage failed, and
    the error quotes the panic, not a register dump alone."""
    g = guestkit.GuestFS()
    g.set_backend_settings(["force_tcg"])
    g.set_append("rdinit=/no/such/init")
    g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    msg = str(e.value)
    assert "the appliance kernel did not boot" in msg
    assert "Likely cause:" in msg and "Kernel panic" in msg
    assert g.is_config() == 1
    g.close()


def test_paths_with_commas_never_reach_qemu_as_options(tmp_path, monkeypatch):
    """Every path in a qemu option string is escaped: a TMPDIR (where the handle's sockets
    live) and an image whose names hold ",opt=value" launch and work as plain names."""
    import pathlib
    import tempfile
    # short: the sockets' paths must fit AF_UNIX's 108 bytes
    odd = pathlib.Path(tempfile.mkdtemp(prefix="gk,wait=off,x-inj=1,", dir="/tmp"))
    from guestkit.appliance import builder
    monkeypatch.setenv("LIBGUESTFS_CACHEDIR", builder.cache_base())   # the usual cache
    monkeypatch.setenv("TMPDIR", str(odd))
    img = make_image(odd / "disk,format=qcow2.img", 16)
    g = guestkit.GuestFS()
    try:
        g.add_drive_opts(img, format="raw")
        g.launch()
        g.mkfs("ext4", "/dev/sda")
        assert g.vfs_type("/dev/sda") == "ext4"
        assert g._backend.qmp_path.startswith(str(odd))
    finally:
        g.close()
        shutil.rmtree(odd, ignore_errors=True)


def test_a_tmpdir_too_long_for_unix_sockets(tmp_path, monkeypatch):
    """The appliance's sockets live in the handle's directory; a TMPDIR so long that a
    socket's path would not fit AF_UNIX's 107 bytes sends them to $XDG_RUNTIME_DIR or /tmp
    (where libguestfs keeps its sockets) instead of failing the launch."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    g = guestkit.GuestFS()
    try:
        g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw", readonly=True)
        g.launch()
        assert g.blockdev_getsize64("/dev/sda") == 16 << 20
        assert os.path.dirname(g._tmpdir) == "/tmp"
    finally:
        g.close()
