"""The remote backend: use a guestkitd that is already listening.

``remote:unix:/run/guestkit.sock`` or ``remote:tcp://HOST:PORT``; the server is
``guestkit serve`` (an appliance shared over a socket) or ``guestkitd --listen``.  Connecting
is retried with tenacity while the server comes up.

Nothing is sent before the server is proven: on a unix socket, the serving process must run
as us or root (SO_PEERCRED); over TCP, TLS with the server's certificate checked against a CA
(``tls_ca=``, else the system's) and the host name (or ``tls_server_name=``), and marked for
server use; or against a pinned SHA-256 fingerprint (``tls_fingerprint=``).  The client then
proves itself with a certificate (``tls_cert=``/``tls_key=``), a token (``token=FILE`` or
GUESTKIT_REMOTE_TOKEN_FILE), or both.  ``insecure_plaintext=1`` sends the token without TLS,
to a loopback address only.
"""

import os
import socket
import ssl

import tenacity

from .base import Backend, LaunchError
from ..daemon import protocol as P
from ..daemon.certs import SERVER_AUTH, CertError, check_purpose, fingerprint, parse_pin
from ..daemon.listen import is_loopback, parse_address, peer_uid, read_token

DEFAULT_CONNECT_TIMEOUT = 30.0


class RemoteBackend(Backend):
    name = "remote"
    owns_appliance = False
    settings_doc = {
        "token=FILE": "TCP: the secret the server expects (a private file, mode 600)",
        "tls_ca=FILE": "TCP: verify the server's certificate with this CA (default: the "
                       "system's CAs)",
        "tls_server_name=NAME": "TCP: the name the server's certificate must carry "
                                "(default: the host in the address)",
        "tls_fingerprint=SHA256": "TCP: accept only the server certificate with this "
                                  "SHA-256 digest (hex)",
        "tls_cert=FILE": "TCP: client certificate",
        "tls_key=FILE": "TCP: client key",
        "insecure_plaintext=1": "TCP: no TLS, token in clear (loopback only)",
        "connect_timeout=SECONDS": "keep retrying the connection this long (default 30)",
    }

    def __init__(self, handle, param=None):
        super().__init__(handle, param)
        self.sock = None

    @classmethod
    def hotplug_supported(cls):
        return False, "the drives are the server's (guestkit serve -a ...)"

    @classmethod
    def snapshot_supported(cls):
        return False, "it connects to an appliance that already runs"

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
        if kind == "tcp":
            self._plaintext(where[0])           # refuse a wrong setting before connecting
            self._token()
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
        try:
            if kind == "tcp":
                s = self._secure(s, where[0])
            else:
                self._check_unix_server(s, where)
        except BaseException:
            s.close()
            raise
        self.sock = s
        return s

    def _check_unix_server(self, s, path):
        """Before anything is sent: the process serving PATH runs as us or root, and a
        socket in a directory others may write to is ours (nobody else put it there)."""
        uid = peer_uid(s)
        if uid not in (os.getuid(), 0):
            raise LaunchError("refusing the server on %s: it runs as uid %d, not as you or "
                              "root" % (path, uid))
        try:
            dst = os.stat(os.path.dirname(os.path.abspath(path)))
            sst = os.lstat(path)
        except OSError as e:
            raise LaunchError("cannot check the socket %s: %s" % (path, e)) from None
        if dst.st_mode & 0o022 and sst.st_uid != os.getuid():
            raise LaunchError("refusing the socket %s: it lies in a directory others can "
                              "write to and belongs to uid %d, not to you"
                              % (path, sst.st_uid))

    def _plaintext(self, host):
        """True when asked for TCP without TLS, which is only for loopback, with a token."""
        if self._setting("insecure_plaintext") in (None, "0", "false", "no"):
            return False
        if not is_loopback(host):
            raise LaunchError("insecure_plaintext: a token is never sent in clear to %s, "
                              "only to a loopback address" % host)
        if self._token() is None:
            raise LaunchError("insecure_plaintext needs the token (token=FILE)")
        return True

    def _token(self):
        token_file = self._setting("token") or os.environ.get("GUESTKIT_REMOTE_TOKEN_FILE")
        if not token_file:
            return None
        try:
            return read_token(token_file)
        except (OSError, ValueError) as e:
            raise LaunchError("cannot use the token: %s" % e) from None

    def _secure(self, s, host):
        """TLS to HOST, the server proven by its certificate (CA + name, or a pinned
        fingerprint) before anything is sent; then the token, if there is one."""
        token = self._token()
        if not self._plaintext(host):
            s = self._tls(s, host)
        if token is not None:
            s.sendall(P.encode(P.AUTH, P.dumps({"token": token.decode()})))
        return s

    def _tls(self, s, host):
        ca, cert, key, pin, name = (self._setting(n) for n in (
            "tls_ca", "tls_cert", "tls_key", "tls_fingerprint", "tls_server_name"))
        try:
            pin = parse_pin(pin) if pin else None
        except CertError as e:
            raise LaunchError(str(e)) from None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if pin and not ca:
                # the pin is the proof: any certificate whose digest matches, nothing else
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif ca:
                ctx.load_verify_locations(ca)
            else:
                ctx.load_default_certs()
            if cert:
                ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            raise LaunchError("cannot load the TLS files: %s" % e) from None
        try:
            t = ctx.wrap_socket(s, server_hostname=name or host)
        except (ssl.SSLError, OSError) as e:
            raise LaunchError("TLS handshake with %s failed: %s" % (self.param, e)) from None
        try:
            der = t.getpeercert(binary_form=True)
            if pin:
                got = fingerprint(der)
                if got != pin:
                    raise CertError("the server's certificate is not the pinned one "
                                    "(its SHA-256 is %s)" % got)
            if ctx.verify_mode != ssl.CERT_NONE:
                check_purpose(der, SERVER_AUTH, "the server")
        except CertError as e:
            t.close()
            raise LaunchError("refusing the server %s: %s" % (self.param, e)) from None
        return t

    def shutdown(self, graceful=True):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        return None
