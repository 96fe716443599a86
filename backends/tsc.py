"""The host's TSC frequency, for the guest kernel's ``tsc_early_khz=`` under TCG.

Under TCG the guest's TSC is the host's (qemu's rdtsc helper returns the host counter), and
the kernel must learn its rate to keep time.  It measures it against the PIT; when the host
is busy the vCPU thread gets preempted in the middle of that measurement, and the kernel
either gets a wrong rate (its clock then runs fast or slow for as long as it runs: for an
appliance restored from a snapshot, for every launch restoring it) or fails ("Fast TSC
calibration failed"; on microvm, which has no HPET or ACPI PM timer to fall back on, the
boot then hangs before init).  Telling the kernel the rate skips the calibration.

The rate is measured here, not read from /proc/cpuinfo ("cpu MHz" is the current core
clock on hosts with frequency scaling, not the TSC's): read the TSC with a ten-byte rdtsc
routine and compare it with CLOCK_MONOTONIC over a few milliseconds.  The result is kept
per host boot in the cache directory, so that every process gives the kernel the same rate
(it is part of a launch snapshot's key).
"""

import ctypes
import json
import mmap
import os
import platform
import time

# rdtsc; shl rdx, 32; or rax, rdx; ret
_RDTSC = bytes([0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3])

_cached = []


def _rdtsc_function():
    buf = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                    prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(_RDTSC)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    fn = ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)
    fn._keepalive = buf             # the code lives as long as the function object
    return fn


def _sample(rdtsc):
    """(monotonic ns, tsc) read as close together as this process can manage."""
    best = None
    for _ in range(5):
        a = time.monotonic_ns()
        t = rdtsc()
        b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, (a + b) // 2, t)
    return best[1], best[2]


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def host_tsc_khz(cachedir=None, window=0.025):
    """The host TSC's frequency in kHz, or None when it cannot be measured here (not an
    x86-64 host, no constant-rate TSC, or executable memory refused).  CACHEDIR: where the
    measurement is kept for this host boot."""
    if _cached:
        return _cached[0]
    path = os.path.join(cachedir, "tsc-khz.json") if cachedir else None
    boot = _boot_id()
    if path and boot:
        try:
            with open(path) as f:
                saved = json.load(f)
            if saved.get("boot_id") == boot and isinstance(saved.get("khz"), int):
                _cached.append(saved["khz"])
                return saved["khz"]
        except (OSError, ValueError, AttributeError):
            pass
    khz = _measure(window)
    if khz is not None and path and boot:
        try:
            tmp = "%s.%d" % (path, os.getpid())
            with open(tmp, "w") as f:
                json.dump({"boot_id": boot, "khz": khz}, f)
            os.rename(tmp, path)
        except OSError:
            pass
    _cached.append(khz)
    return khz


def _measure(window):
    khz = None
    try:
        if platform.machine() in ("x86_64", "AMD64") and _constant_tsc():
            rdtsc = _rdtsc_function()
            rates = []
            for _ in range(3):
                n0, t0 = _sample(rdtsc)
                time.sleep(window)
                n1, t1 = _sample(rdtsc)
                if n1 > n0 and t1 > t0:
                    rates.append((t1 - t0) * 1e6 / (n1 - n0))       # ticks per ms = kHz
            if rates:
                rates.sort()
                khz = int(round(rates[len(rates) // 2]))
                if not 100000 <= khz <= 20000000:                   # 0.1 .. 20 GHz
                    khz = None
    except (OSError, ValueError, AttributeError):
        khz = None
    return khz


def _constant_tsc():
    """Whether the host says its TSC ticks at a constant rate (else a rate is meaningless)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "constant_tsc" in line.split()
    except OSError:
        pass
    return False
