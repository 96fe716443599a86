"""guestkit customize (virt-customize's job) on a small real Linux guest (Debian-like files,
busybox as /bin/sh): the operations run in command-line order inside the guest, what they
wrote reads back through guestkit and through libguestfs, --dry-run changes nothing, and
bad values fail naming the problem."""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import one_ext4_partition

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def customize(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "customize"] + list(args),
                       capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(path):
    with one_ext4_partition(path) as g:
        for d in ("/etc/systemd/system", "/bin", "/var/lib/systemd", "/root", "/home/alice",
                  "/usr/share/zoneinfo/Europe", "/tmp"):
            g.mkdir_p(d)
        g.write("/etc/os-release", b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n')
        g.write("/etc/debian_version", b"12.5\n")
        g.write("/etc/hostname", b"old\n")
        g.write("/etc/hosts", b"127.0.0.1\tlocalhost\n127.0.1.1\told\n")
        g.write("/etc/fstab", b"/dev/sda1 / ext4 defaults 0 1\n")
        g.write("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                               b"alice:x:1000:1000::/home/alice:/bin/sh\n")
        g.write("/etc/shadow", b"root:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n")
        g.chmod(0o640, "/etc/shadow")
        g.chown(1000, 1000, "/home/alice")
        g.write("/usr/share/zoneinfo/Europe/Paris", b"TZif2 not a real one")
        g.upload("/bin/busybox", "/bin/busybox")
        g.chmod(0o755, "/bin/busybox")
        g.ln_s("busybox", "/bin/sh")
        g.write("/etc/crlf", b"a\r\nb")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("customize")
    path = make_image(d / "pristine.img", 100)
    build(path)
    return {"path": path, "dir": d}


@pytest.fixture
def work(image, tmp_path):
    path = str(tmp_path / "guest.img")
    shutil.copy(image["path"], path)
    return path


def openssl_hash(password, like, method="-6"):
    salt = like.split("$")[2]
    return subprocess.run(["openssl", "passwd", method, "-salt", salt, "-stdin"],
                          input=password + "\n", capture_output=True, text=True,
                          check=True).stdout.strip()


def test_operations_in_order(work, tmp_path):
    script = tmp_path / "script.sh"
    # shell built-ins only: the guest's busybox has no other command on PATH
    script.write_text("#!/bin/sh\nread m < /etc/motd\necho \"ran $m\" > /root/script-ran\n")
    r = customize("-a", work, "--no-network",
                  "--hostname", "new.example.com", "--timezone", "Europe/Paris",
                  "--root-password", "password:s3cret", "--password", "alice:random",
                  "--ssh-inject", "alice:string:ssh-ed25519 AAAAKEY alice@host",
                  "--write", "/etc/motd:hello",
                  "--run", str(script),                   # sees the motd written before
                  "--run-command", "echo hi > /root/cmd-ran",
                  "--append-line", "/etc/crlf:c",
                  "--mkdir", "/opt/x", "--link", "/etc/motd:/opt/x/m1:/opt/x/m2",
                  "--chmod", "0600:/etc/motd",
                  "--firstboot-command", "touch /root/booted",
                  "--delete", "/tmp")
    out = r.stdout
    assert "Examining the guest" in out and "Finishing off" in out
    assert "s3cret" not in out
    random_pw = out.split("Setting random password of alice to ")[1].split()[0]
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(work, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        assert g.cat("/etc/hostname") == "new\n"
        assert g.cat("/etc/hosts") == "127.0.0.1\tlocalhost\n127.0.1.1\tnew.example.com\n"
        assert g.readlink("/etc/localtime") == "/usr/share/zoneinfo/Europe/Paris"
        assert g.cat("/etc/timezone") == "Europe/Paris\n"
        shadow = dict(line.split(":", 2)[:2] for line in g.cat("/etc/shadow").splitlines())
        assert openssl_hash("s3cret", shadow["root"]) == shadow["root"]
        assert openssl_hash(random_pw, shadow["alice"]) == shadow["alice"]
        assert g.stat("/etc/shadow")["mode"] & 0o777 == 0o640
        keys = "/home/alice/.ssh/authorized_keys"
        assert g.cat(keys) == "ssh-ed25519 AAAAKEY alice@host\n"
        st = g.stat(keys)
        assert (st["uid"], st["gid"], st["mode"] & 0o777) == (1000, 1000, 0o600)
        assert g.stat("/home/alice/.ssh")["mode"] & 0o777 == 0o700
        assert g.cat("/root/script-ran") == "ran hello\n"
        assert g.cat("/root/cmd-ran") == "hi\n"
        assert g.read_file("/etc/crlf") == b"a\r\nb\r\nc\r\n"
        assert g.readlink("/opt/x/m2") == "/etc/motd"
        assert g.stat("/etc/motd")["mode"] & 0o777 == 0o600
        scripts = g.ls("/usr/lib/guestkit-firstboot/scripts")
        assert len(scripts) == 1 and "touch /root/booted" in g.cat(
            "/usr/lib/guestkit-firstboot/scripts/" + scripts[0])
        assert g.is_symlink("/etc/systemd/system/multi-user.target.wants/"
                            "guestkit-firstboot.service")
        assert len(g.read_file("/var/lib/systemd/random-seed")) == 512
        assert not g.exists("/tmp")
    finally:
        g.close()
    # libguestfs sees the same guest
    r = subprocess.run(["virt-cat", "--format=raw", "-a", work, "-m", "/dev/sda1",
                        "/etc/hostname", "/home/alice/.ssh/authorized_keys"],
                       capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"new\nssh-ed25519 AAAAKEY alice@host\n"


def test_dry_run_and_commands_from_file(image, work, tmp_path):
    before = sha256(work)
    r = customize("-a", work, "-n", "--write", "/etc/motd:x", "--delete", "/etc")
    assert "Finishing off" in r.stdout and sha256(work) == before
    cmds = tmp_path / "cmds"
    cmds.write_text("# made by hand\nwrite /etc/motd:one\n\nappend-line /etc/motd:two\n"
                    "--chmod 0640:/etc/motd\n")
    customize("-a", work, "-q", "--commands-from-file", str(cmds),
              "--append-line", "/etc/motd:three", "--edit", "/etc/motd:s/^t(wo)$/T$1:/",
              "--write", "/etc/secret:top secret", "--scrub", "/etc/secret",
              "--password-crypto", "md5", "--root-password", "password:old-style")
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(work, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        assert g.cat("/etc/motd") == "one\nTwo:\nthree\n"     # --edit ran last
        assert not g.exists("/etc/secret")                      # --scrub
        root = g.cat("/etc/shadow").split("\n")[0].split(":")[1]
        assert root.startswith("$1$") and openssl_hash("old-style", root, "-1") == root
        assert g.stat("/etc/motd")["mode"] & 0o777 == 0o640
    finally:
        g.close()


def test_bad_values(work):
    before = sha256(work)
    r = customize("-a", work, "--timezone", "Nowhere/Town", check=False)
    assert r.returncode == 1 and "/usr/share/zoneinfo/Nowhere/Town" in r.stderr
    r = customize("-a", work, "--password", "bob:password:x", check=False)
    assert r.returncode == 1 and "bob" in r.stderr
    r = customize("-a", work, "--chmod", "rwx:/etc/motd", check=False)
    assert r.returncode == 1 and "octal" in r.stderr
    r = customize("-a", work, "--root-password", "plain", check=False)
    assert r.returncode == 1 and "password:PASS" in r.stderr
    r = customize("-a", work, "--upload", "/nonexistent:/etc", check=False)
    assert r.returncode == 1 and "/nonexistent" in r.stderr
    r = customize("-a", work, "--edit", "/etc/motd:tr/a/b/", check=False)
    assert r.returncode == 1 and "--edit" in r.stderr and "not supported" in r.stderr
    r = customize("-a", work, "--edit", "/etc/nonexistent:s/a/b/", check=False)
    assert r.returncode == 1 and "/etc/nonexistent" in r.stderr
    # each failed before changing a file (only the random seed was written)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(work, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        assert g.cat("/etc/shadow").startswith("root:*:")
        assert not g.exists("/etc/timezone")
    finally:
        g.close()
    assert before != sha256(work)          # the seed


def seed_clone_state(path):
    """What a used guest holds that sysprep removes."""
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format="raw")
    g.launch()
    try:
        g.mount("/dev/sda1", "/")
        g.write("/etc/machine-id", b"0123456789abcdef0123456789abcdef\n")
        g.mkdir_p("/etc/ssh")
        for name in ("ssh_host_rsa_key", "ssh_host_rsa_key.pub", "ssh_host_ed25519_key"):
            g.write("/etc/ssh/" + name, b"key\n")
        g.write("/etc/ssh/sshd_config", b"Port 22\n")
        g.write("/root/.bash_history", b"ls\n")
        g.write("/tmp/scratch", b"x")
        g.write("/etc/passwd-", b"old\n")
        g.mkdir_p("/var/log")
        g.write("/var/log/syslog", b"log\n")
        g.write("/var/log/dpkg.log", b"log\n")
        g.mkdir_p("/home/alice/.ssh")
        g.write("/home/alice/.ssh/id_rsa", b"secret\n")
        g.mkdir_p("/var/spool/cron/crontabs")
        g.write("/var/spool/cron/crontabs/alice", b"* * * * * true\n")
        g.umount_all()
        g.shutdown()
    finally:
        g.close()


def tree(path):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        return sorted(g.find("/")), g.read_file("/etc/machine-id"), g.cat("/etc/hostname")
    finally:
        g.close()


def test_sysprep_does_what_virt_sysprep_does(work, tmp_path):
    seed_clone_state(work)
    seeded_id = b"0123456789abcdef0123456789abcdef\n"
    theirs = str(tmp_path / "theirs.img")
    shutil.copy(work, theirs)
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "sysprep", "-a", work,
                        "--hostname", "clone1"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert 'Performing "machine-id"' in r.stdout and 'Performing "user-account"' not in \
        r.stdout
    r2 = subprocess.run(["virt-sysprep", "--format", "raw", "-a", theirs, "--hostname",
                         "clone1"], capture_output=True, env=LIBGUESTFS_ENV, timeout=900)
    assert r2.returncode == 0, r2.stderr.decode()
    mine_files, mine_id, mine_host = tree(work)
    their_files, their_id, their_host = tree(theirs)
    for gone in ("etc/ssh/ssh_host_rsa_key", "root/.bash_history", "tmp/scratch",
                 "etc/passwd-", "var/log/syslog", "home/alice/.ssh",
                 "var/spool/cron/crontabs/alice"):
        assert gone not in mine_files
    assert "etc/ssh/sshd_config" in mine_files and "home/alice" in mine_files
    # the id is emptied, then a fresh one is set, as virt-sysprep does
    assert len(mine_id) == 33 and int(mine_id, 16) and mine_id != seeded_id
    assert mine_host == "clone1\n"
    # libguestfs's own tool left the same files (it writes its own seed and firstboot
    # bits, which are not compared)
    ignore = ("var/lib/systemd/random-seed",)
    assert [f for f in mine_files if f not in ignore] == \
        [f for f in their_files if f not in ignore]
    assert len(their_id) == 33 and their_id != mine_id and their_host == mine_host
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "sysprep", "--list-operations"],
                       capture_output=True, text=True, timeout=60)
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert "machine-id" in names and "user-account" in names and names == sorted(names)
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "sysprep", "-a", work,
                        "--operations", "nosuch"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "nosuch" in r.stderr
