#!/usr/bin/env python3
"""Per-call round trip of a cheap action (exists), guestkit and libguestfs side by side.

Both libraries are launched once, each in its own worker process (guestkit with this
interpreter, libguestfs with Debian's /usr/bin/python3 and
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg), on a small raw disk made
into ext4 and mounted, with /x created.  Then, --runs times, each worker times --calls calls
of exists("/x"); the two sides alternate (which one goes first alternates too), so both see
the same machine when a load comes and goes.  Both appliances run under TCG.

Prints each run, then the median and minimum per call of both, and the ratio
libguestfs/guestkit (above 1: guestkit is faster).  Beside the wall time, the CPU time per
call of each side's qemu (the appliance's emulated work: the daemon, its kernel, the
virtio-serial device) and of the library's process: a machine loaded by other work stretches
the wall time, much less these.  --json-out FILE keeps every sample.

Usage: python bench/roundtrip.py [--calls 2000] [--runs 7] [--size-mb 64]
                                 [--skip-libguestfs] [--action exists|is_file]
                                 [--also LABEL=PYTHON ...]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LG_PYTHON = "/usr/bin/python3"


def log(msg):
    print("[roundtrip] " + msg, file=sys.stderr, flush=True)


# ---- the workers (run in their own process) ---------------------------------------------------

def _prepare(g, img):
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.mkfs("ext4", "/dev/sda")
    g.mount("/dev/sda", "/")
    g.touch("/x")


def cpu_of(pid):
    """CPU seconds (user + system, all threads) process PID has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(lib, img, action):
    if lib == "guestkit":
        import guestkit
        g = guestkit.GuestFS()
        g.set_backend("direct")
        g.set_backend_settings(["force_tcg"])
    else:
        os.environ["LIBGUESTFS_BACKEND"] = "direct"
        os.environ["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
        import guestfs
        g = guestfs.GuestFS()
    _prepare(g, img)
    call = {"exists": lambda: g.exists("/x"),
            "is_file": lambda: g.is_file("/x")}[action]
    for _ in range(200):                        # warm up both sides' caches
        call()
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    pid = g.get_pid()
    for line in sys.stdin:
        n = int(line)
        if n <= 0:
            break
        clock = time.perf_counter
        q0, c0 = cpu_of(pid), time.process_time()
        t0 = clock()
        for _ in range(n):
            call()
        t1 = clock()
        out.write("%.9f %.9f %.9f\n" % (t1 - t0, cpu_of(pid) - q0, time.process_time() - c0))
        out.flush()
    g.shutdown()
    g.close()


# ---- the parent -------------------------------------------------------------------------------

class Worker:
    def __init__(self, lib, python, img, action):
        self.lib = lib
        kind = "libguestfs" if lib == "libguestfs" else "guestkit"
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", kind, "--image", img,
             "--action", action],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self):
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("%s worker failed to start (%r)" % (self.lib, line))

    def run(self, calls):
        self.proc.stdin.write("%d\n" % calls)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s worker died" % self.lib)
        # ms per call: wall, qemu's CPU, the library process's CPU
        return [float(x) / calls * 1000.0 for x in line.split()]

    def stop(self):
        try:
            self.proc.stdin.write("0\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def libguestfs_available():
    if not os.path.exists(LG_PYTHON):
        return False
    r = subprocess.run([LG_PYTHON, "-c", "import guestfs"], capture_output=True)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--size-mb", type=int, default=64)
    ap.add_argument("--action", default="exists", choices=("exists", "is_file"))
    ap.add_argument("--skip-libguestfs", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="LABEL=PYTHON",
                    help="one more guestkit side: the guestkit that interpreter PYTHON "
                         "imports (a virtualenv of another checkout, to compare versions)")
    ap.add_argument("--json-out")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--image", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.image, a.action)

    tmp = tempfile.mkdtemp(prefix="roundtrip-")
    workers = []
    try:
        sides = [("guestkit", sys.executable)]
        for also in a.also:
            label, _, python = also.partition("=")
            if not python or label in ("guestkit", "libguestfs"):
                ap.error("--also wants LABEL=PYTHON with a new label")
            sides.append((label, python))
        if a.skip_libguestfs:
            pass
        elif libguestfs_available():
            sides.append(("libguestfs", LG_PYTHON))
        else:
            log("libguestfs is not importable with %s: guestkit alone" % LG_PYTHON)
        for lib, python in sides:
            img = os.path.join(tmp, lib + ".img")
            with open(img, "wb") as f:
                f.truncate(a.size_mb << 20)
            workers.append(Worker(lib, python, img, a.action))
        for w in workers:
            w.wait_ready()
        samples = {w.lib: [] for w in workers}
        qemu_cpu = {w.lib: [] for w in workers}
        lib_cpu = {w.lib: [] for w in workers}
        for i in range(a.runs):
            order = workers if i % 2 == 0 else workers[::-1]
            for w in order:
                ms, qms, lms = w.run(a.calls)
                samples[w.lib].append(ms)
                qemu_cpu[w.lib].append(qms)
                lib_cpu[w.lib].append(lms)
                log("run %d/%d %-10s %s: %.4f ms per call (CPU: qemu %.4f, library %.4f)"
                    % (i + 1, a.runs, w.lib, a.action, ms, qms, lms))
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    print("%s() round trip, %d calls x %d runs (ms per call)" % (a.action, a.calls, a.runs))
    print("%-12s %10s %10s %12s %12s" % ("", "median", "min", "qemu CPU", "library CPU"))
    for lib, s in samples.items():
        print("%-12s %10.4f %10.4f %12.4f %12.4f" % (lib[:12], med(s), min(s), med(qemu_cpu[lib]),
                                                      med(lib_cpu[lib])))
    for lib in samples:
        if lib != "guestkit":
            ratio = med(samples[lib]) / med(samples["guestkit"])
            print("%s/guestkit (median): %.2f  (above 1: guestkit is faster)" % (lib, ratio))
    out = {"action": a.action, "calls": a.calls, "samples_ms": samples,
           "qemu_cpu_ms": qemu_cpu, "library_cpu_ms": lib_cpu}
    print(json.dumps(out))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
