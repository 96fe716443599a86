"""A third-party backend for real: plugins/guestkit-microvm is pip-installed into this
environment, found by stevedore in the guestkit.backends namespace, and boots the appliance
on qemu's microvm machine through GUESTKIT_BACKEND=microvm."""

import importlib
import os
import shutil
import subprocess
import sys

import pytest

import guestkit
from tests.conftest import make_image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN = os.path.join(REPO, "plugins", "guestkit-microvm")


def _installed():
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        distribution("guestkit-microvm")
        return True
    except PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """Install the plugin as a user would (a plain, non-editable pip install of its
    directory); uninstall it afterwards unless it was there before."""
    was_installed = _installed()
    # built from a copy: setuptools leaves build/ and *.egg-info beside the sources
    src = str(tmp_path_factory.mktemp("plugin") / "guestkit-microvm")
    shutil.copytree(PLUGIN, src, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__"))
    # --no-deps: guestkit is the package under test, already importable here; never let
    # pip replace it with whatever a registry calls "guestkit"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", src], capture_output=True, text=True)
    assert p.returncode == 0, "pip install %s failed:\n%s%s" % (PLUGIN, p.stdout, p.stderr)
    importlib.invalidate_caches()
    yield PLUGIN
    if not was_installed:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y",
                        "guestkit-microvm"], capture_output=True)
        importlib.invalidate_caches()


def test_stevedore_finds_it(plugin):
    from guestkit.plugins import backend_class, discover, distributions
    exts, failures = discover()
    assert "microvm" in exts, "found: %s, failed: %s" % (sorted(exts), failures)
    assert "microvm" not in failures
    assert "direct" in exts                 # a plugin does not hide the built-in ones
    assert distributions()["microvm"].startswith("guestkit-microvm ")
    cls = backend_class("microvm")
    from guestkit.backends.base import Backend
    from guestkit.backends.direct import DirectBackend
    assert issubclass(cls, DirectBackend) and issubclass(cls, Backend)
    assert cls.name == "microvm"
    assert "tsc_khz=KHZ" in cls.settings_doc and "microvm_options=OPTS" in cls.settings_doc
    ok, why = cls.host_supported()
    assert ok, "the microvm backend says it cannot run here: %s" % why


def test_cli_lists_it(plugin):
    p = subprocess.run([sys.executable, "-m", "guestkit.cli.main", "backends"],
                       capture_output=True, text=True, cwd=REPO)
    line = [l for l in p.stdout.splitlines() if l.split()[:1] == ["microvm"]]
    assert line and "guestkit-microvm" in line[0], p.stdout + p.stderr


def _argv(g, tmp_path, accel="tcg"):
    from guestkit.appliance.builder import find_kernel
    from guestkit.plugins import backend_class
    kernel, release = find_kernel()

    class Appliance:
        initrd = "/i"
        root = "/r.img"

    Appliance.kernel = kernel
    Appliance.release = release
    b = backend_class("microvm")(g)
    return b.build_argv(Appliance(), g._drives, str(tmp_path), str(tmp_path / "s"), accel,
                        "qemu-system-x86_64")


def test_command_line(plugin, tmp_path):
    img = make_image(tmp_path / "a.img", 16)
    g = guestkit.GuestFS(environment=False)
    g.add_drive_opts(img, format="raw")
    g.add_drive_opts(img, format="raw", readonly=True)
    g.set_append("foo=bar")
    argv = _argv(g, tmp_path)
    machine = argv[argv.index("-machine") + 1]
    assert machine.startswith("microvm,") and "acpi=on" in machine
    assert machine.endswith(",accel=tcg")
    devices = [argv[i + 1].split(",")[0] for i, a in enumerate(argv) if a == "-device"]
    assert not [d for d in devices if "pci" in d], devices
    for d in ("virtio-rng-device", "virtio-serial-device", "virtio-scsi-device",
              "virtio-blk-device", "virtserialport"):
        assert d in devices
    assert devices.count("scsi-hd") == 2
    text = " ".join(argv)
    assert "scsi-id=0" in text and "scsi-id=1" in text and "bus=scsi.0" in text
    cmdline = argv[argv.index("-append") + 1].split()
    # ACPI is how this kernel finds virtio-mmio devices: never acpi=off, even on one vCPU
    assert g.get_smp() == 1 and "acpi=off" not in cmdline
    assert [w for w in cmdline if w.startswith("tsc_early_khz=")]
    assert cmdline[-1] == "foo=bar"
    assert "reboot=a" in cmdline        # microvm's quick way out: its ACPI reset register
    # the kernel is booted through its PVH entry, unpacked once into the cache
    from guestkit.appliance.builder import find_kernel
    from guestkit_microvm.pvh import pvh_entry
    booted = argv[argv.index("-kernel") + 1]
    assert os.path.basename(booted).startswith("microvm-vmlinux-")
    assert os.path.dirname(booted) == g.get_cachedir_in_use()
    with open(booted, "rb") as f:
        assert pvh_entry(f.read()) > 0
    # settings: a fixed TSC rate, or none; extra machine options; KVM needs no rate
    g.set_backend_settings(["tsc_khz=1234567", "microvm_options=ioapic2=off,rtc=off"])
    argv = _argv(g, tmp_path)
    assert "tsc_early_khz=1234567" in argv[argv.index("-append") + 1].split()
    machine = argv[argv.index("-machine") + 1]
    assert "ioapic2=off" in machine and "rtc=off" in machine and "rtc=on" not in machine
    g.set_backend_settings(["tsc_khz=off", "pvh=off"])
    argv = _argv(g, tmp_path)
    assert "tsc_early_khz" not in " ".join(argv)
    assert argv[argv.index("-kernel") + 1] == find_kernel()[0]
    g.set_backend_settings([])
    assert "tsc_early_khz" not in " ".join(_argv(g, tmp_path, accel="kvm"))
    g.close()


def test_kernel_checks(plugin, monkeypatch):
    from guestkit_microvm import backend
    monkeypatch.setattr(backend, "kernel_config", lambda release: {
        "CONFIG_VIRTIO_MMIO": "m", "CONFIG_ACPI": "y"})
    assert backend.kernel_supports_microvm("x") == (True, "")
    ok, why = backend.kernel_supports_microvm("x", acpi=False)
    assert not ok and "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES" in why
    monkeypatch.setattr(backend, "kernel_config", lambda release: {"CONFIG_ACPI": "y"})
    ok, why = backend.kernel_supports_microvm("x")
    assert not ok and "CONFIG_VIRTIO_MMIO" in why


def _elf(notes):
    """A minimal x86-64 ELF whose one program header is a PT_NOTE segment with NOTES."""
    import struct
    blob = b""
    for name, ntype, desc in notes:
        name += b"\0"
        blob += struct.pack("<III", len(name), len(desc), ntype)
        blob += name + b"\0" * (-len(name) % 4) + desc + b"\0" * (-len(desc) % 4)
    ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 4, 4, 64 + 56, 0, 0, len(blob), len(blob), 4)
    return ehdr + phdr + blob


def _bzimage(payload):
    """A bzImage-shaped file: boot header 2.15, payload after 1 + 4 setup sectors."""
    import struct
    img = bytearray(5 * 512)
    img[0x1F1] = 4
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x20F)
    struct.pack_into("<II", img, 0x248, 0, len(payload))
    return bytes(img) + payload


@pytest.mark.parametrize("method", ["gzip", "xz", "bzip2", "lz4", "zstd"])
def test_pvh_unpacking(plugin, tmp_path, method):
    import bz2
    import gzip
    import lzma
    import struct
    from guestkit_microvm import pvh
    elf = _elf([(b"GNU", 3, b"x" * 20), (b"Xen", 18, struct.pack("<I", 0x1000450))])
    if method in ("lz4", "zstd"):
        if not shutil.which(method):
            pytest.fail("%s is installed by scripts/setup.sh" % method)
        argv = {"lz4": ["lz4", "-l", "-9", "-c"], "zstd": ["zstd", "-19", "-c", "-q"]}[method]
        packed = subprocess.run(argv, input=elf, capture_output=True, check=True).stdout
    else:
        packed = {"gzip": gzip.compress, "xz": lambda d: lzma.compress(d, check=lzma.CHECK_CRC32),
                  "bzip2": bz2.compress}[method](elf)
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(_bzimage(packed + struct.pack("<I", len(elf))))
    cache = tmp_path / "cache"
    path = pvh.pvh_kernel(str(kernel), str(cache))
    with open(path, "rb") as f:
        assert f.read() == elf
    assert pvh.pvh_kernel(str(kernel), str(cache)) == path      # cached
    # no PVH note: refused with the reason, and the caller boots the bzImage
    plain = _elf([(b"GNU", 3, b"x" * 20)])
    kernel2 = tmp_path / "vmlinuz2"
    kernel2.write_bytes(_bzimage(gzip.compress(plain) + struct.pack("<I", len(plain))))
    with pytest.raises(pvh.NoPVH, match="CONFIG_PVH"):
        pvh.pvh_kernel(str(kernel2), str(cache))
    kernel3 = tmp_path / "notakernel"
    kernel3.write_bytes(b"\0" * 4096)
    with pytest.raises(pvh.NoPVH, match="not a bzImage"):
        pvh.pvh_kernel(str(kernel3), str(cache))


def test_bad_settings_fail_before_qemu_runs(plugin, tmp_path, monkeypatch):
    img = make_image(tmp_path / "b.img", 16)
    monkeypatch.setenv("GUESTKIT_BACKEND", "microvm")
    for settings, words in ((["force_tcg", "machine=q35"], "microvm machine"),
                            (["force_tcg", "tsc_khz=fast"], "tsc_khz=fast"),
                            (["force_tcg", "microvm_options=acpi=off"],
                             "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES")):
        g = guestkit.GuestFS()
        g.set_backend_settings(settings)
        g.add_drive_opts(img, format="raw")
        if "acpi=off" in settings[-1]:
            from guestkit_microvm.backend import kernel_config
            from guestkit.appliance.builder import find_kernel
            conf = kernel_config(find_kernel()[1]) or {}
            if conf.get("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") == "y":
                g.close()
                continue                # this kernel could boot that way
        with pytest.raises(guestkit.Error) as e:
            g.launch()
        assert "backend microvm" in str(e.value) and words in str(e.value)
        assert g.is_config()
        g.close()


def test_workload(plugin, tmp_path, monkeypatch):
    disk = make_image(tmp_path / "disk.img", 128)
    monkeypatch.setenv("GUESTKIT_BACKEND", "microvm")
    monkeypatch.setenv("GUESTKIT_BACKEND_SETTINGS", "force_tcg")
    g = guestkit.GuestFS(python_return_dict=True)
    assert g.get_backend() == "microvm"
    g.add_drive_opts(disk, format="raw")
    g.launch()
    try:
        pid = g.get_pid()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            qemu_argv = f.read().split(b"\0")
        machine = qemu_argv[qemu_argv.index(b"-machine") + 1]
        assert machine.startswith(b"microvm,")
        assert not [a for a in qemu_argv if a.startswith(b"virtio-") and b"-pci" in a]
        g.part_disk("/dev/sda", "mbr")
        g.mkfs("ext4", "/dev/sda1")
        g.mount("/dev/sda1", "/")
        g.write("/hello", b"hello from microvm\n")
        assert g.cat("/hello") == "hello from microvm\n"
        assert g.list_devices() == ["/dev/sda"]
        assert g.list_partitions() == ["/dev/sda1"]
        assert g.vfs_type("/dev/sda1") == "ext4"
    finally:
        g.close()
    assert not os.path.exists("/proc/%d" % pid)        # qemu was waited for
    # the data reached the disk: read it back through the direct backend
    monkeypatch.setenv("GUESTKIT_BACKEND", "direct")
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts(disk, format="raw", readonly=True)
    g.launch()
    try:
        g.mount_ro("/dev/sda1", "/")
        assert g.cat("/hello") == "hello from microvm\n"
    finally:
        g.close()

