"""The contract between the host and the appliance, declared once: backends, plugins, the
appliance builder and the daemon all read it from here (standard library only, so the
appliance carries it too)."""

#: the virtio-serial port the daemon talks on (the port's name in the guest)
CHANNEL = "org.guestkit.channel.0"

#: the line PID 1 writes on the console as soon as the kernel has started it: the host
#: learns from it that the kernel booted, even when the kernel itself prints nothing
#: (``quiet``), and tells a kernel that never ran from a daemon that failed to greet
INIT_MARKER = b"guestkitd: init started"

#: kernel command-line keys read by the daemon (guestkit.KEY=VALUE)
CMDLINE_PREFIX = "guestkit."
CMDLINE_DRIVES = "drives"        # how many drives to attach, in add order
CMDLINE_NETWORK = "network"      # 1: bring the network interface up
CMDLINE_VERBOSE = "verbose"      # 1: the daemon logs what it does on the console


#: the appliance's own root image: the first virtio-blk disk, read-only
ROOT_DEVICE = "/dev/vda"

# Guest drives: disks of one virtio-scsi adapter, the drive added Nth at channel 0, target
# N, lun 0.  The kernel scans nothing by itself (scsi_mod.scan=manual, and hotplug events
# off where the hypervisor allows it): the daemon attaches target after target, at boot or
# when a drive is plugged, so the Nth drive is /dev/sd + disk_letters(N).
def disk_letters(index):
    """0 -> "a", 25 -> "z", 26 -> "aa" (the kernel's sdX naming)."""
    if index < 0:
        raise ValueError("negative disk index")
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def disk_index(letters):
    """"a" -> 0, "z" -> 25, "aa" -> 26; the inverse of disk_letters."""
    if not letters or len(letters) > 3 or not letters.isalpha() or not letters.islower():
        raise ValueError("bad disk letters %r" % letters[:8])
    value = 0
    for c in letters:
        value = value * 26 + (ord(c) - ord("a") + 1)
    return value - 1
