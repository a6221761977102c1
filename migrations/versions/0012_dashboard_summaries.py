"""dashboard (#13): summary tables (conversations, intent/FAQ/handoff hours, state)

Only the dashboard's own tables: the desk's columns and tables it reads come from
the desk's migration (0009).

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-29 06:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = "0013"
branch_labels = None
depends_on = None

WAIT_BUCKET_COLUMNS = ("wait_le_20", "wait_le_60", "wait_le_180", "wait_le_600", "wait_over_600")


def upgrade() -> None:
    op.create_table(
        'dash_conversations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('started_event_id', sa.BigInteger(), nullable=False),
        sa.Column('last_event_id', sa.BigInteger(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('last_event_at', sa.DateTime(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('customer_key', sa.String(length=300), nullable=False),
        sa.Column('first_intent', sa.String(length=120), nullable=True),
        sa.Column('last_intent', sa.String(length=120), nullable=True),
        sa.Column('user_messages', sa.Integer(), server_default='0', nullable=False),
        sa.Column('fallbacks', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_user_fallback', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('faq_answers', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_faq', sa.String(length=200), nullable=True),
        sa.Column('faq_helpful', sa.Integer(), server_default='0', nullable=False),
        sa.Column('faq_not_helpful', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_feedback', sa.String(length=16), nullable=True),
        sa.Column('handed_over', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('recontacted', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('conversation_id', 'started_event_id', name='uq_dash_conversations_session'),
    )
    op.create_index('ix_dash_conversations_started', 'dash_conversations', ['started_at'])
    op.create_index('ix_dash_conversations_sender', 'dash_conversations', ['conversation_id', 'id'])
    op.create_index('ix_dash_conversations_customer', 'dash_conversations', ['customer_key', 'started_at'])
    op.create_index('ix_dash_conversations_recent', 'dash_conversations', ['last_event_at'])
    op.create_table(
        'dash_intent_hours',
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('intent', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('messages', sa.Integer(), server_default='0', nullable=False),
        sa.Column('fallbacks', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('hour', 'intent', 'channel', 'language'),
    )
    op.create_table(
        'dash_faq_hours',
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('faq', sa.String(length=200), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('shown', sa.Integer(), server_default='0', nullable=False),
        sa.Column('helpful', sa.Integer(), server_default='0', nullable=False),
        sa.Column('not_helpful', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('hour', 'faq', 'channel', 'language'),
    )
    op.create_table(
        'dash_handoff_hours',
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('skill_group', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('agent', sa.String(length=80), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in
          ('offered', 'answered', 'answered_in_sl', 'abandoned', 'cancelled', 'transferred')],
        sa.Column('wait_sum', sa.Float(), nullable=False),
        sa.Column('handle_sum', sa.Float(), nullable=False),
        sa.Column('handled', sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in WAIT_BUCKET_COLUMNS],
        *[sa.Column(f'rating_{n}', sa.Integer(), nullable=False) for n in range(1, 6)],
        sa.PrimaryKeyConstraint('hour', 'skill_group', 'language', 'channel', 'reason', 'agent'),
    )
    op.create_index('ix_dash_handoff_hours_hour', 'dash_handoff_hours', ['hour'])
    op.create_table(
        'dash_state',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('dash_state')
    op.drop_index('ix_dash_handoff_hours_hour', table_name='dash_handoff_hours')
    op.drop_table('dash_handoff_hours')
    op.drop_table('dash_faq_hours')
    op.drop_table('dash_intent_hours')
    for name in ('recent', 'customer', 'sender', 'started'):
        op.drop_index(f'ix_dash_conversations_{name}', table_name='dash_conversations')
    op.drop_table('dash_conversations')
