"""Daemon actions: inotify, watching guest files for changes (see docs/api.md).

One inotify instance per handle, in the appliance's kernel, as in libguestfs: it sees what
changes in the mounted guest filesystems while the handle runs (changes the appliance makes).
"""

from .table import Action, Int, Pathname, RErr, RInt64, RStringList, RStructList

_G = "inotify"
_NEEDS = "  inotify_init must have been called first (else the call fails with EINVAL)."

ACTIONS = [
    Action("inotify_init", [Int("maxevents")], RErr(), group=_G,
           doc="Make the handle's inotify instance (closing the one it had, if any).  "
               "MAXEVENTS is how many events the kernel queues between inotify_read calls "
               "(the appliance-wide fs.inotify.max_queued_events, at most 1048576); 0 keeps "
               "the kernel's current value.  When the queue is full, later events are "
               "dropped and an event with the IN_Q_OVERFLOW bit (0x4000) says so.  Add "
               "watches with inotify_add_watch, then collect events with inotify_read or "
               "inotify_files; inotify_close removes the watches.  See inotify(7).  A "
               "negative MAXEVENTS fails with EINVAL."),
    Action("inotify_add_watch", [Pathname("path"), Int("mask")], RInt64(), group=_G,
           doc="Watch PATH (a file or directory of the mounted guest; for a directory, the "
               "entries directly in it, not deeper) for the events in MASK, the inotify "
               "event bits of the Linux ABI (sys/inotify.h: IN_ACCESS 0x1, IN_MODIFY 0x2, "
               "IN_ATTRIB 0x4, IN_CLOSE_WRITE 0x8, IN_OPEN 0x20, IN_MOVED_FROM 0x40, "
               "IN_MOVED_TO 0x80, IN_CREATE 0x100, IN_DELETE 0x200, IN_ALL_EVENTS 0xfff "
               "...).  Returns the watch descriptor that events carry (in_wd)." + _NEEDS),
    Action("inotify_rm_watch", [Int("wd")], RErr(), group=_G,
           doc="Remove the watch WD (a value inotify_add_watch returned); an unknown WD "
               "fails with EINVAL." + _NEEDS),
    Action("inotify_read", [], RStructList("inotify_event"), group=_G,
           doc="The events queued since the last read, as inotify_event structs (in_wd, "
               "in_mask, in_cookie, in_name: the entry's name inside a watched directory, "
               "empty for the watched object itself); an empty list when there are none.  "
               "One call returns at most about 1 MiB of events and leaves the rest queued: "
               "call it until it returns an empty list." + _NEEDS),
    Action("inotify_files", [], RStringList(), group=_G,
           doc="Read every queued event (as inotify_read does, until the queue is empty) "
               "and return the names they carry, sorted, each once.  At most 100000 "
               "distinct names (EFBIG beyond)." + _NEEDS),
    Action("inotify_close", [], RErr(), group=_G,
           doc="Close the handle's inotify instance: its watches are removed and queued "
               "events dropped." + _NEEDS),
]
