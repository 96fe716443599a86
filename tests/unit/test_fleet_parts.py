"""The parts of guestkit fleet that need no appliance: the local cluster's size, what
counts as transient, error texts, job names, and reading an output file for --resume."""

import errno
import json

import pytest

import guestkit
from guestkit.fleet import cluster, jobs, worker
from guestkit.tools import fleet as tool


def test_local_workers_bounded_by_cpus_and_memory():
    assert cluster.local_workers(cpus=8, memory_mb=100000, memsize_mb=512) == 8
    assert cluster.local_workers(cpus=8, memory_mb=3 * 768, memsize_mb=512) == 3
    assert cluster.local_workers(cpus=2, memory_mb=100, memsize_mb=512) == 1


def test_transient_failures():
    assert worker.is_transient(guestkit.Error("busy", "EBUSY"))
    assert worker.is_transient(guestkit.Error('Failed to get shared "write" lock'))
    assert worker.is_transient(ConnectionResetError())
    assert not worker.is_transient(guestkit.Error("no such file", "ENOENT"))
    assert not worker.is_transient(worker.JobTimeout("timed out"))
    assert not worker.is_transient(ValueError("bad"))


def test_error_texts():
    assert worker.describe_error(guestkit.Error("add_drive: x: gone", "ENOENT")) == \
        "ENOENT: add_drive: x: gone"
    assert worker.describe_error(OSError(errno.EACCES, "Permission denied")) == \
        "EACCES: Permission denied"
    assert worker.describe_error(KeyError("k")) == "KeyError: 'k'"


def test_job_names():
    assert jobs.resolve("inspect") is jobs.inspect and jobs.wanted(jobs.inspect) == "roots"
    assert jobs.resolve("os.path:basename").__name__ == "basename"
    assert jobs.wanted(jobs.resolve("os.path:basename")) == "mounted"
    with pytest.raises(ValueError):
        jobs.resolve("nonesuch")
    with pytest.raises(ImportError):
        jobs.resolve("no_such_module_here:f")


def test_done_guests_from_json_lines_and_csv(tmp_path):
    jl = tmp_path / "out.jsonl"
    jl.write_text(json.dumps({"guest": "/a.img", "status": "ok"}) + "\n" +
                  json.dumps({"guest": "/b.img", "status": "error"}) + "\n" +
                  '{"guest": "/c.im')                   # cut short by an interrupted run
    assert tool.done_guests(str(jl)) == {"/a.img", "/b.img"}
    c = tmp_path / "out.csv"
    c.write_text("guest,status,duration_s,attempts,error,result\n/a.img,ok,1.0,1,,{}\n")
    assert tool.done_guests(str(c)) == {"/a.img"}
    assert tool.done_guests(str(tmp_path / "none")) == set()


def test_resume_ends_a_cut_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"guest": "/a.img"}\n{"guest": "/b')
    ns = tool.parser().parse_args(["inspect", "-o", str(out), "--resume", "x.img"])
    f, header = tool.open_output(ns)
    tool.Writer(f, False, header).write({k: None for k in tool_fields()})
    f.close()
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["guest"] is None


def tool_fields():
    from guestkit.fleet import FIELDS
    return FIELDS


def test_options_between_guests():
    ns = tool.parser().parse_args(["inspect", "a.img", "--timeout", "5", "b.img"])
    assert ns.guests == ["a.img", "b.img"] and ns.timeout == 5
