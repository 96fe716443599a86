"""Print an action's result according to its return kind."""

import base64
import json
import sys

from ..actions.table import (RBool, RBufferOut, RErr, RHashtable, RInt, RInt64, ROptString,
                             RString, RStringList, RStruct, RStructList)


def describe(ret):
    """What the shell prints for return kind RET, in words (for help)."""
    for kinds, words in _DESCRIPTIONS:
        if isinstance(ret, kinds):
            return words
    return ret.label


_DESCRIPTIONS = [
    (RErr, "nothing"),
    (RBool, "true or false"),
    ((RInt, RInt64), "a number"),
    (ROptString, "text, or nothing when there is none"),
    (RString, "text"),
    (RStringList, "one line per item"),
    (RHashtable, "one 'key: value' line per entry"),
    (RStruct, "one 'field: value' line per field"),
    (RStructList, "one 'field: value' line per field, a blank line between entries"),
    (RBufferOut, "the bytes, unchanged"),
]


def _text(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _pairs(value):
    """A hashtable as (key, value) pairs: python-guestfs gives a list of pairs, or a dict
    with python_return_dict=True."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    return [tuple(p) for p in value]


def format_result(ret, value):
    """The text printed for VALUE returned with return kind RET (not for RBufferOut)."""
    if isinstance(ret, RErr):
        return ""
    if isinstance(ret, RBool):
        return "true\n" if value else "false\n"
    if isinstance(ret, (RInt, RInt64)):
        return "%d\n" % value
    if isinstance(ret, RString):          # also RConstString, ROptString
        if value is None:
            return ""
        s = _text(value)
        return s if s.endswith("\n") else s + "\n"
    if isinstance(ret, RStringList):
        return "".join(_text(s) + "\n" for s in (value or []))
    if isinstance(ret, RHashtable):
        return "".join("%s: %s\n" % (_text(k), _text(v)) for k, v in _pairs(value))
    if isinstance(ret, RStruct):
        return _struct(value)
    if isinstance(ret, RStructList):
        return "\n".join(_struct(s) for s in (value or []))
    # a return kind this shell does not know yet: show it plainly
    return "" if value is None else _text(value) + "\n"


def _struct(value):
    if value is None:
        return ""
    return "".join("%s: %s\n" % (k, _text(v)) for k, v in dict(value).items())


def print_result(ret, value, out=None):
    """Write VALUE to OUT (standard output by default).  Buffers are written raw."""
    out = out if out is not None else sys.stdout
    if isinstance(ret, RBufferOut):
        data = bytes(value or b"")
        buf = getattr(out, "buffer", None)
        out.flush()
        if buf is None:
            out.write(data.decode("utf-8", "surrogateescape"))
        else:
            buf.write(data)
            buf.flush()
        return
    text = format_result(ret, value)
    if text:
        out.write(text)
        out.flush()


def json_value(ret, value):
    """VALUE as JSON can hold it: the Python API's structures, hashtables as objects,
    bytes as text when they are UTF-8, else as {"base64": ...}."""
    if isinstance(ret, RHashtable):
        return {_text(k): _json_plain(v) for k, v in _pairs(value)}
    if isinstance(ret, RBool):
        return bool(value)
    return _json_plain(value)


def _json_plain(v):
    if isinstance(v, (bytes, bytearray)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, dict):
        return {str(k): _json_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_plain(x) for x in v]
    return v


def print_json_result(ret, value, out=None):
    """--json: one line holding VALUE as one JSON document."""
    out = out if out is not None else sys.stdout
    out.write(json.dumps(json_value(ret, value), ensure_ascii=False) + "\n")
    out.flush()
