"""The virt-* style tools (guestkit cat, ls, df, filesystems, log, copy-in/out, tar-in/out)
on a real image: a small Debian-like guest on LVM with a separate /home.  Their output is
compared byte for byte with libguestfs's own tools on the same image (virt-ls, virt-df,
virt-filesystems, virt-cat), which run in the background while guestkit's tests go on;
what the writing tools wrote is read back by libguestfs's virt-cat."""

import os
import shutil
import subprocess
import sys
import tarfile
import threading

import pytest

import guestkit
from tests.conftest import make_image

LS_LR = ["-lR", "--csv", "--checksum", "--uids", "--extra-stats", "--time-t"]
INTEROP = {                      # name -> (virt tool, its arguments after -a IMAGE)
    "ls-lR": ("virt-ls", LS_LR + ["/etc", "/home"]),
    "ls-lRh": ("virt-ls", ["-lRh", "--times", "/etc"]),
    "df": ("virt-df", []),
    "fs-long": ("virt-filesystems", ["--all", "--long", "--uuid", "-h"]),
}
LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def tool(*args, stdin=None, check=True):
    r = subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args), input=stdin,
                       capture_output=True, timeout=300)
    if check:
        assert r.returncode == 0, r.stderr.decode()
    return r


def build(path):
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(path, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.pvcreate("/dev/sda1")
    g.vgcreate("vg", ["/dev/sda1"])
    g.lvcreate("root", "vg", 100)
    g.lvcreate("home", "vg", 40)
    g.mkfs("ext4", "/dev/vg/root", label="ROOT")
    g.mkfs("ext4", "/dev/vg/home")
    g.mount("/dev/vg/root", "/")
    for d in ("/etc", "/bin", "/var/log", "/home"):
        g.mkdir_p(d)
    g.write("/etc/os-release", b'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
                               b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    g.write("/etc/hostname", b"tools\n")
    g.write("/etc/fstab", b"/dev/vg/root / ext4 defaults 0 1\n"
                          b"/dev/vg/home /home ext4 defaults 0 2\n")
    g.write("/etc/a b,\"c\"", b"a name that needs quoting in CSV")
    g.ln_s("../bin/ls", "/etc/link")
    g.upload("/bin/ls", "/bin/ls")
    g.chmod(0o4755, "/bin/ls")
    g.write("/var/log/syslog", b"".join(b"Dec  7 06:%02d:00 tools kernel: line %d\n" % (i, i)
                                        for i in range(40)))
    g.mkdir("/etc/deep")
    g.write("/etc/deep/conf", b"x = 1\n")
    g.mount("/dev/vg/home", "/home")
    g.mkdir_p("/home/user/.ssh")
    g.write("/home/user/notes", b"hello\n")
    g.umount_all()
    g.shutdown()
    g.close()


@pytest.fixture(scope="module")
def img(tmp_path_factory):
    d = tmp_path_factory.mktemp("tools")
    path = make_image(d / "guest.img", 200)
    build(path)
    # libguestfs's tools read the same image in a background thread, one after another,
    # while the tests below run guestkit's
    results = {}

    def run_libguestfs():
        for name, (prog, args) in INTEROP.items():
            r = subprocess.run([prog, "-a", path] + args, capture_output=True,
                               env=LIBGUESTFS_ENV, timeout=600)
            results[name] = r
    t = threading.Thread(target=run_libguestfs, daemon=True)
    t.start()
    yield {"path": path, "dir": d, "libguestfs": results, "thread": t,
           "sha256": sha256(path)}
    t.join(900)


def libguestfs_output(img, name):
    img["thread"].join(900)
    r = img["libguestfs"][name]
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_cat(img):
    r = tool("cat", "-a", img["path"], "/etc/hostname", "/etc/missing", "/home/user/notes",
             check=False)
    assert r.stdout == b"tools\nhello\n"
    assert r.returncode == 1 and b"/etc/missing" in r.stderr
    # -m instead of inspection
    r = tool("cat", "-a", img["path"], "-m", "/dev/vg/home", "/user/notes")
    assert r.stdout == b"hello\n"


def test_ls_modes(img):
    assert tool("ls", "-a", img["path"], "/etc").stdout.decode().split("\n")[:3] == \
        ['a b,"c"', "deep", "fstab"]
    rec = tool("ls", "-a", img["path"], "-R", "/etc").stdout.decode().splitlines()
    assert "/deep/conf" in rec and "/link" in rec
    long_ = tool("ls", "-a", img["path"], "-l", "/etc").stdout.decode()
    assert "link -> ../bin/ls" in long_ and "/sysroot" not in long_
    r = tool("ls", "-a", img["path"], "--csv", "/etc", check=False)
    assert r.returncode == 1 and b"-lR" in r.stderr


def test_ls_lR_matches_virt_ls(img):
    mine = tool("ls", "-a", img["path"], *LS_LR, "/etc", "/home").stdout.decode()
    assert '"/etc/a b,""c"""' in mine and "4755" in tool(
        "ls", "-a", img["path"], "-lR", "/bin").stdout.decode()
    assert mine == libguestfs_output(img, "ls-lR")


def test_ls_lRh_times_matches_virt_ls(img):
    mine = tool("ls", "-a", img["path"], "-lRh", "--times", "/etc").stdout.decode()
    assert mine == libguestfs_output(img, "ls-lRh")


def test_df_matches_virt_df(img):
    assert tool("df", "-a", img["path"]).stdout.decode() == libguestfs_output(img, "df")
    # CSV (checked against what virt-df printed for an image like this one)
    lines = tool("df", "-a", img["path"], "--inodes", "--csv").stdout.decode().splitlines()
    assert lines[0] == "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%"
    name, dev, total, used, free, pct = lines[2].split(",")
    assert (name, dev) == ("guest.img", "/dev/vg/root")
    assert int(used) + int(free) == int(total) and pct == "%.1f" % (100.0 * int(used) /
                                                                   int(total))


def test_filesystems_matches_virt_filesystems(img):
    mine = tool("filesystems", "-a", img["path"], "--all", "--long", "--uuid",
                "-h").stdout.decode()
    assert mine == libguestfs_output(img, "fs-long")
    csv = tool("filesystems", "-a", img["path"], "--parts", "--vgs", "--long",
               "--csv").stdout.decode()
    assert csv.splitlines() == ["Name,Type,MBR,Size,Parent",
                                "/dev/vg,vg,,%s,/dev/sda1" % csv.split(",vg,,")[1].split(",")[0],
                                "/dev/sda1,partition,83,%s,/dev/sda"
                                % csv.split(",partition,83,")[1].split(",")[0]]


def test_log(img):
    out = tool("log", "-a", img["path"]).stdout.decode().splitlines()
    assert len(out) == 40 and out[-1].endswith("line 39")


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_copy_and_tar_round_trip(img, tmp_path):
    work = str(tmp_path / "copy.img")
    shutil.copy(img["path"], work)
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "file").write_bytes(b"copied in\n")
    (src / "big").write_bytes(os.urandom(4 << 20))
    r = tool("copy-in", "-a", work, str(src), "/home/user")
    assert b"%|" not in r.stderr                 # no progress bar: not a terminal
    written = sha256(work)
    out = tmp_path / "out"
    out.mkdir()
    tool("copy-out", "-a", work, "/home/user/src", "/etc/hostname", str(out))
    assert (out / "src" / "sub" / "file").read_bytes() == b"copied in\n"
    assert (out / "hostname").read_bytes() == b"tools\n"
    # tar-out to standard output, tar-in from standard input
    archive = tool("tar-out", "-a", work, "/etc", "-").stdout
    names = tarfile.open(fileobj=__import__("io").BytesIO(archive)).getnames()
    assert "./deep/conf" in names
    assert sha256(work) == written              # copy-out and tar-out only read
    tool("tar-in", "-a", work, "-", "/var", stdin=archive)
    assert tool("cat", "-a", work, "/var/deep/conf").stdout == b"x = 1\n"
    # libguestfs reads what guestkit wrote
    r = subprocess.run(["virt-cat", "-a", work, "/home/user/src/sub/file", "/var/deep/conf"],
                       capture_output=True, env=LIBGUESTFS_ENV, timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"copied in\nx = 1\n"


def test_bad_usage(img):
    r = tool("copy-in", "-a", img["path"], "/only-one", check=False)
    assert r.returncode == 1 and b"guest directory" in r.stderr
    r = tool("cat", "/etc/hostname", check=False)
    assert r.returncode == 1 and b"-a IMAGE" in r.stderr
    r = tool("df", "-a", img["path"], "-h", "--csv", check=False)
    assert r.returncode == 1 and b"do not go together" in r.stderr


def test_json_output(img):
    """--json: the same facts as the text output, as structures."""
    import csv
    import hashlib
    import json
    path = img["path"]
    doc = json.loads(tool("ls", "-a", path, "--json", "-lR", "--checksum", "/etc",
                          "/home").stdout)
    text = tool("ls", "-a", path, "-lR", "--csv", "/etc", "/home").stdout.decode()
    assert list(doc) == ["/etc", "/home"]
    listed = [row[3] for row in csv.reader(text.splitlines())]
    assert [e["path"] for e in doc["/etc"] + doc["/home"]] == listed     # same order
    by_path = {e["path"]: e for e in doc["/etc"] + doc["/home"]}
    assert by_path["/etc/hostname"]["checksum"] == hashlib.md5(b"tools\n").hexdigest()
    assert by_path["/etc/hostname"]["st_size"] == 6
    assert by_path["/etc/link"]["link"] == "../bin/ls"
    assert "checksum" not in by_path["/etc/deep"]
    assert '/etc/a b,"c"' in by_path and "/home/user/.ssh" in by_path
    plain = json.loads(tool("ls", "-a", path, "--json", "/etc").stdout)
    assert plain == {"/etc": tool("ls", "-a", path, "/etc").stdout.decode().splitlines()}
    # df: the numbers of --csv
    rows = json.loads(tool("df", "-a", path, "--json").stdout)
    table = tool("df", "-a", path, "--csv").stdout.decode().splitlines()[1:]
    assert ["guest.img,%s,%d,%d,%d,%.1f" % (r["filesystem"], r["1k_blocks"], r["used"],
                                            r["available"], r["use_percent"])
            for r in rows] == table
    # filesystems: the rows of --csv, sizes in bytes
    rows = json.loads(tool("filesystems", "-a", path, "--all", "--long", "--json").stdout)
    table = tool("filesystems", "-a", path, "--all", "--long", "--csv").stdout.decode()
    assert [",".join("" if r[k] is None else str(r[k]) for k in
                     ("name", "type", "vfs", "label", "mbr", "size", "parent"))
            for r in rows] == table.splitlines()[1:]
    r = tool("ls", "-a", path, "--json", "--csv", "-lR", "/etc", check=False)
    assert r.returncode == 1 and b"--json and --csv" in r.stderr


def test_reading_tools_left_the_image_alone(img):
    """Last: cat, ls, df, filesystems and log ran on this image; not a byte changed."""
    img["thread"].join(900)
    assert sha256(img["path"]) == img["sha256"]


def test_progress_bars_on_a_terminal(img, tmp_path):
    """On a terminal the shell draws a bar for a long upload; the data arrives whole."""
    import hashlib
    import pty
    work = str(tmp_path / "bars.img")
    shutil.copy(img["path"], work)
    data = os.urandom(24 << 20)
    (tmp_path / "big").write_bytes(data)
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "guestkit.cli", "--rw", "-a", work, "-m",
                          "/dev/vg/root", "upload", str(tmp_path / "big"), "/big", ":",
                          "checksum", "sha256", "/big"],
                         stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                          # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert p.wait(60) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "%|" in text and "/24.0M" in text
    assert hashlib.sha256(data).hexdigest() in text
