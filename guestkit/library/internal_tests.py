"""Implementations of the internal_test* binding-test actions (see
guestkit/actions/internal_tests.py), with libguestfs's results."""

import re
import sys

from ..errors import Error

_NAMES = ["internal_test", "internal_test_only_optargs", "internal_test_63_optargs",
          "internal_test_set_output", "internal_test_close_output"]
__all__ = list(_NAMES)

#: the most items a count argument may ask for (libguestfs has no bound; a handle's memory
#: should not depend on a test string)
MAX_COUNT = 1 << 20


def _state(g):
    return g._module_state("internal_tests")


def _out(g, text):
    f = _state(g).get("output")
    if f is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        f.write(text)
        f.flush()


def _qlist(items):
    return "[" + ", ".join('"%s"' % s for s in items) + "]"


def _opt(v, fmt=str):
    return "unset" if v is None else fmt(v)


def _bool(v):
    return "true" if v else "false"


def internal_test(g, str, optstr, strlist, b, integer, integer64, filein, fileout,
                  bufferin, obool=None, oint=None, oint64=None, ostring=None,
                  ostringlist=None):
    buf = "".join("<%02x>" % (c if c < 0x80 else c | 0xffffff00) for c in bufferin)
    lines = [str, "null" if optstr is None else optstr, _qlist(strlist), _bool(b),
             "%d" % integer, "%d" % integer64, filein, fileout, buf,
             "obool: " + _opt(obool, _bool), "oint: " + _opt(oint),
             "oint64: " + _opt(oint64), "ostring: " + _opt(ostring),
             "ostringlist: " + _opt(ostringlist, _qlist)]
    _out(g, "".join(line + "\n" for line in lines))


def internal_test_only_optargs(g, test=None):
    _out(g, "test: %s\n" % _opt(test))


def internal_test_63_optargs(g, **opts):
    _out(g, "".join("opt%d: %s\n" % (i, _opt(opts.get("opt%d" % i)))
                    for i in range(1, 64)))


def internal_test_set_output(g, filename):
    st = _state(g)
    try:
        f = open(filename, "w")
    except OSError as e:
        raise Error("cannot open output file %s: %s" % (filename, e.strerror),
                    _errname(e)) from None
    old = st.get("output")
    st["output"] = f
    if old is not None:
        old.close()


def internal_test_close_output(g):
    f = _state(g).pop("output", None)
    if f is not None:
        f.close()


def _errname(e):
    import errno
    return errno.errorcode.get(e.errno)


# ---- return-value round trips ---------------------------------------------------------

def _scan(val, name, what, base=10):
    """Read a leading integer from VAL as C's sscanf does (%d, or %i when BASE is 0)."""
    pattern = r"\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)" if base == 0 else \
        r"\s*[+-]?[0-9]+"
    m = re.match(pattern, val)
    if not m:
        raise Error("%s: expecting %s argument" % (name, what))
    text = m.group(0).strip()
    sign, digits = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    if base == 0 and digits[:2].lower() == "0x":
        return sign * int(digits[2:], 16)
    if base == 0 and digits[:1] == "0":
        return sign * int(digits, 8)
    return sign * int(digits, 10)


def _count(val, name, what="int"):
    n = _scan(val, name, what)
    if n < 0 or n > MAX_COUNT:
        raise Error("%s: count %d out of range (0 to %d)" % (name, n, MAX_COUNT), "EINVAL")
    return n


def _pv(i):
    return {"pv_name": "pv%d" % i, "pv_uuid": "12345678901234567890123456789012",
            "pv_fmt": "unknown", "pv_size": i, "dev_size": i, "pv_free": i, "pv_used": i,
            "pv_attr": "attr%d" % i, "pv_pe_count": i, "pv_pe_alloc_count": i,
            "pv_tags": "tag%d" % i, "pe_start": i, "pv_mda_count": i, "pv_mda_free": i}


def _fail(g):
    raise Error("error")


_IMPL = {
    "rint": lambda g, val: _scan(val, "internal_test_rint", "int"),
    "rint64": lambda g, val: _scan(val, "internal_test_rint64", "int64", base=0),
    "rbool": lambda g, val: val == "true",
    "rconststring": lambda g, val: "static string",
    "rconstoptstring": lambda g, val: "static string",
    "rstring": lambda g, val: val,
    "rstringlist": lambda g, val: [
        "%d" % i for i in range(_count(val, "internal_test_rstringlist"))],
    "rstruct": lambda g, val: _pv(0),
    "rstructlist": lambda g, val: [
        _pv(i) for i in range(_count(val, "internal_test_rstructlist", "uint32"))],
    "rhashtable": lambda g, val: [
        ("%d" % i, "%d" % i) for i in range(_count(val, "internal_test_rhashtable"))],
    "rbufferout": lambda g, val: val.encode("utf-8", "surrogateescape"),
}

for _k, _f in _IMPL.items():
    globals()["internal_test_" + _k] = _f
    globals()["internal_test_%serr" % _k] = _fail
    __all__ += ["internal_test_" + _k, "internal_test_%serr" % _k]


def internal_test_rconstoptstringerr(g):
    return None
