"""guestkit: open and modify virtual-machine disk images through a small qemu appliance.

    import guestkit
    g = guestkit.GuestFS(python_return_dict=True)
    g.add_drive_opts("disk.img", format="raw", readonly=True)
    g.launch()

Call-compatible with libguestfs's Python binding: ``import guestkit as guestfs``.
"""

from .errors import ClosedHandle, Error
from .events import (EVENT_ALL, EVENT_APPLIANCE, EVENT_CLOSE, EVENT_ENTER, EVENT_LAUNCH_DONE,
                     EVENT_LIBRARY, EVENT_LIBVIRT_AUTH, EVENT_PROGRESS, EVENT_SUBPROCESS_QUIT,
                     EVENT_TRACE, EVENT_WARNING, event_to_string)
from .handle import GuestFS

__version__ = "0.1.0"
RuntimeError = Error      # python-guestfs spells the exception guestfs.RuntimeError in places

__all__ = ["GuestFS", "Error", "ClosedHandle", "event_to_string", "EVENT_ALL",
           "EVENT_APPLIANCE", "EVENT_CLOSE", "EVENT_ENTER", "EVENT_LAUNCH_DONE",
           "EVENT_LIBRARY", "EVENT_LIBVIRT_AUTH", "EVENT_PROGRESS", "EVENT_SUBPROCESS_QUIT",
           "EVENT_TRACE", "EVENT_WARNING"]
