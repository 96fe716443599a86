"""rpm's two older package database formats, read piece by piece through a READ(offset,
size) function (never the whole file at once), each yielding (package index, header blob):

- Berkeley DB hash (/var/lib/rpm/Packages: RHEL and CentOS up to 8, Fedora up to 32, SLES
  up to 15): every hash page's key/data pairs, data kept on overflow pages followed along
  their chain.  The key is the package index (4 bytes, the database's byte order).
- ndb (Packages.db: openSUSE 2020-2022): a header ("RpmP"), slot pages ("Slot": package
  index, block offset, block count, in 16-byte blocks), and blobs framed by "BlbS"/"BlbE"
  with an adler32 of the frame.

Layouts from rpm's own read-only readers (lib/backend/bdb_ro.c, lib/backend/ndb/rpmpkg.c).
Every offset, count and length is checked against the file and the bounds below; damage
ends the walk with ValueError or skips the damaged entry.
"""

import struct

MAX_BLOB = 64 << 20             # one header blob
MAX_PAGES = 1 << 22             # pages of a Berkeley DB walked
MAX_SLOT_PAGES = 4096           # ndb slot pages (256 slots each)

_BDB_HASH_MAGIC = 0x061561
_P_HASH_UNSORTED, _P_OVERFLOW, _P_HASH = 2, 7, 13
_H_KEYDATA, _H_OFFPAGE = 1, 3
_PAGE_HEADER = 26

_NDB_MAGIC, _NDB_SLOT, _NDB_HEAD, _NDB_TAIL = b"RpmP", b"Slot", b"BlbS", b"BlbE"
_NDB_PAGE, _NDB_BLOCK = 4096, 16


def bdb_hash_blobs(read, size):
    """(package index, blob) for each package of a Berkeley DB hash database of SIZE bytes."""
    meta = read(0, 512)
    if len(meta) < 512:
        raise ValueError("too short for a Berkeley DB")
    if struct.unpack_from("<I", meta, 12)[0] == _BDB_HASH_MAGIC:
        e = "<"
    elif struct.unpack_from(">I", meta, 12)[0] == _BDB_HASH_MAGIC:
        e = ">"
    else:
        raise ValueError("not a Berkeley DB hash database")
    version, pagesize = struct.unpack_from(e + "II", meta, 16)
    if not 8 <= version <= 10:
        raise ValueError("Berkeley DB hash version %d is not supported" % version)
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        raise ValueError("Berkeley DB page size %d is impossible" % pagesize)
    if meta[24] or meta[26] & 1:
        raise ValueError("encrypted or checksummed Berkeley DB databases are not read")
    last = min(struct.unpack_from(e + "I", meta, 32)[0], size // pagesize - 1, MAX_PAGES)
    seen = set()
    for pgno in range(1, last + 1):
        page = read(pgno * pagesize, pagesize)
        if len(page) < pagesize:
            break
        if page[25] not in (_P_HASH, _P_HASH_UNSORTED) or \
                struct.unpack_from(e + "I", page, 8)[0] != pgno:
            continue
        n = min(struct.unpack_from(e + "H", page, 20)[0], (pagesize - _PAGE_HEADER) // 2)
        offs = struct.unpack_from(e + "%dH" % n, page, _PAGE_HEADER)
        for i in range(0, n - 1, 2):
            koff, voff = offs[i], offs[i + 1]
            kend = pagesize if i == 0 else offs[i - 1]
            if not _PAGE_HEADER + 2 * n <= voff < koff < kend <= pagesize:
                continue
            key = page[koff:kend]
            if key[0] != _H_KEYDATA or len(key) != 5:
                continue
            idx = struct.unpack_from(e + "I", key, 1)[0]
            if idx == 0 or idx in seen:
                continue            # index 0 holds rpm's next-index counter
            blob = _bdb_item(read, e, pagesize, last, page[voff:koff])
            if blob is not None:
                seen.add(idx)
                yield idx, blob


def _bdb_item(read, e, pagesize, last, item):
    """The bytes of a hash data item: inline, or the overflow chain it points to."""
    if item[0] == _H_KEYDATA:
        return bytes(item[1:])
    if item[0] != _H_OFFPAGE or len(item) != 12:
        return None
    pgno, total = struct.unpack_from(e + "II", item, 4)
    if total == 0 or total > MAX_BLOB:
        return None
    out, got = [], 0
    for _ in range(last):
        if not 0 < pgno <= last:
            return None
        page = read(pgno * pagesize, pagesize)
        if len(page) < pagesize or page[25] != _P_OVERFLOW:
            return None
        plen = struct.unpack_from(e + "H", page, 22)[0]
        if plen + _PAGE_HEADER > pagesize or got + plen > total:
            return None
        out.append(page[_PAGE_HEADER:_PAGE_HEADER + plen])
        got += plen
        if got == total:
            return b"".join(out)
        pgno = struct.unpack_from(e + "I", page, 16)[0]
    return None                 # a loop in the chain


def _adler32(data):
    try:
        import zlib
    except ImportError:         # not in this appliance: the frame's other checks remain
        return None
    return zlib.adler32(data)


def ndb_blobs(read, size):
    """(package index, blob) for each package of an ndb Packages.db of SIZE bytes."""
    head = read(0, 32)
    if len(head) < 32 or head[:4] != _NDB_MAGIC:
        raise ValueError("not an rpm ndb database")
    version, _, slotpages = struct.unpack_from("<III", head, 4)
    if version != 0:
        raise ValueError("ndb version %d is not supported" % version)
    if not 0 < slotpages <= MAX_SLOT_PAGES or slotpages * _NDB_PAGE > size:
        raise ValueError("ndb database with impossible slot pages")
    blocks, first = size // _NDB_BLOCK, slotpages * (_NDB_PAGE // _NDB_BLOCK)
    seen = set()
    for p in range(slotpages):
        page = read(p * _NDB_PAGE, _NDB_PAGE)
        if len(page) < _NDB_PAGE:
            raise ValueError("truncated ndb slot page")
        for o in range(32 if p == 0 else 0, _NDB_PAGE, 16):
            if page[o:o + 4] != _NDB_SLOT:
                raise ValueError("damaged ndb slot")
            idx, blkoff, blkcnt = struct.unpack_from("<III", page, o + 4)
            if not blkoff:
                continue            # a free slot
            if not idx or idx in seen or blkoff < first or blkoff + blkcnt > blocks or \
                    not 2 <= blkcnt <= (MAX_BLOB + 28 + 15) // 16:
                continue
            blob = _ndb_blob(read(blkoff * _NDB_BLOCK, blkcnt * _NDB_BLOCK), idx, blkcnt)
            if blob is not None:
                seen.add(idx)
                yield idx, blob


def _ndb_blob(frame, idx, blkcnt):
    if len(frame) != blkcnt * _NDB_BLOCK or frame[:4] != _NDB_HEAD:
        return None
    fidx, _, length = struct.unpack_from("<III", frame, 4)
    if fidx != idx or blkcnt != (16 + length + 12 + 15) // 16:
        return None
    tail = len(frame) - 12
    adler, tlen = struct.unpack_from("<II", frame, tail)
    if tlen != length or frame[tail + 8:] != _NDB_TAIL:
        return None
    check = _adler32(frame[:tail])
    if check is not None and check != adler:
        return None
    return bytes(frame[16:16 + length])
