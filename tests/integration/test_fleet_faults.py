"""Fleet faults made for real: an image another process holds locked (qemu-nbd writing
it) is tried again and succeeds once the lock goes; an appliance that freezes during its
launch (a hypervisor wrapper that stops qemu) gives an error record at the job's
deadline, and the run still ends."""

import os
import subprocess
import sys
import threading
import time

from tests.integration.test_fleet import fleet, make_guest, records, sha256

HANGING_HV = """#!/bin/sh
# real qemu for probes; an appliance's qemu is stopped (SIGSTOP) a moment after it starts
case "$*" in
  *-incoming*|*console=*) ;;
  *) exec qemu-system-x86_64 "$@" ;;
esac
qemu-system-x86_64 "$@" &
pid=$!
sleep 0.5
kill -STOP $pid
wait $pid
"""


def descendants(pid):
    """The pids of PID's descendants, with their command lines."""
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append((int(p), cmd))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def test_a_locked_image_is_tried_again(tmp_path):
    img = make_guest(tmp_path, "locked", "debian", "12", "locked")
    sock = str(tmp_path / "nbd.sock")
    holder = subprocess.Popen(["qemu-nbd", "-f", "raw", "-k", sock, img])   # read-write
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        before = sha256(img)
        p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "fleet", "cat", "--path",
                              "/etc/hostname", "--retries", "6", "--workers", "1", img],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
        out = {}
        t = threading.Thread(target=lambda: out.update(zip(("out", "err"),
                                                           p.communicate(timeout=600))))
        t.start()
        seen = None                 # the first attempt's qemu, which meets the lock
        deadline = time.monotonic() + 300
        while seen is None and p.poll() is None and time.monotonic() < deadline:
            seen = next((pid for pid, cmd in descendants(p.pid)
                         if "qemu-system" in cmd), None)
            time.sleep(0.02)
        assert seen is not None, "no appliance was started"
        time.sleep(5)               # the lock outlives the first attempt...
        holder.terminate()          # ...then goes: a later attempt gets the image
        holder.wait(30)
        t.join(600)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert p.returncode == 0, out["err"]
    rec = records(out["out"])[img]
    assert rec["status"] == "ok" and rec["result"]["content"] == "locked\n", rec
    assert rec["attempts"] >= 2, rec
    assert sha256(img) == before


def test_an_appliance_that_hangs_in_its_launch(tmp_path):
    img = make_guest(tmp_path, "frozen", "debian", "12", "frozen")
    hv = tmp_path / "hanging-qemu"
    hv.write_text(HANGING_HV)
    hv.chmod(0o755)
    env = dict(os.environ, GUESTKIT_HV=str(hv))
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "fleet", "cat", "--path",
                        "/etc/hostname", "--timeout", "20", "--workers", "1", img],
                       capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                       timeout=300)
    took = time.monotonic() - start
    assert p.returncode == 1, p.stderr
    rec = records(p.stdout)[img]
    assert rec["status"] == "error" and rec["result"] is None, rec
    assert "timed out" in rec["error"] or "did not greet" in rec["error"], rec
    assert took < 120, took
    assert "1 guests: 0 ok, 1 failed" in p.stderr, p.stderr


CRASHING_JOB = '''
import os, signal

def crash(g, root):
    """The appliance dies under the job (qemu killed), as a guest that crashes it would."""
    os.kill(g.get_pid(), signal.SIGKILL)
    return g.cat("/etc/hostname")
'''


def test_an_appliance_that_crashes_mid_job(tmp_path):
    imgs = [make_guest(tmp_path, n, "debian", "12", n) for n in ("c1", "c2")]
    (tmp_path / "crashjob.py").write_text(CRASHING_JOB)
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "fleet", "crashjob:crash",
                        "--retries", "0", "--timeout", "300", *imgs],
                       capture_output=True, text=True, cwd=str(tmp_path),
                       stdin=subprocess.DEVNULL, timeout=600)
    assert p.returncode == 1, p.stderr
    recs = records(p.stdout)
    assert set(recs) == set(imgs)                   # each crash gave its own record
    for rec in recs.values():
        assert rec["status"] == "error" and rec["result"] is None, rec
        assert "connection to the appliance" in rec["error"], rec
        assert rec["attempts"] == 1, rec            # --retries 0 reached the job
    assert "2 guests: 0 ok, 2 failed" in p.stderr, p.stderr
