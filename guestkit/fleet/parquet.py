"""guestkit fleet --parquet: the records as a Parquet file, the columns of the CSV output
(the result as JSON text), written by pyarrow (``pip install 'guestkit[parquet]'``)."""

import os

from .record import FIELDS, flat

#: records written to the file at a time (one row group each)
ROW_GROUP = 256


def need_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise RuntimeError("--parquet needs pyarrow: pip install 'guestkit[parquet]'") \
            from None
    return pyarrow, pyarrow.parquet


def schema():
    pa, _ = need_pyarrow()
    types = {"duration_s": pa.float64(), "attempts": pa.int64()}
    return pa.schema([(k, types.get(k, pa.string())) for k in FIELDS])


def done_guests(path):
    """The guests that have a record in the Parquet file PATH (none if there is no file)."""
    _, pq = need_pyarrow()
    if not os.path.exists(path):
        return set()
    return set(pq.read_table(path, columns=["guest"]).column("guest").to_pylist())


class ParquetWriter:
    """Records into the Parquet file PATH, ROW_GROUP at a time.  The file is made under
    a temporary name and renamed to PATH by close(), so that a run that dies leaves PATH
    as it was; with KEEP the rows PATH already has are copied first (--resume)."""

    def __init__(self, path, keep=False):
        self.pa, pq = need_pyarrow()
        self.path, self.tmp = path, path + ".part"
        self.schema = schema()
        old = pq.read_table(path) if keep and os.path.exists(path) else None
        self.writer = pq.ParquetWriter(self.tmp, self.schema)
        if old is not None and old.num_rows:
            self.writer.write_table(old.select(list(FIELDS)).cast(self.schema))
        self.rows = []

    def write(self, rec):
        self.rows.append(dict(zip(FIELDS, flat(rec))))
        if len(self.rows) >= ROW_GROUP:
            self.flush()

    def flush(self):
        if self.rows:
            self.writer.write_table(self.pa.Table.from_pylist(self.rows, self.schema))
            self.rows = []

    def close(self):
        self.flush()
        self.writer.close()
        os.replace(self.tmp, self.path)
