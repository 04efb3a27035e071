"""Schema migrations (Alembic), applied by ``tablero db upgrade`` and at server start."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from .db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Revisions that add derived facts an existing database must compute once: None, a whole
# refresh of each organization; else the derived tables to rebuild (tablero.derived.rebuild).
_FACTS_ADDED_BY: dict[str, tuple[str, ...] | None] = {
    "0002": None, "0003": None, "0004": None, "0005": None, "0006": None, "0007": None,
    "0008": None, "0009": None, "0010": None, "0011": None,
    "0012": ("campaign_send", "campaign_gap"),
    "0013": ("conversation_hour",),
    "0016": ("campaign_send", "campaign_gap"),
}


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def current_revision(url: str) -> str | None:
    """The database's Alembic revision (None when it has none yet)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest).

    A database that had data before a revision adding derived facts (``0002``: contact activity
    and customer orders; ``0003``: order days and their rollups; ``0004``: close facts and their
    rollups; ``0005``: activity gaps and conversation days; ``0006``:
    contact days; ...) gets them computed (a whole refresh of each organization; or, when every
    revision crossed names the tables it adds, as ``0012`` does, only those tables rebuilt:
    :func:`tablero.derived.rebuild`), so reports read complete facts at once. The organizations
    are first marked (``refreshed_at`` null) and each is unmarked by its own refresh, so an
    upgrade interrupted half-way finishes the remaining organizations the next time it runs
    (at the next server start or ``tablero db upgrade``).
    """
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        _restore_report_indexes(url)
    after = current_revision(url) or ""
    first = min(_FACTS_ADDED_BY)
    crossed = [
        facts for rev, facts in sorted(_FACTS_ADDED_BY.items())
        if before is not None and before < rev <= after
    ]
    if after < first:
        return  # an old revision: no refreshed_at-driven facts yet
    from . import derived
    from .db import Database

    # only some tables to rebuild: the organizations not already waiting for a whole refresh
    tables = None if any(facts is None for facts in crossed) else sorted(
        {table for facts in crossed for table in facts}
    )
    db = Database(url)
    try:
        waiting = {
            org_id for org_id, in db.read(lambda conn: conn.execute(
                text("SELECT id FROM organization WHERE refreshed_at IS NULL")
            ).all())
        }
        if crossed:
            db.write(lambda conn: conn.execute(text("UPDATE organization SET refreshed_at = NULL")))
        pending = db.read(
            lambda conn: conn.execute(
                text("SELECT id, key FROM organization WHERE refreshed_at IS NULL ORDER BY id")
            ).all()
        )
        for org_id, key in pending:
            try:
                if tables and org_id not in waiting:
                    derived.rebuild(db, org_id, tables)
                else:
                    derived.refresh(db, org_id)
            except BaseException:
                print(
                    f"tablero: computing the derived facts of organization {key!r} stopped; the"
                    f" next 'tablero db upgrade' (or server start) resumes it, or run"
                    f" 'tablero refresh --org {key}'",
                    file=sys.stderr,
                )
                raise
    finally:
        db.dispose()


def _restore_report_indexes(url: str) -> None:
    """The message indexes a bulk load keeps off while it writes
    (:data:`tablero.ingest.DEFERRED_INDEXES`), built if one was stopped before its end (killed:
    it builds them itself in any other case)."""
    from .db import Database
    from .ingest import restore_report_indexes

    db = Database(url)
    try:
        created = db.bulk_write(restore_report_indexes)
    finally:
        db.dispose()
    if created:
        print(f"tablero: built the message indexes {', '.join(created)}, which a bulk load"
              " stopped before its end had left off", file=sys.stderr)


def analyze_sqlite_table(conn, table: str) -> None:
    """For a migration that adds or replaces an index: on a SQLite database with planner
    statistics (``sqlite_stat1``, written by ingestion's ``ANALYZE``), refresh ``table``'s, so
    the new index has figures beside the old ones (without them SQLite estimates it like any
    other index of the table and may keep the old choice). PostgreSQL needs none."""
    if conn.dialect.name != "sqlite":
        return
    has_statistics = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if has_statistics:
        conn.exec_driver_sql(f"ANALYZE {table}")


# A foreign key clause of a table's CREATE statement as SQLite keeps it (named or not).
_SQLITE_FOREIGN_KEY = re.compile(
    r",\s*(?:CONSTRAINT\s+\"[^\"]*\"\s+)?FOREIGN KEY\s*\([^)]*\)\s*REFERENCES\s+\w+\s*\([^)]*\)"
)


def _rebuild_sqlite_table(conn, table: str, create_sql: str) -> None:
    """SQLite's way to change a table's constraints: a new table from ``create_sql``, the rows
    copied, the old table dropped, the new one renamed, its indexes created again as they
    were (no other table may reference it)."""
    indexes = [sql for (sql,) in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    )]
    columns = ", ".join(row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})"))
    rebuilt = f"{table}_rebuilt"
    conn.exec_driver_sql(
        re.sub(rf"^CREATE TABLE\s+\"?{table}\"?", f"CREATE TABLE {rebuilt}", create_sql)
    )
    conn.exec_driver_sql(f"INSERT INTO {rebuilt} ({columns}) SELECT {columns} FROM {table}")
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(f"ALTER TABLE {rebuilt} RENAME TO {table}")
    for sql in indexes:
        conn.exec_driver_sql(sql)
    analyze_sqlite_table(conn, table)


def _sqlite_create_sql(conn, table: str) -> str:
    return conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()


def drop_foreign_keys(conn, table: str) -> None:
    """For a migration: drop every foreign key of ``table``. PostgreSQL: by their names in the
    catalog. SQLite (which cannot drop a constraint): the table is rebuilt without them."""
    if conn.dialect.name == "postgresql":
        for (name,) in conn.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            (table,),
        ).all():
            quoted = '"' + name.replace('"', '""').replace("%", "%%") + '"'
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quoted}")
        return
    create_sql = _sqlite_create_sql(conn, table)
    without = _SQLITE_FOREIGN_KEY.sub("", create_sql)
    if without != create_sql:
        _rebuild_sqlite_table(conn, table, without)


def add_foreign_keys(conn, table: str, keys: list[tuple[str, list[str], str, list[str]]]) -> None:
    """For a downgrade: give ``table`` the foreign keys ``(name, columns, target table,
    target columns)`` back (SQLite: by rebuilding it with them)."""
    if conn.dialect.name == "postgresql":
        for name, columns, target, target_columns in keys:
            quoted = '"' + name.replace('"', '""').replace("%", "%%") + '"'
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ADD CONSTRAINT {quoted} FOREIGN KEY ({', '.join(columns)})"
                f" REFERENCES {target} ({', '.join(target_columns)})"
            )
        return
    create_sql = _sqlite_create_sql(conn, table).rstrip()
    body, _, tail = create_sql.rpartition(")")  # tail: "" or " WITHOUT ROWID"
    clauses = "".join(
        f", \n\tFOREIGN KEY({', '.join(columns)}) REFERENCES {target}"
        f" ({', '.join(target_columns)})"
        for _, columns, target, target_columns in keys
    )
    _rebuild_sqlite_table(conn, table, body.rstrip() + clauses + "\n)" + tail)
