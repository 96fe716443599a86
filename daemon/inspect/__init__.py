"""Inspection parsers for guest operating systems (standard library only).

Each module here turns bytes already read from a guest (release files, fstab,
hostname files, package databases) into plain dicts and lists, the raw
material of libguestfs's ``inspect_*`` API.  None of them touches the
filesystem: the caller reads the candidate files (with a size bound) and
passes their contents in.  Guest data is hostile, so every parser bounds the
bytes, lines, fields and items it looks at, never recurses, and raises
nothing but ``ValueError``.

Modules:
  release   /etc/os-release and the older per-distro release files -> OS identity
  fstab     /etc/fstab and /etc/crypttab, plus guest device name remapping
  hostname  the hostname from /etc/hostname and friends
  packages  dpkg, apk and pacman databases -> application2 dicts
  osinfo    the libosinfo short id for an identified OS
  windows   cmd.exe's PE header, boot.ini, MountedDevices blobs, registry version values

scan.py and winroot.py are the exceptions: they mount, read the files (and hives) and hand
the bytes to the parsers.
"""
