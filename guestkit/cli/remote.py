"""Remote control (guestfish(1) "REMOTE CONTROL GUESTFISH OVER A SOCKET"):
``guestkit --listen`` forks a shell into the background and prints
``GUESTFISH_PID=PID; export GUESTFISH_PID`` for ``eval``; ``guestkit --remote[=PID] CMD
...`` runs commands in it, with the caller's standard input, output and error (passed over
the socket), and exits with the command's status.  ``--remote exit`` ends the listener.

The socket is a unix SOCK_SEQPACKET socket in a directory only the user can enter
($XDG_RUNTIME_DIR, else /tmp/.guestkit-UID), and the listener serves only peers with its
own uid (SO_PEERCRED).  One request a connection: a JSON list of words and three file
descriptors; the reply is a JSON object with the exit status.
"""

import json
import os
import socket
import struct
import sys

from . import CliError

MAX_MESSAGE = 1 << 20
PID_VARIABLES = ("GUESTKIT_PID", "GUESTFISH_PID")


def socket_dir():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return runtime
    path = "/tmp/.guestkit-%d" % os.getuid()
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if st.st_uid != os.getuid() or not os.path.isdir(path) or os.path.islink(path) \
            or st.st_mode & 0o077:
        raise CliError("%s is not a private directory of this user: refusing to put the "
                       "remote-control socket there" % path)
    return path


def socket_path(pid):
    return os.path.join(socket_dir(), "guestkit-remote-%d.sock" % pid)


def remote_pid(value):
    """The listener's pid: --remote=PID, else $GUESTKIT_PID, else $GUESTFISH_PID."""
    text = value or next((os.environ[v] for v in PID_VARIABLES if os.environ.get(v)), None)
    if not text:
        raise CliError("--remote: no listener given: use --remote=PID, or set GUESTFISH_PID "
                       "(eval \"`guestkit --listen ...`\" does)")
    try:
        pid = int(text)
    except ValueError:
        raise CliError("--remote: %r is not a process id" % text) from None
    if pid <= 0:
        raise CliError("--remote: %r is not a process id" % text)
    return pid


def send(pid, words):
    """Run WORDS (commands separated by ':' words) in listener PID; its exit status."""
    if not words:
        raise CliError("--remote: give a command to run (guestkit --remote CMD ARGS...)")
    path = socket_path(pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        try:
            s.connect(path)
        except OSError as e:
            raise CliError("--remote: no guestkit listening as process %d (%s: %s)"
                           % (pid, path, e.strerror or e)) from None
        sys.stdout.flush()
        socket.send_fds(s, [json.dumps(list(words)).encode()], [0, 1, 2])
        reply = s.recv(MAX_MESSAGE)
    finally:
        s.close()
    try:
        return int(json.loads(reply)["status"])
    except (ValueError, KeyError, TypeError):
        raise CliError("--remote: the listener gave no answer (did it exit?)") from None


def listen(run_words, prepare, finish, csh=False, out=None):
    """Fork the listener.  PREPARE() runs in the child before it serves (adding drives,
    mounting); its error is reported here and nothing stays behind.  RUN_WORDS(words) runs
    one request's commands and returns (status, stop); FINISH() shuts the handle down when
    the listener ends.  Returns this process's status."""
    out = out or sys.stdout
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(w)
        with os.fdopen(r, "rb") as f:
            answer = f.read()
        if answer != b"ok":
            os.waitpid(pid, 0)
            sys.stderr.write(answer.decode("utf-8", "replace") or
                             "guestkit: error: --listen: the listener died\n")
            return 1
        if csh:
            out.write("setenv GUESTFISH_PID %d\n" % pid)
        else:
            out.write("GUESTFISH_PID=%d; export GUESTFISH_PID\n" % pid)
        out.flush()
        return 0
    os.close(r)
    status = 1
    try:
        os.setsid()
        path = socket_path(os.getpid())
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.bind(path)
        sock.listen(8)
        try:
            prepare()
        except Exception as e:          # noqa: B902 - reported to the parent
            os.write(w, ("guestkit: error: %s\n" % (str(e) or type(e).__name__)).encode())
            os.close(w)
            os.unlink(path)
            finish()
            os._exit(1)
        _detach()
        os.write(w, b"ok")
        os.close(w)
        try:
            _serve(sock, run_words)
            status = 0
        finally:
            sock.close()
            os.unlink(path)
            status = finish() or status
    finally:
        os._exit(status)


def _detach():
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _peer_uid(conn):
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _serve(sock, run_words):
    while True:
        conn, _ = sock.accept()
        with conn:
            if _peer_uid(conn) != os.getuid():
                continue
            try:
                msg, fds, _flags, _addr = socket.recv_fds(conn, MAX_MESSAGE, 3)
            except OSError:
                continue
            try:
                words = json.loads(msg)
                if not isinstance(words, list) or not all(isinstance(x, str) for x in words) \
                        or len(fds) != 3:
                    continue
                status, stop = _with_fds(fds, run_words, words)
            finally:
                for fd in fds:
                    os.close(fd)
            try:
                conn.send(json.dumps({"status": status}).encode())
            except OSError:
                pass
            if stop:
                return


def _with_fds(fds, run_words, words):
    """Run with the client's standard input, output and error in place of ours."""
    saved = [os.dup(n) for n in (0, 1, 2)]
    try:
        for fd, n in zip(fds, (0, 1, 2)):
            os.dup2(fd, n)
        try:
            return run_words(words)
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
    finally:
        for fd, n in zip(saved, (0, 1, 2)):
            os.dup2(fd, n)
            os.close(fd)
