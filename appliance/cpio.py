"""A minimal writer for the cpio 'newc' format the Linux kernel unpacks as initramfs."""

import os
import stat

_TRAILER = "TRAILER!!!"


class CpioWriter:
    def __init__(self, fileobj):
        self.f = fileobj
        self.ino = 1
        self.offset = 0

    def _write(self, data):
        self.f.write(data)
        self.offset += len(data)

    def _pad(self):
        pad = (-self.offset) % 4
        if pad:
            self._write(b"\0" * pad)

    def _header(self, name, mode, size, rdev_major=0, rdev_minor=0, mtime=0, nlink=1):
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, mtime, size, 0, 0, rdev_major, rdev_minor,
                  len(nameb), 0]
        self.ino += 1
        self._write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self._write(nameb)
        self._pad()

    def add_dir(self, name, mode=0o755):
        self._header(name, stat.S_IFDIR | mode, 0, nlink=2)

    def add_symlink(self, name, target):
        data = target.encode()
        self._header(name, stat.S_IFLNK | 0o777, len(data))
        self._write(data)
        self._pad()

    def add_bytes(self, name, data, mode=0o644):
        self._header(name, stat.S_IFREG | mode, len(data))
        self._write(data)
        self._pad()

    def add_file(self, name, src, mode=None):
        st = os.stat(src)
        size = st.st_size
        self._header(name, stat.S_IFREG | (mode if mode is not None else
                                           stat.S_IMODE(st.st_mode)), size)
        with open(src, "rb") as f:
            left = size
            while left:
                b = f.read(min(left, 1 << 20))
                if not b:
                    raise OSError("%s shrank while being copied" % src)
                self._write(b)
                left -= len(b)
        self._pad()

    def add_node(self, name, kind, major, minor, mode=0o600):
        self._header(name, kind | mode, 0, major, minor)

    def close(self):
        self._header(_TRAILER, 0, 0, nlink=1)
        pad = (-self.offset) % 512
        if pad:
            self._write(b"\0" * pad)
