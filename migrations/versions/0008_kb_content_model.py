"""knowledge base: status, category, skill group, tags; version history; content version; feedback

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-29 03:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kb_faqs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='published', nullable=False))
        batch_op.add_column(sa.Column('category', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('skill_group', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tags', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('changed_in', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_kb_faqs_changed_in', ['changed_in'], unique=False)
    op.create_table(
        'kb_faq_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('faq_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.Column('saved_by', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['faq_id'], ['kb_faqs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('faq_id', 'version', name='uq_kb_faq_versions_faq_version'),
    )
    op.create_table(
        'kb_faq_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('faq_id', sa.Integer(), nullable=False),
        sa.Column('helpful', sa.Boolean(), nullable=False),
        sa.Column('conversation_id', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['faq_id'], ['kb_faqs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('kb_faq_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_kb_faq_feedback_faq_id', ['faq_id'], unique=False)
    content_version = op.create_table(
        'kb_content_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(content_version, [{'id': 1, 'version': 1}])


def downgrade() -> None:
    op.drop_table('kb_content_version')
    op.drop_table('kb_faq_feedback')
    op.drop_table('kb_faq_versions')
    with op.batch_alter_table('kb_faqs', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_faqs_changed_in')
        batch_op.drop_column('changed_in')
        batch_op.drop_column('tags')
        batch_op.drop_column('skill_group')
        batch_op.drop_column('category')
        batch_op.drop_column('status')
