"""Snapshot launches of the direct backend (backends/snapshot.py) and hot-plugging.

Every launch here restores the saved appliance unless a test turns snapshots off; the
tests check what a restore must not change (drive names, per-appliance randomness, the
clock) and what must make it boot cold (another qemu, a damaged snapshot)."""

import glob
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

import guestkit
from guestkit.daemon.contract import disk_letters

from tests.conftest import make_image


def _marker(i):
    return b"guestkit-drive-%03d" % i


def _make_drives(d, n):
    """N small images, each starting with its own marker: raw and qcow2 alternate."""
    paths = []
    for i in range(n):
        raw = os.path.join(d, "m%d.raw" % i)
        with open(raw, "wb") as f:
            f.write(_marker(i))
            f.truncate(1 << 20)
        if i % 2:
            q = raw[:-4] + ".qcow2"
            subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, q],
                           check=True)
            os.unlink(raw)
            paths.append((q, "qcow2"))
        else:
            paths.append((raw, "raw"))
    return paths


def _handle(paths, snapshot=True, **props):
    g = guestkit.GuestFS()
    if not snapshot:
        g.set_backend_setting("snapshot", "off")
    for k, v in props.items():
        getattr(g, "set_" + k)(v)
    for i, (p, fmt) in enumerate(paths):
        # every third drive read-only, through an overlay
        g.add_drive_opts(p, format=fmt, readonly=(i % 3 == 2))
    return g


def _restored(g):
    restored = bool((g._client.hello or {}).get("restored"))
    assert restored == (g._backend.cold_reason is None), g._backend.cold_reason
    return restored


def _check_names(g, n):
    assert g.list_devices() == ["/dev/sd" + disk_letters(i) for i in range(n)]
    for i in range(n):
        dev = "/dev/sd" + disk_letters(i)
        assert g.pread_device(dev, len(_marker(i)), 0) == _marker(i), dev


@pytest.fixture(scope="module")
def drives30(tmp_path_factory):
    return _make_drives(str(tmp_path_factory.mktemp("snapdrives")), 30)


@pytest.fixture(scope="module")
def snapshots_dir():
    """The snapshot directory of the appliance this host's launches use (made by a first
    launch, which may be the one making the snapshot)."""
    g = guestkit.GuestFS()
    g.add_drive_scratch(1 << 20)
    g.launch()
    path = os.path.join(g._appliance.path, "snapshots")
    g.close()
    return path


def test_drive_names_after_restore_equal_a_cold_boot(drives30, snapshots_dir):
    """1, 4, 26 and 30 drives (raw and qcow2, some read-only overlays) get the names and
    contents they get in a cold boot: /dev/sda is the first drive added, sdz the 26th,
    sdaa the 27th."""
    for n in (1, 4, 26, 30):
        g = _handle(drives30[:n])
        g.launch()
        try:
            assert _restored(g), g._backend.cold_reason
            _check_names(g, n)
        finally:
            g.close()
    g = _handle(drives30, snapshot=False)
    g.launch()
    try:
        assert not _restored(g)
        _check_names(g, 30)
    finally:
        g.close()


def _fresh_identity(tmp_path, name):
    """A restored appliance's randomness and clock: (new ext4 UUID, file mtime, host time
    before the launch)."""
    g = guestkit.GuestFS()
    g.add_drive_scratch(32 << 20)
    before = time.time()
    g.launch()
    try:
        assert _restored(g), g._backend.cold_reason
        g.mkfs("ext4", "/dev/sda")
        uuid = g.vfs_uuid("/dev/sda")
        g.mount("/dev/sda", "/")
        g.touch("/stamp")
        mtime = g.statns("/stamp")["st_mtime_sec"]
        # the clock keeps the host's pace (the kernel was told the TSC's rate, not left to
        # calibrate it on a busy host)
        t0 = time.time()
        time.sleep(4)
        g.touch("/later")
        elapsed = time.time() - t0
        assert abs((g.statns("/later")["st_mtime_sec"] - mtime) - elapsed) < 1.5, elapsed
        return uuid, mtime, before
    finally:
        g.close()


def test_restored_appliances_differ_and_keep_time(tmp_path, snapshots_dir):
    """Two appliances restored from the same snapshot make different random UUIDs (the
    host reseeds the kernel's CRNG: without it both would replay the snapshot's pool), and
    their clocks are the host's, not the snapshot's."""
    u1, m1, t1 = _fresh_identity(tmp_path, "a")
    u2, m2, t2 = _fresh_identity(tmp_path, "b")
    assert u1 != u2
    for mtime, before in ((m1, t1), (m2, t2)):
        assert before - 2 <= mtime <= time.time() + 2, (mtime, before)


def _snapshots(path):
    return sorted(n for n in os.listdir(path) if not n.startswith("."))


def _with_memsize(path, mb):
    """The snapshots made for appliances of MB megabytes (their RAM file's size)."""
    return [os.path.join(path, k) for k in _snapshots(path)
            if os.stat(os.path.join(path, k, "ram")).st_size == mb << 20]


def test_other_qemu_or_settings_never_use_a_snapshot(tmp_path, snapshots_dir):
    """A snapshot is keyed by the qemu binary and the machine settings: another qemu
    binary or another memory size makes (and then reuses) its own."""
    before = set(_snapshots(snapshots_dir))
    qemu = str(tmp_path / "qemu-wrapper")     # another binary as far as guestkit can tell
    with open(qemu, "w") as f:
        f.write("#!/bin/sh\nexec %s \"$@\"\n" % shutil.which("qemu-system-x86_64"))
    os.chmod(qemu, 0o755)
    made = []
    for hv, mem in ((qemu, None), (None, 704)):
        used = []
        for _ in range(2):
            g = guestkit.GuestFS()
            if hv:
                g.set_hv(hv)
            if mem:
                g.set_memsize(mem)
            g.add_drive_scratch(1 << 20)
            g.launch()
            assert _restored(g), g._backend.cold_reason
            used.append(os.path.basename(g._backend.snapshot_path))
            g.close()
        # one new snapshot, reused the second time (other tests may make theirs meanwhile)
        assert used[0] == used[1] and used[0] not in before and used[0] not in made, used
        made.append(used[0])
    metas = [json.load(open(os.path.join(snapshots_dir, k, "meta.json"))) for k in made]
    assert metas[0]["key"] != metas[1]["key"]
    for k in made:                            # leave the cache as it was
        shutil.rmtree(os.path.join(snapshots_dir, k))


def test_a_damaged_snapshot_falls_back_to_a_cold_boot(snapshots_dir):
    """Corrupting a snapshot's saved state: the launch still works (cold), warns why,
    removes the snapshot, and the next launch makes a good one."""
    def launch():
        g = guestkit.GuestFS()
        g.set_memsize(672)                    # a key of its own: other tests are untouched
        g.add_drive_scratch(1 << 20)
        log = []
        g.set_event_callback(lambda ev, eh, buf, arr: log.append(buf), guestkit.EVENT_WARNING)
        g.launch()
        restored = _restored(g)
        assert g.list_devices() == ["/dev/sda"]
        g.close()
        return restored, b"".join(log).decode("utf-8", "replace")

    launch()                                  # makes the snapshot if it is not there
    mine = _with_memsize(snapshots_dir, 672)
    assert len(mine) == 1
    path = mine[0]
    with open(os.path.join(path, "state"), "r+b") as f:
        f.seek(64)
        f.write(b"\xff" * 4096)
    restored, log = launch()
    assert not restored
    assert "did not restore" in log, log[-2000:]
    assert not os.path.exists(path)
    restored, _ = launch()                    # a new snapshot, restored
    restored, _ = launch()
    assert restored
    shutil.rmtree(path, ignore_errors=True)


def test_concurrent_launches_while_the_snapshot_is_made(snapshots_dir):
    """Four handles launching at once with settings no snapshot exists for yet: one makes
    it, the others wait for it; all four work."""
    for old in _with_memsize(snapshots_dir, 656):
        shutil.rmtree(old)
    results, errors = [], []

    def one():
        try:
            g = guestkit.GuestFS()
            g.set_memsize(656)
            g.add_drive_scratch(1 << 20)
            g.launch()
            results.append((_restored(g), g.list_devices()))
            g.close()
        except Exception as e:              # noqa: B902 - reported below
            errors.append(e)
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    assert [r[1] for r in results] == [["/dev/sda"]] * 4
    assert all(r[0] for r in results)
    mine = _with_memsize(snapshots_dir, 656)
    assert len(mine) == 1
    shutil.rmtree(mine[0])


def test_hotplug_add_read_remove(tmp_path, snapshots_dir):
    """add_drive after launch (with a label) plugs the drive into the running appliance:
    the next /dev/sdX and /dev/disk/guestfs/LABEL; remove_drive refuses while it is
    mounted and unplugs it afterwards; a freed name is used again."""
    first = make_image(tmp_path / "first.img", 16)
    guest = make_image(tmp_path / "guest.img", 64)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "hot", guest], check=True)
    g = guestkit.GuestFS()
    g.add_drive_opts(first, format="raw", label="first")
    g.launch()
    try:
        with pytest.raises(guestkit.Error, match="needs a label"):
            g.add_drive_opts(guest, format="raw")
        for _ in range(2):
            g.add_drive_opts(guest, format="raw", label="hot", readonly=True)
            assert g.list_devices() == ["/dev/sda", "/dev/sdb"]
            assert dict(g.list_disk_labels()) == {"first": "/dev/sda", "hot": "/dev/sdb"}
            assert g.vfs_label("/dev/disk/guestfs/hot") == "hot"
            g.mount("/dev/disk/guestfs/hot", "/")
            g.write("/written", b"to the overlay")
            with pytest.raises(guestkit.Error, match="in use.*mounted") as e:
                g.remove_drive("hot")
            assert e.value.errno_name == "EBUSY"
            assert g.cat("/written") == "to the overlay"
            g.umount_all()
            g.remove_drive("hot")
            assert g.list_devices() == ["/dev/sda"]
            assert dict(g.list_disk_labels()) == {"first": "/dev/sda"}
        with pytest.raises(guestkit.Error, match="no drive has the label"):
            g.remove_drive("hot")
        # the read-only drive was never written
        out = subprocess.run(["debugfs", "-R", "ls /", guest], capture_output=True,
                             text=True).stdout
        assert "written" not in out
        # a drive from the launch can go too
        g.remove_drive("first")
        assert g.list_devices() == []
    finally:
        g.close()
    assert not glob.glob(str(tmp_path / "*.qcow2"))


def test_an_appliance_outlives_the_thread_that_launched_it(snapshots_dir):
    """qemu dies with its parent (PR_SET_PDEATHSIG), and for Linux the parent is the thread
    that started it: a handle launched in a worker thread must still work once that thread
    has ended (thread pools, fleets)."""
    handles = []
    for settings in ([], ["snapshot=off"]):
        t = threading.Thread(target=lambda s=settings: handles.append(_launched(s)))
        t.start()
        t.join(300)
        time.sleep(0.3)
        assert handles[-1].list_devices() == ["/dev/sda"]
        handles[-1].close()


def _launched(settings):
    g = guestkit.GuestFS()
    g.set_backend_settings(settings)
    g.add_drive_scratch(1 << 20)
    g.launch()
    return g
