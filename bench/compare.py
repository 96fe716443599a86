#!/usr/bin/env python3
"""Benchmark guestkit against libguestfs on this machine, with the same workload.

The workload is the one of the libguestfs anchor script (libguestfs_anchor.py):

  launch_s       handle creation + add a 1 GiB raw disk + launch
  call_ms        mean round trip of exists() over --calls calls
                 (after part_disk mbr, mkfs ext4, mount, touch)
  upload_MBps    upload of --size-mb MiB of random data + sync
  download_MBps  download of the same file (then verified against the original)
  shutdown_s     shutdown + close

guestkit is measured in this process: first its cold launch (--runs times, each with a new
empty cache directory, so the appliance build is included), then the whole workload
--runs times with the cache filled (warm launch). libguestfs is measured afterwards, never at
the same time, by running the anchor script with Debian's /usr/bin/python3 in a subprocess
(LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg): --runs times with a new
empty LIBGUESTFS_CACHEDIR and a tiny workload for its cold launch, then --runs times with the
full workload and that cache filled. Both sides run the appliance under TCG.

Prints a table (median of the runs, and the minimum for launches) with guestkit's value,
libguestfs's value and the ratio: for times libguestfs/guestkit (a speedup), for rates
guestkit/libguestfs; above 1 means guestkit is faster. Then one JSON line with everything.

Everything (images, caches, the anchor's own temporary files) lives in one temporary
directory that is deleted at the end. Only the standard library and guestkit are used.

Usage: python bench/compare.py [--size-mb 256] [--calls 500] [--runs 3]
                               [--skip-libguestfs] [--json-out FILE] [--anchor PATH]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_ANCHOR = "/work/shared/bench/libguestfs_anchor.py"
LG_PYTHON = "/usr/bin/python3"
DISK_SIZE = 1 << 30
CHUNK = 1 << 20

# metric name -> (label, kind); kind "time": smaller is better, "rate": larger is better
METRICS = [
    ("cold_launch_s", "cold launch (s), appliance build incl.", "time"),
    ("launch_s", "warm launch (s)", "time"),
    ("call_ms", "exists() round trip (ms)", "time"),
    ("upload_MBps", "upload + sync (MB/s)", "rate"),
    ("download_MBps", "download (MB/s)", "rate"),
    ("shutdown_s", "shutdown + close (s)", "time"),
]


def log(msg):
    print("[compare] " + msg, file=sys.stderr, flush=True)


def make_disk(path):
    with open(path, "wb") as f:
        f.truncate(DISK_SIZE)


def make_random_file(path, size_mb):
    with open(path, "wb") as f:
        for _ in range(size_mb):
            f.write(os.urandom(CHUNK))


def same_content(p1, p2):
    if os.path.getsize(p1) != os.path.getsize(p2):
        return False
    with open(p1, "rb") as f1, open(p2, "rb") as f2:
        while True:
            b1 = f1.read(CHUNK * 8)
            b2 = f2.read(CHUNK * 8)
            if b1 != b2:
                return False
            if not b1:
                return True


def summarize(samples):
    """median / min / max / samples of a list of numbers (None if empty)."""
    if not samples:
        return None
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": list(samples)}


# ---- guestkit ---------------------------------------------------------------------------------

def gk_handle(guestkit, cachedir, img):
    """Handle creation + add the disk: the part of launch_s before launch()."""
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_cachedir(cachedir)
    g.set_backend("direct")
    g.set_backend_settings(["force_tcg"])       # as the anchor: KVM is broken here
    g.add_drive_opts(img, format="raw")
    return g


def gk_cold_launch(guestkit, cachedir, img):
    """Seconds for handle + add disk + launch with an empty cache directory."""
    g = None
    try:
        t0 = time.perf_counter()
        g = gk_handle(guestkit, cachedir, img)
        g.launch()
        elapsed = time.perf_counter() - t0
        g.shutdown()
    finally:
        if g is not None:
            g.close()
    return elapsed


def gk_workload(guestkit, cachedir, work, big, size_mb, calls):
    """The anchor's workload, with guestkit. Returns a dict of the anchor's metrics."""
    img = os.path.join(work, "disk.img")
    out = os.path.join(work, "out.bin")
    make_disk(img)
    r = {}
    g = None
    try:
        t0 = time.perf_counter()
        g = gk_handle(guestkit, cachedir, img)
        g.launch()
        r["launch_s"] = time.perf_counter() - t0
        g.part_disk("/dev/sda", "mbr")
        g.mkfs("ext4", "/dev/sda1")
        g.mount("/dev/sda1", "/")
        g.touch("/x")
        t0 = time.perf_counter()
        for _ in range(calls):
            g.exists("/x")
        r["call_ms"] = (time.perf_counter() - t0) / calls * 1000
        t0 = time.perf_counter()
        g.upload(big, "/big.bin")
        g.sync()
        r["upload_MBps"] = size_mb / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        g.download("/big.bin", out)
        r["download_MBps"] = size_mb / (time.perf_counter() - t0)
        if not same_content(out, big):
            raise RuntimeError("guestkit: the downloaded file differs from the uploaded one")
        t0 = time.perf_counter()
        g.shutdown()
        g.close()
        g = None
        r["shutdown_s"] = time.perf_counter() - t0
    finally:
        if g is not None:
            g.close()
        for p in (img, out):
            if os.path.exists(p):
                os.unlink(p)
    return r


def bench_guestkit(a, tmp, big):
    import guestkit

    res = {"version": None, "cold_launch_s": [], "launch_s": [], "call_ms": [],
           "upload_MBps": [], "download_MBps": [], "shutdown_s": []}
    v = guestkit.GuestFS(python_return_dict=True).version()
    res["version"] = "%d.%d.%d%s" % (v["major"], v["minor"], v["release"], v["extra"])

    work = os.path.join(tmp, "guestkit")
    os.makedirs(work)
    img = os.path.join(work, "cold.img")
    make_disk(img)
    cachedir = None
    for i in range(a.runs):
        if cachedir is not None:
            shutil.rmtree(cachedir, ignore_errors=True)
        cachedir = tempfile.mkdtemp(prefix="cache-", dir=work)
        s = gk_cold_launch(guestkit, cachedir, img)
        res["cold_launch_s"].append(s)
        log("guestkit cold launch %d/%d: %.3f s" % (i + 1, a.runs, s))
    os.unlink(img)

    for i in range(a.runs):                     # the cache directory is filled now: warm
        r = gk_workload(guestkit, cachedir, work, big, a.size_mb, a.calls)
        for k, val in r.items():
            res[k].append(val)
        log("guestkit run %d/%d: %s" % (i + 1, a.runs, fmt_run(r)))
    shutil.rmtree(work, ignore_errors=True)
    return res


# ---- libguestfs -------------------------------------------------------------------------------

def lg_check(anchor):
    """(version, None) when libguestfs can be measured, else (None, reason)."""
    if not os.path.exists(LG_PYTHON):
        return None, "%s not found" % LG_PYTHON
    if not os.path.exists(anchor):
        return None, "the anchor script %s not found" % anchor
    p = subprocess.run(
        [LG_PYTHON, "-c", "import guestfs; v = guestfs.GuestFS().version(); "
                          "print('%d.%d.%d%s' % (v['major'], v['minor'], v['release'], "
                          "v['extra']))"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        return None, ("libguestfs is not installed (no python3-guestfs for %s: %s)"
                      % (LG_PYTHON, (p.stderr.strip().splitlines() or ["?"])[-1]))
    return p.stdout.strip(), None


def lg_run(anchor, tmp, cachedir, size_mb, calls):
    """One run of the anchor; its JSON result as a dict."""
    run_tmp = tempfile.mkdtemp(prefix="anchor-", dir=tmp)   # the anchor does not clean up
    env = dict(os.environ)
    env.update({"LIBGUESTFS_BACKEND": "direct", "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg",
                "LIBGUESTFS_CACHEDIR": cachedir, "TMPDIR": run_tmp})
    try:
        p = subprocess.run([LG_PYTHON, anchor, "--size-mb", str(size_mb), "--calls", str(calls)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode != 0:
            tail = "\n  ".join(p.stderr.strip().splitlines()[-5:])
            raise RuntimeError("the anchor failed (exit %d):\n  %s" % (p.returncode, tail))
        lines = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("{")]
        if not lines:
            raise RuntimeError("the anchor printed no JSON: %r" % p.stdout[-500:])
        return json.loads(lines[-1])
    finally:
        shutil.rmtree(run_tmp, ignore_errors=True)


def bench_libguestfs(a, tmp, version):
    res = {"version": version, "cold_launch_s": [], "launch_s": [], "call_ms": [],
           "upload_MBps": [], "download_MBps": [], "shutdown_s": []}
    work = os.path.join(tmp, "libguestfs")
    os.makedirs(work)
    cachedir = None
    for i in range(a.runs):
        if cachedir is not None:
            shutil.rmtree(cachedir, ignore_errors=True)
        cachedir = tempfile.mkdtemp(prefix="cache-", dir=work)
        # Only its launch_s is used: a tiny workload for the rest.
        r = lg_run(a.anchor, work, cachedir, 1, 1)
        res["cold_launch_s"].append(r["launch_s"])
        log("libguestfs cold launch %d/%d: %.3f s" % (i + 1, a.runs, r["launch_s"]))
    for i in range(a.runs):
        r = lg_run(a.anchor, work, cachedir, a.size_mb, a.calls)
        for k, val in r.items():
            if k in res:
                res[k].append(val)
        log("libguestfs run %d/%d: %s" % (i + 1, a.runs, fmt_run(r)))
    shutil.rmtree(work, ignore_errors=True)
    return res


# ---- report -----------------------------------------------------------------------------------

def fmt_run(r):
    return ", ".join("%s=%.3f" % (k, v) for k, v in r.items())


def ratio(kind, gk, lg):
    if gk is None or lg is None or gk <= 0 or lg <= 0:
        return None
    return lg / gk if kind == "time" else gk / lg


def fmt(v, digits=3):
    return "-" if v is None else "%.*f" % (digits, v)


def report(a, gk, lg, lg_error, started):
    summary = {"guestkit": {}, "libguestfs": {} if lg else None, "ratio": {}}
    rows = []
    for key, label, kind in METRICS:
        g = summarize(gk[key])
        l_ = summarize(lg[key]) if lg else None
        summary["guestkit"][key] = g
        if lg:
            summary["libguestfs"][key] = l_
        stats = ["median", "min"] if key.endswith("launch_s") else ["median"]
        for st in stats:
            gv = g[st] if g else None
            lv = l_[st] if l_ else None
            r = ratio(kind, gv, lv)
            summary["ratio"][key if st == "median" else key + "_" + st] = r
            rows.append(("%s%s" % (label, "" if st == "median" else " min"), gv, lv, r))

    print()
    print("guestkit %s vs libguestfs %s  (size %d MiB, %d calls, %d runs; TCG; medians)"
          % (gk["version"], lg["version"] if lg else "-", a.size_mb, a.calls, a.runs))
    w = max(len(r[0]) for r in rows)
    print("%-*s  %10s  %10s  %8s" % (w, "metric", "guestkit", "libguestfs", "ratio"))
    print("-" * (w + 34))
    for label, gv, lv, r in rows:
        print("%-*s  %10s  %10s  %8s" % (w, label, fmt(gv), fmt(lv),
                                          "-" if r is None else "%.2fx" % r))
    print("ratio: times libguestfs/guestkit, rates guestkit/libguestfs (>1: guestkit faster)")
    if lg_error:
        print("libguestfs: not measured: %s" % lg_error)

    everything = {
        "params": {"size_mb": a.size_mb, "calls": a.calls, "runs": a.runs,
                   "disk_bytes": DISK_SIZE, "accel": "tcg"},
        "host": {"nproc": os.cpu_count(), "loadavg_start": started["loadavg"],
                 "loadavg_end": list(os.getloadavg()),
                 "python": sys.version.split()[0], "kernel": platform.release()},
        "guestkit_version": gk["version"],
        "libguestfs_version": lg["version"] if lg else None,
        "libguestfs_error": lg_error,
        "guestkit": summary["guestkit"],
        "libguestfs": summary["libguestfs"],
        "ratio": summary["ratio"],
        "elapsed_s": time.perf_counter() - started["t"],
    }
    line = json.dumps(_rounded(everything), sort_keys=True)
    print(line)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(line + "\n")


def _rounded(o):
    if isinstance(o, float):
        return round(o, 4)
    if isinstance(o, dict):
        return {k: _rounded(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_rounded(v) for v in o]
    return o


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=256, help="upload/download size (MiB)")
    ap.add_argument("--calls", type=int, default=500, help="exists() calls to average")
    ap.add_argument("--runs", type=int, default=3,
                    help="repetitions of each launch measurement (median and min reported)")
    ap.add_argument("--skip-libguestfs", action="store_true", help="measure guestkit only")
    ap.add_argument("--json-out", metavar="FILE", help="also write the JSON line to FILE")
    ap.add_argument("--anchor", default=os.environ.get("GUESTKIT_ANCHOR", DEFAULT_ANCHOR),
                    help="the libguestfs anchor script (default %(default)s)")
    a = ap.parse_args(argv)
    if a.size_mb < 1 or a.calls < 1 or a.runs < 1:
        ap.error("--size-mb, --calls and --runs must be at least 1")
    try:
        import guestkit  # noqa: F401
    except ImportError as e:
        sys.exit("compare: cannot import guestkit (%s); install it with pip install -e ." % e)

    started = {"t": time.perf_counter(), "loadavg": list(os.getloadavg())}
    if started["loadavg"][0] > 0.5 * (os.cpu_count() or 1):
        log("warning: load average is %.2f; other work will skew the figures"
            % started["loadavg"][0])
    lg_version, lg_error = (None, "skipped (--skip-libguestfs)") if a.skip_libguestfs \
        else lg_check(a.anchor)
    if lg_error and not a.skip_libguestfs:
        log("libguestfs will not be measured: %s" % lg_error)

    tmp = tempfile.mkdtemp(prefix="guestkit-bench-")
    try:
        big = os.path.join(tmp, "big.bin")
        make_random_file(big, a.size_mb)
        log("guestkit: %d cold launches, then %d warm runs" % (a.runs, a.runs))
        gk = bench_guestkit(a, tmp, big)
        os.unlink(big)                  # the anchor makes its own random file
        lg = None
        if lg_version:
            log("libguestfs %s: %d cold launches, then %d warm runs (subprocess %s)"
                % (lg_version, a.runs, a.runs, LG_PYTHON))
            try:
                lg = bench_libguestfs(a, tmp, lg_version)
            except (RuntimeError, OSError, ValueError, KeyError) as e:
                lg_error = "measurement failed: %s" % e
                log("libguestfs " + lg_error)
        report(a, gk, lg, lg_error, started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
