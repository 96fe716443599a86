"""Does KVM really work here?  /dev/kvm existing is not proof: on some machines qemu aborts
or hangs with it.  Boot the firmware under KVM for a moment and watch it print; cache the
verdict per qemu binary, host kernel and /dev/kvm."""

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
    cf = _cache_file(cachedir, qemu)
    try:
        with open(cf) as f:
            v = json.load(f)
        return bool(v["works"]), v["reason"], True
    except (OSError, ValueError, KeyError):
        pass
    works, reason = _run_probe(qemu)
    try:
        os.makedirs(cachedir, exist_ok=True)
        tmp = cf + ".%d" % os.getpid()
        with open(tmp, "w") as f:
            json.dump({"works": works, "reason": reason, "time": time.time()}, f)
        os.rename(tmp, cf)
    except OSError:
        pass
    return works, reason, False


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
