"""The Perl expressions ``guestkit edit -e`` understands, done with Python's re.

virt-edit hands its -e expression to Perl, line by line ($_ holds the line with its
newline).  guestkit runs no Perl: it understands the two forms people use, and refuses
anything else with a message saying so:

- ``s/REGEX/REPLACEMENT/FLAGS``: any punctuation as the delimiter (``s|a|b|``, ``s#a#b#``)
  or a bracketing pair (``s{a}{b}``, ``s(a)(b)``, ``s<a><b>``, ``s[a][b]``); FLAGS among
  g (every match), i (ignore case), m (^ and $ at each newline), s (. matches a newline),
  x (spaces and comments in the regex).  In REPLACEMENT: $1..$99, ${N}, $& (the match),
  $+{NAME} (a named group), \\n \\t \\r \\f \\e \\0 \\a, \\xHH, \\x{H..}, and a backslash before
  anything else stands for that character (\\/ \\$ \\\\).
- ``$_ = "" if /REGEX/FLAGS`` (or ``unless``): delete the lines that match (do not match).

Not supported, with an error: the e and r flags and every other flag; Perl code in the
replacement (other variables, function calls, @arrays); \\u \\l \\U \\L \\E \\Q case and
quote escapes; $lineno; several statements; POSIX classes like [[:alpha:]]; tr/// and y///.

The regex dialects differ little for such uses; the translation: (?<NAME>..) becomes
(?P<NAME>..), \\z becomes Python's \\Z and Perl's \\Z becomes (?=\\n?\\Z).  As Perl does
without ``use utf8``, the file and the expression are taken byte by byte (Latin-1 both
ways, so any bytes survive), and \\w, \\d, \\s and case folding are ASCII's."""

import re

FLAGS = {"g": 0, "i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
PAIRS = {"{": "}", "(": ")", "<": ">", "[": "]"}
SUPPORTED = ("guestkit edit -e understands s/REGEX/REPLACEMENT/FLAGS (flags g, i, m, s, x) "
             "and $_ = \"\" if /REGEX/ (or unless); for anything else use $EDITOR with a "
             "script of yours")


class ExprError(ValueError):
    """An expression guestkit edit cannot run: its message says why."""


def _take(text, i, delim):
    """The text from I up to the unescaped closing DELIM (nesting for bracket pairs), and
    the index after it."""
    close = PAIRS.get(delim, delim)
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if close != delim and c == delim:
            depth += 1
        elif c == close:
            if depth == 0:
                return text[i:j], j + 1
            depth -= 1
        j += 1
    raise ExprError("%r: no closing %r" % (text, close))


def _flags(text, allowed="gimsx"):
    bits = 0
    for f in text:
        if f not in allowed:
            raise ExprError("the flag %r is not supported: %s" % (f, SUPPORTED))
        bits |= FLAGS[f]
    return bits


def translate_regex(pattern, delim="/"):
    """A Perl regex as a Python one (see the module's doc)."""
    if "[:" in pattern and re.search(r"\[\[?:\^?[a-z]+:\]", pattern):
        raise ExprError("POSIX classes like [[:alpha:]] are not supported in %r: write "
                        "the class out ([A-Za-z])" % pattern)
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            if n == "z":
                out.append(r"\Z")
            elif n == "Z":
                out.append(r"(?=\n?\Z)")
            elif n == delim and not n.isalnum():
                out.append(re.escape(n))
            elif n in "hHvVKRXNgkopPQEulUL":
                raise ExprError("the escape \\%s in %r is Perl's only: not supported"
                                % (n, pattern))
            else:
                out.append(c + n)
            i += 2
            continue
        if pattern.startswith("(?<", i) and i + 3 < len(pattern) and \
                pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "e": "\x1b", "0": "\0", "a": "\a"}


def parse_replacement(text, delim="/"):
    """A Perl replacement (a double-quoted string) as a list of pieces: str for literal
    text, int or str in a tuple for a group: ("g", 1), ("g", "name"), ("g", 0)."""
    pieces, lit, i = [], [], 0

    def flush():
        if lit:
            pieces.append("".join(lit))
            lit.clear()
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise ExprError("the replacement %r ends with a lone backslash" % text)
            n = text[i + 1]
            if n in _ESCAPES:
                lit.append(_ESCAPES[n])
                i += 2
            elif n == "x":
                m = re.match(r"\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{1,2})", text[i + 2:])
                if not m:
                    raise ExprError("\\x in %r: expecting hex digits" % text)
                lit.append(chr(int(m.group(1) or m.group(2), 16) & 0xFF))
                i += 2 + m.end()
            elif n.isdigit():
                flush()                     # \1: an old way to say $1
                m = re.match(r"\d+", text[i + 1:])
                pieces.append(("g", int(m.group())))
                i += 1 + m.end()
            elif n in "uUlLEQ":
                raise ExprError("the case and quote escape \\%s in %r is not supported"
                                % (n, text))
            elif n.isalpha():
                raise ExprError("the escape \\%s in %r is not supported" % (n, text))
            else:
                lit.append(n)
                i += 2
            continue
        if c == "$":
            rest = text[i + 1:]
            m = re.match(r"(\d+)|\{(\d+)\}|(&)|\+\{(\w+)\}", rest)
            if not m:
                raise ExprError("%r in the replacement %r is Perl code (a variable or an "
                                "expression): not supported; %s" % ("$" + rest[:12], text,
                                                                  SUPPORTED))
            flush()
            if m.group(3):
                pieces.append(("g", 0))
            elif m.group(4):
                pieces.append(("g", m.group(4)))
            else:
                pieces.append(("g", int(m.group(1) or m.group(2))))
            i += 1 + m.end()
            continue
        if c == "@" and i + 1 < len(text) and (text[i + 1].isalpha() or text[i + 1] in "_{"):
            raise ExprError("%r in the replacement %r would be a Perl array: write \\@"
                            % (text[i:i + 8], text))
        lit.append(c)
        i += 1
    flush()
    return pieces


class LineEdit:
    """One expression, compiled: edit(line) -> the new line (str, Latin-1 characters)."""

    def __init__(self, expr):
        self.expr = expr
        text = expr.strip()
        m = re.match(r'\$_\s*=\s*(""|\'\')\s*(if|unless)\s+(m?)(.)', text)
        if m:
            delim = m.group(4)
            if (not m.group(3) and delim != "/") or delim.isalnum() or delim.isspace():
                raise ExprError("%r: the condition is not a match /REGEX/: %s"
                                % (expr, SUPPORTED))
            pattern, end = _take(text, m.end(), delim)
            flags = _flags(text[end:].rstrip(";").strip(), "imsx")
            self.regex = self._compile(pattern, delim, flags)
            self.delete_if = m.group(2) == "if"
            self.kind = "delete"
            return
        m = re.match(r"s(\s*)([^\w\s])", text)
        if not m:
            raise ExprError("%r is not supported: %s" % (expr, SUPPORTED))
        delim = m.group(2)
        pattern, end = _take(text, m.end(), delim)
        if delim in PAIRS:
            rest = text[end:].lstrip()
            if not rest or rest[0] not in PAIRS:
                raise ExprError("%r: s%s...%s must be followed by a bracketed replacement"
                                % (expr, delim, PAIRS[delim]))
            repl, end = _take(rest, 1, rest[0])
            tail = rest[end:]
        else:
            repl, end = _take(text, end, delim)
            tail = text[end:]
        tail = tail.rstrip().rstrip(";").rstrip()
        bits = _flags(tail)
        self.count = 0 if "g" in tail else 1
        self.regex = self._compile(pattern, delim, bits)
        self.pieces = parse_replacement(repl, delim)
        for p in self.pieces:
            if isinstance(p, tuple) and isinstance(p[1], int) and p[1] > self.regex.groups:
                raise ExprError("$%d in %r: the regex has %d group(s)"
                                % (p[1], expr, self.regex.groups))
            if isinstance(p, tuple) and isinstance(p[1], str) and \
                    p[1] not in self.regex.groupindex:
                raise ExprError("$+{%s} in %r: the regex has no group of that name"
                                % (p[1], expr))
        self.kind = "subst"

    @staticmethod
    def _compile(pattern, delim, bits):
        try:
            return re.compile(translate_regex(pattern, delim), bits | re.ASCII)
        except re.error as e:
            raise ExprError("the regex %r: %s" % (pattern, e)) from None

    def _expand(self, m):
        return "".join(p if isinstance(p, str) else (m.group(p[1]) or "")
                       for p in self.pieces)

    def edit(self, line):
        if self.kind == "delete":
            return "" if bool(self.regex.search(line)) == self.delete_if else line
        return self.regex.sub(self._expand, line, count=self.count)


def apply(expr, data):
    """DATA (bytes) with the expression applied to each line (as Perl's <STDIN> reads
    lines: each with its newline, the last without if the file does not end with one):
    the new bytes."""
    edit = expr.edit if isinstance(expr, LineEdit) else LineEdit(expr).edit
    text = data.decode("latin-1")
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
    return "".join(edit(line) for line in lines).encode("latin-1")
