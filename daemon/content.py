"""Handlers for the content actions (standard library only).

Guest files are opened here (regular files only, without ever blocking on a fifo or device
node, see files.guest_regular) and handed to tools as their standard input: a tool never opens
a guest path, so it can never follow a guest symlink to the appliance's own files.  Output
that travels in one reply is bounded while it is read (EFBIG past the bound); output that goes
to a host file is streamed.
"""

import errno
import os
import stat
import struct
import subprocess

from . import protocol as P
from .files import (MAX_READ, REPLY_LIMIT, checksum_fd, guest_regular, open_guest_read,
                    open_guest_write)
from .guestpath import O_DIR, parent_of
from .util import ENV, PATH, DaemonError, device, open_nonblocking, run_tool



# ---- tools ----------------------------------------------------------------------------------

class _Out:
    """Collects FileOut data into chunks of the protocol's size before sending."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.buf = bytearray()

    def add(self, data):
        self.buf += data
        if len(self.buf) >= P.CHUNK_SIZE:
            self.flush()

    def flush(self):
        if self.buf:
            data, self.buf = bytes(self.buf), bytearray()
            self.ctx.write(data)


def tool_output(argv, stdin, what, limit=REPLY_LIMIT, ok=(0,)):
    """(standard output, exit status) of a tool whose output must fit in one reply."""
    out = bytearray()

    def take(b):
        out.extend(b)
        if len(out) > limit:
            raise DaemonError("%s: the result is larger than %d bytes, too large to return "
                              "in one reply; use download instead" % (what, limit), "EFBIG")
    rc = run_tool(argv, stdin, take, ok)
    return bytes(out), rc


def fit(result, raw_len, what):
    """RESULT, if its encoding fits in one reply frame; EFBIG otherwise.  JSON can spend up to
    6 bytes on one byte of text, so short results are let through without measuring."""
    if raw_len * 6 + 1024 <= REPLY_LIMIT:
        return result
    if len(P.dumps(result)) > REPLY_LIMIT:
        raise DaemonError("%s: the result is too large to return in one reply; use "
                          "download (or a *_out or *0 action) instead" % what, "EFBIG")
    return result


def split_lines(raw):
    """Lines as libguestfs splits a tool's output: on LF, without an empty last line."""
    if not raw:
        return []
    lines = raw.decode("utf-8", "surrogateescape").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _tool_lines(ctx, argv, path, ok=(0,)):
    fd, _ = open_guest_read(ctx, path)
    try:
        out, _ = tool_output(argv, fd, path, ok=ok)
    finally:
        os.close(fd)
    return fit(split_lines(out), len(out) + 4 * out.count(b"\n"), path)


def _progress_of(ctx, fd, total):
    """A callback reporting how far a tool reading FD (which shares our file offset) got."""
    def tick():
        try:
            ctx.progress(os.lseek(fd, 0, os.SEEK_CUR), total)
        except OSError:
            pass
    return tick


def _einval(msg):
    return DaemonError(msg, "EINVAL")


# ---- lines ----------------------------------------------------------------------------------

def do_head_n(ctx, nrlines, path):
    if nrlines == 0:
        os.close(open_guest_read(ctx, path)[0])       # still report a missing file
        return []
    return _tool_lines(ctx, ["head", "-n", str(nrlines)], path)


def do_head(ctx, path):
    return do_head_n(ctx, 10, path)


def do_tail_n(ctx, nrlines, path):
    if nrlines == 0:
        os.close(open_guest_read(ctx, path)[0])
        return []
    arg = str(nrlines) if nrlines > 0 else "+%d" % -nrlines
    return _tool_lines(ctx, ["tail", "-n", arg], path)


def do_tail(ctx, path):
    return do_tail_n(ctx, 10, path)


# ---- grep -----------------------------------------------------------------------------------

def do_grep(ctx, regex, path, extended=False, fixed=False, insensitive=False,
            compressed=False):
    if extended and fixed:
        raise _einval("can't use 'extended' and 'fixed' flags at the same time")
    argv = ["zgrep" if compressed else "grep"]
    if extended:
        argv.append("-E")
    if fixed:
        argv.append("-F")
    if insensitive:
        argv.append("-i")
    argv += ["-e", regex]
    # the file is the tool's standard input (never a path it could open): exit status 1
    # means no line matched
    return _tool_lines(ctx, argv, path, ok=(0, 1))


def _grep_variant(compressed, extended=False, fixed=False, insensitive=False):
    def handler(ctx, regex, path):
        return do_grep(ctx, regex, path, extended=extended, fixed=fixed,
                       insensitive=insensitive, compressed=compressed)
    return handler


do_egrep = _grep_variant(False, extended=True)
do_fgrep = _grep_variant(False, fixed=True)
do_grepi = _grep_variant(False, insensitive=True)
do_egrepi = _grep_variant(False, extended=True, insensitive=True)
do_fgrepi = _grep_variant(False, fixed=True, insensitive=True)
do_zgrep = _grep_variant(True)
do_zegrep = _grep_variant(True, extended=True)
do_zfgrep = _grep_variant(True, fixed=True)
do_zgrepi = _grep_variant(True, insensitive=True)
do_zegrepi = _grep_variant(True, extended=True, insensitive=True)
do_zfgrepi = _grep_variant(True, fixed=True, insensitive=True)


# ---- positioned reads and writes ------------------------------------------------------------

def _check_pread(count, offset, what):
    if count < 0:
        raise _einval("%s: count is negative" % what)
    if offset < 0:
        raise _einval("%s: offset is negative" % what)
    if count > MAX_READ:
        raise DaemonError("%s: count %d is too large to return in one reply (at most %d); "
                          "use smaller reads or download_offset" % (what, count, MAX_READ),
                          "EFBIG")


def do_pread(ctx, path, count, offset):
    _check_pread(count, offset, path)
    fd, _ = open_guest_read(ctx, path)
    try:
        return os.pread(fd, count, offset)
    finally:
        os.close(fd)


def _open_device(name, flags):
    return open_nonblocking(device(name), flags, allow_block=True)[0]


def do_pread_device(ctx, device, count, offset):
    _check_pread(count, offset, device)
    fd = _open_device(device, os.O_RDONLY)
    try:
        return os.pread(fd, count, offset)
    finally:
        os.close(fd)


def do_pwrite(ctx, path, content, offset):
    if offset < 0:
        raise _einval("%s: offset is negative" % path)
    ctx.need_root()
    apath = ctx.resolve(path)
    guest_regular(apath, path)                  # must exist, and be a regular file
    fd, _ = open_nonblocking(apath, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        return os.pwrite(fd, content, offset)
    finally:
        os.close(fd)


def do_pwrite_device(ctx, device, content, offset):
    if offset < 0:
        raise _einval("%s: offset is negative" % device)
    fd = _open_device(device, os.O_WRONLY)
    try:
        return os.pwrite(fd, content, offset)
    finally:
        os.close(fd)


# ---- sizes and allocation -------------------------------------------------------------------

def do_truncate_size(ctx, path, size):
    if size < 0:
        raise _einval("%s: size is negative" % path)
    ctx.need_root()
    apath = ctx.resolve(path)
    guest_regular(apath, path)
    os.truncate(apath, size)


def do_truncate(ctx, path):
    do_truncate_size(ctx, path, 0)


def do_fallocate64(ctx, path, len):
    if len < 0:
        raise _einval("%s: length is negative" % path)
    fd, _ = open_guest_write(ctx, path, os.O_TRUNC)
    try:
        if len:
            os.posix_fallocate(fd, 0, len)
    finally:
        os.close(fd)


def do_fallocate(ctx, path, len):
    do_fallocate64(ctx, path, len)


def _fill(ctx, pattern, length, path):
    if length < 0:
        raise _einval("%s: length is negative" % path)
    # a whole number of patterns, so that one block continues where the last one ended
    block = pattern * max(1, P.CHUNK_SIZE // len(pattern))
    fd, _ = open_guest_write(ctx, path, os.O_TRUNC)
    try:
        pos = 0
        ctx.progress(0, length, force=True)
        while pos < length:
            view = memoryview(block)[:min(len(block), length - pos)]
            while view:
                n = os.write(fd, view)
                view = view[n:]
                pos += n
            ctx.progress(pos, length)
        ctx.progress(pos, length, force=True)
    finally:
        os.close(fd)


def do_fill(ctx, c, len, path):
    if not 0 <= c <= 255:
        raise _einval("%d: the byte value must be in the range 0 to 255" % c)
    _fill(ctx, bytes((c,)), len, path)


def do_fill_pattern(ctx, pattern, len, path):
    data = pattern.encode("utf-8", "surrogateescape")
    if not data:
        raise _einval("the pattern must not be empty")
    _fill(ctx, data, len, path)


def do_fill_dir(ctx, dir, nr):
    if nr < 0:
        raise _einval("%s: the number of files is negative" % dir)
    ctx.need_root()
    adir = ctx.resolve(dir)
    dfd = os.open(adir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        for i in range(nr):
            name = "%08d" % i
            try:
                # one system call makes an empty regular file, and never opens anything
                os.mknod(name, stat.S_IFREG | 0o666, dir_fd=dfd)
            except FileExistsError:
                # only ever reopen a regular file: a guest device node is never opened
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    raise DaemonError("%s/%s: exists and is not a regular file"
                                      % (dir.rstrip("/"), name), "EEXIST") from None
                os.close(os.open(name, flags | os.O_TRUNC, dir_fd=dfd))
            if i % 1024 == 1023:
                ctx.progress(i + 1, nr)
    finally:
        os.close(dfd)


# ---- views of a file ------------------------------------------------------------------------

def do_hexdump(ctx, path):
    fd, _ = open_guest_read(ctx, path)
    try:
        out, _ = tool_output(["hexdump", "-C"], fd, path)
    finally:
        os.close(fd)
    return fit(out.decode("ascii", "replace"), len(out), path)


_ENCODINGS = "sSblBL"


def do_strings_e(ctx, encoding, path):
    if len(encoding) != 1 or encoding not in _ENCODINGS:
        raise _einval("%r: unknown encoding (use one of s, S, b, l, B, L)" % encoding)
    # -a: the whole file, never parsed as an object file (CVE-2014-8484)
    lines = _tool_lines(ctx, ["strings", "-a", "-e", encoding], path)
    if encoding == "S":
        # 8-bit strings of an unknown character set: UTF-8 stays, other bytes are read as
        # Latin-1, so that every string is valid UTF-8
        lines = [_utf8_or_latin1(l) for l in lines]
    return lines


def _utf8_or_latin1(text):
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def do_strings(ctx, path):
    return do_strings_e(ctx, "s", path)


def _wc(ctx, flag, path):
    fd, _ = open_guest_read(ctx, path)
    try:
        out, _ = tool_output(["wc", flag], fd, path, limit=4096)
    finally:
        os.close(fd)
    try:
        return int(out.split()[0])
    except (IndexError, ValueError):
        raise DaemonError("wc: unexpected output %r" % out[:100], "EIO") from None


def do_wc_l(ctx, path):
    return _wc(ctx, "-l", path)


def do_wc_w(ctx, path):
    return _wc(ctx, "-w", path)


def do_wc_c(ctx, path):
    return _wc(ctx, "-c", path)


_TYPE_NAMES = ((stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
               (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"),
               (stat.S_ISLNK, "symbolic link"), (stat.S_ISSOCK, "socket"))


def _file_text(out):
    text = out.decode("utf-8", "surrogateescape").rstrip("\n").rstrip(" ")
    return text


def do_file(ctx, path):
    if path.startswith("/dev/"):
        # an appliance device (/dev/VG/LV is a symlink there: -L), read as data (-s)
        dev = os.path.realpath(device(path))
        out, _ = tool_output(["file", "-zbsL", "--", dev], None, path, limit=1 << 20)
        return _file_text(out)
    ctx.need_root()
    apath = ctx.resolve(path, follow=False)
    st = os.lstat(apath)
    if not stat.S_ISREG(st.st_mode):
        for test, name in _TYPE_NAMES:
            if test(st.st_mode):
                return name
        return "unknown, not regular file"
    fd, _ = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        out, _ = tool_output(["file", "-zb", "-"], fd, path, limit=1 << 20)
    finally:
        os.close(fd)
    return _file_text(out)


# ---- file_architecture ----------------------------------------------------------------------

_DECOMPRESSORS = (
    (b"\x1f\x8b", ["gzip", "-dc"]),
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x5d\x00\x00", ["xz", "-dc", "--format=lzma"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"]),
    (b"BZh", ["bzip2", "-dc"]),
    (b"\x04\x22\x4d\x18", ["lz4", "-dc"]),
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    (b"\x89LZO", ["lzop", "-dc"]),
)
#: stop looking into an initrd after this much (decompressed) data: a sparse or hostile file
#: must not make the search take time proportional to its apparent size
_MAX_UNPACK = 1 << 30
#: NUL bytes allowed between two concatenated cpio archives
_MAX_PADDING = 1 << 20


def _decompressor(head):
    for magic, argv in _DECOMPRESSORS:
        if head.startswith(magic):
            return argv
    return None


def elf_arch(h):
    if len(h) < 20 or h[:4] != b"\x7fELF" or h[5] not in (1, 2):
        return None
    bits64 = h[4] == 2
    little = h[5] == 1
    machine = struct.unpack("<H" if little else ">H", h[18:20])[0]
    if machine in (3, 6):
        return "i386"
    simple = {62: "x86_64", 40: "arm", 183: "aarch64", 20: "ppc", 2: "sparc", 18: "sparc",
              43: "sparc64", 50: "ia64", 258: "loongarch64", 9: "s390"}
    if machine in simple:
        return simple[machine]
    if machine == 21:
        return "ppc64le" if little else "ppc64"
    if machine == 22:
        return "s390x" if bits64 else "s390"
    if machine == 243:
        return "riscv64" if bits64 else "riscv32"
    if machine in (8, 10):
        return ("mips64" if bits64 else "mips") + ("el" if little else "")
    return None


_PE_MACHINES = {0x14c: "i386", 0x8664: "x86_64", 0x200: "ia64", 0xaa64: "aarch64",
                0x1c0: "arm", 0x1c2: "arm", 0x1c4: "arm", 0x5032: "riscv32",
                0x5064: "riscv64", 0x5128: "riscv128"}


class _Reader:
    """Sequential reads from a file descriptor, counting the bytes consumed."""

    def __init__(self, fd, limit):
        self.fd = fd
        self.pos = 0
        self.buf = b""
        self.limit = limit

    def read(self, n):
        while len(self.buf) < n:
            if self.pos + len(self.buf) >= self.limit:
                break
            b = os.read(self.fd, max(n - len(self.buf), 1 << 16))
            if not b:
                break
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        self.pos += len(out)
        return out

    def peek(self, n):
        out = self.read(n)
        self.buf = out + self.buf
        self.pos -= len(out)
        return out

    def skip(self, n):
        while n > 0:
            got = len(self.read(min(n, 1 << 20)))
            if not got:
                return
            n -= got


def _cpio_arch(r, nested_ok, fd):
    """Look for an ELF file in the cpio archive(s) read by R; returns an arch or None.

    An uncompressed archive may be followed by more archives, uncompressed or compressed (the
    early microcode cpio of Linux initrds); with NESTED_OK the compressed rest of FD is opened
    through a decompressor."""
    while True:
        # NULs pad archives to a block size
        padding = 0
        while True:
            head = r.peek(512)
            if not head or padding > _MAX_PADDING:
                return None
            stripped = head.lstrip(b"\0")
            if stripped:
                r.skip(len(head) - len(stripped))
                break
            r.skip(len(head))
            padding += len(head)
        head = r.peek(6)
        if head in (b"070701", b"070702"):
            found, more = _cpio_members(r)
            if found or not more:
                return found
            continue
        if nested_ok and _decompressor(r.peek(8)):
            os.lseek(fd, r.pos, os.SEEK_SET)
            return _through_decompressor(fd, _decompressor(r.peek(8)))
        return None


def _cpio_members(r):
    """(arch of the first ELF member, or None; whether the archive ended cleanly)."""
    while True:
        hdr = r.read(110)
        if len(hdr) < 110 or hdr[:6] not in (b"070701", b"070702"):
            return None, False
        try:
            fields = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            return None, False
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = r.read(namesize)
        r.skip((-(110 + namesize)) % 4)
        if name.rstrip(b"\0") == b"TRAILER!!!":
            return None, True
        if stat.S_ISREG(mode) and size >= 20:
            h = r.read(min(size, 64))
            arch = elf_arch(h)
            if arch:
                return arch, True
            r.skip(size - len(h))
        else:
            r.skip(size)
        r.skip((-size) % 4)


def _through_decompressor(fd, argv):
    """Run the data of FD (from its current offset) through a decompressor and look at the
    result."""
    try:
        p = subprocess.Popen(argv, stdin=fd, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=ENV, close_fds=True)
    except FileNotFoundError:
        raise DaemonError("%s: command not found in the appliance" % argv[0],
                          "ENOENT") from None
    try:
        r = _Reader(p.stdout.fileno(), _MAX_UNPACK)
        head = r.peek(64)
        arch = elf_arch(head)
        if arch:
            return arch
        if head[:6] in (b"070701", b"070702"):
            return _cpio_arch(r, False, None)
        return None
    finally:
        p.kill()
        p.wait()
        p.stdout.close()


def do_file_architecture(ctx, filename):
    fd, _ = open_guest_read(ctx, filename)
    try:
        head = os.pread(fd, 64, 0)
        arch = elf_arch(head)
        if arch is None and head[:2] == b"MZ" and len(head) >= 64:
            off = struct.unpack("<I", head[0x3c:0x40])[0]
            pe = os.pread(fd, 6, off)
            if pe[:4] == b"PE\0\0":
                arch = _PE_MACHINES.get(struct.unpack("<H", pe[4:6])[0])
        if arch is None and head[:6] in (b"070701", b"070702"):
            arch = _cpio_arch(_Reader(fd, _MAX_UNPACK), True, fd)
        if arch is None:
            argv = _decompressor(head)
            if argv:
                arch = _through_decompressor(fd, argv)
    finally:
        os.close(fd)
    if arch is None:
        raise _einval("%s: unknown architecture (not an ELF or PE binary, or an initrd "
                      "holding one)" % filename)
    return arch


# ---- checksums ------------------------------------------------------------------------------

_CSUMS = ("crc", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def do_checksum_device(ctx, csumtype, dev):
    # /dev/VG/LV is a symlink in the appliance's own /dev
    return checksum_fd(ctx, csumtype, os.path.realpath(device(dev)), dev, allow_block=True)


def _escape_sum_name(name):
    """The name as coreutils *sum print it: a name with a backslash or newline is escaped and
    the line starts with a backslash."""
    if b"\\" in name or b"\n" in name or b"\r" in name:
        return True, name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r",
                                                                                 b"\\r")
    return False, name


def do_checksums_out(ctx, csumtype, directory):
    if csumtype not in _CSUMS:
        raise _einval("unknown checksum type %r (use %s)" % (csumtype, ", ".join(_CSUMS)))
    ctx.need_root()
    top = ctx.open_dir(directory)
    try:
        out = _Out(ctx)
        for rel, isdir, dirfd, name in walk(top, directory):
            if isdir:
                continue
            st = os.lstat(name, dir_fd=dirfd)
            if not stat.S_ISREG(st.st_mode):
                continue
            # the file is opened relative to its directory, never by its (maybe too long) path
            value = checksum_fd(ctx, csumtype, name, _at(directory, rel), dir_fd=dirfd)
            esc, shown = _escape_sum_name(b"./" + rel)
            if csumtype == "crc":
                line = b"%s %d %s\n" % (value.encode(), st.st_size, shown)
            else:
                line = b"%s%s  %s\n" % (b"\\" if esc else b"", value.encode(), shown)
            out.add(line)
        out.flush()
    finally:
        os.close(top)


# ---- the tree (used by meta and archive too) ------------------------------------------------

def _listing(fd):
    """[(name, is a directory)] of the directory FD; a symlink is not a directory here."""
    out = []
    with os.scandir(fd) as it:
        for e in it:
            try:
                isdir = e.is_dir(follow_symlinks=False)
            except OSError:
                isdir = False
            out.append((e.name, isdir))
    return out


def _at(label, rel):
    """The guest path of REL (bytes) below the guest directory LABEL, as text."""
    return label.rstrip("/") + "/" + os.fsdecode(rel) if rel else label


#: how many directories of the current branch a walk keeps open (deeper, it goes back up
#: with '..', checked)
_WALK_FDS = 16


def walk(topfd, label):
    """Yield (relative path: bytes, is a directory, dirfd, name) for everything under the
    directory TOPFD, depth first, a directory before what it holds.

    NAME is the entry's name in the directory DIRFD, which stays open until the walk takes
    its next step: open or lstat the entry relative to it, never by a path (a guest tree can
    be deeper than PATH_MAX).  Symlinks are never followed; a directory that is already on
    the current branch (a loop, in a corrupt filesystem) is listed but not entered.  LABEL,
    the guest path of TOPFD, names the place of an error.  Memory: one list of names per
    directory on the current branch; descriptors: at most _WALK_FDS besides TOPFD."""
    try:
        first = _listing(topfd)
    except OSError as e:
        raise OSError(e.errno, e.strerror, label) from None
    top = os.fstat(topfd)
    stack, prefixes = [iter(first)], [b""]
    # the directories of the current branch below TOPFD: names, (st_dev, st_ino), and
    # descriptors (None for those closed, above the last _WALK_FDS)
    names, idents, fds = [], [], []
    on_branch = {(top.st_dev, top.st_ino)}
    try:
        while stack:
            cur = fds[-1] if fds else topfd
            for name, isdir in stack[-1]:
                rel = prefixes[-1] + os.fsencode(name)
                yield rel, isdir, cur, name
                if not isdir:
                    continue
                try:
                    fd = os.open(name, O_DIR, dir_fd=cur)
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                        continue                # removed or replaced meanwhile
                    raise OSError(e.errno, e.strerror, _at(label, rel)) from None
                try:
                    st = os.fstat(fd)
                    ident = (st.st_dev, st.st_ino)
                    entries = None if ident in on_branch else _listing(fd)
                except OSError as e:
                    os.close(fd)
                    raise OSError(e.errno, e.strerror, _at(label, rel)) from None
                except BaseException:
                    os.close(fd)
                    raise
                if entries is None:
                    os.close(fd)
                    continue
                names.append(name)
                idents.append(ident)
                fds.append(fd)
                on_branch.add(ident)
                if len(fds) > _WALK_FDS and fds[-_WALK_FDS - 1] is not None:
                    os.close(fds[-_WALK_FDS - 1])
                    fds[-_WALK_FDS - 1] = None
                prefixes.append(rel + b"/")
                stack.append(iter(entries))
                break
            else:
                stack.pop()
                if fds:
                    if len(fds) > 1 and fds[-2] is None:
                        fds[-2] = parent_of(fds[-1], topfd, names, idents,
                                            _at(label, prefixes[-1][:-1]))
                    os.close(fds.pop())
                    names.pop()
                    on_branch.discard(idents.pop())
                prefixes.pop()
    finally:
        for fd in fds:
            if fd is not None:
                os.close(fd)


# ---- compressed and encoded copies ----------------------------------------------------------

_COMPRESS = {"gzip": (1, 9), "bzip2": (1, 9), "xz": (0, 9), "lzop": (1, 9),
             "compress": (9, 16)}


def _compress_argv(ctype, level):
    import shutil
    if ctype not in _COMPRESS:
        raise _einval("unknown compression type %r (use %s)" % (ctype, ", ".join(_COMPRESS)))
    tool = shutil.which(ctype, path=PATH)
    if tool is None:
        raise DaemonError("compression type %s is not supported (the appliance has no %s "
                          "program)" % (ctype, ctype), "ENOTSUP")
    argv = [tool, "-c"]
    if level is not None:
        lo, hi = _COMPRESS[ctype]
        if not lo <= level <= hi:
            raise _einval("%s: level %d is out of range (%d to %d)" % (ctype, level, lo, hi))
        argv.append("-b%d" % level if ctype == "compress" else "-%d" % level)
    return argv


def _stream_tool(ctx, argv, fd, total):
    out = _Out(ctx)
    ctx.progress(0, total, force=True)
    run_tool(argv, fd, out.add, on_tick=_progress_of(ctx, fd, total))
    out.flush()
    ctx.progress(total, total, force=True)


def do_compress_out(ctx, ctype, file, level=None):
    argv = _compress_argv(ctype, level)
    fd, st = open_guest_read(ctx, file)
    try:
        _stream_tool(ctx, argv, fd, st.st_size)
    finally:
        os.close(fd)


def do_compress_device_out(ctx, ctype, device, level=None):
    argv = _compress_argv(ctype, level)
    fd = _open_device(device, os.O_RDONLY)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        os.lseek(fd, 0, os.SEEK_SET)
        _stream_tool(ctx, argv, fd, size)
    finally:
        os.close(fd)


def do_base64_out(ctx, filename):
    fd, st = open_guest_read(ctx, filename)
    try:
        _stream_tool(ctx, ["base64"], fd, st.st_size)
    finally:
        os.close(fd)


def do_base64_in(ctx, filename):
    import binascii
    import re
    try:
        fd, _ = open_guest_write(ctx, filename, os.O_TRUNC)
    except BaseException:
        ctx.stop_sender()
        raise
    blank = re.compile(rb"[ \t\r\n]+")
    bad = re.compile(rb"[^A-Za-z0-9+/=]")
    pending = b""
    pos = 0
    ended = False
    try:
        try:
            for chunk in ctx.instream():
                pos += len(chunk)
                data = pending + blank.sub(b"", chunk)
                if ended and data:
                    raise _einval("base64_in: data after the end of the base64 text")
                if bad.search(data):
                    raise _einval("base64_in: invalid character in base64 input")
                cut = len(data) - len(data) % 4
                body, pending = data[:cut], data[cut:]
                if body:
                    if b"=" in body[:-4]:
                        raise _einval("base64_in: padding in the middle of base64 input")
                    if b"=" in body[-4:]:
                        ended = True
                    _write_all(fd, binascii.a2b_base64(body, strict_mode=True))
                ctx.progress(pos, 0)
            if pending:
                raise _einval("base64_in: the base64 input is truncated")
        except (DaemonError, binascii.Error, OSError) as e:
            ctx.stop_sender()
            if isinstance(e, binascii.Error):
                raise _einval("base64_in: %s" % e) from None
            raise
    finally:
        os.close(fd)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]

