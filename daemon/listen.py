"""Serving guestkitd's protocol on a unix socket or TCP, one client at a time.

Used by ``guestkitd --listen`` (the daemon serving this machine) and by ``guestkit serve``
(which relays to a launched appliance).  Standard library only.

Authentication:
- a unix socket is created 0600, and a peer must run as the server's user or root
  (SO_PEERCRED);
- TCP is TLS: the server always shows its certificate, and the client proves itself with a
  certificate the CA signed for client use, a secret token (AUTH frame, compared in constant
  time), or both.  Plain TCP only with insecure_plaintext, on a loopback address, and a token.
Nothing runs before the client is authenticated.  Authentication happens in a thread per
connection, outside the session slot, with a deadline; the accept loop never waits for a
peer, and pending connections are bounded per peer and overall.  A client that arrives while
another is connected gets an ERROR frame saying the server is busy.
"""

import hmac
import ipaddress
import os
import socket
import stat
import struct
import sys
import threading

from . import protocol as P

AUTH_TIMEOUT = 10.0
MAX_AUTH_FRAME = 4096
MAX_PENDING = 32                # connections authenticating at once
MAX_PENDING_PER_PEER = 4        # ... from one address (TCP) or one uid (unix)
CLEANUP_WAIT = 60.0             # a new client waits this long for the last one's cleanup


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


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path):
    """The secret in the token file PATH, refused (as ssh refuses a private key) unless the
    file is ours or root's and nobody else may read or write it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("the token file %s is not a regular file" % path)
        if st.st_uid not in (os.getuid(), 0):
            raise ValueError("the token file %s belongs to uid %d, not to you or root"
                             % (path, st.st_uid))
        if st.st_mode & 0o077:
            raise ValueError("the token file %s may be read or written by others (mode "
                             "%04o): make it private (chmod 600)"
                             % (path, stat.S_IMODE(st.st_mode)))
        token = os.read(fd, MAX_AUTH_FRAME + 1)
    finally:
        os.close(fd)
    token = token.strip()
    if len(token) > MAX_AUTH_FRAME // 2:
        raise ValueError("the token in %s is too long" % path)
    if len(token) < 16:
        raise ValueError("the token in %s is too short (at least 16 characters)" % path)
    return token


def peer_uid(sock):
    """The uid of the process at the other end of the unix socket SOCK."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def server_tls_context(tls):
    """An ssl context for a server with TLS dict(cert=, key=[, ca=]): CA given, clients
    must show a certificate it signed for client use."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tls["cert"], tls["key"])
    if tls.get("ca"):
        ctx.load_verify_locations(tls["ca"])
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def add_listen_options(ap):
    """The options of guestkitd --listen and guestkit serve that say how clients are
    authenticated (argparse parser AP)."""
    ap.add_argument("--token-file", metavar="FILE",
                    help="clients must present the secret in FILE (mode 600)")
    ap.add_argument("--tls-cert", metavar="FILE",
                    help="TCP: the server's certificate (extendedKeyUsage serverAuth)")
    ap.add_argument("--tls-key", metavar="FILE", help="TCP: the server's key")
    ap.add_argument("--tls-ca", metavar="FILE",
                    help="TCP: clients must show a certificate this CA signed for "
                         "clientAuth")
    ap.add_argument("--insecure-plaintext", action="store_true",
                    help="TCP without TLS, the token sent in clear: loopback addresses "
                         "only, for testing")


def listen_tls(ap, a):
    """The Listener's tls dict from the options add_listen_options added, or None."""
    if not (a.tls_cert or a.tls_key or a.tls_ca):
        return None
    if not (a.tls_cert and a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    return {"cert": a.tls_cert, "key": a.tls_key, "ca": a.tls_ca}


class Listener:
    def __init__(self, addr, token=None, tls=None, insecure_plaintext=False):
        """tls: None or dict(cert=, key=, ca=None); ca requires client certificates."""
        self.kind, self.where = parse_address(addr)
        self.token = token
        self.tls = None
        if self.kind == "tcp":
            host = self.where[0]
            if tls is None:
                if not insecure_plaintext:
                    raise ValueError(
                        "refusing to listen on TCP without TLS: give the server a "
                        "certificate and key (and a token file and/or a CA for client "
                        "certificates), or --insecure-plaintext on a loopback address")
                if not is_loopback(host):
                    raise ValueError("--insecure-plaintext listens only on a loopback "
                                     "address (127.0.0.1, ::1), not on %s" % host)
                if token is None:
                    raise ValueError("--insecure-plaintext still needs a token file")
            else:
                if not (tls.get("cert") and tls.get("key")):
                    raise ValueError("TLS needs the server's certificate and key")
                if token is None and not tls.get("ca"):
                    raise ValueError("TLS alone proves the server only: give a token file, "
                                     "a CA for client certificates, or both")
                self.tls = server_tls_context(tls)
        elif tls is not None:
            raise ValueError("TLS is for TCP: a unix socket is protected by its permissions")
        self.created = None             # (st_dev, st_ino) of the socket we made
        if self.kind == "unix":
            s = self._bind_unix(self.where)
        else:
            host, port = self.where
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        s.listen(64)
        self.sock = s
        self.busy = threading.Lock()    # the session slot
        self.client_active = False      # False while the last session only cleans up
        self.closed = False
        self.lock = threading.Lock()
        self.pending = {}               # peer -> connections authenticating

    def _bind_unix(self, path):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISSOCK(st.st_mode):
                raise ValueError("%s exists and is not a socket: refusing to replace it"
                                 % path)
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                probe.settimeout(2)
                probe.connect(path)
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)         # a stale socket nobody listens on
            except OSError:
                pass                    # bind below says what is wrong
            else:
                raise ValueError("a server is already listening on %s" % path)
            finally:
                probe.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            s.bind(path)
        except BaseException:
            s.close()
            raise
        finally:
            os.umask(old)
        st = os.lstat(path)
        self.created = (st.st_dev, st.st_ino)
        return s

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
        if self.kind == "unix" and self.created:
            # only the socket this listener made: whatever replaced it is not ours
            try:
                st = os.lstat(self.where)
                if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == self.created:
                    os.unlink(self.where)
            except OSError:
                pass
            self.created = None

    # ---- accepting --------------------------------------------------------------------

    def serve(self, hello, session):
        """Accept clients until closed; SESSION(conn, client_gone) serves one authenticated
        client at a time.  Never waits for a peer."""
        while not self.closed:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self.closed:
                    return
                raise
            try:
                peer = self._peer(conn, addr)
            except OSError:
                conn.close()
                continue
            if peer is None or not self._take_pending(peer):
                _refuse(conn, "EACCES" if peer is None else "EBUSY",
                        "not allowed to connect" if peer is None else
                        "busy: too many connections waiting to authenticate")
                continue
            threading.Thread(target=self._run, args=(conn, peer, hello, session),
                             daemon=True).start()

    def _peer(self, conn, addr):
        """Who is connecting (the key for the pending bound), or None when refused."""
        if self.kind == "unix":
            uid = peer_uid(conn)
            if uid not in (os.getuid(), 0):
                return None
            return "uid:%d" % uid
        return addr[0]

    def _take_pending(self, peer):
        with self.lock:
            total = sum(self.pending.values())
            if total >= MAX_PENDING or self.pending.get(peer, 0) >= MAX_PENDING_PER_PEER:
                return False
            self.pending[peer] = self.pending.get(peer, 0) + 1
            return True

    def _drop_pending(self, peer):
        with self.lock:
            n = self.pending.get(peer, 0) - 1
            if n > 0:
                self.pending[peer] = n
            else:
                self.pending.pop(peer, None)

    def client_gone(self):
        """Called by a session once its client has disconnected (cleanup may go on)."""
        self.client_active = False

    def _run(self, conn, peer, hello, session):
        c = None
        try:
            try:
                c = self._handshake(conn)
            finally:
                self._drop_pending(peer)
            if c is None:
                return
            if not self.busy.acquire(blocking=False) and (
                    self.client_active or not self.busy.acquire(timeout=CLEANUP_WAIT)):
                _refuse(c, "EBUSY", "busy: another client is connected")
                c = None
                return
            try:
                self.client_active = True
                _send(c, P.HELLO, hello)
                session(c, self.client_gone)
            finally:
                self.client_active = False
                self.busy.release()
        except Exception as e:
            print("guestkit: session ended: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        finally:
            for s in (c, conn):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def _handshake(self, conn):
        """Authenticate CONN: the connection to use (TLS-wrapped if TLS), or None.  The whole
        handshake has AUTH_TIMEOUT seconds, however slowly the peer trickles its bytes."""
        timer = threading.Timer(AUTH_TIMEOUT, _shut, (conn,))
        timer.start()
        try:
            return self._authenticate(conn)
        finally:
            timer.cancel()

    def _authenticate(self, conn):
        import ssl
        conn.settimeout(AUTH_TIMEOUT)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                if self.tls.verify_mode == ssl.CERT_REQUIRED:
                    from .certs import CLIENT_AUTH, check_purpose
                    check_purpose(conn.getpeercert(binary_form=True), CLIENT_AUTH, "the client")
            if self.token is not None:
                r = P.FrameReader(conn.recv_into, max_frame=MAX_AUTH_FRAME,
                                  max_json=MAX_AUTH_FRAME)
                ftype, obj = r.read_json(expect=(P.AUTH,))
                given = obj.get("token") if isinstance(obj, dict) else None
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
        return conn


def _refuse(conn, errno_name, msg):
    """Tell CONN why it is refused, without waiting for it, and close it."""
    try:
        conn.setblocking(False)
        _send(conn, P.ERROR, {"s": 0, "errno": errno_name, "msg": msg})
    except Exception:
        pass
    try:
        conn.close()
    except OSError:
        pass


def _shut(conn):
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _send(conn, ftype, obj):
    P.send_frame(conn, ftype, P.dumps(obj))


def serve_forever(addr, sysroot, verbose=False, token_file=None, tls=None,
                  insecure_plaintext=False):
    """guestkitd --listen: serve this machine's devices under SYSROOT."""
    from .server import Server
    token = read_token(token_file) if token_file else None
    lst = Listener(addr, token=token, tls=tls, insecure_plaintext=insecure_plaintext)
    print("guestkitd: listening on %s" % lst.address(), file=sys.stderr, flush=True)

    def session(conn, gone):
        if lst.tls is not None:
            _serve_tls(conn, sysroot, verbose)
            return
        srv = Server(conn.fileno(), conn.fileno(), sysroot=sysroot, verbose=verbose)
        srv.serve()

    hello = {"magic": P.MAGIC, "version": P.VERSION, "pid": os.getpid(),
             "python": sys.version.split()[0]}
    try:
        lst.serve(hello, session)
    finally:
        lst.close()
    return 0


def _serve_tls(conn, sysroot, verbose):
    """Serve the TLS connection CONN: the daemon's server works on file descriptors, so it
    gets one end of a socket pair and this thread carries bytes between the other end and
    CONN until either side closes."""
    import select
    from .server import Server
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    t = threading.Thread(target=lambda: Server(a.fileno(), a.fileno(), sysroot=sysroot,
                                               verbose=verbose).serve(), daemon=True)
    t.start()
    try:
        while True:
            ready = [conn] if conn.pending() else []       # decrypted, invisible to select
            r, _, _ = select.select([conn, b], [], [], 0 if ready else None)
            for s in set(r) | set(ready):
                data = s.recv(65536)
                if not data:
                    return
                (b if s is conn else conn).sendall(data)
    except OSError:
        pass
    finally:
        b.close()                       # the server reads end of file and returns
        t.join(30)
        a.close()
