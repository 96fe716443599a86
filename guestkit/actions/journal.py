"""Daemon actions: the systemd journal of a guest, read with sd-journal (see docs/api.md).

libsystemd's sd-journal runs inside the appliance (daemon/journal.py reaches it with ctypes,
in a helper process that opens the journal chrooted in the guest root): the guest's journal
files are never parsed on the host.  One journal per handle, as in libguestfs.
"""

from .table import Action, Int64, Pathname, RBool, RErr, RInt64, RStructList

_G = "journal"
_NEEDS = "  journal_open must have been called first (else the call fails with EINVAL)."

ACTIONS = [
    Action("journal_open", [Pathname("directory")], RErr(), group=_G,
           doc="Open the systemd journal files in DIRECTORY of the mounted guest (for "
               "example /var/log/journal, or one machine's directory below it), closing the "
               "journal this handle had open, if any.  Then step through the entries with "
               "journal_next (or journal_skip) and read each with journal_get; "
               "journal_close frees the handle.  See sd_journal_open(3).  DIRECTORY is "
               "resolved inside the guest, symlinks included."),
    Action("journal_close", [], RErr(), group=_G,
           doc="Close the handle's journal." + _NEEDS),
    Action("journal_next", [], RBool(), group=_G,
           doc="Move to the next entry of the journal; call it once after journal_open to "
               "reach the first.  Returns true when there is an entry to read there "
               "(journal_get), false at the end of the journal." + _NEEDS),
    Action("journal_skip", [Int64("skip")], RInt64(), group=_G,
           doc="Move SKIP entries forward (SKIP >= 0) or -SKIP entries back (SKIP < 0).  "
               "Returns how many entries were actually skipped (never negative): less than "
               "|SKIP| means the end (or the start) of the journal was reached." + _NEEDS),
    Action("journal_get", [], RStructList("xattr"), group=_G,
           doc="The fields of the current entry, as xattr structs: attrname is the field's "
               "name, attrval its value as bytes (often text, not always).  Values may be "
               "cut at the data threshold (journal_set_data_threshold).  An entry larger "
               "than 32 MiB in all fails with EFBIG (set a threshold to read it cut)."
               + _NEEDS),
    Action("journal_get_data_threshold", [], RInt64(), group=_G,
           doc="The data threshold: a hint to sd-journal that field values longer than this "
               "may be cut when they are read (they need not be).  0 means no limit.  See "
               "journal_set_data_threshold." + _NEEDS),
    Action("journal_set_data_threshold", [Int64("threshold")], RErr(), group=_G,
           doc="Set the data threshold, the length beyond which sd-journal may cut field "
               "values journal_get returns (a hint, not a promise); 0 means no limit.  A "
               "negative THRESHOLD fails with EINVAL." + _NEEDS),
    Action("journal_get_realtime_usec", [], RInt64(), group=_G,
           doc="The wallclock time of the current entry, in microseconds since the epoch."
               + _NEEDS),
]
