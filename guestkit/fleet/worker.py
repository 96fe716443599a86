"""What runs on a worker for one guest: open it read-only, run the job under a deadline,
retry what is transient, and always give a record (never raise)."""

import errno
import threading
import time

import tenacity

import guestkit
from . import guests, jobs, record

#: errno names of failures worth another try (a busy image, a lost connection)
TRANSIENT_ERRNOS = {"EAGAIN", "EBUSY", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT",
                    "EINTR"}
#: words of launch failures worth another try (qemu could not lock the image)
TRANSIENT_WORDS = ("lock", "temporarily unavailable", "Connection reset")
#: seconds a job killed at its deadline has to notice it
KILL_GRACE = 10.0


class JobTimeout(Exception):
    pass


def is_transient(e):
    if isinstance(e, JobTimeout):
        return False
    if isinstance(e, guestkit.Error):
        return e.errno_name in TRANSIENT_ERRNOS or \
            any(w in str(e) for w in TRANSIENT_WORDS)
    if isinstance(e, (ConnectionError, TimeoutError)):
        return True
    return type(e).__name__ == "libvirtError"


def open_guest(guest, launch_timeout, libvirt_uri=None):
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.set_backend_setting("launch_timeout", "%d" % max(1, int(launch_timeout)))
        guests.add(g, guest, libvirt_uri)
        g.launch()
    except BaseException:
        g.close()
        raise
    return g


def attempt(guest, f, params, budget, box, libvirt_uri=None):
    """One try: open, run F, close; the handle goes in BOX so that the watchdog can kill
    its appliance."""
    g = open_guest(guest, budget, libvirt_uri)
    box["g"] = g
    try:
        kind = jobs.wanted(f)
        root = None
        if kind in ("roots", "mounted"):
            roots = g.inspect_os()
            if not roots:
                raise guestkit.Error("no operating system was found on this disk")
            root = roots if kind == "roots" else roots[0]
            if kind == "mounted":
                g.inspect_mount_root(roots[0], readwrite=False)
        return f(g, root, **params)
    finally:
        g.close()


def attempt_with_deadline(guest, f, params, deadline, libvirt_uri=None):
    """attempt() in a thread of its own, waited for until DEADLINE (monotonic); past it,
    the appliance is killed (which ends any call in progress) and JobTimeout raised."""
    budget = deadline - time.monotonic()
    if budget <= 0:
        raise JobTimeout("no time left for another attempt")
    box = {}

    def body():
        try:
            box["result"] = attempt(guest, f, params, budget, box, libvirt_uri)
        except BaseException as e:         # handed to the waiting thread
            box["error"] = e
    t = threading.Thread(target=body, name="fleet-job", daemon=True)
    t.start()
    t.join(budget)
    if t.is_alive():
        g = box.get("g")
        if g is not None:
            try:
                g.kill_subprocess()
            except Exception:
                pass
        t.join(KILL_GRACE)
        raise JobTimeout("timed out after %.0f s" % budget)
    if "error" in box:
        raise box["error"]
    return box.get("result")


def announce(topic, guest):
    """Tell the client that GUEST's job has started on this worker (an event of TOPIC in
    the Dask scheduler's event log, which the client subscribed to); nothing outside a
    Dask worker."""
    if not topic:
        return
    try:
        from distributed import get_worker
        get_worker().log_event(topic, str(guest))
    except (ImportError, ValueError):
        pass                            # not running on a Dask worker


def run_one(guest, job, params=None, timeout=600.0, retries=2, backoff=1.0,
            libvirt_uri=None, topic=None):
    """The record of JOB on GUEST (an image path or ``domain:NAME``); never raises.
    TOPIC: see announce."""
    announce(topic, guest)
    start = time.monotonic()
    deadline = start + timeout
    tries = [0]

    def once():
        tries[0] += 1
        return attempt_with_deadline(guest, f, params or {}, deadline, libvirt_uri)
    try:
        f = jobs.resolve(job)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(retries + 1),
            wait=tenacity.wait_exponential(multiplier=backoff, max=30),
            retry=tenacity.retry_if_exception(is_transient), reraise=True)
        result = retrying(once)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return record.make(record.record_key(guest), "error", time.monotonic() - start,
                           tries[0], describe_error(e))
    return record.make(record.record_key(guest), "ok", time.monotonic() - start, tries[0],
                       result=result)


def describe_error(e):
    """An exception as the record's error text."""
    if isinstance(e, guestkit.Error):
        return "%s: %s" % (e.errno_name, e) if e.errno_name else str(e)
    if isinstance(e, JobTimeout):
        return str(e)
    if isinstance(e, OSError) and e.errno in errno.errorcode:
        return "%s: %s" % (errno.errorcode[e.errno], e.strerror or e)
    return "%s: %s" % (type(e).__name__, e)
