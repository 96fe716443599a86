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
