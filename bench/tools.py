#!/usr/bin/env python3
"""The virt-* tools, guestkit's against libguestfs's, on a debootstrapped Debian 12 on LVM
(tests/guest_images.py builds it; --image uses another raw image).

Each command is a whole command-line run, launch included, appliance caches warm:
  cat          guestkit cat -a IMG /etc/os-release      /  virt-cat
  ls-lR        guestkit ls -a IMG -lR /etc              /  virt-ls
  df           guestkit df -a IMG                       /  virt-df
  filesystems  guestkit filesystems -a IMG --all --long /  virt-filesystems
Medians of --runs, guestkit and libguestfs alternated; the ratio is libguestfs/guestkit
(above 1: guestkit is faster).
libguestfs runs with LIBGUESTFS_BACKEND_SETTINGS=force_tcg, never at the same time as
guestkit.  Usage: python bench/tools.py [--runs 3] [--image IMG] [--workdir DIR]
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import debian_guest  # noqa: E402  (bench/debian_guest.py)

COMMANDS = (("cat", "virt-cat", ["/etc/os-release"]),
            ("ls-lR", "virt-ls", ["-lR", "/etc"]),
            ("df", "virt-df", []),
            ("filesystems", "virt-filesystems", ["--all", "--long"]))


def main():
    a, img, tmp = debian_guest.start(__doc__, "gk-bench-tools-")
    lg_env = debian_guest.LIBGUESTFS_ENV
    ours = {name: [] for name, _, _ in COMMANDS}
    theirs = {name: [] for name, _, _ in COMMANDS}
    for name, virt, args in COMMANDS:
        for _ in range(a.runs):          # alternated: both see the same machine load
            ours[name].append(debian_guest.timed(
                [sys.executable, "-m", "guestkit.cli", name.split("-")[0], "--format=raw",
                 "-a", img] + args))
            theirs[name].append(debian_guest.timed([virt, "--format=raw", "-a", img] + args,
                                                   lg_env))
        print("%s done" % name, file=sys.stderr)
    print("medians of %d runs, seconds" % a.runs)
    print("%-12s %10s %12s %8s" % ("", "guestkit", "libguestfs", "ratio"))
    for name, _, _ in COMMANDS:
        m1, m2 = statistics.median(ours[name]), statistics.median(theirs[name])
        print("%-12s %10.2f %12.2f %7.1fx" % (name, m1, m2, m2 / m1))
    if tmp:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
