"""Does KVM really work here?  /dev/kvm existing is not proof: on some machines qemu aborts
or hangs with it.  Boot the firmware under KVM for a moment and watch it print; cache the
verdict per qemu binary, host kernel and /dev/kvm.

The probe cannot see every way KVM breaks (on some machines the firmware runs and the
appliance kernel dies later), so a launch that fails under KVM records its own verdict here
too (record_failure), and the next launch goes straight to TCG."""

import hashlib
import json
import os
import subprocess
import tempfile
import time

PROBE_TIMEOUT = 4.0


def _cache_file(cachedir, qemu):
    sig = []
    for p in (qemu, "/dev/kvm"):
        try:
            st = os.stat(p)
            sig.append("%s:%d:%d" % (p, st.st_mtime_ns, st.st_ino))
        except OSError:
            sig.append(p + ":missing")
    sig.append(os.uname().release)
    h = hashlib.sha256("\n".join(sig).encode()).hexdigest()[:16]
    return os.path.join(cachedir, "kvm-verdict-" + h + ".json")


def probe(qemu, cachedir):
    """(works: bool, reason: str, cached: bool)."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist", False
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is not accessible to this user", False
    v = cached_verdict(qemu, cachedir)
    if v is not None:
        return v["works"], v["reason"], True
    works, reason = _run_probe(qemu)
    _write(qemu, cachedir, {"works": works, "reason": reason})
    return works, reason, False


def cached_verdict(qemu, cachedir):
    """The cached verdict {"works", "reason", "time", ...} for this qemu, host kernel and
    /dev/kvm, or None (never probed, or a verdict that asked to be re-tested by now)."""
    try:
        with open(_cache_file(cachedir, qemu)) as f:
            v = json.load(f)
        v["works"], v["reason"] = bool(v["works"]), str(v["reason"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    retry = v.get("retry_at")
    if isinstance(retry, (int, float)) and time.time() > retry:
        return None
    return v


def record_failure(qemu, cachedir, reason, retry_after=None):
    """A launch under KVM failed for KVM's reasons: later launches use TCG, until this
    host's qemu, kernel or /dev/kvm change (or RETRY_AFTER seconds, if given)."""
    v = {"works": False, "reason": "a launch under KVM failed: %s" % reason, "late": True}
    if retry_after:
        v["retry_at"] = time.time() + retry_after
    _write(qemu, cachedir, v)


def _write(qemu, cachedir, verdict):
    cf = _cache_file(cachedir, qemu)
    verdict["time"] = time.time()
    try:
        os.makedirs(cachedir, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kvm-verdict-", dir=cachedir)
        with os.fdopen(fd, "w") as f:
            json.dump(verdict, f)
        os.rename(tmp, cf)
    except OSError:
        pass


def _run_probe(qemu):
    with tempfile.TemporaryDirectory(prefix="guestkit-kvm-") as d:
        out = os.path.join(d, "debugcon")
        argv = [qemu, "-accel", "kvm", "-cpu", "host", "-machine", "q35", "-nodefaults",
                "-display", "none", "-no-user-config", "-m", "64", "-serial", "none",
                "-chardev", "file,id=dbg,path=" + out,
                "-device", "isa-debugcon,iobase=0x402,chardev=dbg"]
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        except OSError as e:
            return False, "cannot run %s: %s" % (qemu, e)
        deadline = time.monotonic() + PROBE_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if p.poll() is not None:
                    err = p.stderr.read().decode(errors="replace").strip().splitlines()
                    return False, "qemu exited under KVM (%s)" % (
                        err[-1] if err else "status %d" % p.returncode)
                try:
                    with open(out, "rb") as f:
                        if b"SeaBIOS" in f.read(4096):
                            return True, "KVM ran the firmware"
                except OSError:
                    pass
                time.sleep(0.02)
            return False, "qemu hung under KVM (no firmware output in %.0f s)" % PROBE_TIMEOUT
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
