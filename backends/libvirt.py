"""The libvirt backend: the appliance runs as a transient libvirt domain.

``libvirt`` alone is libvirt's default connection (LIBVIRT_DEFAULT_URI, else qemu:///system
for root and qemu:///session for anybody else), as in libguestfs; ``libvirt:URI`` picks the
URI.  The domain is created with
VIR_DOMAIN_START_AUTODESTROY, so it dies with the connection (and with this process).

sVirt: for the dac driver as root, the domain runs qemu as root (a static 0:0 label without
relabelling) because the appliance, its socket and overlays are root's private files; other
security drivers (selinux, apparmor) get no label of ours, but a non-dac seclabel read by
add_domain is carried over; a custom hypervisor gets ``seclabel type='none'`` for the non-dac
models.
"""

import copy
import os
import threading
import time
import uuid

from .base import (ApplianceListener, Backend, ConsoleLog, KVM_FAILURE_NEEDLES,
                   KVM_UNUSABLE_NEEDLES, LaunchError)
from .cmdline import appliance_cmdline
from .hypervisor import find_qemu
from .launchwatch import BootWatch, WatchedLaunch, silence_limit
from .. import libvirt_xml as X
from ..daemon.contract import CHANNEL, disk_letters
from . import kvm


#: what libvirt says when this host's emulator cannot use KVM
LIBVIRT_NO_KVM = ("does not support virt type 'kvm'",) + KVM_UNUSABLE_NEEDLES


def is_local(uri):
    """True for a URI whose domains run on this host (no host name in it)."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    return rest.startswith("/") or rest.split("/", 1)[0] in ("", "localhost")


def default_uri():
    """libvirt's default connection: LIBVIRT_DEFAULT_URI, else qemu:///system for root and
    qemu:///session for anybody else."""
    return os.environ.get("LIBVIRT_DEFAULT_URI") or (
        "qemu:///system" if os.geteuid() == 0 else "qemu:///session")


class LibvirtBackend(WatchedLaunch, Backend):
    name = "libvirt"
    settings_doc = {
        "force_tcg": "domain type qemu (software emulation) without probing KVM",
        "force_kvm": "domain type kvm without probing; fail (never fall back) if KVM "
                     "does not work",
        "kvm_timeout=SECONDS": "under KVM, fall back to TCG when the kernel shows no sign "
                               "of life for this long (default 5)",
        "launch_timeout=SECONDS": "give up launching after this long (default 300)",
    }

    def __init__(self, handle, param=None):
        super().__init__(handle, param)
        self.uri = param or default_uri()
        self.conn = None
        self.dom = None
        self.domname = None
        self.console = ConsoleLog(handle)
        self._stop_console = threading.Event()
        self._console_thread = None
        self.used_kvm = False
        self._caps = None
        self._verdict_is_local = is_local(self.uri)
        self._attempt = 0

    @classmethod
    def host_supported(cls):
        try:
            import libvirt  # noqa: F401
        except ImportError:
            return False, "libvirt-python is not installed (pip install 'guestkit[libvirt]')"
        if os.geteuid() == 0 and not os.environ.get("LIBVIRT_DEFAULT_URI") and \
                not os.path.exists("/run/libvirt/libvirt-sock"):
            return False, "libvirtd is not running (no /run/libvirt/libvirt-sock)"
        return True, ""

    # -- the domain --
    def _kvm(self, qemu):
        if self._setting("force_tcg") is not None or self._no_kvm:
            return False
        if self._setting("force_kvm") is not None:
            return True
        if not self._verdict_is_local:
            # another host: its libvirt says whether it has KVM; nothing is cached here
            return "type='kvm'" in (self._caps or "") or 'type="kvm"' in (self._caps or "")
        works, reason, cached = kvm.probe(qemu, self.handle._cachedir())
        if not works:
            self.handle._warning("KVM is not usable (%s); the appliance runs under TCG"
                                 % reason)
        return works

    def domain_xml(self, appliance, drives, sock_path, console_path, secmodels):
        h = self.handle
        qemu = self._qemu = find_qemu(h._prop("hv"))
        dom = X.Domain()
        self.domname = "guestkit-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.used_kvm = self._kvm(qemu)
        dom.set_appliance_defaults(self.domname, self.used_kvm, h._prop("memsize"),
                                   h._prop("smp"), appliance.kernel, appliance.initrd,
                                   appliance_cmdline(self.handle, acpi_off=False), qemu)
        if appliance.root:
            root = dom.device(X.Disk())
            root.type, root.device = "file", "disk"
            root.driver_name, root.driver_type = "qemu", "raw"
            root.add(X.DiskSource()).file = appliance.root
            root.target_dev, root.target_bus = "vda", "virtio"
            root.readonly = True
        ctl = dom.device(X.Controller())
        ctl.type, ctl.index, ctl.model = "scsi", "0", "virtio-scsi"
        for i, d in enumerate(drives):
            self._drive(dom, d, i)
        ser = dom.device(X.Serial())
        ser.type, ser.source_path, ser.target_port = "file", console_path, "0"
        ch = dom.device(X.Channel())
        ch.type, ch.source_mode, ch.source_path = "unix", "connect", sock_path
        ch.target_type, ch.target_name = "virtio", CHANNEL
        rng = dom.device(X.Rng())
        rng.model, rng.backend_model, rng.backend = "virtio", "random", "/dev/urandom"
        bal = dom.device(X.MemBalloon())
        bal.model = "none"
        if h._prop("network"):
            nic = dom.device(X.Interface())
            nic.type, nic.model = "user", "virtio"
            # the same addresses as the direct backend's slirp (daemon/network.py)
            nic.ip_family, nic.ip_address, nic.ip_prefix = "ipv4", "169.254.0.0", "16"
        self._seclabels(dom, secmodels)
        return dom.to_xml()

    @classmethod
    def _drive(cls, dom, d, i):
        cls._fill_disk(dom.device(X.Disk()), d, i)

    @staticmethod
    def _fill_disk(disk, d, i):
        """DISK (an X.Disk) for drive D as SCSI target I (/dev/sd + disk_letters(I))."""
        disk.device = "disk"
        disk.driver_name = "qemu"
        if d.protocol != "file":
            if d.secret is not None:
                raise LaunchError("remote drives with a secret need the direct backend "
                                  "(libvirt wants a secret object)")
            disk.type = "network"
            src = disk.add(X.DiskSource())
            src.protocol = d.protocol
            src.name = d.filename
            for s in d.servers:
                host = src.add(X.Host())
                if s.transport == "unix":
                    host.transport, host.socket = "unix", s.socket
                else:
                    host.name, host.port = s.host, str(s.port)
            if d.username:
                disk.auth_username = d.username
            disk.driver_type = d.format
        else:
            path = d.overlay or d.filename
            import stat as _stat
            isblk = _stat.S_ISBLK(os.stat(path).st_mode)
            disk.type = "block" if isblk else "file"
            src = disk.add(X.DiskSource())
            if isblk:
                src.dev = path
            else:
                src.file = path
            disk.driver_type = "qcow2" if d.overlay else d.format
        disk.driver_cache = "writeback" if d.cachemode == "writeback" else "unsafe"
        disk.driver_discard = "unmap" if d.discard in ("enable", "besteffort") else "ignore"
        if d.copyonread:
            disk.driver_copy_on_read = "on"
        if d.readonly and not d.overlay:
            disk.readonly = True
        disk.target_dev, disk.target_bus = "sd" + disk_letters(i), "scsi"
        disk.address_type, disk.address_controller = "drive", "0"
        disk.address_bus, disk.address_target, disk.address_unit = "0", str(i), "0"
        if d.blocksize:
            disk.blockio_logical = disk.blockio_physical = str(d.blocksize)
        d.target, d.device_id, d.node = i, None, None

    # -- hot-plugging: disks attached to and detached from the live domain --
    @classmethod
    def hotplug_supported(cls):
        return True, "disks attached to the running domain (attachDeviceFlags)"

    @classmethod
    def snapshot_supported(cls):
        return False, ("not implemented: libvirt's save/restore would copy the whole "
                       "saved RAM into every domain (the direct backend maps one RAM file "
                       "copy-on-write); each launch boots the domain")

    def plug(self, client, d, target, label=None):
        import libvirt
        disk = X.Disk()
        self._fill_disk(disk, d, target)
        xml = disk.to_xml()
        try:
            self.dom.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as e:
            raise LaunchError("libvirt could not attach %s: %s"
                              % (d.filename, e.get_error_message())) from None
        try:
            return client.call("internal_attach", [], {"target": target, "label": label})
        except BaseException:
            self._detach(target)
            raise

    def unplug(self, client, d):
        client.call("internal_detach", [], {"target": d.target})
        self._detach(d.target)

    def _detach(self, target):
        import libvirt
        disk = [x for x in self._domain_disks() if x.address_target == str(target)]
        if not disk:
            raise LaunchError("the domain has no disk at SCSI target %d" % target)
        try:
            self.dom.detachDeviceFlags(disk[0].to_xml(), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as e:
            raise LaunchError("libvirt could not detach the disk at SCSI target %d: %s"
                              % (target, e.get_error_message())) from None

    def _domain_disks(self):
        """The live domain's disks, as libvirt describes them now."""
        from lxml import etree
        root = etree.fromstring(self.dom.XMLDesc(0).encode())
        return [X.Disk(n) for n in root.findall("./devices/disk")]

    def _seclabels(self, dom, secmodels):
        h = self.handle
        if "dac" in secmodels and os.geteuid() == 0:
            # root: the appliance files are root's private files, so qemu runs as root
            lab = X.SecLabel()
            lab.type, lab.model, lab.relabel = "static", "dac", "no"
            lab.label = "+0:+0"
            dom.add(lab)
        if h._prop("hv"):
            # a custom hypervisor is outside what selinux/apparmor policies allow
            for model in secmodels:
                if model != "dac":
                    lab = X.SecLabel()
                    lab.type, lab.model = "none", model
                    dom.add(lab)
            return
        carried = h._module_state("libvirt").get("seclabel")    # from add_domain
        if carried is not None and carried.get("model") not in ("dac", None):
            dom.node.append(copy.deepcopy(carried))

    # -- launch --
    def launch(self, appliance, drives, tmpdir):
        from ..libvirt_connection import open_connection
        from ..errors import Error
        import libvirt
        try:
            self.conn = open_connection(self.handle, self.uri)
        except Error as e:
            raise LaunchError(str(e)) from None
        try:
            caps = self.conn.getCapabilities()
        except libvirt.libvirtError as e:
            raise LaunchError("libvirt capabilities: %s" % e.get_error_message()) from None
        self._caps = caps
        secmodels = [m.text for m in _secmodels(caps)]
        # a fresh console file and log for each attempt (a fallback launches again)
        self._attempt += 1
        console_path = os.path.join(tmpdir, "console-%d.log" % self._attempt)
        self.console = ConsoleLog(self.handle)
        self._stop_console = threading.Event()
        timeout = self.launch_timeout()
        listener = ApplianceListener(tmpdir)
        try:
            xml = self.domain_xml(appliance, drives, listener.path, console_path, secmodels)
            self.watch = BootWatch(self, self.used_kvm, silence_limit(self))
            self.handle._debug("libvirt domain XML:\n%s" % xml)
            try:
                self.dom = self.conn.createXML(xml, libvirt.VIR_DOMAIN_START_AUTODESTROY)
            except libvirt.libvirtError as e:
                msg = e.get_error_message()
                # qemu's words are in libvirt's message: a qemu that died of KVM at start,
                # or libvirt finding no KVM for this emulator, can run as type qemu
                raise LaunchError("libvirt could not start the appliance (URI %s): %s"
                                  % (self.uri, msg),
                                  kvm=self.used_kvm and any(n in msg for n in (
                                      KVM_FAILURE_NEEDLES + LIBVIRT_NO_KVM))) from None
            self.watch.started()
            # the thread holds the console log, not this backend (see direct.py)
            self._console_thread = threading.Thread(
                target=_tail_console, args=(console_path, self.console, self._stop_console),
                daemon=True)
            self._console_thread.start()
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
        """(why, points at KVM) once the appliance domain stopped or was paused, else None.
        qemu's own words go to libvirt's log, out of our reach; libvirt refuses a domain
        whose qemu cannot start, so one that stops or pauses before its kernel started
        init, without a kernel panic, points at KVM."""
        import libvirt
        try:
            state, reason = self.dom.state()
        except Exception:
            state, reason = libvirt.VIR_DOMAIN_SHUTOFF, None
        if state == libvirt.VIR_DOMAIN_PAUSED:
            if reason == libvirt.VIR_DOMAIN_PAUSED_IOERROR:
                return "the appliance domain was paused on a disk I/O error", False
            return "qemu paused the appliance domain (libvirt pause reason %s)" % reason, True
        if state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED,
                     libvirt.VIR_DOMAIN_SHUTDOWN):
            time.sleep(0.2)             # let the console follower catch the last lines
            # qemu's words are out of reach: stopping before init is all there is to go by
            return "the appliance domain stopped", not self.console.init_seen
        return None

    def _active(self):
        try:
            return bool(self.dom.isActive())
        except Exception:
            return False

    def console_tail(self):
        return list(self.console.lines)

    # -- shutdown --
    def shutdown(self, graceful=True):
        import libvirt
        if self.dom is not None:
            deadline = time.monotonic() + (10 if graceful else 0)
            while self._active() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._active():
                try:
                    self.dom.destroy()
                except libvirt.libvirtError:
                    pass
            self.dom = None
        self._stop_console.set()
        if self._console_thread is not None:
            self._console_thread.join(2)
        if self.conn is not None:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass
            self.conn = None
        return None

    def pid(self):
        """qemu's pid: from libvirt's pid file, else (a libvirtd whose run directory we
        cannot see) the process whose command line names this domain."""
        if not self.domname:
            return None
        for d in ("/run/libvirt/qemu", os.path.expanduser("~/.cache/libvirt/qemu/run")):
            try:
                with open(os.path.join(d, self.domname + ".pid")) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                continue
        needle = ("guest=%s," % self.domname).encode()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        if needle in f.read(65536):
                            return int(entry)
                except OSError:
                    continue
        return None


def _secmodels(caps_xml):
    from lxml import etree
    root = etree.fromstring(caps_xml.encode(), etree.XMLParser(resolve_entities=False,
                                                               no_network=True))
    return root.xpath("./host/secmodel/model")


def _tail_console(path, console, stop):
    """Follow the console log file at PATH into CONSOLE until STOP is set."""
    f = None
    while not stop.is_set():
        if f is None:
            try:
                f = open(path, "rb")
            except OSError:
                time.sleep(0.05)
                continue
        data = f.read(65536)
        if not data:
            time.sleep(0.05)
            continue
        console.feed(data)
    if f is not None:
        f.close()
    console.flush()
