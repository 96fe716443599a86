"""SELinux: setfiles / selinux_relabel label guest files from the guest's file_contexts;
get/set_selinux, getcon and setcon (deprecated) and the selinux feature answer truthfully."""

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import expect_error

SPEC = "/etc/selinux/targeted/contexts/files/file_contexts"
CONTEXTS = """\
/.*\tsystem_u:object_r:default_t:s0
/etc(/.*)?\tsystem_u:object_r:etc_t:s0
/etc/hosts\t--\tsystem_u:object_r:net_conf_t:s0
/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0
/home/[^/]+(/.*)?\tsystem_u:object_r:user_home_t:s0
"""


def label(g, path):
    return g.lgetxattr(path, "security.selinux").rstrip(b"\0").decode()


@pytest.fixture(scope="module")
def g(launched):
    launched.mkdir_p("/etc/selinux/targeted/contexts/files")
    launched.write(SPEC, CONTEXTS)
    launched.write(SPEC + ".local", "/srv(/.*)?\tsystem_u:object_r:srv_t:s0\n")
    launched.write("/etc/hosts", "127.0.0.1 localhost\n")
    launched.mkdir_p("/usr/bin")
    launched.touch("/usr/bin/tool")
    launched.mkdir_p("/home/alice")
    launched.touch("/home/alice/notes")
    launched.mkdir_p("/srv/www")
    launched.mkdir_p("/proc")
    launched.touch("/proc/not-relabelled")
    launched.mkdir_p("/cfg")
    launched.ln_sf("/etc/selinux/targeted/contexts/files/file_contexts", "/cfg/fc")
    return launched


def test_available(g):
    assert g.feature_available(["selinuxrelabel"]) == 1
    assert g.feature_available(["selinux"]) == 0       # the appliance boots without it
    expect_error("ENOTSUP", g.available, ["selinux"])
    expect_error("ENOTSUP", g.getcon)
    expect_error("ENOTSUP", g.setcon, "system_u:system_r:kernel_t:s0")


def test_selinux_relabel(g):
    g.selinux_relabel(SPEC, "/")
    assert label(g, "/etc/hosts") == "system_u:object_r:net_conf_t:s0"
    assert label(g, "/etc") == "system_u:object_r:etc_t:s0"
    assert label(g, "/usr/bin/tool") == "system_u:object_r:bin_t:s0"
    assert label(g, "/home/alice/notes") == "system_u:object_r:user_home_t:s0"
    assert label(g, "/srv/www") == "system_u:object_r:srv_t:s0"        # from .local
    assert label(g, "/cfg/fc") == "system_u:object_r:default_t:s0"     # the link itself
    expect_error("ENODATA", g.lgetxattr, "/proc/not-relabelled", "security.selinux")


def test_setfiles_paths_and_force(g):
    g.setxattr("security.selinux", "system_u:object_r:bogus_t:s0", 28, "/etc/hosts")
    g.setxattr("security.selinux", "system_u:object_r:bogus_t:s0", 28, "/usr/bin/tool")
    g.setfiles("/cfg/fc", ["/etc"])                    # spec through a guest symlink
    assert label(g, "/etc/hosts") == "system_u:object_r:net_conf_t:s0"
    assert label(g, "/usr/bin/tool") == "system_u:object_r:bogus_t:s0"  # not in PATHS
    # without force only the type is checked: a different user is kept
    g.setxattr("security.selinux", "user_u:object_r:bin_t:s0", 24, "/usr/bin/tool")
    g.setfiles(SPEC, ["/usr", "/home"])
    assert label(g, "/usr/bin/tool") == "user_u:object_r:bin_t:s0"
    g.setfiles(SPEC, ["/usr"], force=True)
    assert label(g, "/usr/bin/tool") == "system_u:object_r:bin_t:s0"


def test_errors(g):
    expect_error("ENOENT", g.setfiles, "/etc/selinux/none/file_contexts", ["/"])
    expect_error("ENOENT", g.selinux_relabel, SPEC, "/no/such/dir")
    expect_error("EINVAL", g.setfiles, SPEC, [])
    g.write("/bad_contexts", "this is not a spec line at all\n")
    expect_error("EIO", g.setfiles, "/bad_contexts", ["/etc"])


def test_selinux_flag(tmp_path):
    h = guestkit.GuestFS()
    assert h.get_selinux() == 0
    h.set_selinux(True)
    assert h.get_selinux() == 1
    h.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    h.launch()
    expect_error("EINVAL", h.set_selinux, False)      # a boot-time setting
    assert h.feature_available(["selinux"]) == 1
    assert h.getcon() == "kernel"                      # no policy is loaded
    h.close()
