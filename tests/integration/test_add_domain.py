"""add_domain against a real libvirtd: domains whose disks are a raw file, a qcow2 with a
backing chain, a loop block device, a <readonly/> disk and an nbd network disk; lookups by
name and UUID; libvirt SASL authentication through LIBVIRT_AUTH callbacks."""

import hashlib
import os
import subprocess
import time
import uuid

import pytest

import guestkit
from guestkit.libvirt_xml import Domain
from tests.conftest import make_image
from tests.libvirt_server import SASL_PASSWORD, SASL_USER, Libvirtd

DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    {disks}
  </devices>
</domain>"""


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import libvirt
    d = tmp_path_factory.mktemp("domains")
    lv = Libvirtd(d).start()
    procs = []
    loop = None
    conn = None
    try:
        raw = make_image(d / "raw.img", 32)
        base = make_image(d / "base.img", 32)
        top = str(d / "top.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base,
                        top], check=True)
        ro = make_image(d / "ro.img", 16)
        blk = make_image(d / "blk.img", 24)
        loop = subprocess.run(["losetup", "-f", "--show", blk], check=True,
                              capture_output=True, text=True).stdout.strip()
        nbdimg = make_image(d / "nbd.img", 8)
        sock = str(d / "nbd.sock")
        procs.append(subprocess.Popen(["qemu-nbd", "-k", sock, "-f", "raw", "-x", "exp",
                                       "-t", nbdimg]))
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        disks = """
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{raw}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='{top}'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='block' device='disk'><driver name='qemu' type='raw'/>
      <source dev='{loop}'/><target dev='vdc' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{ro}'/><target dev='vdd' bus='virtio'/><readonly/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/>
      <source protocol='nbd' name='exp'><host transport='unix' socket='{sock}'/></source>
      <target dev='vde' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
""".format(raw=raw, top=top, loop=loop, ro=ro, sock=sock)
        conn = libvirt.open(lv.uri)
        uid = str(uuid.uuid4())
        name = "gk-test-%d" % os.getpid()
        conn.defineXML(DOMAIN.format(name=name, uuid=uid, disks=disks))
        yield {"lv": lv, "conn": conn, "name": name, "uuid": uid, "ro": ro, "raw": raw,
               "base": base, "top": top, "dir": d}
    finally:
        if conn is not None:
            for dom in conn.listAllDomains():
                if dom.name().startswith("gk-test-"):
                    dom.undefine()
            conn.close()
        for p in procs:
            p.terminate()
            p.wait(5)
        if loop:
            subprocess.run(["losetup", "-d", loop])
        lv.stop()


def test_disks_reach_the_appliance(env):
    before = {k: sha(env[k]) for k in ("ro", "base")}
    g = guestkit.GuestFS(python_return_dict=True)
    assert g.add_domain(env["name"]) == 5            # the empty CD-ROM is skipped
    kinds = [(d.format, d.readonly, d.protocol) for d in g._drives]
    assert kinds == [("raw", False, "file"), ("qcow2", False, "file"),
                     ("raw", False, "file"), ("raw", True, "file"), ("raw", False, "nbd")]
    g.launch()
    try:
        assert g.list_devices() == ["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd",
                                    "/dev/sde"]
        sizes = [g.blockdev_getsize64(x) for x in g.list_devices()]
        assert sizes == [32 << 20, 32 << 20, 24 << 20, 16 << 20, 8 << 20]
        g.mkfs("ext2", "/dev/sdd")                   # read-only: goes to the overlay
        g.mkfs("ext2", "/dev/sdb")                   # the qcow2 top, not its backing file
        assert g.vfs_type("/dev/sdd") == "ext2"
    finally:
        g.close()
    assert sha(env["ro"]) == before["ro"] and sha(env["base"]) == before["base"]


def test_lookup_by_uuid_and_policies(env):
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_domain(env["uuid"])
    assert e.value.errno_name == "ENOENT"
    assert g.add_domain(env["uuid"], allowuuid=True, readonly=True) == 5
    assert all(d.readonly for d in g._drives)
    g.close()
    g = guestkit.GuestFS()
    assert g.add_domain(env["name"], readonlydisk="ignore") == 4
    g.close()
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_domain(env["name"], readonlydisk="error")
    assert "read-only" in str(e.value) and not g._drives       # atomic: nothing added
    with pytest.raises(guestkit.Error):
        g.add_domain(env["name"], live=True)
    with pytest.raises(guestkit.Error):
        g.add_domain(env["name"], readonlydisk="sometimes")
    g.close()


def test_atomic_when_a_disk_is_missing(env):
    import libvirt
    conn = env["conn"]
    name = "gk-test-broken"
    disks = ("<disk type='file' device='disk'><driver type='raw'/><source file='%s'/>"
             "<target dev='vda'/></disk><disk type='file' device='disk'><driver type='raw'/>"
             "<source file='%s/missing.img'/><target dev='vdb'/></disk>"
             % (env["raw"], env["dir"]))
    try:
        conn.defineXML(DOMAIN.format(name=name, uuid=str(uuid.uuid4()), disks=disks))
    except libvirt.libvirtError:
        pytest.fail("libvirt refused the test domain")
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_domain(name)
    assert "missing.img" in str(e.value) and not g._drives
    g.close()


def test_unknown_domain_and_bad_uri(env):
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error) as e:
        g.add_domain("no-such-domain")
    assert "no-such-domain" in str(e.value)
    with pytest.raises(guestkit.Error) as e:
        g.add_domain(env["name"], libvirturi="qemu+tcp://127.0.0.1:1/system")
    assert "could not connect" in str(e.value)
    g.close()


def test_sasl_credentials_through_callbacks(env):
    uri = env["lv"].uri_tcp
    traces = []
    asked = []

    def answer(password):
        def cb(ev, eh, buf, arr):
            if ev == guestkit.EVENT_TRACE:
                traces.append(buf)
                return
            creds = g.get_libvirt_requested_credentials()
            asked.append((buf, creds))
            for i, c in enumerate(creds):
                if c == "authname":
                    g.set_libvirt_requested_credential(i, SASL_USER.encode())
                elif c == "passphrase":
                    assert g.get_libvirt_requested_credential_prompt(i)
                    g.set_libvirt_requested_credential(i, password.encode())
        return cb

    g = guestkit.GuestFS()
    g.set_trace(True)
    g.set_libvirt_supported_credentials(["authname", "passphrase"])
    g.set_event_callback(answer(SASL_PASSWORD),
                         guestkit.EVENT_LIBVIRT_AUTH | guestkit.EVENT_TRACE)
    assert g.add_domain(env["name"], libvirturi=uri, readonly=True) == 5
    assert asked and asked[0][0] == uri.encode() and "passphrase" in asked[0][1]
    assert not any(SASL_PASSWORD.encode() in t for t in traces)
    g.close()

    g = guestkit.GuestFS()
    g.set_libvirt_supported_credentials(["authname", "passphrase"])
    g.set_event_callback(answer("wrong password"), guestkit.EVENT_LIBVIRT_AUTH)
    with pytest.raises(guestkit.Error) as e:
        g.add_domain(env["name"], libvirturi=uri, readonly=True)
    assert "could not connect" in str(e.value) and "wrong password" not in str(e.value)
    g.close()
    with pytest.raises(guestkit.Error):
        guestkit.GuestFS().get_libvirt_requested_credentials()   # outside a callback


def test_domain_xml_model_round_trip():
    x = Domain.parse("<domain><name>a</name><devices><disk type='file'>"
                     "<source file='/x'/><readonly/></disk></devices></domain>")
    d = x.disks[0]
    assert x.name == "a" and d.type == "file" and d.source.file == "/x" and d.readonly
    d.readonly = False
    d.driver_type = "qcow2"
    assert "<readonly" not in x.to_xml() and "type=\"qcow2\"" in x.to_xml()


def test_running_domain_needs_readonly(env):
    conn = env["conn"]
    name = "gk-test-running"
    dom = conn.defineXML(DOMAIN.format(name=name, uuid=str(uuid.uuid4()), disks=""))
    dom.create()                                  # SeaBIOS, no disks: it just sits there
    try:
        g = guestkit.GuestFS()
        with pytest.raises(guestkit.Error) as e:
            g.add_domain(name)
        assert e.value.errno_name == "EBUSY" and "readonly" in str(e.value)
        assert g.add_domain(name, readonly=True) == 0
        g.close()
    finally:
        dom.destroy()


def test_cli_prompts_on_the_terminal(env):
    """guestkit -c URI -d DOMAIN on a terminal asks for the SASL user and password."""
    import pty
    import select
    import shutil
    import sys
    exe = shutil.which("guestkit") or os.path.join(os.path.dirname(sys.executable),
                                                   "guestkit")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(exe, [exe, "-c", env["lv"].uri_tcp, "-d", env["name"], "--ro",
                       "list-disk-labels", ":", "get-memsize"])
    out = b""
    answered = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
            last = out.rsplit(b"\n", 1)[-1].lower()
            if last.rstrip().endswith(b":"):          # a prompt waits for an answer
                if b"password" in last:
                    answered.append("pw")
                    os.write(fd, SASL_PASSWORD.encode() + b"\n")
                elif b"name" in last:
                    answered.append("user")
                    os.write(fd, SASL_USER.encode() + b"\n")
                out += b"\n"
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, out
    assert "user" in answered and "pw" in answered
    assert SASL_PASSWORD.encode() not in out            # typed without echo
    assert out.strip().endswith(b"512")
