"""``guestkit fleet``: one job per guest across a Dask cluster (guestkit.fleet), one
record per guest as JSON lines, CSV or Parquet; a progress bar (on a terminal) and a
summary table on standard error."""

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


def done_guests(path, parquet=False):
    """The guests that already have a record in the output file PATH (JSON lines, CSV or,
    with PARQUET, Parquet)."""
    if parquet:
        from ..fleet import parquet as pq
        return pq.done_guests(path)
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
        self.out = out
        self.csv = csv.writer(out, lineterminator="\n") if as_csv else None
        if self.csv is not None and header:
            self.csv.writerow(FIELDS)

    def write(self, rec):
        from ..fleet.record import flat
        if self.csv is None:
            self.out.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
        else:
            self.csv.writerow(["" if v is None else v for v in flat(rec)])
        self.out.flush()

    def close(self):
        if self.out is not sys.stdout:
            self.out.close()


def open_writer(ns):
    """Where the records go: a Writer (standard output or --output), or with --parquet a
    fleet.parquet.ParquetWriter."""
    if ns.parquet:
        from ..fleet import parquet
        return parquet.ParquetWriter(ns.parquet, keep=ns.resume)
    out, header = open_output(ns)
    return Writer(out, ns.csv, header)


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
                    help="inspect, apps, df, find, cat, win-reg, or MODULE:FUNCTION (a "
                         "function f(g, root) run with the guest mounted read-only)")
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
    ap.add_argument("--parquet", metavar="FILE",
                    help="write the records to the Parquet file FILE (CSV's columns; "
                         "needs pyarrow: pip install 'guestkit[parquet]')")
    ap.add_argument("--name", dest="names", action="append", default=[], metavar="PATTERN",
                    help="apps: only applications whose name has PATTERN (a glob if it has "
                         "* ? or [, else a substring; no case; may be repeated)")
    ap.add_argument("--version-range", metavar="SPEC",
                    help="apps: only versions in SPEC, e.g. '>=3.0,<3.0.7' (OPs >= > <= < "
                         "= !=; compared as the guest's package format does)")
    ap.add_argument("--pattern", metavar="GLOB",
                    help="find: names (or, with a /, whole paths) matching GLOB")
    ap.add_argument("--dir", default="/", metavar="DIR",
                    help="find: the directory searched (default %(default)s)")
    ap.add_argument("--size", action="store_true",
                    help="find: each match's type and size (symlinks not followed)")
    ap.add_argument("--checksum", nargs="?", const="sha256", metavar="TYPE",
                    help="find: each regular file's checksum (sha256 without TYPE; write "
                         "--checksum=TYPE)")
    ap.add_argument("--max-matches", type=int, default=1000, metavar="N",
                    help="find: at most N paths (default %(default)s; more is "
                         "\"truncated\": true)")
    ap.add_argument("--key", metavar="KEY",
                    help="win-reg: the registry key, e.g. 'HKLM\\SOFTWARE\\Microsoft'")
    ap.add_argument("--value", metavar="NAME",
                    help="win-reg: only this value of the key (@ for the default one)")
    return ap


def job_params(ns):
    from ..fleet import jobs, versions
    if ns.job == "cat":
        if not ns.path:
            raise ToolError("the cat job needs --path")
        return {"path": ns.path, "max_bytes": ns.max_bytes}
    if ns.job == "inspect":
        return {"applications": not ns.no_applications, "icon": not ns.no_icon}
    if ns.job == "df":
        return {"inodes": ns.inodes}
    if ns.job == "apps":
        if ns.version_range:
            try:
                versions.parse_range(ns.version_range)
            except ValueError as e:
                raise ToolError("--version-range %s" % e) from None
        return {"names": ns.names, "version_range": ns.version_range}
    if ns.job == "find":
        if not ns.pattern:
            raise ToolError("the find job needs --pattern")
        if ns.checksum and ns.checksum not in jobs.CHECKSUM_TYPES:
            raise ToolError("--checksum %s: not a checksum type (%s; write --checksum=TYPE)"
                            % (ns.checksum, ", ".join(jobs.CHECKSUM_TYPES)))
        if ns.max_matches < 1:
            raise ToolError("--max-matches must be at least 1")
        return {"pattern": ns.pattern, "directory": ns.dir, "size": ns.size,
                "checksum": ns.checksum, "max_matches": ns.max_matches}
    if ns.job == "win-reg":
        if not ns.key:
            raise ToolError("the win-reg job needs --key")
        return {"key": ns.key, "value": ns.value}
    return {}


def fleet(argv):
    ns = parser().parse_args(argv)
    from .. import fleet as api
    from ..fleet import jobs, report
    from ..fleet.guests import domain_name
    if ns.resume and not (ns.output or ns.parquet):
        raise ToolError("--resume needs --output FILE or --parquet FILE")
    if ns.parquet and (ns.output or ns.csv):
        raise ToolError("--parquet FILE is the output: not with --output or --csv")
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
    try:
        skipped = done_guests(ns.parquet or ns.output, bool(ns.parquet)) if ns.resume \
            else set()
        todo = [g for g in guests if g not in skipped]
        writer = open_writer(ns)
    except RuntimeError as e:           # no pyarrow
        raise ToolError(str(e)) from None
    summary = report.Summary()
    start = time.monotonic()
    progress = report.Progress(len(todo), sys.stderr)
    try:
        for rec in api.run(todo, ns.job, scheduler=ns.scheduler, timeout=ns.timeout,
                           retries=ns.retries, params=params, workers=ns.workers,
                           libvirt_uri=ns.connect, on_start=progress.started):
            writer.write(rec)
            summary.add(rec)
            progress.finished(rec)
    except RuntimeError as e:
        if "Dask" in str(e):
            raise ToolError(str(e)) from None
        raise
    finally:
        progress.close()
        writer.close()
    elapsed = time.monotonic() - start
    rate = 60.0 * len(todo) / elapsed if elapsed > 0 else 0.0
    failed = len(todo) - summary.counts["ok"]
    sys.stderr.write("%s: %d guests: %d ok, %d failed, %d skipped (already done) in %.1f s "
                     "(%.1f guests/min)\n" % (PROG, len(guests), summary.counts["ok"],
                                              failed, len(guests) - len(todo), elapsed, rate))
    sys.stderr.write(summary.table(elapsed, len(guests) - len(todo)))
    return 0 if failed == 0 else 1


def main(argv):
    return run_tool(PROG, fleet, argv)
