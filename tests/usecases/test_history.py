"""The history of every decision (usecases/history.py): tag adds, removals, renames and merges, duplicate
decisions, the bulk accept and restores are batches with plain words and their files, and each undo puts
back exactly the rows there were — or, when later decisions changed the same things, refuses and says which."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, DupMember, FileTag, GroupStatus, MediaFile, ReviewBatch, Tag
from mediaparser.usecases import duplicates, history
from mediaparser.usecases import tagging as tag_service

from tests.support.web import seed

EXIF = {"source": "exif:DateTimeOriginal", "value": "2015-06-01T09:15:00", "utc_offset": None,
        "precision": "second", "basis": "local", "accepted": True, "reason": None, "raw": "2015:06:01 09:15:00"}
MTIME = {"source": "filesystem:mtime", "value": "2021-03-03T10:00:00", "utc_offset": None,
         "precision": "second", "basis": "local", "accepted": True, "reason": None, "raw": None}


def tag_rows(app) -> tuple[list, list]:
    """Every tag row and every file's tag row, exactly (ids, names, origins, times)."""
    with app.app_context():
        tags = [tuple(r) for r in db.session.execute(select(Tag.id, Tag.name).order_by(Tag.id))]
        links = [tuple(r) for r in db.session.execute(
            select(FileTag.id, FileTag.file_id, FileTag.tag_id, FileTag.origin, FileTag.created_at)
            .order_by(FileTag.id))]
        db.session.commit()
        return tags, links


def dup_state(app) -> tuple:
    """Groups, members' decisions, tags and the files' chosen times."""
    with app.app_context():
        groups = [tuple(r) for r in db.session.execute(
            select(DupGroup.id, DupGroup.status, DupGroup.resolved_at).order_by(DupGroup.id))]
        members = [tuple(r) for r in db.session.execute(
            select(DupMember.group_id, DupMember.file_id, DupMember.decision).order_by(DupMember.id))]
        files = [(r.id, r.captured_at, r.time_source, r.confidence, r.reasons, r.candidates) for r in
                 db.session.execute(select(MediaFile).order_by(MediaFile.id)
                                    .execution_options(populate_existing=True)).scalars()]
        db.session.commit()
    return groups, members, files, tag_rows(app)


def tag(app, file_id: int, name: str, origin: str = "folder") -> None:
    with app.app_context():
        t = db.session.execute(select(Tag).where(Tag.name == name)).scalar_one_or_none()
        if t is None:
            t = Tag(name=name)
            db.session.add(t)
            db.session.flush()
        db.session.add(FileTag(file_id=file_id, tag_id=t.id, origin=origin))
        db.session.commit()


def batch(app, batch_id: int) -> ReviewBatch:
    with app.app_context():
        b = db.session.get(ReviewBatch, batch_id, populate_existing=True)
        db.session.expunge(b)
        db.session.commit()
        return b


def files_of(app, batch_id: int) -> dict[str, str]:
    with app.app_context():
        return {f["path"]: f["change"] for f in history.batch_files(batch_id)}


def undo(app, batch_id: int):
    with app.app_context():
        return history.undo(batch_id, history.Actor("Oma", "10.0.0.7"))


def three(app) -> list[int]:
    return seed(app, [{"rel_path": f"Trip/IMG_{i}.jpg"} for i in range(1, 4)])


# ------------------------------------------------------------------ tags --

def test_adding_tags_is_a_batch_and_its_undo_restores_the_tag_rows(app):
    ids = three(app)
    tag(app, ids[0], "beach")
    before = tag_rows(app)
    with app.app_context():
        changed = tag_service.add_tags(ids, ["holiday 2019", "beach"], history.Actor("Oma", "10.0.0.7"))
    b = batch(app, changed.batch_id)
    assert (b.action, b.actor, b.remote_addr, b.file_count) == ("tag_add", "Oma", "10.0.0.7", 3)
    assert b.summary == "Added tags ‘holiday 2019’ and ‘beach’ to 3 files"
    assert files_of(app, b.id) == {"Trip/IMG_1.jpg": "tag ‘holiday 2019’ added",
                                   "Trip/IMG_2.jpg": "tag ‘beach’ added; tag ‘holiday 2019’ added",
                                   "Trip/IMG_3.jpg": "tag ‘beach’ added; tag ‘holiday 2019’ added"}
    after = tag_rows(app)
    result = undo(app, b.id)
    assert (result.changed, result.skipped) == (3, 0)
    assert tag_rows(app) == before, "the new tag is gone again and 'beach' is only on the first file"
    assert batch(app, b.id).undone_by == result.batch_id
    # Undoing the undo adds them back: the same rows, the same ids.
    again = undo(app, result.batch_id)
    assert again.changed == 3 and tag_rows(app) == after
    with app.app_context(), pytest.raises(history.FilterError, match="already been undone"):
        history.undo(b.id)
    # Adding what is there already changes nothing and records nothing.
    with app.app_context():
        assert tag_service.add_tags(ids, ["beach"]).batch_id is None


def test_removing_the_last_use_of_a_tag_and_undoing_brings_back_the_same_tag_and_links(app):
    ids = three(app)
    tag(app, ids[0], "beach", "folder")
    tag(app, ids[1], "beach", "filename")
    tag(app, ids[1], "sun")
    before = tag_rows(app)
    with app.app_context():
        changed = tag_service.remove_tags(ids, ["beach", "sun"])
    b = batch(app, changed.batch_id)
    assert b.summary == "Removed tags ‘beach’ and ‘sun’ from 2 files" and b.file_count == 2
    assert b.actor == "local user"
    assert files_of(app, b.id) == {"Trip/IMG_1.jpg": "tag ‘beach’ removed",
                                   "Trip/IMG_2.jpg": "tag ‘beach’ removed; tag ‘sun’ removed"}
    assert tag_rows(app) == ([], [])
    assert undo(app, b.id).changed == 2
    assert tag_rows(app) == before, "both tags with their ids, each link with its id, origin and time"


def test_a_rename_and_a_merge_are_undone_to_both_tags_exactly(app):
    ids = three(app)
    tag(app, ids[0], "familienfeier")
    tag(app, ids[1], "familienfeier", "user")
    before = tag_rows(app)
    with app.app_context():
        renamed = tag_service.rename_tag("familienfeier", "familienfest")
        about = history.batch_about(renamed.batch_id)
    b = batch(app, renamed.batch_id)
    assert (b.action, b.summary, b.file_count) == ("tag_rename", "Renamed tag ‘familienfeier’ to ‘familienfest’", 2)
    assert files_of(app, b.id) == {}
    assert about == "The tag ‘familienfeier’ was renamed ‘familienfest’; 2 files carry it, now called ‘familienfest’."
    assert undo(app, b.id).changed == 1
    assert tag_rows(app) == before

    # A new spelling of the same tag is a rename too, and its undo gives back the old spelling.
    with app.app_context():
        respelt = tag_service.rename_tag("familienfeier", "Familienfeier").batch_id
    assert batch(app, respelt).summary == "Renamed tag ‘familienfeier’ to ‘Familienfeier’"
    undo(app, respelt)
    assert tag_rows(app) == before
    with app.app_context():
        assert db.session.execute(select(Tag.key)).scalars().all() == ["familienfeier"]
        db.session.commit()

    # Merge 'beech' into 'beach': IMG_1 has both, IMG_2 only 'beech', IMG_3 only 'beach'.
    tag(app, ids[0], "beech", "filename")
    tag(app, ids[0], "beach")
    tag(app, ids[1], "beech", "user")
    tag(app, ids[2], "beach")
    before = tag_rows(app)
    with app.app_context():
        merged = tag_service.rename_tag("beech", "beach")
    assert merged.merged
    b = batch(app, merged.batch_id)
    assert (b.action, b.summary) == ("tag_merge", "Merged tag ‘beech’ into ‘beach’ (2 files had ‘beech’)")
    assert files_of(app, b.id) == {"Trip/IMG_1.jpg": "tag ‘beech’ removed",
                                   "Trip/IMG_2.jpg": "tag ‘beech’ removed; tag ‘beach’ added"}
    merged_rows = tag_rows(app)
    result = undo(app, b.id)
    assert result.changed == 2
    assert tag_rows(app) == before, "'beech' is back with its id, and each file has the links it had"
    assert undo(app, result.batch_id).changed == 2  # and the merge can be made again by undoing the undo
    assert tag_rows(app) == merged_rows


def test_undo_leaves_later_tag_decisions_alone_and_refuses_when_nothing_is_left(app):
    ids = three(app)
    with app.app_context():
        added = tag_service.add_tags(ids, ["oma"]).batch_id
        later = tag_service.remove_tags(ids[:1], ["oma"]).batch_id
    # IMG_1's tag was removed by a later decision: that one is kept, the other two go.
    result = undo(app, added)
    assert (result.changed, result.skipped) == (2, 1)
    assert result.notes == ["1 file was changed again afterwards and kept its later decision."]
    assert tag_rows(app) == ([], [])

    with app.app_context():
        added = tag_service.add_tags(ids, ["opa"]).batch_id
        later = tag_service.remove_tags(ids, ["opa"]).batch_id
    with app.app_context(), pytest.raises(history.UndoConflict) as refused:
        history.undo(added)
    assert "“Removed tag ‘opa’ from 3 files”" in str(refused.value) and "Undo that change first" in str(refused.value)
    assert batch(app, added).undone_at is None
    assert undo(app, later).changed == 3 and undo(app, added).changed == 3  # in the right order both go

    # A rename renamed again is refused until the later rename is undone.
    tag(app, ids[0], "a")
    with app.app_context():
        first = tag_service.rename_tag("a", "b").batch_id
        second = tag_service.rename_tag("b", "c").batch_id
    with app.app_context(), pytest.raises(history.UndoConflict, match="Renamed tag ‘b’ to ‘c’"):
        history.undo(first)
    undo(app, second)
    undo(app, first)
    assert tag_rows(app)[0][-1][1] == "a"
    # A tag deleted by a removal cannot come back while another tag has taken its name.
    with app.app_context():
        removed = tag_service.remove_tags(ids[:1], ["a"]).batch_id
    tag(app, ids[1], "a")
    with app.app_context(), pytest.raises(history.UndoConflict, match="a tag named ‘a’ exists again"):
        history.undo(removed)


# ------------------------------------------------------------ duplicates --

def _group(app, file_ids: list[int], kind: str = "exact") -> int:
    with app.app_context():
        g = DupGroup(kind=kind, representative_id=file_ids[0], confidence=1.0, confidence_label="high",
                     status=GroupStatus.OPEN, sha256="ab" * 32)
        db.session.add(g)
        db.session.flush()
        for fid in file_ids:
            db.session.add(DupMember(group_id=g.id, file_id=fid, distance=0))
            db.session.get(MediaFile, fid).group_id = g.id
        db.session.commit()
        return g.id


def test_a_group_decision_and_its_undo_bring_back_the_open_group_its_tags_and_times(app):
    ids = seed(app, [{"rel_path": "IMG_1.jpg", "captured_at": datetime(2021, 3, 3, 10), "candidates": [MTIME],
                      "time_source": "filesystem:mtime", "confidence": "low"},
                     {"rel_path": "b/IMG_1 copy.jpg", "candidates": [EXIF]},
                     {"rel_path": "c/IMG_1 (2).jpg", "candidates": []}])
    tag(app, ids[1], "holiday")
    gid = _group(app, ids)
    before = dup_state(app)
    with app.app_context():
        duplicates.resolve_group(gid, [ids[0]], timezone="UTC", actor=history.Actor("Opa"))
        b = db.session.execute(select(ReviewBatch).order_by(ReviewBatch.id.desc())).scalars().first()
        kept = db.session.get(MediaFile, ids[0])
        assert kept.time_source == "exif:DateTimeOriginal" and duplicates.file_tags([ids[0]])[ids[0]] == {"holiday"}
        db.session.commit()
    assert (b.action, b.actor, b.file_count) == ("dup_resolve", "Opa", 3)
    assert b.summary == "Kept IMG_1.jpg, set aside 2 copies"
    assert files_of(app, b.id) == {"IMG_1.jpg": "kept; tag ‘holiday’ added", "b/IMG_1 copy.jpg": "set aside",
                                   "c/IMG_1 (2).jpg": "set aside"}
    decided = dup_state(app)
    result = undo(app, b.id)
    assert result.changed == 3
    assert dup_state(app) == before, "open again, no decisions, the carried tag and time gone"
    # Undoing the undo decides the group again, as it was.
    assert undo(app, result.batch_id).changed == 3
    assert dup_state(app) == decided

    # Deciding a decided group again ("not duplicates"), then undoing, gives back the first decision.
    with app.app_context():
        duplicates.resolve_group(gid, ids, timezone="UTC")
        b2 = db.session.execute(select(ReviewBatch).order_by(ReviewBatch.id.desc())).scalars().first()
        db.session.commit()
    assert b2.summary == "Not duplicates: kept all 3 files (IMG_1.jpg, IMG_1 copy.jpg and 1 other)"
    undo(app, b2.id)
    assert dup_state(app) == decided


def test_restores_are_batches_and_a_restore_blocks_the_undo_of_the_decision_before_it(app):
    ids = seed(app, [{"rel_path": "IMG_1.jpg"}, {"rel_path": "IMG_1 copy.jpg"}, {"rel_path": "x/IMG_1 (2).jpg"}])
    gid = _group(app, ids)
    with app.app_context():
        duplicates.resolve_group(gid, [ids[0]], timezone="UTC")
        decided = db.session.execute(select(ReviewBatch.id).order_by(ReviewBatch.id.desc())).scalars().first()
        duplicates.restore([ids[1]])
        restored = db.session.execute(select(ReviewBatch).order_by(ReviewBatch.id.desc())).scalars().first()
        db.session.commit()
    assert (restored.action, restored.summary) == ("dup_restore", "Brought back IMG_1 copy.jpg from the set-aside copies")
    assert files_of(app, restored.id) == {"IMG_1 copy.jpg": "kept"}
    with app.app_context(), pytest.raises(history.UndoConflict, match="Brought back IMG_1 copy.jpg"):
        history.undo(decided)
    assert undo(app, restored.id).changed == 1
    with app.app_context():
        got = dict(db.session.execute(select(DupMember.file_id, DupMember.decision)
                                      .where(DupMember.group_id == gid)).all())
        db.session.commit()
    assert got == {ids[0]: "keep", ids[1]: "discard", ids[2]: "discard"}
    assert undo(app, decided).changed == 3
    with app.app_context():
        duplicates.resolve_group(gid, [ids[0]], timezone="UTC")
        duplicates.restore([ids[1], ids[2]])
        b = db.session.execute(select(ReviewBatch).order_by(ReviewBatch.id.desc())).scalars().first()
        db.session.commit()
    assert b.summary == "Brought back 2 set-aside files (IMG_1 copy.jpg and IMG_1 (2).jpg)"


def test_accepting_every_exact_group_is_one_batch_undone_per_group(app, tmp_path):
    for name in ("a.jpg", "a copy.jpg", "b.jpg", "b copy.jpg"):
        (tmp_path / name).write_bytes(b"x")
    ids = seed(app, [{"rel_path": n, "source_path": str(tmp_path / n), "width": 100 - i, "height": 100}
                     for i, n in enumerate(("a.jpg", "a copy.jpg", "b.jpg", "b copy.jpg"))])
    g1, g2 = _group(app, ids[:2]), _group(app, ids[2:])
    before = dup_state(app)
    with app.app_context():
        result = duplicates.accept_all_exact("UTC", expected=2)
        b = db.session.execute(select(ReviewBatch).order_by(ReviewBatch.id.desc())).scalars().first()
        db.session.commit()
    assert result.groups == 2
    assert (b.action, b.summary, b.file_count) == (
        "dup_accept", "Kept the recommended copy in 2 exact-duplicate groups, set aside 2 copies", 4)
    # One group decided again by a person afterwards: the undo leaves that group alone.
    with app.app_context():
        duplicates.resolve_group(g2, ids[2:], timezone="UTC")
    u = undo(app, b.id)
    assert (u.changed, u.skipped) == (2, 1) and "1 group was changed again" in u.notes[0]
    state = dup_state(app)
    assert state[0][0] == before[0][0] and state[0][1][1] == GroupStatus.RESOLVED
    assert [m for m in state[1] if m[0] == g1] == [m for m in before[1] if m[0] == g1]


# ------------------------------------------------------------- migration --

def test_0008_upgrades_an_instance_at_0007(tmp_path, env):
    from sqlalchemy import create_engine, inspect, text

    from mediaparser.config import Settings
    from mediaparser.store.migrate import head_revision, upgrade

    s = Settings.load(environ=env)
    assert upgrade(s, "0007") == "0007"
    engine = create_engine(s.database_url)
    try:
        assert "history_items" not in inspect(engine).get_table_names()
        with engine.begin() as c:  # a tagged file in an exact group, as 0007 held them
            c.execute(text("INSERT INTO jobs (id, job_type, status, options, progress_total, progress_current, "
                           "error_count, skipped_count, skipped, enumerated, created_at, updated_at, run_seconds, "
                           "run_progress_start, attempts, max_attempts) VALUES (1, 'import', 'COMPLETED', '{}', "
                           "0, 0, 0, 0, '{}', true, '2020-01-01', '2020-01-01', 0, 0, 0, 3)"))
            c.execute(text("INSERT INTO media_files (id, job_id, source_path, rel_path, status, grouped) "
                           "VALUES (1, 1, '/a/b.jpg', 'b.jpg', 'DONE', true)"))
            c.execute(text("INSERT INTO tags (id, name) VALUES (5, 'beach')"))
            c.execute(text("INSERT INTO file_tags (id, file_id, tag_id, origin, created_at) "
                           "VALUES (7, 1, 5, 'user', '2020-01-01')"))
            c.execute(text("INSERT INTO dup_groups (id, kind, representative_id, confidence, confidence_label, "
                           "status, created_at, updated_at) VALUES (3, 'exact', 1, 1, 'high', 'open', "
                           "'2020-01-01', '2020-01-01')"))
        assert upgrade(s) == head_revision()
        insp = inspect(engine)
        cols = {c["name"] for c in insp.get_columns("history_items")}
        assert cols == {"id", "batch_id", "kind", "unit", "file_id", "tag_id", "group_id", "before", "after"}
        assert {"ix_history_items_batch", "ix_history_items_file"} <= {i["name"] for i in
                                                                         insp.get_indexes("history_items")}
        assert "ix_file_tags_tag" in {i["name"] for i in insp.get_indexes("file_tags")}
        assert "ix_dup_groups_status" in {i["name"] for i in insp.get_indexes("dup_groups")}
        with engine.begin() as c:
            assert c.execute(text("SELECT id, file_id, tag_id, origin FROM file_tags")).all() == [(7, 1, 5, "user")]
            assert c.execute(text("SELECT id, name FROM tags")).all() == [(5, "beach")]
            assert c.execute(text("SELECT id, status FROM dup_groups")).all() == [(3, "open")]
            if engine.dialect.name == "sqlite":
                # Ids are never handed out twice: the deleted last tag's id is not the next tag's.
                c.execute(text("DELETE FROM file_tags"))
                c.execute(text("DELETE FROM tags"))
                c.execute(text("INSERT INTO tags (name, key) VALUES ('sun', 'sun')"))
                assert c.execute(text("SELECT id FROM tags")).scalar_one() == 6
    finally:
        engine.dispose()
