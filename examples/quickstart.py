"""Create a small disk image, partition and format it, write files, read them back.

Run: .venv/bin/python examples/quickstart.py [IMAGE]
"""
import hashlib
import os
import sys
import tempfile
import time

import guestkit


def main():
    workdir = tempfile.mkdtemp(prefix="guestkit-demo-")
    image = sys.argv[1] if len(sys.argv) > 1 else os.path.join(workdir, "disk.img")
    payload = os.path.join(workdir, "payload.bin")
    with open(payload, "wb") as f:
        f.write(os.urandom(8 << 20))

    t0 = time.monotonic()
    g = guestkit.GuestFS(python_return_dict=True)
    g.disk_create(image, "raw", 512 * 1024 * 1024)
    print("created %s (512 MiB raw)" % image)
    g.add_drive_opts(image, format="raw")
    g.launch()
    print("launched the appliance in %.1f s (backend %s)" % (time.monotonic() - t0,
                                                             g.get_backend()))
    g.part_disk("/dev/sda", "mbr")
    g.mkfs("ext4", "/dev/sda1", label="DATA")
    g.mount("/dev/sda1", "/")
    g.write("/hello", b"hi\n")
    g.upload(payload, "/payload.bin")
    print("partitions:   ", g.list_partitions())
    print("filesystems:  ", g.list_filesystems())
    print("label of sda1:", g.vfs_label("/dev/sda1"))
    print("/hello says:  ", g.cat("/hello").strip())
    print("files in /:   ", g.ls("/"))
    same = g.checksum("sha256", "/payload.bin") == hashlib.sha256(
        open(payload, "rb").read()).hexdigest()
    print("payload.bin:   %d bytes, sha256 %s" % (g.statns("/payload.bin")["st_size"],
                                                  "matches" if same else "DIFFERS"))
    g.shutdown()
    g.close()
    print("done in %.1f s; the image is %s" % (time.monotonic() - t0, image))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
