"""tablero.db: how many report statements run at once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from tablero.db import Database, default_read_threads


def test_sqlite_reads_run_as_many_at_once_as_there_are_cores(monkeypatch):
    monkeypatch.delenv("TABLERO_READ_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_read_threads("sqlite:///x.sqlite3") == 2
    assert default_read_threads("postgresql://postgres@127.0.0.1/test") is None  # anyio's 40
    monkeypatch.setenv("TABLERO_READ_THREADS", "5")
    assert default_read_threads("sqlite:///x.sqlite3") == 5
    assert default_read_threads("postgresql://postgres@127.0.0.1/test") == 5
    for bad in ("0", "many", "-2"):
        monkeypatch.setenv("TABLERO_READ_THREADS", bad)
        with pytest.raises(ValueError, match="TABLERO_READ_THREADS must be a positive integer"):
            default_read_threads("sqlite:///x.sqlite3")


def test_the_read_limit_holds_across_concurrent_figures(db):
    """Six figures asked at once on a database limited to two threads: never more than two
    run, all six answer (on both databases)."""
    limited = Database(db.url, engine=db.engine, read_threads=2)
    running, most = 0, 0
    lock = threading.Lock()

    def figure(conn):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        value = conn.exec_driver_sql("SELECT 1").scalar()
        with lock:
            running -= 1
        return value

    async def report():
        return await asyncio.gather(*[limited.run(figure) for _ in range(6)])

    assert asyncio.run(report()) == [1] * 6
    assert most == 2
    assert asyncio.run(report()) == [1] * 6  # a second event loop gets its own limiter


def test_a_bulk_write_runs_without_the_memory_map_and_restores_it(tmp_path):
    """SQLite: an ingestion chunk or a refresh reads without the memory map (its pages would
    count as resident memory), sorts through temporary files, keeps a page cache of 50 MB
    instead of 200 MB and checkpoints its WAL every 50,000 pages instead of 1,000; the pooled connection gets the report settings back, and a failed bulk
    write leaves nothing."""
    from sqlalchemy import text

    database = Database(f"sqlite:///{tmp_path / 'bulk.sqlite3'}")
    try:
        database.write(lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER)")))

        def settings(conn):
            return (conn.exec_driver_sql("PRAGMA mmap_size").scalar(),
                    conn.exec_driver_sql("PRAGMA temp_store").scalar(),
                    conn.exec_driver_sql("PRAGMA cache_size").scalar(),
                    conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())

        def write(conn):
            conn.execute(text("INSERT INTO t VALUES (1)"))
            return settings(conn)

        # no map; temporary files
        assert database.bulk_write(write) == (0, 1, -50000, 50000)
        assert database.read(settings) == (1073741824, 2, -200000, 1000)  # the report settings

        def fail(conn):
            conn.execute(text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("rejected")

        with pytest.raises(RuntimeError):
            database.bulk_write(fail)
        assert database.read(lambda conn: conn.execute(text("SELECT x FROM t")).all()) == [(1,)]
    finally:
        database.dispose()
