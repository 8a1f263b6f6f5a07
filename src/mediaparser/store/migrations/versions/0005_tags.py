"""tags

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:56:29.517317
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('file_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['media_files.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_id', 'tag_id', name='uq_file_tags_file_tag')
    )
    with op.batch_alter_table('file_tags', schema=None) as batch_op:
        batch_op.create_index('ix_file_tags_tag', ['tag_id', 'file_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('file_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_file_tags_tag')

    op.drop_table('file_tags')
    op.drop_table('tags')
