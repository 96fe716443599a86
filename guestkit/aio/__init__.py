"""guestkit.aio: the asyncio API.

    import guestkit.aio

    async with guestkit.aio.GuestFS() as g:
        await g.add_drive_opts("disk.img", format="raw")
        await g.launch()
        await g.mount("/dev/sda1", "/")
        print(await g.cat("/etc/hostname"))
        async for chunk in g.download_iter("/big"):
            ...

Every action of the table is a coroutine method with the sync method's arguments; the
actions that run in the appliance are sent from the event loop over the same protocol
(a native asyncio client), so one loop drives many handles.  Cancelling a coroutine maps to
the protocol's CANCEL and leaves the handle usable.  See docs/guide.md, "asyncio".
"""

from ..errors import ClosedHandle, Error
from .handle import CLOSE_WAIT, GuestFS

__all__ = ["GuestFS", "Error", "ClosedHandle", "CLOSE_WAIT"]
