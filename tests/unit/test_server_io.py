"""The daemon's frame output and call dispatch, without a VM."""

import os

import pytest

from guestkit.daemon import protocol as P
from guestkit.daemon import server as S


@pytest.fixture
def pipe_server(tmp_path):
    r, w = os.pipe()
    cr, cw = os.pipe()             # calls: written here, read by the server
    handlers = {"ping_daemon": lambda ctx: None, "internal_x": lambda ctx, a: a + 1}
    srv = S.Server(cr, w, sysroot=str(tmp_path), handlers=handlers)
    yield srv, r, cw
    for fd in (r, w, cr, cw):
        os.close(fd)


def test_partial_writes_still_send_whole_frames(pipe_server, monkeypatch):
    srv, r, _ = pipe_server
    real_write = os.write
    monkeypatch.setattr(S.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    payload = b"0123456789" * 100
    srv.send(P.CHUNK, payload)
    srv.send(P.CHUNK, memoryview(b"view"))
    monkeypatch.undo()
    reader = P.FrameReader(lambda view: os.readv(r, [view]))
    assert reader.read_frame() == (P.CHUNK, payload)
    assert reader.read_frame() == (P.CHUNK, b"view")


def test_calls_are_dispatched_checked_and_answered(pipe_server):
    srv, r, cw = pipe_server
    reader = P.FrameReader(lambda view: os.readv(r, [view]))
    for call in ({"s": 1, "n": "ping_daemon", "a": [], "o": {}},
                 {"s": 2, "n": "internal_x", "a": [41], "o": {}},
                 {"s": 3, "n": "ping_daemon", "a": [1], "o": {}},
                 {"s": 4, "n": "no_such_action", "a": [], "o": {}},
                 {"s": 5, "n": ["not", "a", "name"], "a": [], "o": {}},
                 {"s": 6, "n": "ping_daemon", "a": {}, "o": {}}):
        os.write(cw, P.encode(P.CALL, P.dumps(call)))
    os.write(cw, P.encode(P.CHUNK, b""))                # a late chunk: ignored
    for _ in range(6):
        ftype, payload = srv.reader.read_frame()
        assert ftype == P.CALL
        srv.handle_call(P.loads(payload))
    got = [reader.read_json() for _ in range(6)]
    assert got[0] == (P.REPLY, {"s": 1, "r": None})
    assert got[1] == (P.REPLY, {"s": 2, "r": 42})
    assert got[2][0] == P.ERROR and got[2][1]["errno"] == "EINVAL"
    assert got[3][0] == P.ERROR and got[3][1]["errno"] == "ENOTSUP"
    assert got[4][0] == P.ERROR and got[4][1]["errno"] == "ENOTSUP"
    assert got[5][0] == P.ERROR and "malformed arguments" in got[5][1]["msg"]
    with pytest.raises(P.ProtocolError, match="object"):
        srv.handle_call([1, 2])
