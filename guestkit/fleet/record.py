"""The record a fleet job gives for each guest: plain data (JSON-ready)."""

import json

#: the keys of every record, in the order the CSV output writes them
FIELDS = ("guest", "status", "duration_s", "attempts", "error", "result")


def make(guest, status, duration, attempts=1, error=None, result=None):
    return {"guest": guest, "status": status, "duration_s": round(duration, 3),
            "attempts": attempts, "error": error, "result": result}


def record_key(guest):
    """How a guest is named in its record (what --resume matches on)."""
    return str(guest)


def flat(rec):
    """REC's values in FIELDS order for a table (CSV, Parquet): the result as compact
    JSON text, None as it is."""
    return [None if rec[k] is None else json.dumps(rec[k], ensure_ascii=False)
            if k == "result" else rec[k] for k in FIELDS]
