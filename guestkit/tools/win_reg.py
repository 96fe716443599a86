"""``guestkit win-reg``: virt-win-reg's job.  Exports a key of a Windows guest's registry
(recursively) as regedit text, prints one value, or merges regedit files into it.

  guestkit win-reg [-a IMAGE | -d GUEST | IMAGE | GUEST] 'HKLM\\SOFTWARE\\Path' [NAME|@]
  guestkit win-reg --merge [-a IMAGE | ... ] [FILE.reg ...]   (standard input without FILE)

As with virt-win-reg, the first argument may name the disk image or the libvirt guest when
no -a/-d is given.  The hives are read and written by libhivex inside the appliance
(guestkit's hivex_* actions): no hive is parsed on the host.  The export is
Win::Hivex::Regedit's (what virt-win-reg prints): no header, each key as
``[PREFIX\\PATH]`` followed by its values sorted by name and a blank line, subkeys sorted by
name; DWORDs as ``dword:%08x``, everything else as ``hex(TYPE):xx,xx,...``, or with
--unsafe-printable-strings types 1 and 2 as ``str(TYPE):"..."`` (UTF-16LE decoded, one final
NUL dropped).  A single value is printed as hivexget prints it: strings as text, DWORDs and
QWORDs in decimal, multi-strings one per line (other types as in the export).

Keys: HKLM\\SAM, SECURITY, SOFTWARE, SYSTEM; HKU\\.DEFAULT; HKU\\S-1-5-... (through the
profile list in SOFTWARE), HKU\\LocalSystem, LocalService, NetworkService; HKU\\USERNAME (the
user's ntuser.dat).  --merge understands regedit files as Win::Hivex::Regedit does:
``[KEY]`` merges values into KEY (creating it if its parent exists), ``[-KEY]`` deletes it,
``"name"=...`` and ``@=...`` set a value (``"text"``, ``str(T):"text"``, ``dword:XXXXXXXX``,
``hex:..``, ``hex(T):..``, with --encoding UTF-16LE (default) or ASCII for strings),
continuation lines ending in a backslash, ``;`` comments.  Deleting one value (``"name"=-``)
is refused: guestkit's hivex actions cannot remove a value yet.  The whole input is parsed
and every key mapped to its hive before anything is written, and the changes are
rehearsed in every hive (and thrown away) before they are made and committed, so that a
key that cannot be made leaves every hive as it was."""

import os
import re
import sys

import guestkit

from .common import ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit win-reg"
REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 4, 7, 11
_HKLM = r"^\\?(?:HKEY_LOCAL_MACHINE|HKLM)\\%s(\\.*)?$"
_HKU = r"^\\?(?:HKEY_USERS|HKU)\\%s(\\.*)?$"
WELL_KNOWN_SIDS = {"LocalSystem": "S-1-5-18", "LocalService": "S-1-5-19",
                   "NetworkService": "S-1-5-20"}


class Hives:
    """Where each registry path lives in the guest; the one hive open on the handle."""

    def __init__(self, g, root, write):
        self.g, self.write = g, write
        self.systemroot = g.inspect_get_windows_systemroot(root)
        self.open_file = None
        self.dirty = False

    def map_path(self, text):
        """(guest hive file, path inside the hive, prefix) of the registry path TEXT."""
        sysconfig = self.systemroot + "/system32/config/"
        for name in ("SAM", "SECURITY", "SOFTWARE", "SYSTEM"):
            m = re.match(_HKLM % name, text, re.I)
            if m:
                return (sysconfig + name.lower(), m.group(1) or "\\",
                        "HKEY_LOCAL_MACHINE\\" + name)
        m = re.match(_HKU % r"\.DEFAULT", text, re.I)
        if m:
            return sysconfig + "default", m.group(1) or "\\", "HKEY_LOCAL_MACHINE\\.DEFAULT"
        m = re.match(_HKU % r"(S-1-5-[-\d]+)", text, re.I)
        if m:
            sid = m.group(1)
            return (self._profile(sid) + "/ntuser.dat", m.group(2) or "\\",
                    "HKEY_USERS\\" + sid)
        for alias, sid in WELL_KNOWN_SIDS.items():
            m = re.match(_HKU % alias, text, re.I)
            if m:
                return (self._profile(sid) + "/ntuser.dat", m.group(1) or "\\",
                        "HKEY_USERS\\" + sid)
        m = re.match(_HKU % r"(.*?)", text, re.I)
        if m:
            user = m.group(1)
            for base in ("/Users/", "/Documents and Settings/"):
                try:
                    if self.g.is_dir(self.g.case_sensitive_path(base + user)):
                        return (base + user + "/ntuser.dat", m.group(2) or "\\",
                                "HKEY_USERS\\" + user)
                except guestkit.Error:
                    pass
            raise ToolError("%s: cannot find the user's directory" % user)
        raise ToolError("%s: not a supported Windows Registry path (HKLM\\SAM, SECURITY, "
                        "SOFTWARE, SYSTEM, HKU\\.DEFAULT, HKU\\SID or HKU\\USERNAME)" % text)

    def _profile(self, sid):
        """The profile directory of SID, from the profile list in SOFTWARE."""
        hive, path, _ = self.map_path("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\"
                                      "CurrentVersion\\ProfileList\\" + sid)
        self.open(hive)
        node = self.lookup(path)
        value = node and self.g.hivex_node_get_value(node, "ProfileImagePath")
        if not value:
            raise ToolError("HKU\\%s: the profile list in SOFTWARE does not name this "
                            "user's profile" % sid)
        text = self.g.hivex_value_string(value)
        text = re.sub("%systemroot%", lambda _: self.systemroot, text, flags=re.I)
        text = re.sub("%systemdrive%", "", text, flags=re.I)
        text = re.sub("^c:", "", text, flags=re.I)
        return text.replace("\\", "/")

    def open(self, hivefile):
        """Make HIVEFILE the hive open on the handle (committing the one open before)."""
        try:
            real = self.g.case_sensitive_path(hivefile)
        except guestkit.Error as e:
            raise ToolError("%s: %s" % (hivefile, e)) from None
        if real == self.open_file:
            return
        self.close()
        if not self.g.is_file(real):
            raise ToolError("%s: could not find the registry file" % real)
        try:
            self.g.hivex_open(real, write=self.write, unsafe=not self.write)
        except guestkit.Error as e:
            raise ToolError("%s: could not open the registry file: %s" % (real, e)) \
                from None
        self.open_file = real

    def close(self):
        if self.open_file is not None:
            if self.dirty:
                self.g.hivex_commit(None)
            self.g.hivex_close()
            self.open_file, self.dirty = None, False

    def discard(self):
        """Close the open hive, its changes thrown away."""
        if self.open_file is not None:
            self.g.hivex_close()
            self.open_file, self.dirty = None, False

    def lookup(self, path):
        """The node at PATH (names compared case-insensitively), or 0."""
        g = self.g
        node = g.hivex_root()
        for name in path.split("\\"):
            if name == "":
                continue
            node = g.hivex_node_get_child(node, name)
            if not node:
                return 0
        return node


# ---- export ---------------------------------------------------------------------------

def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _data_text(t, data, printable):
    if t == REG_DWORD and len(data) == 4:
        return "dword:%08x" % int.from_bytes(data, "little")
    if printable and t in (REG_SZ, REG_EXPAND_SZ):
        text = data.decode("utf-16-le", "replace")
        if text.endswith("\0"):
            text = text[:-1]
        line = 'str(%x):"%s"' % (t, text.replace('"', '\\"'))
        # Perl prints a string of characters below 256 as Latin-1 bytes, others as UTF-8
        return line.encode("latin-1" if all(ord(c) < 256 for c in line) else "utf-8",
                           "surrogateescape")
    return "hex(%x):%s" % (t, ",".join("%02x" % b for b in data))


def _canonical(g, node, root):
    names = []
    while node != root:
        names.append(g.hivex_node_name(node))
        node = g.hivex_node_parent(node)
    return "\\" + "\\".join(reversed(names))


def export(g, node, prefix, out, printable):
    root = g.hivex_root()
    prefix = prefix[:-1] if prefix.endswith("\\") else prefix
    stack = [[node]]
    while stack:
        if not stack[-1]:
            stack.pop()
            continue
        node = stack[-1].pop(0)
        enc = lambda text: text.encode("utf-8", "surrogateescape")     # noqa: E731
        lines = [enc("[%s%s]" % (prefix, _canonical(g, node, root)))]
        values = []
        for v in g.hivex_node_values(node):
            vh = v["hivex_value_h"]
            values.append((g.hivex_value_key(vh), g.hivex_value_type(vh),
                           bytes(g.hivex_value_value(vh))))
        for key, t, data in sorted(values, key=lambda v: v[0].encode("utf-8",
                                                                       "surrogateescape")):
            name = "@" if key == "" else '"%s"' % _escape(key)
            text = _data_text(t, data, printable)
            lines.append(enc(name + "=") + (text if isinstance(text, bytes) else enc(text)))
        out.write(b"\n".join(lines) + b"\n\n")
        children = [(g.hivex_node_name(c["hivex_node_h"]), c["hivex_node_h"])
                    for c in g.hivex_node_children(node)]
        children.sort(key=lambda c: c[0].encode("utf-8", "surrogateescape"))
        stack.append([c for _, c in children])


def decode_value(t, data):
    """A value of type T as hivexget reads it: strings as text, DWORDs and QWORDs as
    numbers, multi-strings as a list, any other type as its export text."""
    if t in (REG_SZ, REG_EXPAND_SZ, 6):
        return data.decode("utf-16-le", "replace").split("\0", 1)[0]
    if t == REG_DWORD and len(data) == 4:
        return int.from_bytes(data, "little", signed=True)
    if t == 5 and len(data) == 4:
        return int.from_bytes(data, "big", signed=True)
    if t == REG_QWORD and len(data) == 8:
        return int.from_bytes(data, "little", signed=True)
    if t == REG_MULTI_SZ:
        return [s for s in data.decode("utf-16-le", "replace").split("\0") if s]
    text = _data_text(t, data, False)
    return text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text


def read_value(g, vh):
    """(type, decoded value) of the value handle VH."""
    t = g.hivex_value_type(vh)
    return t, decode_value(t, bytes(g.hivex_value_value(vh)))


def print_value(g, node, name, out):
    vh = g.hivex_node_get_value(node, "" if name == "@" else name)
    if not vh:
        raise ToolError("%s: no such value" % name)
    value = read_value(g, vh)[1]
    text = "\n".join(value) if isinstance(value, list) else str(value)
    out.write((text + "\n").encode("utf-8", "surrogateescape"))


# ---- merge ----------------------------------------------------------------------------

def _quoted(text):
    """A regedit "..." string at the start of TEXT (backslash escapes any character):
    (string, rest), or None."""
    if not text.startswith('"'):
        return None
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), text[i + 1:]
        if c == "\\":
            i += 1
            if i < len(text):
                out.append(text[i])
        else:
            out.append(c)
        i += 1
    return None


def _hex_digits(text):
    digits = re.sub(r"[,\s]", "", text)
    if len(digits) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        return None
    return bytes.fromhex(digits)


def parse_value(text, encoding):
    """(type, bytes) of a regedit value, or None."""
    m = re.fullmatch(r"dword:([0-9A-Fa-f]{8})", text)
    if m:
        return REG_DWORD, int(m.group(1), 16).to_bytes(4, "little")
    m = re.fullmatch(r"hex(?:\(([0-9A-Fa-f]+)\))?:(.*)", text)
    if m:
        data = _hex_digits(m.group(2))
        return None if data is None else (int(m.group(1) or "3", 16), data)
    m = re.fullmatch(r'(?:str(?:\(([0-9A-Fa-f]+)\))?:)?(".*")', text)
    if m:
        q = _quoted(m.group(2))
        if q is None:
            return None
        try:
            return int(m.group(1) or "1", 16), (q[0] + "\0").encode(encoding)
        except UnicodeEncodeError:
            raise ToolError("%r cannot be written in %s" % (q[0], encoding)) from None
    return None


def parse_reg(lines, source, encoding):
    """The sections of a regedit file: [("delete", key)] or [("merge", key, values)],
    values [(name, type, bytes)]."""
    sections, current = [], None
    lines = iter(enumerate(lines, 1))

    def fail(lineno, line, what="unexpected text"):
        raise ToolError("%s: line %d: %s: %s" % (source, lineno, what, line))
    for lineno, line in lines:
        line = line.rstrip("\n").rstrip("\r")
        while re.search(r"\\\s*$", line):        # continuation lines
            line = re.sub(r"\\\s*$", "", line)
            nxt = next(lines, None)
            if nxt is None:
                break
            line += nxt[1].rstrip("\n").rstrip("\r")
        if current is None:
            if re.fullmatch(r"\s*(;.*)?", line) or "Windows Registry Editor Version" in \
                    line or line.startswith("REGEDIT"):
                continue
            m = re.fullmatch(r"\[-(.*)\]\s*", line)
            if m:
                sections.append(("delete", m.group(1)))
                continue
            m = re.fullmatch(r"\[(.*)\]\s*", line)
            if not m:
                fail(lineno, line)
            current = ("merge", m.group(1), [])
            sections.append(current)
            continue
        if re.fullmatch(r"\s*(;.*)?", line):
            current = None
            continue
        if re.fullmatch(r'(".*)=-\s*', line) or re.fullmatch(r"@=-\s*", line):
            raise ToolError("%s: line %d: deleting a single value (%s) is not supported: "
                            "guestkit's hivex actions cannot remove one value yet"
                            % (source, lineno, line))
        if line.startswith("@="):
            name, rest = "", line[2:]
        elif line.startswith('"'):
            q = _quoted(line)
            if q is None or not q[1].startswith("="):
                fail(lineno, line, "parse error")
            name, rest = q[0], q[1][1:]
        else:
            fail(lineno, line)
        value = parse_value(rest, encoding)
        if value is None:
            fail(lineno, line, "parse error")
        current[2].append((name, value[0], value[1]))
    return sections


def merge(hives, sections):
    """Apply SECTIONS.  Sections of different hives do not interact, so they are taken
    hive by hive (in order within each); every hive is first changed without committing
    (a rehearsal that finds missing parents and the like), and only when all of them went
    through are the changes made again and committed: an error writes nothing."""
    by_hive = {}
    for s in sections:
        hivefile, path, _ = hives.map_path(s[1])     # every key checked first
        by_hive.setdefault(hivefile, []).append((s, path))
    for commit in (False, True):
        for hivefile, todo in by_hive.items():
            hives.open(hivefile)
            for section, path in todo:
                _apply(hives, section, path)
            if commit:
                hives.close()
            else:
                hives.discard()


def _apply(hives, section, path):
    g = hives.g
    node = hives.lookup(path)
    if section[0] == "delete":
        if node:
            if node == g.hivex_root():
                raise ToolError("%s: the root of a hive cannot be deleted" % section[1])
            g.hivex_node_delete_child(node)
            hives.dirty = True
        return
    if not node:
        parent_path, _, name = path.rstrip("\\").rpartition("\\")
        parent = hives.lookup(parent_path)
        if not parent:
            raise ToolError("%s: cannot create it since its parent %s does not exist"
                            % (section[1], parent_path or "\\"))
        node = g.hivex_node_add_child(parent, name)
    for name, t, data in section[2]:
        g.hivex_node_set_value(node, name, t, data)
    hives.dirty = True


# ---- the tool -------------------------------------------------------------------------

def win_reg(argv):
    ap = guest_parser(PROG, "export a key of a Windows guest's registry as regedit text, "
                            "or merge regedit files into it, as virt-win-reg does")
    ap.add_argument("--merge", action="store_true",
                    help="merge regedit files (or standard input) into the registry")
    ap.add_argument("--encoding", default="UTF-16LE", metavar="UTF-16LE|ASCII",
                    help="how strings are written into the hive with --merge")
    ap.add_argument("--unsafe-printable-strings", dest="printable", action="store_true",
                    help="export strings (types 1, 2) as text, assuming UTF-16LE")
    ap.add_argument("--debug", dest="verbose", action="store_true", help="the same as -v")
    ap.add_argument("args", nargs="*", metavar="ARG",
                    help="[IMAGE|GUEST] KEY [NAME|@], or with --merge [IMAGE|GUEST] "
                         "[FILE.reg...]")
    ns = ap.parse_args(argv)
    args = list(ns.args)
    if not ns.drives:
        if not args:
            raise ToolError("no libvirt guest or disk image given")
        first = args.pop(0)
        ns.drives.append(("a", first, ns.format) if os.path.exists(first)
                         else ("d", first, None))
    encodings = {"utf-16le": "utf-16-le", "ascii": "ascii"}
    if ns.encoding.lower() not in encodings:
        raise ToolError("--encoding %s: expecting UTF-16LE or ASCII" % ns.encoding)
    if ns.merge:
        sections = []
        for name in args or ["-"]:
            try:
                if name == "-":
                    text = sys.stdin.read()
                else:
                    with open(name, encoding="utf-8", errors="surrogateescape") as f:
                        text = f.read()
            except OSError as e:
                raise ToolError("%s: %s" % (name, e.strerror)) from None
            sections += parse_reg(text.splitlines(), "standard input" if name == "-"
                                  else name, encodings[ns.encoding.lower()])
    elif not 1 <= len(args) <= 2:
        raise ToolError("expecting 1 or 2 more parameters, the key path and optionally "
                        "the value to export")
    ns.readonly = not ns.merge
    g = open_guest(ns)
    try:
        roots = g.inspect_os()
        if not roots:
            raise ToolError("no operating system could be detected inside this disk image")
        if len(roots) > 1:
            raise ToolError("multiboot operating systems are not supported")
        mps = g.inspect_get_mountpoints(roots[0])
        for mp in sorted(mps, key=len):
            g.mount_options("" if ns.merge else "ro", mps[mp], mp)
        if g.inspect_get_type(roots[0]) != "windows":
            raise ToolError("this guest is not Windows")
        hives = Hives(g, roots[0], write=ns.merge)
        if ns.merge:
            merge(hives, sections)
            g.shutdown()                # written back before reporting success
            return 0
        hivefile, path, prefix = hives.map_path(args[0])
        hives.open(hivefile)
        node = hives.lookup(path)
        if not node:
            raise ToolError("%s: path not found in this hive" % path)
        out = sys.stdout.buffer
        if len(args) == 2:
            print_value(g, node, args[1], out)
        else:
            export(g, node, prefix, out, ns.printable)
        out.flush()
        hives.close()
    finally:
        g.close()
    return 0


def main(argv):
    return run_tool(PROG, win_reg, argv)
