"""stacks: files that belong together (Live Photo, RAW+JPEG, burst, edited copy) and the facts that pair them

Revision ID: 0010
Revises: 0009

A stack is a handful of files the review shows as one tile and the export
names together. media_files.stack_id is the id of the stack's lead file (the
lead's own id on the lead; NULL outside any stack); stack_kind says which
kind of stack ('live', 'raw_jpeg', 'burst', 'edited') and stack_role the
member's part in it ('still', 'clip', 'raw', 'jpeg', 'cover', 'frame',
'original', 'edited').

The facts the pairing reads, written by the analysis: content_id (Apple's
ContentIdentifier of a Live Photo's still and clip), burst_id (Apple's
BurstUUID, or a burst name's key) and motion_offset (the byte offset of the
video appended to a Samsung/Google Motion Photo; NULL when there is none).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stack_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stack_kind', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('stack_role', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('content_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('burst_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('motion_offset', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_media_files_stack_id', ['stack_id'])
        batch_op.create_index('ix_media_files_content_id', ['content_id'])
        batch_op.create_index('ix_media_files_burst_id', ['burst_id'])


def downgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_index('ix_media_files_burst_id')
        batch_op.drop_index('ix_media_files_content_id')
        batch_op.drop_index('ix_media_files_stack_id')
        for name in ('motion_offset', 'burst_id', 'content_id', 'stack_role', 'stack_kind', 'stack_id'):
            batch_op.drop_column(name)
