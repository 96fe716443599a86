"""Make or read a disk layout with either library: the same script runs on libguestfs's
Python binding (Debian's /usr/bin/python3) and on guestkit, which is call-compatible.

    python layout.py {guestfs|guestkit} write IMAGE
    python layout.py {guestfs|guestkit} read IMAGE      -> JSON on stdout

Layout: GPT; p1 vfat "EFI"; p2 ext4 "BOOT"; p3 btrfs "POOL"; p4 an LVM PV with VG "ivg":
LV "data" xfs "DATA", LV "vault" LUKS (key below) holding ext4 "VAULT".  Each filesystem
holds /hello with its own name.
"""

import importlib
import json
import os
import sys

KEY = "interop-passphrase"
GIB = 1 << 30


def handle(lib):
    mod = importlib.import_module(lib)
    os.environ.setdefault("LIBGUESTFS_BACKEND", "direct")
    os.environ.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    return mod.GuestFS(python_return_dict=True)


def write(lib, image):
    g = handle(lib)
    with open(image, "wb") as f:
        f.truncate(int(1.5 * GIB))
    g.add_drive_opts(image, format="raw")
    g.launch()
    d = "/dev/sda"
    g.part_init(d, "gpt")
    g.part_add(d, "p", 2048, 133119)             # 64 MiB
    g.part_add(d, "p", 133120, 395263)           # 128 MiB
    g.part_add(d, "p", 395264, 919551)           # 256 MiB
    g.part_add(d, "p", 919552, -34)              # the rest
    g.mkfs("vfat", "/dev/sda1", label="EFI")
    g.mkfs("ext4", "/dev/sda2", label="BOOT")
    g.mkfs("btrfs", "/dev/sda3", label="POOL")
    g.pvcreate("/dev/sda4")
    g.vgcreate("ivg", ["/dev/sda4"])
    g.lvcreate("data", "ivg", 320)
    g.lvcreate("vault", "ivg", 64)
    g.mkfs("xfs", "/dev/ivg/data", label="DATA")
    g.luks_format("/dev/ivg/vault", KEY, 0)
    g.luks_open("/dev/ivg/vault", KEY, "vault")
    g.mkfs("ext4", "/dev/mapper/vault", label="VAULT")
    for dev, name in (("/dev/sda1", "efi"), ("/dev/sda2", "boot"), ("/dev/sda3", "pool"),
                      ("/dev/ivg/data", "data"), ("/dev/mapper/vault", "vault")):
        g.mount(dev, "/")
        g.write("/hello", ("hello from %s\n" % name).encode())
        g.mkdir("/dir")
        g.umount("/")
    g.luks_close("/dev/mapper/vault")
    g.shutdown()
    g.close()


def read(lib, image):
    g = handle(lib)
    g.add_drive_opts(image, format="raw", readonly=True)
    g.launch()
    out = {"parttype": g.part_get_parttype("/dev/sda"),
           "partitions": [[p["part_num"], p["part_start"], p["part_end"]]
                          for p in g.part_list("/dev/sda")],
           "lvs": sorted(g.lvs()), "vgs": sorted(g.vgs())}
    g.luks_open("/dev/ivg/vault", KEY, "vault")
    fss = g.list_filesystems()
    out["filesystems"] = {}
    for dev in sorted(fss):
        t = fss[dev]
        info = {"type": t}
        if t not in ("unknown", "swap", "crypto_LUKS"):
            info["label"] = g.vfs_label(dev)
            info["uuid"] = g.vfs_uuid(dev)
            g.mount_ro(dev, "/")
            info["hello"] = g.cat("/hello")
            info["ls"] = sorted(x for x in g.ls("/") if x != "lost+found")
            g.umount("/")
        out["filesystems"][dev] = info
    g.close()
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    lib, mode, image = sys.argv[1:4]
    {"write": write, "read": read}[mode](lib, image)
