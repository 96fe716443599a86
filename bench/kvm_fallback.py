#!/usr/bin/env python3
"""What a host whose KVM fails late costs a launch, measured on this machine.

Such a host passes the KVM probe (the firmware runs) and then breaks in one of three ways;
tests/fake_kvm.py's qemu wrapper reproduces each (see there).  For each way this script
times, under TCG (the only accelerator that works in the end):

  tcg        a launch with force_tcg (the yardstick)
  first      the first launch on the broken host: probe, KVM attempt, fallback, TCG launch
  next       the launch after it, which goes straight to TCG (the verdict is cached)

and libguestfs's TCG launch in the same run (LIBGUESTFS_BACKEND_SETTINGS=force_tcg, the only
way it runs on such a host: without it, libguestfs waits for its launch timeout).  Medians of
--runs runs.  Usage: python bench/kvm_fallback.py [--runs 3] [--skip-libguestfs]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import guestkit                                         # noqa: E402
from tests.fake_kvm import make_wrapper                 # noqa: E402

LIBGUESTFS = """
import guestfs, sys, time
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_opts(sys.argv[1], format="raw")
t = time.monotonic(); g.launch(); print(time.monotonic() - t)
g.close()
"""


def launch(img, hv=None, settings=()):
    g = guestkit.GuestFS(environment=False)
    if hv:
        g.set_hv(hv)
    g.set_backend_settings(list(settings))
    g.add_drive_opts(img, format="raw")
    t0 = time.monotonic()
    g.launch()
    took = time.monotonic() - t0
    g.close()
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-libguestfs", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as d:
        img = os.path.join(d, "d.img")
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", img, "64M"], check=True)
        launch(img, settings=["force_tcg"])             # the appliance is built and warm
        rows = {"tcg": [launch(img, settings=["force_tcg"]) for _ in range(a.runs)]}
        for mode in ("exit", "hang", "silent"):
            first, nxt = [], []
            for i in range(a.runs):
                hv = make_wrapper(os.path.join(d, "%s-%d" % (mode, i)), mode)
                first.append(launch(img, hv=hv))
                nxt.append(launch(img, hv=hv))
            rows[mode + " first"], rows[mode + " next"] = first, nxt
        if not a.skip_libguestfs:
            env = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                       LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
            rows["libguestfs tcg"] = [float(subprocess.run(
                ["/usr/bin/python3", "-c", LIBGUESTFS, img], env=env, check=True,
                capture_output=True, text=True).stdout) for _ in range(a.runs)]
    base = statistics.median(rows["tcg"])
    print("%-18s %8s %10s" % ("launch", "median s", "vs tcg"))
    for name, xs in rows.items():
        m = statistics.median(xs)
        print("%-18s %8.2f %+9.2fs" % (name, m, m - base))


if __name__ == "__main__":
    main()
