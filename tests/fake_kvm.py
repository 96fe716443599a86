"""A qemu that behaves like a host whose KVM breaks after guestkit's probe, for the KVM
fallback tests.

make_wrapper(dir, mode) writes DIR/qemu, given to guestkit as the hypervisor (set_hv), and
returns its path.  Every run appends "ACCEL KIND" to DIR/calls (ACCEL kvm or tcg; KIND probe
for guestkit's firmware probe, launch for an appliance, other for libvirt's capability
queries).  What it does:

- guestkit's KVM probe under KVM: writes the firmware banner the probe waits for, as a
  host with a working /dev/kvm does, and waits to be killed;
- an appliance launch under TCG, and anything else: runs the real qemu;
- an appliance launch under KVM, by MODE:
  exit    prints qemu's KVM failure and exits 1 (qemu aborting),
  hang    prints it, then runs with the CPU stuck (qemu paused on "KVM internal error"),
  silent  runs with the CPU stuck and prints nothing (a stalled kernel),
  die     runs for a second with the CPU stuck, prints the failure and exits 1 (a vCPU
          that fails after libvirt's start-up handshake);
  baddrive  (under TCG too) exits 1 saying it cannot open a drive whose path holds "kvm",
          as qemu-kvm would: not KVM's fault.
A stuck CPU is real qemu under TCG with a firmware that jumps to itself at the reset
vector: qemu, its QMP monitor and the daemon's channel all work, the kernel never runs.
"""

import os
import shutil

SCRIPT = r"""#!/bin/bash
here=%(here)s
real=%(real)s
mode=$(cat "$here/mode")
kvm=tcg kind=other prev= dbg=
for a in "$@"; do
  case "$a" in
    *accel=kvm*) kvm=kvm ;;
    kvm) [ "$prev" = -accel ] && kvm=kvm ;;
    -kernel) kind=launch ;;
    *isa-debugcon*) kind=probe ;;
    file,id=dbg,path=*) dbg=${a#file,id=dbg,path=} ;;
  esac
  prev=$a
done
# an appliance under KVM really runs under TCG (whatever the mode does to it)
args=() prev=
for a in "$@"; do
  if [ $kind = launch ]; then
    case "$a" in
      *accel=kvm*) a=${a//accel=kvm/accel=tcg} ;;
      kvm) [ "$prev" = -accel ] && a=tcg ;;
      host*) [ "$prev" = -cpu ] && a=max ;;
    esac
  fi
  args+=("$a"); prev=$a
done
echo "$kvm $kind" >> "$here/calls"
if [ "$mode" = baddrive ] && [ $kind = launch ]; then
  echo "qemu-kvm: -drive file=/srv/kvm/x.img: Could not open '/srv/kvm/x.img': Permission denied" >&2
  exit 1
fi
if [ $kvm = kvm ] && [ $kind = probe ]; then
  echo "SeaBIOS (version fake)" > "$dbg"
  exec sleep 60
fi
if [ $kvm = kvm ] && [ $kind = launch ]; then
  msg="KVM internal error. Suberror: 1
emulation failure"
  case "$mode" in
    exit) echo "$msg" >&2; exit 1 ;;
    hang) echo "$msg" >&2; exec "$real" "${args[@]}" -bios "$here/spin.bin" ;;
    silent) exec "$real" "${args[@]}" -bios "$here/spin.bin" ;;
    die) "$real" "${args[@]}" -bios "$here/spin.bin" & pid=$!
         sleep 1; echo "$msg" >&2; kill -9 $pid; exit 1 ;;
  esac
fi
exec "$real" "${args[@]}"
"""


def make_wrapper(d, mode):
    d = str(d)
    os.makedirs(d, exist_ok=True)
    real = shutil.which("qemu-system-x86_64")
    assert real, "qemu-system-x86_64 is not installed: run the README's test command"
    rom = bytearray(65536)
    rom[-16:-14] = b"\xeb\xfe"                  # at the reset vector: jmp to itself
    with open(os.path.join(d, "spin.bin"), "wb") as f:
        f.write(rom)
    with open(os.path.join(d, "mode"), "w") as f:
        f.write(mode)
    path = os.path.join(d, "qemu")
    with open(path, "w") as f:
        f.write(SCRIPT % {"here": repr(d), "real": repr(real)})
    os.chmod(path, 0o755)
    for p in (d, os.path.join(d, "spin.bin"), os.path.join(d, "mode")):
        os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
    return path


def calls(d):
    """[(accel, kind)] of every run so far."""
    try:
        with open(os.path.join(str(d), "calls")) as f:
            return [tuple(l.split()) for l in f if l.strip()]
    except FileNotFoundError:
        return []
