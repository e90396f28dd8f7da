"""Stream a DuckDB query as CSV through a named pipe, so DuckDB writes while PostgreSQL reads.

DuckDB's COPY ... TO runs in a thread and writes into a FIFO; the caller reads the FIFO and hands the bytes
to PostgreSQL's COPY FROM STDIN. Nothing touches the disk and export and import overlap. Either end failing
ends the other: a closed reader makes DuckDB's write fail (EPIPE), a failed writer makes the reader see EOF,
and the writer's error is raised to the caller.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .outcome import MigrationError

CHUNK = 1 << 20


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@contextmanager
def csv_stream(con: duckdb.DuckDBPyConnection, select_sql: str, fifo: Path) -> Iterator[Iterator[bytes]]:
    """Yield an iterator over the CSV bytes (no header; NULL unquoted-empty, '' quoted) of `select_sql`."""
    os.mkfifo(fifo, 0o600)
    errors: list[BaseException] = []
    reader_done = threading.Event()

    def release_reader() -> None:
        # Make sure a reader blocked in open() or read() gets EOF, whatever point the writer failed at.
        while not reader_done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                    return
                time.sleep(0.02)
                continue
            os.close(fd)
            return

    def write() -> None:
        cursor = con.cursor()
        try:
            cursor.execute(f"COPY ({select_sql}) TO {_sql_path(fifo)} (FORMAT csv, HEADER false)")
        except BaseException as e:  # reported to the caller after the reader finishes
            errors.append(e)
            release_reader()
        finally:
            cursor.close()

    thread = threading.Thread(target=write, name=f"duckdb-export-{fifo.name}", daemon=True)
    thread.start()

    def chunks() -> Iterator[bytes]:
        with fifo.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    reader = chunks()
    try:
        yield reader
    finally:
        reader.close()  # closes the read end: a writer still writing gets EPIPE instead of blocking
        reader_done.set()
        thread.join(timeout=60)
        fifo.unlink(missing_ok=True)
    if errors:
        raise MigrationError(f"DuckDB export failed ({select_sql[:120]}): {errors[0]}") from errors[0]
