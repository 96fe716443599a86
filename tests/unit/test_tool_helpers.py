"""Pieces of the second set of tools that need no appliance: diff's hunks against GNU diff
itself (virt-diff runs ``diff -u A B | tail -n +3``), make-fs's sizes, win-reg's regedit
parser."""

import shutil
import subprocess

import pytest

from guestkit.tools.common import ToolError
from guestkit.tools.diff import unified_diff
from guestkit.tools.make_fs import parse_size
from guestkit.tools.win_reg import REG_DWORD, parse_reg, parse_value

LINES = b"".join(b"line %d\n" % i for i in range(1, 41))

PAIRS = [
    (b"guest\n", b"other\n"),
    (b"a\nb\nc\n", b"a\nb\nc\nd\n"),
    (b"a\nb\nc\n", b"b\nc\n"),
    (b"", b"new\n"),
    (b"old\n", b""),
    (b"a\nkeep\nlast", b"a\nkeep\nlast-new"),
    (b"a\nkeep\nlast\n", b"a\nkeep\nlast"),
    (LINES, LINES.replace(b"line 5\n", b"five\n").replace(b"line 30\n", b"")),
    (LINES, LINES.replace(b"line 9\n", b"nine\n").replace(b"line 12\n", b"twelve\n")),
    (LINES, b"top\n" + LINES + b"bottom\n"),
    (b"\0binary\1", b"\0binary\2"),
]


@pytest.fixture(scope="module")
def gnu_diff():
    path = shutil.which("diff")
    if path is None:
        pytest.fail("diff (GNU diffutils) is not installed: these tests compare with it",
                    pytrace=False)
    return path


@pytest.mark.parametrize("a,b", PAIRS)
def test_hunks_as_gnu_diff_writes_them(gnu_diff, tmp_path, a, b):
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b)
    r = subprocess.run("%s -u a b | tail -n +3" % gnu_diff, shell=True, cwd=tmp_path,
                       capture_output=True, timeout=30)
    assert unified_diff(a, b) == r.stdout


@pytest.mark.parametrize("text,estimate,size", [
    ("1440K", 0, 1440 * 1024), ("200M", 0, 200 << 20), ("+50M", 1000, 1000 + (50 << 20)),
    ("4096", 0, 4096), ("2G", 0, 2 << 30), ("1MB", 0, 1000000), ("1MiB", 0, 1 << 20),
    ("12b", 0, 12)])
def test_make_fs_sizes(text, estimate, size):
    assert parse_size(text, estimate) == size


@pytest.mark.parametrize("text", ["", "M", "1.5G", "-1M", "12Q", "+"])
def test_make_fs_bad_sizes(text):
    with pytest.raises(ToolError):
        parse_size(text)


def test_regedit_values():
    assert parse_value("dword:0000002a", "utf-16-le") == (REG_DWORD, b"\x2a\0\0\0")
    assert parse_value('"a \\"b\\" \\\\c"', "utf-16-le") == (1, 'a "b" \\c\0'.encode(
        "utf-16-le"))
    assert parse_value('str(2):"x"', "ascii") == (2, b"x\0")
    assert parse_value("hex:01, 02,ff", "ascii") == (3, b"\x01\x02\xff")
    assert parse_value("hex(7):", "ascii") == (7, b"")
    for bad in ("dword:12", "hex:0", "hex:zz", '"unterminated', "words"):
        assert parse_value(bad, "ascii") is None, bad


def test_regedit_file():
    text = ("Windows Registry Editor Version 5.00\n\n; comment\n"
            "[HKLM\\SOFTWARE\\A]\n\"v\"=hex:01,\\\n  02\n@=\"d\"\n\n"
            "[-HKLM\\SOFTWARE\\B]\n[HKLM\\SOFTWARE\\C]\n\"n\"=dword:00000001\n")
    assert parse_reg(text.splitlines(), "x.reg", "ascii") == [
        ("merge", "HKLM\\SOFTWARE\\A", [("v", 3, b"\x01\x02"), ("", 1, b"d\0")]),
        ("delete", "HKLM\\SOFTWARE\\B"),
        ("merge", "HKLM\\SOFTWARE\\C", [("n", 4, b"\x01\0\0\0")])]
    with pytest.raises(ToolError, match="line 2: deleting a single value"):
        parse_reg(["[HKLM\\SOFTWARE\\A]", '"v"=-'], "x.reg", "ascii")
    with pytest.raises(ToolError, match="line 1: unexpected text"):
        parse_reg(["garbage"], "x.reg", "ascii")
    with pytest.raises(ToolError, match="cannot be written in ascii"):
        parse_reg(["[HKLM\\SOFTWARE\\A]", '"v"="caf\u00e9"'], "x.reg", "ascii")
