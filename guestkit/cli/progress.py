"""Progress bars for long calls (upload, download, copy and tar in/out, fill, zero, ...),
drawn with tqdm from the handle's progress events, on standard error when it is a terminal
(or when asked with --progress-bars)."""

import os
import sys

from ..events import EVENT_PROGRESS


def wanted(choice, stream=None):
    """CHOICE True/False from --progress-bars/--no-progress-bars, None: only on a
    terminal."""
    if choice is not None:
        return choice
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(stream):
    """The terminal's width, or 0 when it does not give its size (a pty nobody sized, a
    pipe): tqdm would then draw nothing at all, as it hides bars below the last row."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 0
    return size.columns if size.columns and size.lines else 0


class ProgressBars:
    """One bar per call that reports progress, closed when the call reaches its total or
    when :meth:`done` is called after the call."""

    def __init__(self, stream=None, mininterval=0.2):
        self.stream = stream if stream is not None else sys.stderr
        self.mininterval = mininterval      # seconds between redraws
        self.bars = {}              # call serial -> tqdm

    def attach(self, g):
        g.set_event_callback(self._event, EVENT_PROGRESS)
        return self

    def _event(self, event, eh, buf, array):
        _proc, serial, pos, total = array
        bar = self.bars.get(serial)
        if bar is None:
            from tqdm import tqdm
            width = _columns(self.stream)
            bar = tqdm(total=total or None, unit="B", unit_scale=True, unit_divisor=1024,
                       file=self.stream, leave=False, mininterval=self.mininterval,
                       **({"dynamic_ncols": True} if width else {"ncols": 80, "nrows": 24}))
            self.bars[serial] = bar
        if pos > bar.n:
            bar.update(pos - bar.n)
        if total and pos >= total:
            self._close(serial)

    def _close(self, serial):
        bar = self.bars.pop(serial, None)
        if bar is not None:
            bar.close()

    def done(self):
        for serial in list(self.bars):
            self._close(serial)
