"""The hivex_* actions (Windows registry hives through libhivex in the appliance).

One appliance for the module: a raw disk with ext4 mounted at /, and a blank hive made by
tests/hive_image.py uploaded as /SOFTWARE.  The tests run in order: the first one writes the
keys and values the later ones read.
"""

import os

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import expect_error
from tests.hive_image import blank_hive

TEXT = "Windows 10 Pro – ünïcödé"
SZ = (TEXT + "\0").encode("utf-16-le")
DWORD = (19045).to_bytes(4, "little")
BIN = bytes(range(256)) * 3


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    d = tmp_path_factory.mktemp("hivex")
    disk = make_image(d / "disk.img", 64)
    hive = d / "blank.hive"
    hive.write_bytes(blank_hive())
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_opts(disk, format="raw")
    h.launch()
    dev = h.list_devices()[0]
    h.mkfs("ext4", dev)
    h.mount(dev, "/")
    h.upload(str(hive), "/SOFTWARE")
    h.hive_host_dir = d
    yield h
    try:
        h.hivex_close()
    except guestkit.Error:
        pass
    h.close()


def test_feature_available(g):
    assert g.feature_available(["hivex"]) == 1
    g.available(["hivex"])


def test_write_then_commit(g):
    g.hivex_open("/SOFTWARE", write=True)
    root = g.hivex_root()
    assert root > 0
    assert g.hivex_node_name(root) == "ROOT"
    assert g.hivex_node_children(root) == []
    ms = g.hivex_node_add_child(root, "Microsoft")
    nt = g.hivex_node_add_child(ms, "Windows NT")
    assert ms > 0 and nt > 0 and ms != nt
    g.hivex_node_set_value(nt, "ProductName", 1, SZ)
    g.hivex_node_set_value(nt, "CurrentBuildNumber", 4, DWORD)
    g.hivex_node_set_value(nt, "Blob", 3, BIN)
    before = g.read_file("/SOFTWARE")
    g.hivex_commit(None)
    after = g.read_file("/SOFTWARE")
    assert after != before and after[:4] == b"regf"
    g.hivex_close()
    expect_error("EINVAL", g.hivex_root)           # closed: no hive


def test_read_back(g):
    g.hivex_open("/SOFTWARE")
    root = g.hivex_root()
    assert g.hivex_node_name(root) == "ROOT"
    ms = g.hivex_node_get_child(root, "Microsoft")
    assert ms > 0
    assert g.hivex_node_children(root) == [{"hivex_node_h": ms}]
    assert g.hivex_node_get_child(root, "microsoft") == ms     # case-insensitive, as Windows
    nt = g.hivex_node_get_child(ms, "Windows NT")
    assert nt > 0 and g.hivex_node_name(nt) == "Windows NT"
    assert g.hivex_node_parent(nt) == ms
    assert g.hivex_node_parent(ms) == root
    assert g.hivex_node_get_child(ms, "Nope") == 0
    assert g.hivex_node_get_child(nt, "Windows NT") == 0

    values = g.hivex_node_values(nt)
    assert len(values) == 3 and all(set(v) == {"hivex_value_h"} for v in values)
    by_key = {g.hivex_value_key(v["hivex_value_h"]): v["hivex_value_h"] for v in values}
    assert set(by_key) == {"ProductName", "CurrentBuildNumber", "Blob"}
    pn = by_key["ProductName"]
    assert g.hivex_node_get_value(nt, "ProductName") == pn
    assert g.hivex_node_get_value(nt, "NoSuchValue") == 0
    assert g.hivex_value_type(pn) == 1
    assert g.hivex_value_value(pn) == SZ
    assert g.hivex_value_string(pn) == TEXT
    assert g.hivex_value_utf8(pn) == TEXT
    build = by_key["CurrentBuildNumber"]
    assert g.hivex_value_type(build) == 4
    assert g.hivex_value_value(build) == DWORD
    assert g.hivex_value_type(by_key["Blob"]) == 3
    assert g.hivex_value_value(by_key["Blob"]) == BIN
    assert g.hivex_node_values(root) == []


def test_bad_handles_and_read_only(g):
    g.hivex_open("/SOFTWARE")
    root = g.hivex_root()
    expect_error("EINVAL", g.hivex_node_name, 0)
    expect_error("EINVAL", g.hivex_node_name, -5)
    expect_error("EINVAL", g.hivex_node_name, 12345)        # not an nk cell
    expect_error("EINVAL", g.hivex_value_key, root)          # a node is not a value
    expect_error("EROFS", g.hivex_node_add_child, root, "X")
    expect_error("EINVAL", g.hivex_commit, None)             # opened read-only
    assert g.hivex_node_get_child(root, "X") == 0


def test_delete_child_and_commit_elsewhere(g):
    g.hivex_open("/SOFTWARE", write=True)
    root = g.hivex_root()
    ms = g.hivex_node_get_child(root, "Microsoft")
    nt = g.hivex_node_get_child(ms, "Windows NT")
    g.hivex_node_delete_child(ms)                            # recursive
    assert g.hivex_node_get_child(root, "Microsoft") == 0
    assert g.hivex_node_children(root) == []
    expect_error("EINVAL", g.hivex_node_name, nt)            # gone with its parent
    g.hivex_commit("/COPY")
    g.hivex_close()
    g.hivex_open("/COPY")
    assert g.hivex_node_children(g.hivex_root()) == []
    g.hivex_open("/SOFTWARE")                                # the original is untouched
    assert g.hivex_node_get_child(g.hivex_root(), "Microsoft") > 0
    g.hivex_close()


def test_corrupt_hive_is_a_clear_error(g):
    g.write("/random", os.urandom(64 * 1024))
    e = expect_error("ENOTSUP", g.hivex_open, "/random")
    assert "not a Windows registry hive" in str(e)
    expect_error("EINVAL", g.hivex_root)                     # nothing is open
    # a valid base block whose root cell is not a key
    bad = bytearray(blank_hive())
    bad[0x1024:0x1026] = b"zz"
    g.write("/damaged", bytes(bad))
    e = expect_error("ENOTSUP", g.hivex_open, "/damaged")
    assert "/damaged" in str(e)
    # the daemon survived: a good hive still opens
    g.hivex_open("/SOFTWARE")
    assert g.hivex_node_name(g.hivex_root()) == "ROOT"
    g.hivex_close()


def test_special_files_are_refused(g):
    g.mkfifo(0o644, "/fifo")
    e = expect_error("EINVAL", g.hivex_open, "/fifo")
    assert "not a regular file" in str(e)
    g.mkdir("/dir")
    expect_error("EISDIR", g.hivex_open, "/dir")
    expect_error("ENOENT", g.hivex_open, "/missing")
    g.hivex_open("/SOFTWARE", write=True)
    expect_error("EINVAL", g.hivex_commit, "/fifo")
    g.hivex_close()


def test_symlinks_resolve_inside_the_guest(g):
    g.ln_s("/etc/passwd", "/link")
    # the appliance's own /etc/passwd exists; the guest has none
    expect_error("ENOENT", g.hivex_open, "/link")
    g.mkdir("/etc")
    g.write("/etc/passwd", blank_hive("GUESTROOT"))
    g.hivex_open("/link")
    assert g.hivex_node_name(g.hivex_root()) == "GUESTROOT"
    g.ln_s("../../../../etc/passwd", "/rel")
    g.hivex_open("/rel")                                     # /.. is /
    assert g.hivex_node_name(g.hivex_root()) == "GUESTROOT"
    g.hivex_close()
