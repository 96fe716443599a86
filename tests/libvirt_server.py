"""Start (and stop) a private libvirtd for the tests, beside any libvirtd the machine runs as
a service (a libvirt user's machine always has one), never touching it.

The private daemon runs as root in a mount namespace of its own, where tmpfs hides the
service's state directories (/run/libvirt, /var/lib/libvirt, /var/cache/libvirt,
/var/log/libvirt) and an empty directory hides /etc/libvirt (so nothing under /etc changes
and the service's networks and domains are not seen).  Its sockets live in the test's work
directory, reached with a ``?socket=`` URI (self.uri), which start() also makes libvirt's
default connection (LIBVIRT_DEFAULT_URI) until stop().  It also listens on 127.0.0.1 with
SASL digest-md5 authentication for the credential-callback tests."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

SASL_USER = "gkuser"
SASL_PASSWORD = "gk-pass-word-1"
#: the service's socket, which the private daemon must leave alone
SYSTEM_SOCK = "/run/libvirt/libvirt-sock"
HIDDEN = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt")


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
        for tool in ("libvirtd", "virtlogd", "saslpasswd2", "unshare"):
            if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
                pytest.fail("%s is not installed: run the README's test command" % tool,
                            pytrace=False)
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        sasldb = os.path.join(w, "passwd.db")
        subprocess.run(["saslpasswd2", "-a", "libvirt", "-f", sasldb, "-p", "-c", SASL_USER],
                       input=SASL_PASSWORD.encode(), check=True)
        with open(os.path.join(w, "libvirt.conf"), "w") as f:
            f.write("mech_list: digest-md5\nsasldb_path: %s\n" % sasldb)
        self.port = _free_port()
        sockdir = os.path.join(w, "sock")
        etc = os.path.join(w, "etc")
        os.makedirs(sockdir, exist_ok=True)
        os.makedirs(etc, exist_ok=True)
        conf = os.path.join(w, "libvirtd.conf")
        with open(conf, "w") as f:
            f.write('listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "127.0.0.1"\n'
                    'tcp_port = "%d"\nauth_tcp = "sasl"\nauth_unix_rw = "none"\n'
                    'unix_sock_dir = "%s"\nunix_sock_group = "root"\n'
                    'unix_sock_rw_perms = "0770"\n' % (self.port, sockdir))
        vlog_pid = os.path.join(w, "virtlogd.pid")
        lv_pid = os.path.join(w, "libvirtd.pid")
        script = "set -e\n"
        for d in HIDDEN:
            script += "mkdir -p %s && mount -t tmpfs -o mode=0755 tmpfs %s\n" % (d, d)
        script += ("mount --bind %s /etc/libvirt\n"
                   "virtlogd -d -p %s\n"
                   "libvirtd -d -l -f %s -p %s\n" % (etc, vlog_pid, conf, lv_pid))
        env = dict(os.environ, SASL_CONF_PATH=w)
        env.pop("LIBVIRT_DEFAULT_URI", None)
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            script], env=env, capture_output=True, text=True)
        self.started = [vlog_pid, lv_pid]
        if r.returncode != 0:
            self.stop()
            pytest.fail("cannot start the tests' libvirtd: %s" % r.stderr.strip(),
                        pytrace=False)
        self.sock = os.path.join(sockdir, "libvirt-sock")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            pytest.fail("the tests' libvirtd did not come up", pytrace=False)
        self.uri = "qemu:///system?socket=%s" % self.sock
        self.uri_tcp = "qemu+tcp://127.0.0.1:%d/system" % self.port
        self._saved_default = os.environ.get("LIBVIRT_DEFAULT_URI")
        os.environ["LIBVIRT_DEFAULT_URI"] = self.uri
        return self

    def stop(self):
        if hasattr(self, "_saved_default"):
            if self._saved_default is None:
                os.environ.pop("LIBVIRT_DEFAULT_URI", None)
            else:
                os.environ["LIBVIRT_DEFAULT_URI"] = self._saved_default
            del self._saved_default
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
