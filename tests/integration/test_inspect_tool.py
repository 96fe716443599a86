"""guestkit inspect (virt-inspector's job) on real images: a guest whose root is LUKS on
LVM, opened with --key or --keys-from-stdin; XML that validates against virt-inspector's
schema, the same content as JSON; clear failures for a wrong key and a disk with no OS."""

import json
import os
import subprocess
import sys

import pytest

import guestkit
from tests.conftest import make_image

KEY = "correct horse battery"
RNG = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                   "virt-inspector.rng")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("inspect-tool")
    enc = make_image(d / "luks-on-lvm.img", 200)
    blank = make_image(d / "blank.img", 32)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(enc, format="raw")
    g.add_drive_opts(blank, format="raw")
    g.launch()
    g.pvcreate("/dev/sda")
    g.vgcreate("vgc", ["/dev/sda"])
    g.lvcreate("root", "vgc", 120)
    g.luks_format("/dev/vgc/root", KEY, 0)
    uuid = g.luks_uuid("/dev/vgc/root")
    g.cryptsetup_open("/dev/vgc/root", KEY, "luks-" + uuid)
    g.mkfs("ext4", "/dev/mapper/luks-" + uuid)
    g.mount("/dev/mapper/luks-" + uuid, "/")
    g.mkdir_p("/etc")
    g.mkdir_p("/usr/bin")
    g.write("/etc/os-release", b'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
                               b'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')
    g.write("/etc/hostname", b"vault\n")
    g.write("/etc/fstab", ("/dev/mapper/luks-%s / ext4 defaults 0 1\n" % uuid).encode())
    g.write("/etc/crypttab", ("luks-%s UUID=%s none luks\n" % (uuid, uuid)).encode())
    g.upload("/bin/ls", "/usr/bin/ls")
    g.umount_all()
    g.cryptsetup_close("/dev/mapper/luks-" + uuid)
    g.shutdown()
    g.close()
    return {"enc": enc, "blank": blank, "uuid": uuid, "dir": d}


def tool(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "guestkit.cli", "inspect"] + list(args),
                          input=stdin, capture_output=True, text=True,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def validate(xml):
    from lxml import etree
    if not os.path.exists(RNG):
        pytest.fail("virt-inspector.rng not found at %s (shared/reference beside the clone)"
                    % RNG, pytrace=False)
    schema = etree.RelaxNG(etree.parse(RNG))
    doc = etree.fromstring(xml.encode())
    assert schema.validate(doc), schema.error_log
    return doc


def test_luks_on_lvm_with_key_option(images):
    p = tool("--format=raw", "-a", images["enc"], "--key", "/dev/vgc/root:key:" + KEY)
    assert p.returncode == 0, p.stderr
    doc = validate(p.stdout)
    os_ = doc.find("operatingsystem")
    root = "/dev/mapper/luks-" + images["uuid"]
    assert os_.findtext("root") == root
    assert (os_.findtext("distro"), os_.findtext("major_version"),
            os_.findtext("minor_version"), os_.findtext("hostname")) == \
        ("ubuntu", "22", "4", "vault")
    assert [(m.get("dev"), m.text) for m in os_.find("mountpoints")] == [(root, "/")]
    fs = os_.find("filesystems").find("filesystem")
    assert fs.get("dev") == root and fs.findtext("type") == "ext4"


def test_keys_from_stdin_and_json(images):
    p = tool("--format=raw", "-a", images["enc"], "--keys-from-stdin", "--json",
             "--no-applications", stdin=KEY + "\n")
    assert p.returncode == 0, p.stderr
    oses = json.loads(p.stdout)["operatingsystems"]
    assert len(oses) == 1
    o = oses[0]
    assert o["root"] == "/dev/mapper/luks-" + images["uuid"]
    assert (o["name"], o["distro"], o["major_version"], o["osinfo"]) == \
        ("linux", "ubuntu", 22, "ubuntu22.04")
    assert "applications" not in o
    # the key selector may name the LUKS UUID instead of the device
    keyfile = images["dir"] / "key.txt"
    keyfile.write_text(KEY + "\n")
    p = tool("--format=raw", "-a", images["enc"], "--json",
             "--key", "%s:file:%s" % (images["uuid"], keyfile))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["operatingsystems"][0]["hostname"] == "vault"


def test_wrong_or_missing_key_fails_clearly(images):
    p = tool("--format=raw", "-a", images["enc"], "--key", "/dev/vgc/root:key:wrong")
    assert p.returncode == 1 and "/dev/vgc/root: cannot open it" in p.stderr
    p = tool("--format=raw", "-a", images["enc"], "--keys-from-stdin", stdin="")
    assert p.returncode == 1 and "no more keys" in p.stderr
    p = tool("--format=raw", "-a", images["enc"], "--key", "nonsense")
    assert p.returncode == 1 and "expecting ID:key:PASSPHRASE" in p.stderr


def test_no_operating_system(images):
    p = tool("--format=raw", "-a", images["blank"])
    assert p.returncode == 1
    assert "no operating system could be detected" in p.stderr and not p.stdout
    p = tool()
    assert p.returncode == 1 and "no disk given" in p.stderr


def test_xpath_queries_an_earlier_document(images):
    p = tool("--format=raw", "-a", images["enc"], "--key", "/dev/vgc/root:key:" + KEY)
    assert p.returncode == 0, p.stderr
    q = tool("--xpath", "string(//operatingsystem/hostname)", stdin=p.stdout)
    assert q.returncode == 0 and q.stdout == "vault\n"
    q = tool("--xpath", "//mountpoints", stdin=p.stdout)
    assert q.stdout.startswith("<mountpoints>") and "luks-" in q.stdout
    assert tool("--xpath", "count(//operatingsystem)", stdin=p.stdout).stdout == "1\n"
    q = tool("--xpath", "//[", stdin=p.stdout)
    assert q.returncode == 1 and "--xpath" in q.stderr
    q = tool("--xpath", "//x", stdin="not xml")
    assert q.returncode == 1 and "not an XML document" in q.stderr


def test_key_asked_on_the_terminal(images):
    """No --key: the passphrase is asked on the controlling terminal, not echoed."""
    import pty
    import time
    pid, master = pty.fork()
    if pid == 0:                                   # the child: its terminal is the pty
        os.execv(sys.executable, [sys.executable, "-m", "guestkit.cli", "inspect", "--json",
                                  "--format=raw", "-a", images["enc"]])
    seen = bytearray()
    answered = False
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:                            # EIO: the child is gone
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"/dev/vgc/root" in seen and seen.rstrip().endswith(b":"):
            os.write(master, KEY.encode() + b"\n")
            answered = True
    os.close(master)
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert answered and os.waitstatus_to_exitcode(status) == 0, text
    assert KEY not in text                         # not echoed
    assert '"hostname": "vault"' in text
