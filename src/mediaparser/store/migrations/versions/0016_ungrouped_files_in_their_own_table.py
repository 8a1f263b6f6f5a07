"""ungrouped files: the files a regrouping has still to compare, in a narrow table of their own

Revision ID: 0016
Revises: 0015

Until now a flag on media_files said whether a file had been through
duplicate grouping. A first grouping of a million files then rewrote a
million wide rows to set it: on SQLite each whole row, on PostgreSQL a new
row version with an entry in each of media_files' indexes (85 s of server
time for 1M files). `ungrouped_files` holds one narrow row per file still to
group instead, and grouping a file deletes its row.

Triggers keep it exact whichever code writes files:

- a file inserted into media_files gets its row in ungrouped_files;
- a file that gets a row there again drops its hash block (0015), as a
  file that stopped being grouped did; a new file does not: a block now
  records the largest file id it holds (`last_id`), and only a file at or
  below it can be in the block (ids only grow); while a regrouping has the
  block stamped, any such file drops it;
- a grouped file (no row there) that changes a column the grouping reads
  drops its hash block, as before, and so does any file of a block a
  regrouping has stamped (`token`): the regrouping writes the block back
  from what it read, and must not once a file in it changed;
- a file deleted from media_files drops its hash block on the same terms,
  and its row here.

The upgrade moves the flag's state into the table, then drops the flag,
its partial index and 0015's triggers (which read it). Dropping a column
does not rebuild media_files on SQLite, so 0012's counting triggers stay.
A later migration that rebuilds media_files on SQLite must call
create_triggers() of 0012 and of this module again.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BLOCK = 8192  # library.hash_blocks.BLOCK (a migration keeps its own copy of what it relies on)
WATCHED = ("sha256", "status", "phash", "dhash", "phash90", "dhash90", "phash180", "dhash180", "low_detail",
           "stack_role")
TRIGGERS = {  # name -> table
    "media_files_ungrouped_insert": "media_files",
    "media_files_hash_blocks_update": "media_files",
    "media_files_hash_blocks_delete": "media_files",
    "ungrouped_files_hash_blocks_insert": "ungrouped_files",
}
FUNCTIONS = ("media_files_ungrouped_insert()", "media_files_hash_block_update()", "media_files_hash_block_delete()",
             "ungrouped_files_hash_block_insert()")
OLD_TRIGGERS = ("media_files_hash_blocks_update", "media_files_hash_blocks_delete")  # 0015's


def _drop_triggers(bind, names) -> None:
    for name in names:
        on = "" if bind.dialect.name == "sqlite" else f" ON {TRIGGERS.get(name, 'media_files')}"
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")


def create_triggers(bind=None) -> None:
    """(Re)create the triggers that keep ungrouped_files and hash_blocks in step with media_files."""
    bind = bind or op.get_bind()
    _drop_triggers(bind, TRIGGERS)
    # The block of a grouped file, or of any file while a regrouping has it stamped.
    drop_old = (f"DELETE FROM hash_blocks WHERE block = OLD.id / {BLOCK} AND (token IS NOT NULL "
                "OR NOT EXISTS (SELECT 1 FROM ungrouped_files WHERE file_id = OLD.id))")
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("""
            CREATE TRIGGER media_files_ungrouped_insert AFTER INSERT ON media_files
            BEGIN INSERT INTO ungrouped_files (file_id) VALUES (NEW.id); END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER ungrouped_files_hash_blocks_insert AFTER INSERT ON ungrouped_files
            BEGIN DELETE FROM hash_blocks WHERE block = NEW.file_id / {BLOCK} AND (token IS NOT NULL OR last_id >= NEW.file_id); END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_hash_blocks_update AFTER UPDATE OF {', '.join(WATCHED)} ON media_files
            BEGIN {drop_old}; END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_hash_blocks_delete AFTER DELETE ON media_files
            BEGIN
              {drop_old};
              DELETE FROM ungrouped_files WHERE file_id = OLD.id;
            END""")
        return
    # PostgreSQL: every one of these DELETEs takes the table lock a regrouping's stamp waits for
    # (library.hash_blocks), whether it deletes a block or not.
    bind.exec_driver_sql("""
        CREATE OR REPLACE FUNCTION media_files_ungrouped_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO ungrouped_files (file_id) VALUES (NEW.id);
          RETURN NULL;
        END $$""")
    bind.exec_driver_sql(f"""
        CREATE OR REPLACE FUNCTION ungrouped_files_hash_block_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM hash_blocks WHERE block = NEW.file_id / {BLOCK} AND (token IS NOT NULL OR last_id >= NEW.file_id);
          RETURN NULL;
        END $$""")
    bind.exec_driver_sql(f"""
        CREATE OR REPLACE FUNCTION media_files_hash_block_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {drop_old};
          RETURN NULL;
        END $$""")
    bind.exec_driver_sql(f"""
        CREATE OR REPLACE FUNCTION media_files_hash_block_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {drop_old};
          DELETE FROM ungrouped_files WHERE file_id = OLD.id;
          RETURN NULL;
        END $$""")
    bind.exec_driver_sql("CREATE TRIGGER media_files_ungrouped_insert AFTER INSERT ON media_files "
                         "FOR EACH ROW EXECUTE FUNCTION media_files_ungrouped_insert()")
    bind.exec_driver_sql("CREATE TRIGGER ungrouped_files_hash_blocks_insert AFTER INSERT ON ungrouped_files "
                         "FOR EACH ROW EXECUTE FUNCTION ungrouped_files_hash_block_insert()")
    bind.exec_driver_sql(f"CREATE TRIGGER media_files_hash_blocks_update AFTER UPDATE OF {', '.join(WATCHED)} "
                         "ON media_files FOR EACH ROW EXECUTE FUNCTION media_files_hash_block_update()")
    bind.exec_driver_sql("CREATE TRIGGER media_files_hash_blocks_delete AFTER DELETE ON media_files "
                         "FOR EACH ROW EXECUTE FUNCTION media_files_hash_block_delete()")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table('ungrouped_files',
                    sa.Column('file_id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.PrimaryKeyConstraint('file_id'))
    _drop_triggers(bind, OLD_TRIGGERS)
    # The blocks are read again once (a regrouping writes them back with their last id).
    bind.exec_driver_sql("DELETE FROM hash_blocks")
    op.add_column('hash_blocks', sa.Column('last_id', sa.Integer(), nullable=True))
    if bind.dialect.name == "postgresql":
        # Packed hashes do not compress: PostgreSQL need not try on every block it stores.
        bind.exec_driver_sql("ALTER TABLE hash_blocks ALTER COLUMN data SET STORAGE EXTERNAL")
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS media_files_hash_block_change()")
    bind.exec_driver_sql("INSERT INTO ungrouped_files (file_id) SELECT id FROM media_files WHERE NOT grouped")
    op.drop_index('ix_media_files_ungrouped', table_name='media_files')
    # (SQLite 3.35+ drops a column in place: no rebuild of media_files, its other triggers stay.)
    bind.exec_driver_sql("ALTER TABLE media_files DROP COLUMN grouped")
    create_triggers(bind)


def downgrade() -> None:
    bind = op.get_bind()
    _drop_triggers(bind, TRIGGERS)
    if bind.dialect.name != "sqlite":
        for fn in FUNCTIONS:
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn}")
    op.add_column('media_files', sa.Column('grouped', sa.Boolean(), nullable=False, server_default=sa.true()))
    bind.exec_driver_sql("UPDATE media_files SET grouped = false WHERE id IN (SELECT file_id FROM ungrouped_files)")
    op.drop_table('ungrouped_files')
    bind.exec_driver_sql("DELETE FROM hash_blocks")  # (kept by other rules before)
    bind.exec_driver_sql("ALTER TABLE hash_blocks DROP COLUMN last_id")
    op.create_index('ix_media_files_ungrouped', 'media_files', ['id'], sqlite_where=sa.text('NOT grouped'),
                    postgresql_where=sa.text('NOT grouped'))
    # 0015's triggers, as it made them.
    import importlib.util
    from pathlib import Path

    path = next(Path(__file__).parent.glob("0015_*.py"))
    spec = importlib.util.spec_from_file_location("_mp_migration_0015", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)  # type: ignore[union-attr]
    m.create_triggers(bind)
