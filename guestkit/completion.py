"""Bash completion for ``guestkit``, made from the shell's option table, its command names
and the tool registry (every tool's own argument parser):

    python -m guestkit.completion > docs/completion/guestkit

It completes the shell's options, the commands after the options and after each ``:``
separator, the tools' names in first place, each tool's options after its name, and host
file names where an option takes a file.  The package installs it into
share/bash-completion/completions.  A unit test checks that the file is up to date.
"""

import sys

from .cli.options import _OPTIONS, _SHORT
from .cli.parse import command_names
from .tools import registry

# options whose argument is a host file
_FILE_ARGS = ("-a", "--add")


def _words(items):
    return " ".join(sorted(items))


def _tool_options():
    """{tool: ([options], [options taking an argument])}"""
    result = {}
    for name in sorted(registry.TOOLS):
        ap = registry.parser_of(name)
        flags, takes = [], []
        for act in ap._actions:
            flags += act.option_strings
            if act.option_strings and act.nargs != 0:
                takes += act.option_strings
        result[name] = (flags, takes)
    return result


def script():
    shell_flags = ["--" + n for n in _OPTIONS] + ["-" + c for c in _SHORT]
    shell_takes = ["--" + n for n, (takes, _) in _OPTIONS.items() if takes]
    shell_takes += ["-" + c for c, n in _SHORT.items() if _OPTIONS[n][0]]
    tools = _tool_options()
    lines = [
        "# bash completion for guestkit: made by python -m guestkit.completion; do not edit",
        "_guestkit_tool() {",
        "    local cur=$1 prev=$2 tool=$3",
        "    case $tool in",
    ]
    for name, (flags, takes) in tools.items():
        lines += [
            "    %s)" % name,
            "        case $prev in %s) COMPREPLY=($(compgen -f -- \"$cur\")); return;; "
            "esac" % "|".join(_FILE_ARGS) if set(_FILE_ARGS) & set(takes) else
            "        :",
            "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"));"
            % _words(flags),
            "        else COMPREPLY=($(compgen -f -- \"$cur\")); fi;;",
        ]
    lines += [
        "    esac",
        "}",
        "",
        "_guestkit() {",
        "    # words split at blanks only: bash also splits at ':', which guestkit's",
        "    # name:value and DEV:MOUNTPOINT words hold",
        "    local line=${COMP_LINE:0:COMP_POINT} words cur prev",
        "    read -ra words <<< \"$line\"",
        "    if [[ $line == *[[:blank:]] ]]; then words+=(\"\"); fi",
        "    local n=$(( ${#words[@]} - 1 ))",
        "    cur=${words[n]} prev=${words[n-1]}",
        "    local tools=\"%s\"" % _words(registry.TOOLS),
        "    local firsts=\"%s\"" % _words(set(registry.TOOLS) | set(command_names())),
        "    local commands=\"%s\"" % _words(command_names()),
        "    local options=\"%s\"" % _words(shell_flags),
        "    local takes=\" %s \"" % _words(shell_takes),
        "    COMPREPLY=()",
        "    if (( n > 1 )) && [[ \" $tools \" == *\" ${words[1]} \"* ]]; then",
        "        _guestkit_tool \"$cur\" \"$prev\" \"${words[1]}\"",
        "        return",
        "    fi",
        "    case $prev in",
        "        %s) COMPREPLY=($(compgen -f -- \"$cur\")); return;;" % "|".join(_FILE_ARGS),
        "    esac",
        "    if [[ $takes == *\" $prev \"* ]]; then return; fi",
        "    # the first word of a command: after the options, or after a ':' separator",
        "    local i=1 first=1",
        "    while (( i < n )); do",
        "        local w=${words[i]}",
        "        if [[ $w == : ]]; then first=1",
        "        elif (( first )) && [[ $w == -* ]]; then",
        "            [[ $takes == *\" $w \"* ]] && (( i++ ))",
        "        else first=0; fi",
        "        (( i++ ))",
        "    done",
        "    if (( first )); then",
        "        if [[ $cur == -* ]]; then",
        "            COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))",
        "        elif (( n == 1 )); then",
        "            COMPREPLY=($(compgen -W \"$firsts\" -- \"$cur\"))",
        "        else",
        "            COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))",
        "        fi",
        "    else",
        "        COMPREPLY=($(compgen -f -- \"$cur\"))",
        "    fi",
        "}",
        "complete -F _guestkit guestkit",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(script())
