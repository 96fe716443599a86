"""Build the appliance from the host, the way supermin does, and cache it.

The appliance is the host's kernel plus an initramfs (uncompressed cpio: the kernel unpacks
it faster than it could decompress anything) holding:

- the kernel modules guestkit needs, with their dependencies (others load on demand through
  modprobe from the same tree);
- the Python interpreter running guestkit, and exactly the standard-library modules the
  daemon imports (found by importing the daemon in a clean interpreter), precompiled;
- guestkitd itself and the action table;
- the host tools the daemon drives, with their shared libraries.

Everything lands at the same path as on the host, so interpreters and tools find their files
as they would there.  The result is cached under a key made from everything it was built
from; concurrent builds take a lock and the loser reuses the winner's result.
"""

import fcntl
import glob
import hashlib
import json
import os
import py_compile
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from .cpio import CpioWriter
from . import tools
from ..daemon.contract import INIT_MARKER

FORMAT = 4            # bump when the layout of the appliance changes
# modules loaded by PID 1 before anything else (the rest load on demand through modprobe)
BOOT_MODULES = ["virtio_pci", "virtio_console", "virtio_blk", "virtio_scsi", "sd_mod",
                "virtio_rng", "virtio_mmio"]
# directories of the root image bound over the initramfs at boot
NOT_BOUND = {"/dev", "/proc", "/sys", "/run", "/tmp", "/sysroot", "/mnt", "/etc", "/var"}
PKG_ROOT = "/usr/lib/guestkit"

# kernel module directories carried whole (relative to /lib/modules/VERSION/kernel)
MODULE_DIRS = ["fs", "crypto", "arch/x86/crypto", "lib", "drivers/md", "drivers/block",
               "drivers/virtio", "drivers/char/virtio_console.ko",
               "drivers/char/hw_random", "drivers/scsi/virtio_scsi.ko",
               "drivers/scsi/sd_mod.ko", "drivers/scsi/sr_mod.ko", "drivers/nvdimm",
               "drivers/net/virtio_net.ko", "drivers/net/net_failover.ko",
               "net/core/failover.ko", "drivers/cdrom"]
# network filesystems and other modules the appliance never needs
MODULE_EXCLUDE = ["fs/nfs", "fs/nfsd", "fs/nfs_common", "fs/lockd", "fs/smb", "fs/ceph",
                  "fs/orangefs", "fs/cachefiles", "fs/fscache", "fs/netfs", "fs/autofs",
                  "fs/binfmt_misc.ko", "fs/pstore", "fs/efivarfs", "fs/dlm", "fs/ocfs2",
                  "fs/gfs2", "fs/afs", "fs/coda", "fs/9p", "fs/zonefs"]
MODULE_INDEXES = ["modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin",
                  "modules.symbols.bin", "modules.builtin", "modules.builtin.bin",
                  "modules.builtin.alias.bin", "modules.builtin.modinfo", "modules.softdep",
                  "modules.devname", "modules.order"]


class ApplianceError(Exception):
    pass


class Appliance:
    def __init__(self, kernel, initrd, release, key, path):
        self.kernel = kernel
        self.initrd = initrd
        root = os.path.join(path, "root.img")
        self.root = root if os.path.exists(root) else None
        self.release = release
        self.key = key
        self.path = path

    def __repr__(self):
        return "Appliance(%s, %s)" % (self.kernel, self.initrd)


# ---- kernel -----------------------------------------------------------------------------------

def _version_key(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", v)]


def find_kernel(env_kernel=None):
    """(kernel path, release).  GUESTKIT_KERNEL (or supermin's SUPERMIN_KERNEL) wins; then
    Debian's cloud kernel; then the newest kernel in /boot that has its modules installed.
    The release of a named kernel comes from its file name, else GUESTKIT_KERNEL_RELEASE
    (or SUPERMIN_KERNEL_VERSION)."""
    var = "GUESTKIT_KERNEL" if os.environ.get("GUESTKIT_KERNEL") else "SUPERMIN_KERNEL"
    k = env_kernel or os.environ.get(var)
    if k:
        if not os.path.isfile(k):
            raise ApplianceError("%s=%s: no such file" % (var, k))
        release = os.environ.get("GUESTKIT_KERNEL_RELEASE") or \
            os.environ.get("SUPERMIN_KERNEL_VERSION")
        if not release:
            release = os.path.basename(k).split("vmlinuz-", 1)[-1]
        return k, release
    cands = []
    for path in glob.glob("/boot/vmlinuz-*"):
        release = path.split("vmlinuz-", 1)[1]
        if os.path.isdir("/lib/modules/%s/kernel" % release) and os.access(path, os.R_OK):
            cands.append((release.endswith("-cloud-amd64"), _version_key(release), path,
                          release))
    if not cands:
        raise ApplianceError(
            "no kernel found: install one (Debian: apt-get install linux-image-cloud-amd64) "
            "or set GUESTKIT_KERNEL to a vmlinuz whose modules are in /lib/modules")
    cands.sort()
    _, _, path, release = cands[-1]
    return path, release


# ---- module closure ---------------------------------------------------------------------------

def module_closure(release):
    base = "/lib/modules/" + release
    deps = {}
    try:
        with open(base + "/modules.dep") as f:
            for line in f:
                mod, _, rest = line.partition(":")
                deps[mod] = rest.split()
    except FileNotFoundError:
        return []
    want = set()
    for d in MODULE_DIRS:
        prefix = "kernel/" + d
        for mod in deps:
            if mod == prefix or mod.startswith(prefix + "/"):
                if not any(mod == "kernel/" + x or mod.startswith("kernel/" + x + "/")
                           for x in MODULE_EXCLUDE):
                    want.add(mod)
    todo = list(want)
    while todo:
        m = todo.pop()
        for dep in deps.get(m, []):
            if dep not in want:
                want.add(dep)
                todo.append(dep)
    return sorted(m for m in want if os.path.exists(os.path.join(base, m)))


def boot_module_order(release, names=BOOT_MODULES):
    """Module files for NAMES with their dependencies, each after what it needs."""
    base = "/lib/modules/" + release
    deps = {}
    byname = {}
    try:
        with open(base + "/modules.dep") as f:
            for line in f:
                mod, _, rest = line.partition(":")
                deps[mod] = rest.split()
                byname[os.path.basename(mod).split(".ko")[0].replace("-", "_")] = mod
    except FileNotFoundError:
        return []
    order = []

    def visit(mod):
        if mod in order:
            return
        for dep in reversed(deps.get(mod, [])):
            visit(dep)
        order.append(mod)

    for n in names:
        if n in byname:                 # absent: built into the kernel
            visit(byname[n])
    return [os.path.join(base, m) for m in order]


# ---- python closure ---------------------------------------------------------------------------

def _package_sources():
    """(name in the appliance, source file) for guestkit.actions and guestkit.daemon, with
    their subpackages."""
    import guestkit.actions
    import guestkit.daemon
    out = []
    for pkg, mod in (("guestkit/actions", guestkit.actions), ("guestkit/daemon", guestkit.daemon)):
        top = os.path.dirname(mod.__file__)
        for d, dirs, files in os.walk(top):
            dirs[:] = sorted(x for x in dirs if os.path.exists(os.path.join(d, x, "__init__.py")))
            rel = os.path.relpath(d, top)
            for fn in sorted(files):
                if fn.endswith(".py"):
                    name = pkg if rel == "." else "%s/%s" % (pkg, rel)
                    out.append(("%s/%s" % (name, fn), os.path.join(d, fn)))
    return out


_PROBE = r"""
import sys, json
sys.path[:0] = [%(stage)r]
import guestkit.daemon.main, guestkit.daemon.boot
if not %(early)r:
    import guestkit.daemon.server, guestkit.daemon.network
    guestkit.daemon.server.load_handlers()
    for extra in %(extra)r:
        __import__(extra)
files = sorted({m.__file__ for m in list(sys.modules.values())
                if getattr(m, "__file__", None) and not m.__file__.startswith(%(stage)r)})
print(json.dumps(files))
"""

EXTRA_STDLIB = ["encodings.utf_8", "encodings.latin_1", "encodings.ascii", "subprocess",
                "json", "base64", "hashlib", "select", "fcntl", "shutil", "platform",
                "errno", "stat", "struct", "time", "traceback", "importlib", "glob",
                "tempfile", "re", "shlex", "signal", "_posixsubprocess", "selectors",
                "sqlite3", "zlib"]  # daemon/inspect/rpmdb.py, rpmformats.py (rpm guests)


def python_closure(python, sources, early=False):
    """The stdlib files the daemon imports, found by importing it in a clean interpreter.
    With early=True, only what PID 1 needs before the root image is mounted."""
    with tempfile.TemporaryDirectory(prefix="guestkit-probe-") as stage:
        for name, src in sources + [("guestkit/__init__.py", None)]:
            dst = os.path.join(stage, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if src:
                shutil.copyfile(src, dst)
            else:
                open(dst, "w").close()
        code = _PROBE % {"stage": stage, "extra": EXTRA_STDLIB, "early": early}
        p = subprocess.run([python, "-S", "-I", "-B", "-c", code], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise ApplianceError("cannot import the daemon with %s:\n%s" % (python, p.stderr))
        return json.loads(p.stdout)


# ---- the file set -----------------------------------------------------------------------------

class FileSet:
    """Paths to put in the initramfs, with the symlinks met on the way."""

    def __init__(self):
        self.entries = {}     # path -> ("dir",) | ("file", src, mode) | ("link", target)
                              #        | ("bytes", data, mode) | ("node", kind, maj, min)

    def _dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        cur = ""
        for p in parts:
            cur += "/" + p
            e = self.entries.get(cur)
            if e is None:
                self.add_host_path(cur) if os.path.islink(cur) else \
                    self.entries.setdefault(cur, ("dir",))

    def add_dir(self, path):
        self._dirs(path)
        self.entries.setdefault(path, ("dir",))

    def add_bytes(self, path, data, mode=0o644):
        self._dirs(path)
        self.entries[path] = ("bytes", data, mode)

    def add_symlink(self, path, target):
        self._dirs(path)
        self.entries[path] = ("link", target)

    def add_node(self, path, kind, major, minor):
        self._dirs(path)
        self.entries[path] = ("node", kind, major, minor)

    def add_file_as(self, path, src, mode=None):
        self._dirs(path)
        self.entries[path] = ("file", src, mode)

    def add_host_path(self, path, depth=0):
        """Add a host path as it is: every symlink on the way and the final file or dir."""
        if depth > 40:
            raise ApplianceError("too many symlinks at %s" % path)
        path = os.path.normpath(path)
        parts = path.strip("/").split("/")
        cur = ""
        for i, p in enumerate(parts):
            cur += "/" + p
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                return False
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(cur)
                if cur not in self.entries:
                    self._dirs(cur)
                    self.entries[cur] = ("link", target)
                real = os.path.normpath(os.path.join(os.path.dirname(cur), target))
                rest = "/".join(parts[i + 1:])
                return self.add_host_path(real + ("/" + rest if rest else ""), depth + 1)
            if i == len(parts) - 1:
                if stat.S_ISDIR(st.st_mode):
                    self.entries.setdefault(cur, ("dir",))
                elif stat.S_ISREG(st.st_mode):
                    self.entries.setdefault(cur, ("file", cur, None))
            elif cur not in self.entries:
                self.entries[cur] = ("dir",)
        return True

    def strip_large(self, tmpdir, minsize=1 << 20):
        """Replace large ELF files by stripped copies (when binutils' strip exists)."""
        strip = shutil.which("strip")
        if not strip:
            return
        for path, e in list(self.entries.items()):
            if e[0] != "file" or not path.endswith((".so", ".ko")) and ".so." not in path \
                    and "/bin/" not in path:
                continue
            src = e[1]
            try:
                if os.path.getsize(src) < minsize:
                    continue
                with open(src, "rb") as f:
                    if f.read(4) != b"\x7fELF":
                        continue
            except OSError:
                continue
            dst = os.path.join(tmpdir, "strip-" + hashlib.sha1(path.encode()).hexdigest())
            if os.path.exists(dst):
                self.entries[path] = ("file", dst, stat.S_IMODE(os.stat(src).st_mode))
                continue
            opts = ["--strip-debug"] if path.endswith(".ko") else ["--strip-unneeded"]
            r = subprocess.run([strip] + opts + ["-o", dst, src], capture_output=True)
            if r.returncode == 0:
                self.entries[path] = ("file", dst, stat.S_IMODE(os.stat(src).st_mode))

    def write(self, out):
        w = CpioWriter(out)
        for path in sorted(self.entries):
            e = self.entries[path]
            name = path.lstrip("/")
            if e[0] == "dir":
                w.add_dir(name)
            elif e[0] == "file":
                w.add_file(name, e[1], e[2])
            elif e[0] == "link":
                w.add_symlink(name, e[1])
            elif e[0] == "bytes":
                w.add_bytes(name, e[1], e[2])
            elif e[0] == "node":
                w.add_node(name, e[1], e[2], e[3])
        w.close()


_LDD_RE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def shared_libraries(paths):
    """The shared libraries (with the loader) the ELF files PATHS need, from ldd."""
    libs = set()
    for p in paths:
        try:
            with open(p, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
        r = subprocess.run(["ldd", p], capture_output=True, text=True,
                           env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")})
        for line in r.stdout.splitlines():
            m = _LDD_RE.search(line)
            if m:
                libs.add(m.group(1))
    return libs


# ---- cache key --------------------------------------------------------------------------------

def _stat_sig(path):
    try:
        st = os.stat(path)
        return "%s:%d:%d" % (path, st.st_size, st.st_mtime_ns)
    except OSError:
        return path + ":missing"


def cache_key(kernel, release, python):
    h = hashlib.sha256()
    h.update(b"guestkit-appliance-%d\n" % FORMAT)
    for line in (_stat_sig(kernel), release, _stat_sig(python), sys.version,
                 _stat_sig("/var/lib/dpkg/status"), _stat_sig("/lib/modules/%s/modules.dep"
                                                                % release)):
        h.update(line.encode() + b"\n")
    for name, src in _package_sources():
        h.update(name.encode())
        with open(src, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    for d in (os.path.dirname(__file__),):
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".py"):
                with open(os.path.join(d, fn), "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:24]


def check_private_dir(path):
    """The cache must be ours: a directory (not a symlink), owned by us, writable by nobody
    else; otherwise another local user could plant the appliance we boot."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise ApplianceError("cache directory %s is not a private directory of this user "
                             "(owner uid %d, mode %o): remove it, or name another parent directory with "
                             "set_cachedir or GUESTKIT_CACHEDIR"
                             % (path, st.st_uid, stat.S_IMODE(st.st_mode)))


def cache_base():
    """The directory the per-user cache lives in when the handle names none:
    GUESTKIT_CACHEDIR, else LIBGUESTFS_CACHEDIR, else TMPDIR, else /var/tmp (the meaning
    guestfs(3) gives LIBGUESTFS_CACHEDIR and TMPDIR)."""
    for var in ("GUESTKIT_CACHEDIR", "LIBGUESTFS_CACHEDIR", "TMPDIR"):
        if os.environ.get(var):
            return os.environ[var]
    return "/var/tmp"


def user_cache(base=None):
    """The per-user cache inside BASE (default cache_base()): BASE/.guestkit-UID.  Only this
    inner directory has to be private; BASE may be shared, like /var/tmp."""
    return os.path.join(base or cache_base(), ".guestkit-%d" % os.geteuid())


# ---- build ------------------------------------------------------------------------------------

INIT = """#!%(python)s -SB
import os
try:
    os.write(1, %(marker)r + b"\\n")     # the host learns that the kernel started us
except OSError:
    pass
import sys
sys.path.insert(0, %(pkgroot)r)
from guestkit.daemon.main import appliance_init
appliance_init()
"""

LVM_CONF = """devices {
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    multipath_component_detection = 0
    md_component_detection = 1
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
global {
    use_lvmetad = 0
    use_lvmlockd = 0
}
"""


def get_appliance(cachedir=None, kernel=None, python=None, progress=None):
    """The cached appliance for this host, built first if needed."""
    kernel_path, release = find_kernel(kernel)
    python = os.path.realpath(python or sys.executable)
    cachedir = cachedir or user_cache()
    os.makedirs(cachedir, mode=0o700, exist_ok=True)
    check_private_dir(cachedir)
    key = cache_key(kernel_path, release, python)
    dest = os.path.join(cachedir, "appliance-" + key)
    initrd = os.path.join(dest, "initrd")
    if os.path.exists(initrd):
        _touch(dest)
        return Appliance(kernel_path, initrd, release, key, dest)
    with open(os.path.join(cachedir, ".lock"), "a+") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.exists(initrd):          # somebody else built it meanwhile
            return Appliance(kernel_path, initrd, release, key, dest)
        t0 = time.monotonic()
        tmp = tempfile.mkdtemp(prefix=".build-", dir=cachedir)
        try:
            build(tmp, release, python, progress)
            with open(os.path.join(tmp, "README"), "w") as f:
                f.write("guestkit appliance for kernel %s\nbuilt in %.2fs from %s\n"
                        % (release, time.monotonic() - t0, python))
            os.chmod(tmp, 0o755)
            os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(cachedir, keep=dest)
    return Appliance(kernel_path, initrd, release, key, dest)


def _touch(path):
    try:
        os.utime(path)
    except OSError:
        pass


def _prune(cachedir, keep, age=3600):
    """Remove appliances built for other keys (an old kernel, an old guestkit) once they
    have not been built or used for AGE seconds (another process may be starting one)."""
    now = time.time()
    for old in glob.glob(os.path.join(cachedir, "appliance-*")):
        try:
            if old != keep and now - os.stat(old).st_mtime > age:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass


class _Sets:
    """Adds paths to the root image (full) and, when early, to the initramfs (small) too."""

    def __init__(self):
        self.full = FileSet()
        self.small = FileSet()

    def __getattr__(self, method):
        def both(*args, early=True, **kw):
            getattr(self.full, method)(*args, **kw)
            if early:
                getattr(self.small, method)(*args, **kw)
        return both


def build(dest, release, python, progress=None):
    """Write DEST/initrd (what PID 1 needs) and DEST/root.img (everything, read lazily)."""
    def say(msg):
        if progress:
            progress(msg)

    sets = _Sets()
    for d in ("/proc", "/sys", "/dev", "/run", "/tmp", "/sysroot", "/root", "/etc",
              "/var/tmp", "/mnt"):
        sets.add_dir(d)
    sets.small.add_node("/dev/console", stat.S_IFCHR, 5, 1)
    sets.small.add_node("/dev/null", stat.S_IFCHR, 1, 3)
    # merged /usr: keep the host's top-level symlinks
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            sets.add_host_path(top)

    say("kernel modules")
    base = "/lib/modules/" + release
    for m in module_closure(release):
        sets.add_host_path(os.path.join(base, m), early=False)
    for idx in MODULE_INDEXES:
        if os.path.exists(os.path.join(base, idx)):
            sets.add_host_path(os.path.join(base, idx), early=False)
    boot_mods = boot_module_order(release)
    for m in boot_mods:
        sets.add_host_path(m)
    sets.add_bytes("/etc/guestkit/boot-modules", "".join(m + "\n" for m in boot_mods).encode())

    say("python runtime")
    sources = _package_sources()
    stdlib_files = python_closure(python, sources)
    early_elves = [python]
    sets.add_host_path(python)
    tmpdir = tempfile.mkdtemp(prefix="guestkit-build-")
    tag = sys.implementation.cache_tag
    try:
        def add_pyc(dst, src, early=True):
            pyc = os.path.join(tmpdir, hashlib.sha1(dst.encode()).hexdigest() + ".pyc")
            py_compile.compile(src, cfile=pyc, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            d, fn = os.path.split(dst)
            sets.add_file_as("%s/__pycache__/%s.%s.pyc" % (d, fn[:-3], tag), pyc, 0o644,
                             early=early)

        for f in stdlib_files:
            # reading modules from the root image costs more than unpacking them: all of
            # the daemon's Python goes into the initramfs
            sets.add_host_path(f)
            if f.endswith(".py"):
                add_pyc(f, f)
            else:
                early_elves.append(f)
        for name, src in sources:
            dst = "%s/%s" % (PKG_ROOT, name)
            sets.add_file_as(dst, src, 0o644)
            add_pyc(dst, src)
        sets.add_bytes(PKG_ROOT + "/guestkit/__init__.py", b"")
        for lib in sorted(shared_libraries(early_elves)):
            sets.add_host_path(lib)

        say("host tools")
        found = tools.find_tools()
        elves = []
        for path in found:
            sets.add_host_path(path, early=False)
            elves.append(os.path.realpath(path))
        extra = tools.find_extra_libs()         # and what those (dlopen'd) libraries need
        for lib in sorted(shared_libraries(elves + extra) | set(extra)):
            sets.add_host_path(lib, early=False)
        for path in tools.find_data_files():
            # /etc is not bound from the image: its files must be in the initramfs
            sets.add_host_path(path, early=path.startswith("/etc/"))

        sets.add_bytes("/init", (INIT % {"python": python, "pkgroot": PKG_ROOT,
                                        "marker": INIT_MARKER}).encode(),
                       0o755)
        sets.add_bytes("/etc/lvm/lvm.conf", LVM_CONF.encode())
        sets.add_bytes("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        sets.add_bytes("/etc/group", b"root:x:0:\ndisk:x:6:\n")
        sets.add_bytes("/etc/fstab", b"")
        sets.add_symlink("/etc/mtab", "/proc/self/mounts")
        sets.add_bytes("/etc/hostname", b"guestkit\n")
        sets.add_bytes("/etc/guestkit/tools", "\n".join(sorted(found)).encode() + b"\n")

        sets.full.strip_large(tmpdir)
        sets.small.strip_large(tmpdir)
        binds = sorted(p for p, e in sets.full.entries.items()
                       if p.count("/") == 1 and e[0] == "dir" and p not in NOT_BOUND)
        sets.small.add_bytes("/etc/guestkit/binds", "".join(b + "\n" for b in binds).encode())
        say("writing root image")
        write_root_image(sets.full, os.path.join(dest, "root.img"), tmpdir)
        say("writing initramfs")
        with open(os.path.join(dest, "initrd"), "wb") as out:
            sets.small.write(out)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def write_root_image(fs, path, tmpdir):
    """An ext2 image of the file set, made by mke2fs -d from a staging tree of hard links."""
    stage = os.path.join(tmpdir, "stage")
    os.mkdir(stage)
    total = 0
    for p in sorted(fs.entries):
        e = fs.entries[p]
        dst = stage + p
        if e[0] == "dir":
            os.makedirs(dst, exist_ok=True)
        elif e[0] == "link":
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(e[1], dst)
        elif e[0] == "bytes":
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(e[1])
            os.chmod(dst, e[2])
            total += len(e[1])
        elif e[0] == "file":
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            src, mode = e[1], e[2]
            if mode is None or src.startswith(tmpdir):
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
                if mode is not None:
                    os.chmod(dst, mode)
            else:
                shutil.copyfile(src, dst)
                os.chmod(dst, mode)
            total += os.path.getsize(dst)
    size = (total * 5 // 4 + len(fs.entries) * 4096 + (16 << 20)) // 4096 * 4096
    r = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-m", "0",
                        "-N", str(len(fs.entries) + 1024), "-L", "guestkit", "-d", stage,
                        path, str(size // 1024) + "k"],
                       capture_output=True, text=True,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    if r.returncode != 0:
        raise ApplianceError("mke2fs could not make the root image: %s" % r.stderr.strip())
