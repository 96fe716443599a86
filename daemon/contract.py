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


# drive addressing: the drive added Nth is the Nth SCSI disk, /dev/sd + disk_letters(N)
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
