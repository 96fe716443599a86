"""guestkit fleet's parts that need no appliance: version ordering (against dpkg and rpm
themselves), the apps job's name filter, find's pattern matching, the summary table, the
running count, the Parquet and CSV outputs and the new options' checks."""

import csv
import functools
import io
import itertools
import json
import subprocess
import sys

import pytest

from guestkit.fleet import jobs, parquet, record, report, versions
from guestkit.tools import fleet as tool
from guestkit.tools.common import ToolError

VERSIONS = ["1.0", "1.0~rc1", "1.0~~", "1.0a", "1.0+b1", "1.0.1", "1.00", "1.0-1",
            "1.0-1~bpo1", "1.0-2", "1:0.9", "2:1.0-1", "1.10", "1.9", "1.0-0ubuntu1.10",
            "1.0-0ubuntu1.9", "3.0.11-1~deb12u2", "3.0.2", "0", "a", "1.0^git1", "1_0",
            "1.0.a", "1.0a1", "r15", "2024a-0+deb12u1", "2023c", "1.0~", "1.0^", "1.0^~"]


def test_dpkg_order_is_dpkgs():
    """VERSIONS sorted by our dpkg order are in dpkg's order: each one is older than the
    next or the same, as dpkg --compare-versions says."""
    key = functools.cmp_to_key(lambda a, b: versions.compare(
        "deb", versions.split_version(a), versions.split_version(b)))
    ordered = sorted((v for v in VERSIONS if "^" not in v and "_" not in v), key=key)
    for a, b in zip(ordered, ordered[1:]):
        op = "eq" if key(a) == key(b) else "lt"
        assert subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0, \
            (a, op, b)
    assert ordered.index("1.0~rc1") < ordered.index("1.0") < ordered.index("1.0-1")
    assert key("1.0") == key("1.00")


def test_rpm_order_is_rpms():
    pairs = list(itertools.combinations([v for v in VERSIONS if ":" not in v and
                                         "-" not in v], 2))
    lua = "; ".join('print(rpm.vercmp("%s", "%s") .. " ")' % p for p in pairs)
    out = subprocess.run(["rpm", "--eval", "%%{lua: %s}" % lua], capture_output=True,
                         text=True, check=True).stdout.split()
    assert {p: versions.rpmvercmp(*p) for p in pairs} == dict(zip(pairs, map(int, out)))


def test_rpm_evr_leaves_a_missing_release_out():
    s = versions.split_version
    assert versions.compare("rpm", s("3.0.7"), s("3.0.7-1")) == 0
    assert versions.compare("deb", s("3.0.7"), s("3.0.7-1")) == -1
    assert versions.compare("rpm", s("1:1.0-1"), s("2.0-1")) == 1
    assert versions.compare("rpm", s("2.0-2.fc39"), s("2.0-10.fc39")) == -1


def test_version_ranges():
    terms = versions.parse_range(">=3.0, <3.0.11")
    assert terms == [(">=", (0, "3.0", "")), ("<", (0, "3.0.11", ""))]
    inside = [v for v in ("2.9", "3.0", "3.0.2-1", "3.0.10", "3.0.11~rc1", "3.0.11",
                          "3.0.11-1", "1:3.0")
              if versions.in_range("deb", versions.split_version(v), terms)]
    assert inside == ["3.0", "3.0.2-1", "3.0.10", "3.0.11~rc1"]
    assert versions.in_range("rpm", (0, "5", ""), versions.parse_range("!=4,=5,==5,>4.9"))
    for bad in ("3.0", ">= ", "=>1", ">=1,", "~>1"):
        with pytest.raises(ValueError):
            versions.parse_range(bad)


def test_app_name_patterns():
    app = {"name": "Mozilla Firefox 120.0 (x64 en-US)", "display_name": "Mozilla Firefox"}
    assert jobs._name_matches(app, ["firefox"])
    assert jobs._name_matches(app, ["nope", "MOZILLA*"])
    assert not jobs._name_matches(app, ["fire*"])         # a glob matches the whole name
    assert jobs._name_matches({"name": "libssl3"}, ["lib*3"])


def test_find_patterns_are_finds_name_and_path_tests():
    by_name, by_path = jobs._matcher("*.conf"), jobs._matcher("/etc/*.conf")
    assert by_name("/etc/a.conf") and by_name("/x/y/z.conf") and not by_name("/a.conf/x")
    assert by_path("/etc/a.conf") and by_path("/etc/sub/b.conf")   # * crosses / as -path
    assert not by_path("/usr/a.conf")


def rec(guest, status="ok", duration=1.0, error=None, result=None):
    return record.make(guest, status, duration, 1, error, result)


def test_summary_table():
    s = report.Summary()
    s.add(rec("/g/a.img", duration=3.0, result={"x": 1}))
    s.add(rec("/g/b.img", duration=12.5))
    s.add(rec("/g/c.img", "error", 0.1, "ENOENT: add_drive: /g/c.img: No such file"))
    s.add(rec("/g/d.img", "error", 0.2, "ENOENT: add_drive: /g/d.img: No such file"))
    s.add(rec("/g/e.img", "error", 30.0, "timed out after 30 s"))
    for i in range(3):
        s.add(rec("/g/f%d.img" % i, "error", 0.5, "x" * 200))
    text = s.table(elapsed=60.0, skipped=2)
    assert text == (
        "  error         6\n"
        "  ok            2\n"
        "  skipped       2\n"
        "  total        10 guests in 60.0 s, 8.0 guests/min\n"
        "slowest guests:\n"
        "      30.0 s  /g/e.img\n"
        "      12.5 s  /g/b.img\n"
        "       3.0 s  /g/a.img\n"
        "       0.5 s  /g/f0.img\n"
        "       0.5 s  /g/f1.img\n"
        "most common errors:\n"
        "        3  " + "x" * 97 + "...\n"
        "        2  ENOENT: add_drive: GUEST: No such file\n"
        "        1  timed out after 30 s\n")
    assert report.Summary().table(0.0) == \
        "  total       0 guests in 0.0 s, 0.0 guests/min\n"


def test_running_count_is_started_without_a_record():
    p = report.Progress(3, io.StringIO())         # not a terminal: no bar drawn
    p.started("/a")
    p.started("/b")
    p.started("/a")                               # started again (a worker died)
    assert p.running == 2
    p.finished(rec("/a"))
    p.finished(rec("/c", "error", error="x"))     # a task that failed before starting
    assert (p.running, p.failed, len(p.done_guests)) == (1, 1, 2)
    p.close()


RECS = [rec("/g/a.img", result={"operatingsystems": [{"root": "/dev/sda", "é": 1}]}),
        rec("/g/b.img", "error", 0.25, "ENOENT: gone")]


def test_parquet_has_csvs_columns_and_resume_keeps_rows(tmp_path):
    import pyarrow.parquet as pq
    path = str(tmp_path / "out.parquet")
    w = parquet.ParquetWriter(path)
    for r in RECS:
        w.write(r)
    w.close()
    table = pq.read_table(path)
    assert table.column_names == list(record.FIELDS)
    assert [str(t) for t in table.schema.types] == \
        ["string", "string", "double", "int64", "string", "string"]
    rows = table.to_pylist()
    assert rows[1] == {"guest": "/g/b.img", "status": "error", "duration_s": 0.25,
                       "attempts": 1, "error": "ENOENT: gone", "result": None}
    assert json.loads(rows[0]["result"]) == RECS[0]["result"]
    out = io.StringIO()
    tool.Writer(out, True, True).write(RECS[0])
    [csv_row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert csv_row["result"] == rows[0]["result"] and csv_row["error"] == ""
    assert parquet.done_guests(path) == {"/g/a.img", "/g/b.img"}
    w = parquet.ParquetWriter(path, keep=True)      # --resume: old rows, then new ones
    for i in range(parquet.ROW_GROUP + 5):
        w.write(rec("/g/n%d.img" % i))
    w.close()
    f = pq.ParquetFile(path)
    assert f.metadata.num_rows == 2 + parquet.ROW_GROUP + 5
    assert f.read().column("guest").to_pylist()[:3] == ["/g/a.img", "/g/b.img", "/g/n0.img"]
    assert parquet.done_guests(str(tmp_path / "none.parquet")) == set()


def test_parquet_without_pyarrow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)     # as if it were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'guestkit\[parquet\]'"):
        parquet.ParquetWriter("/nonexistent/x.parquet")


def test_new_options():
    def params(*argv):
        return tool.job_params(tool.parser().parse_args(list(argv)))
    assert params("find", "--pattern", "*.conf", "--checksum=md5", "--size", "a.img") == \
        {"pattern": "*.conf", "directory": "/", "size": True, "checksum": "md5",
         "max_matches": 1000}
    assert params("find", "--pattern", "x", "--checksum", "--dir", "/etc")["checksum"] == \
        "sha256"
    assert params("apps", "--name", "ssl", "--name", "lib*", "a.img") == \
        {"names": ["ssl", "lib*"], "version_range": None}
    assert params("win-reg", "--key", "HKLM\\SYSTEM", "--value", "@") == \
        {"key": "HKLM\\SYSTEM", "value": "@"}
    for argv, text in ((["find", "a.img"], "needs --pattern"),
                       (["find", "--pattern", "x", "--checksum", "a.img"], "checksum type"),
                       (["find", "--pattern", "x", "--max-matches", "0"], "at least 1"),
                       (["apps", "--version-range", "3.0"], "--version-range"),
                       (["win-reg", "a.img"], "needs --key")):
        with pytest.raises(ToolError, match=text):
            params(*argv)
    for argv, text in ((["df", "--parquet", "x.parquet", "--csv", "a.img"], "not with"),
                       (["df", "--resume", "a.img"], "--resume needs")):
        with pytest.raises(ToolError, match=text):
            tool.fleet(argv)
