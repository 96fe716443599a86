"""The asyncio client against a scripted peer on a socketpair (no VM): the bounds and the
reply checks of the thread client hold, and cancellation is CANCEL on the wire."""

import asyncio
import socket
import threading

import pytest

from guestkit.actions import ACTIONS
from guestkit.aio.client import AsyncClient, Connection, read_frame
from guestkit.client import SessionLost
from guestkit.daemon import protocol as P
from guestkit.errors import Error


class Peer(threading.Thread):
    """The daemon's side: SCRIPT(peer) runs in a thread; peer.frames lists what it read."""

    def __init__(self, sock, script):
        super().__init__(daemon=True)
        self.sock, self.script = sock, script
        self.reader = P.FrameReader(sock.recv_into)
        self.frames = []
        self.error = None

    def read(self):
        ftype, payload = self.reader.read_frame()
        self.frames.append((ftype, payload))
        return ftype, payload

    def call(self):
        ftype, payload = self.read()
        assert ftype == P.CALL
        return P.loads(payload)

    def send(self, ftype, payload=b""):
        P.send_frame(self.sock, ftype, payload)

    def send_json(self, ftype, obj):
        self.send(ftype, P.dumps(obj))

    def run(self):
        try:
            self.script(self)
        except BaseException as e:      # noqa: B902 - reported by the test
            self.error = e


def session(script, body):
    """Run coroutine BODY(client) against a peer running SCRIPT; the peer's frames."""
    a, b = socket.socketpair()
    peer = Peer(b, script)
    peer.start()

    async def main():
        conn = await Connection.open(a)
        client = AsyncClient(conn)
        try:
            return await asyncio.wait_for(body(client), 20)
        finally:
            client.close()
    try:
        result = asyncio.run(main())
    finally:
        peer.join(10)
        b.close()
    if peer.error is not None:
        raise peer.error
    return result, peer.frames


def reply(peer, r):
    c = peer.call()
    peer.send_json(P.REPLY, {"s": c["s"], "r": r})


def test_call_reply_and_shape_check():
    async def body(client):
        assert await client.call("ls", ["/"], {}, ret=ACTIONS["ls"].ret) == ["a", "b"]
        with pytest.raises(SessionLost, match="not a list of strings"):
            await client.call("ls", ["/"], {}, ret=ACTIONS["ls"].ret)
        # the session is over: nothing more is sent
        with pytest.raises(SessionLost):
            await client.call("ls", ["/"], {}, ret=ACTIONS["ls"].ret)

    def script(peer):
        reply(peer, ["a", "b"])
        reply(peer, [1, 2])
    session(script, body)


def test_too_many_containers_refused_before_decoding():
    async def body(client):
        with pytest.raises(SessionLost, match="lists or objects"):
            await client.call("cat", ["/f"], {}, ret=ACTIONS["cat"].ret)

    def script(peer):
        c = peer.call()
        peer.send(P.REPLY, b'{"s":%d,"r":[[[[[[[]]]]]]]}' % c["s"])
    session(script, body)


def test_wrong_serial_and_errors():
    async def body(client):
        with pytest.raises(Error) as e:
            await client.call("cat", ["/f"], {}, ret=ACTIONS["cat"].ret)
        assert e.value.errno_name == "ENOENT" and str(e.value) == "cat: /f: gone"
        with pytest.raises(Error) as e:            # a made-up errno name: EIO
            await client.call("cat", ["/f"], {}, ret=ACTIONS["cat"].ret)
        assert e.value.errno_name == "EIO"
        with pytest.raises(SessionLost, match="reply for call"):
            await client.call("cat", ["/f"], {}, ret=ACTIONS["cat"].ret)

    def script(peer):
        c = peer.call()
        peer.send_json(P.ERROR, {"s": c["s"], "errno": "ENOENT", "msg": "cat: /f: gone"})
        c = peer.call()
        peer.send_json(P.ERROR, {"s": c["s"], "errno": "EWHATEVER", "msg": "x"})
        c = peer.call()
        peer.send_json(P.REPLY, {"s": c["s"] + 7, "r": "x"})
    session(script, body)


def test_oversized_frame_ends_the_session_at_once():
    async def body(client):
        with pytest.raises(SessionLost, match="exceeds the limit"):
            await client.call("cat", ["/f"], {}, ret=ACTIONS["cat"].ret)

    def script(peer):
        peer.call()
        # a PROGRESS frame announcing 100 MB: refused from its header, nothing waited for
        peer.sock.sendall(P.header(P.PROGRESS, 100 << 20))
    session(script, body)


def test_read_frame_bounds():
    async def frames(data):
        r = asyncio.StreamReader()
        r.feed_data(data)
        r.feed_eof()
        return await read_frame(r)
    with pytest.raises(P.ProtocolError, match="length 0"):
        asyncio.run(frames(b"\0\0\0\0"))
    with pytest.raises(P.ProtocolError, match="unknown frame type"):
        asyncio.run(frames(b"\0\0\0\x01\x63"))
    with pytest.raises(P.ProtocolError, match="middle of a frame"):
        asyncio.run(frames(P.header(P.CHUNK, 10) + b"abc"))
    with pytest.raises(P.PeerClosed):
        asyncio.run(frames(b""))
    assert asyncio.run(frames(P.encode(P.CHUNK, b"xyz"))) == (P.CHUNK, b"xyz")


def test_cancelled_download_sends_cancel_and_drops_the_rest(tmp_path):
    dest = tmp_path / "out"

    async def body(client):
        from guestkit.aio.client import HostSink
        sink = HostSink(str(dest))
        sink.open()
        call = await client.begin("download", ["/f", None], {}, ACTIONS["download"].ret,
                                  "out")
        assert await call.recv_chunk() == b"first"
        call.request_cancel()
        assert await call.recv_chunk() is None          # the rest is dropped
        with pytest.raises(Error) as e:
            await call.result()
        client.finish(call)
        sink.close()
        assert e.value.errno_name == "EINTR"
        # in step: the next call gets its own reply
        assert await client.call("is_dir", ["/"], {}, ret=ACTIONS["is_dir"].ret) is True

    def script(peer):
        c = peer.call()
        peer.send(P.CHUNK, b"first")
        ftype, _ = peer.read()
        assert ftype == P.CANCEL                    # the client asked the stream to stop
        peer.send(P.CHUNK, b"in flight")
        peer.send(P.CANCEL)
        peer.send_json(P.ERROR, {"s": c["s"], "errno": "EINTR", "msg": "cancelled"})
        reply(peer, True)
    _, frames = session(script, body)
    assert [f[0] for f in frames] == [P.CALL, P.CANCEL, P.CALL]
    assert not dest.exists()


def test_upload_stops_when_the_daemon_asks():
    sent = []

    async def source():
        for i in range(1000):
            sent.append(i)
            yield b"z" * 1000
            await asyncio.sleep(0.001)

    async def body(client):
        with pytest.raises(Error) as e:
            await client.call_upload("upload", [None, "/full"], {}, source(),
                                     ACTIONS["upload"].ret)
        assert e.value.errno_name == "ENOSPC"
        assert len(sent) < 1000

    def script(peer):
        c = peer.call()
        for _ in range(3):
            assert peer.read()[0] == P.CHUNK
        peer.send(P.CANCEL)                     # "stop: the data has nowhere to go"
        while peer.read()[0] == P.CHUNK:        # the client answers with CANCEL
            pass
        assert peer.frames[-1][0] == P.CANCEL
        peer.send_json(P.ERROR, {"s": c["s"], "errno": "ENOSPC", "msg": "full"})
    session(script, body)


def test_cancelled_upload_sends_cancel_not_the_end_marker():
    async def body(client):
        async def forever():
            while True:
                yield b"q" * 4096
                await asyncio.sleep(0.01)
        call = await client.begin("upload", [None, "/x"], {}, ACTIONS["upload"].ret, "in")
        task = asyncio.ensure_future(client._upload(call, forever()))
        await asyncio.sleep(0.1)
        call.request_cancel()
        with pytest.raises(Error):
            await task
        client.finish(call)

    def script(peer):
        c = peer.call()
        while True:
            ftype, payload = peer.read()
            if ftype != P.CHUNK:
                break
            assert payload                      # never the empty end-of-stream chunk
        assert ftype == P.CANCEL
        peer.send_json(P.ERROR, {"s": c["s"], "errno": "EINTR", "msg": "cancelled"})
    session(script, body)
