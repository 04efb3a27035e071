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
from alembic import op
from tablero.migrate import add_foreign_keys, drop_foreign_keys

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


def upgrade() -> None:
    drop_foreign_keys(op.get_bind(), "message")


def downgrade() -> None:
    add_foreign_keys(op.get_bind(), "message", [
        *((name, ["organization_id", column], target, ["organization_id", "id"])
          for name, column, target in REFERENCES),
        ("message_organization_id_fkey", ["organization_id"], "organization", ["id"]),
    ])
