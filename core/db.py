"""The database: one SQLAlchemy engine, used from worker threads so the event loop never blocks.

SQLite (a file, WAL mode) is the embedded default; PostgreSQL when ``TABLERO_DATABASE_URL``
says so (``postgresql+psycopg://...``; a bare ``postgresql://`` URL is accepted too).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite:///tablero.sqlite3"


def database_url_from_env() -> str:
    return os.environ.get("TABLERO_DATABASE_URL", DEFAULT_DATABASE_URL)


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# SQLite connections for reports: sorts in memory, a 200 MB page cache, reads through a 1 GB
# memory map (fast; all of it may count as the process's resident memory).
SQLITE_REPORT_PRAGMAS = (
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-200000",
    "PRAGMA mmap_size=1073741824",
    "PRAGMA wal_autocheckpoint=1000",
)
# ... and while a connection streams a long download (bounded memory): sorts spill to temporary
# files, a 20 MB page cache, no memory map.
SQLITE_STREAMING_PRAGMAS = (
    "PRAGMA temp_store=FILE",
    "PRAGMA cache_size=-20000",
    "PRAGMA mmap_size=0",
)

# ... and while a connection writes in bulk (an ingestion chunk, a refresh): no memory map, so
# the pages it reads of a large database do not pile up as the process's resident memory, and
# large sorts and temporary tables spill to temporary files (the operating system still caches
# both), a 50 MB page cache instead of 200 MB, and a WAL checkpoint every 50,000 pages instead
# of SQLite's 1,000. A whole refresh of the medium demo set peaked at 1,052-1,367 MB with the
# report settings, 584-628 MB without the map, 425 MB with both (measured); a bulk load of it
# (records, then a whole refresh) at 598 MB with the 200 MB cache, 478 MB with 100 MB, and in
# less time with 50 MB (81.8 s with 100 MB, 76.5 s with 50 MB, 81.3 s with 20 MB: the pages
# it misses are in the operating system's cache). Checkpointing every 200 MB of WAL instead of
# every 4 MB copies a page written by several chunks once, with fewer syncs: the medium set's
# records went in in 40.7-41.0 s instead of 43.8 s.
SQLITE_BULK_PRAGMAS = (
    "PRAGMA mmap_size=0",
    "PRAGMA temp_store=FILE",
    "PRAGMA cache_size=-50000",
    "PRAGMA wal_autocheckpoint=50000",
)


def streaming(conn: Connection) -> Callable[[], None]:
    """Put a pooled connection in bounded-memory mode for a long streamed read (SQLite: see
    :data:`SQLITE_STREAMING_PRAGMAS`; PostgreSQL streams through a server-side cursor already).
    Returns the function that restores the report settings before the connection goes back
    to the pool."""
    if conn.dialect.name != "sqlite":
        return lambda: None
    for pragma in SQLITE_STREAMING_PRAGMAS:
        conn.exec_driver_sql(pragma)

    def restore() -> None:
        for pragma in SQLITE_REPORT_PRAGMAS:
            conn.exec_driver_sql(pragma)

    return restore


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        pool = {} if ":memory:" in url or url.rstrip("/") == "sqlite:" else {
            "pool_size": 8,
            "max_overflow": 8,
        }
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - driver hook
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            for pragma in SQLITE_REPORT_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    # JIT compilation costs ~100 ms per report statement over large ranges and saves less
    # (measured on the contacts behaviour funnel): reports run without it.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"options": "-c jit=off"},
    )


def default_read_threads(url: str) -> int | None:
    """How many report statements run at once per process: on SQLite the statements run in
    this process, so as many as there are cores (more threads only fight over the GIL and the
    cores: a report's wall time was ~40% longer with 40 threads than with 2 on two cores);
    on PostgreSQL the server does the work, so anyio's default (40).
    ``TABLERO_READ_THREADS`` overrides it."""
    configured = os.environ.get("TABLERO_READ_THREADS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(
                f"TABLERO_READ_THREADS must be a positive integer (got {configured!r}); unset"
                " it for the default (SQLite: the number of cores; PostgreSQL: 40)"
            )
        return int(configured)
    if normalise_url(url).startswith("sqlite"):
        return os.cpu_count() or 2
    return None


class Database:
    """Owns the engine; runs blocking database work on a worker thread."""

    def __init__(
        self, url: str | None = None, engine: Engine | None = None,
        read_threads: int | None = None,
    ):
        self.url = normalise_url(url or database_url_from_env())
        self.engine = engine or make_engine(self.url)
        self.read_threads = read_threads or default_read_threads(self.url)
        # a limiter belongs to one event loop (tests and the CLI run several, one after another)
        self._limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _read_limiter(self) -> anyio.CapacityLimiter | None:
        if self.read_threads is None:
            return None
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.read_threads)
        return limiter

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` in a worker thread inside a read transaction."""
        return await anyio.to_thread.run_sync(self.read, fn, limiter=self._read_limiter())

    def read(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)

    def write(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    def bulk_write(self, fn: Callable[[Connection], T],
                   attach: dict[str, str] | None = None) -> T:
        """:meth:`write` for a large write (an ingestion chunk, a refresh): on SQLite with
        :data:`SQLITE_BULK_PRAGMAS` for its duration, the report settings restored after.
        ``attach`` (SQLite): ``{schema: file}``, database files attached for the transaction
        (SQLite attaches and detaches only outside one), detached after it."""
        if not self.is_sqlite:
            return self.write(fn)
        with self.engine.connect() as conn:
            for pragma in SQLITE_BULK_PRAGMAS:
                conn.exec_driver_sql(pragma)
            for schema, path in (attach or {}).items():
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {schema}", (path,))
            conn.commit()  # (the pragmas began SQLAlchemy's transaction; nothing was written)
            try:
                with conn.begin():
                    return fn(conn)
            finally:
                for schema in attach or {}:
                    conn.exec_driver_sql(f"DETACH DATABASE {schema}")
                for pragma in SQLITE_REPORT_PRAGMAS:
                    conn.exec_driver_sql(pragma)
                conn.commit()

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self.write, fn)

    def dispose(self) -> None:
        self.engine.dispose()
