"""run(): the fleet's Python API."""

import uuid

from . import cluster, jobs, record
from .worker import run_one

#: seconds each guest's job may take (launch included), retries included
DEFAULT_TIMEOUT = 600.0
#: further tries of a job that failed in a transient way
DEFAULT_RETRIES = 2


def run(guests, job, scheduler=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
        params=None, workers=None, backoff=1.0, on_start=None):
    """Run JOB on each of GUESTS (image paths) on Dask; yield one record per guest as each
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
        futures = {}
        for guest in guests:
            fut = client.submit(run_one, guest, job, params or {}, timeout, retries, backoff,
                                topic, pure=False)
            futures[fut] = guest
        for fut in distributed.as_completed(futures):
            try:
                yield fut.result()
            except Exception as e:          # the task itself failed (a worker died...)
                yield record.make(futures[fut], "error", 0.0, 0,
                                  "%s: %s" % (type(e).__name__, e))
    finally:
        if topic is not None:
            client.unsubscribe_topic(topic)
        if own:
            cluster.close(client)
