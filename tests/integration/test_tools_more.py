"""The second set of virt-* style tools on real images: tail, edit, diff, make-fs, format,
win-reg.  Small guests are made on the host with mkfs.ext4 -d (no appliance needed) and
changed behind a tool's back with debugfs; where the issue asks for it, the result is
compared with libguestfs's own tool (identical output) or read back by libguestfs."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
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
    {relative path: bytes, None for a directory, "fifo", or ("->", symlink target)}."""
    src = str(path) + ".src"
    os.makedirs(src)
    for rel, data in sorted(tree.items()):
        p = os.path.join(src, rel)
        if data is None:
            os.makedirs(p, exist_ok=True)
        elif data == "fifo":
            os.mkfifo(p)
        elif isinstance(data, tuple):
            os.symlink(data[1], p)
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


OS_RELEASE = (b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
              b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
#: a small Debian-looking guest that inspection finds (one ext4 filesystem on /dev/sda)
GUEST = {"etc/os-release": OS_RELEASE, "etc/fstab": b"/dev/sda / ext4 defaults 0 1\n",
         "etc/hostname": b"guest\n", "etc/conf": b"a-old b-old\nkeep\nlast-old",
         "etc/deep/dir/file": b"deep\n", "home/user/notes": b"hello\n", "var/log": None,
         "etc/link": ("->", "conf"), "etc/fifo": "fifo", "etc/debian_version": b"12.4\n",
         "bin": None}          # libguestfs's inspection wants /bin beside /etc and fstab


def make_guest(path):
    """GUEST as an image; /etc/conf is 0640 owned by 1000:1000, /etc/link points to it,
    /etc/fifo is a fifo."""
    img = ext4_image(path, GUEST)
    debugfs(img, "set_inode_field /etc/conf mode 0100640", "set_inode_field /etc/conf uid 1000",
            "set_inode_field /etc/conf gid 1000")
    return img


class Background:
    """libguestfs's tools (~20 s each here) run in one thread, one after another, while the
    tests go on; results by name."""

    def __init__(self):
        self.jobs, self.results = [], {}
        self.lock = threading.Lock()
        self.thread = None

    def run(self, name, argv, env=LIBGUESTFS_ENV, stdin=None):
        def job():
            self.results[name] = subprocess.run(argv, capture_output=True, env=env,
                                                input=stdin, timeout=900)
        with self.lock:
            prev = self.thread

            def chain():
                if prev is not None:
                    prev.join()
                job()
            self.thread = threading.Thread(target=chain, daemon=True)
            self.thread.start()

    def result(self, name):
        with self.lock:
            t = self.thread
        t.join(1800)
        r = self.results[name]
        assert r.returncode == 0, (r.args, r.stderr.decode())
        return r.stdout


@pytest.fixture(scope="module")
def libguestfs():
    bg = Background()
    yield bg
    if bg.thread is not None:
        bg.thread.join(1800)


def inode(image, path):
    """(inode number, mode, uid, gid) of PATH in IMAGE's ext4, read on the host by debugfs."""
    out = subprocess.run(["debugfs", "-R", "stat " + path, image], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Inode: (\d+)\s+Type: \w+\s+Mode:\s+(\d+).*?User:\s+(\d+)\s+Group:\s+(\d+)",
                  out, re.S)
    assert m, out
    return int(m.group(1)), int(m.group(2), 8), int(m.group(3)), int(m.group(4))


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


# ---- edit ----------------------------------------------------------------------------

def test_edit(tmp_path, libguestfs):
    img = make_guest(tmp_path / "edit.img")
    before = {p: inode(img, p) for p in ("/etc/conf", "/etc/hostname", "/etc/fstab")}
    assert before["/etc/conf"][1:] == (0o640, 1000, 1000)
    # an expression through a symlink, with a backup; /etc/hostname does not match: untouched
    tool("edit", "--format=raw", "-a", img, "-b", ".orig",
         "-e", r"s/(\w+)-old/$1-new/g", "/etc/link", "/etc/hostname")
    conf = inode(img, "/etc/conf")
    assert conf[0] != before["/etc/conf"][0] and conf[1:] == (0o640, 1000, 1000)
    assert inode(img, "/etc/conf.orig") == before["/etc/conf"]     # the old file itself
    assert inode(img, "/etc/hostname") == before["/etc/hostname"]  # not rewritten
    r = subprocess.run(["debugfs", "-R", "ls /etc", img], capture_output=True, text=True)
    assert "hostname.orig" not in r.stdout and "link.orig" not in r.stdout
    # $EDITOR mode; an editor that fails leaves the file alone
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nset -e\necho "$MARK" >> "$1"\n')
    editor.chmod(0o755)
    tool("edit", "--format=raw", "-a", img, "/etc/fstab",
         env=dict(os.environ, EDITOR=str(editor), MARK="tmpfs /tmp tmpfs defaults 0 0"))
    r = tool("edit", "--format=raw", "-a", img, "/etc/hostname", check=False,
             env=dict(os.environ, EDITOR="false"))
    assert r.returncode == 1 and b"the editor (false) failed" in r.stderr
    # refused: a fifo, a directory, a missing file; nothing written, not even the good one
    for bad, message in (("/etc/fifo", b"/etc/fifo: not a regular file"),
                         ("/etc/deep", b"/etc/deep: not a regular file"),
                         ("/etc/none", b"/etc/none: no such file")):
        r = tool("edit", "--format=raw", "-a", img, "-e", "s/guest/changed/",
                 "/etc/hostname", bad, check=False)
        assert r.returncode == 1 and message in r.stderr, r.stderr
        if bad == "/etc/fifo":
            break                        # one launch is enough; the others are checked
    assert inode(img, "/etc/hostname") == before["/etc/hostname"]
    # libguestfs reads back what guestkit wrote
    libguestfs.run("edit", ["guestfish", "--ro", "--format=raw", "-a", img, "-i"],
                   stdin=b"cat /etc/conf\ncat /etc/conf.orig\ncat /etc/fstab\n"
                         b"cat /etc/hostname\n")
    assert libguestfs.result("edit") == (
        b"a-new b-new\nkeep\nlast-new\n"          # guestfish's cat ends with a newline
        b"a-old b-old\nkeep\nlast-old\n"
        b"/dev/sda / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults 0 0\n\n"
        b"guest\n\n")


def test_edit_bad_expressions(tmp_path):
    """Refused before any launch, with a message naming what is not supported."""
    for expr, message in (("tr/a-z/A-Z/", b"is not supported: guestkit edit -e understands"),
                          ("s/a/$x/", b"'$x' in the replacement"),
                          ("s/a/b/e", b"the flag 'e' is not supported"),
                          ("s/(/x/", b"the regex '('")):
        r = tool("edit", "-a", str(tmp_path / "never-opened.img"), "-e", expr, "/etc/x",
                 check=False)
        assert r.returncode == 1 and message in r.stderr, (expr, r.stderr)


# ---- diff ----------------------------------------------------------------------------

DIFF_RUNS = {                           # name -> options, for virt-diff and guestkit diff
    "plain": ["--uids", "-h", "--xattrs"],
    "csv": ["--csv", "--all", "--checksum=sha256", "--time-t", "--atime", "--dir-times"],
}


def test_diff_matches_virt_diff(tmp_path, libguestfs):
    a = make_guest(tmp_path / "a.img")
    b = str(tmp_path / "b.img")
    shutil.copy(a, b)
    (tmp_path / "hostname").write_bytes(b"other\n")
    (tmp_path / "conf").write_bytes(b"a-old b-old\nkeep\nlast-new")
    (tmp_path / "new.bin").write_bytes(bytes(range(256)) * 12)
    (tmp_path / "deep").write_bytes(b"deep\n" * 20)
    debugfs(b, "rm /etc/hostname", "write %s /etc/hostname" % (tmp_path / "hostname"),
            "rm /etc/conf", "write %s /etc/conf" % (tmp_path / "conf"),
            "write %s /etc/new.bin" % (tmp_path / "new.bin"),
            "rm /home/user/notes", "set_inode_field /etc/fstab mode 0100600",
            "ea_set /etc/os-release user.note hello\x01",
            "mkdir /etc/deep-er", "write %s /etc/deep-er/x" % (tmp_path / "deep"),
            # made within the second: their times must say they changed
            "set_inode_field /etc/hostname mtime 20200101000000",
            "set_inode_field /etc/conf mtime 20200101000000")
    for name, opts in DIFF_RUNS.items():
        libguestfs.run("diff-" + name, ["virt-diff", "--format=raw", "-a", a, "-A", b] + opts)
    mine = {name: tool("diff", "--format=raw", "-a", a, "-A", b, *opts).stdout
            for name, opts in DIFF_RUNS.items()}
    plain = mine["plain"].decode()
    assert "= - 0644          6    0    0 /etc/hostname\n@@ -1 +1 @@\n-guest\n+other\n" \
        "@@ End of diff @@\n" in plain
    assert "\\ No newline at end of file" in plain and "+ d 0755" in plain
    assert "# changed: st_mode\n" in plain and "user.note hello\\x01\n# changed: xattrs" \
        in plain
    assert "+ - 0644       3.0K    0    0 /etc/new.bin\n" in plain
    assert [line.split(b",")[-1] for line in mine["csv"].splitlines()
            if line.startswith(b"=,-,")] == [b"/etc/conf", b"/etc/hostname"]
    assert b"End of diff" not in mine["csv"]
    for name, opts in DIFF_RUNS.items():
        theirs = libguestfs.result("diff-" + name)
        for _ in range(2):
            # libguestfs's appliance sometimes finds its own root disk first, so that one
            # of virt-diff's two appliances sees the guest as sdb: every file then differs
            # in st_dev.  That is virt-diff's noise, not a difference: ask it again.
            if b"st_dev" not in theirs:
                break
            r = subprocess.run(["virt-diff", "--format=raw", "-a", a, "-A", b] + opts,
                               capture_output=True, env=LIBGUESTFS_ENV, timeout=900)
            assert r.returncode == 0, r.stderr.decode()
            theirs = r.stdout
        assert mine[name] == theirs, name
    # the same guest twice: nothing to say
    assert tool("diff", "--format=raw", "-a", a, "-A", a).stdout == b""


# ---- make-fs and format --------------------------------------------------------------

def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_make_fs_and_format(tmp_path, libguestfs):
    import tarfile
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"from a directory\n")
    (src / "secret").write_bytes(b"s\n")
    (src / "secret").chmod(0o600)
    os.symlink("sub/f", src / "l")
    (src / "big").write_bytes(os.urandom(3 << 20))
    out1 = str(tmp_path / "dir.img")
    tool("make-fs", "-t", "ext4", "--partition", "--label", "DATA", "--size=+10M",
         str(src), out1)
    assert 3 << 20 < os.path.getsize(out1) < 20 << 20
    archive = tmp_path / "in.tar.xz"
    with tarfile.open(archive, "w:xz") as t:
        t.add(src / "sub", arcname="sub")
    out2 = str(tmp_path / "tar.qcow2")
    tool("make-fs", "--format=qcow2", str(archive), out2)
    assert open(out2, "rb").read(4) == b"QFI\xfb"
    # format erases a guest and leaves a labelled filesystem on LVM in an MBR partition
    fmt = make_guest(tmp_path / "fmt.img")
    tool("format", "--format=raw", "-a", fmt, "--filesystem=ext4", "--lvm=/dev/data/vol",
         "--label", "FMT")
    libguestfs.run("make-fs", ["guestfish", "--ro", "--format=raw", "-a", out1,
                               "--format=qcow2", "-a", out2, "--format=raw", "-a", fmt],
                   stdin=b"run\nlist-filesystems\nvfs-label /dev/sda1\n"
                         b"part-get-mbr-id /dev/sda 1\npart-get-mbr-id /dev/sdc 1\n"
                         b"vfs-label /dev/data/vol\n"
                         b"mount /dev/sda1 /\ncat /sub/f\nreadlink /l\nchecksum md5 /big\n"
                         b"stat /secret | grep mode\numount /\n"
                         b"mount /dev/sdb /\nls /\ncat /sub/f\numount /\n"
                         b"mount /dev/data/vol /\nls /\n")
    import hashlib
    assert libguestfs.result("make-fs").decode() == (
        "/dev/sdb: ext2\n/dev/sda1: ext4\n/dev/data/vol: ext4\n"    # guestfish's order
        "DATA\n0x83\n0x8e\nFMT\n"
        "from a directory\n\nsub/f\n%s\nmode: 33152\n"
        "lost+found\nsub\nfrom a directory\n\n"
        "lost+found\n" % hashlib.md5((src / "big").read_bytes()).hexdigest())


def test_make_fs_and_format_bad_input(tmp_path):
    """Refused before anything is written, with a message naming the problem."""
    guest = make_guest(tmp_path / "g.img")
    before = sha256(guest)
    for args, message in (
            (["--filesystem=nosuchfs"], b"there is no mkfs.nosuchfs on this machine"),
            (["--partition=bsd"], b"--partition=bsd: expecting mbr, gpt or none"),
            (["--lvm=justone"], b"--lvm=justone: expecting /dev/VG/LV or VG/LV"),
            (["--label", "X"], b"--label goes with --filesystem")):
        r = tool("format", "--format=raw", "-a", guest, *args, check=False)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
    assert sha256(guest) == before
    notar = tmp_path / "notar"
    notar.write_bytes(b"just text\n" * 100)
    out = tmp_path / "out.img"
    for args, message in (
            ([str(notar)], b"input is not a directory, tar archive or compressed tar"),
            (["--size=12Q", str(tmp_path)], b"--size '12Q': expecting a number"),
            (["-t", "nosuchfs", str(tmp_path)], b"no mkfs.nosuchfs")):
        r = tool("make-fs", *args, str(out), check=False)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
    assert not out.exists()
    # too small: the appliance runs out of room; the half-made image is removed
    big = tmp_path / "big"
    big.mkdir()
    (big / "data").write_bytes(os.urandom(4 << 20))
    r = tool("make-fs", "--size=1M", str(big), str(out), check=False)
    assert r.returncode == 1 and b"give a bigger --size" in r.stderr, r.stderr
    assert not out.exists()


# ---- win-reg -------------------------------------------------------------------------

CV = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
UNINSTALL = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
MERGE = r"""Windows Registry Editor Version 5.00

; a new key with values of several kinds, a key deleted, a value replaced
[HKEY_LOCAL_MACHINE\SOFTWARE\GuestKit]
"Name"="guest \"kit\""
"Count"=dword:0000002a
@="default"
"Path"=hex(2):25,00,53,00,79,00,73,00,\
  00,00
"Raw"=hex:01,02,ff

[-HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\7-Zip]

[HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"EditionID"=str(1):"Enterprise"
"""


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    import guestkit
    from tests.conftest import make_image
    from tests.windows_image import build_windows
    d = tmp_path_factory.mktemp("win")
    disks = [make_image(d / "win1.img", 96), make_image(d / "win2.img", 48)]
    g = guestkit.GuestFS(python_return_dict=True)
    for disk in disks:
        g.add_drive_opts(disk, format="raw")
    g.launch()
    build_windows(g)
    g.shutdown()
    g.close()
    return {"dir": d, "disk": disks[0]}     # C: is on the first disk; enough for the tools


def test_win_reg_export_and_merge_match_virt_win_reg(windows, libguestfs, tmp_path):
    disk = windows["disk"]
    before = sha256(disk)
    libguestfs.run("reg-cv", ["virt-win-reg", "--format=raw", disk, CV])
    libguestfs.run("reg-system", ["virt-win-reg", "--format=raw", "--unsafe-printable-strings",
                                  disk, "HKLM\\SYSTEM"])
    # merge into a copy, then libguestfs reads the result
    merged = str(tmp_path / "merged.img")
    shutil.copy(disk, merged)
    reg = tmp_path / "changes.reg"
    reg.write_text(MERGE)
    tool("win-reg", "--format=raw", "-a", merged, "--merge", str(reg))
    libguestfs.run("reg-merged", ["virt-win-reg", "--format=raw", merged,
                                  "HKLM\\SOFTWARE\\GuestKit"])
    libguestfs.run("reg-merged-uninstall", ["virt-win-reg", "--format=raw", merged, UNINSTALL])
    libguestfs.run("reg-merged-cv", ["virt-win-reg", "--format=raw",
                                     "--unsafe-printable-strings", merged, CV])
    cv = tool("win-reg", "--format=raw", disk, CV).stdout
    assert cv.startswith(b"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\"
                         b"CurrentVersion]\n\"CurrentBuild\"=hex(1):31,00,39,00")
    assert b'"CurrentMajorVersionNumber"=dword:0000000a\n' in cv
    system = tool("win-reg", "--format=raw", "-a", disk, "--unsafe-printable-strings",
                  "HKLM\\SYSTEM").stdout
    assert b'"Hostname"=str(1):"WIN-GK01"\n' in system and b"[HKEY_LOCAL_MACHINE\\SYSTEM\\]" \
        in system
    value = tool("win-reg", "--format=raw", "-a", disk, CV, "ProductName").stdout
    assert value == b"Windows 10 Pro\n"
    assert tool("win-reg", "--format=raw", "-a", disk, CV, "CurrentMajorVersionNumber"
                ).stdout == b"10\n"
    assert cv == libguestfs.result("reg-cv")
    assert system == libguestfs.result("reg-system")
    assert libguestfs.result("reg-merged") == (
        b"[HKEY_LOCAL_MACHINE\\SOFTWARE\\GuestKit]\n"
        b"@=hex(1):64,00,65,00,66,00,61,00,75,00,6c,00,74,00,00,00\n"
        b'"Count"=dword:0000002a\n'
        b'"Name"=hex(1):' + b",".join(b"%02x" % c for c in 'guest "kit"\0'.encode(
            "utf-16-le")) + b"\n"
        b'"Path"=hex(2):25,00,53,00,79,00,73,00,00,00\n'
        b'"Raw"=hex(3):01,02,ff\n\n')
    uninstall = libguestfs.result("reg-merged-uninstall")
    assert b"Mozilla Firefox" in uninstall and b"7-Zip" not in uninstall
    assert b'"EditionID"=str(1):"Enterprise"\n' in libguestfs.result("reg-merged-cv")
    assert sha256(disk) == before                   # exports only read


def test_win_reg_bad_input(windows, tmp_path):
    disk = windows["disk"]
    copy = str(tmp_path / "copy.img")
    shutil.copy(disk, copy)
    before = sha256(copy)
    bad = tmp_path / "bad.reg"
    for text, message in (
            ('[HKLM\\SOFTWARE\\GuestKit]\n"x"=-\n', b"deleting a single value"),
            ('[HKLM\\SOFTWARE\\GuestKit]\n"x"=dword:12\n', b"line 2: parse error"),
            ("nonsense\n", b"line 1: unexpected text")):
        bad.write_text(text)
        r = tool("win-reg", "--format=raw", "-a", copy, "--merge", str(bad), check=False)
        assert r.returncode == 1 and message in r.stderr, (text, r.stderr)
    # checked in the guest, before any write: a key of no hive, a new key without a parent
    bad.write_text("[HKLM\\SOFTWARE\\GuestKit]\n\"a\"=\"b\"\n\n[HKLM\\NOSUCHHIVE\\X]\n")
    r = tool("win-reg", "--format=raw", "-a", copy, "--merge", str(bad), check=False)
    assert r.returncode == 1 and b"not a supported Windows Registry path" in r.stderr
    assert sha256(copy) == before
    # a key that cannot be made in the second hive: the first one is not changed either
    # (the hives were read on a read-write mount, so their access times may have moved)
    bad.write_text("[HKLM\\SOFTWARE\\GuestKit]\n\"a\"=\"b\"\n\n"
                   "[HKLM\\SYSTEM\\No\\Parent]\n\"c\"=dword:00000001\n")
    r = tool("win-reg", "--format=raw", "-a", copy, "--merge", str(bad), check=False)
    assert r.returncode == 1 and b"its parent \\No does not exist" in r.stderr, r.stderr
    r = tool("win-reg", "--format=raw", "-a", copy, "HKLM\\SOFTWARE\\GuestKit", check=False)
    assert r.returncode == 1 and b"\\GuestKit: path not found in this hive" in r.stderr
