"""The rescue session's TTY messages: what each side accepts, and every hostile frame from
the daemon (a wrong frame type, a kind only the library sends, a body too big or of the
wrong size, an error for another call) ends the session with ProtocolError."""

import io
import struct

import pytest

import guestkit
from guestkit import rescue_session as R
from guestkit.daemon import protocol as P

SERIAL = 7


def frames(*encoded):
    """The frames of ENCODED as the library's bounded reader reads them."""
    r = P.FrameReader(io.BytesIO(b"".join(encoded)).readinto)
    return [r.read_frame() for _ in encoded]


def test_daemon_messages_read_back():
    got = [R.daemon_message(t, p, SERIAL) for t, p in frames(
        P.encode(P.TTY, P.tty_message(P.TTY_OUT, b"\x00out\xff")),
        P.encode(P.TTY, P.tty_message(P.TTY_ERR, b"err")),
        P.encode(P.TTY, P.tty_message(P.TTY_EXIT, 3)),
        P.encode(P.LOG, b"verbose"))]
    assert got == [("out", b"\x00out\xff"), ("err", b"err"), ("exit", 3), ("log", b"verbose")]


def test_error_for_this_call_raises_it():
    (t, p), = frames(P.encode(P.ERROR, P.dumps({"s": SERIAL, "errno": "ENOENT",
                                                 "msg": "no shell"})))
    with pytest.raises(guestkit.Error, match="no shell"):
        R.daemon_message(t, p, SERIAL)


@pytest.mark.parametrize("ftype, payload, why", [
    (P.CHUNK, b"data", "unexpected CHUNK"),
    (P.REPLY, P.dumps({"s": SERIAL, "r": 0}), "unexpected REPLY"),
    (P.PROGRESS, P.dumps({"s": SERIAL, "pos": 1, "total": 2}), "unexpected PROGRESS"),
    (P.TTY, b"", "unexpected TTY message"),
    (P.TTY, b"Z" + b"x", "unexpected TTY message"),
    # kinds only the library sends
    (P.TTY, P.tty_message(P.TTY_IN, b"keys"), "unexpected TTY message"),
    (P.TTY, P.tty_message(P.TTY_WINCH, 1, 2), "unexpected TTY message"),
    (P.TTY, bytes((P.TTY_OUT,)) + b"x" * (P.TTY_DATA + 1), "exceeds the limit"),
    (P.TTY, bytes((P.TTY_EXIT,)) + b"\0\0\0", "of 3 bytes instead of 4"),
    (P.TTY, bytes((P.TTY_EXIT,)) + b"\0" * 8, "of 8 bytes instead of 4"),
    (P.ERROR, P.dumps({"s": SERIAL + 1, "errno": "EIO", "msg": "x"}), "malformed ERROR"),
    (P.ERROR, P.dumps({"s": SERIAL, "errno": 5, "msg": "x"}), "malformed ERROR"),
])
def test_hostile_frames_are_refused(ftype, payload, why):
    (t, p), = frames(P.encode(ftype, payload))
    with pytest.raises(P.ProtocolError, match=why):
        R.daemon_message(t, p, SERIAL)


def test_unknown_frame_type_and_oversize_length_refused_by_the_reader():
    with pytest.raises(P.ProtocolError, match="unknown frame type 99"):
        frames(struct.pack(">IB", 2, 99) + b"x")
    with pytest.raises(P.ProtocolError, match="exceeds"):
        frames(struct.pack(">IB", P.MAX_FRAME + 1, P.TTY))


@pytest.mark.parametrize("payload, why", [
    (P.tty_message(P.TTY_SIGNAL, 9), "signal 9 may not be sent"),
    (P.tty_message(P.TTY_SYSRQ, ord("b")), "SysRq key 98 is not allowed"),
    (P.tty_message(P.TTY_OUT, b"x"), "unexpected TTY message"),
])
def test_the_daemon_refuses_what_a_library_may_not_ask(payload, why):
    allowed = bytes((P.TTY_IN, P.TTY_WINCH, P.TTY_EOF, P.TTY_SIGNAL, P.TTY_SYSRQ,
                     P.TTY_HANGUP))
    with pytest.raises(P.ProtocolError, match=why):
        P.parse_tty(payload, allowed)


@pytest.mark.parametrize("text, key", [("^]", 0x1d), ("^a", 0x01), ("^?", 0x7f),
                                       ("none", None), ("~", ord("~"))])
def test_escape_keys(text, key):
    assert R.parse_escape(text) == key


def test_bad_escape_key():
    with pytest.raises(ValueError):
        R.parse_escape("ctrl-x")
