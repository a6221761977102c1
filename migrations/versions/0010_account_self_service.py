"""accounts self-service: one-time login codes, plans, bills with line items, usage, payments, orders, fault tickets, plan changes; VIP tier

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('acct_customers') as batch:
        batch.add_column(sa.Column('plan_code', sa.String(length=32), server_default='', nullable=False))
        batch.add_column(sa.Column('vip_tier', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'acct_plans',
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('name_en', sa.String(length=120), nullable=False),
        sa.Column('monthly_fee_cents', sa.Integer(), nullable=False),
        sa.Column('data_mb', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_table(
        'acct_bills',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('total_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['acct_customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('customer_id', 'period', name='uq_acct_bills_customer_period'),
    )
    op.create_table(
        'acct_bill_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bill_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['bill_id'], ['acct_bills.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_acct_bill_lines_bill_id', 'acct_bill_lines', ['bill_id'])
    op.create_table(
        'acct_usage',
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('data_used_mb', sa.Integer(), nullable=False),
        sa.Column('data_total_mb', sa.Integer(), nullable=False),
        sa.Column('minutes_used', sa.Integer(), nullable=False),
        sa.Column('minutes_total', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['acct_customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_id'),
    )
    for name, columns in (
        ('acct_payments', [
            sa.Column('amount_cents', sa.Integer(), nullable=False),
            sa.Column('currency', sa.String(length=3), nullable=False),
            sa.Column('method', sa.String(length=16), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False)]),
        ('acct_orders', [
            sa.Column('item', sa.String(length=120), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('carrier', sa.String(length=40), server_default='', nullable=False),
            sa.Column('tracking_no', sa.String(length=40), server_default='', nullable=False),
            sa.Column('placed_at', sa.DateTime(), nullable=False),
            sa.Column('eta', sa.Date(), nullable=True)]),
        ('acct_tickets', [
            sa.Column('what', sa.Text(), nullable=False),
            sa.Column('location', sa.Text(), nullable=False),
            sa.Column('since', sa.Text(), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('request_key', sa.String(length=80), nullable=True, unique=True)]),
        ('acct_login_codes', [
            sa.Column('code_hash', sa.String(length=200), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('expires_at', sa.DateTime(), nullable=False),
            sa.Column('used_at', sa.DateTime(), nullable=True)]),
        ('acct_plan_changes', [
            sa.Column('from_plan', sa.String(length=32), nullable=False),
            sa.Column('to_plan', sa.String(length=32), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('request_key', sa.String(length=80), nullable=False, unique=True)]),
    ):
        op.create_table(
            name,
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('customer_id', sa.Integer(), nullable=False),
            *columns,
            sa.ForeignKeyConstraint(['customer_id'], ['acct_customers.id'], ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id'),
        )
        op.create_index(f'ix_{name}_customer_id', name, ['customer_id'])


def downgrade() -> None:
    for name in ('acct_plan_changes', 'acct_login_codes', 'acct_tickets', 'acct_orders', 'acct_payments'):
        op.drop_index(f'ix_{name}_customer_id', table_name=name)
        op.drop_table(name)
    op.drop_table('acct_usage')
    op.drop_index('ix_acct_bill_lines_bill_id', table_name='acct_bill_lines')
    op.drop_table('acct_bill_lines')
    op.drop_table('acct_bills')
    op.drop_table('acct_plans')
    with op.batch_alter_table('acct_customers') as batch:
        batch.drop_column('vip_tier')
        batch.drop_column('plan_code')
