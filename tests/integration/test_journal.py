"""The journal_* actions: a systemd journal written on the host by systemd-journal-remote
(from export format), uploaded into the guest, read through sd-journal in the appliance."""

import shutil
import struct
import subprocess

import pytest

from tests.helpers import expect_error

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"
T0 = 1700000000000000
BLOB = bytes(range(256)) * 400                  # 100 KiB of binary: over the 64 KiB default


def export_entries():
    out = b""
    for i in range(5):
        out += (b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n"
                b"MESSAGE=hello %d\nPRIORITY=6\nSYSLOG_IDENTIFIER=gk-test\n"
                % (T0 + i * 1000000, 1000 + i, BOOT.encode(), i))
        if i == 2:
            out += b"BLOB\n" + struct.pack("<Q", len(BLOB)) + BLOB + b"\n"
        out += b"\n"
    return out


@pytest.fixture(scope="module")
def g(launched, tmp_path_factory):
    if not shutil.which(JOURNAL_REMOTE):
        pytest.fail("systemd-journal-remote is missing (scripts/setup.sh test installs it)",
                    pytrace=False)
    d = tmp_path_factory.mktemp("journal")
    (d / "export").write_bytes(export_entries())
    subprocess.run([JOURNAL_REMOTE, "--output=%s" % (d / "system.journal"), str(d / "export")],
                   check=True, capture_output=True)
    launched.mkdir_p("/var/log/journal/" + BOOT)
    launched.upload(str(d / "system.journal"), "/var/log/journal/%s/system.journal" % BOOT)
    launched.ln_sf("/var/log/journal", "/journal-link")
    return launched


def test_available(g):
    assert g.feature_available(["journal"]) == 1


def test_needs_open(g):
    expect_error("EINVAL", g.journal_next)
    expect_error("EINVAL", g.journal_get)
    expect_error("ENOENT", g.journal_open, "/no/such/dir")


def _fields(g):
    return {f["attrname"]: f["attrval"] for f in g.journal_get()}


def test_read_all(g):
    g.journal_open("/var/log/journal")
    seen = []
    while g.journal_next():
        f = _fields(g)
        seen.append((g.journal_get_realtime_usec(), f["MESSAGE"]))
        assert f["SYSLOG_IDENTIFIER"] == b"gk-test" and f["_BOOT_ID"] == BOOT.encode()
    assert seen == [(T0 + i * 1000000, b"hello %d" % i) for i in range(5)]
    assert g.journal_next() == 0
    g.journal_close()
    expect_error("EINVAL", g.journal_get)


def test_skip_and_threshold(g):
    g.journal_open("/journal-link")             # a guest symlink, resolved in the guest
    assert g.journal_skip(3) == 3
    assert _fields(g)["MESSAGE"] == b"hello 2"
    assert g.journal_get_data_threshold() == 65536
    g.journal_set_data_threshold(0)
    assert g.journal_get_data_threshold() == 0
    assert _fields(g)["BLOB"] == BLOB
    assert g.journal_skip(10) == 2              # only two more entries
    assert g.journal_skip(-10) == 4             # back to the first
    assert _fields(g)["MESSAGE"] == b"hello 0"
    expect_error("EINVAL", g.journal_set_data_threshold, -1)
    g.journal_close()
