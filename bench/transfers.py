#!/usr/bin/env python3
"""Transfer benchmark: tar_in / tar_out / copy_in / copy_out of a tree of 10,000 small files
and of one 1 GiB file, guestkit against libguestfs, measured in the same run.

The same worker code drives both libraries (guestkit is call-compatible with libguestfs's
Python binding); libguestfs runs under Debian's /usr/bin/python3 with
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg.

    python3 bench/transfers.py [--files 10000] [--big-mb 1024] [--skip-libguestfs]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time


def make_inputs(d, nfiles, big_mb):
    tree = os.path.join(d, "tree")
    for i in range(nfiles):
        sub = os.path.join(tree, "d%03d" % (i // 100))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%05d" % i), "wb") as f:
            f.write(os.urandom(512) * 2)
    big = os.path.join(d, "bigdir")
    os.makedirs(big)
    block = os.urandom(1 << 20)
    with open(os.path.join(big, "big.bin"), "wb") as f:
        for i in range(big_mb):
            f.write(block[i % 7:] + block[:i % 7])
    for name, src in (("tree.tar", tree), ("big.tar", big)):
        with tarfile.open(os.path.join(d, name), "w") as t:
            t.add(src, arcname=".")
    return tree, big


def worker(lib, d, disk_gb):
    """Run inside the chosen library's interpreter; prints a JSON object of timings."""
    if lib == "guestfs":
        import guestfs as mod
    else:
        import guestkit as mod
    img = os.path.join(d, "disk-%s.img" % lib)
    with open(img, "wb") as f:
        f.truncate(disk_gb << 30)
    g = mod.GuestFS(python_return_dict=True)
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    out = {}

    def timed(key, fn, *args):
        t0 = time.perf_counter()
        fn(*args)
        g.sync()
        out[key] = round(time.perf_counter() - t0, 3)

    for kind in ("tree", "big"):
        g.mkdir("/tar-" + kind)
        timed("tar_in_" + kind, g.tar_in, os.path.join(d, kind + ".tar"), "/tar-" + kind)
        res = os.path.join(d, "%s-%s-out.tar" % (lib, kind))
        timed("tar_out_" + kind, g.tar_out, "/tar-" + kind, res)
        os.unlink(res)
        g.mkdir("/copy-" + kind)
        src = os.path.join(d, "tree" if kind == "tree" else "bigdir")
        timed("copy_in_" + kind, g.copy_in, src, "/copy-" + kind)
        dest = os.path.join(d, "%s-%s-copy" % (lib, kind))
        os.mkdir(dest)
        timed("copy_out_" + kind, g.copy_out, "/copy-" + kind, dest)
        shutil.rmtree(dest)
    g.close()
    os.unlink(img)
    print(json.dumps(out))


def run(lib, d, disk_gb):
    py = "/usr/bin/python3" if lib == "guestfs" else sys.executable
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct",
               LIBGUESTFS_BACKEND_SETTINGS="force_tcg", TMPDIR=d)
    p = subprocess.run([py, os.path.abspath(__file__), "--worker", lib, d, str(disk_gb)],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("%s worker failed:\n%s" % (lib, p.stderr[-2000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--skip-libguestfs", action="store_true")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="guestkit-transfers-", dir="/var/tmp")
    try:
        make_inputs(d, a.files, a.big_mb)
        disk_gb = max(2, (a.big_mb * 5) // 1024 + 1)
        gk = run("guestkit", d, disk_gb)
        lg = None if a.skip_libguestfs else run("guestfs", d, disk_gb)
        print("%-20s %10s %10s %8s" % ("seconds", "guestkit", "libguestfs", "ratio"))
        for k in gk:
            r = lg[k] / gk[k] if lg and gk[k] else None
            print("%-20s %10.2f %10s %8s" % (k, gk[k], "%.2f" % lg[k] if lg else "-",
                                             "%.2fx" % r if r else "-"))
        print("ratio: libguestfs time / guestkit time (>1: guestkit faster)")
        print(json.dumps({"files": a.files, "big_mb": a.big_mb, "guestkit": gk,
                          "libguestfs": lg}))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
