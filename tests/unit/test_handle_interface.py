"""The handle's internal interface (guestkit/handle.py): library code and backends read its
state through properties and change it only through its methods."""

import os
import pathlib
import re

import pytest

import guestkit
from guestkit.images import Drive
from guestkit.handle import MAX_DRIVES, STATE_CONFIG, STATE_DEAD, STATE_READY

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_drives_are_read_only_and_added_all_or_none(tmp_path):
    g = guestkit.GuestFS(environment=False)
    img = tmp_path / "a.img"
    img.write_bytes(b"\0" * 65536)
    g.add_drive_opts(str(img), format="raw", label="one")
    assert isinstance(g._drives, tuple) and [d.label for d in g._drives] == ["one"]
    with pytest.raises(AttributeError):
        g._drives = []
    g._add_drives([Drive(str(img), format="raw"), Drive(str(img), format="raw")])
    assert len(g._drives) == 3
    with pytest.raises(guestkit.Error):
        g._add_drives([Drive(str(img), format="raw")] * (MAX_DRIVES - 2))
    assert len(g._drives) == 3                            # none of them added
    assert g.list_disk_labels() == [("one", "/dev/sda")]
    g.close()


def test_state_and_appliance_pieces():
    g = guestkit.GuestFS(environment=False)
    assert g._state == STATE_CONFIG and g._backend is None and g._client is None
    for name in ("_state", "_backend", "_client", "_appliance", "_closed"):
        with pytest.raises(AttributeError):
            setattr(g, name, None)
    backend, client = object(), object()
    g._attach(appliance="app", backend=backend)
    g._attach(client=client)
    assert (g._appliance, g._backend, g._client) == ("app", backend, client)
    g._set_state(STATE_READY)
    assert g.is_ready() == 1
    assert g._detach() == (client, backend)
    assert g._backend is None and g._client is None
    g._set_state(STATE_DEAD)
    assert g.get_state() == 0


def test_mark_closed_removes_the_handle_directory():
    g = guestkit.GuestFS(environment=False)
    d = g._handle_tmpdir()
    assert os.path.isdir(d)
    g.close()
    assert g._closed and not os.path.exists(d)
    with pytest.raises(guestkit.ClosedHandle):
        g.get_memsize()


def test_module_state_is_per_handle():
    a, b = guestkit.GuestFS(environment=False), guestkit.GuestFS(environment=False)
    a._module_state("inspection")["roots"] = {"/dev/sda1": {}}
    assert a._module_state("inspection") == {"roots": {"/dev/sda1": {}}}
    assert b._module_state("inspection") == {}
    assert b.inspect_get_roots() == []
    a.close()
    b.close()


def test_library_and_backends_set_no_handle_field():
    """Assignments like g._drives = ... or self.handle._x = ... outside handle.py."""
    pattern = re.compile(r"\b(?:g|h|handle|self\.handle)\._\w+\s*(?:=(?!=)|\+=)")
    found = []
    for sub in ("guestkit/library", "guestkit/tools", "guestkit/cli", "backends",
                "plugins/guestkit-microvm/guestkit_microvm"):
        for path in sorted((ROOT / sub).glob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    found.append("%s:%d: %s" % (path.relative_to(ROOT), n, line.strip()))
    assert found == []
