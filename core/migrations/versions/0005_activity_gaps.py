"""activity gaps and conversation days: two rollups of contact_activity

``contact_activity`` gains each row's previous day with a commercial and with a support
conversation started, and the day's conversations by sentiment and the support ones by open
status; ``activity_gap`` rolls the rows up per channel, measure, local day, gap since the
previous day (and state), so distinct-contact counts over a window read a few rows per day, and
``conversation_day`` sums the conversation counts per channel and day. All are derived:
:func:`tablero.migrate.upgrade` computes them for every organization when a database crosses
this revision.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_ACTIVITY_INCLUDE = [
    'contact_id', 'messages', 'outbound', 'campaign', 'commercial', 'support', 'state', 'deleted',
    'prev_day', 'prev_outbound_day', 'prev_campaign_day',
]


_COUNTS = ['positive', 'neutral', 'negative', 'support_new', 'support_waiting',
           'support_in_progress']


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), autoincrement=False, nullable=False)


def _activity_index(include: list[str]) -> None:
    if op.get_context().dialect.name == 'postgresql':
        op.create_index('ix_contact_activity_pg_days', 'contact_activity',
                        ['organization_id', 'channel', 'day'], unique=False,
                        postgresql_include=include)


def upgrade() -> None:
    with op.batch_alter_table('contact_activity') as batch:
        batch.add_column(sa.Column('prev_commercial_day', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('prev_support_day', sa.Integer(), nullable=True))
        for name in _COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
    if op.get_context().dialect.name == 'postgresql':
        op.drop_index('ix_contact_activity_pg_days', table_name='contact_activity')
        _activity_index(_ACTIVITY_INCLUDE + ['prev_commercial_day', 'prev_support_day'])
    op.create_table('activity_gap',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    _key('measure'), _key('day'), _key('gap'),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    sa.Column('live', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'channel', 'measure', 'day', 'gap', 'state'),
    sqlite_with_rowid=False
    )
    if op.get_context().dialect.name == 'postgresql':
        op.create_index('ix_activity_gap_pg_days', 'activity_gap',
                        ['organization_id', 'channel', 'measure', 'day', 'gap', 'state'],
                        unique=False, postgresql_include=['contacts', 'live', 'amount'])
    op.create_table('conversation_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    _key('day'),
    *[sa.Column(name, sa.BigInteger(), nullable=False)
      for name in ['commercial', 'support', *_COUNTS]],
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'channel', 'day'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('conversation_day')
    op.drop_table('activity_gap')
    if op.get_context().dialect.name == 'postgresql':
        op.drop_index('ix_contact_activity_pg_days', table_name='contact_activity')
        _activity_index(_ACTIVITY_INCLUDE)
    with op.batch_alter_table('contact_activity') as batch:
        for name in reversed(_COUNTS):
            batch.drop_column(name)
        batch.drop_column('prev_support_day')
        batch.drop_column('prev_commercial_day')
