"""Disk images on the host: the Drive record a handle keeps for each image added to it,
its checks (formats, remote servers), header probing, read-only overlays, qemu-img.  The
add_drive family of actions built on it is in guestkit/library/drives.py.

Security: a format given by the user is pinned everywhere (including as the backing format of
overlays).  Without one, the header is read here, in Python, and an image that would make qemu
open another host file (a backing file, an external data file, a VMDK descriptor) is refused.
"""

import json
import os
import stat
import struct
import subprocess

from .daemon.contract import disk_letters  # noqa: F401 (drive addressing lives there)
from .errors import Error

FORMATS = ("raw", "qcow2", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks", "parallels", "bochs",
           "cloop", "dmg")
CACHEMODES = ("writeback", "unsafe")
PROTOCOLS = ("file", "nbd", "iscsi", "rbd", "http", "https", "ftp", "ftps", "ssh", "gluster")
DEFAULT_PORTS = {"nbd": 10809, "iscsi": 3260, "http": 80, "https": 443, "ftp": 21,
                 "ftps": 990, "ssh": 22, "gluster": 24007, "rbd": 6789}
READONLY_PROTOCOLS = ("http", "https", "ftp", "ftps")
DISCARDS = ("disable", "enable", "besteffort")
#: drives per handle: the targets of the appliance's one virtio-scsi adapter
MAX_DRIVES = 255


class Drive:
    def __init__(self, filename, readonly=False, format=None, label=None, cachemode=None,
                 discard=None, copyonread=False, blocksize=None, scratch=False,
                 protocol="file", server=None, username=None, secret=None, iface=None,
                 name=None):
        self.filename = filename
        self.readonly = readonly
        self.format = format
        self.label = label
        self.cachemode = cachemode or "writeback"
        self.discard = discard or "disable"
        self.copyonread = copyonread
        self.blocksize = blocksize
        self.scratch = scratch
        self.protocol = protocol
        self.server = server or []
        self.username = username
        self.secret = secret
        self.iface = iface
        self.name = name
        self.overlay = None          # path of the qcow2 overlay made at launch (readonly)
        self.servers = []            # parsed servers of a remote drive
        # once the appliance runs: its name there, and the hypervisor's handles on it
        self.device = None           # /dev/sdX
        self.target = None           # SCSI target number
        self.device_id = None        # qemu device id (hot-unplug)
        self.node = None             # qemu block node made by a hot-plug

    def __repr__(self):
        return "Drive(%r, format=%r, readonly=%r)" % (self.filename, self.format, self.readonly)


# ---- header probing ---------------------------------------------------------------------------

def probe_format(filename):
    """(format, reason it is unsafe to open without an explicit format, or None)."""
    try:
        with open(filename, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise Error("%s: %s" % (filename, e.strerror), _ename(e)) from None
    if head[:4] == b"QFI\xfb" and len(head) >= 104:
        version, = struct.unpack(">I", head[4:8])
        backing_off, = struct.unpack(">Q", head[8:16])
        if backing_off:
            return "qcow2", "it names a backing file"
        if version >= 3:
            incompat, = struct.unpack(">Q", head[72:80])
            if incompat & 0x4:
                return "qcow2", "it names an external data file"
        return "qcow2", None
    if head[:4] == b"QED\0":
        return "qed", "qed images may name a backing file"
    if head[:4] == b"KDMV":
        return "vmdk", "vmdk images may name other extent files"
    if head[:21] == b"# Disk DescriptorFile":
        return "vmdk", "a vmdk descriptor names other files"
    if len(head) >= 0x44 and head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        return "vdi", None
    if head[:8] == b"vhdxfile":
        return "vhdx", None
    if head[:8] == b"conectix":
        return "vpc", None
    return "raw", None


def qcow2_virtual_size(filename):
    with open(filename, "rb") as f:
        head = f.read(32)
    return struct.unpack(">Q", head[24:32])[0]


def image_info(filename, fmt):
    """qemu-img's description of an image, with the format pinned."""
    try:
        p = subprocess.run(["qemu-img", "info", "--output=json", "-f", fmt, "--", filename],
                           capture_output=True, text=True)
    except FileNotFoundError:
        raise Error("qemu-img is not installed (Debian: apt-get install qemu-utils)",
                    "ENOENT") from None
    if p.returncode != 0:
        raise Error("qemu-img info %s: %s" % (filename, p.stderr.strip()), "EINVAL")
    return json.loads(p.stdout)


def _ename(e):
    import errno
    return errno.errorcode.get(e.errno or 0, "EIO")


class Server:
    """One server of a remote drive: tcp host[:port] or a unix socket."""

    def __init__(self, transport, host=None, port=None, socket=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.socket = socket

    def __repr__(self):
        if self.transport == "unix":
            return "unix:" + self.socket
        return "%s:%s" % (self.host, self.port)


def parse_server(text, protocol):
    """libguestfs's server strings: host, host:port, tcp:host:port, unix:/path,
    [ipv6]:port."""
    if text.startswith("unix:"):
        path = text[5:]
        if not path.startswith("/"):
            raise Error("add_drive: unix socket path must be absolute: %r" % text, "EINVAL")
        if protocol not in ("nbd", "gluster"):
            raise Error("add_drive: protocol %s cannot use a unix socket" % protocol, "EINVAL")
        return Server("unix", socket=path)
    if text.startswith("tcp:"):
        text = text[4:]
    port = DEFAULT_PORTS.get(protocol)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise Error("add_drive: bad port in server %r" % text, "EINVAL") from None
    if not host or not 0 < port < 65536 or any(c in host for c in ",/ \0"):
        raise Error("add_drive: bad server %r" % text, "EINVAL")
    return Server("tcp", host=host, port=port)


def check_remote(d):
    if d.protocol not in PROTOCOLS:
        raise Error("add_drive: protocol %r is not one of %s" % (
            d.protocol, ", ".join(PROTOCOLS)), "EINVAL")
    if not d.server:
        raise Error("add_drive: protocol %s needs server=[...]" % d.protocol, "EINVAL")
    if len(d.server) != 1 and d.protocol not in ("rbd", "gluster"):
        raise Error("add_drive: protocol %s takes exactly one server" % d.protocol, "EINVAL")
    d.servers = [parse_server(x, d.protocol) for x in d.server]
    if d.format is None:
        raise Error("add_drive: %s://%s: give format= for a remote drive (guestkit does "
                    "not let qemu guess the format of an image it cannot read first)"
                    % (d.protocol, d.filename), "EINVAL")
    if d.protocol in READONLY_PROTOCOLS and not d.readonly:
        raise Error("add_drive: protocol %s is read-only: add the drive with readonly=True"
                    % d.protocol, "EINVAL")
    if d.protocol == "nbd" and d.filename.startswith("/"):
        d.filename = d.filename[1:]          # the export name
    if d.protocol in ("http", "https", "ftp", "ftps", "ssh") and \
            not d.filename.startswith("/"):
        d.filename = "/" + d.filename
    if d.protocol == "ssh" and d.secret is not None:
        raise Error("add_drive: qemu's ssh driver cannot take a password: use an ssh agent "
                    "or keys", "ENOTSUP")
    return d


def check_drive(d):
    """Validate a drive as add_drive_opts does; fills in the format if it was not given."""
    if d.format is not None and d.format not in FORMATS:
        raise Error("add_drive: format %r is not one of %s" % (d.format, ", ".join(FORMATS)),
                    "EINVAL")
    _check_common(d)
    if d.protocol != "file":
        return check_remote(d)
    return _check_local(d)


def _check_common(d):
    if d.cachemode not in CACHEMODES:
        raise Error("add_drive: cachemode must be writeback or unsafe, not %r" % d.cachemode,
                    "EINVAL")
    if d.discard not in DISCARDS:
        raise Error("add_drive: discard must be disable, enable or besteffort, not %r"
                    % d.discard, "EINVAL")
    if d.label is not None and (not d.label or not d.label.isascii() or
                                not d.label.isalpha() or len(d.label) > 20):
        raise Error("add_drive: label %r must be a short string of letters a-z, A-Z"
                    % d.label, "EINVAL")
    if d.blocksize is not None and d.blocksize not in (512, 4096):
        raise Error("add_drive: blocksize must be 512 or 4096", "EINVAL")
    if d.iface is not None and d.iface not in ("virtio", "ide", "scsi"):
        raise Error("add_drive: iface %r is not known" % d.iface, "EINVAL")
    return d


def _check_local(d):
    fn = d.filename
    if not fn:
        raise Error("add_drive: filename is empty", "EINVAL")
    if ":" in fn and not os.path.exists(fn):
        raise Error("add_drive: %s: no such file (a name with ':' is taken as a file name; "
                    "use protocol= for remote storage)" % fn, "ENOENT")
    try:
        st = os.stat(fn)
    except OSError as e:
        raise Error("add_drive: %s: %s" % (fn, e.strerror), _ename(e)) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        raise Error("add_drive: %s: not a regular file or block device" % fn, "EINVAL")
    if not os.access(fn, os.R_OK):
        raise Error("add_drive: %s: not readable: Permission denied" % fn, "EACCES")
    if not d.readonly and not os.access(fn, os.W_OK):
        raise Error("add_drive: %s: not writable: Permission denied (add it with "
                    "readonly=True)" % fn, "EACCES")
    # qemu runs in the handle's temporary directory: relative names must not reach it
    d.filename = fn = os.path.abspath(fn)
    if d.format is None:
        fmt, unsafe = probe_format(fn)
        if unsafe:
            raise Error("add_drive: %s looks like %s and %s: guestkit will not open it "
                        "without an explicit format; pass format=%r if you trust it"
                        % (fn, fmt, unsafe, fmt), "EINVAL")
        d.format = fmt
    return d


def make_overlay(d, tmpdir, index):
    """A qcow2 overlay in front of a read-only drive, its backing format pinned.  Remote
    drives get qemu's own temporary overlay instead (snapshot=on)."""
    if d.protocol != "file":
        return None
    ov = os.path.join(tmpdir, "overlay%s.qcow2" % index)
    src = os.path.abspath(d.filename)
    p = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", d.format, "-b", src,
                        ov], capture_output=True, text=True)
    if p.returncode != 0:
        raise Error("cannot make a read-only overlay for %s: %s" % (d.filename,
                                                                     p.stderr.strip()), "EIO")
    d.overlay = ov
    return ov


def disk_create(filename, fmt, size, backingfile=None, backingformat=None,
                preallocation=None, compat=None, clustersize=None):
    if fmt not in ("raw", "qcow2"):
        raise Error("disk_create: format must be raw or qcow2, not %r" % fmt, "EINVAL")
    if backingfile is not None and fmt != "qcow2":
        raise Error("disk_create: backingfile needs format qcow2", "EINVAL")
    if backingfile is None and size < 0:
        raise Error("disk_create: size must be >= 0", "EINVAL")
    if backingfile is not None and size not in (-1,) and size < 0:
        raise Error("disk_create: size must be -1 or >= 0 with a backing file", "EINVAL")
    prealloc = {None: None, "off": "off", "sparse": "off", "metadata": "metadata",
                "full": "full"}
    if preallocation not in prealloc:
        raise Error("disk_create: preallocation must be off, sparse, metadata or full",
                    "EINVAL")
    if preallocation == "metadata" and fmt == "raw":
        raise Error("disk_create: preallocation=metadata is for qcow2 only", "EINVAL")
    if (compat or clustersize) and fmt != "qcow2":
        raise Error("disk_create: compat and clustersize are for qcow2 only", "EINVAL")
    if compat not in (None, "0.10", "1.1"):
        raise Error("disk_create: compat must be 0.10 or 1.1", "EINVAL")
    if clustersize is not None and (clustersize < 512 or clustersize > (2 << 20) or
                                    clustersize & (clustersize - 1)):
        raise Error("disk_create: clustersize must be a power of two in 512..2097152",
                    "EINVAL")
    if os.path.exists(filename) and stat.S_ISBLK(os.stat(filename).st_mode):
        size = None
    if fmt == "raw" and backingfile is None and preallocation in (None, "off", "sparse") \
            and size is not None:
        # plain sparse file: no need for qemu-img
        try:
            fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        except OSError as e:
            raise Error("disk_create: %s: %s" % (filename, e.strerror), _ename(e)) from None
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)
        return
    argv = ["qemu-img", "create", "-q", "-f", fmt]
    opts = []
    if backingfile is not None:
        bfmt = backingformat or probe_format(backingfile)[0]
        opts += ["backing_file=" + backingfile, "backing_fmt=" + bfmt]
    if prealloc[preallocation]:
        opts.append("preallocation=" + prealloc[preallocation])
    if compat:
        opts.append("compat=" + compat)
    if clustersize:
        opts.append("cluster_size=%d" % clustersize)
    if opts:
        argv += ["-o", ",".join(o.replace(",", ",,") for o in opts)]
    argv.append(filename)
    if size is not None and size >= 0:
        argv.append(str(size))
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise Error("disk_create: %s" % p.stderr.strip(), "EIO")
