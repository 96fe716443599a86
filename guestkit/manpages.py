"""Man pages, made from the action table, the shell's usage text and the tool registry:
guestkit(1) for the shell and its commands, guestkit-TOOL(1) for each tool.

    python -m guestkit.manpages docs/man      # writes docs/man/*.1

The package installs docs/man/*.1 into share/man/man1, where man finds them beside the
``guestkit`` command.  A unit test checks that the files are up to date.
"""

import argparse
import contextlib
import io
import os
import sys

from .actions import ACTIONS
from .actions.table import first_sentence
from .tools import registry

SECTION = "1"


def escape(text):
    """TEXT as troff text: backslashes and dashes escaped, no line taken for a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _head(name, summary):
    return ['.TH %s %s "" "guestkit" "guestkit manual"' % (name.upper(), SECTION),
            ".SH NAME", "%s \\- %s" % (escape(name), escape(summary))]


def _verbatim(text):
    return [".nf", escape(text.rstrip("\n")), ".fi"]


def shell_page():
    """guestkit(1): the options (the shell's own usage text), every command, the tools."""
    from .cli.options import USAGE
    out = _head("guestkit", "open virtual-machine disk images and run actions on them")
    out += [".SH SYNOPSIS", ".B guestkit", "[OPTIONS] [CMD ARGS... [: CMD ARGS...]...]",
            ".br", ".B guestkit", "TOOL [ARGS...]",
            ".SH USAGE"] + _verbatim(USAGE)
    out += [".SH COMMANDS",
            "Every action of the guestkit API is a command; dashes and underscores are the "
            "same.  Optional arguments follow the positional ones as NAME:VALUE words."]
    for name in sorted(ACTIONS):
        a = ACTIONS[name]
        words = [name.replace("_", "-")] + [k.name for k in a.args]
        words += ["[%s:...]" % k.name for k in a.optargs]
        out += [".TP", ".B %s" % escape(" ".join(words)), escape(_one_paragraph(a.doc))]
    out += [".SH TOOLS"]
    for name, tool in sorted(registry.TOOLS.items()):
        out += [".TP", ".B guestkit %s" % escape(name),
                escape("%s%s; see guestkit-%s(1)." % (
                    tool.summary, " (as %s)" % tool.counterpart if tool.counterpart else "",
                    name))]
    out += [".SH SEE ALSO"]
    out += [escape(", ".join("guestkit-%s(1)" % n for n in sorted(registry.TOOLS)))]
    return "\n".join(out) + "\n"


def _one_paragraph(doc):
    return " ".join(doc.split())


def tool_page(name):
    """guestkit-NAME(1), from the tool's own argument parser."""
    tool = registry.TOOLS[name]
    ap = registry.parser_of(name)
    out = _head("guestkit-" + name, tool.summary)
    usage = " ".join(ap.format_usage().split())
    usage = usage[len("usage: "):] if usage.startswith("usage: ") else usage
    prog, _, rest = usage.partition(" " + name + " ")
    out += [".SH SYNOPSIS", ".B %s" % escape(prog + " " + name), escape(rest)]
    out += [".SH DESCRIPTION", escape(_one_paragraph(ap.description or tool.summary))]
    if tool.counterpart:
        out += [".PP", escape("It does the job of %s, with its options and its output "
                              "format." % tool.counterpart)]
    positional, options = [], []
    for act in ap._actions:
        if isinstance(act, argparse._HelpAction) and not act.option_strings:
            continue
        (options if act.option_strings else positional).append(act)
    if positional:
        out += [".SH ARGUMENTS"]
        for act in positional:
            out += [".TP", ".I %s" % escape(_metavar(act)), escape(act.help or "")]
    out += [".SH OPTIONS"]
    for act in options:
        if act.help == argparse.SUPPRESS:
            continue
        flags = ", ".join(act.option_strings)
        if act.nargs != 0:
            flags += " " + _metavar(act)
        out += [".TP", ".B %s" % escape(flags), escape(_one_paragraph(act.help or ""))]
    out += [".SH SEE ALSO", "guestkit(1)" + (", %s(1)" % escape(tool.counterpart)
                                             if tool.counterpart else "")]
    return "\n".join(out) + "\n"


def _metavar(act):
    if act.metavar:
        return act.metavar if isinstance(act.metavar, str) else " ".join(act.metavar)
    return (act.dest or "").upper()


def pages():
    """{file name: troff text} for every page."""
    result = {"guestkit.1": shell_page()}
    for name in sorted(registry.TOOLS):
        result["guestkit-%s.1" % name] = tool_page(name)
    return result


def write(directory):
    """Write every page into DIRECTORY and remove pages of tools that are gone."""
    os.makedirs(directory, exist_ok=True)
    wanted = pages()
    for old in os.listdir(directory):
        if old.endswith(".1") and old not in wanted:
            os.unlink(os.path.join(directory, old))
    for fname, text in wanted.items():
        with open(os.path.join(directory, fname), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m guestkit.manpages DIRECTORY")
    with contextlib.redirect_stdout(io.StringIO()):
        write(sys.argv[1])
