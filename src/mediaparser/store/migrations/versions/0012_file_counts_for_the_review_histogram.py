"""file counts: the review's month histogram and state counts without counting a million rows

Revision ID: 0012
Revises: 0011

file_counts holds how many analysed files share each (month, review_state,
confidence, kind, status) — '' stands for an absent value, month is
the capture time's "YYYY-MM". Triggers on media_files append each change to
file_count_changes in the writer's own transaction: +1 under a file's new
key, -1 under its old one, for an insert, a delete (a job's files deleted
with it too), and an update of one of those columns; PENDING files are not
counted. Appending (never updating a shared counter row) keeps concurrent
writers — several workers committing chunks — from waiting on each other or
deadlocking. library.counts.fold moves the changes into file_counts.

The upgrade fills file_counts from the files already there.

A later migration that makes SQLite rebuild media_files ("move and copy" in
a batch_alter_table) drops these triggers with the old table: it must call
create_triggers() from this module again (tests/web/test_file_counts.py
checks that the head schema has them).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

KEY = ("month", "review_state", "confidence", "kind", "status")
WATCHED = ("captured_at", "review_state", "confidence", "kind", "status")
TRIGGERS = ("media_files_counts_insert", "media_files_counts_delete", "media_files_counts_update")


def _month(dialect: str, row: str) -> str:
    if dialect == "sqlite":
        return f"coalesce(substr({row}.captured_at, 1, 7), '')"
    return f"coalesce(to_char({row}.captured_at, 'YYYY-MM'), '')"


def _key(dialect: str, row: str) -> str:
    """The key columns' values of `row` (NEW, OLD or the table itself), '' for NULL."""
    return ", ".join([_month(dialect, row)] + [f"coalesce({row}.{c}, '')" for c in KEY[1:4]]
                     + [f"{row}.status"])


def _changed(dialect: str) -> str:
    same = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    parts = [f"{_month(dialect, 'OLD')} <> {_month(dialect, 'NEW')}"]
    parts += [f"OLD.{c} {same} NEW.{c}" for c in WATCHED[1:]]
    return " OR ".join(parts)


def create_triggers(bind=None) -> None:
    """(Re)create the triggers that record every change of a counted column."""
    bind = bind or op.get_bind()
    d = bind.dialect.name
    cols = ", ".join(KEY)
    ins = f"INSERT INTO file_count_changes ({cols}, n)"
    if d == "sqlite":
        for name in TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_counts_insert AFTER INSERT ON media_files
            WHEN NEW.status <> 'PENDING'
            BEGIN {ins} VALUES ({_key(d, 'NEW')}, 1); END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_counts_delete AFTER DELETE ON media_files
            WHEN OLD.status <> 'PENDING'
            BEGIN {ins} VALUES ({_key(d, 'OLD')}, -1); END""")
        bind.exec_driver_sql(f"""
            CREATE TRIGGER media_files_counts_update AFTER UPDATE OF {', '.join(WATCHED)} ON media_files
            WHEN {_changed(d)}
            BEGIN
              {ins} SELECT {_key(d, 'OLD')}, -1 WHERE OLD.status <> 'PENDING';
              {ins} SELECT {_key(d, 'NEW')}, 1 WHERE NEW.status <> 'PENDING';
            END""")
        return
    bind.exec_driver_sql(f"""
        CREATE OR REPLACE FUNCTION media_files_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' AND OLD.status <> 'PENDING' THEN
            {ins} VALUES ({_key(d, 'OLD')}, -1);
          END IF;
          IF TG_OP <> 'DELETE' AND NEW.status <> 'PENDING' THEN
            {ins} VALUES ({_key(d, 'NEW')}, 1);
          END IF;
          RETURN NULL;
        END $$""")
    for name in TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON media_files")
    run = "FOR EACH ROW WHEN ({}) EXECUTE FUNCTION media_files_count_change()"
    bind.exec_driver_sql("CREATE TRIGGER media_files_counts_insert AFTER INSERT ON media_files "
                         + run.format("NEW.status <> 'PENDING'"))
    bind.exec_driver_sql("CREATE TRIGGER media_files_counts_delete AFTER DELETE ON media_files "
                         + run.format("OLD.status <> 'PENDING'"))
    bind.exec_driver_sql(f"CREATE TRIGGER media_files_counts_update AFTER UPDATE OF {', '.join(WATCHED)} "
                         f"ON media_files " + run.format(_changed(d)))


def upgrade() -> None:
    key_cols = [sa.Column('month', sa.String(length=7), nullable=False),
                sa.Column('review_state', sa.String(length=16), nullable=False),
                sa.Column('confidence', sa.String(length=8), nullable=False),
                sa.Column('kind', sa.String(length=8), nullable=False),
                sa.Column('status', sa.String(length=16), nullable=False)]
    op.create_table('file_counts', *key_cols, sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint(*KEY))
    op.create_table('file_count_changes',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    *[sa.Column(c.name, c.type, nullable=False) for c in key_cols], sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    bind = op.get_bind()
    d = bind.dialect.name
    cols = ", ".join(KEY)
    bind.exec_driver_sql(f"INSERT INTO file_counts ({cols}, n) SELECT {_key(d, 'media_files')}, count(*) "
                         f"FROM media_files WHERE status <> 'PENDING' GROUP BY {', '.join(str(i) for i in range(1, len(KEY) + 1))}")
    create_triggers(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + ("" if bind.dialect.name == "sqlite" else " ON media_files"))
    if bind.dialect.name != "sqlite":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS media_files_count_change()")
    op.drop_table('file_count_changes')
    op.drop_table('file_counts')
