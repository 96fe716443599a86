"""Several appliances from one asyncio event loop: each formats a scratch disk, streams a
file in and out, and checks it; a timeout cancels a long download without spoiling the
handle.

    .venv/bin/python examples/aio_many.py [N]
"""

import asyncio
import hashlib
import sys
import time

import guestkit.aio

MiB = 1 << 20


async def produce(seed, size):
    """An async source: SIZE bytes made on the fly."""
    block = hashlib.sha256(seed).digest() * (MiB // 32)
    for _ in range(size // MiB):
        yield block


async def work(i):
    async with guestkit.aio.GuestFS(python_return_dict=True) as g:
        await g.add_drive_scratch(256 * MiB)
        await g.add_drive_scratch(64 * MiB)
        await g.launch()
        await g.mkfs("ext4", "/dev/sda")
        await g.mount("/dev/sda", "/")
        await g.upload_iter(produce(b"%d" % i, 8 * MiB), "/data")
        h = hashlib.sha256()
        async for chunk in g.download_iter("/data"):
            h.update(chunk)
        assert h.hexdigest() == await g.checksum("sha256", "/data")
        try:
            # far too short for 64 MiB under TCG: cancelled, and the handle goes on
            await asyncio.wait_for(g.download("/dev/sdb", "/dev/null"), 0.2)
        except asyncio.TimeoutError:
            pass
        return i, h.hexdigest()[:16], await g.filesize("/data")


async def main(n):
    t0 = time.monotonic()
    for i, digest, size in await asyncio.gather(*(work(i) for i in range(n))):
        print("appliance %d: /data is %d bytes, sha256 %s..." % (i, size, digest))
    print("%d appliances in %.1f s" % (n, time.monotonic() - t0))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4))
