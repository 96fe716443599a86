"""Handle properties and old names of them (no appliance): config's checks, get/set_qemu,
get/set_path, get/set_direct, get/set_attach_method, get_sockdir, parse_environment(_list),
c_pointer, wait_ready, kill_subprocess, and the DeprecationWarning deprecated actions give,
compared with python-guestfs where it answers without an appliance."""

import os
import subprocess
import warnings

import pytest

import guestkit


@pytest.fixture
def g():
    h = guestkit.GuestFS(environment=False)
    yield h
    h.close()


def test_config_checks_and_records(g):
    g.config("-cpu", "max")
    g.config("-no-hpet", None)
    assert g._hv_params() == [("-cpu", "max"), ("-no-hpet", None)]
    for bad in ("nodash", "-", "-kernel", "-drive", "--initrd", "-m", "-qmp"):
        with pytest.raises(guestkit.Error) as e:
            g.config(bad, "x")
        assert e.value.errno_name == "EINVAL", bad


def test_launch_refuses_parameters_a_backend_cannot_pass(g):
    g.config("-cpu", "max")
    g.set_backend("remote:unix:/nonexistent")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert e.value.errno_name == "ENOTSUP"
    assert g.is_config()


def test_qemu_is_hv(g):
    with pytest.warns(DeprecationWarning, match=r"use GuestFS.set_hv\(\) instead"):
        g.set_qemu("/bin/true")
    assert g.get_hv() == "/bin/true"
    with pytest.warns(DeprecationWarning):
        assert g.get_qemu() == "/bin/true"
    with pytest.warns(DeprecationWarning):
        g.set_qemu(None)
    with pytest.warns(DeprecationWarning):
        assert g.get_qemu() == g.get_hv() and g.get_hv() != "/bin/true"


def test_path(g, monkeypatch):
    assert g.get_path() == g.get_cachedir_in_use()
    g.set_path("/opt/appliance")
    assert g.get_path() == "/opt/appliance"
    g.set_path(None)
    h = guestkit.GuestFS()
    try:
        monkeypatch.setenv("LIBGUESTFS_PATH", "/from/env")
        assert h.get_path() == "/from/env"
    finally:
        h.close()


def test_direct_and_attach_method(g):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert g.get_direct() == 0
        g.set_direct(1)
        assert g.get_direct() == 1
        assert g.get_attach_method() == "appliance"
        g.set_attach_method("libvirt")
        assert g.get_backend() == "libvirt" and g.get_attach_method() == "libvirt"
        g.set_attach_method("appliance")
        assert g.get_backend() == "direct"


def test_sockdir(g, tmp_path):
    g.set_tmpdir(str(tmp_path))
    assert g.get_sockdir() == str(tmp_path)
    long = tmp_path / ("x" * 90)
    long.mkdir()
    g.set_tmpdir(str(long))
    assert g.get_sockdir() in (os.environ.get("XDG_RUNTIME_DIR"), "/tmp")


def test_parse_environment_list(g):
    g.parse_environment_list(["LIBGUESTFS_MEMSIZE=700", "LIBGUESTFS_DEBUG=1", "junk",
                              "LIBGUESTFS_BACKEND=libvirt", "GUESTKIT_TRACE=1",
                              "LIBGUESTFS_BACKEND_SETTINGS=force_tcg:x=1",
                              "LIBGUESTFS_PATH=/p"])
    assert g.get_memsize() == 700 and g.get_verbose() == 1 and g.get_trace() == 1
    assert g.get_backend() == "libvirt"
    assert g.get_backend_settings() == ["force_tcg", "x=1"]
    assert g.get_path() == "/p"
    g.parse_environment_list([])                       # nothing set: nothing changes
    assert g.get_memsize() == 700


def test_parse_environment(g, monkeypatch):
    monkeypatch.setenv("LIBGUESTFS_MEMSIZE", "900")
    monkeypatch.setenv("LIBGUESTFS_ATTACH_METHOD", "appliance")
    g.set_backend("libvirt")
    g.parse_environment()
    assert g.get_memsize() == 900
    assert g.get_backend() == "direct"


def test_c_pointer_wait_ready_kill_subprocess(g):
    with pytest.raises(guestkit.Error) as e:
        g.c_pointer()
    assert e.value.errno_name == "ENOTSUP"
    with pytest.warns(DeprecationWarning, match=r"do not use GuestFS.wait_ready\(\)"):
        with pytest.raises(guestkit.Error):
            g.wait_ready()                      # before launch, as libguestfs
    with pytest.warns(DeprecationWarning, match="shutdown"):
        g.kill_subprocess()                     # nothing runs: nothing to do
    assert g.is_config()


def test_deprecated_actions_warn_like_python_guestfs(g):
    r = subprocess.run(["/usr/bin/python3", "-c",
                        "import guestfs, warnings\n"
                        "g = guestfs.GuestFS(environment=False)\n"
                        "with warnings.catch_warnings(record=True) as w:\n"
                        "    warnings.simplefilter('always')\n"
                        "    g.get_qemu(); g.get_attach_method()\n"
                        "print('|'.join(str(x.message) for x in w))\n"],
                       capture_output=True, text=True)
    if r.returncode != 0 and "No module named" in r.stderr:
        pytest.fail("python3-guestfs (the oracle) is not installed for /usr/bin/python3",
                    pytrace=False)
    assert r.returncode == 0, r.stderr
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g.get_qemu()
        g.get_attach_method()
    assert "|".join(str(x.message) for x in w) == r.stdout.strip()
