"""export items and the archive copy's own hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:10:57.219938
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('destination', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('final_sha256', sa.String(length=64), nullable=True),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['media_files.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'file_id', name='uq_export_items_job_file')
    )
    with op.batch_alter_table('export_items', schema=None) as batch_op:
        batch_op.create_index('ix_export_items_job_status', ['job_id', 'status', 'id'], unique=False)

    with op.batch_alter_table('manifest_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('final_sha256', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('manifest_entries', schema=None) as batch_op:
        batch_op.drop_column('final_sha256')

    with op.batch_alter_table('export_items', schema=None) as batch_op:
        batch_op.drop_index('ix_export_items_job_status')

    op.drop_table('export_items')
