"""message loses ``ix_message_org_campaign``

``ix_message_org_campaign`` ``(organization_id, campaign_id, contact_id)`` held every message,
two thirds of them with no campaign, and nothing needed it: the reports read campaign messages
by time through the partial ``ix_message_org_campaign_sends`` (``pg_stat_user_indexes`` after
every panel query of ``bench/run.py`` on the medium set: no scan of it), and a refresh's
campaign sends read a range of contacts as fast through ``ix_message_org_contact`` (medium set,
20,000 contacts: PostgreSQL 5.1-5.5 s without it, 5.8-6.9 s with it; SQLite 5.4-5.9 s either
way). Keeping it up cost every message written: 509,100 messages inserted into an empty table
took 9.0-9.5 s with it and 6.4-6.9 s without it on PostgreSQL, 7.2-8.1 s and 5.7-6.1 s on
SQLite. An index only: no derived facts change.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 21:10:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_message_org_campaign', table_name='message')


def downgrade() -> None:
    op.create_index(
        'ix_message_org_campaign', 'message', ['organization_id', 'campaign_id', 'contact_id']
    )
