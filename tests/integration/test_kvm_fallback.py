"""KVM that breaks after guestkit's probe (the firmware runs, then qemu aborts, pauses on
"KVM internal error", or the kernel never shows up): one launch still succeeds, under TCG,
in about the time a TCG launch takes; the verdict is cached so the next launch does not try
KVM; force_kvm fails fast with the reason instead.  The broken hosts are simulated by the
qemu wrapper of tests/fake_kvm.py given as the hypervisor."""

import json
import os
import time

import pytest

import guestkit
from guestkit.backends import kvm
from tests.conftest import make_image
from tests.fake_kvm import calls, make_wrapper

if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    pytest.fail("/dev/kvm is not accessible: the KVM fallback tests need it (the wrapper "
                "only pretends KVM fails, guestkit's probe checks the device first)",
                pytrace=False)


def _launch(img, hv=None, settings=(), events=None):
    g = guestkit.GuestFS(environment=False)
    if hv:
        g.set_hv(hv)
    # these tests count qemu runs: a snapshot launch adds the snapshot's own boot and the
    # restore, so boot cold (test_snapshot_launch.py covers snapshots)
    g.set_backend_settings(list(settings) + ["snapshot=off"])
    if events is not None:
        g.set_event_callback(lambda ev, eh, buf, arr: events.append(buf),
                             guestkit.EVENT_WARNING)
    g.add_drive_opts(img, format="raw")
    t0 = time.monotonic()
    g.launch()
    return g, time.monotonic() - t0


@pytest.fixture(scope="module")
def tcg_time(tmp_path_factory):
    """How long a plain TCG launch takes here, now (the yardstick)."""
    img = make_image(tmp_path_factory.mktemp("tcg") / "d.img", 16)
    _launch(img, settings=["force_tcg"])[0].close()         # warm: appliance built
    g, took = _launch(img, settings=["force_tcg"])
    g.close()
    return took


@pytest.mark.parametrize("mode,cause,bound", [
    ("exit", b"KVM internal error", 3.0),
    ("hang", b"KVM internal error", 3.0),
    ("silent", b"no sign of the kernel", 8.0),
])
def test_late_kvm_failure_falls_back_to_tcg(tmp_path, tcg_time, mode, cause, bound):
    hv = make_wrapper(tmp_path / "hv", mode)
    img = make_image(tmp_path / "d.img", 16)
    warnings = []
    g, took = _launch(img, hv=hv, events=warnings)
    cache = g.get_cachedir_in_use()
    try:
        assert g._backend.accel == "tcg"
        g.mkfs("ext4", "/dev/sda")
        assert g.vfs_type("/dev/sda") == "ext4"
    finally:
        g.close()
    # the probe said yes, the launch tried KVM, then TCG
    assert calls(tmp_path / "hv") == [("kvm", "probe"), ("kvm", "launch"), ("tcg", "launch")]
    assert took <= tcg_time + bound, (took, tcg_time)
    fell_back = [w for w in warnings if b"KVM failed" in w]
    assert len(fell_back) == 1 and cause in fell_back[0] and b"TCG" in fell_back[0]
    # the verdict is cached: the next launch goes straight to TCG
    v = kvm.cached_verdict(hv, cache)
    assert v is not None and v["works"] is False and cause.decode() in v["reason"]
    assert ("retry_at" in v) == (mode == "silent")     # silence alone is re-tested later
    g, _ = _launch(img, hv=hv)
    g.close()
    assert calls(tmp_path / "hv")[3:] == [("tcg", "launch")]


def test_force_kvm_fails_fast_with_the_reason(tmp_path):
    hv = make_wrapper(tmp_path / "hv", "hang")
    img = make_image(tmp_path / "d.img", 16)
    g = guestkit.GuestFS(environment=False)
    g.set_hv(hv)
    g.set_backend_settings(["force_kvm"])
    g.add_drive_opts(img, format="raw")
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert time.monotonic() - t0 < 15            # not the 300 s launch timeout
    msg = str(e.value)
    assert "the appliance kernel did not boot" in msg and "KVM internal error" in msg
    assert "Likely cause: KVM cannot run the appliance" in msg
    assert calls(tmp_path / "hv") == [("kvm", "launch")]      # no probe, no fallback
    assert g.is_config() == 1
    # silence alone fails a force_kvm launch only when asked to (kvm_timeout)
    make_wrapper(tmp_path / "hv", "silent")
    g.set_backend_settings(["force_kvm", "kvm_timeout=2", "launch_timeout=30"])
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert 2 <= time.monotonic() - t0 < 10
    assert "no sign of the kernel within 2 s under KVM" in str(e.value)
    assert kvm.cached_verdict(hv, g.get_cachedir_in_use()) is None
    g.close()


def test_a_fixed_host_is_probed_again(tmp_path):
    """The verdict is keyed by the qemu binary (and host kernel, /dev/kvm): a changed qemu
    is probed afresh."""
    hv = make_wrapper(tmp_path / "hv", "exit")
    cache = guestkit.GuestFS(environment=False).get_cachedir_in_use()
    kvm.record_failure(hv, cache, "test")
    assert kvm.cached_verdict(hv, cache)["works"] is False
    time.sleep(0.01)
    os.utime(hv)                                 # "a new qemu"
    assert kvm.cached_verdict(hv, cache) is None
    kvm.record_failure(hv, cache, "test", retry_after=-1)
    assert kvm.cached_verdict(hv, cache) is None         # expired: probe again


def test_a_failure_that_is_not_kvms_is_not_blamed_on_kvm(tmp_path):
    """qemu-kvm's own error about a drive (whose path says kvm) fails the launch with the
    real cause: no TCG retry, no verdict recorded against KVM."""
    hv = make_wrapper(tmp_path / "hv", "baddrive")
    g = guestkit.GuestFS(environment=False)
    g.set_hv(hv)
    g.set_backend_settings(["snapshot=off"])        # count one boot (see _launch)
    g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    msg = str(e.value)
    assert "qemu did not start the appliance" in msg
    assert "Likely cause: qemu cannot open a file it was given" in msg
    assert calls(tmp_path / "hv") == [("kvm", "probe"), ("kvm", "launch")]
    assert kvm.cached_verdict(hv, g.get_cachedir_in_use())["works"] is True   # the probe's
    g.close()
