"""source identity on media files: the device and inode the import saw

Revision ID: 0007
Revises: 0006

The file endpoints and the analysis compare a source's current device and
inode with these, so a file swapped for another (or for a link) after it was
listed is never read or served in its place. NULL for rows made before this
revision and for entries the walk could not stat as a regular file.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dev', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('inode', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_column('inode')
        batch_op.drop_column('dev')
