"""Every environment variable guestkit honours, with the meaning guestfs(3) gives it."""

import os
import stat

import pytest

import guestkit
from guestkit.appliance import builder


def _handle(**kw):
    g = guestkit.GuestFS(**kw)
    return g


def test_cachedir_names_the_parent_of_the_per_user_cache(monkeypatch, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)                 # like /var/tmp
    monkeypatch.setenv("LIBGUESTFS_CACHEDIR", str(shared))
    g = _handle()
    assert g.get_cachedir() == str(shared)
    assert g.get_cachedir_in_use() == str(shared / (".guestkit-%d" % os.geteuid()))
    g.close()


def test_cachedir_precedence(monkeypatch, tmp_path):
    a, b, c = (tmp_path / n for n in "abc")
    monkeypatch.setenv("TMPDIR", str(c))
    assert _handle().get_cachedir() == str(c)
    monkeypatch.setenv("LIBGUESTFS_CACHEDIR", str(b))
    assert _handle().get_cachedir() == str(b)
    monkeypatch.setenv("GUESTKIT_CACHEDIR", str(a))
    g = _handle()
    assert g.get_cachedir() == str(a)
    g.set_cachedir(str(tmp_path))
    assert g.get_cachedir() == str(tmp_path)
    assert g.get_cachedir_in_use() == str(tmp_path / (".guestkit-%d" % os.geteuid()))


def test_defaults_without_any_variable():
    g = _handle()
    assert g.get_cachedir() == "/var/tmp" and g.get_tmpdir() == "/tmp"
    assert g.get_cachedir_in_use() == "/var/tmp/.guestkit-%d" % os.geteuid()


def test_tmpdir_precedence_and_use(monkeypatch):
    import pathlib
    import tempfile
    # short paths (a handle's directory must hold unix sockets): not pytest's tmp_path
    top = pathlib.Path(tempfile.mkdtemp(prefix="gkenv", dir="/tmp"))
    a, b = top / "a", top / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv("TMPDIR", str(b))
    assert _handle().get_tmpdir() == str(b)
    monkeypatch.setenv("LIBGUESTFS_TMPDIR", str(a))
    g = _handle()
    assert g.get_tmpdir() == str(a)
    # the handle's private directory is made there, mode 0700
    d = g._handle_tmpdir()
    assert os.path.dirname(d) == str(a) and stat.S_IMODE(os.stat(d).st_mode) == 0o700
    g.close()
    assert not os.path.exists(d)
    import shutil
    shutil.rmtree(top)


def test_hv_old_and_new_names(monkeypatch):
    monkeypatch.setenv("LIBGUESTFS_QEMU", "/opt/old-qemu")
    assert _handle().get_hv() == "/opt/old-qemu"
    monkeypatch.setenv("LIBGUESTFS_HV", "/opt/hv")
    assert _handle().get_hv() == "/opt/hv"
    monkeypatch.setenv("GUESTKIT_HV", "/opt/gk")
    assert _handle().get_hv() == "/opt/gk"


def test_libguestfs_variables(monkeypatch):
    monkeypatch.setenv("LIBGUESTFS_APPEND", "foo=bar")
    monkeypatch.setenv("LIBGUESTFS_MEMSIZE", "700")
    monkeypatch.setenv("LIBGUESTFS_TRACE", "1")
    monkeypatch.setenv("LIBGUESTFS_DEBUG", "1")
    monkeypatch.setenv("LIBGUESTFS_ATTACH_METHOD", "appliance")
    g = _handle()
    assert g.get_append() == "foo=bar" and g.get_memsize() == 700
    assert g.get_trace() == 1 and g.get_verbose() == 1
    assert g.get_backend() == "direct"          # "appliance" is the old name of direct
    monkeypatch.setenv("LIBGUESTFS_ATTACH_METHOD", "libvirt")
    assert _handle().get_backend() == "libvirt"
    monkeypatch.setenv("LIBGUESTFS_BACKEND", "direct")
    assert _handle().get_backend() == "direct"  # the new name wins over the old one
    monkeypatch.setenv("LIBGUESTFS_MEMSIZE", "lots")
    with pytest.raises(guestkit.Error) as e:
        _handle()
    assert "memsize" in str(e.value) and "lots" in str(e.value)


def test_environment_false_ignores_every_variable(monkeypatch, tmp_path):
    for var in ("GUESTKIT_CACHEDIR", "LIBGUESTFS_CACHEDIR", "LIBGUESTFS_TMPDIR"):
        monkeypatch.setenv(var, str(tmp_path))
    monkeypatch.setenv("LIBGUESTFS_QEMU", "/opt/old-qemu")
    monkeypatch.setenv("GUESTKIT_BACKEND_SETTINGS", "force_tcg")
    monkeypatch.setenv("LIBGUESTFS_MEMSIZE", "700")
    g = _handle(environment=False)
    assert g.get_memsize() == 512 and g.get_backend_settings() == []
    assert g._config.get("hv") is None and g._config.get("cachedir") is None


def test_supermin_kernel_variables(monkeypatch, tmp_path):
    k = tmp_path / "vmlinuz-9.9.9-test"
    k.write_bytes(b"not really a kernel")
    monkeypatch.setenv("SUPERMIN_KERNEL", str(k))
    assert builder.find_kernel() == (str(k), "9.9.9-test")
    monkeypatch.setenv("SUPERMIN_KERNEL_VERSION", "1.2.3")
    assert builder.find_kernel() == (str(k), "1.2.3")
    monkeypatch.setenv("GUESTKIT_KERNEL", str(tmp_path / "missing"))
    with pytest.raises(builder.ApplianceError) as e:
        builder.find_kernel()
    assert "GUESTKIT_KERNEL" in str(e.value) and "no such file" in str(e.value)


def test_cache_must_be_private(tmp_path):
    """The inner cache directory is created 0700; one that another user could write to, or
    that another user owns, is refused (it could hold a planted appliance)."""
    base = tmp_path / "base"
    base.mkdir()
    os.chmod(base, 0o1777)
    inner = builder.user_cache(str(base))
    os.makedirs(inner, mode=0o700)
    builder.check_private_dir(inner)            # fine
    os.chmod(inner, 0o777)
    with pytest.raises(builder.ApplianceError) as e:
        builder.check_private_dir(inner)
    assert "not a private directory" in str(e.value)
    if os.geteuid() == 0:
        os.chmod(inner, 0o700)
        os.chown(inner, 12345, 12345)
        with pytest.raises(builder.ApplianceError):
            builder.check_private_dir(inner)
