"""Snapshot keys and the checks a snapshot passes before it is used (backends/snapshot.py):
anything that could make a restored appliance differ from a cold boot changes the key, and
a snapshot directory whose metadata does not match its key or its files is never used."""

import json
import os

import pytest

from guestkit.backends import snapshot


class App:
    def __init__(self, key, path="/nonexistent"):
        self.key = key
        self.path = path


def _qemu(tmp_path, name="qemu", content=b"#!/bin/sh\n"):
    p = tmp_path / name
    p.write_bytes(content)
    return str(p)


def test_the_key_follows_appliance_qemu_and_machine(tmp_path):
    q = _qemu(tmp_path)
    base = snapshot.snapshot_key(App("a1"), q, ["-m", "1024M", "-append", "x"])
    assert base == snapshot.snapshot_key(App("a1"), q, ["-m", "1024M", "-append", "x"])
    assert base != snapshot.snapshot_key(App("a2"), q, ["-m", "1024M", "-append", "x"])
    assert base != snapshot.snapshot_key(App("a1"), q, ["-m", "1280M", "-append", "x"])
    assert base != snapshot.snapshot_key(App("a1"), q, ["-m", "1024M", "-append", "y"])
    other = _qemu(tmp_path, "qemu2")
    assert base != snapshot.snapshot_key(App("a1"), other, ["-m", "1024M", "-append", "x"])
    # the same path rewritten (a qemu upgrade): size/mtime/inode change the key
    os.unlink(q)
    _qemu(tmp_path, content=b"#!/bin/sh\n# upgraded\n")
    assert base != snapshot.snapshot_key(App("a1"), q, ["-m", "1024M", "-append", "x"])


def _write(tmp_path, name, **meta):
    d = tmp_path / "snapshots" / name
    d.mkdir(parents=True)
    (d / "ram").write_bytes(b"r" * 4096)
    (d / "state").write_bytes(b"s" * 100)
    m = {"format": snapshot.FORMAT, "key": name, "cmdline": "quiet", "ram_size": 4096,
         "state_size": 100}
    m.update(meta)
    (d / "meta.json").write_text(json.dumps(m))
    return App("a", str(tmp_path))


@pytest.mark.parametrize("meta,usable", [
    ({}, True),
    ({"key": "another"}, False),                # renamed from another key's directory
    ({"format": snapshot.FORMAT + 1}, False),   # made by another guestkit
    ({"ram_size": 8192}, False),                # the RAM file was truncated
    ({"state_size": 99}, False),
    ({"cmdline": None}, False),
])
def test_a_snapshot_is_used_only_when_everything_matches(tmp_path, meta, usable):
    app = _write(tmp_path, "k1", **meta)
    assert (snapshot.find(app, "k1") is not None) == usable


def test_unreadable_metadata_means_no_snapshot(tmp_path):
    app = _write(tmp_path, "k1")
    (tmp_path / "snapshots" / "k1" / "meta.json").write_text("{not json")
    assert snapshot.find(app, "k1") is None
    (tmp_path / "snapshots" / "k1" / "meta.json").write_text("x" * (snapshot.MAX_META + 10))
    assert snapshot.find(app, "k1") is None


def test_obtain_makes_once_and_cleans_up_a_failed_attempt(tmp_path):
    app = App("a", str(tmp_path))
    calls = []

    def make(dest):
        calls.append(dest)
        with open(os.path.join(dest, "ram"), "wb") as f:
            f.write(b"r" * 10)
        with open(os.path.join(dest, "state"), "wb") as f:
            f.write(b"s")
        return {"cmdline": "quiet"}
    snap = snapshot.obtain(app, "k2", make, lambda m: None)
    assert snap is not None and snap.cmdline == "quiet"
    assert snapshot.obtain(app, "k2", make, lambda m: None).path == snap.path
    assert len(calls) == 1

    def broken(dest):
        raise RuntimeError("qemu died")
    with pytest.raises(RuntimeError):
        snapshot.obtain(app, "k3", broken, lambda m: None)
    assert sorted(os.listdir(tmp_path / "snapshots")) == [".failed-k3", ".lock", "k2"]


def test_a_failure_to_make_it_is_remembered(tmp_path):
    """Making a snapshot that fails (qemu cannot run from a RAM file here, say) is not tried
    again on every launch: the next launches fail fast (and boot cold) for a day, unless
    the failure was KVM's (the TCG launch that follows must be able to make it)."""
    app = App("a", str(tmp_path))
    calls = []

    def broken(dest):
        calls.append(1)
        raise RuntimeError("no RAM file for you")
    for _ in range(3):
        with pytest.raises(Exception) as e:
            snapshot.obtain(app, "k4", broken, lambda m: None)
    assert len(calls) == 1
    assert "no RAM file for you" in str(e.value) and "failed" in str(e.value)

    class KVMError(Exception):
        kvm = True

    def kvm_broken(dest):
        calls.append(1)
        raise KVMError("KVM internal error")
    for _ in range(2):
        with pytest.raises(KVMError):
            snapshot.obtain(app, "k5", kvm_broken, lambda m: None)
    assert len(calls) == 3
