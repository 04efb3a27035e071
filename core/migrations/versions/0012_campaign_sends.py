"""campaign sends: each campaign message with its contact's next commercial conversation and
order, and their gaps rollup

``campaign_send`` holds one row per campaign message (outbound, with a campaign): its contact,
campaign, channel and status, and when that contact next started a commercial conversation and
next placed an order at or after it. The message and journey funnels read it through one
covering index by period; ``campaign_gap`` counts each contact's days with sends per status
rank and journey (the funnels' distinct contacts per level without reading the sends).
Derived: :func:`tablero.migrate.upgrade` rebuilds both for every organization when a database
crosses this revision.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_send',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('journey', sa.String(), nullable=True),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('next_commercial_at', sa.BigInteger(), nullable=True),
    sa.Column('next_order_at', sa.BigInteger(), nullable=True),
    sa.Column('next_event_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'message_id'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_campaign_send_org_contact', 'campaign_send',
                    ['organization_id', 'contact_id', 'sent_at', 'rank', 'channel', 'journey'],
                    unique=False)
    op.create_index('ix_campaign_send_org_sent', 'campaign_send',
                    ['organization_id', 'sent_at', 'contact_id', 'campaign_id', 'journey',
                     'channel', 'rank', 'next_commercial_at', 'next_event_at'], unique=False)
    op.create_table('campaign_gap',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('track', sa.String(), nullable=False),
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('gap', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'channel', 'track', 'day', 'gap'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('campaign_gap')
    op.drop_index('ix_campaign_send_org_sent', table_name='campaign_send')
    op.drop_index('ix_campaign_send_org_contact', table_name='campaign_send')
    op.drop_table('campaign_send')
