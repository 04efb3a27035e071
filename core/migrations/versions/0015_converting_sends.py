"""campaign sends: a partial covering index of the sends that can convert

``ix_campaign_send_org_converting`` holds the campaign sends that were clicked or replied or
were followed by a conversion (commercial conversation or order) within 90 days, the longest
attribution window: the message funnel's converted level and the journey funnel's converted
contacts read those (about 40 % of the sends in the demo data) instead of every send
of the period. An index only: no derived facts change.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 06:45:00
"""
from alembic import op
from tablero.migrate import analyze_sqlite_table
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# tablero.models.CONVERTING_SENDS when this revision was written
CONVERTING_SENDS = "(rank >= 4 OR next_event_at <= sent_at + 7776000)"


def upgrade() -> None:
    op.create_index(
        'ix_campaign_send_org_converting', 'campaign_send',
        ['organization_id', 'sent_at', 'contact_id', 'journey', 'channel', 'rank',
         'next_commercial_at', 'next_event_at'],
        sqlite_where=sa.text(CONVERTING_SENDS),
        postgresql_where=sa.text(CONVERTING_SENDS),
    )
    analyze_sqlite_table(op.get_bind(), 'campaign_send')


def downgrade() -> None:
    op.drop_index('ix_campaign_send_org_converting', table_name='campaign_send')
