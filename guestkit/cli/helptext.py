"""Help texts of the shell, made from the action table."""

import textwrap

from ..actions import ACTIONS
from ..actions.table import CONFIG, LAUNCHED, RErr
from .builtins import BUILTINS
from .output import describe
from .parse import aliases_of, find_action, shell_name, usage_line

_WIDTH = 78


def list_commands():
    """Every command with its short description, sorted by name."""
    rows = sorted((shell_name(a.name), a.shortdesc) for a in ACTIONS.values())
    rows += [(name, b.desc) for name, b in sorted(BUILTINS.items())]
    width = max(len(n) for n, _d in rows) + 2
    lines = ["Commands (type 'help CMD' for the arguments of CMD):"]
    lines += ["  %-*s%s" % (width, n, d) for n, d in rows]
    lines.append("On the command line, separate commands with a ':' word; in a script, "
                 "write one a line.")
    return "\n".join(lines) + "\n"


def _kind_note(kind):
    note = kind.label
    if kind.stream:
        note += " ('-' for standard %s)" % ("input" if kind.stream == "in" else "output")
    elif kind.label.startswith("list of"):
        note += " (one word, split like a shell line: \"'a b' c\")"
    if kind.secret:
        note += ", never echoed"
    return note


def command_help(word):
    """Usage, arguments and description of the command WORD (CliError if unknown)."""
    if word in BUILTINS:
        b = BUILTINS[word]
        text = "usage: %s\n\n%s\n" % (b.usage, "\n".join(textwrap.wrap(b.desc, _WIDTH)))
        if len(b.names) > 1:
            text += "\nalso called: %s\n" % ", ".join(n for n in b.names if n != word)
        return text
    action = find_action(word)
    lines = ["%s - %s" % (shell_name(action.name), action.shortdesc), "",
             "usage: " + usage_line(action)]
    if action.args:
        lines += ["", "arguments:"]
        width = max(len(k.name) for k in action.args) + 2
        lines += ["  %-*s%s" % (width, k.name, _kind_note(k)) for k in action.args]
    if action.optargs:
        lines += ["", "optional arguments, written name:value after the arguments:"]
        width = max(len(k.name) for k in action.optargs) + 3
        lines += ["  %-*s%s" % (width, k.name + ":", _kind_note(k)) for k in action.optargs]
    if not isinstance(action.ret, RErr):
        lines += ["", "prints: " + describe(action.ret)]
    aliases = aliases_of(action)
    if aliases:
        lines += ["", "also called: " + ", ".join(aliases)]
    if action.daemon or action.state == LAUNCHED:
        lines += ["", "Runs in the appliance (launched automatically if needed)."]
    elif action.state == CONFIG:
        lines += ["", "Only before the appliance is launched."]
    if action.deprecated_by:
        lines += ["", "Deprecated: use %s instead." % shell_name(action.deprecated_by)]
    if action.doc:
        lines.append("")
        lines += textwrap.wrap(action.doc, _WIDTH)
    return "\n".join(lines) + "\n"
