"""Boot loaders (GRUB, SYSLINUX, EXTLINUX) and unlocking LUKS devices bound with Clevis."""

from .table import Action, String, Device, Pathname, OString, RErr

ACTIONS = [
    Action("grub_install", [Pathname("root"), Device("device")], group="grub",
           doc="Install GRUB on DEVICE with the guest directory ROOT as the root "
               "directory (its boot/grub receives GRUB's files), running the appliance's "
               "grub-install.  GRUB is not always compatible with itself, so this works in "
               "narrow circumstances only; if grub-install cannot map the device, write a "
               "boot/grub/device.map under ROOT first (for example (hd0) /dev/sda)."),
    Action("syslinux", [Device("device")], RErr(), [OString("directory")], group="syslinux",
           doc="Install SYSLINUX on DEVICE, a whole disk or a partition holding a FAT "
               "filesystem (not mounted).  For a partition, mark it bootable "
               "(part_set_bootable) and put a master boot record on the disk's first "
               "sector.  directory installs it into that directory of the filesystem "
               "instead of its root; configuration goes in syslinux.cfg there."),
    Action("extlinux", [Pathname("directory")], group="extlinux",
           doc="Install EXTLINUX (SYSLINUX for ext2/3/4 and btrfs) into DIRECTORY of a "
               "mounted filesystem (its mountpoint or a directory in it).  Mark the "
               "partition bootable and install a master boot record as for syslinux; "
               "configuration goes in extlinux.conf in DIRECTORY."),
    Action("clevis_luks_unlock", [Device("device"), String("mapname")], group="clevisluks",
           doc="Open the LUKS device DEVICE as /dev/mapper/MAPNAME with a key the Clevis "
               "pins bound to it unlock (clevis luks unlock), without a passphrase.  "
               "Whether the pins (Tang servers, a TPM) can be reached from the appliance "
               "decides if it works; the appliance needs clevis itself, else the call "
               "fails with ENOTSUP (see feature_available)."),
]
