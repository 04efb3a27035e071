"""Schema migrations (Alembic), applied by ``tablero db upgrade`` and at server start."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from .db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Revisions that add derived facts an existing database must compute once.
_FACTS_ADDED_BY = (
    "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012",
)


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
    contact days) gets them computed (a whole refresh of each organization), so reports read
    complete facts at once. The organizations
    are first marked (``refreshed_at`` null) and each is unmarked by its own refresh, so an
    upgrade interrupted half-way finishes the remaining organizations the next time it runs
    (at the next server start or ``tablero db upgrade``).
    """
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    after = current_revision(url) or ""
    crossed = before is not None and any(before < rev <= after for rev in _FACTS_ADDED_BY)
    if after < _FACTS_ADDED_BY[0]:
        return  # an old revision: no refreshed_at-driven facts yet
    from . import derived
    from .db import Database

    db = Database(url)
    try:
        if crossed:
            db.write(lambda conn: conn.execute(text("UPDATE organization SET refreshed_at = NULL")))
        pending = db.read(
            lambda conn: conn.execute(
                text("SELECT id, key FROM organization WHERE refreshed_at IS NULL ORDER BY id")
            ).all()
        )
        for org_id, key in pending:
            try:
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
