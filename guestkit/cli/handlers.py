"""Event handlers of the shell (``event``, ``list-events``, ``delete-event``): host shell
commands run when the handle raises an event, as guestfish runs them.

The command runs as ``$SHELL -c COMMAND`` (``/bin/sh`` when SHELL is unset), with the
event's name in ``$EVENT``; the event's message, when it has one, is ``$1``, and its numbers
follow (for progress: proc, serial, position, total).
"""

import os
import subprocess
import sys

from .. import events as ev
from . import CliError

#: events whose callback gets a message (the others only numbers)
_MESSAGE_EVENTS = (ev.EVENT_APPLIANCE | ev.EVENT_LIBRARY | ev.EVENT_TRACE | ev.EVENT_WARNING
                   | ev.EVENT_ENTER | ev.EVENT_LIBVIRT_AUTH)


def event_names():
    return [ev.event_to_string(1 << i) for i in range(ev.EVENT_ALL.bit_length())]


def parse_event_set(text):
    """``close,trace`` or ``*`` -> bitmask (CliError for an unknown name)."""
    if text.strip() == "*":
        return ev.EVENT_ALL
    names = {n: 1 << i for i, n in enumerate(event_names())}
    mask = 0
    for word in text.split(","):
        word = word.strip().replace("-", "_")
        if word not in names:
            raise CliError("event: unknown event %r (known: %s, or * for all)" % (
                word, ", ".join(names)))
        mask |= names[word]
    if not mask:
        raise CliError("event: no event named in %r" % text)
    return mask


class EventHandlers:
    """The handlers registered on the shell's handle, by name, in the order added."""

    def __init__(self, shell):
        self.shell = shell
        self.entries = []           # [name, mask, command, event handle]

    def add(self, name, eventset, command):
        mask = parse_event_set(eventset)
        eh = self.shell.g.set_event_callback(self._callback(command), mask)
        self.entries.append([name, mask, command, eh])

    def _callback(self, command):
        def run(event, eh, buf, array):
            env = dict(os.environ, EVENT=ev.event_to_string(event))
            argv = [os.environ.get("SHELL") or "/bin/sh", "-c", command, ""]
            if buf or event & _MESSAGE_EVENTS:
                argv.append(bytes(buf or b"").decode("utf-8", "surrogateescape")
                            .rstrip("\0"))
            argv += [str(n) for n in array]
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            subprocess.run(argv, env=env)
        return run

    def list(self, out):
        for name, mask, command, eh in self.entries:
            events = "*" if mask == ev.EVENT_ALL else ev.event_to_string(mask)
            out.write('"%s" (%d): %s: %s\n' % (name, eh, events, command))

    def delete(self, name):
        gone = [e for e in self.entries if e[0] == name]
        if not gone:
            raise CliError("delete-event: %s: no such event handler" % name)
        for e in gone:
            self.shell.g.delete_event_callback(e[3])
        self.entries = [e for e in self.entries if e[0] != name]

    def forget(self):
        """The handle was replaced (reopen): its handlers went with it."""
        self.entries = []
