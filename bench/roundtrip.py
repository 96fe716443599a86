#!/usr/bin/env python3
"""Per-call round trip of a cheap action (exists), guestkit and libguestfs side by side.

Both libraries are launched once, each in its own worker process (guestkit with this
interpreter, libguestfs with Debian's /usr/bin/python3 and
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg), on a small raw disk made
into ext4 and mounted, with /x created.  Then, --runs times, each worker times --calls calls
of exists("/x"); the two sides alternate (which one goes first alternates too), so both see
the same machine when a load comes and goes.  Both appliances run under TCG.

Prints each run, then the median and minimum per call of both, and the ratio
libguestfs/guestkit (above 1: guestkit is faster).  --json-out FILE keeps every sample.

Usage: python bench/roundtrip.py [--calls 2000] [--runs 7] [--size-mb 64]
                                 [--skip-libguestfs] [--action exists|is_file]
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
    for line in sys.stdin:
        n = int(line)
        if n <= 0:
            break
        clock = time.perf_counter
        t0 = clock()
        for _ in range(n):
            call()
        out.write("%.9f\n" % (clock() - t0))
        out.flush()
    g.shutdown()
    g.close()


# ---- the parent -------------------------------------------------------------------------------

class Worker:
    def __init__(self, lib, python, img, action):
        self.lib = lib
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", lib, "--image", img,
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
        return float(line) / calls * 1000.0

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
        for i in range(a.runs):
            order = workers if i % 2 == 0 else workers[::-1]
            for w in order:
                ms = w.run(a.calls)
                samples[w.lib].append(ms)
                log("run %d/%d %-10s %s: %.4f ms per call" % (
                    i + 1, a.runs, w.lib, a.action, ms))
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print("%s() round trip, %d calls x %d runs (ms per call)" % (a.action, a.calls, a.runs))
    print("%-12s %10s %10s" % ("", "median", "min"))
    for lib, s in samples.items():
        print("%-12s %10.4f %10.4f" % (lib, statistics.median(s), min(s)))
    if "libguestfs" in samples:
        ratio = statistics.median(samples["libguestfs"]) / statistics.median(samples["guestkit"])
        print("libguestfs/guestkit (median): %.2f  (above 1: guestkit is faster)" % ratio)
    print(json.dumps({"action": a.action, "calls": a.calls, "samples_ms": samples}))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"action": a.action, "calls": a.calls, "samples_ms": samples}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
