"""A real Debian 12 (debootstrapped here) installed on LVM: guestkit inspect and
libguestfs's virt-inspector must say the same thing, element by element, applications
(all ~90 packages, every field) included."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.guest_images import HOSTNAME, debian_on_lvm


def canonical(xml):
    """An XML document of virt-inspector's kind as plain data (order of applications and
    filesystems kept, as both write them sorted)."""
    from lxml import etree
    out = []
    for o in etree.fromstring(xml).findall("operatingsystem"):
        d = {}
        for child in o:
            if child.tag == "mountpoints":
                d["mountpoints"] = [(m.get("dev"), m.text) for m in child]
            elif child.tag == "filesystems":
                d["filesystems"] = {f.get("dev"): {c.tag: c.text for c in f} for f in child}
            elif child.tag == "applications":
                d["applications"] = [{c.tag: c.text for c in a} for a in child]
            else:
                d[child.tag] = child.text
        out.append(d)
    return out


@pytest.mark.slow
def test_debootstrapped_debian_matches_virt_inspector(tmp_path_factory):
    if shutil.which("virt-inspector") is None:
        pytest.fail("virt-inspector is not installed: run the README's test command",
                    pytrace=False)
    img = debian_on_lvm(tmp_path_factory.mktemp("debian"))
    ours = subprocess.run([sys.executable, "-m", "guestkit.cli", "inspect", "--format=raw",
                           "-a", img], capture_output=True, check=True).stdout
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    theirs = subprocess.run(["virt-inspector", "--format=raw", "-a", img], env=env,
                            capture_output=True, check=True).stdout
    a, b = canonical(ours), canonical(theirs)
    assert len(a) == 1 and a[0]["hostname"] == HOSTNAME and a[0]["distro"] == "debian"
    assert len(a[0]["applications"]) > 50
    assert {k: v for k, v in a[0].items() if k != "applications"} == \
        {k: v for k, v in b[0].items() if k != "applications"}
    for x, y in zip(a[0]["applications"], b[0]["applications"]):
        assert x == y, x["name"]
    assert len(a[0]["applications"]) == len(b[0]["applications"])
