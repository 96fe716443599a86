"""Handle properties, environment variables and backend settings (no VM)."""

import pytest

import guestkit


def test_defaults_and_setters():
    g = guestkit.GuestFS(environment=False)
    assert g.get_memsize() == 512 and g.get_smp() == 1 and g.get_autosync() == 1
    assert g.get_backend() == "direct" and g.get_trace() == 0
    g.set_memsize(1024)
    g.set_trace(True)
    g.set_identifier("web")
    assert g.get_memsize() == 1024 and g.get_trace() == 1 and g.get_identifier() == "web"
    with pytest.raises(guestkit.Error):
        g.set_memsize(16)
    g.close()


def test_environment_guestkit_wins_over_libguestfs(monkeypatch):
    monkeypatch.setenv("LIBGUESTFS_MEMSIZE", "900")
    monkeypatch.setenv("LIBGUESTFS_BACKEND", "libvirt:qemu:///system")
    monkeypatch.setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg:machine=pc")
    monkeypatch.setenv("LIBGUESTFS_DEBUG", "1")
    g = guestkit.GuestFS()
    assert g.get_memsize() == 900 and g.get_verbose() == 1
    assert g.get_backend() == "libvirt:qemu:///system"
    assert g.get_backend_settings() == ["force_tcg", "machine=pc"]
    assert g.get_backend_setting("machine") == "pc"
    assert g.get_backend_setting("force_tcg") == "1"
    g.close()
    monkeypatch.setenv("GUESTKIT_MEMSIZE", "1100")
    monkeypatch.setenv("GUESTKIT_BACKEND", "direct")
    g = guestkit.GuestFS()
    assert g.get_memsize() == 1100 and g.get_backend() == "direct"
    g.close()
    g = guestkit.GuestFS(environment=False)
    assert g.get_memsize() == 512 and g.get_backend() == "direct"
    g.close()


def test_backend_settings_api():
    g = guestkit.GuestFS(environment=False)
    g.set_backend_settings(["a", "b=1", "b=2"])
    assert g.get_backend_setting("b") == "2"
    g.set_backend_setting("c", "x")
    assert g.get_backend_setting("c") == "x"
    assert g.clear_backend_setting("b") == 2
    with pytest.raises(guestkit.Error) as e:
        g.get_backend_setting("b")
    assert e.value.errno_name == "ESRCH"
    g.close()


def test_unknown_backend_lists_the_found_ones(tmp_path):
    img = tmp_path / "x.img"
    img.write_bytes(b"\0" * 65536)
    g = guestkit.GuestFS(environment=False)
    g.set_backend("nosuch")
    g.add_drive_opts(str(img), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "nosuch" in str(e.value) and "direct" in str(e.value)
    assert g.is_config() == 1
    g.close()


def test_events_api():
    g = guestkit.GuestFS(environment=False)
    assert guestkit.EVENT_ALL == 0x3FF and guestkit.EVENT_WARNING == 0x200
    assert guestkit.event_to_string(guestkit.EVENT_CLOSE | guestkit.EVENT_TRACE) == \
        "close,trace"
    seen = []
    eh = g.set_event_callback(lambda *a: seen.append(a), guestkit.EVENT_TRACE |
                              guestkit.EVENT_ENTER | guestkit.EVENT_CLOSE)
    assert isinstance(eh, int)
    g.set_trace(1)
    g.get_memsize()
    g.close()
    kinds = [a[0] for a in seen]
    assert guestkit.EVENT_ENTER in kinds and guestkit.EVENT_CLOSE in kinds
    traces = [a[2] for a in seen if a[0] == guestkit.EVENT_TRACE]
    assert b"guestkit: trace: get_memsize" in traces
    assert b"guestkit: trace: get_memsize = 512" in traces
    assert all(isinstance(a[2], bytes) and isinstance(a[3], list) for a in seen)
    with pytest.raises(ValueError):
        guestkit.GuestFS().set_event_callback(lambda *a: None, 0x10000)


def test_with_statement_closes():
    with guestkit.GuestFS() as g:
        g.set_memsize(600)
    with pytest.raises(guestkit.ClosedHandle):
        g.get_memsize()


def test_positional_arguments_by_name_and_opts_alias(tmp_path):
    img = tmp_path / "x.img"
    img.write_bytes(b"\0" * 65536)
    g = guestkit.GuestFS()
    g.add_drive_opts(filename=str(img), format="raw", readonly=1)
    g.add_drive(str(img), format="raw", readonly=True, label="two")
    assert g.list_disk_labels() == [("two", "/dev/sdb")]
    g.close()


def test_get_hv_needs_no_backend(monkeypatch):
    """get_hv finds qemu without importing a built-in backend, and says ENOENT (a
    guestkit.Error) when there is none."""
    import subprocess
    import sys
    code = ("import sys, guestkit\n"
            "g = guestkit.GuestFS(environment=False)\n"
            "print(g.get_hv())\n"
            "print(sorted(m for m in sys.modules if m.startswith('guestkit.backends.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] and "guestkit.backends.direct" not in out[1]
    assert "guestkit.backends.libvirt" not in out[1]
    from guestkit.backends import hypervisor
    monkeypatch.setattr(hypervisor, "QEMU_NAMES", ("guestkit-no-such-qemu",))
    g = guestkit.GuestFS(environment=False)
    with pytest.raises(guestkit.Error) as e:
        g.get_hv()
    assert e.value.errno_name == "ENOENT" and "qemu is not installed" in str(e.value)
    g.set_hv("/opt/qemu")
    assert g.get_hv() == "/opt/qemu"
    g.close()
