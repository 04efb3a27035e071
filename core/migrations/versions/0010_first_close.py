"""first close: when each contact's first conversation closed

``contact`` gains ``first_closed_at`` (derived) and a covering index of the columns the
origins table reads, so the cohort of a period is read from the index alone.
:func:`tablero.migrate.upgrade` computes it for every organization when a database crosses
this revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('first_closed_at', sa.BigInteger(), nullable=True))
        batch.create_index('ix_contact_org_created_origin', ['organization_id', 'created_at',
                           'current_group_id', 'origin', 'deleted_at', 'first_contact_at',
                           'first_closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.drop_index('ix_contact_org_created_origin')
        batch.drop_column('first_closed_at')
