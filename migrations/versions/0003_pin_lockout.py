"""wrong-PIN counter and lock per customer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('acct_customers') as batch:
        batch.add_column(sa.Column('failed_pin_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('acct_customers') as batch:
        batch.drop_column('locked_until')
        batch.drop_column('failed_pin_attempts')
