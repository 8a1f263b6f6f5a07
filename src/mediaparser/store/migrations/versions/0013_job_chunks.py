"""job_chunks: a job split into pieces any worker takes, each with its own lease

Revision ID: 0013
Revises: 0012

runtime/chunks.py says how chunked jobs work. A row is one work chunk (a range
of the job's item ids) or the job's one final chunk (the step that needs every
item), with the lease columns a job row has (lease_owner, heartbeat_at,
attempts) one level down, its own counts, and who committed it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job_chunks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('job_id', sa.Integer(), sa.ForeignKey('jobs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=True),
        sa.Column('last_id', sa.Integer(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('done_count', sa.Integer(), nullable=False),
        sa.Column('error_count', sa.Integer(), nullable=False),
        sa.Column('committed_by', sa.String(length=128), nullable=True),
        sa.Column('available_at', sa.DateTime(), nullable=True),
        sa.Column('enqueued_at', sa.DateTime(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.UniqueConstraint('job_id', 'seq', name='uq_job_chunks_job_seq'),
    )
    op.create_index('ix_job_chunks_status', 'job_chunks', ['status', 'heartbeat_at'])


def downgrade() -> None:
    op.drop_index('ix_job_chunks_status', table_name='job_chunks')
    op.drop_table('job_chunks')
