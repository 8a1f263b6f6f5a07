"""duplicate groups, rotated hashes and the export manifest

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 14:40:16.424458
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dup_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('representative_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('confidence_label', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['representative_id'], ['media_files.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'representative_id', name='uq_dup_groups_kind_rep')
    )
    with op.batch_alter_table('dup_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dup_groups_status'), ['status'], unique=False)

    op.create_table('manifest_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('export_job_id', sa.Integer(), nullable=True),
    sa.Column('source_path', sa.Text(), nullable=False),
    sa.Column('output_root', sa.Text(), nullable=False),
    sa.Column('destination', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('captured_at', sa.DateTime(), nullable=True),
    sa.Column('utc_offset', sa.Integer(), nullable=True),
    sa.Column('time_source', sa.String(length=64), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('exported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['export_job_id'], ['jobs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['file_id'], ['media_files.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('manifest_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_entries_sha256'), ['sha256'], unique=False)

    op.create_table('dup_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('phash_distance', sa.Integer(), nullable=False),
    sa.Column('dhash_distance', sa.Integer(), nullable=False),
    sa.Column('rotation', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['media_files.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['dup_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'file_id', name='uq_dup_members_group_file')
    )
    with op.batch_alter_table('dup_members', schema=None) as batch_op:
        batch_op.create_index('ix_dup_members_file', ['file_id'], unique=False)

    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phash90', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('dhash90', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('phash180', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('dhash180', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('has_gps', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('bit_depth', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grouped', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('similar_group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_media_files_similar_group_id'), ['similar_group_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_files_similar_group_id'))
        batch_op.drop_column('similar_group_id')
        batch_op.drop_column('grouped')
        batch_op.drop_column('bit_depth')
        batch_op.drop_column('has_gps')
        batch_op.drop_column('dhash180')
        batch_op.drop_column('phash180')
        batch_op.drop_column('dhash90')
        batch_op.drop_column('phash90')

    with op.batch_alter_table('dup_members', schema=None) as batch_op:
        batch_op.drop_index('ix_dup_members_file')

    op.drop_table('dup_members')
    with op.batch_alter_table('manifest_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_entries_sha256'))

    op.drop_table('manifest_entries')
    with op.batch_alter_table('dup_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dup_groups_status'))

    op.drop_table('dup_groups')
