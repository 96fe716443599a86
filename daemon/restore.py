"""A restored appliance becomes a new one: the host's entropy and clock, and a check that
nothing of the snapshot run is left (see backends/snapshot.py on the host side).

The snapshot was taken with no guest drives, nothing mounted and the daemon waiting for its
first call; every handle restoring it resumes from that very point, with the same RAM.  So
before it serves anything, the appliance mixes fresh host entropy into the kernel's pool and
forces a reseed of its CRNG (the kernel's own reseed would come minutes later; Debian's cloud
kernel has no vmgenid driver to trigger one), reseeds Python's `random`, and sets the clock.
"""

import fcntl
import os
import random
import struct
import sys
import tempfile
import time

from .util import fail

RNDADDENTROPY = 0x40085203          # _IOW('R', 0x03, int[2])
RNDRESEEDCRNG = 0x5207              # _IO('R', 0x07)
MIN_ENTROPY = 32


def reseed(entropy):
    """Credit ENTROPY (bytes from the host's CSPRNG) to the kernel pool and reseed the
    CRNG at once, then Python's own generators."""
    if not isinstance(entropy, str) or len(entropy) > 1024:
        fail("entropy must be hexadecimal text")
    try:
        data = bytes.fromhex(entropy)
    except ValueError:
        fail("entropy must be hexadecimal text")
    if len(data) < MIN_ENTROPY:
        fail("at least %d bytes of entropy are needed" % MIN_ENTROPY)
    fd = os.open("/dev/urandom", os.O_WRONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, RNDADDENTROPY, struct.pack("ii", len(data) * 8, len(data)) + data)
        fcntl.ioctl(fd, RNDRESEEDCRNG)
    finally:
        os.close(fd)
    random.seed(os.urandom(32))
    tempfile._name_sequence = None          # its Random was seeded in the snapshot run


def set_clock(ns):
    if not isinstance(ns, int) or ns <= 0:
        fail("the host clock must be a positive number of nanoseconds")
    time.clock_settime_ns(time.CLOCK_REALTIME, ns)


def pristine(sysroot):
    """Fail unless the appliance holds nothing of a guest: no disks, nothing mounted on
    the guest root (the snapshot run never had any; a mismatch means a bad snapshot)."""
    disks = [n for n in os.listdir("/sys/block") if n.startswith("sd")]
    if disks:
        fail("the restored appliance already has disks: %s" % ", ".join(sorted(disks)[:4]),
             "EIO")
    if os.path.ismount(sysroot):
        fail("the restored appliance has a filesystem mounted on the guest root", "EIO")


def do_internal_resume(ctx, entropy=None, clock_ns=None, nonce=None, verbose=None, drives=0,
                       **_):
    """The first call to a restored appliance: its greeting, made fresh, once the DRIVES
    (a count) qemu has plugged at SCSI targets 0, 1, ... are attached in that order."""
    t0 = time.monotonic()
    reseed(entropy)
    set_clock(clock_ns)
    pristine(ctx.sysroot)
    if verbose is not None:
        ctx.server.verbose = bool(verbose)
    if ctx.server.verbose:
        # the boot's messages went to the run that made the snapshot: say what runs here
        try:
            with open("/proc/version") as f:
                kernel = f.read(500).strip()
        except OSError:
            kernel = os.uname().release
        print("guestkitd: resumed from a snapshot (%s)" % kernel, file=sys.stderr, flush=True)
    if not isinstance(drives, int) or not 0 <= drives <= 255:
        fail("bad drive count %r" % (drives,))
    from .boot import scan_disks
    from .devices import disk_names
    scan_disks(drives)
    from . import protocol as P
    return {"magic": P.MAGIC, "version": P.VERSION, "pid": os.getpid(),
            "python": sys.version.split()[0], "release": os.uname().release,
            "restored": True, "nonce": nonce, "disks": disk_names(),
            "resume_s": round(time.monotonic() - t0, 4)}
