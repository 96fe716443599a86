#!/usr/bin/env python3
"""Fleet throughput: guests inspected per minute, for --guests small guests (50 by default),
by `guestkit.fleet` (its embedded Dask cluster, as `guestkit fleet inspect` runs it), by a
serial loop of guestkit handles, and by a serial loop of libguestfs handles, in one run.

Each guest is a 16 MiB ext4 image made by mke2fs -d from a small tree: /etc/os-release,
/etc/hostname, /etc/fstab and a dpkg status file listing a few packages.  Per guest, both
serial loops do what an estate script does: a handle, the disk added read-only, launch,
inspect_os, every getter, the filesystems mounted, inspect_list_applications2, close.  The
fleet job (`inspect`, no icon) does at least that much.  The serial loops run in one process
each (libguestfs with Debian's /usr/bin/python3 and force_tcg), never at the same time as
another measurement.  --libguestfs-guests K measures libguestfs's loop on the first K
guests only (its rate is per guest; the table says how many it ran).

Usage: python bench/fleet.py [--guests 50] [--workers N] [--libguestfs-guests K]
                             [--workdir DIR] [--skip-libguestfs]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
PACKAGES = ("base-files 12.4", "bash 5.2.15-2", "coreutils 9.1-1", "openssh-server 1:9.2p1-2",
            "libc6 2.36-9")
DISTROS = (("debian", "12"), ("ubuntu", "22.04"), ("fedora", "39"), ("debian", "11"))

LOOP = r"""
import json, sys, time
mod = __import__(sys.argv[1])
guests = json.loads(sys.argv[2])
t = time.monotonic()
apps = 0
for img in guests:
    g = mod.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw", readonly=True)
    g.launch()
    for root in g.inspect_os():
        for name in ("type", "distro", "product_name", "major_version", "minor_version",
                     "arch", "hostname", "package_format", "package_management"):
            getattr(g, "inspect_get_" + name)(root)
        mps = g.inspect_get_mountpoints(root)
        for mp in sorted(mps, key=len):
            g.mount_ro(mps[mp], mp)
        apps += len(g.inspect_list_applications2(root))
        g.umount_all()
    g.close()
print(json.dumps({"seconds": time.monotonic() - t, "applications": apps}))
"""


def log(msg):
    print("[fleet-bench] " + msg, file=sys.stderr, flush=True)


def make_guests(d, n):
    out = []
    for i in range(n):
        distro, version = DISTROS[i % len(DISTROS)]
        tree = os.path.join(d, "tree%d" % i)
        for sub in ("etc", "var/lib/dpkg", "usr/bin"):
            os.makedirs(os.path.join(tree, sub), exist_ok=True)
        with open(os.path.join(tree, "etc/os-release"), "w") as f:
            f.write('NAME="%s"\nID=%s\nVERSION_ID="%s"\n' % (distro.capitalize(), distro,
                                                             version))
        with open(os.path.join(tree, "etc/hostname"), "w") as f:
            f.write("guest%03d\n" % i)
        with open(os.path.join(tree, "etc/fstab"), "w") as f:
            f.write("/dev/sda / ext4 defaults 0 1\n")
        with open(os.path.join(tree, "var/lib/dpkg/status"), "w") as f:
            for p in PACKAGES:
                name, ver = p.split()
                f.write("Package: %s\nStatus: install ok installed\nArchitecture: amd64\n"
                        "Version: %s\nDescription: %s\n\n" % (name, ver, name))
        img = os.path.join(d, "guest%03d.img" % i)
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", tree, "-F", img, "16M"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tree)
        out.append(img)
    return out


def serial(python, module, guests, env=None):
    p = subprocess.run([python, "-c", LOOP, module, json.dumps(guests)], env=env, check=True,
                       capture_output=True, text=True, cwd=os.path.join(HERE, ".."))
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"]


def fleet_run(guests, workers):
    from guestkit import fleet
    t = time.monotonic()
    recs = list(fleet.run(guests, "inspect", params={"applications": True, "icon": False},
                          workers=workers, timeout=600))
    took = time.monotonic() - t
    bad = [r for r in recs if r["status"] != "ok"]
    if bad or len(recs) != len(guests):
        raise SystemExit("fleet: %d of %d records failed: %s" % (len(bad), len(guests),
                                                                 bad[:1]))
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--guests", type=int, default=50)
    ap.add_argument("--workers", type=int, help="fleet workers (default: as fleet sizes)")
    ap.add_argument("--libguestfs-guests", type=int, help="libguestfs's loop on K guests")
    ap.add_argument("--workdir", help="keep the guests here")
    ap.add_argument("--skip-libguestfs", action="store_true")
    a = ap.parse_args()
    d = a.workdir or tempfile.mkdtemp(prefix="gk-bench-fleet-")
    os.makedirs(d, exist_ok=True)
    try:
        log("making %d guests in %s" % (a.guests, d))
        guests = make_guests(d, a.guests)
        from guestkit.fleet.cluster import local_workers
        workers = a.workers or local_workers()
        # warm guestkit's appliance and snapshot so that neither side pays a build
        serial(sys.executable, "guestkit", guests[:1])
        rows = []
        log("guestkit serial loop on %d guests" % len(guests))
        rows.append(("guestkit serial loop", len(guests),
                     serial(sys.executable, "guestkit", guests)))
        log("guestkit fleet (%d workers) on %d guests" % (workers, len(guests)))
        rows.append(("guestkit fleet, %d workers" % workers, len(guests),
                     fleet_run(guests, workers)))
        if not a.skip_libguestfs:
            k = min(a.libguestfs_guests or len(guests), len(guests))
            serial("/usr/bin/python3", "guestfs", guests[:1], LIBGUESTFS_ENV)   # warm
            log("libguestfs serial loop on %d guests" % k)
            rows.append(("libguestfs serial loop", k,
                         serial("/usr/bin/python3", "guestfs", guests[:k], LIBGUESTFS_ENV)))
        rate = {name: 60.0 * n / s for name, n, s in rows}
        print("%-28s %7s %10s %13s" % ("", "guests", "seconds", "guests/min"))
        for name, n, s in rows:
            print("%-28s %7d %10.1f %13.1f" % (name, n, s, rate[name]))
        fleet_name = rows[1][0]
        print("fleet / guestkit serial loop: %.2fx" % (rate[fleet_name] /
                                                      rate["guestkit serial loop"]))
        if not a.skip_libguestfs:
            lg = rate["libguestfs serial loop"]
            print("fleet / libguestfs serial loop: %.1fx" % (rate[fleet_name] / lg))
            print("guestkit serial loop / libguestfs serial loop: %.1fx"
                  % (rate["guestkit serial loop"] / lg))
        print(json.dumps({"rows": rows, "workers": workers, "cpus": os.cpu_count()}))
    finally:
        if not a.workdir:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
