"""Snapshot launch: boot the appliance once, save it, and restore it on every launch.

The first launch boots the appliance with no guest drives, waits for the daemon's greeting,
and saves the machine: its RAM stays in the file qemu ran it from (a memory-backend-file
shared while the snapshot is made), the device state goes through QMP `migrate` with the
x-ignore-shared capability, so the saved state is a few hundred kilobytes.  Every later launch
starts qemu with the same devices, maps the RAM file privately (copy-on-write: pages nobody
writes stay one copy in the host's page cache, however many appliances run), loads the device
state with `-incoming defer` + `migrate-incoming`, resumes, and hot-plugs the handle's drives
in add order (backends/direct.py); the daemon then reseeds its RNG and sets its clock from
the host (daemon/restore.py).

A snapshot is keyed by everything that could make it differ from a cold boot: the appliance
(its cache key covers the kernel, the initramfs and the daemon's code), the qemu binary
(path, size, mtime, inode), and the whole qemu command line of the snapshot run except its
per-launch socket paths: machine type, accelerator, CPU model, memory size, vCPUs, devices
and the kernel command line (verbose included).  Snapshots live beside the appliance they
were made from (<appliance>/snapshots/KEY), made under a lock and renamed into place, so
concurrent launches wait for one another instead of making it twice.  A snapshot that fails
to restore is removed (the launch that met it boots cold; the next one makes a new one).
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from .base import HandleGone

FORMAT = 1                      # bump when what a snapshot holds changes
CHANNEL_PLACEHOLDER = "@CHANNEL@"
RAM_PLACEHOLDER = "@RAM@"
MIGRATE_TIMEOUT = 60.0
MAX_META = 1 << 16
#: seconds before a snapshot whose making failed is tried again (launches boot cold)
RETRY_FAILED = 86400


class SnapshotError(Exception):
    pass


class Snapshot:
    """A usable snapshot: its directory, files and what it was made with."""

    def __init__(self, path, meta):
        self.path = path
        self.meta = meta
        self.ram = os.path.join(path, "ram")
        self.state = os.path.join(path, "state")
        self.cmdline = meta["cmdline"]

    def __repr__(self):
        return "Snapshot(%s)" % self.path


def qemu_signature(qemu):
    st = os.stat(qemu)
    return [os.path.realpath(qemu), st.st_size, st.st_mtime_ns, st.st_ino]


def snapshot_key(appliance, qemu, template):
    """The key of a snapshot made with the command line TEMPLATE (placeholders for the
    per-launch paths) of QEMU from APPLIANCE."""
    h = hashlib.sha256()
    h.update(json.dumps([FORMAT, appliance.key, qemu_signature(qemu), template]).encode())
    return h.hexdigest()[:32]


def _read_meta(path, key):
    """The snapshot at PATH if it is complete and made for KEY, else None."""
    try:
        with open(os.path.join(path, "meta.json"), "rb") as f:
            data = f.read(MAX_META + 1)
        meta = json.loads(data) if len(data) <= MAX_META else None
        if not isinstance(meta, dict) or meta.get("key") != key or \
                meta.get("format") != FORMAT or not isinstance(meta.get("cmdline"), str):
            return None
        for name in ("ram", "state"):
            st = os.stat(os.path.join(path, name))
            if st.st_size != meta.get(name + "_size"):
                return None
    except (OSError, ValueError):
        return None
    return Snapshot(path, meta)


def snapshots_dir(appliance):
    d = os.path.join(appliance.path, "snapshots")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def find(appliance, key):
    """The snapshot for KEY if one is there."""
    return _read_meta(os.path.join(snapshots_dir(appliance), key), key)


def obtain(appliance, key, make, log):
    """The snapshot for KEY, made first by MAKE(tmpdir) -> meta when there is none (under a
    lock: concurrent callers wait for the one making it)."""
    snap = find(appliance, key)
    if snap is not None:
        return snap
    base = snapshots_dir(appliance)
    final = os.path.join(base, key)
    failed = os.path.join(base, ".failed-" + key)
    with open(os.path.join(base, ".lock"), "a+") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        snap = _read_meta(final, key)
        if snap is not None:
            return snap
        earlier = _earlier_failure(failed)
        if earlier:
            raise SnapshotError("making this snapshot failed %s ago: %s (tried again after "
                                "%d h)" % (earlier[0], earlier[1], RETRY_FAILED // 3600))
        _prune(base, keep=key)
        if os.path.exists(final):           # an incomplete or damaged one
            discard(final, "it is incomplete", log)
        tmp = tempfile.mkdtemp(prefix=".new-", dir=base)
        try:
            t0 = time.monotonic()
            meta = make(tmp)
            meta.update({"format": FORMAT, "key": key, "created": time.time(),
                         "made_s": round(time.monotonic() - t0, 3)})
            for name in ("ram", "state"):
                meta[name + "_size"] = os.stat(os.path.join(tmp, name)).st_size
            with open(os.path.join(tmp, "meta.json"), "w") as f:
                json.dump(meta, f)
            os.rename(tmp, final)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, Exception) and not isinstance(e, HandleGone) and \
                    not getattr(e, "kvm", False):
                # remembered, so that every launch does not pay a failed boot first
                with open(failed, "w") as f:
                    f.write(("%s: %s" % (type(e).__name__, e))[:2000])
            raise
        log("made a launch snapshot in %.2fs: %s" % (meta["made_s"], final))
    return _read_meta(final, key)


def _earlier_failure(path):
    """(how long ago, why) when making this snapshot failed less than RETRY_FAILED
    seconds ago, else None."""
    try:
        age = time.time() - os.stat(path).st_mtime
        if age > RETRY_FAILED:
            return None
        with open(path) as f:
            return "%d s" % age, f.read(2000)
    except OSError:
        return None


def discard(path, why, log):
    """Remove the snapshot at PATH (appliances running from its RAM file keep their
    mapping: the file goes away only when they are done)."""
    log("removing the launch snapshot %s: %s" % (path, why))
    gone = path + ".gone-%d" % os.getpid()
    try:
        os.rename(path, gone)
    except OSError:
        return
    shutil.rmtree(gone, ignore_errors=True)


def _prune(base, keep, age=3600):
    """Snapshots of other keys (another qemu, other settings) unused for AGE seconds."""
    now = time.time()
    for name in os.listdir(base):
        p = os.path.join(base, name)
        try:
            if name != keep and name != ".lock" and now - os.stat(p).st_atime > age \
                    and now - os.stat(p).st_mtime > age:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def touch(snap):
    try:
        os.utime(snap.path)
    except OSError:
        pass


def save(qmp, proc, state_path, timeout=MIGRATE_TIMEOUT):
    """Save the running appliance (QMP client QMP, process PROC) whose RAM is a shared
    file: its device state goes to STATE_PATH; qemu is quit afterwards."""
    from .qmp import pass_fd
    fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        qmp.command("migrate-set-capabilities",
                    capabilities=[{"capability": "x-ignore-shared", "state": True}])
        qmp.command("stop")
        pass_fd(qmp, fd, "snapshot")
        qmp.command("migrate", uri="fd:snapshot")
    finally:
        os.close(fd)
    wait_migration(qmp, proc, timeout)
    try:
        qmp.command("quit")
    except Exception:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_migration(qmp, proc, timeout):
    """Wait until the migration (either way) completed; SnapshotError if it failed."""
    deadline = time.monotonic() + timeout
    while True:
        st = qmp.command("query-migrate") or {}
        status = st.get("status")
        if status == "completed":
            return
        if status in ("failed", "cancelled"):
            raise SnapshotError("the migration %s: %s" % (status,
                                                          str(st.get("error-desc", ""))[:300]))
        if proc.poll() is not None:
            raise SnapshotError("qemu exited with status %s during the migration"
                                % proc.returncode)
        if time.monotonic() > deadline:
            raise SnapshotError("the migration did not complete within %.0f s" % timeout)
        time.sleep(0.002)


def restore(qmp, proc, snap, timeout=MIGRATE_TIMEOUT):
    """Load SNAP into the qemu started with -incoming defer, and resume it."""
    from .qmp import pass_fd
    fd = os.open(snap.state, os.O_RDONLY | os.O_CLOEXEC)
    try:
        qmp.command("migrate-set-capabilities",
                    capabilities=[{"capability": "x-ignore-shared", "state": True}])
        pass_fd(qmp, fd, "snapshot")
        qmp.command("migrate-incoming", uri="fd:snapshot")
    finally:
        os.close(fd)
    wait_migration(qmp, proc, timeout)
    deadline = time.monotonic() + timeout
    while True:
        status = (qmp.command("query-status") or {}).get("status")
        if status == "running":
            return
        if status == "paused":
            qmp.command("cont")     # saved stopped: the restored machine waits for us
        elif status not in ("inmigrate", "postmigrate", "prelaunch", "finish-migrate"):
            raise SnapshotError("the restored machine is %s, not running" % status)
        if time.monotonic() > deadline:
            raise SnapshotError("the restored machine did not start running")
        time.sleep(0.001)
