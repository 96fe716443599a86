"""Backend discovery through real entry points: a distribution whose plugin cannot be
imported is reported by name and does not stop the others; a plugin that raises during
launch gives an error naming it, and leaves nothing running."""

import os
import subprocess
import sys
import textwrap

import pytest

import guestkit
from guestkit.plugins import discover, distributions


@pytest.fixture
def fake_dists(tmp_path, monkeypatch):
    """Two installed-looking distributions on sys.path (dist-info + modules)."""
    (tmp_path / "raising_backend.py").write_text(textwrap.dedent("""
        from guestkit.backends.base import Backend, LaunchError

        class RaisingBackend(Backend):
            name = "raising"

            def launch(self, appliance, drives, tmpdir):
                raise RuntimeError("the plugin fell over")

            def shutdown(self, graceful=True):
                return None
    """))
    for dist, ep in (("broken_plugin", "broken = no_such_module_anywhere:Backend"),
                     ("raising_plugin", "raising = raising_backend:RaisingBackend")):
        d = tmp_path / ("%s-0.1.dist-info" % dist)
        d.mkdir()
        (d / "METADATA").write_text("Metadata-Version: 2.1\nName: %s\nVersion: 0.1\n" % dist)
        (d / "entry_points.txt").write_text("[guestkit.backends]\n%s\n" % ep)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_broken_plugin_is_reported_and_others_still_work(fake_dists):
    exts, failures = discover()
    assert "direct" in exts and "raising" in exts
    assert "broken" in failures and "no_such_module_anywhere" in failures["broken"]
    assert distributions()["broken"].startswith("broken_plugin")
    g = guestkit.GuestFS()
    g.set_backend("broken")
    g.add_drive_scratch(1 << 20)
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "broken" in str(e.value) and "failed to load" in str(e.value)
    g.close()


def test_plugin_raising_during_launch(fake_dists):
    g = guestkit.GuestFS()
    g.set_backend("raising")
    g.add_drive_scratch(1 << 20)
    with pytest.raises(Exception) as e:
        g.launch()
    assert "raising" in str(e.value) and "fell over" in str(e.value)
    assert g.is_config() == 1
    g.close()


def test_backends_command_lists_them(fake_dists):
    env = dict(os.environ, PYTHONPATH=str(fake_dists))
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "backends"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0
    rows = {line.split()[0]: line for line in p.stdout.splitlines()[1:]}
    assert "yes" in rows["direct"] and "guestkit" in rows["direct"]
    assert p.stdout.split()[:6] == ["BACKEND", "DISTRIBUTION", "RUNS", "HOTPLUG", "SNAPSHOT",
                                    "NOTE"]
    # name, "guestkit", version, runs, hot-plug, snapshot
    assert rows["direct"].split()[4:6] == ["yes", "yes"]
    assert rows["libvirt"].split()[4:6] == ["yes", "no"]
    assert "snapshot: not implemented" in rows["libvirt"]
    assert "failed to load" in rows["broken"]
    assert "raising_plugin" in rows["raising"]
