"""The remote backend: use a guestkitd that is already listening.

``remote:unix:/run/guestkit.sock`` or ``remote:tcp://HOST:PORT``; the server is
``guestkit serve`` (an appliance shared over a socket) or ``guestkitd --listen``.  Connecting
is retried with tenacity while the server comes up.  TCP needs a token
(``token=FILE`` setting or GUESTKIT_REMOTE_TOKEN_FILE) or TLS client certificates
(``tls_ca=``, ``tls_cert=``, ``tls_key=`` settings).
"""

import os
import socket
import ssl

import tenacity

from .base import Backend, LaunchError
from ..daemon import protocol as P
from ..daemon.listen import parse_address, read_token

DEFAULT_CONNECT_TIMEOUT = 30.0


class RemoteBackend(Backend):
    name = "remote"
    owns_appliance = False
    settings_doc = {
        "token=FILE": "TCP: the secret the server expects",
        "tls_ca=FILE": "TCP: verify the server's certificate with this CA",
        "tls_cert=FILE": "TCP: client certificate",
        "tls_key=FILE": "TCP: client key",
        "connect_timeout=SECONDS": "keep retrying the connection this long (default 30)",
    }

    def __init__(self, handle, param=None):
        super().__init__(handle, param)
        self.sock = None

    def launch(self, appliance, drives, tmpdir):
        if not self.param:
            raise LaunchError("say where the server is: remote:unix:PATH or "
                              "remote:tcp://HOST:PORT")
        if drives:
            raise LaunchError("the remote server has its own drives: add none to this "
                              "handle (the server was started with them)")
        try:
            kind, where = parse_address(self.param)
        except ValueError as e:
            raise LaunchError(str(e)) from None
        try:
            timeout = float(self._setting("connect_timeout") or DEFAULT_CONNECT_TIMEOUT)
        except ValueError:
            raise LaunchError("connect_timeout must be a number of seconds") from None

        @tenacity.retry(stop=tenacity.stop_after_delay(timeout),
                        wait=tenacity.wait_exponential(multiplier=0.05, max=1.0),
                        retry=tenacity.retry_if_exception_type(
                            (ConnectionRefusedError, FileNotFoundError)),
                        reraise=True)
        def connect():
            if kind == "unix":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            else:
                fam = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                s.settimeout(min(timeout, 10.0))      # an unreachable host must not hang
                s.connect(where)
                s.settimeout(None)
            except BaseException:
                s.close()
                raise
            return s

        try:
            s = connect()
        except (ConnectionRefusedError, FileNotFoundError) as e:
            raise LaunchError("no guestkit server at %s after %.0f s: %s"
                              % (self.param, timeout, e)) from None
        except socket.timeout:
            raise LaunchError("connecting to %s timed out" % self.param) from None
        except OSError as e:
            raise LaunchError("cannot connect to %s: %s" % (self.param, e)) from None
        if kind == "tcp":
            s = self._secure(s, where[0])
        self.sock = s
        return s

    def _secure(self, s, host):
        ca, cert, key = (self._setting(n) for n in ("tls_ca", "tls_cert", "tls_key"))
        if ca or cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            if ca:
                ctx.load_verify_locations(ca)
            if cert:
                ctx.load_cert_chain(cert, key)
            try:
                s = ctx.wrap_socket(s)
            except (ssl.SSLError, OSError) as e:
                s.close()
                raise LaunchError("TLS handshake with %s failed: %s" % (self.param, e)) \
                    from None
            return s
        token_file = self._setting("token") or os.environ.get("GUESTKIT_REMOTE_TOKEN_FILE")
        if not token_file:
            s.close()
            raise LaunchError("TCP servers need authentication: set the backend setting "
                              "token=FILE (or GUESTKIT_REMOTE_TOKEN_FILE), or tls_cert/tls_key")
        try:
            token = read_token(token_file)
        except (OSError, ValueError) as e:
            s.close()
            raise LaunchError("cannot read the token: %s" % e) from None
        s.sendall(P.encode(P.AUTH, P.dumps({"token": token.decode()})))
        return s

    def shutdown(self, graceful=True):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        return None
