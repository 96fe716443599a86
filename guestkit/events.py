"""Events: the ten classes with libguestfs's bit values, and the callback registry."""

import itertools
import sys
import threading

EVENT_CLOSE = 0x0001
EVENT_SUBPROCESS_QUIT = 0x0002
EVENT_LAUNCH_DONE = 0x0004
EVENT_PROGRESS = 0x0008
EVENT_APPLIANCE = 0x0010
EVENT_LIBRARY = 0x0020
EVENT_TRACE = 0x0040
EVENT_ENTER = 0x0080
EVENT_LIBVIRT_AUTH = 0x0100
EVENT_WARNING = 0x0200
EVENT_ALL = 0x03FF

_NAMES = {
    EVENT_CLOSE: "close", EVENT_SUBPROCESS_QUIT: "subprocess_quit",
    EVENT_LAUNCH_DONE: "launch_done", EVENT_PROGRESS: "progress",
    EVENT_APPLIANCE: "appliance", EVENT_LIBRARY: "library", EVENT_TRACE: "trace",
    EVENT_ENTER: "enter", EVENT_LIBVIRT_AUTH: "libvirt_auth", EVENT_WARNING: "warning",
}


def event_to_string(events):
    """Comma-separated names of the events set in the bitmask EVENTS."""
    return ",".join(name for bit, name in sorted(_NAMES.items()) if events & bit)


class EventRegistry:
    def __init__(self):
        self._callbacks = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def add(self, cb, mask):
        if not callable(cb):
            raise TypeError("callback must be callable")
        if mask & ~EVENT_ALL or not mask:
            raise ValueError("event mask 0x%x is not valid" % mask)
        with self._lock:
            eh = next(self._ids)
            self._callbacks[eh] = (cb, mask)
        return eh

    def remove(self, eh):
        with self._lock:
            self._callbacks.pop(eh, None)

    def wants(self, event):
        return any(mask & event for _, mask in self._callbacks.values())

    def emit(self, event, buf=b"", array=()):
        """Call every callback registered for EVENT.  Returns True if there was one."""
        if not self._callbacks:
            return False            # nothing registered (every call emits ENTER): no lock
        if isinstance(buf, str):
            buf = buf.encode("utf-8", "surrogateescape")
        with self._lock:
            targets = [(eh, cb) for eh, (cb, mask) in self._callbacks.items() if mask & event]
        for eh, cb in targets:
            try:
                cb(event, eh, buf, list(array))
            except Exception as e:  # a callback must not break the library
                print("guestkit: event callback raised %s: %s" % (type(e).__name__, e),
                      file=sys.stderr)
        return bool(targets)
