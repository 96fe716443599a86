"""The appliance's network, when the library asked for one (set_network): standard library
only, with the kernel's ioctls rather than ip(8).

qemu's user-mode network (slirp) is given 169.254.0.0/16 by the backends; inside it the host
answers at 169.254.2.2 (connections to it reach the host's loopback), its DNS proxy at
169.254.2.3, and the appliance takes 169.254.2.15, the address slirp's DHCP would hand out.
Nothing listens on the appliance's side: the network exists for tools that connect out
(rsync_in, rsync_out).
"""

import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import time

ADDRESS = "169.254.2.15"
NETMASK = "255.255.0.0"
GATEWAY = "169.254.2.2"
NAMESERVER = "169.254.2.3"

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
SIOCADDRT = 0x890B
IFF_UP = 0x1
RTF_UP = 0x1
RTF_GATEWAY = 0x2


class _RtEntry(ctypes.Structure):
    """struct rtentry (linux/route.h), x86_64 layout."""
    _fields_ = [("rt_pad1", ctypes.c_ulong),
                ("rt_dst", ctypes.c_ubyte * 16),
                ("rt_gateway", ctypes.c_ubyte * 16),
                ("rt_genmask", ctypes.c_ubyte * 16),
                ("rt_flags", ctypes.c_ushort),
                ("rt_pad2", ctypes.c_short),
                ("rt_pad3", ctypes.c_ulong),
                ("rt_pad4", ctypes.c_void_p),
                ("rt_metric", ctypes.c_short),
                ("rt_dev", ctypes.c_char_p),
                ("rt_mtu", ctypes.c_ulong),
                ("rt_window", ctypes.c_ulong),
                ("rt_irtt", ctypes.c_ushort)]


def _sockaddr(addr):
    return struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(addr))


def _sockaddr_field(addr):
    return (ctypes.c_ubyte * 16).from_buffer_copy(_sockaddr(addr))


def _ifreq(name, payload=b""):
    return struct.pack("16s24s", name.encode(), payload)


def _set_up(sock, name):
    flags = struct.unpack_from("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, _ifreq(name)))[1]
    fcntl.ioctl(sock, SIOCSIFFLAGS, _ifreq(name, struct.pack("H", flags | IFF_UP)))


def _interface(timeout):
    """The first network interface other than lo, waiting for the driver to make it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            names = sorted(n for n in os.listdir("/sys/class/net") if n != "lo")
        except FileNotFoundError:
            names = []
        if names:
            return names[0]
        if time.monotonic() > deadline:
            raise OSError("no network interface appeared (is virtio_net in the appliance?)")
        time.sleep(0.005)


def bring_up(timeout=20.0):
    """Load the driver, configure the interface and the default route, write resolv.conf.
    Returns the interface's name."""
    subprocess.run(["modprobe", "virtio_net"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    name = _interface(timeout)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        _set_up(s, "lo")
        fcntl.ioctl(s, SIOCSIFADDR, _ifreq(name, _sockaddr(ADDRESS)))
        fcntl.ioctl(s, SIOCSIFNETMASK, _ifreq(name, _sockaddr(NETMASK)))
        _set_up(s, name)
        rt = _RtEntry()
        rt.rt_dst = _sockaddr_field("0.0.0.0")
        rt.rt_gateway = _sockaddr_field(GATEWAY)
        rt.rt_genmask = _sockaddr_field("0.0.0.0")
        rt.rt_flags = RTF_UP | RTF_GATEWAY
        fcntl.ioctl(s, SIOCADDRT, bytes(rt))
    os.makedirs("/etc", exist_ok=True)
    with open("/etc/resolv.conf", "w") as f:
        f.write("nameserver %s\n" % NAMESERVER)
    return name
