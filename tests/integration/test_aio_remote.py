"""guestkit.aio over the remote backend: a unix socket is driven natively by the event loop;
a TLS connection (which asyncio cannot take over) runs in thread mode, with the same
actions, iterators, errors and cancellation."""

import asyncio
import hashlib
import os
import time

import pytest

import guestkit
import guestkit.aio
from guestkit.daemon import protocol as P
from tests.integration.test_remote import certs, server, spec_of, start  # noqa: F401

MiB = 1 << 20


async def _client(spec, settings=()):
    g = guestkit.aio.GuestFS(python_return_dict=True)
    await g.set_backend(spec)
    await g.set_backend_settings(list(settings))
    await g.launch()
    await g.mount("/dev/sda1", "/")
    return g


async def _exercise(g):
    """Actions, errors, iterators beyond a frame, and cancellation; all on G."""
    await g.write("/aio-remote", b"over the wire")
    assert await g.cat("/aio-remote") == "over the wire"
    with pytest.raises(guestkit.Error) as e:
        await g.cat("/missing")
    assert e.value.errno_name == "ENOENT"
    data = os.urandom(P.MAX_FRAME + 3 * MiB + 17)

    async def chunks():
        for off in range(0, len(data), 700_000):
            yield data[off:off + 700_000]
    await g.upload_iter(chunks(), "/aio-blob")
    want = hashlib.sha256(data).hexdigest()
    assert await g.checksum("sha256", "/aio-blob") == want
    h = hashlib.sha256()
    async for chunk in g.download_iter("/aio-blob"):
        h.update(chunk)
    assert h.hexdigest() == want
    # an iterator source that never ends, cancelled: the handle goes on
    async def endless():
        while True:
            yield b"e" * MiB
            await asyncio.sleep(0)
    task = asyncio.ensure_future(g.upload_iter(endless(), "/aio-endless"))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    t = time.monotonic()
    assert await g.is_file("/aio-blob")
    assert time.monotonic() - t < 5
    # a download given up half-way: the next one is whole
    n = 0
    async for chunk in g.download_iter("/dev/sda"):
        n += len(chunk)
        if n > 2 * MiB:
            break
    assert b"".join([c async for c in g.download_iter("/aio-remote")]) == b"over the wire"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(g.download("/dev/sda", "/dev/null"), 0.3)
    assert await g.cat("/aio-remote") == "over the wire"


def test_unix_socket_is_native(server):  # noqa: F811
    async def go():
        g = await _client("remote:unix:" + server["sock"])
        try:
            assert g.native
            await _exercise(g)
        finally:
            await g.close()
    asyncio.run(asyncio.wait_for(go(), 300))


def test_tls_runs_in_thread_mode(server, certs):  # noqa: F811
    lst = start(server, "tcp:127.0.0.1:0", token_file=server["token"],
                tls={"cert": certs["server.crt"], "key": certs["server.key"]})

    async def go():
        g = await _client(spec_of(lst), ["tls_ca=" + certs["ca.crt"],
                                         "token=" + server["token"]])
        try:
            assert not g.native
            await _exercise(g)
        finally:
            await g.close()
    try:
        asyncio.run(asyncio.wait_for(go(), 300))
    finally:
        lst.close()
