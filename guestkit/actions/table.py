"""The machinery of the action table: argument kinds, return kinds, the Action record.

Every action guestkit offers is declared exactly once (in the modules of this package), and
from that declaration come the GuestFS methods, argument checking, the daemon's dispatch, the
shell's commands and the API reference.  This module and the declarations use the Python
standard library only, because the appliance's daemon imports them too.
"""

import re

# ---- argument kinds -------------------------------------------------------------------------


class Kind:
    """A kind of positional or optional argument."""

    #: python types accepted by check()
    py = (str,)
    #: short name used in generated docs and the shell's help
    label = "string"
    #: True for arguments whose value must never be traced or logged
    secret = False
    #: True for FileIn / FileOut (host file names, data streamed separately)
    stream = None

    def __init__(self, name, doc=""):
        self.name = name
        self.doc = doc

    def check(self, value, action):
        """Return the normalised value or raise ValueError with a clear message."""
        if not isinstance(value, self.py) or isinstance(value, bool) and bool not in self.py:
            raise TypeError("%s: argument %r must be %s, not %s" % (
                action, self.name, self.label, type(value).__name__))
        return value

    def parse(self, text):
        """Turn a shell word into a value of this kind."""
        return text

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.name)


class String(Kind):
    def check(self, value, action):
        if type(value) is not str:
            value = Kind.check(self, value, action)
        if "\0" in value:
            raise ValueError("%s: argument %r contains a NUL byte" % (action, self.name))
        return value


class OptString(String):
    """A string that may also be None."""
    py = (str, type(None))
    label = "string or None"

    def check(self, value, action):
        if value is None:
            return None
        return super().check(value, action)


class Key(String):
    """A passphrase or key: never traced, never logged."""
    label = "key"
    secret = True


class Pathname(String):
    """An absolute path inside the guest."""
    label = "path"

    def check(self, value, action):
        # the string checks inline for a plain str (every call checks its arguments twice:
        # in the library and in the daemon, where Python runs slowly under emulation)
        if type(value) is not str or "\0" in value:
            value = String.check(self, value, action)
        if not value.startswith("/"):
            raise ValueError("%s: %s: path must start with a / character, got %r" % (
                action, self.name, value))
        return value


class Device(String):
    """A device name in the appliance, /dev/..."""
    label = "device"

    def check(self, value, action):
        if type(value) is not str or "\0" in value:
            value = String.check(self, value, action)
        if not value.startswith("/dev/"):
            raise ValueError("%s: %s: device name must start with /dev/, got %r" % (
                action, self.name, value))
        return value


class Mountable(String):
    """A device, or btrfsvol:/dev/sdX/subvol."""
    label = "mountable"

    def check(self, value, action):
        if type(value) is not str or "\0" in value:
            value = String.check(self, value, action)
        if not (value.startswith("/dev/") or value.startswith("btrfsvol:")):
            raise ValueError("%s: %s: expecting a device name (/dev/...), got %r" % (
                action, self.name, value))
        return value


class DevOrPath(String):
    """A device name or an absolute path in the guest."""
    label = "device or path"

    def check(self, value, action):
        if type(value) is not str or "\0" in value:
            value = String.check(self, value, action)
        if not value.startswith("/"):
            raise ValueError("%s: %s: must be a device or an absolute path, got %r" % (
                action, self.name, value))
        return value


class Int(Kind):
    py = (int,)
    label = "int"
    bits = 31

    def check(self, value, action):
        if isinstance(value, bool):
            # python-guestfs takes a bool where an int is declared (True is 1)
            return int(value)
        value = super().check(value, action)
        if not -(1 << self.bits) <= value < (1 << self.bits):
            raise ValueError("%s: %s: integer %d out of range" % (action, self.name, value))
        return value

    def parse(self, text):
        try:
            t = text.strip()
            if len(t) > 1 and t.lstrip("-")[:1] == "0" and t.lstrip("-").isdigit():
                return int(t, 8)            # C-style octal, as in chmod 0755
            return int(t, 0)
        except ValueError:
            raise ValueError("%s: expecting an integer, got %r" % (self.name, text)) from None


class Int64(Int):
    label = "int64"
    bits = 63


class Bool(Kind):
    py = (bool, int)
    label = "bool"

    def check(self, value, action):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        raise TypeError("%s: argument %r must be bool, not %s" % (
            action, self.name, type(value).__name__))

    def parse(self, text):
        t = text.lower()
        if t in ("1", "true", "yes", "on", "y", "t"):
            return True
        if t in ("0", "false", "no", "off", "n", "f"):
            return False
        raise ValueError("%s: expecting true or false, got %r" % (self.name, text))


class StringList(Kind):
    py = (list, tuple)
    label = "list of strings"
    item = String

    def check(self, value, action):
        if not isinstance(value, self.py):
            # any iterable of strings, as python-guestfs takes (never a bare string,
            # which would be split into characters)
            if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__iter__"):
                raise TypeError("%s: argument %r must be %s, not %s" % (
                    action, self.name, self.label, type(value).__name__))
            value = list(value)
        item = self.item(self.name)
        return [item.check(v, action) for v in value]

    def parse(self, text):
        import shlex
        return shlex.split(text)


class DeviceList(StringList):
    label = "list of devices"
    item = Device


class BufferIn(Kind):
    """Bytes (str is encoded as UTF-8)."""
    py = (bytes, bytearray, memoryview, str)
    label = "buffer"

    def check(self, value, action):
        value = super().check(value, action)
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        return bytes(value)

    def parse(self, text):
        return text.encode("utf-8", "surrogateescape")


class KeyBuffer(BufferIn):
    """Secret bytes (a credential): never traced, never logged."""
    label = "secret buffer"
    secret = True


class Pointer(Kind):
    """A Python object handed through (a libvirt domain for add_libvirt_dom)."""
    py = (object,)
    label = "object"

    def check(self, value, action):
        if value is None:
            raise TypeError("%s: argument %r must not be None" % (action, self.name))
        return value

    def parse(self, text):
        raise ValueError("%s: cannot be given in the shell" % self.name)


class FileIn(String):
    """A host file whose content is streamed to the daemon."""
    label = "host file to read"
    stream = "in"


class FileOut(String):
    """A host file the daemon's output is streamed into."""
    label = "host file to write"
    stream = "out"


# optional arguments use the same kinds; these names read better in declarations
OBool, OInt, OInt64, OString, OStringList = Bool, Int, Int64, String, StringList


# ---- return kinds ---------------------------------------------------------------------------


class Ret:
    label = "nothing"

    def __init__(self, struct=None):
        self.struct = struct

    def __repr__(self):
        return type(self).__name__


class RErr(Ret):
    pass


class RInt(Ret):
    label = "int"


class RInt64(Ret):
    label = "int64"


class RBool(Ret):
    label = "bool (0 or 1)"


class RString(Ret):
    label = "string"


class RConstString(RString):
    pass


class ROptString(RString):
    label = "string or None"


class RStringList(Ret):
    label = "list of strings"


class RStruct(Ret):
    label = "struct (dict)"


class RStructList(Ret):
    label = "list of structs (dicts)"


class RHashtable(Ret):
    label = "hashtable (list of pairs, or dict with python_return_dict)"


class RBufferOut(Ret):
    label = "bytes"


# ---- the action record ----------------------------------------------------------------------

# states an action may require
CONFIG = "config"       # only before launch
LAUNCHED = "launched"   # only after launch (every daemon action)
ANY = "any"


_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "cf")


def first_sentence(doc):
    """The first sentence of DOC, without its full stop (an ellipsis that ends it stays).
    A sentence ends at a full stop followed by two spaces, by one space and a capital
    letter, or by the end of DOC; never at an abbreviation (e.g.) nor at the names . and
    .. inside a sentence."""
    for m in re.finditer(r"\.( {2,}|\s+(?=[A-Z])|\s*$)", doc):
        before = doc[:m.start()]
        words = before.split()
        word = words[-1] if words else ""
        if word.lower() in _ABBREVIATIONS:
            continue
        if before.endswith(".."):
            return before + "."                 # an ellipsis
        if word in ("", ".") and not m.group(1).startswith("  "):
            continue
        return before
    return doc.rstrip(".")


class Action:
    """One entry of the table."""

    def __init__(self, name, args=(), ret=None, optargs=(), *, daemon=True, doc="",
                 state=None, group=None, progress=False, cancellable=False, aliases=(),
                 once_had_no_optargs=False, fish_alias=(), shortdesc=None, deprecated_by=None,
                 secret_ret=False, fish_many=False, deprecated=False):
        self.name = name
        self.args = list(args)
        self.optargs = list(optargs)
        self.ret = ret if ret is not None else RErr()
        self.daemon = daemon
        self.doc = doc.strip()
        if group:
            # GROUP is the feature (available/feature_available) the action depends on
            self.doc += ("  This function depends on the feature \"%s\" (see "
                         "feature_available)." % group)
        self.shortdesc = shortdesc or (first_sentence(self.doc) if self.doc else name)
        self.state = state or (LAUNCHED if daemon else ANY)
        self.group = group
        self.progress = progress
        self.cancellable = cancellable or progress
        # python-guestfs has name_opts aliases for actions that gained optional args
        self.aliases = list(aliases)
        if once_had_no_optargs:
            self.aliases.append(name + "_opts")
        self.fish_alias = list(fish_alias)
        # DEPRECATED_BY names the action that replaces this one; DEPRECATED alone marks a
        # deprecated action with no replacement.  Calling either warns (DeprecationWarning),
        # as python-guestfs does.
        self.deprecated_by = deprecated_by
        self.deprecated = bool(deprecated or deprecated_by)
        self.secret_ret = secret_ret
        # in the shell the first argument may be given several times (copy-in A B /dir):
        # the action runs once for each, as guestfish's meta-commands do
        self.fish_many = fish_many
        self._known = {k.name: k for k in self.optargs}
        #: whether an argument is a FileIn/FileOut (the call path looks once per call)
        names = [a.name for a in self.args + self.optargs]
        if len(set(names)) != len(names):
            raise ValueError("action %s: duplicate argument names" % name)

    @property
    def streams(self):
        return [a for a in self.args if a.stream]

    def split_streams(self, args):
        """Checked ARGS as the daemon gets them: (the arguments with None for each stream,
        the FileIn argument or None, the FileOut argument or None)."""
        wire, upload, download = [], None, None
        for kind, value in zip(self.args, args):
            if kind.stream == "in":
                upload = value
            elif kind.stream == "out":
                download = value
            wire.append(None if kind.stream else value)
        return wire, upload, download

    def check_args(self, args, optargs):
        """Check and normalise positional and optional arguments; returns (args, optargs)."""
        if len(args) != len(self.args):
            raise TypeError("%s: takes %d argument%s (%d given)" % (
                self.name, len(self.args), "" if len(self.args) == 1 else "s", len(args)))
        name = self.name
        out = []
        for k, v in zip(self.args, args):       # a loop: no comprehension frame per call
            out.append(k.check(v, name))
        if not optargs:
            return out, {}
        known = self._known
        oout = {}
        for key, value in optargs.items():
            if key not in known:
                raise TypeError("%s: unknown optional argument %r (known: %s)" % (
                    self.name, key, ", ".join(known) or "none"))
            if value is None:
                continue
            oout[key] = known[key].check(value, self.name)
        return out, oout

    def redact(self, args, optargs):
        """Arguments as they may appear in traces and logs."""
        a = ["***" if k.secret else v for k, v in zip(self.args, args)]
        o = {k: ("***" if getattr(self._opt(k), "secret", False) else v)
             for k, v in optargs.items()}
        return a, o

    def _opt(self, name):
        for k in self.optargs:
            if k.name == name:
                return k
        return None

    def __repr__(self):
        return "Action(%r)" % self.name
