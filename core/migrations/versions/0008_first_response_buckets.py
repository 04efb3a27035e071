"""first-response buckets: the first-response histogram

``contact`` gains the duration buckets of its two first-response durations (indexed with the
creation instant, so a median reads only its middle bucket's values, and by first contact, so a
past asOf can take out the contacts answered after it); ``first_response_bucket`` counts the
answered contacts per measure, day of creation and bucket. All derived:
:func:`tablero.migrate.upgrade` computes them for every organization when a database crosses
this revision.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('first_business_bucket', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('first_calendar_bucket', sa.Integer(), nullable=True))
        batch.create_index('ix_contact_first_business', ['organization_id',
                           'first_business_bucket', 'created_at', 'first_contact_at',
                           'first_contact_business_s'], unique=False)
        batch.create_index('ix_contact_first_calendar', ['organization_id',
                           'first_calendar_bucket', 'created_at', 'first_contact_at',
                           'first_contact_calendar_s'], unique=False)
        batch.create_index('ix_contact_org_first_contact', ['organization_id',
                           'first_contact_at', 'created_at', 'first_business_bucket',
                           'first_calendar_bucket'], unique=False)
    op.create_table('first_response_bucket',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('measure'), _key('created_day'), _key('bucket'),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'measure', 'created_day', 'bucket'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('first_response_bucket')
    with op.batch_alter_table('contact') as batch:
        batch.drop_index('ix_contact_org_first_contact')
        batch.drop_index('ix_contact_first_calendar')
        batch.drop_index('ix_contact_first_business')
        batch.drop_column('first_calendar_bucket')
        batch.drop_column('first_business_bucket')
