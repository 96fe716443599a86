"""The kernel's announcements of new block devices (uevents over netlink).

A disk's /dev node and /sys/block entry exist before the kernel has read its partition
table; the kernel announces the disk ("add" uevent) only once its partitions exist.  A
listener opened before a disk is asked for tells when it is whole."""

import os
import select
import socket

NETLINK_KOBJECT_UEVENT = 15
#: the kernel's multicast group of uevents
KERNEL_GROUP = 1
RCVBUF = 1 << 20


class Listener:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                                  NETLINK_KOBJECT_UEVENT)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self.sock.bind((os.getpid(), KERNEL_GROUP))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.added = set()
        self.lost = False

    def _drain(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:                 # ENOBUFS: announcements were lost
                self.lost = True
                return
            action, _, path = data.split(b"\0", 1)[0].partition(b"@")
            if action == b"add" and b"/block/" in path:
                self.added.add(path.rsplit(b"/", 1)[1].decode("ascii", "replace"))

    def announced(self, name, wait=0.0):
        """Whether the block device NAME (sda, sda1...) was announced, waiting up to WAIT
        seconds for more announcements first."""
        self._drain()
        if name not in self.added and wait > 0:
            select.select([self.sock], [], [], wait)
            self._drain()
        return name in self.added

    def close(self):
        self.sock.close()


def listen():
    """A Listener, or None where netlink uevents cannot be had (then callers fall back to
    what sysfs shows)."""
    try:
        return Listener()
    except OSError:
        return None
