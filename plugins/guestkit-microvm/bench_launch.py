#!/usr/bin/env python3
"""Launch time of the microvm backend against the direct one, with the same workload.

Each run, for each backend in turn (alternating, so a change in the machine's load hits
both alike): a new handle, a 256 MiB raw disk added, launch; then part_disk mbr, mkfs ext4,
mount, write, cat, list_devices; then close.  The appliance is built (or found in the
cache) before the clock starts, so launches never include a build.

Prints, per backend, the median and minimum of launch, workload and close over the runs,
and of qemu_cpu: the CPU time qemu had used when launch returned (summed over its threads,
from /proc/PID/task/*/schedstat).  Under TCG the boot is bound by the CPU, so on an idle
machine launch is about qemu_cpu plus a constant; on a busy one wall-clock figures swing
with the other load while qemu_cpu does not, which makes it the fairer comparison there.
Then the load average before and after, and one JSON line with every sample.

Usage: python bench_launch.py [--runs 10] [--settings force_tcg]
                              [--backends direct,microvm,microvm+pvh=off]
(a backend may carry extra settings after "+", themselves separated by "+")
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def one(guestkit, backend, settings, disk):
    backend, *extra = backend.split("+")
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_backend(backend)
    g.set_backend_settings(settings + extra)
    t0 = time.monotonic()
    g.add_drive_opts(disk, format="raw")
    g.launch()
    t1 = time.monotonic()
    cpu = qemu_cpu(g.get_pid())
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    g.write("/f", b"hello\n")
    assert g.cat("/f") == "hello\n"
    assert g.list_devices() == ["/dev/sda"]
    t2 = time.monotonic()
    g.close()
    t3 = time.monotonic()
    return {"launch": t1 - t0, "qemu_cpu": cpu, "work": t2 - t1, "close": t3 - t2}


def qemu_cpu(pid):
    """CPU seconds used so far by process PID, all threads."""
    total = 0
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open("%s/%s/schedstat" % (task, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--settings", default="force_tcg",
                    help="colon-separated backend settings for both (default force_tcg)")
    ap.add_argument("--backends", default="direct,microvm,microvm+pvh=off")
    a = ap.parse_args()
    import guestkit
    from guestkit.appliance import get_appliance
    backends = a.backends.split(",")
    settings = [s for s in a.settings.split(":") if s]
    samples = {b: [] for b in backends}
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="guestkit-bench-") as d:
        disk = os.path.join(d, "disk.img")
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", disk, "256M"], check=True)
        for i in range(a.runs):
            for b in backends:
                get_appliance()                 # built or found before the clock starts
                s = one(guestkit, b, settings, disk)
                samples[b].append(s)
                print("run %d %-16s launch %.2fs (qemu cpu %.2fs) work %.2fs close %.2fs"
                      % (i + 1, b, s["launch"], s["qemu_cpu"], s["work"], s["close"]),
                      file=sys.stderr)
    load1 = os.getloadavg()
    keys = ("launch", "qemu_cpu", "work", "close")
    print("%-16s" % "backend" + "".join("%18s" % (k + " med/min") for k in keys))
    for b in backends:
        cols = []
        for k in keys:
            v = [s[k] for s in samples[b]]
            cols.append("%6.2f / %5.2f s" % (statistics.median(v), min(v)))
        print("%-16s" % b + "".join("%18s" % c for c in cols))
    print("load average before %.2f, after %.2f (%d CPUs)"
          % (load0[0], load1[0], os.cpu_count()))
    print(json.dumps({"runs": a.runs, "settings": settings, "load": [load0[0], load1[0]],
                      "samples": samples}))


if __name__ == "__main__":
    main()
