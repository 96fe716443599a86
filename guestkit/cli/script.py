"""Scripts in guestfish's language: the lines of a script (``-f FILE``, standard input, the
output of ``<!``) run one by one, as ``lexer`` splits them: host commands (``!``, ``<!``),
pipes (``CMD | host command``), here-documents for files to upload (``upload -<<END /f``),
and ``-CMD`` to go on when CMD fails.  The first error stops a script."""

import contextlib
import errno
import io
import os
import subprocess
import sys
import tempfile

from . import CliError
from .lexer import parse_line
from .parse import find_action


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


def run_line(shell, text, source=None):
    """Run one line of a script (see ``lexer``); False when the shell should stop.
    Errors raise, except on a line written with a leading '-': those are reported
    and the line counts as done."""
    line = parse_line(text)
    if line is None:
        return True
    try:
        return _run_parsed(shell, line, source)
    except shell.errors as e:
        if not line.quiet:
            raise
        shell.report(e, source.where() if source is not None else None)
        return True


def _run_parsed(shell, line, source):
    if line.kind == "host":
        shell.host(line.host)
        return True
    if line.kind == "inline":
        shell.out.flush()
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
            if not shell.run_line(text, inner):
                return False
    with contextlib.ExitStack() as stack:
        words = _here_documents(line.words, source, stack)
        cmd = shell.prepare(words)
        if line.pipe is None:
            return shell.run(cmd)
        return _run_piped(shell, cmd, line.pipe)


def _here_documents(words, source, stack):
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


def _run_piped(shell, cmd, command):
    """Run CMD with its output (also what it writes to /dev/stdout itself) going into
    the host COMMAND.  The pipe closing early is not an error unless --pipe-error."""
    shell.out.flush()
    sys.stdout.flush()
    proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE)
    saved_fd = os.dup(1)
    os.dup2(proc.stdin.fileno(), 1)
    saved_out, shell._out = shell._out, io.TextIOWrapper(proc.stdin,
                                                       encoding="utf-8",
                                                       errors="surrogateescape")
    broken = None
    try:
        try:
            return shell.run(cmd)
        except shell.errors as e:     # OSError, or the handle's Error for its own writes
            if getattr(e, "errno", None) != errno.EPIPE:
                raise
            broken = e
            return True
    finally:
        pipe_out, shell._out = shell._out, saved_out
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
        if broken is not None and shell.pipe_error:
            raise CliError("%s: writing to the pipe failed: %s" % (
                cmd.name, os.strerror(errno.EPIPE)))



def run_script(shell, stream, name=None):
    """Run the lines of STREAM (NAME names it in messages); 0, or 1 at the first error."""
    source = Source.of_stream(stream, name)
    while True:
        text = source.next_line()
        if text is None:
            return 0
        try:
            if not run_line(shell, text, source):
                return 0
        except shell.errors as e:
            shell.report(e, source.where())
            return 1
