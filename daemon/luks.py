"""Handlers for the luks actions (standard library only).

Keys go to cryptsetup through its stdin (``--key-file=-``: the whole input is the key, byte
for byte) and, for a second key, through an anonymous memory file (memfd) the child reaches
as /proc/self/fd/N: never on a command line, never in a file on disk, never in a log.  The
appliance runs no udev: libdevmapper then makes the /dev/mapper nodes itself, and cryptsetup
keeps its metadata locks under /run/cryptsetup (a tmpfs), so the defaults work as they are.

Key derivation: cryptsetup's defaults (LUKS2, argon2id, costs calibrated by a benchmark to
about 2 s of unlocking on this machine), as libguestfs does.  Measured under TCG: the
benchmark takes about 9 s of the 13-14 s a new key slot costs (it settles on time cost 4,
~64 MiB), an unlock 2-4 s.  So the first key slot made in an appliance session runs the
benchmark, and later ones on LUKS2 devices reuse the costs it chose (read back with luksDump)
through --pbkdf-force-iterations / --pbkdf-memory / --pbkdf-parallel: the same strength the
defaults give on this machine, without paying the benchmark again (~4 s instead of 14 s).
"""

import os
import subprocess

from .util import ENV, DaemonError, device, fail

# cryptsetup's exit codes (cryptsetup(8) RETURN CODES)
_EXIT_ERRNO = {1: "EINVAL", 2: "EPERM", 3: "ENOMEM", 4: "ENODEV", 5: "EBUSY"}

# blkid types of encrypted containers, and the cryptsetup --type that opens them
ENCRYPTED_TYPES = {"crypto_LUKS": "luks", "BitLocker": "bitlk"}
_CRYPTTYPES = ("luks", "luks1", "luks2", "bitlk")


def _key_bytes(key):
    return key.encode("utf-8", "surrogateescape")


def _cryptsetup(args, key=None, newkey=None, what="cryptsetup"):
    """Run cryptsetup ARGS; KEY (if any) is its stdin, NEWKEY (if any) is readable at the
    path that replaces the "{newkey}" word of ARGS."""
    argv = ["cryptsetup"] + list(args)
    memfd = None
    pass_fds = ()
    try:
        if newkey is not None:
            memfd = os.memfd_create("guestkit-key", os.MFD_CLOEXEC)
            data = _key_bytes(newkey)
            off = 0
            while off < len(data):
                off += os.write(memfd, data[off:])
            os.lseek(memfd, 0, os.SEEK_SET)
            argv = [("/proc/self/fd/%d" % memfd) if a == "{newkey}" else a for a in argv]
            pass_fds = (memfd,)
        try:
            p = subprocess.run(argv, input=_key_bytes(key) if key is not None else b"",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               pass_fds=pass_fds,
                               env=ENV)
        except FileNotFoundError:
            raise DaemonError("cryptsetup: command not found in the appliance (the luks "
                              "feature is not available)", "ENOTSUP") from None
    finally:
        if memfd is not None:
            os.close(memfd)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        msg = " ".join((err.strip() or out.strip() or
                        "exit status %d" % p.returncode).split("\n"))
        raise DaemonError("%s: %s" % (what, msg), _EXIT_ERRNO.get(p.returncode, "EIO"))
    return out


def _blkid_type(dev):
    from .filesystems import blkid_export
    return blkid_export([dev]).get(dev, {}).get("TYPE", "")


def _check_keyslot(keyslot):
    if keyslot < 0:
        fail("keyslot must be 0 or more, got %d" % keyslot)


# the argon2 costs cryptsetup's benchmark chose in this session: (pbkdf, time, KiB, threads)
_calibrated = None


def _dump(dev):
    return _cryptsetup(["luksDump", dev], what="luksDump")


def _keyslot_costs(dump, keyslot):
    """(pbkdf, time cost, memory KiB, threads) of KEYSLOT in a LUKS2 luksDump, or None."""
    section, cur, found = None, None, {}
    for line in dump.splitlines():
        if line and not line[0].isspace():
            section, cur = line.strip().rstrip(":"), None
            continue
        key, sep, value = line.strip().partition(":")
        if section != "Keyslots" or not sep:
            continue
        if key.isdigit() and not line.startswith("\t"):
            cur = int(key)
        elif cur == keyslot:
            found[key.strip()] = value.strip()
    try:
        costs = (found["PBKDF"], int(found["Time cost"]), int(found["Memory"]),
                 int(found["Threads"]))
    except (KeyError, ValueError):
        return None
    return costs if costs[0].startswith("argon2") else None


def _pbkdf_args():
    if _calibrated is None:
        return []
    pbkdf, t, mem, threads = _calibrated
    return ["--pbkdf", pbkdf, "--pbkdf-force-iterations", str(t), "--pbkdf-memory",
            str(mem), "--pbkdf-parallel", str(threads)]


def _remember_costs(dev, keyslot):
    global _calibrated
    if _calibrated is None:
        try:
            _calibrated = _keyslot_costs(_dump(dev), keyslot)
        except DaemonError:
            pass


def _format(dev, key, keyslot, cipher=None):
    dev = device(dev)
    _check_keyslot(keyslot)
    args = ["-q", "luksFormat", "--type", "luks2", "--key-file=-", "--key-slot",
            str(keyslot)] + _pbkdf_args()
    if cipher is not None:
        if not cipher or cipher.startswith("-"):
            fail("%r: invalid cipher" % cipher)
        args += ["--cipher", cipher]
    _cryptsetup(args + [dev], key, what="luksFormat")
    _remember_costs(dev, keyslot)


def do_luks_format(ctx, dev, key, keyslot):
    _format(dev, key, keyslot)


def do_luks_format_cipher(ctx, dev, key, keyslot, cipher):
    _format(dev, key, keyslot, cipher)


def _check_mapname(mapname):
    if (not mapname or mapname in (".", "..", "control") or "/" in mapname
            or len(mapname) > 127 or not mapname.isprintable() or " " in mapname
            or mapname.startswith("-")):
        fail("%r: invalid mapping name (not empty, no /, no spaces, not \"control\")"
             % mapname)


def do_cryptsetup_open(ctx, dev, key, mapname, readonly=False, crypttype=None, cipher=None):
    dev = device(dev)
    _check_mapname(mapname)
    if os.path.lexists("/dev/mapper/" + mapname):
        fail("/dev/mapper/%s already exists" % mapname, "EEXIST")
    if crypttype is None:
        found = _blkid_type(dev)
        crypttype = ENCRYPTED_TYPES.get(found)
        if crypttype is None:
            fail("%s: not a LUKS or BitLocker device (%s); pass crypttype to force one"
                 % (dev, "type %s" % found if found else "no signature found"))
    elif crypttype not in _CRYPTTYPES:
        fail("%r: unknown crypttype (expecting %s)" % (crypttype, ", ".join(_CRYPTTYPES)))
    args = ["open", "--type", crypttype, "--key-file=-"]
    if readonly:
        args.append("--readonly")
    if cipher is not None:
        if not cipher or cipher.startswith("-"):
            fail("%r: invalid cipher" % cipher)
        args += ["--cipher", cipher]
    _cryptsetup(args + [dev, mapname], key, what="cryptsetup open")
    if not os.path.exists("/dev/mapper/" + mapname):
        raise DaemonError("/dev/mapper/%s did not appear after cryptsetup open" % mapname)


def _mapping_name(dev):
    """The device-mapper name of an open crypt mapping given as /dev/mapper/NAME."""
    if not dev.startswith("/dev/mapper/"):
        fail("%s: expecting the mapping device /dev/mapper/NAME, not the underlying "
             "device" % dev)
    dev = device(dev)
    name = dev[len("/dev/mapper/"):]
    st = os.stat(dev)
    sysdir = "/sys/dev/block/%d:%d/dm" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    try:
        with open(sysdir + "/uuid") as f:
            uuid = f.read().strip()
    except OSError:
        fail("%s: not a device-mapper device" % dev)
    if not uuid.startswith("CRYPT-"):
        fail("%s: not an encrypted mapping" % dev)
    return name


def do_cryptsetup_close(ctx, dev):
    name = _mapping_name(dev)
    _cryptsetup(["close", name], what="cryptsetup close")


def do_luks_open(ctx, dev, key, mapname):
    do_cryptsetup_open(ctx, dev, key, mapname, crypttype="luks")


def do_luks_open_ro(ctx, dev, key, mapname):
    do_cryptsetup_open(ctx, dev, key, mapname, readonly=True, crypttype="luks")


def do_luks_close(ctx, dev):
    do_cryptsetup_close(ctx, dev)


def _used_keyslots(out):
    """Key slot numbers in use, from the luksDump output OUT."""
    used = set()
    in_slots = False
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Key Slot ") and s.endswith("ENABLED"):     # LUKS1
            used.add(int(s.split()[2].rstrip(":")))
        elif line.startswith("Keyslots:"):                            # LUKS2
            in_slots = True
        elif in_slots and line and not line[0].isspace():
            in_slots = False
        elif in_slots and s.endswith(": luks2") and s.split(":")[0].isdigit():
            used.add(int(s.split(":")[0]))
    return used


def do_luks_add_key(ctx, dev, key, newkey, keyslot):
    dev = device(dev)
    _check_keyslot(keyslot)
    dump = _dump(dev)
    # say so at once rather than after the key derivation (seconds under TCG)
    if keyslot in _used_keyslots(dump):
        fail("%s: key slot %d already holds a key (remove it with luks_kill_slot first)"
             % (dev, keyslot), "EEXIST")
    luks2 = any(line.split() == ["Version:", "2"] for line in dump.splitlines())
    _cryptsetup(["-q", "luksAddKey", "--key-file=-", "--key-slot", str(keyslot)]
                + (_pbkdf_args() if luks2 else []) + [dev, "{newkey}"], key, newkey,
                what="luksAddKey")
    if luks2:
        _remember_costs(dev, keyslot)


def do_luks_kill_slot(ctx, dev, key, keyslot):
    dev = device(dev)
    _check_keyslot(keyslot)
    _cryptsetup(["-q", "luksKillSlot", "--key-file=-", dev, str(keyslot)], key,
                what="luksKillSlot")


def do_luks_uuid(ctx, dev):
    dev = device(dev)
    if _blkid_type(dev) != "crypto_LUKS":
        fail("%s: not a LUKS device" % dev)
    return _cryptsetup(["luksUUID", dev], what="luksUUID").strip()


def open_mappings():
    """/dev/mapper/NAME of every open crypt mapping (for list_filesystems)."""
    out = []
    try:
        names = sorted(n for n in os.listdir("/sys/block") if n.startswith("dm-"))
    except OSError:
        return out
    for n in sorted(names, key=lambda x: int(x[3:]) if x[3:].isdigit() else 0):
        try:
            with open("/sys/block/%s/dm/uuid" % n) as f:
                uuid = f.read().strip()
            with open("/sys/block/%s/dm/name" % n) as f:
                name = f.read().strip()
        except OSError:
            continue
        if uuid.startswith("CRYPT-") and os.path.exists("/dev/mapper/" + name):
            out.append("/dev/mapper/" + name)
    return out
