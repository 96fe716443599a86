"""customize's option values and passwords, without an appliance."""

import subprocess

import pytest

from guestkit.tools import customize_ops, passwords
from guestkit.tools.common import ToolError


def test_split_at_the_first_colon_with_escapes():
    assert customize_ops.split("/etc/motd:a:b", "write") == ["/etc/motd", "a:b"]
    assert customize_ops.split("/a\\:b:x", "write") == ["/a:b", "x"]
    with pytest.raises(ToolError, match="FILE:CONTENT"):
        customize_ops.split("/nocolon", "write")
    with pytest.raises(ToolError):
        customize_ops.split(":content", "write")


def test_selectors():
    assert passwords.parse_selector("password:a:b") == ("password", "a:b", False)
    kind, value, locked = passwords.parse_selector("random")
    assert kind == "random" and len(value) == passwords.RANDOM_LENGTH and not locked
    assert passwords.parse_selector("random")[1] != value
    assert passwords.parse_selector("disabled") == ("disabled", None, False)
    assert passwords.parse_selector("locked") == ("disabled", None, True)
    assert passwords.parse_selector("locked:password:x") == ("password", "x", True)
    with pytest.raises(ToolError, match="expected"):
        passwords.parse_selector("plain")


def test_selector_from_file(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret\nignored\n")
    assert passwords.parse_selector("file:%s" % f) == ("password", "s3cret", False)
    with pytest.raises(ToolError, match="No such file"):
        passwords.parse_selector("file:%s" % (tmp_path / "missing"))


@pytest.mark.parametrize("method,ident", [("sha512", "6"), ("sha256", "5"), ("md5", "1")])
def test_hash_checks_with_openssl(method, ident):
    h = passwords.crypt_hash("pass word", method)
    assert h.startswith("$%s$" % ident)
    salt = h.split("$")[2]
    again = subprocess.run(["openssl", "passwd", "-" + ident, "-salt", salt, "-stdin"],
                           input="pass word\n", capture_output=True, text=True,
                           check=True).stdout.strip()
    assert again == h


def test_set_shadow():
    shadow = "root:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n"
    out = passwords.set_shadow(shadow, "alice", ("disabled", None, True))
    assert out == "root:*:19000:0:99999:7:::\nalice:!*:19000:0:99999:7:::\n"
    out = passwords.set_shadow(shadow, "root", ("password", "x", False))
    assert out.split("\n")[0].split(":")[1].startswith("$6$")
    assert out.split("\n")[1:] == shadow.split("\n")[1:]
    with pytest.raises(ToolError, match="bob"):
        passwords.set_shadow(shadow, "bob", ("disabled", None, False))
