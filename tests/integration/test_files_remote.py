"""The whole files module again, through the remote backend: an appliance launched by one
handle is served with guestkit serve on a unix socket, and the tests' handle reaches it with
remote:unix:PATH.  Actions must behave exactly as through the direct backend."""

import threading

import pytest

import guestkit
from guestkit.serve import serve
from tests.conftest import make_image
from tests.integration.test_files import *  # noqa: F401,F403  (the same tests)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    d = tmp_path_factory.mktemp("img-remote")
    server = guestkit.GuestFS(python_return_dict=True)
    server.add_drive_opts(make_image(d / "disk.img", 512), format="raw")
    server.add_drive_opts(make_image(d / "blank.img", 320), format="raw", label="blank")
    server.launch()
    server.part_disk("/dev/sda", "mbr")
    server.mkfs("ext4", "/dev/sda1", label="ROOT")
    ready = threading.Event()
    box = {}
    sock = str(d / "serve.sock")
    threading.Thread(target=serve, args=(server, "unix:" + sock),
                     kwargs={"ready": lambda lst: (box.setdefault("l", lst), ready.set())},
                     daemon=True).start()
    assert ready.wait(10)
    g = guestkit.GuestFS(python_return_dict=True)
    g.set_backend("remote:unix:" + sock)
    g.launch()
    g.mount("/dev/sda1", "/")
    g.test_dir = str(d)
    yield g
    g.close()
    box["l"].close()
    server.close()
