"""``guestkit log``: virt-log's job.  Prints the guest's system log: the systemd journal when
the guest keeps one (not yet: the journal API is still to come, and a journal-only guest
gets a clear error), else /var/log/syslog or /var/log/messages."""

import sys

from .common import ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit log"
TEXT_LOGS = ("/var/log/syslog", "/var/log/messages")


def log(argv):
    ap = guest_parser(PROG, "print the system log of a guest, as virt-log does")
    ns = ap.parse_args(argv)
    g = open_guest(ns, mount=True)
    try:
        journal = g.is_dir("/var/log/journal") and _has_journal(g)
        for path in TEXT_LOGS:
            if g.is_file(path, followsymlinks=True):
                if journal:
                    sys.stderr.write("%s: this guest also keeps a systemd journal, not shown "
                                     "(guestkit cannot read journals yet)\n" % PROG)
                sys.stdout.flush()
                g.download(path, "/dev/stdout")
                return 0
        if journal:
            raise ToolError("this guest logs to a systemd journal only, which guestkit "
                            "cannot read yet")
        raise ToolError("no system log found in this guest (looked for %s)"
                        % ", ".join(TEXT_LOGS))
    finally:
        g.close()


def _has_journal(g):
    return any(name.endswith(".journal") for name in g.find("/var/log/journal"))


def main(argv):
    return run_tool(PROG, log, argv)
