"""From shell words to calls: split on ``:``, find the action, parse its arguments.

Everything here comes from the action table; no action is named in this module.
"""

import difflib
import functools
import re
import shlex

from ..actions import ACTIONS, lookup
from ..actions.table import Int, OptString
from . import CliError

#: a standalone word that separates commands on the command line (or on one line)
SEPARATOR = ":"

#: commands of the shell itself (not actions)
BUILTINS = ("help", "list-commands", "quit", "exit")


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


def split_line(line):
    """One input line as a list of commands (lists of words), shell-like quoting.  Blank
    lines and lines starting with # give no command."""
    if not line.strip() or line.lstrip().startswith("#"):
        return []
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise CliError("cannot parse the line: %s" % e) from None
    return split_commands(words)


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


_C_OCTAL = re.compile(r"([+-]?)0([0-7]+)")


def _parse_one(action, kind, text):
    if kind.stream == "in" and text == "-":
        return "/dev/stdin"
    if kind.stream == "out" and text == "-":
        return "/dev/stdout"
    if isinstance(kind, OptString) and text == "":
        return None
    if isinstance(kind, Int):
        m = _C_OCTAL.fullmatch(text.strip())
        if m:                         # 0755 is octal in the shell, as in C
            text = m.group(1) + "0o" + m.group(2)
    try:
        return kind.parse(text)
    except ValueError as e:
        if kind.secret:
            raise CliError("%s: %s: invalid value" % (shell_name(action.name), kind.name)) \
                from None
        raise CliError("%s: %s" % (shell_name(action.name), e)) from None


def parse_args(action, words, readonly=None):
    """Turn the words after the command name into (args, optargs) for ACTION.

    The first words are the positional arguments, each parsed by its kind; the words after
    them are optional arguments written ``name:value``.  ``-`` for a host file to read or
    write means standard input or output; an empty word for an optional string means None.
    READONLY, when not None, is the default of an optional ``readonly`` argument (the shell
    is read-only unless --rw was given).
    """
    name = shell_name(action.name)
    n = len(action.args)
    if len(words) < n:
        raise CliError("%s: expects %d argument%s, got %d\nusage: %s" % (
            name, n, "" if n == 1 else "s", len(words), usage_line(action)))
    args = [_parse_one(action, k, w) for k, w in zip(action.args, words)]
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
