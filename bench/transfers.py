#!/usr/bin/env python3
"""Transfer benchmark: tar_in / tar_out / copy_in / copy_out / rsync_in / rsync_out of a tree
of 10,000 small files and of one 1 GiB file, guestkit against libguestfs, measured in the
same run.

The same worker code drives both libraries (guestkit is call-compatible with libguestfs's
Python binding); libguestfs runs under Debian's /usr/bin/python3 with
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg.

    python3 bench/transfers.py [--files 10000] [--big-mb 1024] [--skip-libguestfs]
                               [--no-rsync]

rsync runs against an rsync daemon this script starts on 127.0.0.1 (the appliances reach it
as 169.254.2.2 with their network enabled); libguestfs needs Debian's libguestfs-rsync for
it, and its rsync figures are left out if that is missing.
"""

import argparse
import json
import os
import shutil
import socket
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


def worker(lib, d, disk_gb, rsync_url):
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
    g.set_network(bool(rsync_url))
    g.launch()
    if rsync_url and not g.feature_available(["rsync"]):
        rsync_url = None
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
        if rsync_url:
            g.mkdir("/rsync-" + kind)
            module = "tree" if kind == "tree" else "bigdir"
            timed("rsync_in_" + kind, lambda: g.rsync_in(
                "%s/%s/" % (rsync_url, module), "/rsync-" + kind, archive=True))
            out_dir = os.path.join(d, "out", kind)
            os.makedirs(out_dir)
            timed("rsync_out_" + kind, lambda: g.rsync_out(
                "/rsync-" + kind + "/", "%s/out/%s/" % (rsync_url, kind), archive=True))
            shutil.rmtree(out_dir)
    g.close()
    os.unlink(img)
    print(json.dumps(out))


def start_rsync_daemon(d):
    """An rsync daemon on 127.0.0.1 serving D (modules tree, bigdir, out); returns (process,
    URL as the appliance sees it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(d, "rsyncd.conf")
    os.makedirs(os.path.join(d, "out"), exist_ok=True)
    with open(conf, "w") as f:
        f.write("use chroot = no\nnumeric ids = yes\n"
                + ("uid = root\ngid = root\n" if os.geteuid() == 0 else ""))
        for m in ("tree", "bigdir", "out"):
            f.write("[%s]\npath = %s\nread only = %s\n"
                    % (m, os.path.join(d, m), "no" if m == "out" else "yes"))
    p = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=" + conf,
                          "--address=127.0.0.1", "--port=%d" % port])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.05)
    return p, "rsync://169.254.2.2:%d" % port


def run(lib, d, disk_gb, rsync_url):
    py = "/usr/bin/python3" if lib == "guestfs" else sys.executable
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct",
               LIBGUESTFS_BACKEND_SETTINGS="force_tcg", TMPDIR=d)
    p = subprocess.run([py, os.path.abspath(__file__), "--worker", lib, d, str(disk_gb),
                        rsync_url or ""], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("%s worker failed:\n%s" % (lib, p.stderr[-2000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] or None)
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--skip-libguestfs", action="store_true")
    ap.add_argument("--no-rsync", action="store_true", help="leave out rsync_in/rsync_out")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="guestkit-transfers-", dir="/var/tmp")
    daemon = None
    try:
        make_inputs(d, a.files, a.big_mb)
        daemon, url = (None, None) if a.no_rsync else start_rsync_daemon(d)
        disk_gb = max(2, (a.big_mb * 7) // 1024 + 1)
        gk = run("guestkit", d, disk_gb, url)
        lg = None if a.skip_libguestfs else run("guestfs", d, disk_gb, url)
        print("%-20s %10s %10s %8s" % ("seconds", "guestkit", "libguestfs", "ratio"))
        for k in gk:
            lk = lg.get(k) if lg else None
            r = lk / gk[k] if lk and gk[k] else None
            print("%-20s %10.2f %10s %8s" % (k, gk[k], "%.2f" % lk if lk else "-",
                                             "%.2fx" % r if r else "-"))
        print("ratio: libguestfs time / guestkit time (>1: guestkit faster)")
        print(json.dumps({"files": a.files, "big_mb": a.big_mb, "guestkit": gk,
                          "libguestfs": lg}))
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
