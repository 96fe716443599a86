"""The package built from this tree carries the man pages and the bash completion, at the
places man and bash-completion look beside the installed command."""

import os
import subprocess
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_wheel_installs_man_pages_and_completion(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path), ROOT], check=True, capture_output=True, timeout=600)
    wheel, = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    names = zipfile.ZipFile(tmp_path / wheel).namelist()
    data = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".data")) + "/data/"
    man = sorted(n[len(data + "share/man/man1/"):] for n in names
                 if n.startswith(data + "share/man/man1/"))
    assert man == sorted(f for f in os.listdir(os.path.join(ROOT, "docs", "man"))
                         if f.endswith(".1"))
    assert "guestkit.1" in man and "guestkit-cat.1" in man
    assert data + "share/bash-completion/completions/guestkit" in names
    # the asyncio API is a package of its own: it must be listed to be shipped
    assert "guestkit/aio/handle.py" in names and "guestkit/aio/client.py" in names
