"""Framing: round trips, and every malformed input ends the session with ProtocolError."""

import io
import struct

import pytest

from guestkit.daemon import protocol as P


def reader(data):
    bio = io.BytesIO(data)
    return P.FrameReader(bio.readinto)


def test_round_trip_json_with_bytes_and_odd_strings():
    obj = {"s": 7, "a": [b"\x00\xff", "caf\xe9", "bad\udcff", None, 1 << 62]}
    r = reader(P.encode(P.CALL, P.dumps(obj)))
    ftype, got = r.read_json()
    assert ftype == P.CALL and got == obj


def test_chunks_are_raw():
    data = bytes(range(256)) * 10
    r = reader(P.encode(P.CHUNK, data) + P.encode(P.CHUNK, b""))
    assert r.read_frame() == (P.CHUNK, data)
    assert r.read_frame() == (P.CHUNK, b"")


def test_oversized_frame_is_refused_without_reading_it():
    hdr = struct.pack(">I", P.MAX_FRAME + 10) + bytes([P.CHUNK])
    with pytest.raises(P.ProtocolError, match="exceeds"):
        reader(hdr).read_frame()


def test_huge_reply_bounded_by_max_json():
    hdr = struct.pack(">I", P.MAX_JSON + 1) + bytes([P.REPLY])
    with pytest.raises(P.ProtocolError, match="exceeds"):
        reader(hdr).read_frame()


def test_garbage_type_and_json():
    with pytest.raises(P.ProtocolError, match="unknown frame type"):
        reader(struct.pack(">I", 2) + b"\x63x").read_frame()
    with pytest.raises(P.ProtocolError, match="malformed JSON"):
        reader(P.encode(P.REPLY, b"{not json")).read_json()
    with pytest.raises(P.ProtocolError, match="object"):
        reader(P.encode(P.REPLY, b"[1,2]")).read_json()
    with pytest.raises(P.ProtocolError, match="base64"):
        reader(P.encode(P.REPLY, b'{"r":{"$b":"***"}}')).read_json()


def test_truncated_stream_and_clean_eof():
    data = P.encode(P.REPLY, P.dumps({"s": 1}))
    with pytest.raises(P.ProtocolError, match="middle of a frame"):
        reader(data[:-2]).read_frame()
    with pytest.raises(P.PeerClosed):
        reader(b"").read_frame()


def test_zero_length_frame():
    with pytest.raises(P.ProtocolError, match="length 0"):
        reader(struct.pack(">I", 0)).read_frame()


def test_frames_split_across_reads_and_larger_than_the_buffer():
    big = P.dumps({"r": "x" * (P.FrameReader.BUFSIZE + 12345)})
    data = P.encode(P.CHUNK, b"a" * 1000) + P.encode(P.REPLY, big) + P.encode(P.CHUNK, b"z")

    class Trickle(io.RawIOBase):
        def __init__(self):
            self.pos = 0

        def readinto(self, view):
            n = min(len(view), 777, len(data) - self.pos)
            view[:n] = data[self.pos:self.pos + n]
            self.pos += n
            return n
    r = P.FrameReader(Trickle().readinto)
    assert r.read_frame() == (P.CHUNK, b"a" * 1000)
    assert r.read_frame() == (P.REPLY, big)
    assert r.read_frame() == (P.CHUNK, b"z")


@pytest.mark.parametrize("result", [True, False, 0, -5, 2 ** 70, None, "", "plain",
                                    "quote\" back\\slash\nnewline\u00e9\U0001f600",
                                    "lone \udc80 surrogate", [1, "a"], {"k": b"\x00\xff"},
                                    b"bytes", 1.5])
def test_dumps_reply_matches_dumps(result):
    assert P.loads(P.dumps_reply(7, result)) == P.loads(P.dumps({"s": 7, "r": result}))
    assert P.loads(P.dumps_reply(7, result)) == {"s": 7, "r": result}


@pytest.mark.parametrize("args,optargs", [
    (["/x"], {}), ([], {}), (["ext4", "/dev/sda"], {"blocksize": 4096, "label": "a\"b\\c"}),
    ([True, False, None, -1, 2 ** 70], {"k": None}),
    (["\u00e9\U0001f600", "lone \udc80 surrogate", "nl\nnul\0"], {}),
    ([b"\x00\xff", 1.5, ["a", "b"]], {"o": {"x": 1}})])
def test_dumps_call_is_dumps(args, optargs):
    call = {"s": 3, "n": "act", "a": args, "o": optargs}
    assert P.dumps_call(3, "act", args, optargs) == P.dumps(call)
    assert P.loads(P.dumps_call(3, "act", args, optargs)) == call


@pytest.mark.parametrize("text", [b'{"s":1}', b' {"s": 1} \n', b'[1, 2]', b'"x"', b'12',
                                  b'{"b":{"$b":"AP8="}}', b'\t[{"$b":""}] '])
def test_loads_is_json_loads(text):
    import json
    want = json.loads(text, object_hook=P._dec_hook)
    assert P.loads(text) == want and type(P.loads(text)) is type(want)
    assert P.loads(bytearray(text)) == want and P.loads(memoryview(text)) == want


@pytest.mark.parametrize("text", [b'{"s":1} x', b'{"s":1}{}', b'', b' ', b'{"s":', b"\xff",
                                  b'{"s":1,}', b'{"$b":"**"}', b'[' * 100000])
def test_loads_refuses_what_json_loads_refuses(text):
    with pytest.raises(P.ProtocolError):
        P.loads(text)


def test_frames_buffered_together_are_read_one_by_one():
    frames = [P.encode(P.REPLY, P.dumps_reply(i, i)) for i in range(50)] + \
        [P.encode(P.CHUNK, b""), P.encode(P.LOG, b"x" * 70000)]
    r = reader(b"".join(frames))
    got = [r.read_frame() for _ in frames]
    assert got[:50] == [(P.REPLY, P.dumps_reply(i, i)) for i in range(50)]
    assert got[50:] == [(P.CHUNK, b""), (P.LOG, b"x" * 70000)]
    with pytest.raises(P.PeerClosed):
        r.read_frame()


def test_send_frame_small_and_large():
    import socket
    a, b = socket.socketpair()
    try:
        big = b"y" * (P.SMALL_FRAME + 1)
        P.send_frame(a, P.CHUNK, b"small")
        P.send_frame(a, P.CHUNK, memoryview(b"view"))
        P.send_frame(a, P.CHUNK, big)
        a.close()
        r = P.FrameReader(b.recv_into)
        assert r.read_frame() == (P.CHUNK, b"small")
        assert r.read_frame() == (P.CHUNK, b"view")
        assert r.read_frame() == (P.CHUNK, big)
    finally:
        b.close()
