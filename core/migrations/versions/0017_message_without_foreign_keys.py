"""message rows without database foreign keys

``message`` (about nine rows in ten of what arrives) drops its five foreign keys (organization,
contact, conversation, advisor, campaign). On PostgreSQL each one was a trigger run for every
inserted row, a lookup in the referenced table: half of the time of storing a chunk of the
medium demo set (27 s -> 14 s per 300,000 lines, measured). The references stay checked where
they always were first: ingestion resolves every reference of a batch within the organization
(under its lock) and rejects the batch when one points at nothing (``tests/test_ingest.py``);
records are never deleted. SQLite never enforced them (``PRAGMA foreign_keys`` is off); there
the table is rebuilt without them (its rows, its indexes as they are), so both databases hold
the same schema as the models. The other tables keep theirs. No derived facts change.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 15:50:00
"""
import re

from alembic import op
from tablero.migrate import analyze_sqlite_table

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# (constraint name as 0001 created it, its column, the referenced table)
REFERENCES = (
    ("fk_%(table_name)s_contact_id", "contact_id", "contact"),
    ("fk_%(table_name)s_conversation_id", "conversation_id", "conversation"),
    ("fk_%(table_name)s_advisor_id", "advisor_id", "app_user"),
    ("fk_%(table_name)s_campaign_id", "campaign_id", "campaign"),
)
_SQLITE_FOREIGN_KEY = re.compile(
    r",\s*(?:CONSTRAINT\s+\"[^\"]*\"\s+)?FOREIGN KEY\s*\([^)]*\)\s*REFERENCES\s+\w+\s*\([^)]*\)"
)


def _rebuild_sqlite_message(bind, create_sql: str) -> None:
    """SQLite's way to change a table's constraints: a new table from ``create_sql``, the rows
    copied, the old table dropped, the new one renamed, the indexes created again as they
    were."""
    indexes = [sql for (sql,) in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'"
        " AND sql IS NOT NULL"
    )]
    columns = ", ".join(row[1] for row in bind.exec_driver_sql("PRAGMA table_info(message)"))
    new_sql = re.sub(r"^CREATE TABLE\s+\"?message\"?", "CREATE TABLE message_rebuilt", create_sql)
    bind.exec_driver_sql(new_sql)
    bind.exec_driver_sql(
        f"INSERT INTO message_rebuilt ({columns}) SELECT {columns} FROM message"
    )
    bind.exec_driver_sql("DROP TABLE message")
    bind.exec_driver_sql("ALTER TABLE message_rebuilt RENAME TO message")
    for sql in indexes:
        bind.exec_driver_sql(sql)
    analyze_sqlite_table(bind, "message")


def _sqlite_create_sql(bind) -> str:
    return bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'message'"
    ).scalar()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for (name,) in bind.exec_driver_sql(
            "SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'message'::regclass AND contype = 'f'"
        ).all():
            quoted = '"' + name.replace('"', '""').replace("%", "%%") + '"'
            bind.exec_driver_sql(f"ALTER TABLE message DROP CONSTRAINT {quoted}")
        return
    create_sql = _sqlite_create_sql(bind)
    without = _SQLITE_FOREIGN_KEY.sub("", create_sql)
    if without != create_sql:
        _rebuild_sqlite_message(bind, without)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_foreign_key(
            "message_organization_id_fkey", "message", "organization",
            ["organization_id"], ["id"],
        )
        for name, column, target in REFERENCES:
            op.create_foreign_key(
                name.replace("%(table_name)s", "message"), "message", target,
                ["organization_id", column], ["organization_id", "id"],
            )
        return
    create_sql = _sqlite_create_sql(bind).rstrip()
    assert create_sql.endswith(")")
    clauses = "".join(
        f", \n\tFOREIGN KEY(organization_id, {column}) REFERENCES {target} (organization_id, id)"
        for _, column, target in REFERENCES
    ) + ", \n\tFOREIGN KEY(organization_id) REFERENCES organization (id)"
    _rebuild_sqlite_message(bind, create_sql[:-1].rstrip() + clauses + "\n)")
