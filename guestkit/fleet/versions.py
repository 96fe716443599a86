"""Package versions compared the way the guest's package manager compares them, for the
apps job's --version-range: dpkg's order for "deb" guests, rpm's (rpmvercmp) for every
other package format (rpm itself; pacman's vercmp is derived from it, and it orders the
dotted versions of Windows applications by their numbers)."""

import re

from ..daemon.inspect.packages import split_version

_DIGITS = "0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: what rpmvercmp does not skip: segments (ASCII letters, digits) and its two markers
_SEGMENT = _DIGITS + _LETTERS + "~^"
#: one comparison of a --version-range spec: OP VERSION
_TERM = re.compile(r"\s*(>=|<=|==|!=|=|<|>)\s*([0-9A-Za-z]\S*)\s*$")
_OPS = {">=": lambda c: c >= 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0,
        "<": lambda c: c < 0, "=": lambda c: c == 0, "==": lambda c: c == 0,
        "!=": lambda c: c != 0}


def _sign(n):
    return (n > 0) - (n < 0)


def _dpkg_order(c):
    if not c or c in _DIGITS:
        return 0
    if c in _LETTERS:
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def dpkg_verrevcmp(a, b):
    """dpkg's verrevcmp: <0, 0 or >0 as version (or revision) A is older, the same or
    newer than B.  Non-digit runs compare character by character (~ first, then the end,
    letters, then the rest); digit runs compare as numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and a[i] not in _DIGITS) or (j < len(b) and b[j] not in _DIGITS):
            ac = _dpkg_order(a[i] if i < len(a) else "")
            bc = _dpkg_order(b[j] if j < len(b) else "")
            if ac != bc:
                return _sign(ac - bc)
            i, j = i + 1, j + 1
        si, sj = i, j
        while i < len(a) and a[i] in _DIGITS:
            i += 1
        while j < len(b) and b[j] in _DIGITS:
            j += 1
        na, nb = int(a[si:i] or 0), int(b[sj:j] or 0)
        if na != nb:
            return _sign(na - nb)
    return 0


def rpmvercmp(a, b):
    """rpm's rpmvercmp: alphanumeric segments compared in turn (numbers as numbers, a
    number newer than letters), ~ sorts before everything, ^ after the end."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and a[i] not in _SEGMENT:
            i += 1
        while j < len(b) and b[j] not in _SEGMENT:
            j += 1
        ca, cb = a[i:i + 1], b[j:j + 1]
        mark = "~" if "~" in (ca, cb) else "^" if "^" in (ca, cb) else None
        if mark:
            if not (ca and cb):     # an ended version is newer than ~, older than ^
                ended = 1 if mark == "~" else -1
                return ended if not ca else -ended
            if ca != cb:
                return 1 if cb == mark else -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        kind = _DIGITS if ca in _DIGITS else _LETTERS
        si, sj = i, j
        while i < len(a) and a[i] in kind:
            i += 1
        while j < len(b) and b[j] in kind:
            j += 1
        sa, sb = a[si:i], b[sj:j]
        if not sb:
            return 1 if kind is _DIGITS else -1
        if kind is _DIGITS:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return _sign(len(sa) - len(sb))
        if sa != sb:
            return 1 if sa > sb else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def compare(package_format, a, b):
    """Compare two (epoch, version, release) triples as PACKAGE_FORMAT's manager does:
    dpkg compares all three (no revision is older than any); rpm leaves the releases out
    when either is empty."""
    if a[0] != b[0]:
        return _sign(a[0] - b[0])
    if package_format == "deb":
        return dpkg_verrevcmp(a[1], b[1]) or dpkg_verrevcmp(a[2], b[2])
    c = rpmvercmp(a[1], b[1])
    if c or not a[2] or not b[2]:
        return c
    return rpmvercmp(a[2], b[2])


def parse_range(spec):
    """A --version-range spec ("OP VERSION[,OP VERSION...]", OP one of >= > <= < = !=) as
    [(op, (epoch, version, release))]; ValueError if it is not one."""
    terms = []
    for part in spec.split(","):
        m = _TERM.match(part)
        if not m:
            raise ValueError("%r: expecting OP VERSION[,OP VERSION...] with OP one of "
                             ">= > <= < = !=" % spec)
        terms.append((m.group(1), split_version(m.group(2))))
    return terms


def in_range(package_format, version, terms):
    """Whether the (epoch, version, release) VERSION satisfies every term of TERMS."""
    return all(_OPS[op](compare(package_format, version, bound)) for op, bound in terms)
