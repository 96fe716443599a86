"""Fleets: one job per guest, run on Dask (``pip install guestkit[fleet]``).

``run(guests, job)`` opens every guest read-only in an appliance of its own, runs JOB on it
and yields one plain record per guest (see record.py), in the order they finish.  Without
a scheduler address the work runs on a ``distributed.LocalCluster`` sized to this host
(cluster.py); with one (``tcp://HOST:8786``) it runs on that cluster's workers, which need
guestkit installed and the images within reach.  A guest that fails gives an error
record; the run goes on."""

from .record import FIELDS, record_key
from .run import DEFAULT_RETRIES, DEFAULT_TIMEOUT, run

__all__ = ["run", "FIELDS", "record_key", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES"]
