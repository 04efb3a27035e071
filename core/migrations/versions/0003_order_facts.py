"""order facts: customer_orders by local day, order_day and the rollups

``customer_orders`` gains the last order's local day and a copy of the contact's deletion (and
a partial index of the contacts with several currencies), rolled up per cell in
``customer_cell``; ``order_day`` holds each contact's orders per local day and currency with its
next order day, and ``order_day_total`` / ``buyer_day`` roll them up per day. All five are
derived: :func:`tablero.migrate.upgrade` recomputes them for every
organization when a database crosses this revision.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _customer_orders(with_days: bool) -> None:
    columns = [
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('frequency', sa.Integer(), nullable=False),
        sa.Column('last_order_at', sa.BigInteger(), nullable=False),
    ]
    if with_days:
        columns.append(sa.Column('last_day', sa.Integer(), nullable=False))
    columns += [
        sa.Column('total_e4', sa.BigInteger(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('other_currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    ]
    if with_days:
        columns.append(sa.Column('deleted', sa.Boolean(), nullable=False))
    op.create_table('customer_orders', *columns,
        sa.ForeignKeyConstraint(['organization_id', 'contact_id'], ['contact.organization_id', 'contact.id'], name='fk_%(table_name)s_contact_id'),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
        sa.PrimaryKeyConstraint('organization_id', 'contact_id')
    )
    if with_days:
        op.create_index('ix_customer_orders_mixed', 'customer_orders', ['organization_id', 'deleted', 'contact_id'], unique=False, sqlite_where=sa.text('currency <> other_currency'), postgresql_where=sa.text('currency <> other_currency'))


def upgrade() -> None:
    # derived rows: dropped and recreated, then recomputed by tablero.migrate.upgrade
    op.drop_table('customer_orders')
    _customer_orders(with_days=True)
    op.create_table('order_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue_e4', sa.BigInteger(), nullable=False),
    sa.Column('next_day', sa.Integer(), nullable=False),
    sa.Column('first_currency', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'contact_id'], ['contact.organization_id', 'contact.id'], name='fk_%(table_name)s_contact_id'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'contact_id', 'day', 'currency'),
    sqlite_with_rowid=False
    )
    op.create_table('customer_cell',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('frequency', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('contacts', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('revenue_e4', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'last_day', 'frequency', 'currency'),
    sqlite_with_rowid=False
    )
    op.create_table('order_day_total',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('revenue_e4', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'day', 'currency'),
    sqlite_with_rowid=False
    )
    op.create_table('buyer_day',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('next_day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('buyers', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('organization_id', 'day', 'next_day'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('buyer_day')
    op.drop_table('order_day_total')
    op.drop_table('customer_cell')
    op.drop_table('order_day')
    op.drop_index('ix_customer_orders_mixed', table_name='customer_orders')
    op.drop_table('customer_orders')
    _customer_orders(with_days=False)
