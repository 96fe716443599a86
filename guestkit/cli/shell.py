"""The command loop: run commands given on the command line, read from a script on
standard input, or typed at an interactive prompt."""

import glob
import sys

from ..actions.table import LAUNCHED
from . import CliError
from .helptext import command_help, list_commands
from .output import print_result
from .parse import (BUILTINS, SEPARATOR, command_names, find_action, has_secret, parse_args,
                    shell_name, split_line)

PROMPT = "><gk> "
BANNER = ("Welcome to guestkit, the shell for virtual-machine disk images.\n"
          "Type 'help' for the commands, 'help CMD' for one of them, 'quit' to leave.\n\n")

#: what a failing command may raise: our own mistakes, guestkit.Error (a RuntimeError),
#: ClosedHandle (a ValueError), argument type errors, host I/O errors
ERRORS = (CliError, RuntimeError, ValueError, TypeError, OSError)


def report(e, err=None):
    err = err if err is not None else sys.stderr
    msg = str(e) or type(e).__name__
    err.write("guestkit: error: %s\n" % msg)
    err.flush()


def needs_appliance(action):
    return action.daemon or action.state == LAUNCHED


class Command:
    """A command ready to run: a builtin (action None) or an action with parsed args."""

    def __init__(self, name, action=None, args=(), optargs=None):
        self.name = name
        self.action = action
        self.args = list(args)
        self.optargs = dict(optargs or {})

    def __repr__(self):
        return "Command(%r, %r, %r)" % (self.name, self.args, self.optargs)


class Shell:
    """Runs commands on a handle.  The handle is made by MAKE_HANDLE on first need, so
    help and mistakes cost no handle; SETUP(g), when given, configures it right after."""

    def __init__(self, make_handle, setup=None, readonly=True, out=None, err=None,
                 after_call=None):
        self._make = make_handle
        self._after_call = after_call       # after every action (progress bars end)
        self._setup = setup
        self._g = None
        self.readonly = readonly
        self._out = out
        self._err = err

    @property
    def out(self):
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self):
        return self._err if self._err is not None else sys.stderr

    @property
    def g(self):
        if self._g is None:
            self._g = self._make()
            if self._setup is not None:
                self._setup(self._g)
        return self._g

    # ---- one command ----
    def prepare(self, words):
        """Check a command (its name and arguments) without running anything."""
        name = shell_name(words[0])
        rest = words[1:]
        if name in BUILTINS:
            limit = 1 if name == "help" else 0
            if len(rest) > limit:
                raise CliError("%s: too many arguments\n%s" % (name, command_help(name)
                                                             .splitlines()[0]))
            return Command(name, None, rest)
        action = find_action(words[0])
        args, optargs = parse_args(action, rest, readonly=self.readonly)
        return Command(shell_name(action.name), action, args, optargs)

    def run(self, cmd):
        """Run a prepared command; False when the shell should stop (quit)."""
        if cmd.action is None:
            if cmd.name in ("quit", "exit"):
                return False
            if cmd.name == "help" and cmd.args:
                self.out.write(command_help(cmd.args[0]))
            else:
                self.out.write(list_commands())
            self.out.flush()
            return True
        g = self.g
        if needs_appliance(cmd.action) and g.is_config():
            g.launch()
        self.out.flush()       # before the handle may write to /dev/stdout itself
        try:
            result = getattr(g, cmd.action.name)(*cmd.args, **cmd.optargs)
        finally:
            if self._after_call is not None:
                self._after_call()
        print_result(cmd.action.ret, result, self.out)
        return True

    # ---- many commands ----
    def run_groups(self, groups):
        """Commands from the command line: all are checked first, then run; the first
        error stops.  Returns the exit status."""
        try:
            cmds = [self.prepare(words) for words in groups]
            for cmd in cmds:
                if not self.run(cmd):
                    break
        except ERRORS as e:
            report(e, self.err)
            return 1
        return 0

    def run_input(self, stream=None, interactive=None):
        """Commands read line by line from STREAM (standard input by default).  On a
        terminal: a prompt, line editing and completion, and errors do not stop the shell.
        Otherwise (a script) the first error stops with status 1."""
        stream = stream if stream is not None else sys.stdin
        if interactive is None:
            interactive = _isatty(stream)
        rl = _setup_readline() if interactive else None
        if interactive:
            self.out.write(BANNER)
            self.out.flush()
        while True:
            try:
                if interactive:
                    line = input(PROMPT)
                else:
                    line = stream.readline()
                    if not line:
                        break
            except EOFError:
                self.out.write("\n")
                break
            except KeyboardInterrupt:
                if not interactive:
                    raise
                self.out.write("\n")
                continue
            try:
                cmds = [self.prepare(words) for words in split_line(line)]
                if rl is not None and any(c.action is not None and has_secret(c.action)
                                          for c in cmds):
                    _forget_last_line(rl)
                for cmd in cmds:
                    if not self.run(cmd):
                        return 0
            except ERRORS as e:
                report(e, self.err)
                if not interactive:
                    return 1
            except KeyboardInterrupt:
                if not interactive:
                    raise
                self.err.write("\nguestkit: interrupted\n")
        return 0

    def finish(self):
        """Shut the appliance down cleanly and close the handle; the exit status."""
        if self._g is None:
            return 0
        status = 0
        try:
            self._g.shutdown()
        except ValueError:        # ClosedHandle: the user closed it already
            pass
        except ERRORS as e:
            report(e, self.err)
            status = 1
        try:
            self._g.close()
        except ValueError:
            pass
        except ERRORS as e:
            report(e, self.err)
            status = 1
        return status


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ---- completion ---------------------------------------------------------------------------

def complete(before, text):
    """Completions of TEXT, the word being typed, where BEFORE is the line before it:
    command names for the first word of a command, host file names where a host file is
    expected, name: for optional arguments after the positional ones."""
    words = before.split()
    if SEPARATOR in words:
        words = words[len(words) - words[::-1].index(SEPARATOR):]
    if not words:
        return [n for n in command_names() if n.startswith(text)]
    try:
        action = find_action(words[0])
    except CliError:
        return []
    pos = len(words) - 1
    if pos < len(action.args):
        kind = action.args[pos]
        if kind.stream or (not action.daemon and kind.name == "filename"):
            return sorted(p + "/" if _isdir(p) else p for p in glob.glob(
                glob.escape(text) + "*"))
        return []
    return ["%s:" % k.name for k in action.optargs if ("%s:" % k.name).startswith(text)]


def _isdir(path):
    import os
    return os.path.isdir(path)


def _setup_readline():
    try:
        import readline
    except ImportError:
        return None

    matches = []

    def completer(text, state):
        if state == 0:
            line = readline.get_line_buffer()
            matches[:] = complete(line[:readline.get_begidx()], text)
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n")
    readline.set_completer(completer)
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return readline


def _forget_last_line(readline):
    """A line with a passphrase must not stay in the history."""
    n = readline.get_current_history_length()
    if n > 0:
        readline.remove_history_item(n - 1)
