"""internal_rescue: a shell in the appliance, its terminal carried over the channel
(guestkit rescue, virt-rescue's job).

The call takes the channel over until the shell ends (see the TTY messages in protocol.py):
keys from the library go to the shell, its output goes back, and the call's reply is the
shell's exit status.  With a terminal on the library's side the shell runs interactively on
a pseudo-terminal of its own session (job control, ^C to its foreground job, the window
size the library reports); without one it reads commands from a pipe, its output and
errors kept apart.  When the shell ends, whatever it left running in its session is killed.
"""

import errno
import fcntl
import os
import select
import signal
import struct
import termios

from . import protocol as P
from .util import DaemonError

PROMPT = "><rescue> "
#: keys received and not yet read by the shell: past this, the channel is not read
IN_LIMIT = 1 << 20
#: the library's TTY messages during a session, and after EXIT
_FROM_LIBRARY = bytes((P.TTY_IN, P.TTY_WINCH, P.TTY_EOF, P.TTY_SIGNAL, P.TTY_SYSRQ,
                       P.TTY_HANGUP))
_AFTER_EXIT = _FROM_LIBRARY + bytes((P.TTY_END,))


def _shell():
    for path in ("/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh"):
        if os.access(path, os.X_OK):
            return path
    raise DaemonError("internal_rescue: there is no shell in the appliance", "ENOENT")


def _environment(term):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "PS1": PROMPT,
           "TERM": term, "LC_ALL": "C", "SHELL": _shell()}
    return env


def _check(tty, term, rows, cols):
    if not isinstance(tty, bool):
        raise DaemonError("internal_rescue: tty must be a boolean", "EINVAL")
    if not isinstance(term, str) or not term or len(term) > 64 or \
            not all(c.isalnum() or c in "-_.+" for c in term):
        raise DaemonError("internal_rescue: bad terminal type %r" % (term,)[:80], "EINVAL")
    for v in (rows, cols):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
            raise DaemonError("internal_rescue: bad window size", "EINVAL")


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class _Shell:
    """The shell process and the descriptors its input and output go through."""

    def __init__(self, tty, term, rows, cols):
        shell = _shell()
        argv = [shell] + (["--norc", "--noprofile"] if shell.endswith("bash") else [])
        env = _environment(term)
        if tty:
            master, slave = os.openpty()
            set_winsize(master, rows or 24, cols or 80)
            child_fds = (slave, slave, slave)
            self.input, self.outputs = master, {master: P.TTY_OUT}
        else:
            (in_r, in_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
            child_fds = (in_r, out_w, err_w)
            self.input, self.outputs = in_w, {out_r: P.TTY_OUT, err_r: P.TTY_ERR}
        self.pid = os.fork()
        if self.pid == 0:                                   # the child: never returns
            try:
                os.setsid()
                for i, fd in enumerate(child_fds):
                    os.dup2(fd, i)
                if tty:
                    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
                os.closerange(3, 65536)
                for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE,
                            signal.SIGCHLD, signal.SIGHUP, signal.SIGTSTP):
                    signal.signal(sig, signal.SIG_DFL)
                os.chdir("/")
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        for fd in set(child_fds):
            os.close(fd)
        self.tty = tty
        for fd in {self.input, *self.outputs}:
            os.set_blocking(fd, False)
        self.exited = os.pidfd_open(self.pid)
        self.pending = bytearray()              # keys the shell has not read yet
        self.input_closed = False
        self.eof = False                        # the library's input ended (no terminal)
        self.status = None

    def feed(self):
        """Write what the shell can take of the pending keys; after EOF, once they are all
        written, close its input."""
        if self.pending and not self.input_closed:
            try:
                del self.pending[:os.write(self.input, self.pending[:65536])]
            except BlockingIOError:
                return
            except OSError:                     # the shell closed its input: keys are lost
                self.pending.clear()
        if not self.pending and self.eof and not self.input_closed:
            self.input_closed = True
            os.close(self.input)

    def end_input(self):
        if self.tty:                            # the end-of-file character of the terminal
            self.pending += bytes([termios.tcgetattr(self.input)[6][termios.VEOF]])
        else:
            self.eof = True
        self.feed()

    def signal(self, signum):
        """SIGNUM to the foreground job of the terminal, or to the shell's process group."""
        try:
            pgrp = os.tcgetpgrp(self.input) if self.tty else self.pid
            os.killpg(pgrp, signum)
        except OSError:
            pass

    def read(self, fd):
        """Up to TTY_DATA bytes the shell wrote on FD; b"" once it is closed."""
        try:
            return os.read(fd, P.TTY_DATA)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EIO:            # a pty whose other side is all closed
                return b""
            raise

    def reap(self):
        """Wait for the shell (ended already) and kill what it left in its session; its
        exit status as a shell reports it (128 + signal for a killed one)."""
        if self.status is None:
            _, status = os.waitpid(self.pid, 0)
            kill_session(self.pid)
            self.status = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
                128 + os.WTERMSIG(status)
        return self.status

    def close(self):
        for fd in set(self.outputs) | ({self.exited} if self.input_closed else
                                       {self.exited, self.input}):
            os.close(fd)


def kill_session(sid):
    """SIGKILL every process of session SID; reap those that are our children."""
    me, ours = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            ppid, session = int(fields[1]), int(fields[3])
        except (OSError, ValueError, IndexError):
            continue
        if session == sid:
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                continue
            if ppid == me:
                ours.append(int(name))
    for pid in ours:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _sysrq(key):
    try:
        with open("/proc/sysrq-trigger", "wb") as f:
            f.write(bytes([key]))
    except OSError:
        pass


def do_internal_rescue(ctx, tty=False, term="dumb", rows=0, cols=0):
    _check(tty, term, rows, cols)
    server = ctx.server
    shell = _Shell(tty, term, rows, cols)
    status = None
    try:
        status = _session(server, shell)
    finally:
        if status is None:                      # the session broke: end the shell
            kill_session(shell.pid)
            shell.reap()
        shell.close()
    server.send(P.TTY, P.tty_message(P.TTY_EXIT, status))
    # the library answers EXIT with END: what it sent before that is dropped
    while P.parse_tty(_frame(server), _AFTER_EXIT)[0] != P.TTY_END:
        pass
    return status


def _frame(server):
    ftype, payload = server.reader.read_frame()
    if ftype != P.TTY:
        raise P.ProtocolError("expected a TTY frame, got %s" % P.TYPE_NAMES[ftype])
    return payload


def _session(server, shell):
    """Carry keys and output until the shell has ended and its output is all sent; the
    shell's exit status."""
    outputs = dict(shell.outputs)
    alive, status = True, None
    while alive or outputs:
        rlist = list(outputs)
        if alive:
            rlist.append(shell.exited)
            if len(shell.pending) < IN_LIMIT:
                rlist.append(server.rfd)
        wlist = [shell.input] if shell.pending and not shell.input_closed else []
        if shell.input_closed:
            shell.pending.clear()
        if server.reader.buffered() and len(shell.pending) < IN_LIMIT and alive:
            r, w = [server.rfd], []
        else:
            r, w, _ = select.select(rlist, wlist, [], None if alive else 0)
        if not alive and not r and not w:
            break                       # ended: its output is all read
        if shell.exited in r:
            alive, status = False, shell.reap()     # what it left running is killed
        if w:
            shell.feed()
        for fd in [fd for fd in r if fd in outputs]:
            data = shell.read(fd)
            if data:
                server.send(P.TTY, P.tty_message(outputs[fd], data))
            elif data is not None:
                del outputs[fd]
        if server.rfd in r:
            _from_library(server, shell)
    return status


def _from_library(server, shell):
    kind, value = P.parse_tty(_frame(server), _FROM_LIBRARY)
    if kind == P.TTY_IN:
        shell.pending += value
        shell.feed()
    elif kind == P.TTY_WINCH:
        if shell.tty:
            set_winsize(shell.input, *value)        # the kernel sends SIGWINCH
    elif kind == P.TTY_EOF:
        shell.end_input()
    elif kind == P.TTY_SIGNAL:
        shell.signal(value)
    elif kind == P.TTY_SYSRQ:
        _sysrq(value)
    elif kind == P.TTY_HANGUP:
        kill_session(shell.pid)
