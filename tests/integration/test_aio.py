"""guestkit.aio on real appliances: many handles from one event loop, cancellation mapped to
the protocol's CANCEL, timeouts, errors, and the streaming iterators."""

import asyncio
import contextlib
import hashlib
import io
import os
import tarfile
import time

import pytest

import guestkit
import guestkit.aio
from guestkit.daemon import protocol as P

from tests.conftest import _need, make_image

MiB = 1 << 20
#: the longest a call may wait for a cancelled transfer to stop (it takes well under a
#: second; the whole transfer, if the cancel were not sent, takes much longer)
FOLLOW_UP_S = 3.0


@pytest.fixture(scope="module")
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(lp.shutdown_asyncgens())
    lp.close()


@pytest.fixture(scope="module")
def ag(loop, tmp_path_factory):
    """One launched async handle for the module: an ext4 on /dev/sda mounted at /, and a
    blank 512 MiB /dev/sdb to stream from (a long download)."""
    _need("qemu-system-x86_64")
    d = tmp_path_factory.mktemp("aio")
    disk = make_image(d / "disk.img", 512)
    blank = make_image(d / "blank.img", 512)
    g = guestkit.aio.GuestFS(python_return_dict=True)

    async def setup():
        await g.add_drive_opts(disk, format="raw")
        await g.add_drive_opts(blank, format="raw")
        await g.launch()
        await g.mkfs("ext4", "/dev/sda")
        await g.mount("/dev/sda", "/")
    loop.run_until_complete(setup())
    g.test_dir = str(d)
    yield g
    loop.run_until_complete(g.close())


def run(loop, coro, timeout=300):
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def test_native_connection(ag):
    # the loop speaks to the appliance itself: no thread client under the async handle
    assert ag.native
    assert asyncio.iscoroutinefunction(guestkit.aio.GuestFS.mount)


def test_every_action_is_a_coroutine():
    from guestkit.actions import ACTIONS, ALIASES
    for name in list(ACTIONS) + list(ALIASES):
        assert asyncio.iscoroutinefunction(getattr(guestkit.aio.GuestFS, name)), name
    # streaming iterators exist for every FileIn/FileOut action of the table
    for name, a in ACTIONS.items():
        if a.daemon and a.streams:
            assert hasattr(guestkit.aio.GuestFS, name + "_iter"), name


async def _one_appliance(i, scratch_mb=64):
    """Launch a handle with a scratch drive and do real work on it: (start, launched,
    work done, closed) as time.monotonic() values."""
    t0 = time.monotonic()
    payload = hashlib.sha256(b"seed %d" % i).digest() * (4 * MiB // 32 + 7)   # > 4 MiB
    async with guestkit.aio.GuestFS(python_return_dict=True) as g:
        await g.add_drive_scratch(scratch_mb * MiB)
        await g.launch()
        t1 = time.monotonic()
        await g.mkfs("ext4", "/dev/sda")
        await g.mount("/dev/sda", "/")
        await g.mkdir("/data")
        for k in range(5):
            await g.write("/data/f%d" % k, b"handle %d file %d\n" % (i, k))
        assert await g.cat("/data/f3") == "handle %d file 3\n" % i
        assert sorted(await g.ls("/data")) == ["f%d" % k for k in range(5)]
        await g.upload_iter(_chunks(payload, 300_000), "/data/blob")
        want = hashlib.sha256(payload).hexdigest()
        assert await g.checksum("sha256", "/data/blob") == want
        h = hashlib.sha256()
        async for chunk in g.download_iter("/data/blob"):
            h.update(chunk)
        assert h.hexdigest() == want
        assert (await g.statns("/data/blob"))["st_size"] == len(payload)
        t2 = time.monotonic()
    return t0, t1, t2, time.monotonic()


async def _chunks(data, size):
    for off in range(0, len(data), size):
        yield data[off:off + size]
        await asyncio.sleep(0)


def test_ten_appliances_one_loop(capsys):
    _need("qemu-system-x86_64")

    async def main():
        alone = await _one_appliance(10)
        t0 = time.monotonic()
        each = await asyncio.gather(*(_one_appliance(i) for i in range(10)))
        return alone[3] - alone[0], time.monotonic() - t0, each
    alone, wall, each = asyncio.run(main())
    with capsys.disabled():
        print("\naio: 10 appliances launched and used concurrently from one event loop: "
              "%.1f s wall (one handle alone: %.1f s; launches took %.1f-%.1f s)"
              % (wall, alone, min(t[1] - t[0] for t in each),
                 max(t[1] - t[0] for t in each)))
    # they ran together: all ten appliances were up and working at the same moment
    assert max(t[1] for t in each) < min(t[2] for t in each)


def test_cancel_download_then_usable(ag, loop, tmp_path):
    dest = str(tmp_path / "sdb.img")
    seen = []
    ag.set_event_callback(lambda ev, eh, buf, arr: seen.append(arr[2]),
                          guestkit.EVENT_PROGRESS)

    async def go():
        task = asyncio.ensure_future(ag.download("/dev/sdb", dest))
        while not seen:             # the download is under way
            await asyncio.sleep(0.02)
        t = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - t < 1.0       # the caller gets control back at once
        # the handle works, and waits for the cancelled call to end first
        assert await ag.is_dir("/")
        await ag.write("/after-download", b"ok")
        assert await ag.cat("/after-download") == "ok"
    run(loop, go())
    assert seen and seen[-1] < 512 * MiB        # it really was cut short
    assert not os.path.exists(dest)             # a cancelled download leaves nothing behind
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]


def test_cancel_upload_then_usable(ag, loop):
    sent = []

    async def endless():
        block = b"u" * MiB
        while True:
            sent.append(len(block))
            yield block

    async def go():
        task = asyncio.ensure_future(ag.upload_iter(endless(), "/endless"))
        while sum(sent) < 8 * MiB:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # a following call works at once, and so does a whole upload of the same file
        t = time.monotonic()
        assert await ag.filesize("/endless") < 64 * MiB
        assert time.monotonic() - t < FOLLOW_UP_S
        await ag.upload_iter([b"x" * 1000, b"y" * 24], "/endless")
        assert await ag.filesize("/endless") == 1024
        assert await ag.read_file("/endless") == b"x" * 1000 + b"y" * 24
    run(loop, go())


def test_upload_host_file_timeout(ag, loop, tmp_path):
    src = tmp_path / "big.raw"
    with open(src, "wb") as f:
        f.truncate(2048 * MiB)      # sparse: more than an upload does in a second here

    async def go():
        t = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ag.upload(str(src), "/big-upload"), 1.0)
        assert time.monotonic() - t < 2.0
        t = time.monotonic()
        assert await ag.filesize("/big-upload") < 2048 * MiB
        print("next call after the upload's cancel: %.2f s" % (time.monotonic() - t))
        assert time.monotonic() - t < FOLLOW_UP_S
        await ag.rm("/big-upload")
        assert not await ag.exists("/big-upload")
    run(loop, go())


def test_wait_for_timeout_download_iter(ag, loop):
    async def consume():
        n = 0
        async for chunk in ag.download_iter("/dev/sdb"):
            n += len(chunk)
        return n

    async def go():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(consume(), 0.5)
        t = time.monotonic()
        assert await ag.ls("/") is not None
        print("next call after the iterator's cancel: %.2f s" % (time.monotonic() - t))
        assert time.monotonic() - t < FOLLOW_UP_S
        # the next download after a cut one is whole
        await ag.write("/small", b"0123456789" * 1000)
        data = b"".join([c async for c in ag.download_iter("/small")])
        assert data == b"0123456789" * 1000
    run(loop, go())


def test_timeout_of_a_long_call_without_a_stream(ag, loop):
    # zero_device reports progress: the cancel reaches it at its next report
    async def go():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ag.zero_device("/dev/sdb"), 0.5)
        t = time.monotonic()
        assert await ag.is_dir("/")
        print("next call after zero_device's cancel: %.2f s" % (time.monotonic() - t))
        assert time.monotonic() - t < FOLLOW_UP_S
    run(loop, go())


def test_break_out_of_iterator(ag, loop):
    async def go():
        n = 0
        async with contextlib.aclosing(ag.download_iter("/dev/sdb")) as it:
            async for chunk in it:
                n += len(chunk)
                if n >= 3 * MiB:
                    break
        t = time.monotonic()
        assert await ag.exists("/")
        print("next call after break: %.2f s" % (time.monotonic() - t))
        assert time.monotonic() - t < FOLLOW_UP_S
        assert (await ag.blockdev_getsize64("/dev/sdb")) == 512 * MiB
    run(loop, go())


def test_user_cancel_from_another_task(ag, loop, tmp_path):
    async def go():
        task = asyncio.ensure_future(ag.download("/dev/sdb", str(tmp_path / "x")))
        await asyncio.sleep(0.5)
        assert await ag.is_busy() == 1
        await ag.user_cancel()
        with pytest.raises(guestkit.Error) as e:
            await task
        assert e.value.errno_name == "EINTR"
        assert await ag.is_busy() == 0
        assert await ag.is_dir("/")
    run(loop, go())
    assert not os.path.exists(tmp_path / "x")


def test_iterators_stream_more_than_a_frame(ag, loop):
    data = os.urandom(3 * P.MAX_FRAME + 12345)          # > MAX_FRAME and many chunks
    want = hashlib.sha256(data).hexdigest()

    async def go():
        # one chunk bigger than a frame, then odd sizes
        await ag.upload_iter(_chunks(data, P.MAX_FRAME + 1), "/stream")
        assert await ag.checksum("sha256", "/stream") == want
        h, sizes = hashlib.sha256(), []
        async for chunk in ag.download_iter("/stream"):
            assert len(chunk) <= P.CHUNK_SIZE
            sizes.append(len(chunk))
            h.update(chunk)
        assert h.hexdigest() == want and len(sizes) > 4
        # a sync iterable and plain bytes are sources too
        await ag.upload_iter(iter([data[:10], data[10:100]]), "/s2")
        assert await ag.read_file("/s2") == data[:100]
        await ag.upload_iter(data[:5000], "/s3")
        assert await ag.read_file("/s3") == data[:5000]
        # other FileOut actions stream the same way: tar_out
        await ag.mkdir_p("/tree/sub")
        await ag.write("/tree/sub/f", b"in a tarball")
        tar = b"".join([c async for c in ag.tar_out_iter("/tree", compress="gzip")])
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r:gz") as t:
            assert t.extractfile("./sub/f").read() == b"in a tarball"
        # and FileIn ones: tar_in from bytes
        await ag.mkdir("/untar")
        await ag.tar_in_iter(tar, "/untar", compress="gzip")
        assert await ag.cat("/untar/sub/f") == "in a tarball"
    run(loop, go())


def test_host_file_upload_download(ag, loop, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(5 * MiB + 3)
    src.write_bytes(data)

    async def go():
        await ag.upload(str(src), "/hostfile")
        await ag.download("/hostfile", str(dst))
    run(loop, go())
    assert dst.read_bytes() == data


def test_source_error_is_raised_and_handle_usable(ag, loop):
    async def bad():
        yield b"a" * MiB
        raise ValueError("the source broke")

    async def go():
        with pytest.raises(ValueError, match="the source broke"):
            await ag.upload_iter(bad(), "/broken")
        assert await ag.exists("/")
    run(loop, go())


def test_errors_match_the_sync_api(ag, loop, tmp_path):
    """The same failing calls raise guestkit.Error with the same errno from both APIs."""
    disk = make_image(tmp_path / "sync.img", 64)
    g = guestkit.GuestFS()
    g.add_drive_opts(disk, format="raw")
    g.launch()
    try:
        g.mkfs("ext4", "/dev/sda")
        g.mount("/dev/sda", "/")
        g.mkdir("/d")
        g.write("/f", b"x")
        run(loop, ag.mkdir_p("/d"))
        run(loop, ag.write("/f", b"x"))
        cases = [("cat", ("/nonexistent",), {}), ("mkdir", ("/d",), {}),
                 ("rmdir", ("/f",), {}), ("cat", ("/d",), {}),
                 ("mount", ("/dev/sdz9", "/"), {}), ("download", ("/nope", "/dev/null"), {}),
                 ("upload", ("/dev/null", "/no/such/dir/x"), {}),
                 ("checksum", ("nosuchsum", "/f"), {}), ("truncate_size", ("/f", -1), {})]
        for name, args, kw in cases:
            with pytest.raises(guestkit.Error) as se:
                getattr(g, name)(*args, **kw)
            with pytest.raises(guestkit.Error) as ae:
                run(loop, getattr(ag, name)(*args, **kw))
            assert isinstance(ae.value, RuntimeError)
            assert (ae.value.errno, ae.value.errno_name) == (se.value.errno, se.value.errno_name)\
                , (name, str(ae.value), str(se.value))
            assert str(ae.value) == str(se.value)
            assert ag.last_errno() == g.last_errno()
        # the iterators fail like download / upload
        with pytest.raises(guestkit.Error) as e:
            run(loop, _drain(ag.download_iter("/nonexistent")))
        assert e.value.errno_name == "ENOENT"
        with pytest.raises(guestkit.Error) as e:
            run(loop, ag.upload_iter(b"x", "/no/such/dir/x"))
        assert e.value.errno_name == "ENOENT"
        # argument errors before anything is sent
        with pytest.raises(TypeError):
            run(loop, ag.mkdir(1))
        with pytest.raises(TypeError):
            run(loop, ag.mkdir("/a", "/b"))
    finally:
        g.close()


async def _drain(it):
    async for _ in it:
        pass


def test_state_errors_and_closed_handle(loop):
    async def go():
        g = guestkit.aio.GuestFS()
        with pytest.raises(guestkit.Error) as e:
            await g.mount("/dev/sda", "/")
        assert e.value.errno_name == "EINVAL"
        with pytest.raises(guestkit.Error) as e:
            await _drain(g.download_iter("/x"))
        assert e.value.errno_name == "EINVAL"
        await g.set_verbose(0)
        assert await g.get_verbose() == 0
        await g.close()
        with pytest.raises(guestkit.ClosedHandle):
            await g.get_verbose()
        await g.close()             # twice is fine
    run(loop, go())


def test_calls_on_one_handle_run_in_order(ag, loop):
    async def go():
        await ag.mkdir_p("/order")
        writes = [ag.write("/order/%d" % i, b"%d" % i) for i in range(20)]
        reads = [ag.cat("/order/%d" % i) for i in range(20)]
        results = await asyncio.gather(*writes, *reads)
        assert results[20:] == ["%d" % i for i in range(20)]
    run(loop, go())


def test_library_action_through_the_loop(ag, loop, tmp_path):
    # inspection and hot-plugging run in the worker thread; their calls to the appliance
    # go over the async client
    extra = make_image(tmp_path / "hot.img", 32)

    async def go():
        assert await ag.inspect_os() == []
        await ag.add_drive_opts(extra, format="raw", label="hot")
        assert await ag.list_devices() == ["/dev/sda", "/dev/sdb", "/dev/sdc"]
        assert await ag.blockdev_getsize64("/dev/disk/guestfs/hot") == 32 * MiB
        assert await ag.is_busy() == 0
    run(loop, go())
