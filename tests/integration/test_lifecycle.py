"""Launch, events, and qemu's lifetime tied to the process that started it."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import guestkit
from tests.conftest import make_image


def test_events_during_a_launch(tmp_path):
    img = make_image(tmp_path / "a.img", 16)
    seen = {}

    def cb(ev, eh, buf, arr):
        seen.setdefault(ev, []).append(buf)
    g = guestkit.GuestFS()
    g.set_verbose(True)
    g.set_event_callback(cb, guestkit.EVENT_ALL)
    g.add_drive_opts(img, format="raw")
    g.launch()
    assert g.is_ready() == 1 and g.get_state() == 2
    assert g.get_pid() > 0
    g.shutdown()
    assert g.is_ready() == 0
    g.close()
    assert guestkit.EVENT_LAUNCH_DONE in seen and guestkit.EVENT_CLOSE in seen
    assert guestkit.EVENT_SUBPROCESS_QUIT in seen and guestkit.EVENT_ENTER in seen
    lib = b"".join(seen[guestkit.EVENT_LIBRARY])
    assert b"qemu command line" in lib and b"launch took" in lib
    console = b"".join(seen[guestkit.EVENT_APPLIANCE])
    assert b"Linux version" in console          # the kernel's banner, verbose boot


def test_kvm_fallback_is_a_warning(tmp_path):
    """Without force_tcg the direct backend probes KVM; here it does not work, so a
    WARNING event says the appliance runs under TCG (the verdict is cached)."""
    if os.path.exists("/dev/kvm"):
        from guestkit.backends import kvm
        works, _, _ = kvm.probe("qemu-system-x86_64", str(tmp_path))
    else:
        works = False
    img = make_image(tmp_path / "a.img", 16)
    warnings = []
    g = guestkit.GuestFS(environment=False)
    g.set_event_callback(lambda ev, eh, buf, arr: warnings.append(buf),
                         guestkit.EVENT_WARNING)
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.close()
    if works:
        assert not warnings
    else:
        assert warnings and b"TCG" in warnings[0]


def test_qemu_dies_with_its_parent(tmp_path):
    img = make_image(tmp_path / "a.img", 16)
    script = textwrap.dedent("""
        import sys, time, guestkit
        g = guestkit.GuestFS()
        g.add_drive_opts(%r, format="raw")
        g.launch()
        print(g.get_pid(), flush=True)
        time.sleep(600)
    """ % img)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    qemu = int(p.stdout.readline())
    os.kill(qemu, 0)
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(qemu, 0)
        except ProcessLookupError:
            return
        # a zombie reparented to init still answers kill(0); check its state
        try:
            with open("/proc/%d/stat" % qemu) as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.1)
    pytest.fail("qemu %d outlived the process that launched it" % qemu)


def test_launch_timeout_quotes_the_console(tmp_path):
    img = make_image(tmp_path / "a.img", 16)
    g = guestkit.GuestFS()
    g.set_append("rdinit=/nonexistent")        # the kernel panics: nothing connects
    g.set_backend_settings(["force_tcg", "launch_timeout=60"])
    g.add_drive_opts(img, format="raw")
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert time.monotonic() - t0 < 60
    assert "console" in str(e.value) and ("panic" in str(e.value).lower() or
                                          "init" in str(e.value))
    g.close()


def _running(pid):
    """PID is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone_within(pid, seconds):
    deadline = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_dropped_handle_stops_its_appliance(tmp_path):
    """As with python-guestfs: rebinding the name of a launched handle in a loop over
    images (never calling close) stops each appliance at once, so the image's write lock
    is free for the next writable launch; a handle caught in a reference cycle (an event
    callback that uses it) goes at the next garbage collection."""
    import gc
    img = make_image(tmp_path / "a.img", 16)
    pids = []
    for _ in range(6):                      # the same image, writable, every time
        g = guestkit.GuestFS()
        g.add_drive_opts(img, format="raw")
        g.launch()
        pids.append(g.get_pid())
        g = None
        assert _gone_within(pids[-1], 1.0), "qemu %d outlived its dropped handle" % pids[-1]
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="raw")
    closed = []
    g.set_event_callback(lambda *a, h=g: closed.append(h.is_ready()), guestkit.EVENT_CLOSE)
    g.launch()
    pid = g.get_pid()
    del g
    gc.collect()
    assert _gone_within(pid, 1.0) and len(closed) == 1
