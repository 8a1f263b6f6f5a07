"""google takeout: what a photo's Takeout JSON says, and its Trash/Archive/locked flag

Revision ID: 0011
Revises: 0010

media_files.takeout holds the facts of the file's Google Takeout data
(media/takeout.py `takeout_facts`: the JSON's name, photoTakenTime, place,
flags, album title, people), NULL for files that have none. takeout_flag is
the one flag the review filters by: 'locked', 'trash' or 'archive' (NULL for
the rest).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('takeout', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('takeout_flag', sa.String(length=12), nullable=True))
        batch_op.create_index('ix_media_files_takeout_flag', ['takeout_flag'])


def downgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_index('ix_media_files_takeout_flag')
        batch_op.drop_column('takeout_flag')
        batch_op.drop_column('takeout')
