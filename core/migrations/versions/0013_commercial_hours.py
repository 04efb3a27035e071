"""commercial hours: conversation_hour counts the commercial conversations too

``conversation_hour`` gains ``commercial`` (the commercial conversations started per channel and
local hour) and ``conversation`` the kind it was counted under (``counted_kind``), so the
contacts behaviour panel's commercial heatmap reads a row per hour. Derived:
:func:`tablero.migrate.upgrade` rebuilds ``conversation_hour`` for every organization when a
database crosses this revision.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('counted_kind', sa.String(), nullable=True))
    with op.batch_alter_table('conversation_hour') as batch:
        batch.add_column(sa.Column('commercial', sa.BigInteger(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('conversation_hour') as batch:
        batch.drop_column('commercial')
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('counted_kind')
