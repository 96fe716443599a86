"""The shell runs guestfish scripts unchanged, on a real appliance.

Launches are few (each costs seconds under TCG): one long script exercising the language
and the built-ins on a scratch image (made with qemu-img and mkfs on the host), the guestfish
manual's own script example run by guestkit and by real guestfish (the oracle) with the
outputs compared, one interactive session in a pseudo-terminal (-N prepared disk,
completion of guest paths, the history file), win: paths on a Windows-layout guest, and
remote control (--listen, --remote)."""

import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import time

import pytest

from tests.conftest import make_image

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def guestkit_env(**extra):
    env = dict(os.environ, PYTHONPATH=HERE)
    env.update(extra)
    return env


def wrapper(tmp_path):
    """An executable standing for /usr/bin/guestkit, for #! lines."""
    path = tmp_path / "guestkit"
    path.write_text("#!/bin/sh\nexec %s -m guestkit.cli \"$@\"\n" % sys.executable)
    path.chmod(0o755)
    return str(path)


def luks_uuid(image):
    """The LUKS UUID of IMAGE, read on the host (the header is plain)."""
    with open(image, "rb") as f:
        head = f.read(512)
    assert head[:6] == b"LUKS\xba\xbe", head[:8]
    return head[168:168 + 40].rstrip(b"\0").decode()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A 64 MiB raw image holding an ext4 made on the host, and a blank 32 MiB one."""
    if shutil.which("mkfs.ext4") is None:
        pytest.fail("mkfs.ext4 is not installed (package e2fsprogs)", pytrace=False)
    d = tmp_path_factory.mktemp("shell")
    disk = make_image(d / "scratch.img", 64)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "SCRATCH", disk], check=True)
    blank = make_image(d / "blank.img", 32)
    return {"dir": d, "disk": disk, "blank": blank}


SCRIPT = r"""#!%(guestkit)s -f
# a guestfish script: comments, blank lines, quoting, host commands, pipes

mkdir /dir
write /dir/hello "hello\nworld\n"
upload -<<END /dir/here
line one
  line two
END
cat /dir/here
-mkdir /dir
<! for n in 1 2 3; do echo write /dir/f.$n $n; done
glob cat /dir/f.*
ls /dir | sort -r | head -3
cat /dir/hello | tr a-z A-Z
download /dir/hello - | wc -l
touch /dir/big
truncate-size /dir/big 1M
filesize /dir/big
download /dir/big - | head -c 10 | wc -c
fallocate64 /dir/big2 2K
filesize /dir/big2
time sync
supported | grep -c ' yes$'
edit /dir/hello
more /dir/hello
hexedit /dir/here 0 4
head-n 1 /dir/here
lcd %(local)s
download /dir/hello local.txt
!cat local.txt
!mkdir src && echo A > src/a.txt && echo B > src/b.txt
copy-in src/a.txt src/b.txt /dir
glob cat /dir/?.txt
event ev close "echo closed: $EVENT"
luks-format /dev/sdb 0
cryptsetup-open /dev/sdb lk
mkfs ext2 /dev/mapper/lk label:ENCROOT
mkdir /m
mount /dev/mapper/lk /m
mkdir /m/etc
write /m/etc/os-release "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Secret OS\"\n"
write /m/etc/fstab "LABEL=ENCROOT / ext2 defaults 0 1\n"
umount /m
vfs-type /dev/mapper/lk
cryptsetup-close /dev/mapper/lk
echo "Guest's" 'label:' ~/x
vfs-label /dev/sda
cat /nonexistent
echo never reached
"""

SCRIPT_OUT = """\
line one
  line two
1
2
3
here
hello
f.3
HELLO
WORLD
2
1048576
10
2048
elapsed time: %(elapsed)s seconds
%(yes)s
bye
world
LINE one
bye
world
A
B
ext2
Guest's label: /home/gk/x
SCRATCH
closed: close
"""


def test_a_guestfish_script_on_a_real_appliance(scratch, tmp_path):
    """-f, comments, here-documents, -CMD, <!, glob, pipes (also of a download to '-'),
    size suffixes, time, supported, edit, more, lcd, !, events, keys from standard input;
    the first error stops the script with status 1 and names the line."""
    local = tmp_path / "local"
    local.mkdir()
    script = tmp_path / "script.gk"
    script.write_text(SCRIPT % {"guestkit": wrapper(tmp_path), "local": local})
    script.chmod(0o755)
    disk = str(tmp_path / "disk.img")
    shutil.copy(scratch["disk"], disk)
    blank = str(tmp_path / "blank.img")
    shutil.copy(scratch["blank"], blank)
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "--rw", "--keys-from-stdin",
                        "-a", disk, "-a", blank, "-m", "/dev/sda",
                        "-f", str(script)],
                       input="pass word\npass word\n", capture_output=True, text=True,
                       timeout=600, cwd=HERE,
                       env=guestkit_env(HOME="/home/gk", EDITOR="sed -i s/hello/bye/",
                                        PAGER="cat", HEXEDITOR="sed -i s/line/LINE/"))
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert any(l.startswith("elapsed time: ") for l in lines), p.stdout + p.stderr
    at = next(i for i, l in enumerate(lines) if l.startswith("elapsed time: "))
    elapsed, yes = lines[at].split()[2], lines[at + 1]
    assert yes.isdigit() and int(yes) > 10, p.stdout       # groups this appliance has
    assert p.stdout == SCRIPT_OUT % {"elapsed": elapsed, "yes": yes}
    assert (local / "local.txt").read_text() == "bye\nworld\n"
    errors = [l for l in p.stderr.splitlines() if l.startswith("guestkit: error:")]
    assert len(errors) == 2, p.stderr
    text = script.read_text().splitlines()
    assert errors[0].startswith("guestkit: error: %s:%d: " % (
        script, text.index("-mkdir /dir") + 1))
    assert errors[1].startswith("guestkit: error: %s:%d: " % (
        script, text.index("cat /nonexistent") + 1))
    assert "/nonexistent" in errors[1]
    # -i on the encrypted disk the script made: the key comes from standard input
    q = subprocess.run([sys.executable, "-m", "guestkit.cli", "-a", blank, "-i",
                        "--keys-from-stdin", "cat", "/etc/os-release", ":", "mounts"],
                       input="pass word\n", capture_output=True, text=True, timeout=600,
                       cwd=HERE, env=guestkit_env())
    assert q.returncode == 0, q.stderr
    assert q.stdout.startswith("ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Secret OS\"\n")
    assert q.stdout.endswith("/dev/mapper/luks-%s\n" % luks_uuid(blank))


MANUAL_EXAMPLE = """\
sparse test1.img 100M
run
part-disk /dev/sda mbr
mkfs ext2 /dev/sda1
list-filesystems
mount /dev/sda1 /
write /motd "Welcome, new users"
mkdir-p /a/b/c
touch /a/b/c/d
cat /motd
ls /
glob ls /a/*/c
is-file /motd
filesize /motd
vfs-type /dev/sda1
echo done: "quoted \\x41" 'single'
list-filesystems | grep -c sda1
"""


def test_the_manual_example_as_guestfish_runs_it(tmp_path):
    """The script interpreter example of guestfish(1) (sparse, run, part-disk, mkfs), plus
    common commands, run unchanged as a #! script by guestkit and by guestfish: the same
    output."""
    body = MANUAL_EXAMPLE
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "script").write_text("#!%s -f\n%s" % (wrapper(tmp_path), body))
    (ours / "script").chmod(0o755)
    p = subprocess.run(["./script"], cwd=str(ours), capture_output=True, text=True,
                       timeout=600, env=guestkit_env())
    assert p.returncode == 0, p.stderr
    assert os.path.getsize(ours / "test1.img") == 100 << 20
    assert os.stat(ours / "test1.img").st_blocks * 512 < 100 << 20        # sparse
    assert p.stdout.startswith("/dev/sda1: ext2\nWelcome, new users\n")
    if shutil.which("guestfish") is None:
        pytest.fail("guestfish (libguestfs-tools) is not installed: it is the oracle here",
                    pytrace=False)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "script").write_text("#!%s -f\n%s" % (shutil.which("guestfish"), body))
    (theirs / "script").chmod(0o755)
    q = subprocess.run(["./script"], cwd=str(theirs), capture_output=True, text=True,
                       timeout=600, env=LIBGUESTFS_ENV)
    assert q.returncode == 0, q.stderr
    assert p.stdout == q.stdout


def _read_until(fd, want, timeout):
    """Read from the pty until WANT (bytes) is seen; everything read."""
    seen = bytearray()
    end = time.monotonic() + timeout
    while want not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for %r; got %r" % (want, bytes(seen)))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return bytes(seen)


def test_interactive_prepared_disk_completion_history(tmp_path):
    """At a terminal: -N makes and formats a disk, the prompt completes command names and
    guest paths (asked of the appliance), an error does not end the session, and the
    history is kept in ~/.guestkit_history; the exit status is 0."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".guestkit_history").write_text("echo from-before\n")
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "-N", "fs:ext4:64M", "-m",
                          "/dev/sda1"], stdin=slave, stdout=slave, stderr=slave,
                         close_fds=True, cwd=str(tmp_path),
                         env=guestkit_env(HOME=str(home), TERM="dumb",
                                          INPUTRC="/dev/null"))
    os.close(slave)
    try:
        _read_until(master, b"><gk> ", 600)
        os.write(master, b"mkdir-p /some/where\r")
        _read_until(master, b"><gk> ", 60)
        os.write(master, b"touch /some/where/file.txt\r")
        _read_until(master, b"><gk> ", 60)
        os.write(master, b"list-filesyst\t\r")              # command name completed
        seen = _read_until(master, b"><gk> ", 60)
        assert b"/dev/sda1: ext4" in seen
        os.write(master, b"ls /so\twh\t\r")                # guest paths completed
        seen = _read_until(master, b"><gk> ", 60)
        assert b"/some/where/" in seen and b"file.txt" in seen, seen
        os.write(master, b"nosuchcommand\r")
        seen = _read_until(master, b"><gk> ", 60)
        assert b"unknown command 'nosuchcommand'" in seen
        os.write(master, b"quit\r")
        assert p.wait(120) == 0
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    history = (home / ".guestkit_history").read_text().splitlines()
    history = [h for h in history if not h.startswith("_HiStOrY")]
    assert history[0] == "echo from-before"
    assert "mkdir-p /some/where" in history and "quit" in history
    assert any(h.startswith("ls /some/where/") for h in history), history
    assert stat.S_ISREG(os.stat(tmp_path / "test1.img").st_mode)


WINDOWS_SCRIPT = r"""
ls 'win:c:\program files'
is-dir 'win:C:\Users\PUBLIC'
is-file win:\windows\system32\cmd.exe
-is-dir win:e:\
mount-ro /dev/sdb1 "/Program Files (x86)"
is-dir 'win:e:\program files\data'
"""


def test_windows_paths_on_a_windows_layout_guest(tmp_path):
    """win:DRIVE:\\path arguments on a Windows-layout guest (tests/windows_image.py),
    mounted with -i: drive letters through inspection and the mounts, any letter case."""
    import guestkit
    from tests.windows_image import build_windows
    disks = [make_image(tmp_path / "win1.img", 96), make_image(tmp_path / "win2.img", 48)]
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        for d in disks:
            g.add_drive_opts(d, format="raw")
        g.launch()
        build_windows(g)
        g.shutdown()
    finally:
        g.close()
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "-a", disks[0], "-a", disks[1],
                        "-i"], input=WINDOWS_SCRIPT, capture_output=True, text=True,
                       timeout=600, cwd=HERE, env=guestkit_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout == "7-Zip\ntrue\ntrue\ntrue\n"
    assert "drive E: is /dev/sdb1, which is not mounted" in p.stderr


def using(path):
    """True if some process has PATH on its command line (the appliance's qemu)."""
    for n in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % n, "rb") as f:
                if path.encode() in f.read():
                    return True
        except OSError:             # not a process, or it ended meanwhile
            continue
    return False


def test_remote_control_of_a_listening_shell(scratch, tmp_path):
    """--listen forks a shell that keeps its appliance; --remote runs commands in it with
    the caller's standard input and output (upload -, download -), and their status;
    'exit' ends it and its appliance."""
    disk = str(tmp_path / "disk.img")
    shutil.copy(scratch["disk"], disk)
    env = guestkit_env(XDG_RUNTIME_DIR=str(tmp_path))

    def gk(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args),
                              input=stdin, capture_output=True, text=True, timeout=600,
                              cwd=HERE, env=env)
    p = gk("--listen", "--rw", "-a", disk, "-m", "/dev/sda")
    assert p.returncode == 0, p.stderr
    pid = p.stdout.split("=")[1].split(";")[0]
    env["GUESTFISH_PID"] = pid
    try:
        assert gk("--remote", "write", "/r", "remote hello").returncode == 0
        assert gk("--remote", "upload", "-", "/u", stdin="from stdin\n").returncode == 0
        assert gk("--remote", "cat", "/r").stdout == "remote hello\n"
        assert gk("--remote", "download", "/u", "-").stdout == "from stdin\n"
        q = gk("--remote", "cat", "/nonexistent")
        assert q.returncode == 1 and "/nonexistent" in q.stderr
        assert using(disk)                      # one appliance served all of them
    finally:
        assert gk("--remote", "exit").returncode == 0
    deadline = time.monotonic() + 120
    while using(disk):
        assert time.monotonic() < deadline, "the appliance outlived the listener"
        time.sleep(0.5)
    # what the listener wrote is on the disk after it ended
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "-a", disk, "-m", "/dev/sda",
                        "cat", "/u"], capture_output=True, text=True, timeout=600,
                       cwd=HERE, env=guestkit_env())
    assert (r.returncode, r.stdout) == (0, "from stdin\n"), r.stderr


def test_a_remote_disk_given_as_a_uri(scratch, tmp_path):
    """-a nbd:///EXPORT?socket=PATH: the disk qemu-nbd serves, read by the appliance."""
    if shutil.which("qemu-nbd") is None:
        pytest.fail("qemu-nbd is not installed (package qemu-utils)", pytrace=False)
    sock = str(tmp_path / "nbd.sock")
    server = subprocess.Popen(["qemu-nbd", "-k", sock, "-f", "raw", "-x", "disk", "-t", "-r",
                               scratch["disk"]])
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert time.monotonic() < deadline and server.poll() is None, "qemu-nbd died"
            time.sleep(0.05)
        p = subprocess.run([sys.executable, "-m", "guestkit.cli", "--format=raw", "-a",
                            "nbd:///disk?socket=" + sock, "vfs-label", "/dev/sda", ":",
                            "blockdev-getsize64", "/dev/sda"], capture_output=True,
                           text=True, timeout=600, cwd=HERE, env=guestkit_env())
        assert (p.returncode, p.stdout) == (0, "SCRATCH\n%d\n" % (64 << 20)), p.stderr
    finally:
        server.terminate()
        server.wait(30)
