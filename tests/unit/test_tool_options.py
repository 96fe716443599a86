"""Options every tool shares that need no appliance: --machine-readable (what the tool
supports; errors as JSON messages where asked), checked on the real command line."""

import json
import os
import subprocess
import sys


def tool(*args):
    return subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_machine_readable_alone_lists_capabilities():
    r = tool("df", "--machine-readable")
    assert r.returncode == 0 and r.stdout.split() == ["guestkit-df", "machine-readable",
                                                      "json", "csv"]
    r = tool("cat", "--machine-readable=stream:stderr")
    assert r.returncode == 0 and r.stdout == "" and r.stderr.split() == [
        "guestkit-cat", "machine-readable"]


def test_machine_readable_errors_are_json(tmp_path):
    missing = str(tmp_path / "missing.img")
    out = tmp_path / "messages"
    r = tool("ls", "-a", missing, "--machine-readable=file:%s" % out, "/")
    assert r.returncode == 1
    assert missing in r.stderr                       # the usual message stays
    msg = json.loads(out.read_text())
    assert msg["type"] == "error" and missing in msg["message"]
    assert msg["timestamp"][:4].isdigit() and "T" in msg["timestamp"]
    # to a file descriptor the caller opened
    rfd, wfd = os.pipe()
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "df", "-a", missing,
                        "--machine-readable=fd:%d" % wfd], pass_fds=(wfd,),
                       capture_output=True, text=True, timeout=60)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        assert json.loads(f.read())["type"] == "error"
    assert r.returncode == 1


def test_machine_readable_bad_place():
    r = tool("df", "--machine-readable=tcp:1", "-a", "x.img")
    assert r.returncode == 2 and "fd:N, file:FILE" in r.stderr
