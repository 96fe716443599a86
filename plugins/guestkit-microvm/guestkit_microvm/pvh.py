"""PVH boot: hand qemu the kernel's uncompressed ELF instead of the bzImage.

A bzImage is a compressed kernel wrapped in a small decompressor.  Booted as is, the guest
first runs that decompressor, which under TCG costs about 0.2 s of emulated CPU at every
launch.  Kernels built with CONFIG_PVH carry an ELF note (XEN_ELFNOTE_PHYS32_ENTRY) giving
a 32-bit entry point; given such an ELF, qemu loads its segments and starts there, so the
kernel runs at once.  The ELF is unpacked from the bzImage here, once per kernel, and kept
in guestkit's cache directory.

The payload is found through the boot protocol header (payload_offset/payload_length,
protocol 2.08+), its compression recognised by its magic bytes: gzip, xz, lzma and bzip2
are unpacked with the standard library, lz4, zstd and lzo with their command-line tools.
Anything unexpected (no payload, unknown compression, a tool missing, no PVH note) means
"no PVH": the caller boots the bzImage as before.
"""

import bz2
import hashlib
import lzma
import os
import struct
import subprocess
import tempfile
import time
import zlib

XEN_ELFNOTE_PHYS32_ENTRY = 18
PT_NOTE = 4

_negative = {}          # in this process: kernel signature -> why PVH is not possible


class NoPVH(Exception):
    pass


def _signature(kernel):
    st = os.stat(kernel)
    text = "%s:%d:%d:%d" % (os.path.realpath(kernel), st.st_size, st.st_mtime_ns, st.st_ino)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def payload(bzimage):
    """The compressed kernel inside a bzImage (bytes), without the size the kernel build
    appends after it."""
    if bzimage[0x202:0x206] != b"HdrS":
        raise NoPVH("not a bzImage (no HdrS boot header)")
    version = struct.unpack_from("<H", bzimage, 0x206)[0]
    if version < 0x208:
        raise NoPVH("boot protocol %x.%02x has no payload fields" % (version >> 8,
                                                                      version & 0xff))
    setup_sects = bzimage[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    data = bzimage[start:start + length]
    if len(data) != length or length < 16:
        raise NoPVH("truncated payload")
    return data


def _tool(argv, data):
    try:
        p = subprocess.run(argv, input=data, capture_output=True)
    except OSError as e:
        raise NoPVH("%s is needed to unpack this kernel (%s)" % (argv[0], e)) from None
    if p.returncode != 0:
        raise NoPVH("%s failed: %s" % (argv[0], p.stderr.decode(errors="replace").strip()))
    return p.stdout


def decompress(data):
    """The kernel ELF from the compressed payload."""
    body = data[:-4]        # the build appends the uncompressed size (little-endian u32)
    if data[:2] == b"\x1f\x8b":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data)
    if data[:3] == b"\x5d\x00\x00":
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data)
    if data[:3] == b"BZh":
        return bz2.BZ2Decompressor().decompress(data)
    if data[:4] == b"\x02\x21\x4c\x18":                   # lz4 legacy frame
        return _tool(["lz4", "-d", "-c"], body)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return _tool(["zstd", "-d", "-c", "-q"], body)
    if data[:4] == b"\x89LZO":
        return _tool(["lzop", "-d", "-c"], body)
    raise NoPVH("unknown kernel compression (magic %s)" % data[:6].hex())


def pvh_entry(elf):
    """The PVH entry point of an x86-64 kernel ELF, or raise NoPVH."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise NoPVH("the payload is not a 64-bit little-endian ELF")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != PT_NOTE:
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            desc = pos + 12 + ((namesz + 3) & ~3)
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY and descsz >= 4:
                return struct.unpack_from("<I", elf, desc)[0]
            pos = desc + ((descsz + 3) & ~3)
    raise NoPVH("the kernel has no PVH entry note (built without CONFIG_PVH)")


def pvh_kernel(kernel, cachedir):
    """Path of KERNEL's PVH-bootable ELF in CACHEDIR (unpacked on first use).  Raises NoPVH
    with the reason when that kernel cannot boot this way."""
    sig = _signature(kernel)
    if sig in _negative:
        raise NoPVH(_negative[sig])
    path = os.path.join(cachedir, "microvm-vmlinux-" + sig)
    if os.path.exists(path):
        try:
            os.utime(path)              # in use: not pruned
        except OSError:
            pass
        return path
    try:
        with open(kernel, "rb") as f:
            elf = decompress(payload(f.read()))
        pvh_entry(elf)
    except NoPVH as e:
        _negative[sig] = str(e)
        raise
    except (OSError, ValueError, EOFError, lzma.LZMAError, zlib.error, struct.error) as e:
        _negative[sig] = "cannot unpack %s: %s" % (kernel, e)
        raise NoPVH(_negative[sig]) from None
    os.makedirs(cachedir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".microvm-vmlinux-", dir=cachedir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(elf)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)            # atomic: a concurrent launch sees all or nothing
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _prune(cachedir, keep=path)
    return path


def _prune(cachedir, keep, age=86400):
    """Remove unpacked kernels not used for AGE seconds (kernels since replaced)."""
    now = time.time()
    for name in os.listdir(cachedir):
        old = os.path.join(cachedir, name)
        if name.startswith("microvm-vmlinux-") and old != keep:
            try:
                if now - os.stat(old).st_mtime > age:
                    os.unlink(old)
            except OSError:
                pass
