"""Windows: what the files and registry values of a Windows root say, parsed from bytes and
values already read (winroot.py does the reading).

Facts from guestfs(3) and the registry's documented layout: the architecture is the machine
field of cmd.exe's PE header; the product and version are values of
HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion; drive letters are the values named
``\\DosDevices\\X:`` under HKLM\\SYSTEM\\MountedDevices, whose 12-byte blob is an MBR disk
signature and the partition's byte offset, or ``DMIO:ID:`` and a GPT partition GUID.
"""

import re
import struct

#: where a systemroot usually is, in the order they are tried (case does not matter)
SYSTEMROOT_PATHS = ("/windows", "/winnt", "/win32", "/win", "/reactos")
MAX_BOOT_INI = 64 * 1024
MAX_PE_HEADER = 4096
MAX_BOOT_INI_ENTRIES = 64

# PE/COFF machine -> architecture name (as file_architecture says it)
_PE_MACHINES = {0x014c: "i386", 0x8664: "x86_64", 0xaa64: "aarch64", 0x01c0: "arm",
                0x01c4: "arm", 0x0200: "ia64"}
_BOOT_INI_OS = re.compile(r"(?:multi|scsi)\(\d+\)disk\(\d+\)rdisk\(\d+\)partition\(\d+\)"
                          r"([^=]+)=")
_DOSDEVICE = re.compile(r"\\dosdevices\\([A-Za-z]):\Z", re.IGNORECASE)
_GPO_GUID = re.compile(r"\{[0-9A-Fa-f].*\}\Z", re.DOTALL)

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD = 1, 2, 3, 4


def pe_arch(header):
    """The architecture a PE executable (its first bytes) was built for, or None."""
    if len(header) < 0x40 or header[:2] != b"MZ":
        return None
    off = struct.unpack_from("<I", header, 0x3C)[0]
    if off + 6 > len(header) or header[off:off + 4] != b"PE\0\0":
        return None
    return _PE_MACHINES.get(struct.unpack_from("<H", header, off + 4)[0])


def boot_ini_systemroots(data):
    """The systemroot paths (with forward slashes) of boot.ini's [operating systems]
    entries, in order."""
    text = data[:MAX_BOOT_INI].decode("latin-1")
    out, in_section = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.lower().startswith("[operating systems]"):
            in_section = True
            continue
        if not in_section:
            continue
        if not line.startswith(("multi(", "scsi(")):
            break
        m = _BOOT_INI_OS.match(line)
        if m:
            path = m.group(1).replace("\\", "/").strip()
            if path.startswith("/") and "\0" not in path and "/.." not in path + "/":
                out.append(path)
        if len(out) >= MAX_BOOT_INI_ENTRIES:
            break
    return out


def mounted_device(key, typ, blob):
    """What a MountedDevices value names: (drive letter, ("mbr", signature hex, byte
    offset)) or (drive letter, ("gpt", partition GUID)), or None for any other value
    (volume GUIDs, removable and optical drives)."""
    m = _DOSDEVICE.match(key)
    if m is None or typ != REG_BINARY:
        return None
    letter = m.group(1).upper()
    if len(blob) >= 24 and blob.startswith(b"DMIO:ID:"):
        return letter, ("gpt", registry_guid(blob[8:24]))
    if len(blob) == 12:
        sig, offset = struct.unpack("<IQ", blob)
        return letter, ("mbr", "%08x" % sig, offset)
    return None


def registry_guid(raw):
    """A GUID in Windows' binary layout (three little-endian fields, then eight bytes as
    they are) as lowercase text."""
    d1, d2, d3 = struct.unpack_from("<IHH", raw)
    rest = raw[8:16].hex()
    return "%08x-%04x-%04x-%s-%s" % (d1, d2, d3, rest[:4], rest[4:])


def is_gpo_guid(name):
    """A Group Policy History subkey named like a policy object, ``{GUID}``."""
    return len(name) > 3 and _GPO_GUID.match(name) is not None


def version(major_number, minor_number, current_version):
    """(major, minor) from CurrentMajor/MinorVersionNumber (Windows 10 and later) when both
    are there, else from the "6.1"-style CurrentVersion string; (0, 0) when neither."""
    if major_number is not None and minor_number is not None:
        return major_number, minor_number
    m = re.match(r"\s*(\d{1,9})\.(\d{1,9})", current_version or "")
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.match(r"\s*(\d{1,9})\s*\Z", current_version or "")
    return (int(m.group(1)), 0) if m else (0, 0)
