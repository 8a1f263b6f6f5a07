"""tag keys (a tag keeps its case, is matched case-folded) and the technical detail of a file's error

Revision ID: 0009
Revises: 0008

tags.key is media.tags.tag_key(name): unique, so "Holiday 2019" and "holiday
2019" are one tag while the name keeps the spelling it was given. Names made
before this revision were stored case-folded already, so their key is their
name.

media_files.error_detail holds the technical detail of a failed file, while
`error` holds the plain sentence (media/errors.py). NULL for rows made before
this revision: their `error` is the raw text, which the readers explain then.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_detail', sa.Text(), nullable=True))
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=200), nullable=True))
    op.execute("UPDATE tags SET key = name")
    # On SQLite the table is rebuilt for NOT NULL: it keeps AUTOINCREMENT (0008), so ids are never reused.
    with op.batch_alter_table('tags', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint('uq_tags_key', ['key'])


def downgrade() -> None:
    with op.batch_alter_table('tags', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('uq_tags_key', type_='unique')
        batch_op.drop_column('key')
    with op.batch_alter_table('media_files', schema=None) as batch_op:
        batch_op.drop_column('error_detail')
