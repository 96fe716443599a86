"""The direct backend: run qemu ourselves.

qemu's console goes to a pipe read by a thread (APPLIANCE events, and the last lines quoted
when a launch fails); the daemon's virtio-serial port connects to a unix socket this backend
listens on; qemu is controlled over QMP (backends/qmp.py) for a clean stop; and it never outlives
the process that started it (PR_SET_PDEATHSIG).
"""

import ctypes
import os
import queue
import signal
import stat
import subprocess
import threading
import time
import weakref

from .base import ApplianceListener, Backend, ConsoleLog, HandleGone, LaunchError
from .launchwatch import BootWatch, WatchedLaunch, silence_limit
from . import kvm, snapshot
from .qmp import QMP, QMPError
from .snapshot import SnapshotError
from .cmdline import appliance_cmdline
from .hypervisor import find_qemu
from .tsc import host_tsc_khz
from ..client import SessionLost
from ..daemon.contract import CHANNEL, disk_letters
#: seconds a restored daemon has to answer its first call
RESUME_TIMEOUT = 20.0


def _pdeathsig():
    """In the child: die when the parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG
    except Exception:
        pass


class _Spawner:
    """Starts qemu from one thread that lives as long as the process.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process:
    qemu started from a worker thread (a thread pool, a fleet) would be killed as soon as
    that thread finished, under a handle still in use."""

    def __init__(self):
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def popen(self, argv, **kw):
        if threading.current_thread() is threading.main_thread():
            return subprocess.Popen(argv, **kw)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name="guestkit-spawner")
                self._thread.start()
        box = {"done": threading.Event()}
        self._queue.put((argv, kw, box))
        box["done"].wait()
        if "error" in box:
            raise box["error"]
        return box["proc"]

    def _serve(self):
        while True:
            argv, kw, box = self._queue.get()
            try:
                box["proc"] = subprocess.Popen(argv, **kw)
            except BaseException as e:      # noqa: B902 - handed to the caller
                box["error"] = e
            box["done"].set()


_spawner = _Spawner()


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
    #: config() parameters are added to the qemu command line
    takes_hv_params = True
    settings_doc = {
        "force_tcg": "never use KVM (software emulation)",
        "force_kvm": "use KVM without probing; fail (never fall back) if it is not usable",
        "gdb": "start qemu with a gdb server on 127.0.0.1:1234, stopped before the kernel "
               "runs",
        "machine=TYPE": "qemu machine type (default q35)",
        "kvm_timeout=SECONDS": "under KVM, fall back to TCG when the kernel shows no sign "
                               "of life for this long (default 5)",
        "launch_timeout=SECONDS": "give up launching after this long (default 300)",
        "snapshot=off": "boot the appliance cold on every launch instead of restoring a "
                        "saved one (GUESTKIT_SNAPSHOT=0 does the same)",
    }

    #: why the last launch booted cold instead of restoring a snapshot (None: it restored)
    cold_reason = None

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
    def appliance_argv(self, appliance, accel, qemu, cmdline, channel, memory=None):
        """The machine: everything a saved snapshot must match, with the daemon's channel at
        CHANNEL.  MEMORY: (file, share) to run the RAM from a file (snapshot launches)."""
        h = self.handle
        machine = self._setting("machine") or "q35"
        mem = h._prop("memsize")
        argv = [qemu, "-no-user-config", "-nodefaults", "-display", "none", "-no-reboot",
                "-machine", "%s,accel=%s%s" % (machine, accel,
                                               ",memory-backend=ram" if memory else ""),
                "-cpu", "host" if accel == "kvm" else "max",
                "-m", "%dM" % mem, "-smp", str(h._prop("smp")),
                "-rtc", "driftfix=slew"]
        if memory:
            argv += ["-object", "memory-backend-file,id=ram,size=%dM,mem-path=%s,share=%s"
                     % (mem, _q(memory[0]), memory[1])]
        argv += ["-kernel", appliance.kernel, "-initrd", appliance.initrd,
                 "-append", cmdline,
                 "-serial", "stdio",
                 "-device", "virtio-rng-pci",
                 "-device", "virtio-serial-pci,id=vs",
                 # every path in a qemu option string is escaped (a comma is doubled): a
                 # TMPDIR with ",opt=..." in it must not add options of its own
                 "-chardev", "socket,id=channel0,path=%s" % _q(channel),
                 "-device", "virtserialport,bus=vs.0,chardev=channel0,name=%s" % CHANNEL,
                 # hotplug=off: the guest adds a disk only when the daemon asks for its target,
                 # so disk names follow the add order however drives arrive
                 "-device", "virtio-scsi-pci,id=scsi,hotplug=off"]
        if appliance.root:
            argv += ["-drive", "file=%s,format=raw,if=none,id=appliance,readonly=on"
                     % _q(appliance.root),
                     "-device", "virtio-blk-pci,drive=appliance"]
        return argv

    def qmp_argv(self, tmpdir, name="qmp.sock"):
        self.qmp_path = os.path.join(tmpdir, name)
        return ["-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % _q(self.qmp_path),
                "-mon", "chardev=qmp,mode=control"]

    def build_argv(self, appliance, drives, tmpdir, sock_path, accel, qemu):
        h = self.handle
        argv = self.appliance_argv(appliance, accel, qemu, self.kernel_cmdline(), sock_path)
        argv += self.qmp_argv(tmpdir)
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
        for param, value in h._hv_params():
            # config(): the user's own parameters, after guestkit's
            argv += [param] if value is None else [param, value]
        return argv

    def kernel_cmdline(self, acpi_off=None, drives=None, hashseed=None):
        """The appliance kernel's command line (backends/cmdline.py); acpi_off=None: off
        for one vCPU on q35/pc."""
        if acpi_off is None:
            acpi_off = self._setting("machine") in (None, "q35", "pc")
        tsc = self.tsc_arg()
        return appliance_cmdline(self.handle, acpi_off, drives, hashseed,
                                 [tsc] if tsc else [])

    def tsc_arg(self):
        """tsc_early_khz=N under TCG (the host's TSC rate: a kernel calibrating it on a
        busy host keeps a wrong clock), else None (KVM guests get it from kvmclock)."""
        if self.accel != "tcg" or "tsc_early_khz=" in (self.handle._prop("append") or ""):
            return None
        khz = host_tsc_khz(self.handle._cachedir())
        return "tsc_early_khz=%d" % khz if khz else None

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
        dev = "scsi-hd,id=sd%d,drive=hd%d,bus=scsi.0,channel=0,scsi-id=%d,lun=0" % (i, i, i)
        d.target, d.device_id, d.node = i, "sd%d" % i, None
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
        self.greeting = None
        why = self.cold_reason = self.snapshot_refusal(drives)
        if why is None:
            try:
                return self._launch_restored(appliance, drives, tmpdir, qemu)
            except LaunchError as e:
                if e.kvm:
                    raise           # KVM failed: the handle falls back to TCG
                why = str(e)
            except HandleGone:
                raise
            except Exception as e:
                why = "%s: %s" % (type(e).__name__, e)
            self.shutdown(graceful=False)
            self.cold_reason = why
            h._debug("snapshot launch failed, booting cold: %s" % why)
        else:
            h._debug("booting cold: %s" % why)
        return self._launch_cold(appliance, drives, tmpdir, qemu)

    def _spawn(self, argv, tmpdir):
        h = self.handle
        h._debug("qemu command line: %s" % " ".join(argv))
        self.console = ConsoleLog(h)            # a fresh one for each attempt
        try:
            self.proc = _spawner.popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, close_fds=True,
                preexec_fn=self._preexec, cwd=tmpdir)
        except OSError as e:
            raise LaunchError("cannot run %s: %s" % (argv[0], e)) from None
        # the thread holds the console log and qemu's stdout, not this backend: a running
        # thread must not keep the handle alive (dropping it closes it and stops qemu)
        self._console_thread = threading.Thread(
            target=_read_console, args=(self.proc.stdout.fileno(), self.console),
            daemon=True, name="guestkit-console")
        self._console_thread.start()

    def _boot(self, argv, tmpdir, listener):
        """Start qemu with ARGV and wait for the appliance to dial LISTENER."""
        self.watch = BootWatch(self, self.accel == "kvm", silence_limit(self))
        try:
            self._spawn(argv, tmpdir)
        except BaseException:
            listener.close()
            raise
        self.watch.started()
        try:
            conn = listener.accept(self.launch_timeout(), self.watch.trouble, self.watch.error)
        except BaseException:
            self.shutdown(graceful=False)
            raise
        finally:
            listener.close()
        self.watch.connected = True
        self._deadline = listener.deadline
        return conn

    def _launch_cold(self, appliance, drives, tmpdir, qemu):
        listener = ApplianceListener(tmpdir)
        argv = self.build_argv(appliance, drives, tmpdir, listener.path, self.accel, qemu)
        return self._boot(argv, tmpdir, listener)

    # -- snapshot launch (backends/snapshot.py) --
    def snapshot_refusal(self, drives):
        """Why this launch cannot restore a snapshot (it boots cold), or None."""
        h = self.handle
        if self._setting("snapshot") in ("off", "0", "no") or \
                os.environ.get("GUESTKIT_SNAPSHOT", "1") in ("0", "off", "no"):
            return "snapshot launches are turned off"
        if self._setting("gdb") is not None:
            return "the gdb setting is on"
        if h._prop("network"):
            return "the network is on (the daemon brings it up at boot)"
        if h._prop("append"):
            return "append adds kernel options"
        if h._hv_params():
            return "config adds hypervisor parameters"
        for d in drives:
            if d.protocol != "file":
                return "drive %s is remote (%s): qemu opens it at boot" % (d.filename,
                                                                         d.protocol)
        return None

    def snapshot_cmdline(self, hashseed=None):
        """The kernel command line of a snapshot's boot: no drives, and ACPI kept even for
        one vCPU (its ~0.2 s are paid once per snapshot; with the local APIC instead of
        the PIC a call's round trip is ~15% shorter under TCG)."""
        return self.kernel_cmdline(acpi_off=False, drives=0, hashseed=hashseed)

    def snapshot_key(self, appliance, qemu):
        template = self.appliance_argv(
            appliance, self.accel, qemu, self.snapshot_cmdline(hashseed="@SEED@"),
            snapshot.CHANNEL_PLACEHOLDER, (snapshot.RAM_PLACEHOLDER, "@SHARE@"))
        return snapshot.snapshot_key(appliance, qemu, template)

    def _launch_restored(self, appliance, drives, tmpdir, qemu):
        h = self.handle
        t0 = time.monotonic()
        key = self.snapshot_key(appliance, qemu)
        snap = snapshot.obtain(appliance, key,
                               lambda dest: self._make_snapshot(appliance, qemu, tmpdir, dest),
                               h._debug)
        snapshot.touch(snap)
        self.snapshot_path = snap.path          # which snapshot this launch restored
        marks = {"snapshot": round(time.monotonic() - t0, 3)}
        def bad_snapshot(e):
            # worth a warning: a snapshot that does not restore is not normal
            snapshot.discard(snap.path, "it did not restore (%s); this launch boots cold and "
                             "the next one makes a new snapshot" % e, h._warning)
        try:
            conn = self._restore(appliance, qemu, tmpdir, snap, marks, t0)
        except Exception as e:
            bad_snapshot(e)
            raise
        try:
            # qemu plugs every drive first (the guest sees none until the daemon scans their
            # targets in add order); then one call resumes the daemon and attaches them.  A
            # drive qemu refuses is the drive's fault, not the snapshot's
            for i, d in enumerate(drives):
                self.qemu_plug(d, i)
            marks["plugged"] = round(time.monotonic() - t0, 3)
            try:
                hello = self._resume(conn, len(drives))
            except (SessionLost, SnapshotError) as e:
                bad_snapshot(e)         # the restored daemon did not answer as it should
                raise
            marks["resumed"] = round(time.monotonic() - t0, 3)
            names = hello.get("disks")
            want = ["sd" + disk_letters(i) for i in range(len(drives))]
            if names != want:
                raise SnapshotError("the drives became %r, not %r" % (names, want))
        except BaseException:
            conn.close()
            raise
        conn.settimeout(None)
        hello["marks"] = marks
        self.greeting = hello
        return conn

    def _make_snapshot(self, appliance, qemu, tmpdir, dest):
        """Boot the appliance with no drives and save it into DEST (snapshot.obtain)."""
        h = self.handle
        h._debug("making the launch snapshot (once per appliance and settings)")
        cmdline = self.snapshot_cmdline()
        listener = ApplianceListener(tmpdir)
        argv = self.appliance_argv(appliance, self.accel, qemu, cmdline, listener.path,
                                   (os.path.join(dest, "ram"), "on"))
        argv += self.qmp_argv(tmpdir, "snapshot-qmp.sock")
        conn = self._boot(argv, tmpdir, listener)
        try:
            client = _plain_client(conn, h)
            deadline = time.monotonic() + self.remaining()
            while not client.readable(0.05):
                trouble = self.watch.trouble()
                if trouble is not None:
                    raise trouble
                if time.monotonic() > deadline:
                    raise self.watch.error("the daemon did not greet")
            hello = client.read_hello(timeout=max(1.0, deadline - time.monotonic()))
            q = QMP(self.qmp_path).connect(time.monotonic() + 10)
            try:
                snapshot.save(q, self.proc, os.path.join(dest, "state"))
            finally:
                q.close()
        finally:
            conn.close()
            self.shutdown(graceful=False)
        return {"cmdline": cmdline, "accel": self.accel, "boot_s": hello.get("boot_s"),
                "release": hello.get("release")}

    def _restore(self, appliance, qemu, tmpdir, snap, marks, t0):
        """qemu restoring SNAP; the daemon's connected channel."""
        listener = ApplianceListener(tmpdir)
        try:
            argv = self.appliance_argv(appliance, self.accel, qemu, snap.cmdline,
                                       listener.path, (snap.ram, "off"))
            argv += self.qmp_argv(tmpdir) + ["-incoming", "defer"]
            self._spawn(argv, tmpdir)
            timeout = self.launch_timeout()
            self.qmp = QMP(self.qmp_path).connect(time.monotonic() + timeout)
            marks["qmp"] = round(time.monotonic() - t0, 3)
            snapshot.restore(self.qmp, self.proc, snap)
            marks["running"] = round(time.monotonic() - t0, 3)

            def trouble():
                gone = self._gone()
                return None if gone is None else LaunchError(gone[0])
            conn = listener.accept(timeout, trouble, LaunchError)
        finally:
            listener.close()
        return conn

    def _resume(self, conn, drives):
        """The restored daemon's greeting, once it took the host's entropy and clock and
        attached the DRIVES (a count) plugged at targets 0, 1, ..."""
        h = self.handle
        client = _plain_client(conn, h)
        conn.settimeout(RESUME_TIMEOUT)
        nonce = os.urandom(16).hex()
        hello = client.call("internal_resume", [], {
            "entropy": os.urandom(64).hex(), "clock_ns": time.time_ns(), "nonce": nonce,
            "verbose": bool(h._prop("verbose")), "drives": drives})
        from ..daemon import protocol as P
        if not isinstance(hello, dict) or hello.get("nonce") != nonce or \
                hello.get("magic") != P.MAGIC or hello.get("version") != P.VERSION:
            raise SnapshotError("the restored daemon answered %r" % (repr(hello)[:200],))
        return hello

    # -- hot-plugging (drives attached while the appliance runs) --
    @classmethod
    def hotplug_supported(cls):
        return True, "host files and devices"

    @classmethod
    def snapshot_supported(cls):
        return True, ("restores a saved appliance; boots cold with network, append, gdb, "
                      "remote drives or snapshot=off")

    def plug(self, client, d, target, label=None):
        """Attach drive D as SCSI target TARGET of the running appliance; its disk name."""
        self.qemu_plug(d, target)
        try:
            return client.call("internal_attach", [], {"target": target, "label": label})
        except BaseException:
            self._qemu_unplug(d)
            raise

    def qemu_plug(self, d, target):
        """qemu's half of plugging D: a block node and a scsi-hd device at TARGET."""
        if d.protocol != "file":
            raise LaunchError("only drives of the file protocol can be hot-plugged (%s is %s)"
                              % (d.filename, d.protocol))
        self._plugs = getattr(self, "_plugs", 0) + 1
        node = "gk%d" % self._plugs
        spec = blockdev_spec(d, node)
        self.qmp_command("blockdev-add", **spec)
        dev = {"driver": "scsi-hd", "id": node + "-dev", "drive": node, "bus": "scsi.0",
               "channel": 0, "scsi-id": target, "lun": 0}
        if d.blocksize:
            dev.update(logical_block_size=d.blocksize, physical_block_size=d.blocksize)
        try:
            self.qmp_command("device_add", **dev)
        except BaseException:
            self.qmp_command("blockdev-del", **{"node-name": node})
            raise
        d.target, d.device_id, d.node = target, node + "-dev", node

    def unplug(self, client, d):
        """Detach drive D (the daemon refuses while it is in use)."""
        client.call("internal_detach", [], {"target": d.target})
        self._qemu_unplug(d)

    def _qemu_unplug(self, d):
        self.qmp_command("device_del", id=d.device_id)
        self.qmp.wait_event("DEVICE_DELETED", 30,
                            lambda data: data.get("device") == d.device_id)
        if d.node:
            self.qmp_command("blockdev-del", **{"node-name": d.node})

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
            self.qmp = QMP(self.qmp_path, timeout=10).connect()
        except QMPError as e:
            self.handle._debug("QMP connection failed: %s" % e)
            self.qmp = None
        return self.qmp

    def qmp_command(self, cmd, **args):
        q = self.connect_qmp()
        if q is None:
            raise LaunchError("QMP is not available")
        return q.command(cmd, **args)

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


def _plain_client(conn, h):
    """A client for the launch's own calls (the handle makes its own afterwards)."""
    from ..client import Client
    ref = weakref.ref(h)        # a client and its reader make a cycle: do not hold H

    def log(text):
        handle = ref()
        if handle is not None:
            handle._debug("daemon: %s" % text.decode("utf-8", "replace").rstrip())
    return Client(conn, on_log=log)


def blockdev_spec(d, node):
    """QMP blockdev-add arguments for local drive D (its overlay if it has one), as the
    -drive options of a cold boot open it."""
    path = d.overlay or d.filename
    try:
        block = stat.S_ISBLK(os.stat(path).st_mode)
    except OSError as e:
        raise LaunchError("%s: %s" % (path, e.strerror)) from None
    discard = "unmap" if d.discard in ("enable", "besteffort") else "ignore"
    spec = {"driver": "qcow2" if d.overlay else d.format, "node-name": node,
            "discard": discard,
            "cache": {"direct": False, "no-flush": d.cachemode == "unsafe"},
            "file": {"driver": "host_device" if block else "file", "filename": path,
                     "discard": discard}}
    if d.copyonread:
        spec["node-name"] = node + "-fmt"
        spec = {"driver": "copy-on-read", "node-name": node, "file": spec}
    return spec
