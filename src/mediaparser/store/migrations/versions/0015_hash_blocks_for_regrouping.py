"""hash blocks: the grouped files' hashes packed per block of ids, and the ungrouped files indexed

Revision ID: 0015
Revises: 0014

A regrouping compares the files not grouped yet with every grouped file.
hash_blocks keeps the grouped files' grouping columns packed, one row per
block of library.hash_blocks.BLOCK consecutive file ids, so a regrouping
reads a million files' hashes as a hundred rows (library.hash_blocks says
how it reads and writes them). Triggers keep it exact whichever code writes
files: a block is deleted when a grouped file in it changes a column the
grouping reads, stops being grouped, or is deleted; the next regrouping reads
that block from media_files again. ix_media_files_ungrouped finds the files
still to compare without reading the others.

Adding a table, triggers and an index does not rebuild media_files, so
0012's counting triggers stay. A later migration that rebuilds media_files on
SQLite must call create_triggers() from this module again, as for 0012's.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BLOCK = 8192  # library.hash_blocks.BLOCK (a migration keeps its own copy of what it relies on)
WATCHED = ("sha256", "status", "phash", "dhash", "phash90", "dhash90", "phash180", "dhash180", "low_detail",
           "stack_role", "grouped")
TRIGGERS = ("media_files_hash_blocks_update", "media_files_hash_blocks_delete")


def create_triggers(bind=None) -> None:
    """(Re)create the triggers that drop a block when one of its grouped files changes or goes."""
    bind = bind or op.get_bind()
    drop = f"DELETE FROM hash_blocks WHERE block = OLD.id / {BLOCK}"
    if bind.dialect.name == "sqlite":
        for name in TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_hash_blocks_update AFTER UPDATE OF {', '.join(WATCHED)} ON media_files
            WHEN OLD.grouped BEGIN {drop}; END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_hash_blocks_delete AFTER DELETE ON media_files
            WHEN OLD.grouped BEGIN {drop}; END""")
        return
    bind.exec_driver_sql(f"""
        CREATE OR REPLACE FUNCTION media_files_hash_block_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {drop};
          RETURN NULL;
        END $$""")
    for name in TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON media_files")
    bind.exec_driver_sql(f"CREATE TRIGGER media_files_hash_blocks_update AFTER UPDATE OF {', '.join(WATCHED)} "
                         "ON media_files FOR EACH ROW WHEN (OLD.grouped) "
                         "EXECUTE FUNCTION media_files_hash_block_change()")
    bind.exec_driver_sql("CREATE TRIGGER media_files_hash_blocks_delete AFTER DELETE ON media_files "
                         "FOR EACH ROW WHEN (OLD.grouped) EXECUTE FUNCTION media_files_hash_block_change()")


def upgrade() -> None:
    op.create_table('hash_blocks',
                    sa.Column('block', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('files', sa.Integer(), nullable=False),
                    sa.Column('data', sa.LargeBinary(), nullable=True),
                    sa.Column('token', sa.BigInteger(), nullable=True),
                    sa.PrimaryKeyConstraint('block'))
    op.create_index('ix_media_files_ungrouped', 'media_files', ['id'], sqlite_where=sa.text('NOT grouped'),
                    postgresql_where=sa.text('NOT grouped'))
    create_triggers()


def downgrade() -> None:
    bind = op.get_bind()
    for name in TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + ("" if bind.dialect.name == "sqlite" else " ON media_files"))
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS media_files_hash_block_change()")
    op.drop_index('ix_media_files_ungrouped', table_name='media_files')
    op.drop_table('hash_blocks')
