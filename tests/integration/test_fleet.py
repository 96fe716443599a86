"""guestkit fleet on real images: three small guests (ext4 made by mke2fs -d from a
directory tree), a missing and a corrupt image, run by the embedded LocalCluster and by a
real Dask scheduler with two worker processes started here.  Every image's sha256 must be
the same after the runs (the guests are opened read-only)."""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

try:
    import distributed  # noqa: F401
except ImportError:
    pytest.fail("dask and distributed are not installed: pip install -e '.[test]' (or the "
                "fleet extra)", pytrace=False)

GUESTS = {               # image name -> (os-release ID, VERSION_ID, hostname)
    "web1": ("ubuntu", "22.04", "web1"),
    "web2": ("debian", "12", "web2"),
    "db1": ("fedora", "39", "db1"),
}
USER_JOB = '''
def hostname(g, root):
    return {"root": root, "hostname": g.cat("/etc/hostname").strip()}

def hang(g, root):
    g.sleep(600)

def slow_hostname(g, root):
    g.sleep(8)
    return g.cat("/etc/hostname").strip()
'''


def make_guest(d, name, distro, version, hostname):
    tree = d / (name + ".tree")
    (tree / "etc").mkdir(parents=True)
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "etc" / "os-release").write_text(
        'NAME="%s"\nID=%s\nVERSION_ID="%s"\nPRETTY_NAME="%s %s"\n'
        % (distro.capitalize(), distro, version, distro, version))
    (tree / "etc" / "hostname").write_text(hostname + "\n")
    (tree / "etc" / "fstab").write_text("/dev/sda / ext4 defaults 0 1\n")
    img = d / (name + ".img")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(tree), "-F", str(img), "16M"],
                   check=True)
    return str(img)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet")
    imgs = {n: make_guest(d, n, *v) for n, v in GUESTS.items()}
    corrupt = d / "corrupt.img"
    corrupt.write_bytes(os.urandom(4 * 1024 * 1024))
    imgs["corrupt"] = str(corrupt)
    (d / "jobmod.py").write_text(USER_JOB)
    sums = {n: sha256(p) for n, p in imgs.items()}
    yield d, imgs
    assert {n: sha256(p) for n, p in imgs.items()} == sums, "a guest image was written"


def fleet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "guestkit.cli", "fleet"] + list(args),
                          capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=900)


def records(text):
    return {r["guest"]: r for r in map(json.loads, text.splitlines())}


def test_inspect_embedded_with_faults(fleet_dir):
    d, imgs = fleet_dir
    missing = str(d / "missing.img")
    good = [imgs[n] for n in GUESTS]
    p = fleet("inspect", "--no-icon", "--timeout", "300", *good, missing, imgs["corrupt"])
    assert p.returncode == 1, p.stderr              # some guests failed
    recs = records(p.stdout)
    assert set(recs) == set(good) | {missing, imgs["corrupt"]}
    for name, (distro, version, hostname) in GUESTS.items():
        r = recs[imgs[name]]
        assert r["status"] == "ok" and r["error"] is None, r
        oses = r["result"]["operatingsystems"]
        assert [(o["distro"], o["hostname"], o["major_version"]) for o in oses] == \
            [(distro, hostname, int(version.split(".")[0]))], oses
        assert oses[0]["root"] == "/dev/sda" and r["duration_s"] > 0
    for bad in (missing, imgs["corrupt"]):
        assert recs[bad]["status"] == "error" and recs[bad]["error"], recs[bad]
        assert recs[bad]["result"] is None
    assert "no operating system" in recs[imgs["corrupt"]]["error"]
    assert "5 guests: 3 ok, 2 failed, 0 skipped" in p.stderr, p.stderr


def test_same_as_inspect_json(fleet_dir):
    d, imgs = fleet_dir
    p = fleet("inspect", imgs["web1"], "--workers", "1")
    assert p.returncode == 0, p.stderr
    q = subprocess.run([sys.executable, "-m", "guestkit.cli", "inspect", "--json", "-a",
                        imgs["web1"]], capture_output=True, text=True, check=True)
    assert records(p.stdout)[imgs["web1"]]["result"] == json.loads(q.stdout)


def test_csv_resume_and_cat(fleet_dir):
    d, imgs = fleet_dir
    out = d / "cat.csv"
    p = fleet("cat", "--path", "/etc/hostname", "--csv", "-o", str(out), imgs["web1"],
              imgs["web2"])
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(out.open()))
    assert sorted(json.loads(r["result"])["content"] for r in rows) == ["web1\n", "web2\n"]
    p = fleet("cat", "--path", "/etc/hostname", "--csv", "-o", str(out), "--resume",
              imgs["web1"], imgs["web2"], imgs["db1"])
    assert p.returncode == 0, p.stderr
    assert "3 guests: 1 ok, 0 failed, 2 skipped" in p.stderr, p.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["guest"] for r in rows[2:]] == [imgs["db1"]] and len(rows) == 3
    assert json.loads(rows[2]["result"]) == {"path": "/etc/hostname", "size": 4,
                                             "truncated": False, "content": "db1\n"}


def test_user_job_and_timeout(fleet_dir):
    d, imgs = fleet_dir
    p = fleet("jobmod:hostname", imgs["db1"], imgs["web2"], cwd=str(d))
    assert p.returncode == 0, p.stderr
    recs = records(p.stdout)
    assert recs[imgs["db1"]]["result"] == {"root": "/dev/sda", "hostname": "db1"}
    assert recs[imgs["web2"]]["result"]["hostname"] == "web2"
    start = time.monotonic()
    p = fleet("jobmod:hang", imgs["web1"], "--timeout", "30", cwd=str(d))
    assert p.returncode == 1
    rec = records(p.stdout)[imgs["web1"]]
    assert rec["status"] == "error" and "timed out" in rec["error"], rec
    assert time.monotonic() - start < 90


@pytest.fixture(scope="module")
def dask_cluster(fleet_dir):
    """A real Dask scheduler and two single-threaded worker processes."""
    d, _ = fleet_dir
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    sched_file = d / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", str(sched_file),
                               "--port", "0", "--no-dashboard"], cwd=str(d),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 120
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard"], cwd=str(d), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(address, timeout=120) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_inspect_on_a_dask_scheduler(fleet_dir, dask_cluster):
    d, imgs = fleet_dir
    good = [imgs[n] for n in GUESTS]
    p = fleet("inspect", "--no-icon", "--scheduler", dask_cluster, *good, imgs["corrupt"])
    assert p.returncode == 1, p.stderr
    recs = records(p.stdout)
    for name, (distro, _, hostname) in GUESTS.items():
        r = recs[imgs[name]]
        assert r["status"] == "ok", r
        assert [(o["distro"], o["hostname"]) for o in r["result"]["operatingsystems"]] == \
            [(distro, hostname)]
    assert recs[imgs["corrupt"]]["status"] == "error"
    from distributed import Client
    with Client(dask_cluster) as c:     # the jobs ran on the two workers, not here
        assert len(c.scheduler_info()["workers"]) == 2


def test_a_killed_worker_has_its_guests_rescheduled(fleet_dir, dask_cluster):
    """A worker process killed while its guest's job runs: Dask gives the job to another
    worker, and every guest still gets its ok record."""
    from distributed import Client

    from guestkit import fleet as api
    d, imgs = fleet_dir
    good = [imgs[n] for n in GUESTS]
    with Client(dask_cluster) as c:
        c.upload_file(str(d / "jobmod.py"))
        pids = c.run(os.getpid)
        out = []
        t = threading.Thread(target=lambda: out.extend(
            api.run(good, "jobmod:slow_hostname", scheduler=c, timeout=300)))
        t.start()
        deadline = time.monotonic() + 60
        busy = []
        while not busy and time.monotonic() < deadline:
            busy = [w for w, keys in c.processing().items() if keys]
            time.sleep(0.2)
        assert busy, "no worker started a job"
        time.sleep(4)                           # inside the job's g.sleep(8)
        os.kill(pids[busy[0]], signal.SIGKILL)
        t.join(300)
        assert not t.is_alive()
        c.wait_for_workers(2, timeout=120)      # the nanny started a new worker process
        assert pids[busy[0]] not in c.run(os.getpid).values()
    recs = {r["guest"]: r for r in out}
    assert {g: (r["status"], r["result"]) for g, r in recs.items()} == \
        {imgs[n]: ("ok", n) for n in GUESTS}, recs


def test_df(fleet_dir):
    d, imgs = fleet_dir
    p = fleet("df", imgs["web1"], "--workers", "1")
    assert p.returncode == 0, p.stderr
    [fs] = records(p.stdout)[imgs["web1"]]["result"]
    assert fs["filesystem"] == "/dev/sda" and 10000 < fs["1k_blocks"] <= 16384, fs
    assert 0 < fs["used"] < fs["1k_blocks"] and fs["available"] > 0, fs
