"""Daemon actions: luks (see docs/api.md).

Keys are ``Key`` arguments: they are never traced or logged, and the daemon hands them to
cryptsetup through a pipe (stdin) or an anonymous memory file, never on a command line and
never in a file on disk.  New devices are LUKS2 with cryptsetup's default key derivation
(argon2id, its costs calibrated by cryptsetup's benchmark), like libguestfs; the daemon runs
the benchmark once per appliance and reuses its result for later key slots (see
daemon/luks.py).  Under TCG that is about 14 s for the first key slot, 4 s for later ones
and 2-4 s per unlock.
"""

from .table import Action, Bool, Device, Int, Key, RErr, RString, String

ACTIONS = [
    Action("luks_format", [Device("device"), Key("key"), Int("keyslot")], RErr(),
           group="luks",
           doc="Erase DEVICE and format it as a LUKS (LUKS2) encrypted device, with "
               "cryptsetup's default cipher and key derivation, and KEY as the initial key "
               "in key slot KEYSLOT (0-31).  The key is never traced or logged."),
    Action("luks_format_cipher", [Device("device"), Key("key"), Int("keyslot"),
                                  String("cipher")], RErr(),
           group="luks",
           doc="The same as luks_format, but also sets the CIPHER used (as for cryptsetup "
               "--cipher, e.g. aes-xts-plain64 or aes-cbc-essiv:sha256)."),
    Action("cryptsetup_open", [Device("device"), Key("key"), String("mapname")], RErr(),
           [Bool("readonly"), String("crypttype"), String("cipher")],
           group="luks",
           doc="Open the encrypted block device DEVICE (LUKS or Windows BitLocker) with "
               "KEY, one of its keys, creating /dev/mapper/MAPNAME: reads and writes there "
               "are decrypted from and encrypted to DEVICE.  MAPNAME cannot be \"control\" "
               "(reserved by device-mapper) and must not already exist (EEXIST).  "
               "crypttype is luks or bitlk (guessed from the device's signature when "
               "omitted); readonly makes a read-only mapping; cipher is passed to "
               "cryptsetup for the types that need it.  A wrong key fails with EPERM.  "
               "Opened mappings appear in list_filesystems; if they hold LVM volume "
               "groups, lvm_scan makes them visible."),
    Action("cryptsetup_close", [Device("device")], RErr(),
           group="luks",
           doc="Close an encrypted mapping made by cryptsetup_open.  DEVICE is the "
               "mapping (/dev/mapper/MAPNAME), not the underlying block device."),
    Action("luks_open", [Device("device"), Key("key"), String("mapname")], RErr(),
           group="luks", deprecated_by="cryptsetup_open",
           doc="Deprecated: use cryptsetup_open.  Open the LUKS device DEVICE with KEY as "
               "/dev/mapper/MAPNAME."),
    Action("luks_open_ro", [Device("device"), Key("key"), String("mapname")], RErr(),
           group="luks", deprecated_by="cryptsetup_open",
           doc="Deprecated: use cryptsetup_open with readonly.  The same as luks_open, but "
               "the mapping is read-only."),
    Action("luks_close", [Device("device")], RErr(),
           group="luks", deprecated_by="cryptsetup_close",
           doc="Deprecated: use cryptsetup_close.  Close the LUKS mapping DEVICE "
               "(/dev/mapper/MAPNAME) made by luks_open or luks_open_ro."),
    Action("luks_add_key", [Device("device"), Key("key"), Key("newkey"), Int("keyslot")],
           RErr(), group="luks",
           doc="Add NEWKEY in key slot KEYSLOT of the LUKS device DEVICE; KEY is any "
               "existing key.  If KEYSLOT already holds a key this fails (EEXIST): remove "
               "it first with luks_kill_slot."),
    Action("luks_kill_slot", [Device("device"), Key("key"), Int("keyslot")], RErr(),
           group="luks",
           doc="Delete the key in key slot KEYSLOT of the LUKS device DEVICE.  KEY must be "
               "one of the other keys."),
    Action("luks_uuid", [Device("device")], RString(),
           group="luks",
           doc="The UUID of the LUKS device DEVICE."),
]
