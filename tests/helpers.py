"""Helpers shared by the integration test modules."""

import contextlib
import os
import threading

import pytest

import guestkit

MiB = 1 << 20


def fresh(g, d):
    """An empty guest directory D."""
    g.rm_rf(d)
    g.mkdir_p(d)
    return d


def expect_error(errno_name, fn, *args, **kwargs):
    """Call FN, which must fail with guestkit.Error carrying ERRNO_NAME; returns the error."""
    with pytest.raises(guestkit.Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.errno_name == errno_name, (ei.value, ei.value.errno_name)
    return ei.value


@contextlib.contextmanager
def watchdog(g, seconds, what):
    """Kill the appliance if the block takes longer than SECONDS, so that a call that hangs
    makes the test fail instead of hanging the whole run."""
    fired = []

    def fire():
        fired.append(1)
        try:
            os.kill(g.get_pid(), 9)
        except Exception:
            pass
    t = threading.Timer(seconds, fire)
    t.start()
    try:
        yield
    finally:
        t.cancel()
        assert not fired, "%s hung for more than %s s: the appliance was killed" % (
            what, seconds)
