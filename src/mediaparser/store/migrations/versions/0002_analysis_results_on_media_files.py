"""analysis results on media files

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 14:08:16.532824
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('extension', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('extension_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duration', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('make', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('model', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('orientation', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('captured_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('utc_offset', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offset_assumed', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('precision', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('time_source', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confidence', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('candidates', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('phash', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('dhash', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('low_detail', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('thumbnail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sidecars', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=True))
        batch_op.create_index('ix_media_files_captured', ['captured_at', 'id'], unique=False)
        batch_op.create_index('ix_media_files_confidence', ['confidence'], unique=False)
        batch_op.create_index('ix_media_files_path', ['source_path', 'size'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_index('ix_media_files_path')
        batch_op.drop_index('ix_media_files_confidence')
        batch_op.drop_index('ix_media_files_captured')
        batch_op.drop_column('warnings')
        batch_op.drop_column('sidecars')
        batch_op.drop_column('thumbnail')
        batch_op.drop_column('low_detail')
        batch_op.drop_column('detail')
        batch_op.drop_column('dhash')
        batch_op.drop_column('phash')
        batch_op.drop_column('candidates')
        batch_op.drop_column('reasons')
        batch_op.drop_column('confidence')
        batch_op.drop_column('time_source')
        batch_op.drop_column('precision')
        batch_op.drop_column('offset_assumed')
        batch_op.drop_column('utc_offset')
        batch_op.drop_column('captured_at')
        batch_op.drop_column('orientation')
        batch_op.drop_column('model')
        batch_op.drop_column('make')
        batch_op.drop_column('duration')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('extension_ok')
        batch_op.drop_column('extension')
        batch_op.drop_column('kind')

