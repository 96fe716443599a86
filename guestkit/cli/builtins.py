"""The shell's own commands: guestfish's convenience commands (echo, time, glob, lcd,
setenv, alloc, sparse, edit, more, event, ...), which are not actions of the handle.

Each is declared once with :func:`builtin`: its names, usage, one-line description and how
many words it takes; help, completion and argument checking come from that declaration.
Every function gets the running :class:`~guestkit.cli.shell.Shell` and its words, and
raises CliError (or the handle's error) when it fails.
"""

import filecmp
import itertools
import os
import shlex
import shutil
import tempfile
import time

from . import CliError


class Builtin:
    def __init__(self, names, usage, desc, nargs, func):
        self.names = names
        self.name = names[0]
        self.usage = usage
        self.desc = desc
        self.nargs = nargs          # (min, max); max None: any number
        self.func = func

    def check(self, words):
        lo, hi = self.nargs
        if len(words) < lo or (hi is not None and len(words) > hi):
            if hi == lo:
                want = "%d argument%s" % (lo, "" if lo == 1 else "s")
            elif hi is None:
                want = "at least %d argument%s" % (lo, "" if lo == 1 else "s")
            else:
                want = "%d to %d arguments" % (lo, hi)
            raise CliError("%s: expects %s, got %d\nusage: %s" % (
                self.name, want, len(words), self.usage))


#: every spelling -> Builtin
BUILTINS = {}


def builtin(names, usage, desc, nargs=(0, 0)):
    names = names.split()

    def register(func):
        b = Builtin(names, usage, desc, nargs, func)
        for n in names:
            BUILTINS[n] = b
        return func
    return register


def _host_shell():
    return os.environ.get("SHELL") or "/bin/sh"


# ---- leaving, help --------------------------------------------------------------------------

@builtin("quit exit", "quit", "Leave the shell (the appliance is shut down cleanly).")
def _quit(shell, words):
    return False


@builtin("help", "help [CMD | -l | --list]",
         "List the commands, or show how to use CMD.", (0, 1))
def _help(shell, words):
    from .helptext import command_help, list_commands
    if words and words[0] not in ("-l", "--list"):
        shell.out.write(command_help(words[0]))
    else:
        shell.out.write(list_commands())


@builtin("list-commands", "list-commands", "List the commands with a one-line description.")
def _list_commands(shell, words):
    from .helptext import list_commands
    shell.out.write(list_commands())


@builtin("man manual", "man", "Show how to use the shell (guestkit --help; the whole guide "
         "is docs/guide.md).")
def _man(shell, words):
    from .options import USAGE
    shell.out.write(USAGE + "\nThe user guide (docs/guide.md, section 'The shell') describes "
                    "the shell and its\nlanguage; 'help CMD' describes one command.\n")


# ---- host side ------------------------------------------------------------------------------

@builtin("echo", "echo [WORDS...]", "Print the words, separated by spaces.", (0, None))
def _echo(shell, words):
    shell.out.write(" ".join(words) + "\n")


@builtin("time", "time CMD [ARGS...]",
         "Run the command, then print how long it took.", (1, None))
def _time(shell, words):
    start = time.monotonic()
    result = shell.run(shell.prepare(words))
    elapsed = time.monotonic() - start
    shell.out.write("elapsed time: %d.%02d seconds\n" % (int(elapsed),
                                                          int(elapsed * 100) % 100))
    return result


@builtin("lcd", "lcd DIRECTORY", "Change the shell's current directory on the host "
         "('!cd' cannot: it runs in a child process).", (1, 1))
def _lcd(shell, words):
    os.chdir(words[0])


@builtin("setenv", "setenv VAR VALUE", "Set an environment variable of the shell (seen by "
         "host commands run later).", (2, 2))
def _setenv(shell, words):
    if not words[0] or "=" in words[0]:
        raise CliError("setenv: %r is not a variable name" % words[0])
    os.environ[words[0]] = words[1]


@builtin("unsetenv", "unsetenv VAR", "Remove an environment variable of the shell.", (1, 1))
def _unsetenv(shell, words):
    os.environ.pop(words[0], None)


# ---- guest paths ----------------------------------------------------------------------------

@builtin("glob", "glob CMD [ARGS...]", "Expand wildcards in the guest paths among ARGS "
         "(the words starting with /), and run CMD on every combination of matches.",
         (1, None))
def _glob(shell, words):
    cmd, args = words[0], words[1:]
    choices = []
    for a in args:
        if a.startswith("/"):
            matches = list(shell.launched().glob_expand(a) or [])
            choices.append(matches or [a])      # no match: the word as written
        else:
            choices.append([a])
    failed = None
    for combo in itertools.product(*choices):
        try:
            if shell.run(shell.prepare([cmd] + list(combo))) is False:
                return False
        except shell.errors as e:
            shell.report(e)
            failed = e
    if failed is not None:
        raise CliError("glob: %s failed for some of the paths" % cmd)


@builtin("supported", "supported",
         "List the optional groups of actions and whether this appliance supports each.")
def _supported(shell, words):
    g = shell.launched()
    groups = list(g.available_all_groups())
    width = max((len(x) for x in groups), default=0)
    for group in groups:
        try:
            g.available([group])
            ok = "yes"
        except shell.errors:
            ok = "no"
        shell.out.write("%*s %s\n" % (width, group, ok))


def _view(shell, path, program):
    """Download guest file PATH to a temporary file and run the host PROGRAM on it."""
    g = shell.launched()
    with tempfile.TemporaryDirectory(prefix="guestkit-") as tmp:
        local = os.path.join(tmp, os.path.basename(path.rstrip("/")) or "file")
        g.download(path, local)
        shell.out.flush()
        shell.host("%s %s" % (program, shlex.quote(local)))


@builtin("more less", "more FILE", "Show a guest file through $PAGER ('more' by default; "
         "'less' runs less).", (1, 1))
def _more(shell, words):
    program = "less" if shell.current == "less" else os.environ.get("PAGER") or "more"
    _view(shell, words[0], program)


@builtin("display", "display FILE", "Show a guest image file with a host viewer: "
         "$GUESTKIT_DISPLAY_IMAGE, $GUESTFISH_DISPLAY_IMAGE or display(1).", (1, 1))
def _display(shell, words):
    program = (os.environ.get("GUESTKIT_DISPLAY_IMAGE")
               or os.environ.get("GUESTFISH_DISPLAY_IMAGE") or "display")
    _view(shell, words[0], program)


@builtin("edit vi emacs", "edit FILE", "Edit a guest file with $EDITOR (vi by default; "
         "'vi' and 'emacs' run those); it is uploaded back only if it changed.", (1, 1))
def _edit(shell, words):
    path = words[0]
    editor = (shell.current if shell.current in ("vi", "emacs")
              else os.environ.get("EDITOR") or "vi")
    g = shell.launched()
    with tempfile.TemporaryDirectory(prefix="guestkit-") as tmp:
        local = os.path.join(tmp, os.path.basename(path.rstrip("/")) or "file")
        before = os.path.join(tmp, ".original")
        g.download(path, local)
        shutil.copyfile(local, before)
        shell.out.flush()
        shell.host("%s %s" % (editor, shlex.quote(local)))
        if not filecmp.cmp(local, before, shallow=False):
            g.upload(local, path)


HEXEDIT_WHOLE_MAX = 1 << 20     # beyond this, hexedit wants START and MAX


@builtin("hexedit", "hexedit FILE|DEVICE [[START] MAX]", "Edit a guest file or device (or "
         "MAX bytes of it from START; 1M, 0x400 allowed) with $HEXEDITOR (hexedit by "
         "default); written back only if it changed.", (1, 3))
def _hexedit(shell, words):
    from .parse import parse_integer
    target = words[0]
    try:
        numbers = [parse_integer(w) for w in words[1:]]
    except ValueError as e:
        raise CliError("hexedit: %s" % e) from None
    start, size = ([0] + numbers)[-2:] if numbers else (0, None)
    if start < 0 or (size is not None and size <= 0):
        raise CliError("hexedit: START must be 0 or more and MAX more than 0")
    g = shell.launched()
    if size is None:
        whole = (g.blockdev_getsize64(target) if target.startswith("/dev/")
                 else g.filesize(target))
        if whole > HEXEDIT_WHOLE_MAX:
            raise CliError("hexedit: %s is %d bytes: say which part to edit, e.g. "
                           "'hexedit %s 1M' or 'hexedit %s START MAX'"
                           % (target, whole, target, target))
        size = whole
    program = os.environ.get("HEXEDITOR") or "hexedit"
    with tempfile.TemporaryDirectory(prefix="guestkit-") as tmp:
        local = os.path.join(tmp, "hexedit.bin")
        before = os.path.join(tmp, ".original")
        g.download_offset(target, local, start, size)
        shutil.copyfile(local, before)
        shell.out.flush()
        shell.host("%s %s" % (program, shlex.quote(local)))
        if not filecmp.cmp(local, before, shallow=False):
            g.upload_offset(local, target, start)


# ---- new disk images ------------------------------------------------------------------------

def _new_image(shell, words, preallocation):
    from .parse import parse_integer
    filename, size_text = words
    try:
        size = parse_integer(size_text)
    except ValueError as e:
        raise CliError("%s: size: %s" % (shell.current, e)) from None
    if size <= 0:
        raise CliError("%s: size must be positive, got %s" % (shell.current, size_text))
    g = shell.g
    if not g.is_config():
        raise CliError("%s: the appliance is running: disks can only be added before "
                       "'run'" % shell.current)
    g.disk_create(filename, "raw", size, preallocation=preallocation)
    g.add_drive_opts(filename, format="raw", readonly=False)


@builtin("alloc allocate", "alloc FILE SIZE", "Create a host disk image FILE of SIZE "
         "bytes (suffixes allowed: 100M, 1G), filled with zeroes, and add it writable.",
         (2, 2))
def _alloc(shell, words):
    _new_image(shell, words, "full")


@builtin("sparse", "sparse FILE SIZE", "Create a sparse host disk image FILE of SIZE bytes "
         "(suffixes allowed: 100M, 1G) and add it writable.", (2, 2))
def _sparse(shell, words):
    _new_image(shell, words, "sparse")


# ---- the handle -----------------------------------------------------------------------------

@builtin("reopen", "reopen", "Close the handle (shutting the appliance down) and open a new "
         "one with the same settings and no drives.")
def _reopen(shell, words):
    shell.reopen()


@builtin("event", "event NAME EVENTSET COMMAND", "Run the host shell COMMAND whenever one of "
         "EVENTSET happens (comma-separated event names such as close,progress, or *).  The "
         "command gets $EVENT and the event's message and numbers as $1, $2...", (3, 3))
def _event(shell, words):
    shell.events.add(*words)


@builtin("list-events", "list-events", "List the handlers added with 'event'.")
def _list_events(shell, words):
    shell.events.list(shell.out)


@builtin("delete-event", "delete-event NAME", "Remove the event handlers called NAME.",
         (1, 1))
def _delete_event(shell, words):
    shell.events.delete(words[0])
