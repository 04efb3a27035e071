"""campaign sends: the contact's previous days per status rank and journey

``campaign_send`` gains ``prev_rank1_day`` .. ``prev_rank4_day`` (the contact's previous local
day with a send of that status rank or beyond, any channel) and ``prev_journey_day`` (with a
send of the same journey), and its period index carries them: the part of asOf's day before
asOf then counts its contacts that are first in a window from its own rows, instead of probing
each contact's earlier sends. Derived: :func:`tablero.migrate.upgrade` rebuilds
``campaign_send`` and ``campaign_gap`` for every organization when a database crosses this
revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:40:00
"""
import sqlalchemy as sa
from alembic import op
from tablero.migrate import analyze_sqlite_table

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

PREVIOUS_DAYS = ("prev_rank1_day", "prev_rank2_day", "prev_rank3_day", "prev_rank4_day",
                 "prev_journey_day")
SENT_COLUMNS = ["organization_id", "sent_at", "contact_id", "campaign_id", "journey", "channel",
                "rank", "next_commercial_at", "next_event_at"]


def upgrade() -> None:
    op.drop_index('ix_campaign_send_org_sent', table_name='campaign_send')
    with op.batch_alter_table('campaign_send') as batch:
        for name in PREVIOUS_DAYS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
    op.create_index('ix_campaign_send_org_sent', 'campaign_send',
                    SENT_COLUMNS + list(PREVIOUS_DAYS))
    analyze_sqlite_table(op.get_bind(), 'campaign_send')


def downgrade() -> None:
    op.drop_index('ix_campaign_send_org_sent', table_name='campaign_send')
    with op.batch_alter_table('campaign_send') as batch:
        for name in PREVIOUS_DAYS:
            batch.drop_column(name)
    op.create_index('ix_campaign_send_org_sent', 'campaign_send', SENT_COLUMNS)
