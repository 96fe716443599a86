"""Every public action of libguestfs exists in guestkit with the same positional and
optional arguments (compared by scripts/api_gap.py with guestfs(3) in the reference
manuals, plus the newer actions it lists).

Actions not implemented yet are named in api_todo.txt beside this file.  That list may only
shrink: an action missing from guestkit and not on the list fails, and so does a name on
the list that now exists (take it off).  Differences in arguments are never allowed."""

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _load_gap():
    spec = importlib.util.spec_from_file_location(
        "api_gap", os.path.join(ROOT, "scripts", "api_gap.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gap = _load_gap()


def _todo():
    names = []
    with open(os.path.join(HERE, "api_todo.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


@pytest.fixture(scope="module")
def reference():
    try:
        return gap.reference_api()
    except FileNotFoundError as e:
        pytest.fail("the libguestfs reference manuals are needed: %s" % e)


def test_reference_is_parsed_completely(reference):
    # guestfs(3) of libguestfs 1.48 documents 578 actions; with the newer ones and the
    # binding tests the list holds more, never fewer
    assert len(reference) >= 600
    assert reference["add_drive"]["aliases"] == ["add_drive_opts"]
    assert ("readonly", "bool") in reference["add_drive"]["optargs"]
    assert ("blocksize", "int") in reference["add_drive"]["optargs"]
    assert reference["umount"]["optargs"] == [("force", "bool"), ("lazyunmount", "bool")]
    assert reference["pwrite"]["args"] == [("path", "string"), ("content", "buffer"),
                                           ("offset", "int64")]
    assert reference["set_verbose"]["args"] == [("verbose", "bool")]
    assert reference["mkfs"]["args"] == [("fstype", "string"), ("device", "string")]
    for name in ("command_out", "sh_out", "device_name", "btrfs_scrub_full",
                 "clevis_luks_unlock", "internal_test_rstringlist"):
        assert name in reference


def test_todo_list_is_exact(reference):
    todo = _todo()
    assert len(todo) == len(set(todo)), "api_todo.txt names an action twice"
    unknown = sorted(set(todo) - set(reference))
    assert not unknown, "api_todo.txt names actions libguestfs does not have: %s" % unknown
    missing, _ = gap.compare(reference)
    done = sorted(set(todo) - set(missing))
    assert not done, "implemented now, take them off tests/unit/api_todo.txt: %s" % done


def test_no_action_is_missing(reference):
    missing, _ = gap.compare(reference)
    gaps = sorted(set(missing) - set(_todo()))
    assert not gaps, "actions of guestfs(3) guestkit lacks: %s" % gaps


def test_no_action_differs(reference):
    _, different = gap.compare(reference)
    assert not different, "\n".join("%s: %s" % (n, "; ".join(w))
                                    for n, w in different.items())


def test_gap_script_runs():
    # the script's report: counts on the first line, one line per missing action
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = gap.main([])
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("reference: ")
    assert sum(1 for x in lines if x.startswith("missing ")) == len(_todo())
    assert rc == (1 if _todo() else 0)
