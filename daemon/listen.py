"""Serving guestkitd's protocol on a unix socket or TCP, one client at a time.

Used by ``guestkitd --listen`` (the daemon serving this machine) and by ``guestkit serve``
(which relays to a launched appliance).  Standard library only.

Authentication:
- a unix socket is protected by file permissions (created 0600 inside the directory given);
- TCP needs a secret token (AUTH frame, compared in constant time) or TLS client
  certificates, and refuses anyone without it before any action runs.
A second client while one is connected gets an ERROR frame saying the server is busy.
"""

import hmac
import os
import socket
import ssl
import sys
import threading

from . import protocol as P

AUTH_TIMEOUT = 10.0
MAX_AUTH_FRAME = 4096


def parse_address(addr):
    """("unix", path) or ("tcp", (host, port)) from unix:PATH, tcp:HOST:PORT or
    tcp://HOST:PORT."""
    if addr.startswith("unix:"):
        path = addr[5:]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ValueError("unix: needs a socket path")
        return "unix", path
    if addr.startswith("tcp:"):
        rest = addr[4:]
        if rest.startswith("//"):
            rest = rest[2:]
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("tcp address must be tcp:HOST:PORT, got %r" % addr)
        return "tcp", (host.strip("[]"), int(port))
    raise ValueError("address must start with unix: or tcp:, got %r" % addr)


def read_token(path):
    with open(path, "rb") as f:
        token = f.read().strip()
    if len(token) < 16:
        raise ValueError("the token in %s is too short (at least 16 characters)" % path)
    return token


class Listener:
    def __init__(self, addr, token=None, tls=None):
        """tls: None or dict(cert=, key=, ca=) to require client certificates."""
        self.kind, self.where = parse_address(addr)
        self.token = token
        self.tls = None
        if self.kind == "tcp" and token is None and tls is None:
            raise ValueError("refusing to listen on TCP without authentication: give a "
                             "token file or TLS certificates")
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            ctx.load_verify_locations(tls["ca"])
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.tls = ctx
        if self.kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                os.unlink(self.where)
            except FileNotFoundError:
                pass
            old = os.umask(0o177)
            try:
                s.bind(self.where)
            finally:
                os.umask(old)
        else:
            host, port = self.where
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        s.listen(4)
        self.sock = s
        self.busy = threading.Lock()
        self.client_active = False      # False while the last session only cleans up
        self.closed = False

    def address(self):
        if self.kind == "unix":
            return "unix:" + self.where
        host, port = self.sock.getsockname()[:2]
        return "tcp:%s:%d" % (host, port)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        if self.kind == "unix":
            try:
                os.unlink(self.where)
            except OSError:
                pass

    def _handshake(self, conn, hello):
        """Authenticate CONN; True if it may go on (HELLO sent).  The whole handshake has
        AUTH_TIMEOUT seconds, however slowly the peer trickles its bytes."""
        timer = threading.Timer(AUTH_TIMEOUT, _shut, (conn,))
        timer.start()
        try:
            return self._authenticate(conn, hello)
        finally:
            timer.cancel()

    def _authenticate(self, conn, hello):
        conn.settimeout(AUTH_TIMEOUT)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            if self.token is not None:
                r = P.FrameReader(conn.recv_into, max_frame=MAX_AUTH_FRAME,
                                  max_json=MAX_AUTH_FRAME)
                ftype, obj = r.read_json(expect=(P.AUTH,))
                given = obj.get("token")
                if not isinstance(given, str) or not hmac.compare_digest(
                        given.encode(), self.token):
                    _send(conn, P.ERROR, {"s": 0, "errno": "EACCES",
                                          "msg": "authentication failed: wrong token"})
                    return None
        except (OSError, P.ProtocolError, ssl.SSLError, ValueError) as e:
            try:
                _send(conn, P.ERROR, {"s": 0, "errno": "EACCES",
                                      "msg": "authentication failed: %s" % e})
            except Exception:
                pass
            return None
        conn.settimeout(None)
        _send(conn, P.HELLO, hello)
        return conn

    def serve(self, hello, session):
        """Accept clients forever; SESSION(conn) serves one authenticated client."""
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                if self.closed:
                    return
                raise
            if not self.busy.acquire(blocking=False) and (
                    self.client_active or not self.busy.acquire(timeout=60)):
                try:
                    _send(conn, P.ERROR, {"s": 0, "errno": "EBUSY",
                                          "msg": "busy: another client is connected"})
                finally:
                    conn.close()
                continue
            threading.Thread(target=self._run, args=(conn, hello, session),
                             daemon=True).start()

    def client_gone(self):
        """Called by a session once its client has disconnected (cleanup may go on)."""
        self.client_active = False

    def _run(self, conn, hello, session):
        try:
            c = self._handshake(conn, hello)
            if c is not None:
                self.client_active = True
                session(c, self.client_gone)
        except Exception as e:
            print("guestkit: session ended: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        finally:
            self.client_active = False
            try:
                conn.close()
            except OSError:
                pass
            self.busy.release()


def _shut(conn):
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _send(conn, ftype, obj):
    P.send_frame(conn, ftype, P.dumps(obj))


def serve_forever(addr, sysroot, verbose=False, token_file=None):
    """guestkitd --listen: serve this machine's devices under SYSROOT."""
    from .server import Server
    token = read_token(token_file) if token_file else None
    lst = Listener(addr, token=token)
    print("guestkitd: listening on %s" % lst.address(), file=sys.stderr, flush=True)

    def session(conn, gone):
        srv = Server(conn.fileno(), conn.fileno(), sysroot=sysroot, verbose=verbose)
        srv.serve()

    hello = {"magic": P.MAGIC, "version": P.VERSION, "pid": os.getpid(),
             "python": sys.version.split()[0]}
    try:
        lst.serve(hello, session)
    finally:
        lst.close()
    return 0
