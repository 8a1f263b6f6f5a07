"""history items: tag, duplicate and restore decisions kept for the history and undo

Revision ID: 0008
Revises: 0007

Until now only capture-time decisions were recorded (review_decisions). Each
row here is one thing another decision changed — a tag, a file's tag, a
file's decision in a duplicate group, a group, a kept file's chosen time —
with its state before and after, under the batch (review_batches) that
made the change, so the history page lists it and undo can put it back.

The history names tags, files' tags and duplicate groups by id, so on SQLite
those tables become AUTOINCREMENT (copied into a new table, as batch mode
does): SQLite otherwise hands the id of a deleted last row to the next row,
and an undo could take a newer tag for the one it removed. PostgreSQL's
sequences never reuse an id.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('history_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('tag_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['review_batches.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('history_items', schema=None) as batch_op:
        batch_op.create_index('ix_history_items_batch', ['batch_id', 'id'], unique=False)
        batch_op.create_index('ix_history_items_file', ['file_id', 'batch_id'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for table in ('tags', 'file_tags', 'dup_groups'):
            with op.batch_alter_table(table, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}) as batch_op:
                pass


def downgrade() -> None:
    # AUTOINCREMENT stays: ids that are never reused harm nothing.
    with op.batch_alter_table('history_items', schema=None) as batch_op:
        batch_op.drop_index('ix_history_items_file')
        batch_op.drop_index('ix_history_items_batch')

    op.drop_table('history_items')
