"""run(): the fleet's Python API."""

import functools
import uuid

from . import cluster, jobs, record
from .worker import run_one

#: seconds each guest's job may take (launch included), retries included
DEFAULT_TIMEOUT = 600.0
#: further tries of a job that failed in a transient way
DEFAULT_RETRIES = 2


def run(guests, job, scheduler=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
        params=None, workers=None, backoff=1.0, libvirt_uri=None, on_start=None):
    """Run JOB on each of GUESTS (image paths, or libvirt domains written ``domain:NAME``,
    looked up at LIBVIRT_URI) on Dask; yield one record per guest as each
    finishes.  JOB: "inspect", "df", "cat" (params: path, max_bytes), "module:function",
    or a function f(g, root).  SCHEDULER: a Dask scheduler's address (tcp://HOST:8786)
    or a distributed.Client; without it, a LocalCluster of WORKERS processes (by default
    as many as this host's CPUs and memory allow) runs for the duration of the run.
    ON_START(guest), if given, is called (in the client's event-loop thread) as each
    guest's job starts on a worker (again if it is started again elsewhere)."""
    guests = [str(x) for x in guests]
    if isinstance(job, str) and ":" not in job:
        jobs.resolve(job)                   # a bad name fails here, before any work
    if not guests:
        return
    distributed = cluster.need_dask()
    own = not isinstance(scheduler, distributed.Client)
    client = cluster.client(scheduler, workers) if own else scheduler
    topic = None
    try:
        if on_start is not None:
            topic = "guestkit-fleet-%s" % uuid.uuid4().hex
            client.subscribe_topic(topic, lambda event: on_start(event[1]))
        # one message for all the tasks; each result is let go (on the worker too) as
        # soon as it is yielded, so that a long run holds only what is still running
        # (through a partial: client.map would take retries= as Dask's own option)
        one = functools.partial(run_one, job=job, params=params or {}, timeout=timeout,
                                retries=retries, backoff=backoff, libvirt_uri=libvirt_uri,
                                topic=topic)
        futures = dict(zip(client.map(one, guests, pure=False), guests))
        done = distributed.as_completed(list(futures))
        for fut in done:
            guest = futures.pop(fut)
            try:
                rec = fut.result()
            except Exception as e:          # the task itself failed (a worker died...)
                rec = record.make(guest, "error", 0.0, 0, "%s: %s" % (type(e).__name__, e))
            fut.release()
            yield rec
    finally:
        if topic is not None:
            client.unsubscribe_topic(topic)
        if own:
            cluster.close(client)
