"""The libvirt backend against a real libvirtd (started by the tests): the spine's actions,
read-only drives, nothing left behind; bad URIs and a stopped libvirtd give clear errors."""

import hashlib
import os
import subprocess

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import rsync_daemon
from tests.libvirt_server import Libvirtd


@pytest.fixture(scope="module")
def libvirtd(tmp_path_factory):
    lv = Libvirtd(tmp_path_factory.mktemp("libvirtd")).start()
    yield lv
    lv.stop()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def leftovers():
    import libvirt
    c = libvirt.open(None)              # the tests' libvirtd (LIBVIRT_DEFAULT_URI)
    try:
        return [d.name() for d in c.listAllDomains() if d.name().startswith("guestkit-")]
    finally:
        c.close()


@pytest.mark.parametrize("spec", ["libvirt", "libvirt:SYSTEM", "libvirt:SESSION"])
def test_spine_through_libvirt(libvirtd, tmp_path, spec):
    # as root, qemu:///session is served by the privileged daemon too: ours
    spec = spec.replace("SYSTEM", libvirtd.uri).replace(
        "SESSION", libvirtd.uri.replace("/system?", "/session?"))
    disk = make_image(tmp_path / "disk.img", 128)
    ro = make_image(tmp_path / "ro.img", 16)
    before = sha(ro)
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(3 << 20))
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_backend(spec)
    g.add_drive_opts(disk, format="raw")
    g.add_drive_opts(ro, format="raw", readonly=True, label="ro")
    network = spec == "libvirt:" + libvirtd.uri
    g.set_network(network)       # once: the user-mode interface with the appliance's addresses
    g.launch()
    tmpdir = g._tmpdir
    assert g.get_backend() == spec and g.get_pid() > 0
    assert g.list_devices() == ["/dev/sda", "/dev/sdb"]
    assert g.list_disk_labels() == {"ro": "/dev/sdb"}
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1", label="LV")
    g.mount("/dev/sda1", "/")
    g.write("/hello", b"through libvirt\n")
    assert g.cat("/hello") == "through libvirt\n"
    g.upload(str(payload), "/payload")
    out = tmp_path / "out"
    g.download("/payload", str(out))
    assert out.read_bytes() == payload.read_bytes()
    if network:
        (tmp_path / "rsyncd").mkdir()
        with rsync_daemon(str(tmp_path / "rsyncd")) as rs:
            with open(os.path.join(rs["src"], "from-host"), "w") as f:
                f.write("over the user-mode network\n")
            g.rsync_in(rs["url"] + "/src/", "/", archive=True)
        assert g.cat("/from-host") == "over the user-mode network\n"
    g.mkfs("ext2", "/dev/sdb")                    # into the overlay only
    assert leftovers()
    g.close()
    assert sha(ro) == before
    assert not leftovers() and not os.path.exists(tmpdir)


def test_domain_dies_with_the_process(libvirtd, tmp_path):
    disk = make_image(tmp_path / "disk.img", 16)
    script = ("import guestkit, os, time\n"
              "g = guestkit.GuestFS(); g.set_backend('libvirt')\n"
              "g.add_drive_opts(%r, format='raw'); g.launch()\n"
              "print('up', flush=True); time.sleep(600)\n" % disk)
    import sys
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "up"
    assert leftovers()
    p.kill()
    p.wait()
    import time
    deadline = time.monotonic() + 20
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not leftovers()                      # AUTODESTROY with the connection


def test_unreachable_uri(libvirtd, tmp_path):
    g = guestkit.GuestFS()
    g.set_backend("libvirt:qemu+tcp://127.0.0.1:1/system")
    g.add_drive_opts(make_image(tmp_path / "d.img", 8), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "libvirt" in str(e.value) and "connect" in str(e.value)
    g.close()


def test_libvirtd_not_running(tmp_path):
    g = guestkit.GuestFS()
    g.set_backend("libvirt:qemu+unix:///system?socket=%s" % (tmp_path / "none.sock"))
    g.add_drive_opts(make_image(tmp_path / "d.img", 8), format="raw")
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "backend libvirt" in str(e.value) and "could not connect" in str(e.value)
    g.close()


@pytest.mark.parametrize("mode", ["die", "silent"])
def test_kvm_failing_late_falls_back_to_domain_type_qemu(libvirtd, tmp_path, mode):
    """A domain of type kvm whose vCPU fails after libvirt started it (qemu dies, or the
    kernel never shows up) is relaunched as type qemu (TCG); the verdict is cached."""
    from guestkit.backends import kvm
    from tests.fake_kvm import calls, make_wrapper
    hv = make_wrapper(tmp_path / "hv", mode)
    warnings = []
    g = guestkit.GuestFS(environment=False)
    g.set_backend("libvirt")
    g.set_hv(hv)
    g.set_event_callback(lambda ev, eh, buf, arr: warnings.append(buf),
                         guestkit.EVENT_WARNING)
    g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
    g.launch()
    try:
        assert g._backend.used_kvm is False
        assert g.list_devices() == ["/dev/sda"]
    finally:
        g.close()
    launches = [c for c in calls(tmp_path / "hv") if c[1] == "launch"]
    assert launches == [("kvm", "launch"), ("tcg", "launch")]
    assert [w for w in warnings if b"KVM failed" in w]
    assert kvm.cached_verdict(hv, g._config.user_cache())["works"] is False
    assert not leftovers()


def test_tests_libvirtd_runs_beside_the_system_one(libvirtd, tmp_path):
    """A libvirt user's machine runs libvirtd as a service: the tests start their own beside
    it and leave it alone.  Without one here, this test starts one where the service runs
    (/run/libvirt, /var/lib/libvirt) and stops it afterwards; it sees an empty /etc/libvirt,
    so that it starts none of the machine's networks or domains."""
    import libvirt
    from tests.libvirt_server import SYSTEM_SOCK, Libvirtd, _pid_alive
    system_uri = "qemu:///system?socket=%s" % SYSTEM_SOCK
    started = []
    try:
        libvirt.open(system_uri).close()
    except libvirt.libvirtError:
        empty = tmp_path / "empty-etc"
        empty.mkdir()
        subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "set -e; mount --bind %s /etc/libvirt; virtlogd -d; libvirtd -d"
                        % empty], check=True)
        started += ["/run/virtlogd.pid", "/run/libvirtd.pid"]
        import time
        for _ in range(300):
            try:
                libvirt.open(system_uri).close()
                break
            except libvirt.libvirtError:
                time.sleep(0.1)
    try:
        system = libvirt.open(system_uri)
        before = sorted(d.name() for d in system.listAllDomains())
        ours = Libvirtd(tmp_path / "beside").start()
        try:
            g = guestkit.GuestFS()
            g.set_backend("libvirt:" + ours.uri)
            g.add_drive_opts(make_image(tmp_path / "d.img", 16), format="raw")
            g.launch()
            mine = [d.name() for d in libvirt.open(ours.uri).listAllDomains()]
            assert [n for n in mine if n.startswith("guestkit-")]
            # the service sees none of it, and keeps answering
            assert sorted(d.name() for d in system.listAllDomains()) == before
            assert g.list_devices() == ["/dev/sda"]
            g.close()
        finally:
            ours.stop()
        assert system.getLibVersion() > 0 and sorted(
            d.name() for d in system.listAllDomains()) == before
        system.close()
    finally:
        import signal
        for pidfile in reversed(started):
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not _pid_alive(pid):
                    break
                import time
                time.sleep(0.1)


def test_hotplug_through_libvirt(libvirtd, tmp_path):
    """add_drive after launch attaches a disk to the live domain (attachDeviceFlags) and the
    daemon attaches it as the next /dev/sdX; remove_drive refuses while it is mounted, then
    detaches it from the domain too."""
    import libvirt
    first = make_image(tmp_path / "first.img", 16)
    guest = make_image(tmp_path / "guest.img", 64)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "plugged", guest], check=True)
    before = sha(guest)
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_backend("libvirt:" + libvirtd.uri)
    g.add_drive_opts(first, format="raw", label="first")
    g.launch()
    try:
        def domain_sources():
            c = libvirt.open(libvirtd.uri)
            try:
                xml = [d for d in c.listAllDomains()
                       if d.name().startswith("guestkit-")][0].XMLDesc(0)
            finally:
                c.close()
            return xml.count("<disk ")
        disks = domain_sources()
        g.add_drive_opts(guest, format="raw", readonly=True, label="hot")
        assert domain_sources() == disks + 1
        assert g.list_devices() == ["/dev/sda", "/dev/sdb"]
        assert g.list_disk_labels() == {"first": "/dev/sda", "hot": "/dev/sdb"}
        g.mount("/dev/disk/guestfs/hot", "/")
        assert g.vfs_label("/dev/sdb") == "plugged"
        g.write("/x", b"overlay only")
        with pytest.raises(guestkit.Error, match="in use") as e:
            g.remove_drive("hot")
        assert e.value.errno_name == "EBUSY"
        g.umount_all()
        g.remove_drive("hot")
        assert g.list_devices() == ["/dev/sda"]
        assert domain_sources() == disks
    finally:
        g.close()
    assert sha(guest) == before


def test_rescue_through_libvirt(libvirtd, tmp_path):
    """guestkit rescue's session runs over the daemon's channel, so the libvirt backend
    carries it as the direct one does: piped commands, the shell's exit status."""
    import sys
    disk = make_image(tmp_path / "disk.img", 16)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "rescued", disk], check=True)
    env = dict(os.environ, LIBGUESTFS_BACKEND="libvirt:" + libvirtd.uri)
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "rescue", "--ro",
                        "--format=raw", "-a", disk],
                       input=b"blkid -o value -s LABEL /dev/sda\nexit 7\n", env=env,
                       capture_output=True, timeout=600)
    assert r.returncode == 7, r.stderr
    assert r.stdout == b"rescued\n", r.stderr
    assert not leftovers()
