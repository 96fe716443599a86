"""The microvm backend: the direct backend's appliance on qemu's ``microvm`` machine.

microvm has no PCI bus and no legacy firmware to speak of (qboot instead of SeaBIOS plus
the linuxboot option ROM).  Every virtio device moves from its ``-pci`` transport to the
virtio-mmio ``-device`` one, and the kernel is booted through its PVH entry (pvh.py), which
is where most of the time is saved under TCG; everything else (drives, QMP, the daemon's
channel, the console, KVM probing, shutdown) is the direct backend's.

How the kernel finds the virtio-mmio devices matters, and it is easy to get wrong:

- with ACPI on (qemu's default for microvm), qemu describes each transport in the DSDT as
  an ``LNRO0005`` device; the ``virtio_mmio`` driver (a module in Debian's kernels, loaded
  by the appliance's PID 1) binds to them through its ``acpi*:LNRO0005:*`` alias;
- with ACPI off, qemu instead appends ``virtio_mmio.device=SIZE@ADDR:IRQ`` to the kernel
  command line (``auto-kernel-cmdline``), which only works with a kernel built with
  ``CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y``.  Debian 12's cloud kernel is not, so it boots
  without seeing a single disk (the appliance waits for /dev/vda, then panics).

So this backend keeps ACPI on, in qemu and in the kernel: it drops the ``acpi=off`` the
direct backend adds for one-vCPU q35 guests.

The other trap is time: microvm has no HPET and no ACPI PM timer, so under TCG the kernel
can only calibrate its TSC against the PIT, which fails whenever the host is busy, and then
the boot hangs before init.  Under TCG this backend tells the kernel the TSC rate
(``tsc_early_khz=``, measured on the host: see guestkit/backends/tsc.py).
"""

import functools
import re
import subprocess

from guestkit.backends.base import LaunchError
from guestkit.backends.direct import DirectBackend
from guestkit.backends.hypervisor import find_qemu

from .pvh import NoPVH, pvh_kernel
from guestkit.backends.tsc import host_tsc_khz

#: -machine options always given (the user's microvm_options come after them, so win)
MACHINE_OPTIONS = ["x-option-roms=off", "isa-serial=on", "rtc=on", "acpi=on"]

# The appliance ends by rebooting (sysrq b) and qemu, run with -no-reboot, exits.  microvm
# has no keyboard controller; its ACPI reset register (the GED device) resets at once: qemu
# is gone 0.03-0.06 s after the daemon's last reply, against 0.3 s with the kernel's default
# reboot sequence (and 1.6-2.5 s with reboot=k).
REBOOT_ARG = "reboot=a"

_machine_cache = {}


def qemu_has_microvm(qemu):
    """(True, "") when QEMU knows the microvm machine type, else (False, why not)."""
    if qemu in _machine_cache:
        return _machine_cache[qemu]
    try:
        p = subprocess.run([qemu, "-machine", "help"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        verdict = (False, "cannot run %s -machine help: %s" % (qemu, e))
    else:
        names = {line.split()[0] for line in p.stdout.splitlines() if line.strip()}
        verdict = (True, "") if "microvm" in names else (
            False, "%s has no microvm machine type (qemu >= 4.2 built with "
                   "CONFIG_MICROVM is needed)" % qemu)
    _machine_cache[qemu] = verdict
    return verdict


@functools.lru_cache(maxsize=8)
def kernel_config(release):
    """The kernel's build configuration {CONFIG_X: value}, or None when /boot has none."""
    path = "/boot/config-%s" % release
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    conf = {}
    for line in text.splitlines():
        m = re.match(r"(CONFIG_\w+)=(.*)", line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


def kernel_supports_microvm(release, acpi=True):
    """(True, "") when the kernel RELEASE can find virtio-mmio devices the way this backend
    describes them (ACPI when ACPI is on, the command line when it is off)."""
    conf = kernel_config(release)
    if conf is None:
        return True, ""             # nothing to go by: let the boot tell
    if conf.get("CONFIG_VIRTIO_MMIO") not in ("y", "m"):
        return False, ("kernel %s is built without virtio-mmio (CONFIG_VIRTIO_MMIO), the "
                       "only transport microvm has" % release)
    if acpi and conf.get("CONFIG_ACPI") != "y":
        return False, ("kernel %s is built without ACPI, so it cannot discover microvm's "
                       "virtio-mmio devices from the DSDT" % release)
    if not acpi and conf.get("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") != "y":
        return False, ("with acpi=off qemu lists the virtio-mmio devices on the kernel "
                       "command line (virtio_mmio.device=...), but kernel %s is built "
                       "without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES and ignores them; keep "
                       "ACPI on" % release)
    return True, ""


def _pci_to_mmio(driver):
    """The virtio-mmio counterpart of a -device driver, or the driver itself when it has no
    PCI in it; LaunchError for a PCI-only device."""
    if driver.endswith("-pci") and driver.startswith(("virtio-", "vhost-")):
        return driver[:-len("-pci")] + "-device"
    if driver.endswith(("-pci", "-pcie")) or driver.startswith(("pci-", "pcie-")):
        raise LaunchError("device %s needs PCI, which the microvm machine does not have"
                          % driver)
    return driver


class MicrovmBackend(DirectBackend):
    name = "microvm"
    settings_doc = {
        "force_tcg": "never use KVM (software emulation)",
        "force_kvm": "use KVM without probing; fail if it is not usable",
        "gdb": "start qemu with a gdb server on tcp::1234, stopped before the kernel runs",
        "launch_timeout=SECONDS": "give up launching after this long (default 300)",
        "tsc_khz=KHZ": "under TCG, the TSC rate given to the kernel (tsc_early_khz=); "
                       "default: measured on the host; tsc_khz=off lets the kernel "
                       "calibrate it against the PIT, which hangs the boot when the host "
                       "is busy",
        "pvh=off": "boot the bzImage instead of its unpacked ELF through the PVH entry "
                   "(PVH saves the guest's decompression, ~0.2 s under TCG)",
        "microvm_options=OPTS": "more -machine microvm options, comma-separated (e.g. "
                                "ioapic2=off); acpi=off needs a kernel built with "
                                "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, and pit=off hangs "
                                "the boot under TCG",
    }

    @classmethod
    def host_supported(cls):
        ok, why = super().host_supported()
        if not ok:
            return ok, why
        ok, why = qemu_has_microvm(find_qemu())
        if not ok:
            return ok, why
        try:
            from guestkit.appliance.builder import find_kernel
            _, release = find_kernel()
        except Exception as e:          # no kernel: the direct backend's problem too
            return False, str(e)
        return kernel_supports_microvm(release)

    # -- what differs from the direct backend --
    def machine_options(self):
        opts = list(MACHINE_OPTIONS)
        extra = self._setting("microvm_options")
        if extra:
            opts += [o for o in extra.split(",") if o]
        # later options win in qemu; keep one of each so the command line reads clearly
        seen = {}
        for o in opts:
            seen[o.partition("=")[0]] = o
        return list(seen.values())

    def acpi_enabled(self):
        for o in self.machine_options():
            k, _, v = o.partition("=")
            if k == "acpi":
                return v != "off"
        return True

    def preflight(self, appliance, qemu):
        """Refuse, with the reason, what cannot boot; before anything is started."""
        machine = self._setting("machine")
        if machine not in (None, "microvm"):
            raise LaunchError("machine=%s: the microvm backend always uses the microvm "
                              "machine; use the direct backend for other machine types"
                              % machine)
        ok, why = qemu_has_microvm(qemu)
        if not ok:
            raise LaunchError(why)
        release = getattr(appliance, "release", None)
        if release:
            ok, why = kernel_supports_microvm(release, self.acpi_enabled())
            if not ok:
                raise LaunchError(why)
        self._tsc_setting()

    @classmethod
    def snapshot_supported(cls):
        return False, "the microvm machine boots on every launch"

    def snapshot_refusal(self, drives):
        # build_argv rewrites the direct backend's machine; a snapshot of it would be q35's
        return "the microvm backend boots cold"

    def launch(self, appliance, drives, tmpdir):
        self.preflight(appliance, find_qemu(self.handle._prop("hv")))
        return super().launch(appliance, drives, tmpdir)

    def build_argv(self, appliance, drives, tmpdir, sock_path, accel, qemu):
        self.preflight(appliance, qemu)
        self._argv_accel = accel            # kernel_cmdline() is called from in there
        argv = super().build_argv(appliance, drives, tmpdir, sock_path, accel, qemu)
        out = []
        i = 0
        while i < len(argv):
            a = argv[i]
            if a in ("-machine", "-M") and i + 1 < len(argv):
                # direct gives "TYPE,accel=ACCEL"; keep its accel, replace the rest
                accel_opt = [o for o in argv[i + 1].split(",") if o.startswith("accel=")]
                out += ["-machine", ",".join(["microvm"] + self.machine_options() +
                                             accel_opt)]
                i += 2
                continue
            if a == "-kernel" and i + 1 < len(argv):
                out += ["-kernel", self.boot_kernel(argv[i + 1])]
                i += 2
                continue
            if a == "-device" and i + 1 < len(argv):
                driver, comma, props = argv[i + 1].partition(",")
                if re.search(r"(^|,)bus=pci", props):
                    raise LaunchError("device %s is placed on a PCI bus, which the microvm "
                                      "machine does not have" % argv[i + 1])
                out += ["-device", _pci_to_mmio(driver) + comma + props]
                i += 2
                continue
            out.append(a)
            i += 1
        return out

    def boot_kernel(self, kernel):
        """The kernel file given to qemu: the bzImage's PVH-bootable ELF when there is one
        (see pvh.py), else the bzImage itself."""
        if self._setting("pvh") == "off":
            return kernel
        try:
            return pvh_kernel(kernel, self.handle._cachedir())
        except (NoPVH, OSError) as e:
            self.handle._debug("microvm: booting the bzImage, not through PVH: %s" % e)
            return kernel

    def kernel_cmdline(self):
        words = super().kernel_cmdline().split(" ")
        if "acpi=off" in words:
            # direct's one-vCPU shortcut; here ACPI is how the kernel finds the devices
            user = (self.handle._prop("append") or "").split()
            if "acpi=off" in user and self.acpi_enabled():
                self.handle._warning("microvm: ignoring acpi=off in the appended kernel "
                                     "command line: the kernel finds the virtio-mmio "
                                     "devices through ACPI")
            words = [w for w in words if w != "acpi=off"]
        tsc = self.tsc_arg()
        if tsc and not any(w.startswith("tsc_early_khz=") for w in words):
            words.insert(0, tsc)
        if not any(w.startswith("reboot=") for w in words):
            words.insert(0, REBOOT_ARG)
        return " ".join(words)

    def tsc_arg(self):
        """tsc_early_khz=N under TCG, else None (KVM guests get the rate from kvmclock)."""
        if getattr(self, "_argv_accel", self.accel) != "tcg":
            return None
        khz = self._tsc_setting()
        if khz == "off":
            return None
        if khz:
            return "tsc_early_khz=%d" % khz
        khz = host_tsc_khz(self.handle._cachedir())
        if khz is None:
            self.handle._warning(
                "microvm: cannot measure the host's TSC rate; the kernel will calibrate it "
                "against the PIT, and the boot hangs if that fails (busy host).  Set the "
                "backend setting tsc_khz=KHZ to avoid it")
            return None
        return "tsc_early_khz=%d" % khz

    def _tsc_setting(self):
        """The tsc_khz setting: None (measure), "off", or a number of kHz."""
        value = self._setting("tsc_khz")
        if value is None or value == "off":
            return value
        try:
            khz = int(value)
        except ValueError:
            khz = 0
        if khz <= 0:
            raise LaunchError("tsc_khz=%s: give the TSC rate in kHz, or off" % value)
        return khz
