"""guestkit rescue (virt-rescue's job) on a real image: commands piped in, a session on a
terminal (prompt, ^C to the foreground job, window size, escape sequences, ^D), -i,
--suggest, the writable default and --ro."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import one_ext4_partition, served_appliance, sha256_file

HELLO = b"hello from the guest\n"
PROMPT = b"><rescue> "


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """An ext4 on /dev/sda1 holding /hello and enough of a Linux for inspection."""
    path = make_image(tmp_path_factory.mktemp("rescue") / "disk.img", 64)
    with one_ext4_partition(path) as g:
        g.mkdir_p("/etc")
        g.mkdir_p("/bin")
        g.write("/etc/os-release", b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
                                   b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
        g.write("/etc/fstab", b"/dev/sda1 / ext4 defaults 0 1\n")
        g.write("/etc/hostname", b"rescued\n")
        g.upload("/bin/ls", "/bin/ls")
        g.write("/hello", HELLO)
    return path


def rescue(*args, stdin=b""):
    return subprocess.run([sys.executable, "-m", "guestkit.cli", "rescue", "--format=raw"]
                          + list(args), input=stdin, capture_output=True, timeout=300)


def test_piped_commands_and_exit_status(image):
    r = rescue("-a", image, stdin=b"mount /dev/sda1 /sysroot\ncat /sysroot/hello\n"
                                  b"ls /dev/sd*\necho to-stderr >&2\nexit 3\n")
    assert r.returncode == 3, r.stderr
    assert r.stdout == HELLO + b"/dev/sda\n/dev/sda1\n"
    assert r.stderr == b"to-stderr\n"


def test_scratch_disks_and_end_of_input(image):
    """--scratch=2 adds two blank 10 GiB disks after the image; a long input reaches the
    shell whole, its end ends the shell, with the last command's status."""
    many = b"".join(b"echo %d\n" % i for i in range(20000))
    r = rescue("--ro", "-a", image, "--scratch=2",
               stdin=b"ls /dev/sd?\nblockdev --getsize64 /dev/sdc\n" + many + b"false")
    assert r.returncode == 1, r.stderr
    assert r.stdout == b"/dev/sda\n/dev/sdb\n/dev/sdc\n%d\n" % (10 << 30) + \
        b"".join(b"%d\n" % i for i in range(20000))


def test_inspector_mounts_the_guest_at_sysroot(image):
    r = rescue("--ro", "-i", "-a", image,
               stdin=b"cat /sysroot/etc/hostname\ngrep ' /sysroot ' /proc/mounts\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "rescued"
    assert lines[1].startswith("/dev/sda1 /sysroot ext4 ro"), lines


def test_suggest(image):
    r = rescue("--suggest", "-a", image)
    assert r.returncode == 0, r.stderr
    assert b"/dev/sda1 is the root of a linux operating system" in r.stdout
    assert b"\nmount /dev/sda1 /sysroot/\n" in r.stdout


WRITE = (b"mount /dev/sda1 /sysroot\necho written > /sysroot/new\numount /sysroot\n"
         b"dd if=/dev/zero of=/dev/sda bs=512 seek=100 count=1 2>/dev/null\n")


def test_ro_leaves_the_image_alone_and_the_default_writes(image, tmp_path):
    before = sha256_file(image)
    r = rescue("--ro", "-a", image, stdin=WRITE + b"cat /dev/sda | head -c 0\n")
    assert r.returncode == 0, r.stderr
    assert sha256_file(image) == before
    r = rescue("-a", image, stdin=WRITE)
    assert r.returncode == 0, r.stderr
    assert sha256_file(image) != before
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(image, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        assert g.cat("/new") == "written\n"
    finally:
        g.close()


class Terminal:
    """The master side of a pty: expect() reads up to what is awaited, keeping the rest."""

    def __init__(self, fd):
        self.fd, self.buf = fd, bytearray()

    def expect(self, want, timeout=120):
        """Everything up to and including WANT (bytes)."""
        end = time.monotonic() + timeout
        while want not in self.buf:
            r, _, _ = select.select([self.fd], [], [], max(0, end - time.monotonic()))
            chunk = os.read(self.fd, 65536) if r else b""
            if not chunk:
                raise AssertionError("no %r; got %r" % (want, bytes(self.buf)))
            self.buf += chunk
        cut = self.buf.index(want) + len(want)
        seen = bytes(self.buf[:cut])
        del self.buf[:cut]
        return seen

    def run(self, command, upto=PROMPT):
        os.write(self.fd, command)
        return self.expect(upto)


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_terminal_session(image):
    """On a terminal: the prompt, a command's output, the window size (and its change),
    ^C ends the foreground job and not the session, ^] i shows inspection, ^D ends the
    shell with the last command's status, and the terminal is as it was."""
    master, slave = pty.openpty()
    set_size(slave, 30, 100)
    before = termios.tcgetattr(slave)

    def controlling_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "rescue", "--ro", "-i",
                          "--format=raw", "-a", image], stdin=slave, stdout=slave,
                         stderr=slave, start_new_session=True,
                         preexec_fn=controlling_terminal, env=dict(os.environ, TERM="dumb"))
    t = Terminal(master)
    try:
        t.expect(PROMPT)
        assert termios.tcgetattr(slave)[3] & termios.ECHO == 0      # raw during it
        seen = t.run(b"cat /sysroot/hello; stty size\r")
        assert HELLO.rstrip() + b"\r\n30 100\r\n" in seen, seen
        set_size(master, 40, 120)                   # SIGWINCH to the tool
        time.sleep(1)
        t.run(b"stty size\r", b"40 120\r\n")
        t.expect(PROMPT)
        os.write(master, b"sleep 100; echo not-interrupted\r")
        time.sleep(1)
        t0 = time.monotonic()
        t.run(b"\x03", PROMPT)
        assert time.monotonic() - t0 < 30
        t.run(b"\x1di", b"/dev/sda1 is the root of a linux")
        seen = t.run(b"echo still $((6 * 7))\r", b"still 42\r\n")
        assert b"not-interrupted" not in seen
        t.expect(PROMPT)
        t.run(b"false\r")
        os.write(master, b"\x04")
        assert p.wait(60) == 1
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)


def test_over_the_remote_backend(image, tmp_path):
    """The session runs over the daemon's channel, so a served appliance gives it too, and
    serves calls again after it."""
    sock = str(tmp_path / "serve.sock")
    with served_appliance(sock, "--format=raw", "-a", image):
        env = dict(os.environ, GUESTKIT_BACKEND="remote:unix:" + sock)
        for status in (4, 5):
            r = subprocess.run([sys.executable, "-m", "guestkit.cli", "rescue"], env=env,
                               input=b"ls /dev/sd*\nexit %d\n" % status, capture_output=True,
                               timeout=120)
            assert (r.returncode, r.stdout) == (status, b"/dev/sda\n/dev/sda1\n"), r.stderr
