"""The direct backend: run qemu ourselves.

qemu's console goes to a pipe read by a thread (APPLIANCE events, and the last lines quoted
when a launch fails); the daemon's virtio-serial port connects to a unix socket this backend
listens on; qemu is controlled over QMP (qemu.qmp) for a clean stop; and it never outlives
the process that started it (PR_SET_PDEATHSIG).
"""

import ctypes
import os
import shutil
import signal
import subprocess
import threading

from .base import ApplianceListener, Backend, ConsoleLog, LaunchError
from .launchwatch import BootWatch, WatchedLaunch, silence_limit
from . import kvm
from ..daemon.contract import (CHANNEL, CMDLINE_DRIVES, CMDLINE_NETWORK, CMDLINE_PREFIX,
                               CMDLINE_VERBOSE)
KERNEL_ARGS = ["panic=1", "console=ttyS0", "8250.nr_uarts=1", "cryptomgr.notests",
               "no_timer_check", "tsc=reliable", "scsi_mod.scan=manual", "ipv6.disable=1",
               "edd=off", "nokaslr", "random.trust_cpu=on", "mitigations=off",
               "transparent_hugepage=never"]


def _pdeathsig():
    """In the child: die when the parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG
    except Exception:
        pass


def find_qemu(hv=None):
    if hv:
        return hv
    for name in ("qemu-system-x86_64", "qemu-kvm", "kvm"):
        p = shutil.which(name) or (os.path.exists("/usr/libexec/" + name) and
                                   "/usr/libexec/" + name)
        if p:
            return p
    raise LaunchError("qemu is not installed (Debian: apt-get install qemu-system-x86)")


def _q(v):
    return str(v).replace(",", ",,")


def remote_drive_options(d, i, secret_file):
    """qemu -drive options (file.*) for a remote drive; secrets go through files."""
    p = d.protocol
    srv = d.servers[0]
    o = []
    if p == "nbd":
        o.append("file.driver=nbd")
        if srv.transport == "unix":
            o += ["file.server.type=unix", "file.server.path=" + _q(srv.socket)]
        else:
            o += ["file.server.type=inet", "file.server.host=" + _q(srv.host),
                  "file.server.port=%d" % srv.port]
        if d.filename:
            o.append("file.export=" + _q(d.filename))
    elif p in ("http", "https", "ftp", "ftps"):
        host = "[%s]" % srv.host if ":" in srv.host else srv.host
        o += ["file.driver=" + p,
              "file.url=%s://%s:%d%s" % (p, host, srv.port, _q(d.filename))]
        if d.username:
            o.append("file.username=" + _q(d.username))
        if d.secret is not None:
            o.append("file.password-secret=" + secret_file(d, i))
    elif p == "ssh":
        o += ["file.driver=ssh", "file.server.host=" + _q(srv.host),
              "file.server.port=%d" % srv.port, "file.path=" + _q(d.filename)]
        if d.username:
            o.append("file.user=" + _q(d.username))
    elif p == "iscsi":
        target, _, lun = d.filename.lstrip("/").rpartition("/")
        if not target or not lun.isdigit():
            raise LaunchError("iscsi drive name must be TARGET-IQN/LUN, got %r" % d.filename)
        o += ["file.driver=iscsi", "file.transport=tcp",
              "file.portal=%s:%d" % (_q(srv.host), srv.port), "file.target=" + _q(target),
              "file.lun=" + lun]
        if d.username:
            o.append("file.user=" + _q(d.username))
        if d.secret is not None:
            o.append("file.password-secret=" + secret_file(d, i))
    elif p == "rbd":
        pool, _, image = d.filename.lstrip("/").partition("/")
        if not pool or not image:
            raise LaunchError("rbd drive name must be POOL/IMAGE, got %r" % d.filename)
        o += ["file.driver=rbd", "file.pool=" + _q(pool), "file.image=" + _q(image)]
        for n, s in enumerate(d.servers):
            o += ["file.server.%d.host=%s" % (n, _q(s.host)),
                  "file.server.%d.port=%d" % (n, s.port)]
        if d.username:
            o.append("file.user=" + _q(d.username))
        if d.secret is not None:
            o.append("file.key-secret=" + secret_file(d, i))
    elif p == "gluster":
        vol, _, path = d.filename.lstrip("/").partition("/")
        o += ["file.driver=gluster", "file.volume=" + _q(vol), "file.path=" + _q(path)]
        for n, s in enumerate(d.servers):
            if s.transport == "unix":
                o += ["file.server.%d.type=unix" % n, "file.server.%d.path=%s" % (n, _q(s.socket))]
            else:
                o += ["file.server.%d.type=inet" % n, "file.server.%d.host=%s" % (n, _q(s.host)),
                      "file.server.%d.port=%d" % (n, s.port)]
    else:
        raise LaunchError("protocol %s is not supported by the direct backend" % p)
    return o


class DirectBackend(WatchedLaunch, Backend):
    name = "direct"
    settings_doc = {
        "force_tcg": "never use KVM (software emulation)",
        "force_kvm": "use KVM without probing; fail (never fall back) if it is not usable",
        "gdb": "start qemu with a gdb server on 127.0.0.1:1234, stopped before the kernel "
               "runs",
        "machine=TYPE": "qemu machine type (default q35)",
        "kvm_timeout=SECONDS": "under KVM, fall back to TCG when the kernel shows no sign "
                               "of life for this long (default 5)",
        "launch_timeout=SECONDS": "give up launching after this long (default 300)",
    }

    def __init__(self, handle, param=None):
        super().__init__(handle, param)
        self.proc = None
        self.console = ConsoleLog(handle)
        self._console_thread = None
        self.qmp = None
        self.qmp_path = None
        self.accel = None

    @classmethod
    def host_supported(cls):
        try:
            find_qemu()
        except LaunchError as e:
            return False, str(e)
        return True, ""

    # -- settings --
    def choose_accel(self, qemu):
        if self._setting("force_tcg") is not None or self._no_kvm:
            return "tcg"
        if self._setting("force_kvm") is not None:
            return "kvm"
        works, reason, cached = kvm.probe(qemu, self.handle._cachedir())
        if works:
            return "kvm"
        self.handle._warning("KVM is not usable (%s%s); the appliance runs under TCG, "
                             "which is slower" % (reason, ", verdict cached" if cached else ""))
        return "tcg"

    # -- argv --
    def build_argv(self, appliance, drives, tmpdir, sock_path, accel, qemu):
        h = self.handle
        machine = self._setting("machine") or "q35"
        argv = [qemu, "-no-user-config", "-nodefaults", "-display", "none", "-no-reboot",
                "-machine", "%s,accel=%s" % (machine, accel),
                "-cpu", "host" if accel == "kvm" else "max",
                "-m", str(h._prop("memsize")), "-smp", str(h._prop("smp")),
                "-rtc", "driftfix=slew",
                "-kernel", appliance.kernel, "-initrd", appliance.initrd,
                "-append", self.kernel_cmdline(),
                "-serial", "stdio",
                "-device", "virtio-rng-pci",
                "-device", "virtio-serial-pci,id=vs",
                # every path in a qemu option string is escaped (a comma is doubled): a
                # TMPDIR with ",opt=..." in it must not add options of its own
                "-chardev", "socket,id=channel0,path=%s" % _q(sock_path),
                "-device", "virtserialport,bus=vs.0,chardev=channel0,name=%s" % CHANNEL,
                "-device", "virtio-scsi-pci,id=scsi"]
        if appliance.root:
            argv += ["-drive", "file=%s,format=raw,if=none,id=appliance,readonly=on"
                     % _q(appliance.root),
                     "-device", "virtio-blk-pci,drive=appliance"]
        self.qmp_path = os.path.join(tmpdir, "qmp.sock")
        argv += ["-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % _q(self.qmp_path),
                 "-mon", "chardev=qmp,mode=control"]
        self._tmpdir = tmpdir
        self._secrets = []
        for i, d in enumerate(drives):
            argv += self.drive_args(d, i)
        if h._prop("network"):
            argv += ["-netdev", "user,id=usernet,net=169.254.0.0/16",
                     "-device", "virtio-net-pci,netdev=usernet"]
        if self._setting("gdb") is not None:
            # on the loopback interface only: a gdb stub gives whoever connects the VM
            argv += ["-gdb", "tcp:127.0.0.1:1234", "-S"]
        return argv

    def kernel_cmdline(self, acpi_off=None):
        """The appliance kernel's command line.  acpi_off: None decides (off for one vCPU
        on q35/pc, where every device sits on the root bus); backends whose devices sit
        behind PCIe root ports must keep ACPI."""
        h = self.handle
        args = list(KERNEL_ARGS)
        # the daemon attaches the drives one by one, so that names follow the add order
        args.append("%s%s=%d" % (CMDLINE_PREFIX, CMDLINE_DRIVES, len(h._drives)))
        if h._prop("network"):
            args.append("%s%s=1" % (CMDLINE_PREFIX, CMDLINE_NETWORK))
        if acpi_off is None:
            acpi_off = h._prop("smp") == 1 and self._setting("machine") in (None, "q35", "pc")
        if acpi_off:
            args.append("acpi=off")     # ~0.2 s less boot; SMP needs ACPI's CPU tables
        args.append("PYTHONHASHSEED=%d" % (int.from_bytes(os.urandom(4), "little") % 4294967295))
        if h._prop("verbose"):
            args.append("%s%s=1" % (CMDLINE_PREFIX, CMDLINE_VERBOSE))
        else:
            args.append("quiet")
        if h._prop("append"):
            args.append(h._prop("append"))
        return " ".join(args)

    def drive_args(self, d, i):
        if d.protocol != "file":
            opts = remote_drive_options(d, i, self._secret_file)
        else:
            path = d.overlay or d.filename
            opts = ["file=%s" % _q(path)]
        fmt = "qcow2" if d.overlay else d.format
        opts += ["format=%s" % fmt, "if=none",
                 "id=hd%d" % i, "cache=%s" % d.cachemode, "discard=%s" % (
                     "unmap" if d.discard in ("enable", "besteffort") else "ignore")]
        if d.copyonread:
            opts.append("copy-on-read=on")
        dev = "scsi-hd,drive=hd%d,bus=scsi.0,channel=0,scsi-id=%d,lun=0" % (i, i)
        if d.blocksize:
            dev += ",logical_block_size=%d,physical_block_size=%d" % (d.blocksize, d.blocksize)
        if d.readonly and not d.overlay:
            # a remote drive: qemu keeps the writes in a temporary overlay of its own
            opts.append("snapshot=on")
        args = []
        for sid, path in self._secrets:
            args += ["-object", "secret,id=%s,file=%s,format=raw" % (sid, _q(path))]
        self._secrets = []
        return args + ["-drive", ",".join(opts), "-device", dev]

    def _secret_file(self, d, i):
        """Put a remote drive's secret in a 0600 file (never on qemu's command line)."""
        path = os.path.join(self._tmpdir, "secret%d" % i)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(d.secret)
        sid = "sec%d" % i
        self._secrets.append((sid, path))
        return sid

    # -- launch --
    def launch(self, appliance, drives, tmpdir):
        h = self.handle
        qemu = self._qemu = find_qemu(h._prop("hv"))
        self.accel = self.choose_accel(qemu)
        timeout = self.launch_timeout()
        self.console = ConsoleLog(h)            # a fresh one for each attempt
        self.watch = BootWatch(self, self.accel == "kvm", silence_limit(self))
        listener = ApplianceListener(tmpdir)
        argv = self.build_argv(appliance, drives, tmpdir, listener.path, self.accel, qemu)
        h._debug("qemu command line: %s" % " ".join(argv))
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, close_fds=True,
                preexec_fn=self._preexec, cwd=tmpdir)
        except OSError as e:
            listener.close()
            raise LaunchError("cannot run %s: %s" % (qemu, e)) from None
        # the thread holds the console log and qemu's stdout, not this backend: a running
        # thread must not keep the handle alive (dropping it closes it and stops qemu)
        self._console_thread = threading.Thread(
            target=_read_console, args=(self.proc.stdout.fileno(), self.console),
            daemon=True, name="guestkit-console")
        self._console_thread.start()
        self.watch.started()
        try:
            conn = listener.accept(timeout, self.watch.trouble, self.watch.error)
        except BaseException:
            self.shutdown(graceful=False)
            raise
        finally:
            listener.close()
        self.watch.connected = True
        self._deadline = listener.deadline
        return conn

    def _gone(self):
        """(why, points at KVM) once qemu has exited, else None."""
        if self.proc.poll() is None:
            return None
        self._console_thread.join(1)
        rc = self.proc.returncode
        if rc < 0:
            # an abort or a crash may be KVM's; SIGKILL/SIGTERM come from outside
            return "qemu was killed by signal %d" % -rc, -rc in (signal.SIGABRT,
                                                                signal.SIGSEGV)
        return "qemu exited with status %d" % rc, False

    def _preexec(self):
        if self.handle._prop("recovery_proc"):
            _pdeathsig()
        if self.handle._prop("pgroup"):
            os.setpgid(0, 0)

    def console_tail(self):
        # called after a failure: let a qemu that is exiting finish printing why
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            if self._console_thread is not None and self.proc.poll() is not None:
                self._console_thread.join(2)
        return list(self.console.lines)

    # -- QMP --
    def connect_qmp(self):
        if self.qmp is not None or not self.qmp_path:
            return self.qmp
        try:
            from qemu.qmp.legacy import QEMUMonitorProtocol
            q = QEMUMonitorProtocol(self.qmp_path)
            q.connect()
            self.qmp = q
        except Exception as e:
            self.handle._debug("QMP connection failed: %s" % e)
            self.qmp = None
        return self.qmp

    def qmp_command(self, cmd, **args):
        q = self.connect_qmp()
        if q is None:
            raise LaunchError("QMP is not available")
        return q.cmd(cmd, **args) if hasattr(q, "cmd") else q.command(cmd, **args)

    def status(self):
        return self.qmp_command("query-status")

    # -- shutdown --
    def shutdown(self, graceful=True):
        p = self.proc
        if p is None:
            return None
        if graceful:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                graceful = False
        if not graceful and p.poll() is None:
            try:
                self.qmp_command("quit")
                p.wait(timeout=3)
            except Exception:
                pass
        if p.poll() is None:
            p.kill()
            p.wait()
        if self.qmp is not None:
            try:
                self.qmp.close()
            except Exception:
                pass
            self.qmp = None
        if self._console_thread is not None:
            self._console_thread.join(2)
        try:
            p.stdout.close()
        except Exception:
            pass
        self.proc = None
        return p.returncode

    def pid(self):
        return self.proc.pid if self.proc else None


def _read_console(fd, console):
    """Feed qemu's console output (FD) to CONSOLE until qemu closes it."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        console.feed(data)
    console.flush()
