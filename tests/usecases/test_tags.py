"""Tags: the automatic rule, tags written by the import, and a person's tag edits through the API."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.media.tags import auto_tags, filename_tags, folder_tags, is_generic_folder
from mediaparser.store.models import FileTag, JobStatus, MediaFile, Tag
from mediaparser.usecases import tagging as tag_service
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.web import Api, seed_files


# ------------------------------------------------------------ the pure rule --

@pytest.mark.parametrize("name", ["DCIM", "Camera", "100APPLE", "101_PANA", "100CANON", "2019", "08", "x", "Y",
                                  "camera roll", "  dcim ", "jpg", "JPEG", "testdata", "tmp", "export", "Pictures",
                                  "Photos", "images", "img", "Handy Backup", "backups", "iPhone Backup 2019",
                                  "WhatsApp Images", "MOV"])
def test_generic_folder_names_give_no_tag(name):
    assert is_generic_folder(name)


@pytest.mark.parametrize("name", ["Holidays", "Beach 2019", "2019-08-12 Trip", "Oma", "ab", "Summer Trip 2019",
                                  "Backyard", "Camera club"])
def test_meaningful_folder_names_are_tags(name):
    assert not is_generic_folder(name)


def test_folder_tags_are_the_folders_between_root_and_file_with_their_case_kept():
    assert folder_tags("Holidays/DCIM/100APPLE/2019/Beach  Trip/IMG_1.jpg") == ["Holidays", "Beach Trip"]
    assert folder_tags("Summer Trip 2019/summer trip 2019/IMG_1.jpg") == ["Summer Trip 2019"]  # one tag
    assert folder_tags("IMG_1.jpg") == []  # a file directly in the root has no folder tags


def test_filename_brace_groups_are_trimmed_and_deduplicated_whatever_their_case():
    assert filename_tags("IMG_1 {Beach, family ,BEACH}.jpg") == ["Beach", "family"]
    assert filename_tags("a {x,} {  } b{Oma}.jpg") == ["x", "Oma"]
    assert filename_tags("Trip {folder}/plain.jpg") == []  # braces in folder names are not file-name tags


def test_auto_tags_name_both_origins_and_prefer_the_file_name():
    got = auto_tags("Family/Beach/IMG {beach,Sun}.jpg")
    assert [(t.name, t.origin) for t in got] == [("beach", "filename"), ("Sun", "filename"), ("Family", "folder")]


# ------------------------------------------------------------ at import --

def _import(app, src, *, force: bool = False):
    from mediaparser.usecases.importing import create_import_job

    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src), options={"force": True} if force else None)
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def test_import_writes_folder_and_filename_tags_with_the_results(app, tmp_path):
    src = tmp_path / "dump"
    (src / "Holidays" / "DCIM" / "100APPLE").mkdir(parents=True)
    (src / "Holidays" / "Beach").mkdir(parents=True)
    gen.jpeg(str(src / "Holidays" / "DCIM" / "100APPLE" / "IMG_0001.JPG"))
    gen.photo(seed=2).save(src / "Holidays" / "Beach" / "IMG {Beach, Family}.jpg", "JPEG")
    gen.photo(seed=3).save(src / "plain.jpg", "JPEG")
    job_id = _import(app, src)
    with app.app_context():
        rows = {r.rel_path: r.id for r in db.session.execute(
            select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        got = tag_service.tags_of(rows.values())
        by_path = {p: sorted((t["name"], t["origin"]) for t in got[i]) for p, i in rows.items()}
    assert by_path["Holidays/DCIM/100APPLE/IMG_0001.JPG"] == [("Holidays", "folder")]
    assert by_path["Holidays/Beach/IMG {Beach, Family}.jpg"] == [
        ("Beach", "filename"), ("Family", "filename"), ("Holidays", "folder")]
    assert by_path["plain.jpg"] == []


def test_importing_the_same_files_twice_does_not_duplicate_tags(app, tmp_path):
    src = tmp_path / "dump"
    (src / "Oma").mkdir(parents=True)
    gen.jpeg(str(src / "Oma" / "a {x}.jpg"))
    _import(app, src)
    _import(app, src)  # unchanged: skipped, so no second row and no new links
    with app.app_context():
        assert sorted(db.session.execute(select(Tag.name)).scalars()) == ["Oma", "x"]
        assert db.session.execute(select(FileTag)).scalars().all().__len__() == 2
    _import(app, src, force=True)  # listed again on purpose: a second row, linked to the same two tags
    with app.app_context():
        assert sorted(db.session.execute(select(Tag.name)).scalars()) == ["Oma", "x"]
        assert db.session.execute(select(FileTag)).scalars().all().__len__() == 4  # 2 tags × 2 imports' rows


# ------------------------------------------------------------ the API --

def test_add_remove_autocomplete_and_rename_through_the_api(app):
    ids = seed_files(app, 4)
    api = Api(app)
    r = api.post("/api/tags/add", {"ids": ids[:3], "tags": [" Beach ", "family"]})
    assert r.status_code == 200 and r.get_json() == {"files": 3, "added": 6, "tags": ["Beach", "family"]}
    assert api.post("/api/tags/add", {"ids": [ids[3]], "tags": ["BEACH", "bench"]}).status_code == 200
    # Autocomplete: prefix matches first, most used first.
    got = api.get("/api/tags?q=be").get_json()["tags"]
    assert got == [{"name": "Beach", "uses": 4}, {"name": "bench", "uses": 1}]
    assert api.get("/api/tags").get_json()["tags"][0] == {"name": "Beach", "uses": 4}
    # Bulk remove.
    r = api.post("/api/tags/remove", {"ids": ids[:2], "tags": ["beach"]})
    assert r.get_json()["removed"] == 2
    assert [t["name"] for t in api.get(f"/api/files/{ids[0]}/tags").get_json()["tags"]] == ["family"]
    # Rename to an existing tag merges: files with both keep one link.
    r = api.post("/api/tags/rename", {"from": "bench", "to": "BEACH"})
    assert r.get_json() == {"from": "bench", "to": "Beach", "files": 1, "merged": True, "into_files": 2,
                            "dry_run": False}
    with app.app_context():
        assert sorted(db.session.execute(select(Tag.name)).scalars()) == ["Beach", "family"]
    assert [t["name"] for t in api.get(f"/api/files/{ids[3]}/tags").get_json()["tags"]] == ["Beach"]
    # Plain rename.
    assert api.post("/api/tags/rename", {"from": "family", "to": "Familie"}).get_json()["merged"] is False
    assert [t["name"] for t in api.get(f"/api/files/{ids[0]}/tags").get_json()["tags"]] == ["Familie"]


def test_a_tag_keeps_its_case_and_is_matched_whatever_the_case(app):
    ids = seed_files(app, 3)
    api = Api(app)
    assert api.post("/api/tags/add", {"ids": ids[:2], "tags": ["Holiday 2019"]}).status_code == 200
    # Adding another spelling to a file that has it, or to another file, makes no second tag.
    assert api.post("/api/tags/add", {"ids": ids, "tags": ["holiday 2019"]}).get_json()["added"] == 1
    with app.app_context():
        assert [(t.name, t.key) for t in db.session.execute(select(Tag)).scalars()] == [
            ("Holiday 2019", "holiday 2019")]
    assert [t["name"] for t in api.get(f"/api/files/{ids[2]}/tags").get_json()["tags"]] == ["Holiday 2019"]
    # Autocomplete, the tag listing and the grid's filter ignore case.
    assert api.get("/api/tags?q=HOLI").get_json()["tags"] == [{"name": "Holiday 2019", "uses": 3}]
    assert api.get("/api/tags/list?q=DAY 20").get_json()["tags"] == [{"name": "Holiday 2019", "uses": 3}]
    with app.app_context():
        from mediaparser.library.filters import Filter

        flt = Filter.from_args({"tag": "HOLIDAY  2019"})
        found = db.session.execute(select(MediaFile.id).where(*flt.conditions())).scalars().all()
    assert sorted(found) == sorted(ids)
    # Only a new spelling of the same tag: a rename, not a merge.
    r = api.post("/api/tags/rename", {"from": "holiday 2019", "to": "HOLIDAY 2019"}).get_json()
    assert (r["from"], r["to"], r["merged"], r["files"]) == ("Holiday 2019", "HOLIDAY 2019", False, 3)
    assert [t["name"] for t in api.get(f"/api/files/{ids[0]}/tags").get_json()["tags"]] == ["HOLIDAY 2019"]
    # Removing matches whatever the case too; the unused tag goes.
    assert api.post("/api/tags/remove", {"ids": ids, "tags": ["holiday 2019"]}).get_json()["removed"] == 3
    with app.app_context():
        assert db.session.execute(select(Tag)).first() is None


def test_tag_api_refuses_bad_requests_and_requires_csrf(app):
    ids = seed_files(app, 1)
    api = Api(app)
    assert api.post("/api/tags/add", {"ids": ids, "tags": []}).status_code == 400
    assert api.post("/api/tags/add", {"ids": [999999], "tags": ["a"]}).status_code == 400
    assert api.post("/api/tags/rename", {"from": "nope", "to": "x"}).status_code == 400
    no_token = app.test_client().post("/api/tags/add", json={"ids": ids, "tags": ["a"]},
                                      headers={"Origin": "http://localhost"})
    assert no_token.status_code in (400, 403)
    with app.app_context():
        assert db.session.execute(select(Tag)).first() is None
