"""contact days: each contact's local days of creation and deletion, and their rollup

``contact`` gains ``created_day`` and ``deleted_day`` (local days, derived); ``contact_day``
counts the contacts per pair, so the contact base at an instant reads a few hundred rows. Both
are derived: :func:`tablero.migrate.upgrade` computes them for every organization when a
database crosses this revision.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('created_day', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('deleted_day', sa.Integer(), nullable=True))
    op.create_table('contact_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('created_day'), _key('deleted_day'),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'created_day', 'deleted_day'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('contact_day')
    with op.batch_alter_table('contact') as batch:
        batch.drop_column('deleted_day')
        batch.drop_column('created_day')
