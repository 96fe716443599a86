"""guestkit fleet's apps, find and win-reg jobs on real guests, with --parquet, the
summary table and the progress bar.  Two Debian-family guests made by mke2fs -d (a dpkg
status file, /etc trees with symlinks and a fifo), the Windows-layout guest of
tests/windows_image.py and two missing images; one fleet run per job (each starts a
LocalCluster), the job functions' other options on one handle."""

import fcntl
import hashlib
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

import pytest

import guestkit
from guestkit.fleet import jobs
from tests.conftest import make_image
from tests.guest_images import debian_like
from tests.windows_image import build_windows

DEB1 = [("openssl", "3.0.11-1~deb12u2", "amd64"), ("libssl3", "3.0.11-1~deb12u2", "amd64"),
        ("bash", "5.2.15-2+b2", "amd64"), ("gkfoo", "1:1.0-1", "all"), ("gkbar", "3.0", "all")]
DEB2 = [("openssl", "3.0.2-0ubuntu1.10", "amd64"), ("libssl3", "3.0.2-0ubuntu1.10", "amd64"),
        ("gkfoo", "2.0~rc1-1", "all"), ("gkbar", "3.0~beta1", "all")]
A_CONF = b"listen 80\n"
FILES1 = {"/etc/a.conf": A_CONF, "/etc/sub/b.conf": "b\n", "/etc/notes.txt": "n\n",
          "/etc/evil.conf": ("symlink", "/etc/shadow"), "/etc/fifo.conf": ("fifo",),
          "/etc/linkdir": ("symlink", "/usr"), "/usr/x.conf": "x\n"}
FILES2 = {"/etc/many/f%02d.conf" % i: "%d\n" % i for i in range(30)}
WIN_CV = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"


@pytest.fixture(scope="module")
def guests(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleetjobs")
    imgs = {"deb1": debian_like(d, "deb1", "debian", "12", DEB1, FILES1),
            "deb2": debian_like(d, "deb2", "ubuntu", "22.04", DEB2, FILES2),
            "win": make_image(d / "win.img", 96)}
    spare = make_image(d / "win-e.img", 48)      # build_windows lays out a second disk
    g = guestkit.GuestFS(python_return_dict=True)
    for disk in (imgs["win"], spare):
        g.add_drive_opts(disk, format="raw")
    g.launch()
    build_windows(g)
    g.shutdown()
    g.close()
    imgs["missing1"], imgs["missing2"] = str(d / "missing1.img"), str(d / "missing2.img")
    sums = {n: sha256(p) for n, p in imgs.items() if os.path.exists(p)}
    yield d, imgs
    assert {n: sha256(p) for n, p in imgs.items() if os.path.exists(p)} == sums, \
        "a guest image was written"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fleet(*args, stderr=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "guestkit.cli", "fleet"] + list(args),
                          stdout=subprocess.PIPE, stderr=stderr, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def records(text):
    return {r["guest"]: r for r in map(json.loads, text.splitlines())}


def test_apps_filtered_by_name_and_dpkg_version_range(guests):
    """One run: names by substring and glob, versions '>=3.0,<25' in dpkg order (3.0.2 <
    3.0.11 < 25 as numbers, ~ before the end, the epoch first, a revision after none),
    Windows applications from its registry; two missing images: the summary groups their
    error."""
    d, imgs = guests
    p = fleet("apps", "--name", "ssl", "--name", "GK*", "--name", "zip", "--name", "fox",
              "--version-range", ">=3.0,<25", imgs["deb1"], imgs["deb2"], imgs["win"],
              imgs["missing1"], imgs["missing2"])
    assert p.returncode == 1, p.stderr
    recs = records(p.stdout)

    def found(name):
        r = recs[imgs[name]]
        assert r["status"] == "ok", r
        return {(a["name"], a.get("epoch", 0), a["version"], a.get("release", ""))
                for o in r["result"] for a in o["applications"]}
    assert found("deb1") == {("openssl", 0, "3.0.11", "1~deb12u2"),
                             ("libssl3", 0, "3.0.11", "1~deb12u2"), ("gkbar", 0, "3.0", "")}
    assert found("deb2") == {("openssl", 0, "3.0.2", "0ubuntu1.10"),
                             ("libssl3", 0, "3.0.2", "0ubuntu1.10")}
    assert found("win") == {("7-Zip", 0, "23.01", "")}     # not Firefox 120.0
    [os1] = recs[imgs["deb1"]]["result"]
    assert os1["root"] == "/dev/sda" and os1["package_format"] == "deb"
    openssl = [a for a in os1["applications"] if a["name"] == "openssl"][0]
    assert openssl == {"name": "openssl", "version": "3.0.11", "release": "1~deb12u2",
                       "arch": "amd64", "summary": "openssl package"}
    for m in ("missing1", "missing2"):
        assert recs[imgs[m]]["status"] == "error" and "missing" in recs[imgs[m]]["error"]
    # the summary table, on standard error that is not a terminal (no progress bar)
    err = p.stderr
    assert "5 guests: 3 ok, 2 failed, 0 skipped" in err, err
    assert "running=" not in err, err
    lines = err.splitlines()
    assert any(line.split() == ["error", "2"] for line in lines), err
    assert any(line.split() == ["ok", "3"] for line in lines), err
    assert any(line.split()[:2] == ["total", "5"] and "guests/min" in line
               for line in lines), err
    slow = lines[lines.index("slowest guests:") + 1:lines.index("most common errors:")]
    assert len(slow) == 5 and all(line.split()[1] == "s" for line in slow), err
    assert {line.split()[2] for line in slow} == set(imgs.values())
    durations = [float(line.split()[0]) for line in slow]
    assert durations == sorted(durations, reverse=True)
    [common] = lines[lines.index("most common errors:") + 1:]
    assert common.split()[0] == "2" and "GUEST" in common, err


def test_find_with_size_checksum_and_cap_and_progress_bar_on_a_pty(guests):
    """One run with standard error on a pseudo-terminal: the bar shows guests running."""
    d, imgs = guests
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    seen = []
    reader = threading.Thread(target=lambda: _drain(master, seen), daemon=True)
    reader.start()
    try:
        p = fleet("find", "--pattern", "*.conf", "--dir", "/etc", "--size",
                  "--checksum=sha256", "--max-matches", "10", "--workers", "1",
                  imgs["deb1"], imgs["deb2"], stderr=slave)
    finally:
        os.close(slave)
        reader.join(30)
        os.close(master)
    assert p.returncode == 0
    bar = b"".join(seen).decode("utf-8", "replace")
    assert "running=1" in bar and "2/2" in bar and "guest/s" in bar, bar
    assert "slowest guests:" in bar, bar                 # the summary follows the bar
    recs = records(p.stdout)
    r1 = recs[imgs["deb1"]]["result"]
    assert r1["truncated"] is False and r1["directory"] == "/etc"
    assert r1["matches"] == [
        {"path": "/etc/a.conf", "type": "file", "size": len(A_CONF),
         "sha256": hashlib.sha256(A_CONF).hexdigest()},
        {"path": "/etc/evil.conf", "type": "symlink", "size": len("/etc/shadow"),
         "sha256": None},
        {"path": "/etc/fifo.conf", "type": "other", "size": 0, "sha256": None},
        {"path": "/etc/sub/b.conf", "type": "file", "size": 2,
         "sha256": hashlib.sha256(b"b\n").hexdigest()}]        # not /etc/linkdir/x.conf
    r2 = recs[imgs["deb2"]]["result"]
    assert r2["truncated"] is True and len(r2["matches"]) == 10
    assert all(m["path"].startswith("/etc/many/f") for m in r2["matches"])


def _drain(fd, out):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:                 # EIO: every writer of the pty is gone
            return
        if not chunk:
            return
        out.append(chunk)


def test_win_reg_to_parquet(guests):
    """One run into a Parquet file (read back with pyarrow); a Linux guest is an error
    record; --resume then skips both."""
    import pyarrow.parquet as pq
    d, imgs = guests
    out = str(d / "reg.parquet")
    p = fleet("win-reg", "--key", WIN_CV, "--parquet", out, imgs["win"], imgs["deb1"])
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""
    rows = {r["guest"]: r for r in pq.read_table(out).to_pylist()}
    assert set(rows) == {imgs["win"], imgs["deb1"]}
    win = rows[imgs["win"]]
    assert win["status"] == "ok" and win["error"] is None and win["attempts"] == 1
    result = json.loads(win["result"])
    assert result["key"] == WIN_CV
    values = {v["name"]: (v["type"], v["value"]) for v in result["values"]}
    assert values["ProductName"] == (1, "Windows 10 Pro")
    assert values["CurrentMajorVersionNumber"] == (4, 10)
    assert values["CurrentBuildNumber"] == (1, "19045")
    assert [v["name"] for v in result["values"]] == sorted(values)
    lin = rows[imgs["deb1"]]
    assert lin["status"] == "error" and "not Windows" in lin["error"]
    assert lin["result"] is None
    p = fleet("win-reg", "--key", WIN_CV, "--parquet", out, "--resume", imgs["win"],
              imgs["deb1"])
    assert p.returncode == 0 and "2 guests: 0 ok, 0 failed, 2 skipped" in p.stderr, p.stderr
    assert sorted(pq.read_table(out).column("guest").to_pylist()) == \
        sorted([imgs["win"], imgs["deb1"]])


@pytest.fixture(scope="module")
def handles(guests):
    """The Windows guest and deb1 on one read-only handle each, mounted as fleet mounts
    them (the "mounted" jobs' view)."""
    d, imgs = guests
    out = {}
    for name in ("win", "deb1"):
        g = guestkit.GuestFS(python_return_dict=True)
        g.add_drive_opts(imgs[name], format="raw", readonly=True)
        g.launch()
        root = g.inspect_os()[0]
        g.inspect_mount_root(root, readwrite=False)
        out[name] = (g, root)
    yield out
    for g, _ in out.values():
        g.close()


def test_win_reg_one_value_and_missing_ones(handles):
    g, root = handles["win"]
    assert jobs.win_reg(g, root, key=WIN_CV, value="ProductName") == \
        {"key": WIN_CV, "values": [{"name": "ProductName", "type": 1,
                                    "value": "Windows 10 Pro"}]}
    with pytest.raises(ValueError, match="no value Nonesuch"):
        jobs.win_reg(g, root, key=WIN_CV, value="Nonesuch")
    with pytest.raises(ValueError, match="no such key"):
        jobs.win_reg(g, root, key="HKLM\\SOFTWARE\\Nonesuch")
    sel = jobs.win_reg(g, root, key="HKLM\\SYSTEM\\Select")
    assert {v["name"]: v["value"] for v in sel["values"]} == \
        {"Current": 1, "Default": 1, "LastKnownGood": 2}


def test_find_path_patterns_and_checksum_types(handles):
    g, root = handles["deb1"]
    r = jobs.find(g, root, pattern="/etc/*/b.conf")
    assert r["matches"] == [{"path": "/etc/sub/b.conf"}]
    r = jobs.find(g, root, pattern="*.conf", directory="/", checksum="md5")
    assert [m["path"] for m in r["matches"]] == \
        ["/etc/a.conf", "/etc/evil.conf", "/etc/fifo.conf", "/etc/sub/b.conf",
         "/usr/x.conf"]
    assert r["matches"][0]["md5"] == hashlib.md5(A_CONF).hexdigest()
    assert r["matches"][1]["md5"] is None
    with pytest.raises(ValueError, match="not a directory"):
        jobs.find(g, root, pattern="*", directory="/etc/linkdir")
    with pytest.raises(ValueError, match="checksum type"):
        jobs.find(g, root, pattern="*", checksum="sha3")
