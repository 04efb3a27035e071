"""close facts: each closed conversation's row, local day, previous close and duration buckets

``close_fact`` holds, per conversation closed with a row of the resolution table, its row, local
close day, the contact's previous close day in that row and the buckets of its times to close;
``reason_close_day`` and ``reason_close_bucket`` roll them up per day. All three are derived:
:func:`tablero.migrate.upgrade` computes them for every organization when a database crosses
this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table('close_fact',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('conversation_id'),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('row_key', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('prev_day', sa.Integer(), nullable=False),
    sa.Column('prev_closed_day', sa.Integer(), nullable=True),
    sa.Column('close_business_s', sa.BigInteger(), nullable=True),
    sa.Column('close_calendar_s', sa.BigInteger(), nullable=True),
    sa.Column('business_bucket', sa.Integer(), nullable=True),
    sa.Column('calendar_bucket', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id', 'contact_id'], ['contact.organization_id', 'contact.id'], name='fk_%(table_name)s_contact_id'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'conversation_id'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_close_fact_contact', 'close_fact', ['organization_id', 'contact_id'], unique=False)
    op.create_index('ix_close_fact_business', 'close_fact', ['organization_id', 'row_key', 'business_bucket', 'day', 'close_business_s'], unique=False)
    op.create_index('ix_close_fact_calendar', 'close_fact', ['organization_id', 'row_key', 'calendar_bucket', 'day', 'close_calendar_s'], unique=False)
    op.create_table('reason_close_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('day'), _key('row_key'), _key('prev_day'),
    sa.Column('conversations', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'day', 'row_key', 'prev_day'),
    sqlite_with_rowid=False
    )
    op.create_table('reason_close_bucket',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('measure'), _key('day'), _key('row_key'), _key('bucket'),
    sa.Column('conversations', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'measure', 'day', 'row_key', 'bucket'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('reason_close_bucket')
    op.drop_table('reason_close_day')
    op.drop_index('ix_close_fact_calendar', table_name='close_fact')
    op.drop_index('ix_close_fact_business', table_name='close_fact')
    op.drop_index('ix_close_fact_contact', table_name='close_fact')
    op.drop_table('close_fact')
