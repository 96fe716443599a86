"""What a reply from the appliance may look like.  The appliance parses hostile guest data
and may itself be subverted, so each action's declared return type (the action table's Ret)
bounds its reply twice:

- before decoding, the JSON containers (lists and objects) outside strings are counted: a
  string, an int or a list of strings needs one or two, and lists of structs or pairs one
  per 16 bytes at most, so a reply cannot blow up into millions of objects in the host;
- after decoding, the value's shape is checked (a list of strings holds strings, a struct
  maps names to scalars ...).

A reply that breaks either rule ends the session (ProtocolError) with a clear message.
"""

import re

from .actions.table import (RBool, RBufferOut, RErr, RHashtable, RInt, RInt64, RString,
                            RStringList, RStruct, RStructList, ROptString)
from .daemon.protocol import ProtocolError

#: the least bytes one struct or pair takes in a reply: {"k":0} or ["",""] and a comma
MIN_ITEM_BYTES = 8
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def container_budget(ret, size):
    """How many JSON containers a reply of SIZE bytes for return type RET may hold,
    counting the reply's own object."""
    if isinstance(ret, (RStructList, RHashtable, RStruct)):
        return 2 + size // MIN_ITEM_BYTES
    if isinstance(ret, (RStringList, RBufferOut)):
        return 2                # the list, or a bytes value's {"$b": ...}
    return 1


def check_size(name, ret, payload):
    """Refuse PAYLOAD (a REPLY frame's JSON) when it holds more containers than RET allows
    (RET None: a flat object, as progress and error frames are); cheap when it does not
    (bytes.count, then a scan that skips strings)."""
    budget = 1 if ret is None else container_budget(ret, len(payload))
    if payload.count(b"[") + payload.count(b"{") <= budget:
        return
    outside = _STRING.sub(b"", bytes(payload))
    n = outside.count(b"[") + outside.count(b"{")
    if n > budget:
        raise ProtocolError("%s: the reply holds %d lists or objects, more than a %s "
                            "reply of %d bytes can (%d)" % (
                                name, n, ret.label if ret else "flat", len(payload), budget))


def _scalar(v):
    return v is None or isinstance(v, (str, int, float, bytes))


def check_shape(name, ret, value):
    """VALUE if it has the shape of return type RET, else ProtocolError."""
    ok = True
    if isinstance(ret, RErr):
        ok = value is None
    elif isinstance(ret, RBool):
        ok = isinstance(value, (bool, int))
    elif isinstance(ret, (RInt, RInt64)):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(ret, RString):
        ok = isinstance(value, str) or (value is None and isinstance(ret, ROptString))
    elif isinstance(ret, RBufferOut):
        ok = isinstance(value, bytes)
    elif isinstance(ret, RStringList):
        ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
    elif isinstance(ret, RHashtable):
        ok = isinstance(value, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and
            isinstance(p[1], str) for p in value)
    elif isinstance(ret, RStruct):
        ok = value is None or _struct(value)
    elif isinstance(ret, RStructList):
        ok = isinstance(value, list) and all(_struct(x) for x in value)
    if not ok:
        raise ProtocolError("%s: the reply is not a %s" % (name, ret.label))
    return value


def _struct(v):
    return isinstance(v, dict) and all(isinstance(k, str) and _scalar(x)
                                       for k, x in v.items())
