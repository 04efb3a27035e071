"""conversation hours: conversations started per channel and local hour

``conversation`` gains ``started_hour`` and ``counted_channel`` (derived copies of what is
counted); ``conversation_hour`` counts the conversations per channel (and over every channel)
and local hour, so the busiest-hours heatmap reads a row per hour. Derived:
:func:`tablero.migrate.upgrade` computes them for every organization when a database crosses
this revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('started_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('counted_channel', sa.String(), nullable=True))
    op.create_table('conversation_hour',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('hour', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('conversations', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'channel', 'hour'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('conversation_hour')
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('counted_channel')
        batch.drop_column('started_hour')
