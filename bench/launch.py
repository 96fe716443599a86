#!/usr/bin/env python3
"""Launch speed: guestkit's snapshot launch, its cold boot and libguestfs, in one run.

Measured, --runs times each (medians and minimums), the three sides alternated run by run:
  warm      new handle + add a 64 MiB raw drive + launch + the first answered call
            (blockdev_getsize64 /dev/sda): guestkit restoring its snapshot, guestkit booting
            cold (snapshot=off), libguestfs (direct backend, force_tcg)
  made      the launch that makes the snapshot (its snapshot removed first), against the
            cold boot: what the first launch of a new appliance costs
  swap      on a running appliance: add_drive (hot-plug) + mount + read a file + umount +
            remove_drive, against a fresh launch + mount + read + close
  exists    mean exists() round trip over --calls calls (guestkit, libguestfs)
  inspect   with --debian IMG: launch + inspect_os + close of that guest (read-only)
  ten       --parallel handles launched at once: total wall time, and the qemu processes'
            summed RSS and PSS while all run (PSS counts a shared page once in total:
            restored appliances share their snapshot's untouched RAM)
libguestfs runs with Debian's /usr/bin/python3 and python3-guestfs, never at the same time
as guestkit.  Ratios are libguestfs (or guestkit cold) / guestkit: above 1, guestkit's
snapshot launch is faster.

Usage: python bench/launch.py [--runs 5] [--calls 2000] [--parallel 10] [--skip-libguestfs]
                              [--debian IMG]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
LG_PYTHON = "/usr/bin/python3"
LG_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")

# the same code drives both libraries (guestkit in this process, libguestfs in a worker)
WORKLOADS = r"""
import time

def warm(mod, img, settings=()):
    t = time.monotonic()
    g = mod.GuestFS(python_return_dict=True)
    if settings:
        g.set_backend_settings(list(settings))
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.blockdev_getsize64("/dev/sda")
    took = time.monotonic() - t
    g.close()
    return took

def fresh_read(mod, img):
    t = time.monotonic()
    g = mod.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    g.mount_ro("/dev/sda", "/")
    g.read_file("/hello")
    g.close()
    return time.monotonic() - t

def inspect_once(mod, img):
    t = time.monotonic()
    g = mod.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    roots = g.inspect_os()
    g.close()
    assert roots
    return time.monotonic() - t

def exists(mod, img, calls):
    g = mod.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    g.mount_ro("/dev/sda", "/")
    for _ in range(50):
        g.exists("/hello")
    t = time.monotonic()
    for _ in range(calls):
        g.exists("/hello")
    took = (time.monotonic() - t) / calls * 1000
    g.close()
    return took
"""
exec(WORKLOADS)

WORKER = WORKLOADS + r"""
import json, sys
import guestfs
what, img = sys.argv[1], sys.argv[2]
if what == "warm":
    print(json.dumps(warm(guestfs, img)))
elif what == "fresh_read":
    print(json.dumps(fresh_read(guestfs, img)))
elif what == "inspect_once":
    print(json.dumps(inspect_once(guestfs, img)))
else:
    print(json.dumps(exists(guestfs, img, int(sys.argv[3]))))
"""


def log(msg):
    print("[launch] " + msg, file=sys.stderr, flush=True)


def lg(what, img, *extra):
    p = subprocess.run([LG_PYTHON, "-c", WORKER, what, img] + [str(e) for e in extra],
                       env=LG_ENV, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("libguestfs worker failed: %s" % p.stderr.strip()[-500:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_fs_image(path, mb, text):
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", path, "%dM" % mb], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True)
    src = path + ".hello"
    with open(src, "w") as f:
        f.write(text)
    subprocess.run(["debugfs", "-w", "-R", "write %s hello" % src, path], check=True,
                   capture_output=True)
    os.unlink(src)
    return path


def snapshot_dir(guestkit):
    g = guestkit.GuestFS()
    g.add_drive_scratch(1 << 20)
    g.launch()
    path = os.path.join(g._appliance.path, "snapshots")
    g.close()
    return path


def made_launch(guestkit, img, snaps):
    for name in os.listdir(snaps):
        if not name.startswith("."):
            shutil.rmtree(os.path.join(snaps, name), ignore_errors=True)
    return warm(guestkit, img)


def swap(guestkit, g, img):
    t = time.monotonic()
    g.add_drive_opts(img, format="raw", readonly=True, label="swap")
    g.mount_ro("/dev/disk/guestfs/swap", "/")
    g.read_file("/hello")
    g.umount_all()
    g.remove_drive("swap")
    return time.monotonic() - t


def memory_of(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def parallel(guestkit, img, n, settings):
    handles, errors = [], []

    def one():
        try:
            g = guestkit.GuestFS()
            g.set_backend_settings(list(settings))
            g.add_drive_opts(img, format="raw", readonly=True)
            g.launch()
            g.blockdev_getsize64("/dev/sda")
            handles.append(g)
        except Exception as e:          # noqa: B902 - reported
            errors.append(e)
    t = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t
    mem = [memory_of(g.get_pid()) for g in handles]
    for g in handles:
        g.close()
    if errors:
        raise errors[0]
    return {"wall_s": wall, "rss_MB": sum(m.get("Rss", 0) for m in mem) / 1e6,
            "pss_MB": sum(m.get("Pss", 0) for m in mem) / 1e6}


def med(xs):
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--skip-libguestfs", action="store_true")
    ap.add_argument("--debian", metavar="IMG",
                    help="also time launch + inspect_os + close on this raw guest image "
                         "(e.g. the Debian-on-LVM image bench/inspection.py builds)")
    a = ap.parse_args()
    import guestkit
    tmp = tempfile.mkdtemp(prefix="gk-launch-")
    try:
        img = make_fs_image(os.path.join(tmp, "d.img"), 64, "hello\n")
        img2 = make_fs_image(os.path.join(tmp, "e.img"), 64, "other\n")
        log("warming up (appliance build, snapshot)")
        snaps = snapshot_dir(guestkit)
        warm(guestkit, img)
        if not a.skip_libguestfs:
            lg("warm", img)
        s = {k: [] for k in ("gk", "gk_cold", "lg", "made", "swap", "fresh", "lg_fresh",
                             "exists", "lg_exists")}
        for r in range(a.runs):
            log("run %d/%d" % (r + 1, a.runs))
            s["gk"].append(warm(guestkit, img))
            s["gk_cold"].append(warm(guestkit, img, ["snapshot=off"]))
            if not a.skip_libguestfs:
                s["lg"].append(lg("warm", img))
            s["made"].append(made_launch(guestkit, img, snaps))
            g = guestkit.GuestFS(python_return_dict=True)
            g.add_drive_scratch(1 << 20)
            g.launch()
            s["swap"].append(swap(guestkit, g, img2))
            g.close()
            s["fresh"].append(fresh_read(guestkit, img2))
            if not a.skip_libguestfs:
                s["lg_fresh"].append(lg("fresh_read", img2))
            if a.debian:
                s.setdefault("inspect", []).append(inspect_once(guestkit, a.debian))
                if not a.skip_libguestfs:
                    s.setdefault("lg_inspect", []).append(lg("inspect_once", a.debian))
            s["exists"].append(exists(guestkit, img, a.calls))
            if not a.skip_libguestfs:
                s["lg_exists"].append(lg("exists", img, a.calls))
        log("%d handles at once" % a.parallel)
        par = {"snapshot": parallel(guestkit, img, a.parallel, []),
               "cold": parallel(guestkit, img, a.parallel, ["snapshot=off"])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def row(label, mine, other, other_label):
        m, o = med(mine), med(other)
        print("%-44s %8.3f  %8s  %s" % (label, m, "%.3f" % o if o else "-",
                                        "%.1fx (%s)" % (o / m, other_label) if o else ""))
    print("%-44s %8s  %8s  %s" % ("median of %d runs" % a.runs, "guestkit", "other",
                                  "ratio other/guestkit"))
    row("warm launch + first call, snapshot (s)", s["gk"], s["lg"], "libguestfs")
    row("warm launch + first call, cold boot (s)", s["gk_cold"], s["lg"], "libguestfs")
    row("snapshot launch vs guestkit cold boot (s)", s["gk"], s["gk_cold"], "cold")
    row("launch making the snapshot vs cold (s)", s["made"], s["gk_cold"], "cold")
    row("hot-plug swap vs fresh launch, guestkit (s)", s["swap"], s["fresh"], "fresh")
    row("hot-plug swap vs libguestfs fresh launch (s)", s["swap"], s["lg_fresh"],
        "libguestfs")
    row("exists() round trip (ms)", s["exists"], s["lg_exists"], "libguestfs")
    if a.debian:
        row("launch + inspect_os + close, Debian (s)", s["inspect"], s.get("lg_inspect"),
            "libguestfs")
    print("minimum warm launch: snapshot %.3f s, cold %.3f s, libguestfs %s"
          % (min(s["gk"]), min(s["gk_cold"]), "%.3f s" % min(s["lg"]) if s["lg"] else "-"))
    for k, v in par.items():
        print("%d handles at once, %-8s: wall %.2f s, qemu RSS %.0f MB, PSS %.0f MB"
              % (a.parallel, k, v["wall_s"], v["rss_MB"], v["pss_MB"]))
    print(json.dumps({"samples": s, "parallel": par}))


if __name__ == "__main__":
    main()
