"""Interoperability with libguestfs (Debian's python3-guestfs, run by /usr/bin/python3):
a layout made by guestkit is read back identically by libguestfs, and a layout made by
libguestfs is read back identically by guestkit.  The same script drives both libraries."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "interop", "layout.py")
DEBIAN_PYTHON = "/usr/bin/python3"


def run(lib, mode, image):
    py = DEBIAN_PYTHON if lib == "guestfs" else sys.executable
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    p = subprocess.run([py, SCRIPT, lib, mode, image], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, "%s %s failed:\n%s" % (lib, mode, p.stderr[-3000:])
    return json.loads(p.stdout) if mode == "read" else None


@pytest.fixture(scope="module", autouse=True)
def libguestfs_present():
    p = subprocess.run([DEBIAN_PYTHON, "-c", "import guestfs"], capture_output=True)
    if p.returncode != 0:
        pytest.fail("python3-guestfs is missing: the README's test command installs it",
                    pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize("writer", ["guestkit", "guestfs"])
def test_layout_reads_back_identically(tmp_path, writer):
    image = str(tmp_path / ("%s.img" % writer))
    run(writer, "write", image)
    seen_by_libguestfs = run("guestfs", "read", image)
    seen_by_guestkit = run("guestkit", "read", image)
    assert seen_by_guestkit == seen_by_libguestfs
    fs = seen_by_guestkit["filesystems"]
    assert fs["/dev/ivg/data"]["type"] == "xfs"
    assert fs["/dev/mapper/vault"]["hello"] == "hello from vault\n"
    assert {f.get("label") for f in fs.values()} >= {"EFI", "BOOT", "POOL", "DATA", "VAULT"}
