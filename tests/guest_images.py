"""Real guest images for the inspection tests and benchmarks, made here.

debian_on_lvm(dir): debootstrap a minimal Debian 12 (from the machine's apt mirror) and
install it on a disk laid out as an installer would: an MBR partition table, /boot on ext4,
and an LVM physical volume holding the root logical volume (ext4); /etc/fstab names / by
its /dev/mapper name and /boot by UUID, the hostname is set.  The image is built once per
directory and reused.
"""

import os
import re
import shutil
import subprocess

import guestkit

HOSTNAME = "bookworm-lvm"


def _mirror():
    """The Debian mirror apt uses here (debootstrap needs one)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path) as f:
                m = re.search(r"(?:URIs:\s*|deb\s+)(https?://\S+/debian)\b", f.read())
        except OSError:
            continue
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def debian_on_lvm(d):
    d = str(d)
    img = os.path.join(d, "debian-lvm.img")
    if os.path.exists(img):
        return img
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed: run the README's test command")
    root = os.path.join(d, "debootstrap")
    if not os.path.exists(os.path.join(root, "etc", "debian_version")):
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, _mirror()],
                       check=True, stdout=subprocess.DEVNULL)
    tarball = os.path.join(d, "root.tar")
    subprocess.run(["tar", "-C", root, "--one-file-system", "-cf", tarball, "."], check=True)
    tmp = img + ".tmp"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", tmp, "1G"], check=True)
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.add_drive_opts(tmp, format="raw")
        g.launch()
        g.part_init("/dev/sda", "mbr")
        g.part_add("/dev/sda", "p", 2048, 206847)
        g.part_add("/dev/sda", "p", 206848, -1)
        g.mkfs("ext4", "/dev/sda1")
        g.pvcreate("/dev/sda2")
        g.vgcreate("debvg", ["/dev/sda2"])
        g.lvcreate("root", "debvg", 700)
        g.mkfs("ext4", "/dev/debvg/root")
        g.mount("/dev/debvg/root", "/")
        g.tar_in(tarball, "/")
        g.mkdir_p("/boot")
        g.mount("/dev/sda1", "/boot")
        g.write("/boot/vmlinuz-6.1.0-18-amd64", b"placeholder")
        g.write("/etc/fstab", ("/dev/mapper/debvg-root / ext4 errors=remount-ro 0 1\n"
                               "UUID=%s /boot ext4 defaults 0 2\n"
                               % g.vfs_uuid("/dev/sda1")).encode())
        g.write("/etc/hostname", (HOSTNAME + "\n").encode())
        g.umount_all()
        g.shutdown()
    finally:
        g.close()
    os.unlink(tarball)
    os.rename(tmp, img)
    return img


RPM_SPEC = """Name: %(name)s
Version: %(version)s
Release: %(release)s
%(epoch)s
Summary: %(summary)s
License: MIT
URL: %(url)s
BuildArch: noarch
%%description
%(description)s
%%files
"""

#: the packages rpm_database() registers: name, epoch line, version, release, summary
RPM_PACKAGES = [
    dict(name="hello-gk", epoch="Epoch: 1", version="2.12.1", release="3.fc39",
         summary="A greeting for the inspection tests", url="https://example.org/hello",
         description="Says hello."),
    dict(name="tools-gk", epoch="", version="0.9", release="1.fc39",
         summary="Small tools", url="https://example.org/tools",
         description="Several small tools."),
]


def rpm_database(d):
    """A real rpm database (rpmdb.sqlite, as Fedora 33+ keeps it) made by rpm itself, with
    the RPM_PACKAGES registered (built by rpmbuild, installed with --justdb).  Returns the
    path of rpmdb.sqlite."""
    d = str(d)
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            raise RuntimeError("%s is not installed: run the README's test command" % tool)
    top, db = os.path.join(d, "rpmbuild"), os.path.join(d, "rpmdb")
    os.makedirs(db, exist_ok=True)
    for p in RPM_PACKAGES:
        spec = os.path.join(d, p["name"] + ".spec")
        with open(spec, "w") as f:
            f.write(RPM_SPEC % p)
        subprocess.run(["rpmbuild", "-bb", "--define", "_topdir " + top, spec], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rpm", "--dbpath", db, "--initdb"], check=True)
    rpms = [os.path.join(top, "RPMS", "noarch", f)
            for f in sorted(os.listdir(os.path.join(top, "RPMS", "noarch")))]
    subprocess.run(["rpm", "--dbpath", db, "-i", "--justdb", "--nodeps", "--ignoreos"] + rpms,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.join(db, "rpmdb.sqlite")


def rpm_header_blobs(sqlite_path):
    """[(package index, header blob)] of a sqlite rpm database."""
    import sqlite3
    c = sqlite3.connect(sqlite_path)
    try:
        return c.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    finally:
        c.close()


def rpm_bdb(sqlite_path, d, pagesize=512):
    """The same packages as the sqlite database, in a Berkeley DB hash "Packages" file made
    by Berkeley DB's own db_load (a small page size puts the headers on overflow pages), as
    RHEL/CentOS up to 8 keep them; checked by rpm's own read-only bdb backend.  Returns
    the path of Packages."""
    import struct
    d = str(d)
    os.makedirs(d, exist_ok=True)
    loader = shutil.which("db5.3_load") or shutil.which("db_load")
    if loader is None:
        raise RuntimeError("db_load is not installed: run the README's test command")
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=%d" % pagesize,
             "HEADER=END"]
    for idx, blob in rpm_header_blobs(sqlite_path):
        lines += [" " + struct.pack("<I", idx).hex(), " " + bytes(blob).hex()]
    lines.append("DATA=END")
    path = os.path.join(d, "Packages")
    subprocess.run([loader, path], input=("\n".join(lines) + "\n").encode(), check=True)
    out = subprocess.run(["rpm", "--dbpath", d, "--define", "_db_backend bdb_ro", "-qa",
                          "--qf", "%{NAME}\\n"], capture_output=True, text=True, check=True)
    assert sorted(out.stdout.split()) == sorted(p["name"] for p in RPM_PACKAGES), out
    return path


def rpm_ndb(sqlite_path, d):
    """The same packages in an ndb "Packages.db" (openSUSE 2020-2022), written here after
    the layout of rpm's lib/backend/ndb/rpmpkg.c (this rpm has no ndb backend to write
    one): a 32-byte header, one slot page, blobs framed head/tail with an adler32.
    Returns the path of Packages.db."""
    import struct
    import zlib
    d = str(d)
    os.makedirs(d, exist_ok=True)
    page, block = 4096, 16
    slots = bytearray(b"Slot" + bytes(12)) * (page // 16)
    data = bytearray()
    blkoff = page // block                          # blobs start after the slot page
    rows = rpm_header_blobs(sqlite_path)
    for n, (idx, blob) in enumerate(rows):
        blob = bytes(blob)
        blkcnt = (16 + len(blob) + 12 + block - 1) // block
        frame = b"BlbS" + struct.pack("<III", idx, 1700000000, len(blob)) + blob
        frame += bytes(blkcnt * block - 12 - len(frame))
        frame += struct.pack("<II", zlib.adler32(frame), len(blob)) + b"BlbE"
        struct.pack_into("<4sIII", slots, 32 + 16 * n, b"Slot", idx, blkoff, blkcnt)
        data += frame
        blkoff += blkcnt
    slots[:32] = struct.pack("<4sIIII", b"RpmP", 0, len(rows), 1, len(rows) + 1) + bytes(12)
    path = os.path.join(d, "Packages.db")
    with open(path, "wb") as f:
        f.write(bytes(slots) + bytes(data))
    return path


def ext4_from_tree(d, name, files, size="16M"):
    """A raw ext4 image D/NAME.img holding FILES, made by mke2fs -d (no appliance): FILES
    maps guest paths to their content (str or bytes), ("symlink", TARGET) or ("fifo",)."""
    tree = os.path.join(str(d), name + ".tree")
    for path, content in files.items():
        host = os.path.join(tree, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        if isinstance(content, tuple) and content[0] == "symlink":
            os.symlink(content[1], host)
        elif isinstance(content, tuple) and content[0] == "fifo":
            os.mkfifo(host)
        else:
            with open(host, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
    img = os.path.join(str(d), name + ".img")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", tree, "-F", img, size], check=True)
    return img


def dpkg_status(packages):
    """/var/lib/dpkg/status text of installed PACKAGES: [(name, version, arch)]."""
    return "".join("Package: %s\nStatus: install ok installed\nVersion: %s\n"
                   "Architecture: %s\nDescription: %s package\n\n" % (n, v, a, n)
                   for n, v, a in packages)


def debian_like(d, name, distro, version, packages, files=None):
    """An ext4 image (ext4_from_tree) that inspection takes for DISTRO VERSION, a Debian
    family guest with the dpkg PACKAGES (dpkg_status) installed, plus FILES."""
    tree = {"/etc/os-release": 'NAME="%s"\nID=%s\nVERSION_ID="%s"\n'
                               % (distro.capitalize(), distro, version),
            "/etc/hostname": name + "\n",
            "/etc/fstab": "/dev/sda / ext4 defaults 0 1\n",
            "/etc/debian_version": "12.5\n",
            "/usr/bin/.keep": "",
            "/var/lib/dpkg/status": dpkg_status(packages)}
    tree.update(files or {})
    return ext4_from_tree(d, name, tree)
