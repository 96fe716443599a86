"""From shell words to calls: split on ``:``, find the action, parse its arguments.

Everything here comes from the action table; no action is named in this module.
"""

import difflib
import functools
import re

from ..actions import ACTIONS, lookup
from ..actions.table import Int, Key, OptString
from . import CliError
from .builtins import BUILTINS

#: a standalone word that separates commands on the command line
SEPARATOR = ":"

def split_commands(words):
    """Split a list of words on standalone ``:`` words; empty commands are dropped."""
    groups, cur = [], []
    for w in words:
        if w == SEPARATOR:
            if cur:
                groups.append(cur)
            cur = []
        else:
            cur.append(w)
    if cur:
        groups.append(cur)
    return groups


def shell_name(name):
    """How a command is spelled in the shell: with dashes."""
    return name.replace("_", "-")


@functools.lru_cache(maxsize=None)
def _command_table():
    """Every spelling the shell accepts (dashed) -> Action: names, then python aliases and
    the shell aliases declared in the table."""
    table = {}
    for a in ACTIONS.values():
        table[shell_name(a.name)] = a
    for a in ACTIONS.values():
        for alias in list(a.aliases) + list(a.fish_alias):
            table.setdefault(shell_name(alias), a)
    return table


def command_names(include_builtins=True):
    """Sorted names the shell accepts, for completion and suggestions."""
    names = set(_command_table())
    if include_builtins:
        names.update(BUILTINS)
    return sorted(names)


def aliases_of(action):
    """The other spellings of ACTION in the shell (dashed), sorted."""
    main = shell_name(action.name)
    return sorted(n for n, a in _command_table().items() if a is action and n != main)


def suggest(word, n=3):
    """Close matches for a mistyped command name."""
    return difflib.get_close_matches(shell_name(word), command_names(), n=n, cutoff=0.6)


def unknown_command(word):
    """The CliError for an unknown command, with suggestions."""
    close = suggest(word)
    if close:
        hint = "did you mean: %s?" % ", ".join(close)
    else:
        hint = "type 'help' for the list of commands"
    return CliError("unknown command '%s'; %s" % (word, hint))


def find_action(word):
    """The Action a shell word names (dashes or underscores, aliases); CliError if none."""
    action = lookup(word)
    if action is None:
        action = _command_table().get(shell_name(word))
    if action is None:
        raise unknown_command(word)
    return action


def usage_line(action):
    """``name <arg> ... [opt:<label>] ...``"""
    parts = [shell_name(action.name)]
    parts += ["<%s>" % k.name for k in action.args]
    parts += ["[%s:<%s>]" % (k.name, k.label) for k in action.optargs]
    return " ".join(parts)


_NUMBER = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([A-Za-z]*)")

_POWERS = "KMGTPEZY"


def size_suffixes():
    """The size suffixes guestfish(1) accepts after an integer -> multiplier: k or K or
    KiB (1024), KB (1000), M or MiB, MB, ... up to Y, YiB, YB."""
    table = {"k": 1024}
    for i, p in enumerate(_POWERS, 1):
        table[p] = table[p + "iB"] = 1024 ** i
        table[p + "B"] = 1000 ** i
    return table


_SUFFIXES = size_suffixes()


def parse_integer(text):
    """An integer as guestfish reads one: decimal, C octal (0755) or hex (0x1ed), then an
    optional size suffix (1K = 1024, 1KB = 1000, 2M, 10G, ...).  ValueError if it is not."""
    m = _NUMBER.fullmatch(text.strip())
    if not m:
        raise ValueError("expecting an integer (decimal, 0755 octal, 0x1ed hex, with an "
                         "optional size suffix such as 512K or 10G), got %r" % text)
    sign, digits, suffix = m.groups()
    n = int(digits, 0) if digits[:2].lower() == "0x" else int(digits, 8 if
                                                                 digits[0] == "0" else 10)
    if suffix:
        if suffix not in _SUFFIXES:
            raise ValueError("unknown size suffix %r in %r (known: k, K, KiB, KB, M, MiB, "
                             "MB, G, ... up to Y)" % (suffix, text))
        n *= _SUFFIXES[suffix]
    return -n if sign == "-" else n


def _parse_one(action, kind, text):
    if kind.stream == "in" and text == "-":
        return "/dev/stdin"
    if kind.stream == "out" and text == "-":
        return "/dev/stdout"
    if isinstance(kind, OptString) and text == "":
        return None
    if isinstance(kind, Int):
        try:
            return parse_integer(text)
        except ValueError as e:
            if kind.secret:
                e = "invalid value"
            raise CliError("%s: %s: %s" % (shell_name(action.name), kind.name, e)) from None
    try:
        return kind.parse(text)
    except ValueError as e:
        if kind.secret:
            raise CliError("%s: %s: invalid value" % (shell_name(action.name), kind.name)) \
                from None
        raise CliError("%s: %s" % (shell_name(action.name), e)) from None


class AskKey:
    """Stands for a key or passphrase left out of the command, as guestfish scripts leave
    them out: the shell asks for it when the command runs."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "AskKey(%r)" % self.name

    def __eq__(self, other):
        return isinstance(other, AskKey) and other.name == self.name


def _ask_for_omitted_keys(action, words):
    """guestfish never takes keys on the command line: ``cryptsetup-open /dev/sda2 name``
    asks for the key.  When the words before the optional arguments are exactly the
    arguments without the keys, put an AskKey where each key goes."""
    keys = [i for i, k in enumerate(action.args) if isinstance(k, Key)]
    if not keys:
        return words
    known = {k.name for k in action.optargs}
    given = next((i for i, w in enumerate(words)
                  if ":" in w and w.partition(":")[0] in known), len(words))
    if given != len(action.args) - len(keys):
        return words
    out = list(words[:given])
    for i in keys:
        out.insert(i, AskKey(action.args[i].name))
    return out + list(words[given:])


def parse_args(action, words, readonly=None):
    """Turn the words after the command name into (args, optargs) for ACTION.

    The first words are the positional arguments, each parsed by its kind; the words after
    them are optional arguments written ``name:value``.  ``-`` for a host file to read or
    write means standard input or output; an empty word for an optional string means None.
    Keys left out (as guestfish wants them) come back as AskKey placeholders.
    READONLY, when not None, is the default of an optional ``readonly`` argument (the shell
    is read-only unless --rw was given).
    """
    name = shell_name(action.name)
    n = len(action.args)
    words = _ask_for_omitted_keys(action, words)
    if len(words) < n:
        raise CliError("%s: expects %d argument%s, got %d\nusage: %s" % (
            name, n, "" if n == 1 else "s", len(words), usage_line(action)))
    args = [w if isinstance(w, AskKey) else _parse_one(action, k, w)
            for k, w in zip(action.args, words)]
    known = {k.name: k for k in action.optargs}
    optargs = {}
    for w in words[n:]:
        key, colon, value = w.partition(":")
        if not colon or key not in known:
            if not known:
                raise CliError("%s: too many arguments (expects %d, got %d)\nusage: %s" % (
                    name, n, len(words), usage_line(action)))
            if colon and key.isidentifier():
                raise CliError("%s: unknown optional argument '%s' (known: %s)\nusage: %s" % (
                    name, key, ", ".join(known), usage_line(action)))
            raise CliError("%s: too many arguments; optional arguments are written "
                           "name:value\nusage: %s" % (name, usage_line(action)))
        if key in optargs:
            raise CliError("%s: optional argument '%s' given twice" % (name, key))
        optargs[key] = _parse_one(action, known[key], value)
    if readonly is not None and "readonly" in known and "readonly" not in optargs:
        optargs["readonly"] = readonly
    return args, optargs


def has_secret(action):
    """True if some argument of ACTION must never be echoed or kept in history."""
    return any(k.secret for k in list(action.args) + list(action.optargs))
