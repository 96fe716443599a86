"""Start (and stop) a real libvirtd for the tests: the system instance, with its own config
file (nothing under /etc changes) that also listens on 127.0.0.1 with SASL digest-md5
authentication for the credential-callback tests."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

SASL_USER = "gkuser"
SASL_PASSWORD = "gk-pass-word-1"
SOCK = "/run/libvirt/libvirt-sock"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class Libvirtd:
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.started = []
        self.port = None
        self.uri_tcp = None

    def start(self):
        for tool in ("libvirtd", "virtlogd", "saslpasswd2"):
            if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
                pytest.fail("%s is not installed: run the README's test command" % tool,
                            pytrace=False)
        if os.path.exists(SOCK):
            try:
                socket.socket(socket.AF_UNIX).connect(SOCK)
                pytest.fail("a libvirtd is already running; stop it before the tests",
                            pytrace=False)
            except OSError:
                pass
        w = self.workdir
        sasldb = os.path.join(w, "passwd.db")
        subprocess.run(["saslpasswd2", "-a", "libvirt", "-f", sasldb, "-p", "-c", SASL_USER],
                       input=SASL_PASSWORD.encode(), check=True)
        with open(os.path.join(w, "libvirt.conf"), "w") as f:
            f.write("mech_list: digest-md5\nsasldb_path: %s\n" % sasldb)
        self.port = _free_port()
        conf = os.path.join(w, "libvirtd.conf")
        with open(conf, "w") as f:
            f.write('listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "127.0.0.1"\n'
                    'tcp_port = "%d"\nauth_tcp = "sasl"\nauth_unix_rw = "none"\n'
                    'unix_sock_group = "root"\nunix_sock_rw_perms = "0770"\n' % self.port)
        env = dict(os.environ, SASL_CONF_PATH=w)
        vlog_pid = os.path.join(w, "virtlogd.pid")
        subprocess.run(["virtlogd", "-d", "-p", vlog_pid], check=True, env=env)
        self.started.append(vlog_pid)
        lv_pid = os.path.join(w, "libvirtd.pid")
        subprocess.run(["libvirtd", "-d", "-l", "-f", conf, "-p", lv_pid], check=True, env=env)
        self.started.append(lv_pid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(SOCK)
                s.close()
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            pytest.fail("libvirtd did not come up", pytrace=False)
        self.uri_tcp = "qemu+tcp://127.0.0.1:%d/system" % self.port
        return self

    def stop(self):
        for pidfile in reversed(self.started):
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.started = []
