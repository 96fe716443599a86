"""The host's side of a rescue session (guestkit rescue): this terminal, or the pipes the
tool was given, joined to a shell in the appliance over the daemon's channel.

The call internal_rescue takes the channel over (the TTY messages of protocol.py): keys
read here go to the shell, its output comes back to standard output (and standard error,
when there is no terminal), SIGWINCH sends the new window size, and the session ends when
the shell does, with its exit status.  On a terminal, the terminal is in raw mode for the
session (^C and ^Z reach the shell's foreground job, not this process) and is put back as
it was however the session ends.  Every frame the daemon sends is checked: its type, its
kind, its size; anything else ends the session with an error.

The escape key (^] unless chosen otherwise) followed by a letter acts here, as
virt-rescue's escape sequences do.
"""

import errno
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import tty as _tty

from .daemon import protocol as P
from .errors import Error

ACTION = "internal_rescue"
#: keys queued for the daemon: past this, standard input is not read
QUEUE_LIMIT = 1 << 20
#: the default escape key, ^]
ESCAPE = 0x1d

ESCAPE_HELP = """\
Escape sequences (the escape key, then one of):
  ?, h   this help
  i      what inspection found (with -i)
  q, x   quit: end the shell and this session
  s      sync the appliance's filesystems (magic SysRq s)
  u      remount the appliance's filesystems read-only (magic SysRq u)
  z      suspend this tool (as ^Z would, but for guestkit rescue itself)
  the escape key again: send it to the shell
"""

_FROM_DAEMON = bytes((P.TTY_OUT, P.TTY_ERR, P.TTY_EXIT))


def parse_escape(text):
    """-e's argument: ^X (a control key), one character, or "none" -> the byte or None."""
    if text == "none":
        return None
    if len(text) == 2 and text[0] == "^" and 0x3f <= ord(text[1].upper()) <= 0x5f:
        return ord(text[1].upper()) ^ 0x40
    if len(text) == 1 and ord(text) < 0x80:
        return ord(text)
    raise ValueError("escape key %r: expected ^X, one character or none" % text)


def key_name(byte):
    return "^" + chr(byte ^ 0x40) if byte < 0x20 or byte == 0x7f else chr(byte)


def daemon_message(ftype, payload, serial):
    """What one frame the daemon sent during a session means: ("out", bytes), ("err",
    bytes), ("exit", status) or ("log", bytes); an ERROR for this call raises Error.
    Anything else breaks the session's rules: ProtocolError."""
    if ftype == P.TTY:
        kind, value = P.parse_tty(payload, _FROM_DAEMON)
        return {P.TTY_OUT: "out", P.TTY_ERR: "err", P.TTY_EXIT: "exit"}[kind], value
    if ftype == P.LOG:
        return "log", bytes(payload[:65536])
    if ftype == P.ERROR:
        obj = P.loads(payload) if len(payload) <= 65536 else None
        if not isinstance(obj, dict) or obj.get("s") != serial or \
                not isinstance(obj.get("msg"), str) or \
                not isinstance(obj.get("errno"), (str, type(None))):
            raise P.ProtocolError("malformed ERROR frame in a rescue session")
        raise Error(obj["msg"][:4096], obj["errno"])
    raise P.ProtocolError("unexpected %s frame in a rescue session" %
                          P.TYPE_NAMES.get(ftype, ftype))


def window_size(fd):
    """(rows, cols) of the terminal FD, (0, 0) if it has none."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ,
                                                             b"\0" * 8))
    except OSError:
        return 0, 0
    return rows, cols


def _term():
    term = os.environ.get("TERM") or "dumb"
    ok = len(term) <= 64 and all(c.isalnum() or c in "-_.+" for c in term)
    return term if ok else "dumb"


def run(client, stdin=0, stdout=1, stderr=2, escape=ESCAPE, info=None, on_log=None):
    """A rescue session on CLIENT's channel, with the terminal or pipes STDIN, STDOUT,
    STDERR; the shell's exit status.  INFO: the text the escape sequence i prints."""
    tty = os.isatty(stdin)
    rows, cols = window_size(stdin) if tty else (0, 0)
    opts = {"tty": tty, "term": _term() if tty else "dumb", "rows": rows, "cols": cols}
    with _RawTerminal(stdin if tty else None) as terminal:
        bridge = _Bridge(client, terminal, stdin, stdout, stderr, escape if tty else None,
                         info, on_log)
        return client.takeover(ACTION, opts, bridge.run)


class _RawTerminal:
    """The terminal FD in raw mode inside the block, as it was after it."""

    def __init__(self, fd):
        self.fd, self.saved = fd, None

    def __enter__(self):
        if self.fd is not None:
            self.saved = termios.tcgetattr(self.fd)
            _tty.setraw(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc):
        self.restore()

    def restore(self):
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def again(self):
        if self.saved is not None:
            _tty.setraw(self.fd, termios.TCSANOW)


class _Bridge:
    def __init__(self, client, terminal, stdin, stdout, stderr, escape, info, on_log):
        self.client, self.sock, self.terminal = client, client.sock, terminal
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.escape, self.info, self.on_log = escape, info, on_log
        self.tty = terminal.fd is not None
        self.queue = bytearray()                # frames for the daemon, not sent yet
        self.stdin_open = True
        self.escaped = False                    # the escape key was the last key
        self.outputs_open = {stdout: True, stderr: True}
        self.flags = set()                      # signals seen: "winch", "int", "hup"
        self.exited = None

    # -- frames to the daemon --
    def put(self, kind, *values):
        self.queue += P.encode(P.TTY, P.tty_message(kind, *values))

    def flush_some(self):
        """Send what the socket takes now without waiting (TLS: one record)."""
        if getattr(self.sock, "pending", None) is not None:        # TLS: no MSG_DONTWAIT
            n = self.sock.send(bytes(self.queue[:16384]))
        else:
            try:
                n = self.sock.send(self.queue[:1 << 16], socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
        del self.queue[:n]

    # -- the loop --
    def run(self, serial):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        old = self._signals(wake_w)
        try:
            while self.exited is None:
                self._step(serial, wake_r)
        except OSError as e:
            raise P.PeerClosed("connection to the appliance failed: %s" % e) from None
        finally:
            self._restore_signals(old)
            os.close(wake_r)
            os.close(wake_w)
        # the shell ended: what was queued, then END; the daemon then replies
        self.put(P.TTY_END)
        try:
            self.sock.sendall(bytes(self.queue))
        except OSError as e:
            raise P.PeerClosed("connection to the appliance failed: %s" % e) from None
        status = self.client._reply(serial, ACTION)
        if type(status) is not int or not 0 <= status <= 255:
            raise P.ProtocolError("the rescue shell's exit status is %r" % (status,))
        return status

    def _step(self, serial, wake_r):
        pending = getattr(self.sock, "pending", None)
        if self.client.reader.buffered() or (pending is not None and pending()):
            r, w = [self.sock], []
        else:
            rl = [self.sock, wake_r]
            if self.stdin_open and len(self.queue) < QUEUE_LIMIT:
                rl.append(self.stdin)
            r, w, _ = select.select(rl, [self.sock] if self.queue else [], [])
        if wake_r in r:
            self._on_signals(wake_r)
        if w:
            self.flush_some()
        if self.stdin in r:
            self._keys()
        if self.sock in r:
            ftype, payload = self.client.reader.read_frame()
            what, value = daemon_message(ftype, payload, serial)
            if what == "exit":
                self.exited = value
            elif what == "log":
                if self.on_log:
                    self.on_log(value)
            else:
                self._write(self.stdout if what == "out" else self.stderr, value)

    def _write(self, fd, data):
        if not self.outputs_open[fd]:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError:             # nobody reads our output any more: end the shell
            self.outputs_open[fd] = False
            self.put(P.TTY_HANGUP)

    # -- keys --
    def _keys(self):
        try:
            data = os.read(self.stdin, 4096)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""              # the terminal hung up
        if not data:
            self.stdin_open = False
            self.put(P.TTY_EOF)
            return
        if self.escape is None:
            self.put(P.TTY_IN, data)
            return
        keys = bytearray()
        for b in data:
            if self.escaped:
                self.escaped = False
                if b == self.escape:
                    keys.append(b)
                    continue
                if keys:
                    self.put(P.TTY_IN, bytes(keys))
                    keys.clear()
                self._escape(chr(b))
            elif b == self.escape:
                self.escaped = True
            else:
                keys.append(b)
        if keys:
            self.put(P.TTY_IN, bytes(keys))

    def _say(self, text):
        self._write(self.stdout, ("\r\n" + text.rstrip("\n").replace("\n", "\r\n") + "\r\n")
                    .encode("utf-8", "replace"))

    def _escape(self, key):
        if key in "?h":
            self._say(ESCAPE_HELP.replace("the escape key", key_name(self.escape), 1))
        elif key == "i":
            self._say(self.info or "no inspection information: use -i")
        elif key in "qx":
            self.put(P.TTY_HANGUP)
        elif key in "su":
            self.put(P.TTY_SYSRQ, ord(key))
            self._say("sync" if key == "s" else "remounted read-only")
        elif key == "z":
            self._suspend()
        else:
            self._say("unknown escape sequence %s %s (%s ? for help)" % (
                key_name(self.escape), key_name(ord(key)), key_name(self.escape)))

    def _suspend(self):
        self.terminal.restore()
        os.kill(os.getpid(), signal.SIGTSTP)        # stopped here until fg
        self.terminal.again()
        self.put(P.TTY_WINCH, *window_size(self.stdin))     # it may have changed meanwhile

    # -- signals --
    def _signals(self, wake_w):
        """Handlers that note SIGWINCH, SIGINT (without a terminal: for the shell),
        SIGHUP and SIGTERM (end the shell), and wake the loop; their previous state."""
        def note(name):
            return lambda signum, frame: self.flags.add(name)
        try:
            old_fd = signal.set_wakeup_fd(wake_w)
        except ValueError:                  # not the main thread: no signals here
            return None
        old = {s: signal.signal(s, note(n)) for s, n in (
            (signal.SIGWINCH, "winch"), (signal.SIGHUP, "hup"), (signal.SIGTERM, "hup"))}
        if not self.tty:
            old[signal.SIGINT] = signal.signal(signal.SIGINT, note("int"))
        return old_fd, old

    @staticmethod
    def _restore_signals(old):
        if old is None:
            return
        old_fd, handlers = old
        for s, h in handlers.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(old_fd)

    def _on_signals(self, wake_r):
        try:
            while os.read(wake_r, 512):
                pass
        except BlockingIOError:
            pass
        flags, self.flags = self.flags, set()
        if "winch" in flags and self.tty:
            self.put(P.TTY_WINCH, *window_size(self.stdin))
        if "int" in flags:
            self.put(P.TTY_SIGNAL, signal.SIGINT)
        if "hup" in flags:
            self.put(P.TTY_HANGUP)
