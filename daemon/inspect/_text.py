"""Bounded text helpers shared by the inspection parsers.

Lines are cut out of guest bytes without ever splitting the whole buffer, so
a huge input costs time proportional to the bounded part that is looked at.
Text handed back to callers is valid UTF-8 (bad bytes replaced), free of
control characters and cut to a maximum length.
"""

import re

# Control characters never returned in a string (tab is kept where allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_AND_TAB = re.compile(r"[\x00-\x1f\x7f]")
_NEWLINES = re.compile(rb"[\r\n]+")
_VERSION = re.compile(r"(\d{1,9})(?:\.(\d{1,9}))?")
_SHELL_KEY = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]{0,63})=")

MAX_SHELL_KEYS = 1000


def as_bytes(data):
    """Return ``data`` as bytes; str is UTF-8 encoded; anything else is a ValueError."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    raise ValueError("expected bytes, got %s" % type(data).__name__)


def iter_lines(data, max_lines, max_line_bytes, skip_long=False, collapse_blank=False):
    """Yield at most ``max_lines`` lines (bytes, without line ending) of ``data``.

    A line longer than ``max_line_bytes`` is cut to that length, or skipped
    when ``skip_long`` is true (it still counts towards ``max_lines``).  With
    ``collapse_blank`` a run of empty lines is stepped over in one go and
    yields a single b"" (so a flood of newlines costs one step).
    """
    data = as_bytes(data)
    size = len(data)
    pos = 0
    count = 0
    while pos < size and count < max_lines:
        if collapse_blank and data[pos] in (10, 13):
            pos = _NEWLINES.match(data, pos).end()
            count += 1
            yield b""
            continue
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
        count += 1
        if end - pos > max_line_bytes:
            if not skip_long:
                yield data[pos:pos + max_line_bytes]
        else:
            line = data[pos:end]
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line
        pos = end + 1


def clean(raw, max_chars, keep_tab=False):
    """Decode guest bytes (or str) to a safe str of at most ``max_chars`` characters."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw[:max_chars * 4]).decode("utf-8", "replace")
    text = (_CONTROL if keep_tab else _CONTROL_AND_TAB).sub("", raw[:max_chars * 4])
    return text[:max_chars]


def first_line(data, max_chars=512, max_lines=50):
    """The first non-blank line of ``data``, cleaned and stripped, or ''."""
    for line in iter_lines(data, max_lines, max_chars * 4):
        text = clean(line, max_chars * 2, keep_tab=True).strip()
        if text:
            return text[:max_chars]
    return ""


def parse_version(text):
    """(major, minor) from the first ``N`` or ``N.M`` in ``text``; (0, 0) if none."""
    m = _VERSION.search(text[:512])
    if not m:
        return 0, 0
    return int(m.group(1)), int(m.group(2) or 0)


def _shell_value(text, pos):
    """Parse one shell word of ``text`` from ``pos``; None if a quote is unterminated."""
    out = []
    n = len(text)
    while pos < n:
        c = text[pos]
        if c in " \t;#":
            break
        if c == "'":
            end = text.find("'", pos + 1)
            if end < 0:
                return None
            out.append(text[pos + 1:end])
            pos = end + 1
        elif c == '"':
            pos += 1
            while pos < n and text[pos] != '"':
                if text[pos] == "\\" and pos + 1 < n and text[pos + 1] in '$`"\\':
                    pos += 1
                out.append(text[pos])
                pos += 1
            if pos >= n:
                return None
            pos += 1
        elif c == "\\" and pos + 1 < n:
            out.append(text[pos + 1])
            pos += 2
        else:
            out.append(c)
            pos += 1
    return "".join(out)


def parse_shell_assignments(data, max_lines=2000, max_line_bytes=4096, max_value=1024):
    """Parse shell-style ``KEY=value`` lines (os-release, lsb-release, rc.conf ...).

    Quoting follows the shell: single quotes are literal, double quotes honour
    backslash before ``$ ` " \\``, an unquoted backslash escapes the next
    character; an unquoted blank ends the value.  Lines that are not
    assignments, or hold an unterminated quote, are ignored.  The last
    assignment of a key wins.  Values are cleaned and cut to ``max_value``.
    """
    result = {}
    for raw in iter_lines(data, max_lines, max_line_bytes, skip_long=True):
        text = clean(raw, max_line_bytes, keep_tab=True).strip()
        if not text or text.startswith("#"):
            continue
        m = _SHELL_KEY.match(text)
        if not m:
            continue
        value = _shell_value(text, m.end())
        if value is None:
            continue
        key = m.group(1)
        if key not in result and len(result) >= MAX_SHELL_KEYS:
            continue
        result[key] = clean(value, max_value)
    return result
