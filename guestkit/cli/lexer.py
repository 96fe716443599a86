"""One line of a guestfish script, split as guestfish splits it.

What a line can be (after leading blanks):

- blank, or ``# comment``: nothing;
- ``!host command``: a command for the host shell;
- ``<!host command``: a host command whose output is read as more lines of commands;
- ``CMD ARGS...``: a command; ``CMD ARGS... | host command`` pipes what it prints into a
  host command.

A leading ``-`` (before any of the above) means: an error here does not stop the script.

Words are separated by blanks.  A word that starts with a double quote runs to the next
unescaped double quote and understands the escapes ``\\a \\b \\f \\n \\r \\t \\v \\" \\\\``,
``\\ooo`` (three octal digits) and ``\\xhh`` (two hex digits); one that starts with a single
quote runs to the next single quote, taken literally.  A closing quote must end the word.  A
word that starts neither way runs to the next blank, taken literally (quotes inside it are
ordinary characters); if it starts with ``~`` it is expanded as a home directory on the host
(``~``, ``~/x``, ``~user/x``).  An unquoted word that starts with ``|`` begins the pipe: the
rest of the line goes to the host shell unchanged.  ``$VAR`` is not expanded by guestfish
(only the host shell expands it, in ``!``, pipes and event handlers); nor here.
"""

import os

from . import CliError

_BLANKS = " \t"

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            '"': '"', "\\": "\\"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


class Line:
    """A parsed line.  KIND is "command" (WORDS, PIPE), "host" or "inline" (HOST, the text
    for /bin/sh).  QUIET: an error here must not stop the script."""

    def __init__(self, kind, words=(), pipe=None, host=None, quiet=False):
        self.kind = kind
        self.words = list(words)
        self.pipe = pipe
        self.host = host
        self.quiet = quiet

    def __repr__(self):
        return "Line(%r, %r, pipe=%r, host=%r, quiet=%r)" % (
            self.kind, self.words, self.pipe, self.host, self.quiet)

    def __eq__(self, other):
        return isinstance(other, Line) and vars(self) == vars(other)


def parse_line(text):
    """TEXT (one line, its newline optional) as a Line, or None for nothing to do."""
    text = text.rstrip("\r\n")
    quiet = False
    while True:
        text = text.lstrip(_BLANKS)
        if not text or text.startswith("#"):
            return None
        if text.startswith("!"):
            return Line("host", host=text[1:], quiet=quiet)
        if text.startswith("<!"):
            return Line("inline", host=text[2:], quiet=quiet)
        if text.startswith("-"):
            quiet = True
            text = text[1:]
            continue
        break
    words, pipe = split_words(text)
    if not words:
        return None
    return Line("command", words, pipe=pipe, quiet=quiet)


def split_words(text):
    """(words, pipe): the words of TEXT as guestfish splits them, and the host command
    after an unquoted ``|`` word (None without one)."""
    words = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _BLANKS:
            i += 1
            continue
        if c == '"':
            word, i = _double_quoted(text, i + 1)
            _check_word_end(text, i)
            words.append(word)
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise CliError("unterminated single quote")
            _check_word_end(text, end + 1)
            words.append(text[i + 1:end])
            i = end + 1
        elif c == "|" and words:
            return words, text[i + 1:]
        else:
            end = i
            while end < n and text[end] not in _BLANKS:
                end += 1
            word = text[i:end]
            if word.startswith("~"):
                word = expand_tilde(word)
            words.append(word)
            i = end
    return words, None


def _check_word_end(text, i):
    if i < len(text) and text[i] not in _BLANKS:
        raise CliError("command arguments not separated by whitespace (after the quoted "
                       "word ending at column %d; quote the whole word)" % i)


def _double_quoted(text, i):
    """The word in double quotes starting after the quote at I-1: (word, index after the
    closing quote)."""
    out = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            word = "".join(out).encode("utf-8", "surrogateescape")
            return word.decode("utf-8", "surrogateescape"), i + 1
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            break
        e = text[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in _OCTAL:
            digits = text[i + 1:i + 4]
            if len(digits) != 3 or any(d not in _OCTAL for d in digits):
                raise CliError("\\ooo in a double-quoted word needs exactly three octal "
                               "digits, got \\%s" % digits)
            out.append(_char(int(digits, 8), "\\" + digits))
            i += 4
        elif e == "x":
            digits = text[i + 2:i + 4]
            if len(digits) != 2 or any(d not in _HEX for d in digits):
                raise CliError("\\xhh in a double-quoted word needs exactly two hex digits, "
                               "got \\x%s" % digits)
            out.append(_char(int(digits, 16), "\\x" + digits))
            i += 4
        else:
            raise CliError("unknown escape \\%s in a double-quoted word (known: \\a \\b \\f "
                           "\\n \\r \\t \\v \\\" \\\\ \\ooo \\xhh)" % e)
    raise CliError("unterminated double quote")


def _char(code, written):
    """The byte CODE, as a character that becomes that byte again (bytes of UTF-8
    sequences written as escapes join into their character)."""
    if code == 0:
        raise CliError("%s: a NUL character cannot be part of a word" % written)
    return chr(code) if code < 0x80 else chr(0xDC00 + code)


def expand_tilde(word):
    """``~`` or ``~user`` at the start of WORD as a home directory on the host; WORD
    unchanged when the user is unknown."""
    return os.path.expanduser(word)
