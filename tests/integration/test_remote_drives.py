"""Remote drives: nbd (unix socket and 127.0.0.1) served by qemu-nbd, http served by busybox
httpd (byte ranges), read through the appliance."""

import os
import shutil
import socket
import subprocess
import time

import pytest

import guestkit
from tests.conftest import make_image


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on port %d" % port)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("remote-drives")
    img = make_image(d / "disk.img", 64)
    g = guestkit.GuestFS()
    g.add_drive_opts(img, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    g.mount("/dev/sda1", "/")
    g.write("/where", b"served remotely\n")
    g.close()
    return d, img


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def read_back(**drive):
    g = guestkit.GuestFS()
    try:
        g.add_drive_opts(**drive)
        g.launch()
        g.mount_ro("/dev/sda1", "/")
        return g.cat("/where")
    finally:
        g.close()


def test_nbd_unix_socket(image, procs):
    d, img = image
    sock = str(d / "nbd.sock")
    procs.append(subprocess.Popen(["qemu-nbd", "-k", sock, "-f", "raw", "-x", "disk", "-t",
                                   "-r", img]))
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    assert read_back(filename="disk", protocol="nbd", server=["unix:" + sock],
                     format="raw", readonly=True) == "served remotely\n"


def test_nbd_tcp_loopback(image, procs):
    d, img = image
    port = free_port()
    procs.append(subprocess.Popen(["qemu-nbd", "-b", "127.0.0.1", "-p", str(port), "-f",
                                   "raw", "-x", "disk", "-t", "-r", img]))
    wait_port(port)
    assert read_back(filename="/disk", protocol="nbd",
                     server=["tcp:127.0.0.1:%d" % port], format="raw",
                     readonly=True) == "served remotely\n"


def test_http_read_only(image, procs):
    d, img = image
    assert shutil.which("busybox"), "busybox-static is installed by the README's test command"
    port = free_port()
    procs.append(subprocess.Popen(["busybox", "httpd", "-f", "-p", "127.0.0.1:%d" % port,
                                   "-h", str(d)]))
    wait_port(port)
    assert read_back(filename="/disk.img", protocol="http",
                     server=["127.0.0.1:%d" % port], format="raw",
                     readonly=True) == "served remotely\n"


def test_remote_drive_errors():
    g = guestkit.GuestFS()
    with pytest.raises(guestkit.Error, match="needs server"):
        g.add_drive_opts("disk", protocol="nbd", format="raw")
    with pytest.raises(guestkit.Error, match="format="):
        g.add_drive_opts("disk", protocol="nbd", server=["unix:/tmp/x.sock"])
    with pytest.raises(guestkit.Error, match="read-only"):
        g.add_drive_opts("/d.img", protocol="http", server=["localhost"], format="raw")
    with pytest.raises(guestkit.Error, match="not one of"):
        g.add_drive_opts("/d.img", protocol="gopher", server=["localhost"], format="raw")
    with pytest.raises(guestkit.Error, match="bad"):
        g.add_drive_opts("d", protocol="nbd", server=["host:99999"], format="raw")
    g.close()


def test_ssh_with_agent_and_known_hosts(image, procs, tmp_path, monkeypatch):
    """A drive read over ssh from a private sshd on 127.0.0.1: key authentication through
    an ssh-agent, the server checked against known_hosts (qemu's ssh driver does both)."""
    d, img = image
    for tool in ("/usr/sbin/sshd", "ssh-keygen", "ssh-agent", "ssh-add"):
        assert shutil.which(tool) or os.path.exists(tool), "%s: installed by the README" % tool
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run(keygen + ["-f", str(tmp_path / "hostkey")], check=True)
    subprocess.run(keygen + ["-f", str(home / ".ssh" / "id")], check=True)
    (tmp_path / "authorized").write_text((home / ".ssh" / "id.pub").read_text())
    os.chmod(tmp_path / "authorized", 0o600)
    port = free_port()
    conf = tmp_path / "sshd_config"
    conf.write_text("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "UsePAM no\nPidFile %s\nStrictModes no\nPermitRootLogin yes\n"
                    "Subsystem sftp internal-sftp\n"
                    % (port, tmp_path / "hostkey", tmp_path / "authorized",
                       tmp_path / "sshd.pid"))
    os.makedirs("/run/sshd", exist_ok=True)
    procs.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)]))
    wait_port(port)
    hostpub = (tmp_path / "hostkey.pub").read_text().split()
    # qemu's ssh driver (libssh) reads the known_hosts of the user's passwd home, not $HOME:
    # add the test server's key there for the test, and put the file back afterwards
    import pwd
    real_ssh = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".ssh")
    known = os.path.join(real_ssh, "known_hosts")
    saved = open(known, "rb").read() if os.path.exists(known) else None
    os.makedirs(real_ssh, mode=0o700, exist_ok=True)

    def set_known(key):
        with open(known, "wb") as f:
            f.write((saved or b"") + ("[127.0.0.1]:%d %s %s\n" % (port, hostpub[0], key))
                    .encode())
    set_known(hostpub[1])
    cleanup = []
    cleanup.append(lambda: open(known, "wb").write(saved) if saved is not None
                   else os.unlink(known))
    agent_sock = str(tmp_path / "agent.sock")
    procs.append(subprocess.Popen(["ssh-agent", "-D", "-a", agent_sock],
                                  stdout=subprocess.DEVNULL))
    for _ in range(100):
        if os.path.exists(agent_sock):
            break
        time.sleep(0.05)
    env = dict(os.environ, SSH_AUTH_SOCK=agent_sock)
    subprocess.run(["ssh-add", "-q", str(home / ".ssh" / "id")], env=env, check=True)
    monkeypatch.setenv("SSH_AUTH_SOCK", agent_sock)      # qemu inherits it
    try:
        assert read_back(filename=img, protocol="ssh", server=["127.0.0.1:%d" % port],
                         username="root", format="raw", readonly=True) == "served remotely\n"
        # a server whose key is not the known one is refused
        set_known((home / ".ssh" / "id.pub").read_text().split()[1])
        with pytest.raises(guestkit.Error) as e:
            read_back(filename=img, protocol="ssh", server=["127.0.0.1:%d" % port],
                      username="root", format="raw", readonly=True)
        assert "known_hosts" in str(e.value)
    finally:
        for c in cleanup:
            c()
