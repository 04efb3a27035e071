"""message time index carries the direction

``ix_message_org_sent`` becomes ``(organization_id, sent_at, contact_id, direction)``: the
reports' reads of the part of a day before asOf (outbound messages counted, their contacts
listed) are then answered from the index alone, without a row lookup per message. An index
only: no derived facts change.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:40:00
"""
from alembic import op
from tablero.migrate import analyze_sqlite_table


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_message_org_sent', table_name='message')
    op.create_index(
        'ix_message_org_sent', 'message', ['organization_id', 'sent_at', 'contact_id', 'direction']
    )
    analyze_sqlite_table(op.get_bind(), 'message')


def downgrade() -> None:
    op.drop_index('ix_message_org_sent', table_name='message')
    op.create_index('ix_message_org_sent', 'message', ['organization_id', 'sent_at', 'contact_id'])
