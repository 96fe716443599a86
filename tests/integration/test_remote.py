"""The remote backend against guestkit serve: unix socket, TCP with TLS and/or a token,
busy, bad servers, and what each side checks of the other before trusting it (issue 11,
items 1-4).  One appliance is launched for the module and served to the client handles."""

import hashlib
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import guestkit
from guestkit.daemon import listen
from guestkit.daemon.listen import Listener, read_token
from guestkit.serve import serve
from tests.conftest import make_image


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("remote")
    disk = make_image(d / "disk.img", 128)
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(disk, format="raw")
    g.launch()
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1")
    token = d / "token"
    token.write_text("s3cret-token-0123456789\n")
    token.chmod(0o600)
    listeners = {}
    ready = threading.Event()

    def run(addr, key, token_file=None):
        serve(g, addr, token_file=token_file,
              ready=lambda lst: (listeners.__setitem__(key, lst), ready.set()))

    sock = str(d / "gk.sock")
    threading.Thread(target=run, args=("unix:" + sock, "unix"), daemon=True).start()
    ready.wait(10)
    yield {"dir": d, "sock": sock, "token": str(token), "g": g, "listeners": listeners,
           "run": run, "ready": ready}
    for lst in listeners.values():
        lst.close()
    g.close()


def client(spec, settings=()):
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_backend(spec)
    g.set_backend_settings(list(settings))
    return g


def test_unix_socket_client_runs_actions(server):
    g = client("remote:unix:" + server["sock"])
    t0 = time.monotonic()
    g.launch()
    assert time.monotonic() - t0 < 2
    g.mount("/dev/sda1", "/")
    g.write("/from-remote", b"hello over a socket")
    assert g.cat("/from-remote") == "hello over a socket"
    assert g.list_devices() == ["/dev/sda"]
    g.close()
    # the next client finds the data, and a clean appliance (nothing left mounted)
    g = client("remote:unix:" + server["sock"])
    g.launch()
    assert g.mounts() == []
    g.mount("/dev/sda1", "/")
    assert g.cat("/from-remote") == "hello over a socket"
    g.close()


def test_second_client_is_told_busy(server):
    g1 = client("remote:unix:" + server["sock"])
    g1.launch()
    try:
        g2 = client("remote:unix:" + server["sock"])
        with pytest.raises(guestkit.Error) as e:
            g2.launch()
        assert "busy" in str(e.value)
        g2.close()
    finally:
        g1.close()


def test_unix_socket_is_private(server):
    assert os.stat(server["sock"]).st_mode & 0o077 == 0


def test_server_that_is_not_guestkitd(tmp_path):
    path = str(tmp_path / "bogus.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)

    def bogus():
        c, _ = s.accept()
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        time.sleep(1)
        c.close()
    threading.Thread(target=bogus, daemon=True).start()
    g = client("remote:unix:" + path)
    t0 = time.monotonic()
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert time.monotonic() - t0 < 10
    assert "remote" in str(e.value) or "daemon" in str(e.value)
    g.close()
    s.close()


def test_nobody_listening(tmp_path):
    g = client("remote:unix:%s" % (tmp_path / "none.sock"), ["connect_timeout=1"])
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "no guestkit server" in str(e.value)
    g.close()


def _certs(d):
    """A CA; certificates it signed for the server (127.0.0.1/localhost, serverAuth), for a
    client (clientAuth), for a client that also names 127.0.0.1, for a server of another
    name, for a server without extendedKeyUsage; a self-signed server certificate; a
    self-signed client certificate (rogue).  Elliptic-curve keys: quick to make."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *key, "-days", "1", "-subj", "/CN=gk-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    local = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    exts = {
        "server": local + "extendedKeyUsage=serverAuth\n",
        "client": "extendedKeyUsage=clientAuth\n",
        "client-local": local + "extendedKeyUsage=clientAuth\n",
        "elsewhere": "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n",
        "noeku": local,
        "selfsigned": local,
        "rogue": "extendedKeyUsage=clientAuth\n",
    }
    for who, ext in exts.items():
        with open(os.path.join(d, who + ".ext"), "w") as f:
            f.write(ext)
        run("req", *key, "-subj", "/CN=" + who, "-keyout", who + ".key", "-out", who + ".csr")
        if who in ("rogue", "selfsigned"):        # signed by itself, not by the CA
            run("x509", "-req", "-in", who + ".csr", "-signkey", who + ".key", "-days", "1",
                "-extfile", who + ".ext", "-out", who + ".crt")
        else:
            run("x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-extfile", who + ".ext", "-out", who + ".crt")
    return {n: os.path.join(d, n) for n in os.listdir(d)}


@pytest.fixture(scope="module")
def certs(server):
    d = server["dir"] / "tls"
    d.mkdir()
    return _certs(str(d))


def start(server, addr, **kw):
    """Serve the module's appliance on ADDR in a thread; the Listener."""
    got = {}
    ready = threading.Event()
    threading.Thread(target=lambda: serve(
        server["g"], addr, ready=lambda lst: (got.setdefault("l", lst), ready.set()), **kw),
        daemon=True).start()
    assert ready.wait(10)
    server["listeners"][len(server["listeners"])] = got["l"]
    return got["l"]


def spec_of(lst, host="127.0.0.1"):
    return "remote:tcp://%s:%s" % (host, lst.address().rsplit(":", 1)[1])


def launch_fails(spec, settings=()):
    g = client(spec, list(settings) + ["connect_timeout=2"])
    try:
        with pytest.raises(guestkit.Error) as e:
            g.launch()
    finally:
        g.close()
    return str(e.value)


# ---- item 1: TCP is TLS, plaintext only when asked, on loopback ------------------------------

def test_tcp_without_tls_is_refused(server, certs):
    token = read_token(server["token"])
    with pytest.raises(ValueError, match="without TLS"):
        Listener("tcp:127.0.0.1:0", token=token)
    with pytest.raises(ValueError, match="loopback"):
        Listener("tcp:0.0.0.0:0", token=token, insecure_plaintext=True)
    with pytest.raises(ValueError, match="token"):
        Listener("tcp:127.0.0.1:0", insecure_plaintext=True)
    with pytest.raises(ValueError, match="proves the server only"):
        Listener("tcp:127.0.0.1:0", tls={"cert": certs["server.crt"],
                                          "key": certs["server.key"]})
    # the command line says the same, and exits non-zero before launching anything
    r = subprocess.run([sys.executable, "-m", "guestkit.daemon.main", "--listen",
                        "tcp:127.0.0.1:0", "--token-file", server["token"]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "without TLS" in r.stderr


def test_insecure_plaintext_on_loopback(server):
    lst = start(server, "tcp:127.0.0.1:0", token_file=server["token"],
                insecure_plaintext=True)
    spec = spec_of(lst)
    g = client(spec, ["token=" + server["token"], "insecure_plaintext"])
    g.launch()
    assert g.list_devices() == ["/dev/sda"]
    g.close()
    # a client must ask for plaintext too: by default it speaks TLS, which fails here
    assert "TLS handshake" in launch_fails(spec, ["token=" + server["token"]])
    wrong = server["dir"] / "wrong"
    wrong.write_text("not-the-right-token-at-all\n")
    wrong.chmod(0o600)
    msg = launch_fails(spec, ["token=%s" % wrong, "insecure_plaintext"])
    assert "authentication failed" in msg and "remote" in msg
    # a client never sends its token in clear to anything but loopback
    assert "loopback" in launch_fails("remote:tcp://192.0.2.1:9",
                                      ["token=" + server["token"], "insecure_plaintext"])
    lst.close()


# ---- item 2: the client proves the server first; separate purposes ----------------------------

def test_tls_with_a_token(server, certs):
    lst = start(server, "tcp:127.0.0.1:0", token_file=server["token"],
                tls={"cert": certs["server.crt"], "key": certs["server.key"]})
    spec = spec_of(lst)
    ok = ["tls_ca=" + certs["ca.crt"], "token=" + server["token"]]
    g = client(spec, ok)
    g.launch()
    g.mount("/dev/sda1", "/")
    g.write("/tls", b"x" * 300000)              # several TLS records each way
    assert g.read_file("/tls") == b"x" * 300000
    g.close()
    g = client(spec_of(lst, "localhost"), ok)   # the certificate names localhost too
    g.launch()
    g.close()
    assert "authentication" in launch_fails(spec, ["tls_ca=" + certs["ca.crt"]])
    # the system's CAs do not know this server; another name is not this server
    assert "certificate verify failed" in launch_fails(spec, ["token=" + server["token"]])
    msg = launch_fails(spec, ok + ["tls_server_name=other.example"])
    assert "certificate verify failed" in msg and "other.example" in msg
    lst.close()


def _rogue_server(cert, key):
    """A TLS server on 127.0.0.1 showing CERT; (port, bytes it received after a
    handshake, a thread to join)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    got = bytearray()

    def run():
        c, _ = s.accept()
        c.settimeout(5)
        try:
            t = ctx.wrap_socket(c, server_side=True)
            while True:
                b = t.recv(4096)
                if not b:
                    break
                got.extend(b)
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()
            s.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return s.getsockname()[1], got, t


@pytest.mark.parametrize("who, why", [
    ("client-local", "unsuitable certificate purpose"),    # OpenSSL's purpose check
    ("noeku", "says nothing of what it is for"),            # guestkit's: no EKU at all
])
def test_client_refuses_a_server_with_the_wrong_certificate(certs, server, who, why):
    port, got, t = _rogue_server(certs[who + ".crt"], certs[who + ".key"])
    msg = launch_fails("remote:tcp://127.0.0.1:%d" % port,
                       ["tls_ca=" + certs["ca.crt"], "token=" + server["token"]])
    t.join(10)
    assert why in msg
    assert bytes(got) == b""                     # the token never left


def test_pinned_fingerprint(server, certs):
    lst = start(server, "tcp:127.0.0.1:0", token_file=server["token"],
                tls={"cert": certs["selfsigned.crt"], "key": certs["selfsigned.key"]})
    spec = spec_of(lst)
    der = ssl.PEM_cert_to_DER_cert(open(certs["selfsigned.crt"]).read())
    pin = hashlib.sha256(der).hexdigest()
    colons = ":".join(pin[i:i + 2] for i in range(0, 64, 2)).upper()
    g = client(spec, ["tls_fingerprint=sha256:" + colons, "token=" + server["token"]])
    g.launch()
    assert g.list_devices() == ["/dev/sda"]
    g.close()
    wrong = "0" * 64
    assert "not the pinned one" in launch_fails(spec, ["tls_fingerprint=" + wrong,
                                                       "token=" + server["token"]])
    assert "64 digits" in launch_fails(spec, ["tls_fingerprint=abc"])
    # without the pin, the self-signed certificate is unknown
    assert "certificate verify failed" in launch_fails(spec, ["tls_ca=" + certs["ca.crt"],
                                                              "token=" + server["token"]])
    lst.close()


def test_tls_with_client_certificates(server, certs):
    lst = start(server, "tcp:127.0.0.1:0",
                tls={"cert": certs["server.crt"], "key": certs["server.key"],
                     "ca": certs["ca.crt"]})
    spec = spec_of(lst)
    ca = "tls_ca=" + certs["ca.crt"]
    g = client(spec, [ca, "tls_cert=" + certs["client.crt"], "tls_key=" + certs["client.key"]])
    g.launch()
    assert g.list_devices() == ["/dev/sda"]
    g.close()
    for who in ("rogue", "server", "noeku"):
        # not signed by the CA; the server's own certificate; one not marked for clients
        launch_fails(spec, [ca, "tls_cert=" + certs[who + ".crt"],
                            "tls_key=" + certs[who + ".key"]])
    # and nothing got through: the next good client is served at once
    g = client(spec, [ca, "tls_cert=" + certs["client.crt"], "tls_key=" + certs["client.key"]])
    g.launch()
    g.close()
    lst.close()


# ---- item 4: token files, socket paths ---------------------------------------------------------

def test_token_files_are_checked(server, tmp_path):
    t = tmp_path / "tok"
    t.write_text("a-long-enough-secret-0123\n")
    t.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_token(str(t))
    assert "chmod 600" in launch_fails("remote:tcp://127.0.0.1:9", ["token=%s" % t])
    t.chmod(0o600)
    assert read_token(str(t)) == b"a-long-enough-secret-0123"
    link = tmp_path / "link"
    link.symlink_to(t)
    with pytest.raises(OSError):
        read_token(str(link))
    if os.getuid() == 0:
        os.chown(t, 65534, 65534)
        with pytest.raises(ValueError, match="belongs to uid 65534"):
            read_token(str(t))


def test_listener_only_unlinks_its_own_socket(tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("precious")
    with pytest.raises(ValueError, match="not a socket"):
        Listener("unix:%s" % path)
    assert path.read_text() == "precious"
    sock = str(tmp_path / "s.sock")
    lst = Listener("unix:" + sock)
    with pytest.raises(ValueError, match="already listening"):
        Listener("unix:" + sock)
    lst.close()
    assert not os.path.exists(sock)
    # a stale socket (nobody listening) is replaced; what replaced ours is left alone
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(sock)
    stale.close()
    lst = Listener("unix:" + sock)
    os.unlink(sock)
    with open(sock, "w") as f:
        f.write("someone else's")
    lst.close()
    assert open(sock).read() == "someone else's"


_NOBODY_SERVER = r"""
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
data = c.recv(100)
print("got %d" % len(data), flush=True)
"""


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a server as another user")
def test_client_checks_who_serves_a_unix_socket():
    # pytest's directories are private to root: nobody needs a way in
    top = tempfile.mkdtemp(prefix="gk-peercred-")
    os.chmod(top, 0o755)
    try:
        _peercred_checks(pathlib.Path(top))
    finally:
        shutil.rmtree(top)


def _peercred_checks(tmp_path):
    d = tmp_path / "nobody"
    d.mkdir()
    os.chown(d, 65534, 65534)
    sock = str(d / "s.sock")
    # the system python: nobody may not reach the one running the tests
    p = subprocess.Popen(["/usr/bin/python3", "-c", _NOBODY_SERVER, sock], user=65534,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        msg = launch_fails("remote:unix:" + sock)
        assert "runs as uid 65534" in msg
        assert p.stdout.readline().strip() == "got 0"           # nothing was sent
    finally:
        p.kill()
        p.wait()
    # served by root, but the socket in a directory anyone can write to is someone else's
    w = tmp_path / "world"
    w.mkdir()
    w.chmod(0o1777)
    sock = str(w / "s.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    os.chown(sock, 65534, 65534)
    s.listen(1)
    try:
        assert "others can write" in launch_fails("remote:unix:" + sock)
    finally:
        s.close()


# ---- item 3: slow or hostile peers cannot hold the server -------------------------------------

def _idle(n, source):
    """N connections to PORT from SOURCE that never say anything."""
    return [socket.create_connection(("127.0.0.1", source[1]), source_address=(source[0], 0))
            for _ in range(n)]


def test_idle_peers_cannot_hold_the_server(server, certs):
    lst = start(server, "tcp:127.0.0.1:0", token_file=server["token"],
                tls={"cert": certs["server.crt"], "key": certs["server.key"]})
    port = int(lst.address().rsplit(":", 1)[1])
    ok = ["tls_ca=" + certs["ca.crt"], "token=" + server["token"]]
    hostile = _idle(10, ("127.0.0.2", port))
    try:
        # past the bound per peer, the hostile peer's connections are closed at once
        refused = 0
        for c in hostile:
            c.settimeout(1.0)
            try:
                if c.recv(4096) is not None:
                    refused += 1          # an ERROR frame, or end of file
            except socket.timeout:
                pass
        assert refused == len(hostile) - listen.MAX_PENDING_PER_PEER
        # three idle connections of our own are not in the way either
        mine = _idle(3, ("127.0.0.1", port))
        t0 = time.monotonic()
        g = client(spec_of(lst), ok)
        g.launch()
        assert g.list_devices() == ["/dev/sda"]
        elapsed = time.monotonic() - t0
        g.close()
        assert elapsed < 3.0, "a legitimate client waited %.1f s" % elapsed
        for c in mine:
            c.close()
    finally:
        for c in hostile:
            c.close()
    lst.close()


def test_guestkitd_listens_with_tls(server, certs, tmp_path):
    """guestkitd --listen (the daemon serving this machine, no appliance) over TLS with a
    token: its server works on descriptors, so TLS goes through a relay."""
    p = subprocess.Popen([sys.executable, "-m", "guestkit.daemon.main", "--listen",
                          "tcp:127.0.0.1:0", "--tls-cert", certs["server.crt"],
                          "--tls-key", certs["server.key"], "--token-file", server["token"],
                          "--sysroot", str(tmp_path)], stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert "listening on tcp:127.0.0.1:" in line, line
        spec = "remote:tcp://127.0.0.1:%s" % line.strip().rsplit(":", 1)[1]
        ok = ["tls_ca=" + certs["ca.crt"], "token=" + server["token"]]
        g = client(spec, ok)
        g.launch()
        devices = g.list_devices()              # this machine's disks (none may qualify)
        assert isinstance(devices, list)
        assert g.get_umask() == 0o022
        g.umask(0o027)
        assert g.get_umask() == 0o027
        g.close()
        assert "authentication" in launch_fails(spec, ["tls_ca=" + certs["ca.crt"]])
        g = client(spec, ok)                   # served again after a refused client
        g.launch()
        assert g.list_devices() == devices
        g.close()
    finally:
        p.terminate()
        p.wait(10)
