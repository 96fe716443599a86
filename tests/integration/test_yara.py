"""The yara_* actions: rules compiled and matched in the appliance by its Yara tools."""

import subprocess

import pytest

from tests.helpers import expect_error

RULES = r"""
rule has_secret { strings: $a = "TOP-SECRET" condition: $a }
rule has_elf_magic { strings: $m = { 7F 45 4C 46 } condition: $m at 0 }
rule never { strings: $a = "this string is not anywhere" condition: $a }
"""


@pytest.fixture(scope="module")
def g(launched, tmp_path_factory):
    d = tmp_path_factory.mktemp("yara")
    (d / "rules.yar").write_text(RULES)
    (d / "bad.yar").write_text("rule broken { condition: $nope }\n")
    launched.yara_dir = d
    launched.write("/secret.txt", "xx TOP-SECRET yy\n")
    launched.write("/elf", b"\x7fELF" + b"\0" * 60 + b"TOP-SECRET")
    launched.write("/plain", "nothing here\n")
    launched.ln_sf("/secret.txt", "/link-to-secret")
    launched.mkfifo(0o644, "/fifo")
    return launched


def test_available(g):
    assert g.feature_available(["libyara"]) == 1


def test_needs_rules(g):
    expect_error("EINVAL", g.yara_scan, "/secret.txt")
    expect_error("EINVAL", g.yara_destroy)


def test_source_rules(g):
    g.yara_load(str(g.yara_dir / "rules.yar"))
    assert g.yara_scan("/secret.txt") == [{"yara_name": "/secret.txt",
                                           "yara_rule": "has_secret"}]
    assert sorted(d["yara_rule"] for d in g.yara_scan("/elf")) == [
        "has_elf_magic", "has_secret"]
    assert g.yara_scan("/plain") == []
    assert g.yara_scan("/link-to-secret") == [{"yara_name": "/link-to-secret",
                                               "yara_rule": "has_secret"}]
    expect_error("EISDIR", g.yara_scan, "/")
    expect_error("EINVAL", g.yara_scan, "/fifo")            # never blocks on a fifo
    expect_error("ENOENT", g.yara_scan, "/missing")
    g.yara_destroy()
    expect_error("EINVAL", g.yara_scan, "/secret.txt")


def test_compiled_rules(g):
    compiled = g.yara_dir / "rules.yarc"
    subprocess.run(["yarac", str(g.yara_dir / "rules.yar"), str(compiled)], check=True)
    g.yara_load(str(compiled))
    assert [d["yara_rule"] for d in g.yara_scan("/secret.txt")] == ["has_secret"]
    g.yara_destroy()


def test_bad_rules(g):
    g.yara_load(str(g.yara_dir / "rules.yar"))
    e = expect_error("EINVAL", g.yara_load, str(g.yara_dir / "bad.yar"))
    assert "nope" in str(e)
    # the old rules were dropped first, as libguestfs does ("previously loaded rules will
    # be destroyed")
    expect_error("EINVAL", g.yara_scan, "/secret.txt")
    bogus = g.yara_dir / "bogus.yarc"
    bogus.write_bytes(b"YARA" + b"\xff" * 100)
    expect_error("EINVAL", g.yara_load, str(bogus))
