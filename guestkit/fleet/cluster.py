"""Where a fleet runs: a Dask cluster given by its scheduler's address, or a
``distributed.LocalCluster`` sized to this host."""

import os

#: memory (MiB) a worker needs beside its appliance's: qemu itself, the worker process
WORKER_OVERHEAD_MB = 256


def need_dask():
    try:
        import distributed
    except ImportError:
        raise RuntimeError("guestkit fleet needs Dask: pip install 'guestkit[fleet]' "
                           "(dask and distributed)") from None
    return distributed


def appliance_memsize():
    """The memory (MiB) each appliance gets (set_memsize's default, or $LIBGUESTFS_MEMSIZE)."""
    import guestkit
    g = guestkit.GuestFS()
    try:
        return g.get_memsize()
    finally:
        g.close()


def available_memory_mb():
    try:
        import psutil                   # a dependency of distributed
        return psutil.virtual_memory().available // (1024 * 1024)
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


def local_workers(cpus=None, memory_mb=None, memsize_mb=None):
    """How many appliances this host runs at once: one per CPU, as many as its free
    memory holds (at least one)."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
    memory_mb = available_memory_mb() if memory_mb is None else memory_mb
    memsize_mb = appliance_memsize() if memsize_mb is None else memsize_mb
    return max(1, min(cpus, memory_mb // (memsize_mb + WORKER_OVERHEAD_MB)))


def client(scheduler=None, workers=None):
    """A distributed.Client of the cluster at SCHEDULER, or of a new LocalCluster (worker
    processes with one thread each: one appliance at a time per worker); close it (and
    its cluster) with close()."""
    distributed = need_dask()
    if scheduler:
        return distributed.Client(scheduler)
    cluster = distributed.LocalCluster(
        n_workers=workers or local_workers(), threads_per_worker=1, processes=True,
        dashboard_address=None, memory_limit=0, silence_logs=40)
    c = distributed.Client(cluster)
    c.fleet_cluster = cluster
    return c


def close(c):
    cluster = getattr(c, "fleet_cluster", None)
    c.close()
    if cluster is not None:
        cluster.close()
