"""What a fleet run tells its user on standard error: a progress bar while it runs (on a
terminal) and a summary table at the end."""

import collections
import threading

#: how many of the slowest guests and of the most common errors the summary lists
SUMMARY_TOP = 5
#: error texts longer than this are cut in the summary (the records keep them whole)
ERROR_WIDTH = 100


class Progress:
    """Counts a run as it goes: guests done (with a record), failed, and running (their
    job has started on a worker, as the workers announce it, and has no record yet),
    shown on a tqdm bar (done/total, rate, ETA, running and failed) when STREAM is a
    terminal.  started() may be called from another thread."""

    def __init__(self, total, stream):
        from tqdm import tqdm
        self._lock = threading.Lock()
        self.started_guests, self.done_guests = set(), set()
        self.failed = 0
        self.bar = tqdm(total=total, unit="guest", file=stream, leave=False,
                        dynamic_ncols=True, disable=not stream.isatty())
        self._show()

    @property
    def running(self):
        return len(self.started_guests - self.done_guests)

    def _show(self, refresh=True):
        self.bar.set_postfix_str("running=%d, failed=%d" % (self.running, self.failed),
                                 refresh=refresh)

    def started(self, guest):
        with self._lock:
            self.started_guests.add(guest)
            self._show()

    def finished(self, rec):
        with self._lock:
            self.done_guests.add(rec["guest"])
            self.failed += rec["status"] != "ok"
            self._show(refresh=False)
            self.bar.update(1)

    def close(self):
        with self._lock:
            self.bar.close()


class Summary:
    """The records' statuses, durations and errors, for the table at the end."""

    def __init__(self):
        self.counts = collections.Counter()
        self.durations = []
        self.errors = collections.Counter()

    def add(self, rec):
        self.counts[rec["status"]] += 1
        self.durations.append((rec["duration_s"] or 0.0, rec["guest"]))
        if rec["status"] != "ok" and rec["error"]:
            # the guest's own name is left out, so that the same failure groups together
            self.errors[str(rec["error"]).replace(str(rec["guest"]), "GUEST")] += 1

    def table(self, elapsed, skipped=0):
        """The summary as lines of text: guests per status, total time and rate, the
        slowest guests and the most common errors."""
        done = sum(self.counts.values())
        rate = 60.0 * done / elapsed if elapsed > 0 else 0.0
        rows = [(status, n) for status, n in sorted(self.counts.items())]
        rows += [("skipped", skipped)] if skipped else []
        width = max([len(s) for s, _ in rows] + [len("total")])
        lines = ["  %-*s %7d" % (width, s, n) for s, n in rows]
        lines.append("  %-*s %7d guests in %.1f s, %.1f guests/min"
                     % (width, "total", done + skipped, elapsed, rate))
        slowest = sorted(self.durations, key=lambda d: -d[0])[:SUMMARY_TOP]
        if slowest:
            lines.append("slowest guests:")
            lines += ["  %8.1f s  %s" % d for d in slowest]
        if self.errors:
            lines.append("most common errors:")
            for text, n in self.errors.most_common(SUMMARY_TOP):
                if len(text) > ERROR_WIDTH:
                    text = text[:ERROR_WIDTH - 3] + "..."
                lines.append("  %7d  %s" % (n, text))
        return "\n".join(lines) + "\n"
