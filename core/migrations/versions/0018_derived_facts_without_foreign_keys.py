"""derived facts without database foreign keys

The twenty tables a refresh writes (``tablero.derived``: the contact activity, the response
intervals, the close facts, the order facts, the campaign sends and every rollup) drop their
foreign keys (their organization, and the contact or conversation of five of them). They are a
cache of the records, written only by the refresh from rows it has just read; on PostgreSQL
each key was a trigger and a lookup per written row: the contact activity of 20,000 contacts
of the medium demo set took 21 s with them and 13 s without (measured). SQLite never enforced
them; there each table is rebuilt without them (rows and indexes as they are). No derived facts
change.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 16:10:00
"""
from alembic import op
from tablero.migrate import add_foreign_keys, drop_foreign_keys

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

DERIVED_TABLES = (
    "close_fact", "reason_close_day", "reason_close_bucket", "contact_activity", "contact_day",
    "activity_gap", "conversation_day", "customer_orders", "order_day", "customer_cell",
    "order_day_total", "buyer_day", "response_interval", "response_bucket",
    "first_response_bucket", "interaction", "interaction_day", "conversation_hour",
    "campaign_send", "campaign_gap",
)
# the tenant-leading references besides the organization's, as the earlier revisions made them
REFERENCES = {
    "close_fact": ("contact_id", "contact"),
    "contact_activity": ("contact_id", "contact"),
    "customer_orders": ("contact_id", "contact"),
    "order_day": ("contact_id", "contact"),
    "response_interval": ("conversation_id", "conversation"),
}


def upgrade() -> None:
    for table in DERIVED_TABLES:
        drop_foreign_keys(op.get_bind(), table)


def downgrade() -> None:
    for table in DERIVED_TABLES:
        keys = [(f"{table}_organization_id_fkey", ["organization_id"], "organization", ["id"])]
        if table in REFERENCES:
            column, target = REFERENCES[table]
            keys.insert(0, (f"fk_%(table_name)s_{column}", ["organization_id", column], target,
                            ["organization_id", "id"]))
        add_foreign_keys(op.get_bind(), table, keys)
