"""interactions: each contact's distinct (day, advisor, channel) with an effective contact

``interaction`` holds them per contact; ``interaction_day`` counts them per channel (and over
every channel) and local day. Both derived: :func:`tablero.migrate.upgrade` computes them for
every organization when a database crosses this revision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table('interaction',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('contact_id'), _key('day'), _key('advisor_id'),
    sa.Column('channel', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'contact_id', 'day', 'advisor_id', 'channel'),
    sqlite_with_rowid=False
    )
    op.create_table('interaction_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    _key('day'),
    sa.Column('interactions', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'channel', 'day'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('interaction_day')
    op.drop_table('interaction')
