"""A small synchronous QMP client: what a launch needs, without an event loop.

A snapshot launch talks to qemu a dozen times before the first call (restore, resume,
hot-plug each drive); an asyncio round trip per command would cost more than the commands.
Replies are JSON lines, each bounded in size; asynchronous events are kept (bounded) for
whoever waits for one.
"""

import array
import json
import socket
import time

MAX_LINE = 1 << 20          # no reply we ask for comes near this
MAX_EVENTS = 256


class QMPError(Exception):
    """qemu refused a command (the message is qemu's), or the monitor went away."""

    def __init__(self, message, qmp_class=None):
        super().__init__(message)
        self.qmp_class = qmp_class


class QMP:
    def __init__(self, path, timeout=30.0):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self._buf = b""
        self.events = []

    def connect(self, deadline=None):
        """Connect (retrying until DEADLINE, a time.monotonic value, while qemu creates the
        socket), read the greeting and enter command mode."""
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                s.connect(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if deadline is None or time.monotonic() > deadline:
                    raise QMPError("cannot connect to qemu's monitor at %s" % self.path)
                time.sleep(0.002)
        s.settimeout(self.timeout)
        self.sock = s
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("qemu's monitor did not greet as QMP")
        self.command("qmp_capabilities")
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _read(self):
        while b"\n" not in self._buf:
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                raise QMPError("qemu's monitor: %s" % e) from None
            if not data:
                raise QMPError("qemu's monitor closed the connection")
            self._buf += data
            if len(self._buf) > MAX_LINE and b"\n" not in self._buf:
                raise QMPError("qemu's monitor sent a line longer than %d bytes" % MAX_LINE)
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            obj = json.loads(line)
        except ValueError:
            raise QMPError("qemu's monitor sent something that is not JSON") from None
        if not isinstance(obj, dict):
            raise QMPError("qemu's monitor sent something that is not a JSON object")
        return obj

    def command(self, name, fd=None, **args):
        """Run command NAME with ARGS; its return value.  FD: a descriptor passed along
        (SCM_RIGHTS), as getfd and add-fd expect."""
        if self.sock is None:
            raise QMPError("not connected to qemu's monitor")
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        data = json.dumps(msg).encode() + b"\n"
        try:
            if fd is not None:
                self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                            array.array("i", [fd]))])
            else:
                self.sock.sendall(data)
        except OSError as e:
            raise QMPError("qemu's monitor: %s" % e) from None
        while True:
            obj = self._read()
            if "event" in obj:
                if len(self.events) < MAX_EVENTS:
                    self.events.append(obj)
                continue
            if "error" in obj:
                err = obj["error"] if isinstance(obj["error"], dict) else {}
                raise QMPError("%s: %s" % (name, str(err.get("desc", "failed"))[:500]),
                               err.get("class"))
            return obj.get("return")

    def wait_event(self, name, timeout, match=None):
        """The first event NAME (for which MATCH(data) holds) within TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("event") == name and (match is None or match(ev.get("data") or {})):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError("qemu did not report %s within %.0f s" % (name, timeout))
            self.sock.settimeout(left)
            try:
                obj = self._read()
            except QMPError:
                if time.monotonic() >= deadline:
                    raise QMPError("qemu did not report %s within %.0f s"
                                   % (name, timeout)) from None
                raise
            finally:
                self.sock.settimeout(self.timeout)
            if "event" in obj and len(self.events) < MAX_EVENTS:
                self.events.append(obj)


def pass_fd(qmp, fd, name):
    """Hand descriptor FD to qemu under NAME (getfd), for fd:NAME migration URIs."""
    qmp.command("getfd", fd=fd, fdname=name)
