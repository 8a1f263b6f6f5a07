"""Duplicate groups in the library: across imports, incremental, and against the archive."""
from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import DupGroup, DupMember, GroupStatus, JobStatus, ManifestEntry, MediaFile
from mediaparser.usecases import duplicates
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import build_app, instance_env, outside_roots
from tests.support.photos import SOURCES_GROUPS, make_sources, photo


def _app(tmp_path: Path, name: str):
    return build_app(instance_env(tmp_path, MEDIAPARSER_HOME=str(outside_roots(tmp_path) / name)))


def _import(app, folder: Path) -> int:
    job = create_import_job(app.extensions["mediaparser"], str(folder))
    assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    return job.id


def _groups() -> set[tuple[str, frozenset[str]]]:
    """Groups as (kind, {source path relative to the test's tmp folder})."""
    db.session.commit()
    paths = {r.id: r.source_path for r in db.session.execute(select(MediaFile.id, MediaFile.source_path))}
    out = set()
    for g in db.session.execute(select(DupGroup)).scalars():
        members = db.session.execute(select(DupMember.file_id).where(DupMember.group_id == g.id)).scalars()
        out.add((g.kind, frozenset(paths[m].split("/src/", 1)[1] for m in members)))
    return out


def test_groups_span_imports_and_incremental_equals_from_scratch(tmp_path):
    make_sources(tmp_path)
    app = _app(tmp_path, "one")
    with app.app_context():
        _import(app, tmp_path / "src" / "a_phone")
        assert _groups() == set()
        _import(app, tmp_path / "src" / "b_backup")
        incremental = _groups()
    assert incremental == SOURCES_GROUPS  # blanks and the unrelated photo stay out

    scratch_app = _app(tmp_path, "two")
    with scratch_app.app_context():
        _import(scratch_app, tmp_path / "src")
        assert _groups() == incremental


def test_files_point_at_their_groups_and_resolved_groups_reopen_on_a_new_copy(tmp_path):
    make_sources(tmp_path)
    app = _app(tmp_path, "inst")
    with app.app_context():
        _import(app, tmp_path / "src")
        exact = db.session.execute(select(DupGroup).where(DupGroup.kind == "exact")).scalar_one()
        members = set(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == exact.id)).scalars())
        in_group = set(db.session.execute(select(MediaFile.id).where(MediaFile.group_id == exact.id)).scalars())
        assert in_group == members and len(members) == 2
        similar_ids = set(db.session.execute(select(MediaFile.id).where(MediaFile.similar_group_id.is_not(None))).scalars())
        assert len(similar_ids) == 4
        exact.status = GroupStatus.RESOLVED
        db.session.commit()
        third = tmp_path / "third"
        third.mkdir()
        shutil.copy(tmp_path / "src" / "a_phone" / "IMG_0.jpg", third / "again.jpg")
        _import(app, third)
        db.session.commit()
        reopened = db.session.get(DupGroup, exact.id, populate_existing=True)
        assert reopened.status == GroupStatus.OPEN  # same group id, a new copy to decide on
        assert len(db.session.execute(select(DupMember).where(DupMember.group_id == exact.id)).scalars().all()) == 3


def test_already_archived_content_is_reported(tmp_path):
    make_sources(tmp_path)
    app = _app(tmp_path, "inst")
    with app.app_context():
        _import(app, tmp_path / "src" / "a_phone")
        row = db.session.execute(select(MediaFile).where(MediaFile.rel_path == "IMG_3.jpg")).scalar_one()
        db.session.add(ManifestEntry(file_id=row.id, source_path=row.source_path, output_root="/archive",
                                     destination="2019/20190812_143025.jpg", sha256=row.sha256, verified=True))
        db.session.commit()
        assert duplicates.archived_copies([row.sha256, "0" * 64]) == {row.sha256: ["2019/20190812_143025.jpg"]}


def test_group_views_recommend_the_larger_copy_with_reasons(tmp_path):
    make_sources(tmp_path)
    app = _app(tmp_path, "inst")
    with app.app_context():
        _import(app, tmp_path / "src")
        views = {frozenset(m.path.split("/src/", 1)[1] for m in v.members): v
                 for v in duplicates.library_group_views()}
        v = views[frozenset({"a_phone/IMG_1.jpg", "b_backup/small_1.jpg"})]
        keeper = next(m for m in v.members if m.file_id == v.recommendation.keeper)
        assert keeper.path.endswith("a_phone/IMG_1.jpg")
        assert any("resolution" in r for r in v.recommendation.reasons)
        d = v.to_dict()
        assert d["kind"] == "similar" and d["status"] == "open" and len(d["members"]) == 2
        assert {m["recommended_keeper"] for m in d["members"]} == {True, False}


def test_keeping_one_carries_tags_and_better_capture_times_to_the_keeper(tmp_path):
    from mediaparser.store.models import FileTag, Tag
    from tests.support import media as gen

    src = tmp_path / "src"
    src.mkdir()
    img = photo(5)
    # The big copy lost its metadata; the small one still has the camera's date.
    img.save(src / "big.jpg", quality=95)
    small = tmp_path / "small.jpg"
    img.resize((img.width // 2, img.height // 2)).save(small, quality=85)
    gen.write_tags(str(small), exif={"Exif.Photo.DateTimeOriginal": "2015:06:01 09:15:00"})
    (src / "b").mkdir()
    shutil.move(small, src / "b" / "small.jpg")
    app = _app(tmp_path, "inst")
    with app.app_context():
        _import(app, src)
        big = db.session.execute(select(MediaFile).where(MediaFile.rel_path == "big.jpg")).scalar_one()
        small_row = db.session.execute(select(MediaFile).where(MediaFile.rel_path == "b/small.jpg")).scalar_one()
        assert big.captured_at is None
        tag = Tag(name="holiday")
        db.session.add(tag)
        db.session.flush()
        db.session.add(FileTag(file_id=small_row.id, tag_id=tag.id, origin="folder"))
        db.session.commit()
        group = db.session.execute(select(DupGroup).where(DupGroup.kind == "similar")).scalar_one()
        try:
            duplicates.resolve_group(group.id, [], timezone="UTC")
        except duplicates.GroupDecisionError as exc:
            assert "keep at least one" in str(exc)
        else:
            raise AssertionError("a decision that keeps nothing must be refused")
        duplicates.resolve_group(group.id, [big.id], timezone="UTC")
        db.session.commit()
        big = db.session.get(MediaFile, big.id, populate_existing=True)
        assert big.captured_at.isoformat() == "2015-06-01T09:15:00"
        assert big.time_source == "exif:DateTimeOriginal"
        assert any(c.get("carried_from") == small_row.id for c in big.candidates)
        assert any("carried over" in r for r in big.reasons)
        assert duplicates.file_tags([big.id]) == {big.id: {"holiday"}}
        decisions = dict(db.session.execute(select(DupMember.file_id, DupMember.decision)
                                            .where(DupMember.group_id == group.id)).all())
        assert decisions == {big.id: "keep", small_row.id: "discard"}
        assert db.session.get(DupGroup, group.id, populate_existing=True).status == GroupStatus.RESOLVED


def test_a_stored_group_follows_its_members_when_another_copy_becomes_the_representative():
    """Grouping ranks copies by how connected they are, so a later import can
    make another copy the representative: the stored group sharing the most
    members takes it (keeping its id, status and the members' decisions);
    a stored group no wanted group shares members with is left to be removed."""
    from types import SimpleNamespace

    from mediaparser.media.similarity import Group, GroupMember

    moved, gone = SimpleNamespace(id=11, representative_id=3), SimpleNamespace(id=12, representative_id=9)
    other = SimpleNamespace(id=13, representative_id=40)
    stored = {("similar", 3): moved, ("similar", 9): gone, ("exact", 40): other}
    members = {11: {3: None, 5: None}, 12: {9: None, 10: None}, 13: {40: None, 41: None}}
    wanted = {("similar", 7): Group("similar", 7, (GroupMember(7, 0), GroupMember(3, 4), GroupMember(5, 9)), 0.9,
                                    "high"),
              ("similar", 41): Group("similar", 41, (GroupMember(41, 0), GroupMember(42, 3)), 0.9, "high")}
    duplicates._follow_moved_representatives(wanted, stored, members)
    assert stored[("similar", 7)] is moved and moved.representative_id == 7 and ("similar", 3) not in stored
    assert stored[("similar", 9)] is gone and gone.representative_id == 9  # shares nothing: removed later
    assert stored[("exact", 40)] is other and other.representative_id == 40  # another kind is never taken
    assert ("similar", 41) not in stored
