"""``guestkit fleet``: one job per guest across a Dask cluster (guestkit.fleet), one
record per guest as JSON lines or CSV, a summary on standard error."""

import argparse
import csv
import glob
import io
import json
import os
import sys
import time

from .common import ToolError, run_tool

PROG = "guestkit fleet"


def guest_list(ns):
    """The guests named on the command line (globs expanded when the shell did not), in
    --from files, as -d domains and, with --all-domains, every domain of the -c
    connection: in order, each once.  Domains are written ``domain:NAME``."""
    from ..fleet import guests
    names = []
    for pattern in ns.guests:
        hits = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else []
        names += hits or [pattern]
    for path in ns.lists:
        try:
            with open(path) as f:
                names += [line.strip() for line in f
                          if line.strip() and not line.lstrip().startswith("#")]
        except OSError as e:
            raise ToolError("--from %s: %s" % (path, e.strerror)) from None
    names += [guests.domain(d) for d in ns.domains]
    if ns.all_domains:
        names += [guests.domain(d) for d in guests.all_domains(ns.connect)]
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def done_guests(path):
    """The guests that already have a record in the output file PATH (JSON lines or CSV)."""
    try:
        with open(path, newline="") as f:
            text = f.read()
    except FileNotFoundError:
        return set()
    except OSError as e:
        raise ToolError("--resume %s: %s" % (path, e.strerror)) from None
    done = set()
    if text.startswith("guest,"):
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("guest"):
                done.add(row["guest"])
        return done
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue                    # a line cut short by an interrupted run
        if isinstance(rec, dict) and isinstance(rec.get("guest"), str):
            done.add(rec["guest"])
    return done


class Writer:
    """Records out as JSON lines, or CSV rows (the result as compact JSON)."""

    def __init__(self, out, as_csv, header):
        from ..fleet import FIELDS
        self.out, self.fields = out, FIELDS
        self.csv = csv.writer(out, lineterminator="\n") if as_csv else None
        if self.csv is not None and header:
            self.csv.writerow(FIELDS)

    def write(self, rec):
        if self.csv is None:
            self.out.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
        else:
            self.csv.writerow(["" if rec[k] is None else
                               json.dumps(rec[k], ensure_ascii=False) if k == "result" else
                               rec[k] for k in self.fields])
        self.out.flush()


def open_output(ns):
    """(stream, write a CSV header?) for --output, appended to with --resume."""
    if not ns.output:
        return sys.stdout, True
    mode = "a" if ns.resume else "w"
    try:
        f = open(ns.output, mode, encoding="utf-8", newline="")
    except OSError as e:
        raise ToolError("--output %s: %s" % (ns.output, e.strerror)) from None
    if mode == "a" and f.tell() > 0:
        with open(ns.output, "rb") as r:
            r.seek(-1, os.SEEK_END)
            if r.read(1) != b"\n":
                f.write("\n")           # end the line an interrupted run left cut
    return f, f.tell() == 0


class _Intermixed(argparse.ArgumentParser):
    """Options may come between the guests (argparse's intermixed parsing), while
    parse_args stays the entry point (common.parser_from catches it)."""

    _inner = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inner:
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def parser():
    from ..fleet import DEFAULT_RETRIES, DEFAULT_TIMEOUT
    ap = _Intermixed(
        prog=PROG, description="run one job per guest on a Dask cluster (by default one "
                               "started on this host) and print one record per guest")
    ap.add_argument("job", metavar="JOB",
                    help="inspect, df, cat, or MODULE:FUNCTION (a function f(g, root) "
                         "run with the guest mounted read-only)")
    ap.add_argument("guests", nargs="*", metavar="GUEST",
                    help="disk images (paths or globs), or libvirt domains as domain:NAME")
    ap.add_argument("-c", "--connect", metavar="URI",
                    help="the libvirt connection of the domains (default: libvirt's)")
    ap.add_argument("-d", "--domain", dest="domains", action="append", default=[],
                    metavar="NAME", help="a libvirt domain (name or UUID) as a guest")
    ap.add_argument("--all-domains", action="store_true",
                    help="every domain of the libvirt connection, running or not")
    ap.add_argument("--from", dest="lists", action="append", default=[], metavar="FILE",
                    help="read more disk images from FILE, one per line")
    ap.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run on this Dask scheduler's workers instead of a cluster "
                         "started here")
    ap.add_argument("--workers", type=int, metavar="N",
                    help="worker processes of the cluster started here (default: as many "
                         "as CPUs and memory allow)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                    help="each guest's time limit, launch and retries included "
                         "(default %(default)s)")
    ap.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                    help="further tries after a transient failure (default %(default)s)")
    ap.add_argument("--csv", action="store_true", help="CSV instead of JSON lines")
    ap.add_argument("-o", "--output", metavar="FILE", help="write the records to FILE")
    ap.add_argument("--resume", action="store_true",
                    help="skip the guests that already have a record in --output FILE, "
                         "and append to it")
    ap.add_argument("--path", metavar="PATH", help="cat: the file to read")
    ap.add_argument("--max-bytes", type=int, default=64 * 1024, metavar="N",
                    help="cat: read at most N bytes (default %(default)s)")
    ap.add_argument("--no-applications", action="store_true",
                    help="inspect: leave out the installed applications")
    ap.add_argument("--no-icon", action="store_true", help="inspect: leave out the icon")
    ap.add_argument("--inodes", action="store_true", help="df: inodes instead of blocks")
    return ap


def job_params(ns):
    if ns.job == "cat":
        if not ns.path:
            raise ToolError("the cat job needs --path")
        return {"path": ns.path, "max_bytes": ns.max_bytes}
    if ns.job == "inspect":
        return {"applications": not ns.no_applications, "icon": not ns.no_icon}
    if ns.job == "df":
        return {"inodes": ns.inodes}
    return {}


def fleet(argv):
    ns = parser().parse_args(argv)
    from .. import fleet as api
    from ..fleet import jobs
    from ..fleet.guests import domain_name
    if ns.resume and not ns.output:
        raise ToolError("--resume needs --output FILE")
    if ns.timeout <= 0 or ns.retries < 0:
        raise ToolError("--timeout must be positive and --retries at least 0")
    if ":" in ns.job:
        sys.path.insert(0, os.getcwd())     # MODULE:FUNCTION as python -m finds modules
    try:
        jobs.resolve(ns.job)
    except (ImportError, AttributeError, ValueError) as e:
        raise ToolError("job %s: %s" % (ns.job, e)) from None
    params = job_params(ns)
    guests = guest_list(ns)
    if not ns.scheduler:                # the workers here start in this directory, but
        guests = [g if domain_name(g) else os.path.abspath(g)   # records name images
                  for g in guests]                              # absolutely
    if not guests:
        raise ToolError("no guest given")
    skipped = done_guests(ns.output) if ns.resume else set()
    todo = [g for g in guests if g not in skipped]
    out, header = open_output(ns)
    writer = Writer(out, ns.csv, header)
    counts = {"ok": 0, "error": 0}
    start = time.monotonic()
    from tqdm import tqdm
    bar = tqdm(total=len(todo), unit="guest", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty())
    try:
        for rec in api.run(todo, ns.job, scheduler=ns.scheduler, timeout=ns.timeout,
                           retries=ns.retries, params=params, workers=ns.workers,
                           libvirt_uri=ns.connect):
            writer.write(rec)
            counts[rec["status"]] = counts.get(rec["status"], 0) + 1
            bar.set_postfix(failed=counts["error"], refresh=False)
            bar.update(1)
    except RuntimeError as e:
        if "Dask" in str(e):
            raise ToolError(str(e)) from None
        raise
    finally:
        bar.close()
        if out is not sys.stdout:
            out.close()
    elapsed = time.monotonic() - start
    rate = 60.0 * len(todo) / elapsed if elapsed > 0 else 0.0
    sys.stderr.write("%s: %d guests: %d ok, %d failed, %d skipped (already done) in %.1f s "
                     "(%.1f guests/min)\n" % (PROG, len(guests), counts["ok"],
                                              counts["error"], len(guests) - len(todo),
                                              elapsed, rate))
    return 0 if counts["error"] == 0 else 1


def main(argv):
    return run_tool(PROG, fleet, argv)
