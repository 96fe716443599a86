"""Running commands on a handle: the command line's (``:``-separated), a script's (see
``script``) or an interactive prompt's (see ``interactive``); keys asked for, host commands
run, and the handle closed or reopened."""

import subprocess
import sys

from ..actions.table import LAUNCHED, DevOrPath, Pathname
from . import CliError, terminal, winpath
from .builtins import BUILTINS
from .handlers import EventHandlers
from .output import print_json_result, print_result
from .parse import AskKey, find_action, parse_args, shell_name

PROMPT = "><gk> "
BANNER = ("Welcome to guestkit, the shell for virtual-machine disk images.\n"
          "Type 'help' for the commands, 'help CMD' for one of them, 'man' for the shell's\n"
          "language, 'quit' to leave.\n\n")

#: argument kinds where a win:C:\\path may stand for a guest path
_PATH_KINDS = (Pathname, DevOrPath)

#: what a failing command may raise: our own mistakes, guestkit.Error (a RuntimeError),
#: ClosedHandle (a ValueError), argument type errors, host I/O errors
ERRORS = (CliError, RuntimeError, ValueError, TypeError, OSError)


def report(e, err=None, where=None):
    err = err if err is not None else sys.stderr
    msg = str(e) or type(e).__name__
    err.write("guestkit: error: %s%s\n" % ("%s: " % where if where else "", msg))
    err.flush()


def needs_appliance(action):
    return action.daemon or action.state == LAUNCHED


class Command:
    """A command ready to run: a builtin (BUILTIN set, ARGS its words) or an action with
    parsed args.  QUIET: its failure must not stop a script (written ``-CMD``)."""

    def __init__(self, name, action=None, args=(), optargs=None, builtin=None, quiet=False):
        self.name = name
        self.action = action
        self.args = list(args)
        self.optargs = dict(optargs or {})
        self.builtin = builtin
        self.quiet = quiet
        self.more = []          # more (args, optargs) to run: copy-in A B /dir

    def __repr__(self):
        return "Command(%r, %r, %r)" % (self.name, self.args, self.optargs)


def _each_first(action, words):
    """The words of one call, or of one call per first argument for an action that takes
    several in the shell (``copy-in A B /dir`` is ``copy-in A /dir`` and ``copy-in B
    /dir``)."""
    n = len(action.args)
    if not action.fish_many or n < 2:
        return [words]
    known = {k.name for k in action.optargs}
    given = next((i for i, w in enumerate(words)
                  if ":" in w and w.partition(":")[0] in known), len(words))
    if given <= n:
        return [words]
    extra = given - n                   # the first argument given extra + 1 times
    tail = list(words[extra + 1:])
    return [[w] + tail for w in words[:extra + 1]]


class Shell:
    """Runs commands on a handle.  The handle is made by MAKE_HANDLE on first need, so
    help and mistakes cost no handle; SETUP(g), when given, configures it right after and
    REATTACH(g) a handle made again by 'reopen'."""

    errors = ERRORS

    def __init__(self, make_handle, setup=None, readonly=True, out=None, err=None,
                 after_call=None, pipe_error=False, keys_from_stdin=False, echo_keys=False,
                 reattach=None, json=False):
        self._make = make_handle
        self.json = json                    # --json: each result as one JSON line
        self._after_call = after_call       # after every action (progress bars end)
        self._setup = setup
        self._reattach = reattach
        self._g = None
        self.readonly = readonly
        self.pipe_error = pipe_error
        self.keys_from_stdin = keys_from_stdin
        self.echo_keys = echo_keys
        self._out = out
        self._err = err
        self.events = EventHandlers(self)
        self.current = None                 # the builtin running, as it was spelled
        self.stopped = False                # quit was run (by run_groups)

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

    def launched(self):
        """The handle, launched first if it is not yet."""
        g = self.g
        if g.is_config():
            g.launch()
        return g

    def report(self, e, where=None):
        self.out.flush()
        report(e, self.err, where)

    # ---- one command ----
    def prepare(self, words):
        """Check a command (its name and arguments) without running anything.  A name
        written with a leading '-' (``-mkdir /x``) marks a command whose failure is
        reported without stopping the script."""
        word, quiet = words[0], False
        if word.startswith("-") and len(word) > 1:
            word, quiet = word[1:], True
        rest = words[1:]
        if shell_name(word) in BUILTINS:
            b = BUILTINS[shell_name(word)]
            b.check(rest)
            return Command(shell_name(word), None, rest, builtin=b, quiet=quiet)
        action = find_action(word)
        calls = [parse_args(action, words, readonly=self.readonly)
                 for words in _each_first(action, rest)]
        cmd = Command(shell_name(action.name), action, *calls[0], quiet=quiet)
        cmd.more = calls[1:]
        return cmd

    def run(self, cmd):
        """Run a prepared command; False when the shell should stop (quit)."""
        if cmd.builtin is not None:
            saved, self.current = self.current, cmd.name
            try:
                result = cmd.builtin.func(self, cmd.args)
            finally:
                self.current = saved
            self.out.flush()
            return result is not False
        for args, optargs in [(cmd.args, cmd.optargs)] + cmd.more:
            self._call(cmd.action, args, optargs)
        return True

    def _call(self, action, args, optargs):
        g = self.g
        if needs_appliance(action) and g.is_config():
            g.launch()
        args = [self.read_key(a.name) if isinstance(a, AskKey)
                else winpath.resolve(g, a) if isinstance(k, _PATH_KINDS) and
                winpath.is_win_path(a) else a
                for k, a in zip(action.args, args)]
        self.out.flush()       # before the handle may write to /dev/stdout itself
        try:
            result = getattr(g, action.name)(*args, **optargs)
        finally:
            if self._after_call is not None:
                self._after_call()
        if self.json:
            print_json_result(action.ret, result, self.out)
        else:
            print_result(action.ret, result, self.out)

    def read_key(self, name):
        """A key or passphrase the command left out: from standard input with
        --keys-from-stdin, else asked on the terminal (echoed only with --echo-keys)."""
        prompt = 'Enter key or passphrase ("%s"): ' % name
        if self.keys_from_stdin:
            line = sys.stdin.readline()
            if not line:
                raise CliError("%s: no key left on standard input (--keys-from-stdin)"
                               % name)
            return line.rstrip("\n")
        key = terminal.ask(prompt, echo=self.echo_keys)
        if key is None:
            raise CliError("%s: a key is needed and there is no terminal to ask it on; give "
                           "it with --keys-from-stdin" % name)
        return key

    def host(self, command):
        """Run COMMAND with the host shell (/bin/sh, as system(3)); CliError if it fails."""
        self.out.flush()
        r = subprocess.run(command, shell=True)
        if r.returncode < 0:
            raise CliError("host command killed by signal %d: %s" % (-r.returncode,
                                                                      command.strip()))
        if r.returncode:
            raise CliError("host command exited with status %d: %s" % (r.returncode,
                                                                       command.strip()))

    # ---- lines of guestfish's language (see ``script``) ----
    def run_line(self, text, source=None):
        """Run one line of a script; False when the shell should stop.  Errors raise,
        except on a line written with a leading '-': those are reported and the line
        counts as done."""
        from .script import run_line
        return run_line(self, text, source)

    # ---- many commands ----
    def run_groups(self, groups):
        """Commands from the command line: all are checked first, then run; the first
        error stops, except for a command written '-CMD'.  Returns the exit status."""
        try:
            cmds = [self.prepare(words) for words in groups]
        except ERRORS as e:
            self.report(e)
            return 1
        for cmd in cmds:
            try:
                if not self.run(cmd):
                    self.stopped = True
                    break
            except ERRORS as e:
                self.report(e)
                if not cmd.quiet:
                    return 1
        return 0

    def run_input(self, stream=None, interactive=None, name=None):
        """Commands read line by line from STREAM (standard input by default).  On a
        terminal: a prompt, line editing, history and completion, and errors do not stop
        the shell.  Otherwise (a script, NAME naming it in messages) the first error
        stops with status 1."""
        stream = stream if stream is not None else sys.stdin
        if interactive is None:
            interactive = _isatty(stream)
        if interactive:
            from .interactive import run_interactive
            return run_interactive(self)
        from .script import run_script
        return run_script(self, stream, name)

    # ---- the handle ----
    def reopen(self):
        """Close the handle and make a new one with the old one's settings (verbose,
        trace, autosync, path, pgroup, backend, memsize, smp, network), no drives."""
        old = self._g
        if old is None:
            self._g = self._make()
        else:
            settings = {}
            for name in ("verbose", "trace", "autosync", "path", "pgroup", "backend",
                         "memsize", "smp", "network"):
                getter = getattr(old, "get_" + name, None)
                if getter is not None:
                    try:
                        settings[name] = getter()
                    except ERRORS:
                        pass
            self.finish()
            self.events.forget()
            g = self._make()
            for name, value in settings.items():
                if value is not None:
                    getattr(g, "set_" + name)(value)
            self._g = g
        if self._reattach is not None:
            self._reattach(self._g)

    def finish(self):
        """Shut the appliance down cleanly and close the handle; the exit status."""
        if self._g is None:
            return 0
        g, self._g = self._g, None
        status = 0
        try:
            g.shutdown()
        except ValueError:        # ClosedHandle: the user closed it already
            pass
        except ERRORS as e:
            self.report(e)
            status = 1
        try:
            g.close()
        except ValueError:
            pass
        except ERRORS as e:
            self.report(e)
            status = 1
        return status


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
