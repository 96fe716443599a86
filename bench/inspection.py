#!/usr/bin/env python3
"""Inspection speed, guestkit against libguestfs, on a debootstrapped Debian 12 installed on
LVM (tests/guest_images.py builds it; --image uses another raw image).

For each library, --runs times, after a launch (not timed: see compare.py for launches):
  inspect   inspect_os + every inspect_get_* of each root + mounting its filesystems
            (libguestfs needs them mounted) + inspect_list_applications2
and the whole command-line run, launch included, with the appliance cache warm:
  tool      guestkit inspect -a IMG   /   virt-inspector -a IMG
Medians; the ratio is libguestfs/guestkit (above 1: guestkit is faster).  libguestfs runs
with Debian's /usr/bin/python3 and LIBGUESTFS_BACKEND_SETTINGS=force_tcg, never at the same
time as guestkit.  Usage: python bench/inspection.py [--runs 3] [--image IMG] [--workdir DIR]
"""
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import debian_guest  # noqa: E402  (bench/debian_guest.py)

# every getter Debian's libguestfs has (it lacks build_id; format is deprecated)
GETTERS = ("type", "distro", "product_name", "product_variant", "major_version",
           "minor_version", "arch", "hostname", "package_format", "package_management",
           "osinfo", "mountpoints", "filesystems", "drive_mappings")

WORKER = r"""
import sys, time
mod = __import__(sys.argv[1])
g = mod.GuestFS(python_return_dict=True)
g.add_drive_opts(sys.argv[2], format="raw", readonly=True)
g.launch()
t = time.monotonic()
for root in g.inspect_os():
    for name in %r:
        getattr(g, "inspect_get_" + name)(root)
    # libguestfs reads the package database through the mounted filesystems
    mps = g.inspect_get_mountpoints(root)
    for mp in sorted(mps, key=len):
        g.mount_ro(mps[mp], mp)
    n = len(g.inspect_list_applications2(root))
    g.umount_all()
print(time.monotonic() - t, n)
g.close()
""" % (GETTERS,)




def main():
    a, img, tmp = debian_guest.start(__doc__, "gk-bench-inspect-")
    lg_env = debian_guest.LIBGUESTFS_ENV
    rows = {"inspect": ([], []), "tool": ([], [])}
    apps = None
    for _ in range(a.runs):
        out = subprocess.run([sys.executable, "-c", WORKER, "guestkit", img], check=True,
                             capture_output=True, text=True, cwd=os.path.join(HERE, "..")
                             ).stdout.split()
        rows["inspect"][0].append(float(out[0]))
        apps = out[1]
        rows["tool"][0].append(debian_guest.timed([sys.executable, "-m", "guestkit.cli",
                                                   "inspect", "--format=raw", "-a", img]))
    for _ in range(a.runs):
        out = subprocess.run(["/usr/bin/python3", "-c", WORKER, "guestfs", img], env=lg_env,
                             check=True, capture_output=True, text=True).stdout.split()
        rows["inspect"][1].append(float(out[0]))
        rows["tool"][1].append(debian_guest.timed(["virt-inspector", "--format=raw", "-a", img],
                                                  lg_env))
    print("%d applications; medians of %d runs" % (int(apps), a.runs))
    print("%-10s %10s %12s %8s" % ("", "guestkit s", "libguestfs s", "ratio"))
    for name, (ours, theirs) in rows.items():
        m1, m2 = statistics.median(ours), statistics.median(theirs)
        print("%-10s %10.2f %12.2f %7.1fx" % (name, m1, m2, m2 / m1))
    if tmp:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
