"""Progress bars drawn from progress events on a terminal, sized or not (a pty nobody
sized reports 0x0, where tqdm by itself draws nothing)."""

import fcntl
import os
import pty
import struct
import termios

from guestkit.cli.progress import ProgressBars, wanted

MIB = 1 << 20


def _draw(rows, cols):
    master, slave = pty.openpty()
    if rows:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    stream = os.fdopen(slave, "w", encoding="utf-8")
    bars = ProgressBars(stream, mininterval=0)
    for i in range(1, 9):
        bars._event(0, 0, b"", [0, 7, i * 3 * MIB, 24 * MIB])
    assert not bars.bars                 # closed on reaching its total
    bars._event(0, 0, b"", [0, 8, MIB, 0])     # a call that never says its total
    bars.done()
    assert not bars.bars
    stream.close()
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return seen.decode()


def test_bar_on_a_sized_terminal():
    text = _draw(30, 100)
    assert "100%|" in text and "24.0M/24.0M" in text
    assert max(len(line) for line in text.split("\r")) <= 100


def test_bar_on_a_terminal_that_gives_no_size():
    text = _draw(0, 0)
    assert "100%|" in text and "24.0M/24.0M" in text


def test_wanted():
    r, w = os.pipe()
    with os.fdopen(w, "w") as pipe:
        assert wanted(None, pipe) is False
        assert wanted(True, pipe) is True
    os.close(r)
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as tty:
        assert wanted(None, tty) is True
        assert wanted(False, tty) is False
    os.close(master)
