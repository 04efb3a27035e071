"""response buckets: the response-time histogram

``response_interval`` gains the answer's local ``day`` and the duration buckets of its two
durations (indexed, so a median reads only its middle bucket's values); ``response_bucket``
counts the intervals per measure, day, channel and bucket. All derived:
:func:`tablero.migrate.upgrade` computes them for every organization when a database crosses
this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('response_interval') as batch:
        batch.add_column(sa.Column('day', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('business_bucket', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('calendar_bucket', sa.Integer(), nullable=True))
        batch.create_index('ix_response_interval_business', ['organization_id', 'business_bucket',
                           'answered_at', 'channel', 'business_s'], unique=False)
        batch.create_index('ix_response_interval_calendar', ['organization_id', 'calendar_bucket',
                           'answered_at', 'channel', 'calendar_s'], unique=False)
    op.create_table('response_bucket',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    _key('measure'), _key('day'),
    sa.Column('channel', sa.String(), nullable=False),
    _key('bucket'),
    sa.Column('answers', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'measure', 'day', 'channel', 'bucket'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('response_bucket')
    with op.batch_alter_table('response_interval') as batch:
        batch.drop_index('ix_response_interval_calendar')
        batch.drop_index('ix_response_interval_business')
        batch.drop_column('calendar_bucket')
        batch.drop_column('business_bucket')
        batch.drop_column('day')
