"""The second set of virt-* style tools on real images: tail, edit, diff, make-fs, format,
win-reg.  Small guests are made on the host with mkfs.ext4 -d (no appliance needed) and
changed behind a tool's back with debugfs; where the issue asks for it, the result is
compared with libguestfs's own tool (identical output) or read back by libguestfs."""

import os
import signal
import subprocess
import sys
import time

import pytest

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def tool(*args, stdin=None, check=True, env=None):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args), input=stdin,
                       capture_output=True, timeout=600, env=env)
    if check:
        assert r.returncode == 0, r.stderr.decode()
    return r


def ext4_image(path, tree, size="32M"):
    """A raw image holding one ext4 filesystem (no partition table) made from TREE,
    {relative path: bytes, or None for a directory}."""
    src = str(path) + ".src"
    os.makedirs(src)
    for rel, data in sorted(tree.items()):
        p = os.path.join(src, rel)
        if data is None:
            os.makedirs(p, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", src, str(path), size], check=True,
                   stdout=subprocess.DEVNULL)
    return str(path)


def debugfs(image, *requests):
    """Change the filesystem of IMAGE from the host (no appliance): debugfs -w requests."""
    for req in requests:
        r = subprocess.run(["debugfs", "-w", "-R", req, image], capture_output=True,
                           timeout=60)
        assert r.returncode == 0 and b"debugfs:" not in r.stderr.split(b"\n", 1)[-1], \
            r.stderr.decode()


def replace_file(image, guest_path, data, tmp):
    """Replace GUEST_PATH of IMAGE's filesystem by a new file holding DATA (a new inode)."""
    host = os.path.join(str(tmp), "replacement")
    with open(host, "wb") as f:
        f.write(data)
    debugfs(image, "rm " + guest_path, "write %s %s" % (host, guest_path))


# ---- tail ----------------------------------------------------------------------------

class Reader:
    """The standard output of a running tool, read as it comes."""

    def __init__(self, proc):
        self.proc, self.data = proc, b""
        os.set_blocking(proc.stdout.fileno(), False)

    def wait_for(self, text, timeout=180):
        end = time.time() + timeout
        while text not in self.data:
            chunk = self.proc.stdout.read()
            if chunk:
                self.data += chunk
                continue
            if self.proc.poll() is not None or time.time() > end:
                self.data += self.proc.stdout.read() or b""
                if text in self.data:
                    break
                raise AssertionError("waited for %r; got %r, stderr %r" % (
                    text, self.data, self.proc.stderr.read()))
            time.sleep(0.2)
        return self.data

    def finish(self, timeout=120):
        rc = self.proc.wait(timeout)
        self.data += self.proc.stdout.read() or b""
        return rc, self.data, self.proc.stderr.read()


def start_tool(*args):
    return subprocess.Popen([sys.executable, "-m", "guestkit.cli"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def numbered(a, b):
    return b"".join(b"line %d\n" % i for i in range(a, b + 1))


def qemu_children(pid):
    """Pids of the qemu processes whose parent is PID."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/comm" % entry) as f:
                comm = f.read()
        except OSError:
            continue
        if int(fields[1]) == pid and comm.startswith("qemu"):
            out.append(int(entry))
    return out


def test_tail_follows_growth_replacement_and_deletion(tmp_path):
    img = ext4_image(tmp_path / "tail.img", {"log": numbered(1, 30), "etc": None})
    p = start_tool("tail", "--format=raw", "-a", img, "-m", "/dev/sda", "-s", "1",
                   "/log", "/missing")
    out = Reader(p)
    try:
        # first look: a small file is printed whole, under virt-tail's banner
        assert out.wait_for(b"line 30\n") == b"\n\n--- /log ---\n\n" + numbered(1, 30)
        # grown: only what was added, no second banner
        replace_file(img, "/log", numbered(1, 34), tmp_path)
        assert out.wait_for(b"line 34\n") == b"\n\n--- /log ---\n\n" + numbered(1, 34)
        # replaced by a shorter file: its last 10 lines
        mark = len(out.data)
        replace_file(img, "/log", numbered(100, 120), tmp_path)
        assert out.wait_for(b"line 120\n")[mark:] == numbered(111, 120)
        # deleted (and /missing never appeared): the tool ends by itself
        debugfs(img, "rm /log")
        rc, data, err = out.finish(300)
        assert rc == 0, err.decode()
        assert data.endswith(b"guestkit tail: all files deleted, exiting\n")
    finally:
        p.kill()
        p.wait()


def test_tail_lines_and_ctrl_c(tmp_path):
    img = ext4_image(tmp_path / "tail.img", {"log": numbered(1, 30)})
    p = start_tool("tail", "-n", "3", "--format=raw", "-a", img, "-m", "/dev/sda",
                   "-s", "1", "/log")
    out = Reader(p)
    try:
        assert out.wait_for(b"line 30\n") == b"\n\n--- /log ---\n\n" + numbered(28, 30)
        end = time.time() + 120
        while qemu_children(p.pid):             # the first look's appliance goes away
            assert time.time() < end, "the appliance stayed up after the first look"
            time.sleep(0.1)
        replace_file(img, "/log", numbered(1, 31), tmp_path)
        # Ctrl-C while the appliance of the next look is up: a clean end, qemu gone
        while not qemu_children(p.pid):
            assert p.poll() is None and time.time() < end, "no second look was made"
            time.sleep(0.1)
        qemus = qemu_children(p.pid)
        p.send_signal(signal.SIGINT)
        rc, data, err = out.finish(60)
        assert rc == 0 and b"Traceback" not in err, err.decode()
        time.sleep(1)
        assert not [q for q in qemus if os.path.exists("/proc/%d" % q)
                    and not open("/proc/%d/stat" % q).read().split(") ")[1].startswith("Z")]
    finally:
        p.kill()
        p.wait()


def test_tail_bad_input(tmp_path):
    img = ext4_image(tmp_path / "tail.img", {"log": b"x\n"})
    r = tool("tail", "-a", img, "-m", "/dev/sda", "log", check=False)
    assert r.returncode == 1 and b"log: a file of the guest must be a full path" in r.stderr
    r = tool("tail", "--format=raw", "-a", img, "-m", "/dev/sda", "/nothing", "/here",
             check=False)
    assert r.returncode == 1 and b"none of the files were found" in r.stderr
