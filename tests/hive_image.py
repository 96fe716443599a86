"""A minimal, valid, empty Windows registry hive, built byte by byte for the hivex tests.

libhivex cannot create a hive from nothing, so the tests start from this one: a 4096-byte
"regf" base block (checksum at 0x1FC = XOR of its first 127 little-endian dwords) and one
4096-byte "hbin" holding the root key ("nk", flags 0x2C: hive entry, no delete, compressed
name; no subkeys, no values), the security cell ("sk") the root points to (libhivex gives a
new key its parent's security cell), and one free cell covering the rest of the bin.
Offsets inside the hive are relative to the first hbin (file offset 0x1000).
"""

import struct

BLOCK = 0x1000
NONE = 0xFFFFFFFF
# 2020-01-01T00:00:00Z as a Windows FILETIME (100 ns units since 1601)
_FILETIME = 132223104000000000


def _cell(data):
    """An allocated cell: a negative little-endian size, then DATA, padded to 8 bytes."""
    size = 4 + len(data)
    size = (size + 7) & ~7
    return struct.pack("<i", -size) + data + b"\0" * (size - 4 - len(data))


def _nk(name, parent, sk):
    raw = name.encode("ascii")
    body = struct.pack(
        "<2sHQ" + "I" * 15 + "HH",
        b"nk", 0x2C, _FILETIME, 0,
        parent,             # parent key (the root points at itself's neighbourhood: unused)
        0, 0,               # subkeys, volatile subkeys
        NONE, NONE,         # subkey lists
        0, NONE,            # values, value list
        sk, NONE,           # security cell, class name
        0, 0, 0, 0,         # largest subkey name / class name / value name / value data
        0,                  # work var
        len(raw), 0)        # key name length, class name length
    return body + raw


def _sk(offset):
    # a self-relative security descriptor with nothing in it (no owner, group, SACL, DACL)
    sd = struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0)
    return struct.pack("<2sHIIII", b"sk", 0, offset, offset, 1, len(sd)) + sd


def blank_hive(root_name="ROOT"):
    """The bytes of an empty hive whose root key is called ROOT_NAME."""
    hbin_header = 0x20
    root_off = hbin_header
    root = _cell(_nk(root_name, NONE, 0))      # sk offset patched below
    sk_off = root_off + len(root)
    sk = _cell(_sk(sk_off))
    root = _cell(_nk(root_name, NONE, sk_off))
    used = hbin_header + len(root) + len(sk)
    free = BLOCK - used
    cells = root + sk + struct.pack("<i", free) + b"\0" * (free - 4)
    hbin = struct.pack("<4sIIQQI", b"hbin", 0, BLOCK, 0, _FILETIME, 0) + cells
    assert len(hbin) == BLOCK

    base = bytearray(BLOCK)
    struct.pack_into("<4sIIQIIIIIII", base, 0,
                     b"regf", 1, 1, _FILETIME,
                     1, 3,            # major, minor version
                     0, 1,            # file type (primary), file format (direct memory load)
                     root_off,        # root cell offset
                     len(hbin),       # hive bins data size
                     1)               # clustering factor
    name = "\\guestkit\\blank".encode("utf-16-le")
    base[0x30:0x30 + len(name)] = name
    checksum = 0
    for (dword,) in struct.iter_unpack("<I", bytes(base[:0x1FC])):
        checksum ^= dword
    struct.pack_into("<I", base, 0x1FC, checksum)
    return bytes(base) + hbin
