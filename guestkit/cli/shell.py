"""The command loop: commands from the command line, a script (``-f FILE`` or standard
input) or an interactive prompt (see ``interactive``), in guestfish's language (see
``lexer``): host commands (``!``, ``<!``), pipes (``CMD | host command``), here-documents
for files to upload (``upload -<<END /f``), and ``-CMD`` to go on when CMD fails."""

import contextlib
import errno
import io
import os
import subprocess
import sys
import tempfile

from ..actions.table import LAUNCHED, DevOrPath, Pathname
from . import CliError, winpath
from .builtins import BUILTINS
from .handlers import EventHandlers
from .lexer import parse_line
from .output import print_result
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


class Source:
    """Where lines come from (a script, the output of ``<!``, the terminal), with a name
    and a line number for messages."""

    def __init__(self, readline, name=None):
        self._readline = readline       # () -> str, "" at the end
        self.name = name
        self.lineno = 0

    @classmethod
    def of_stream(cls, stream, name=None):
        return cls(stream.readline, name)

    @classmethod
    def of_text(cls, text, name=None):
        return cls.of_stream(io.StringIO(text), name)

    def next_line(self):
        line = self._readline()
        if not line:
            return None
        self.lineno += 1
        return line

    def where(self):
        return "%s:%d" % (self.name, self.lineno) if self.name else None


class Shell:
    """Runs commands on a handle.  The handle is made by MAKE_HANDLE on first need, so
    help and mistakes cost no handle; SETUP(g), when given, configures it right after and
    REATTACH(g) a handle made again by 'reopen'."""

    errors = ERRORS

    def __init__(self, make_handle, setup=None, readonly=True, out=None, err=None,
                 after_call=None, pipe_error=False, keys_from_stdin=False, echo_keys=False,
                 reattach=None):
        self._make = make_handle
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
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            raise CliError("%s: a key is needed and there is no terminal to ask it on; give "
                           "it with --keys-from-stdin" % name) from None
        with io.FileIO(fd, "r+") as tty:
            if not self.echo_keys:
                import getpass
                return getpass.getpass(prompt)      # on /dev/tty, echo off
            tty.write(prompt.encode())
            return tty.readline().decode("utf-8", "surrogateescape").rstrip("\r\n")

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

    # ---- one line of the language ----
    def run_line(self, text, source=None):
        """Run one line of a script (see ``lexer``); False when the shell should stop.
        Errors raise, except on a line written with a leading '-': those are reported
        and the line counts as done."""
        line = parse_line(text)
        if line is None:
            return True
        try:
            return self._run_parsed(line, source)
        except ERRORS as e:
            if not line.quiet:
                raise
            self.report(e, source.where() if source is not None else None)
            return True

    def _run_parsed(self, line, source):
        if line.kind == "host":
            self.host(line.host)
            return True
        if line.kind == "inline":
            self.out.flush()
            r = subprocess.run(line.host, shell=True, stdout=subprocess.PIPE)
            if r.returncode:
                raise CliError("<!: host command exited with status %d: %s" % (
                    r.returncode, line.host.strip()))
            inner = Source.of_text(r.stdout.decode("utf-8", "surrogateescape"),
                                   "<!%s" % line.host.strip())
            while True:
                text = inner.next_line()
                if text is None:
                    return True
                if not self.run_line(text, inner):
                    return False
        with contextlib.ExitStack() as stack:
            words = self._here_documents(line.words, source, stack)
            cmd = self.prepare(words)
            if line.pipe is None:
                return self.run(cmd)
            return self._run_piped(cmd, line.pipe)

    def _here_documents(self, words, source, stack):
        """``-<<END`` in place of a file to upload: the lines of the script up to END go
        into a temporary file, which takes the word's place."""
        if not any(w.startswith("-<<") for w in words[1:]):
            return words
        try:
            action = find_action(words[0].lstrip("-"))
        except CliError:
            return words
        words = list(words)
        for i, kind in enumerate(action.args, 1):
            if i >= len(words) or kind.stream != "in" or not words[i].startswith("-<<"):
                continue
            marker = words[i][3:]
            if not marker:
                raise CliError("%s: -<< needs an end marker (upload -<<END /file)"
                               % words[0])
            lines = []
            while True:
                text = source.next_line() if source is not None else None
                if text is None:
                    raise CliError("%s: the input ended before the end marker %r"
                                   % (words[0], marker))
                if text.rstrip("\r\n") == marker:
                    break
                lines.append(text if text.endswith("\n") else text + "\n")
            fd, path = tempfile.mkstemp(prefix="guestkit-heredoc-")
            stack.callback(os.unlink, path)
            with os.fdopen(fd, "w", errors="surrogateescape") as f:
                f.write("".join(lines))
            words[i] = path
        return words

    def _run_piped(self, cmd, command):
        """Run CMD with its output (also what it writes to /dev/stdout itself) going into
        the host COMMAND.  The pipe closing early is not an error unless --pipe-error."""
        self.out.flush()
        sys.stdout.flush()
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE)
        saved_fd = os.dup(1)
        os.dup2(proc.stdin.fileno(), 1)
        saved_out, self._out = self._out, io.TextIOWrapper(proc.stdin,
                                                           encoding="utf-8",
                                                           errors="surrogateescape")
        broken = None
        try:
            try:
                return self.run(cmd)
            except ERRORS as e:     # OSError, or the handle's Error for its own writes
                if getattr(e, "errno", None) != errno.EPIPE:
                    raise
                broken = e
                return True
        finally:
            pipe_out, self._out = self._out, saved_out
            try:
                pipe_out.close()
            except OSError as e:
                if e.errno != errno.EPIPE:
                    raise
                broken = broken or e
            finally:
                os.dup2(saved_fd, 1)
                os.close(saved_fd)
                proc.wait()
            if broken is not None and self.pipe_error:
                raise CliError("%s: writing to the pipe failed: %s" % (
                    cmd.name, os.strerror(errno.EPIPE)))

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
        source = Source.of_stream(stream, name)
        while True:
            text = source.next_line()
            if text is None:
                return 0
            try:
                if not self.run_line(text, source):
                    return 0
            except ERRORS as e:
                self.report(e, source.where())
                return 1

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
