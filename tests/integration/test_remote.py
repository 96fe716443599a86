"""The remote backend against guestkit serve: unix socket, TCP with a token, busy, bad
servers.  One appliance is launched for the module and served to the client handles."""

import os
import socket
import subprocess
import threading
import time

import pytest

import guestkit
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


def test_tcp_needs_the_token(server):
    server["ready"].clear()
    threading.Thread(target=server["run"], args=("tcp:127.0.0.1:0", "tcp", server["token"]),
                     daemon=True).start()
    server["ready"].wait(10)
    addr = server["listeners"]["tcp"].address()
    port = addr.rsplit(":", 1)[1]
    spec = "remote:tcp://127.0.0.1:%s" % port
    g = client(spec, ["token=" + server["token"]])
    g.launch()
    assert g.list_devices() == ["/dev/sda"]
    g.close()
    wrong = server["dir"] / "wrong"
    wrong.write_text("not-the-right-token-at-all\n")
    g = client(spec, ["token=%s" % wrong])
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "authentication failed" in str(e.value) and "remote" in str(e.value)
    g.close()
    g = client(spec)
    with pytest.raises(guestkit.Error) as e:
        g.launch()
    assert "authentication" in str(e.value)
    g.close()


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
    """A CA, a server certificate and a client certificate, made with openssl."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=gk-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    for who in ("server", "client", "rogue"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + who,
            "-keyout", who + ".key", "-out", who + ".csr")
        if who == "rogue":                     # signed by itself, not by the CA
            run("x509", "-req", "-in", "rogue.csr", "-signkey", "rogue.key", "-days", "1",
                "-out", "rogue.crt")
        else:
            run("x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", who + ".crt")
    return {n: os.path.join(d, n) for n in os.listdir(d)}


def test_tcp_with_tls_client_certificates(server):
    d = server["dir"] / "tls"
    d.mkdir()
    c = _certs(str(d))
    server["ready"].clear()
    tls = {"cert": c["server.crt"], "key": c["server.key"], "ca": c["ca.crt"]}
    threading.Thread(target=lambda: serve(
        server["g"], "tcp:127.0.0.1:0", tls=tls,
        ready=lambda lst: (server["listeners"].__setitem__("tls", lst),
                           server["ready"].set())), daemon=True).start()
    server["ready"].wait(10)
    port = server["listeners"]["tls"].address().rsplit(":", 1)[1]
    spec = "remote:tcp://127.0.0.1:%s" % port
    g = client(spec, ["tls_ca=" + c["ca.crt"], "tls_cert=" + c["client.crt"],
                      "tls_key=" + c["client.key"]])
    g.launch()
    g.mount("/dev/sda1", "/")
    g.write("/tls", b"x" * 300000)              # several TLS records each way
    assert g.read_file("/tls") == b"x" * 300000
    g.close()
    g = client(spec, ["tls_ca=" + c["ca.crt"], "tls_cert=" + c["rogue.crt"],
                      "tls_key=" + c["rogue.key"]])
    with pytest.raises(guestkit.Error):
        g.launch()
    g.close()
