"""Uploads: chunked, retry-safe, never overwriting, Unicode names kept,
hostile names refused, limits with clear messages, one import job each."""
from __future__ import annotations

import os
import unicodedata

import pytest

from mediaparser.store.db import db
from mediaparser.store.models import Job

from tests.support.instance import instance_env, make_images


@pytest.fixture
def web_env(tmp_path, backend):
    """Upload bookkeeping runs on SQLite and on PostgreSQL (when configured)."""
    return instance_env(tmp_path, backend)


def _start(api) -> str:
    r = api.post("/api/uploads", json={})
    assert r.status_code == 201
    return r.get_json()["id"]


def _register(api, uid: str, files: list[dict]) -> list[dict]:
    r = api.post(f"/api/uploads/{uid}/files", json={"files": files})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["files"]


def _send(api, uid: str, fid: int, data: bytes, chunk: int = 1000, start: int = 0):
    r = None
    for off in range(start, len(data), chunk):
        r = api.put(f"/api/uploads/{uid}/files/{fid}?offset={off}", data=data[off:off + chunk],
                    headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json() if r is not None else None


def test_a_folder_upload_keeps_relative_paths_and_becomes_one_import_job(api, web_app, tmp_path):
    pics = make_images(tmp_path / "src", 3)
    datas = [p.read_bytes() for p in pics]
    uid = _start(api)
    entries = _register(api, uid, [
        {"path": "Trip/day 1/a.jpg", "size": len(datas[0]), "last_modified": 1_565_612_345_000},
        {"path": "Trip/day 2/b.jpg", "size": len(datas[1]), "last_modified": 0},
        {"path": "Trip/c.jpg", "size": len(datas[2])},
    ])
    assert [e["path"] for e in entries] == ["Trip/day 1/a.jpg", "Trip/day 2/b.jpg", "Trip/c.jpg"]
    for e, data in zip(entries, datas):
        assert _send(api, uid, e["id"], data, chunk=777) == {"received": len(data), "complete": True}
    folder = web_app.extensions["mediaparser"].upload_dir / uid
    assert (folder / "Trip/day 1/a.jpg").read_bytes() == datas[0]
    # The browser's modification time is kept: it is a (weak) capture-time candidate.
    assert int(os.stat(folder / "Trip/day 1/a.jpg").st_mtime) == 1_565_612_345
    r = api.post(f"/api/uploads/{uid}/finish", json={})
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    with web_app.app_context():
        job = db.session.get(Job, job_id)
        assert job.source_path == str(folder.resolve()) and job.task_id
    # Finishing again (a retried request) gives the same job, not a second one.
    assert api.post(f"/api/uploads/{uid}/finish", json={}).get_json()["job_id"] == job_id
    # The upload is closed now: adding files is refused with a clear message.
    r = api.post(f"/api/uploads/{uid}/files", json={"files": [{"path": "late.jpg", "size": 1}]})
    assert r.status_code == 409 and "start a new upload" in r.get_json()["error"]
    assert not (web_app.extensions["mediaparser"].upload_dir / ".parts" / uid).exists()


def test_retrying_never_duplicates_a_file(api, web_app):
    data = os.urandom(5000)
    uid = _start(api)
    (e,) = _register(api, uid, [{"path": "IMG_0001.JPG", "size": 5000, "last_modified": 42}])
    _send(api, uid, e["id"], data[:3000], chunk=1000)
    # The connection dropped; the page registers the same file again and learns where to continue.
    (again,) = _register(api, uid, [{"path": "IMG_0001.JPG", "size": 5000, "last_modified": 42}])
    assert again["id"] == e["id"] and again["received"] == 3000 and not again["complete"]
    # A chunk whose answer was lost is sent again: harmless.
    r = api.put(f"/api/uploads/{uid}/files/{e['id']}?offset=2000", data=data[2000:3000])
    assert r.get_json() == {"received": 3000, "complete": False}
    # A chunk beyond what the server holds is refused with the offset to continue from.
    r = api.put(f"/api/uploads/{uid}/files/{e['id']}?offset=4000", data=data[4000:5000])
    assert r.status_code == 409 and r.get_json()["received"] == 3000
    _send(api, uid, e["id"], data, chunk=1000, start=3000)
    # After completion, a late duplicate of the last chunk changes nothing.
    r = api.put(f"/api/uploads/{uid}/files/{e['id']}?offset=4000", data=data[4000:5000])
    assert r.get_json() == {"received": 5000, "complete": True}
    folder = web_app.extensions["mediaparser"].upload_dir / uid
    assert sorted(os.listdir(folder)) == ["IMG_0001.JPG"]
    assert (folder / "IMG_0001.JPG").read_bytes() == data
    summary = api.get(f"/api/uploads/{uid}").get_json()
    assert summary["file_count"] == 1 and summary["complete_count"] == 1 and summary["incomplete"] == []


def test_same_named_files_never_overwrite_each_other(api, web_app):
    uid = _start(api)
    # Two different files with the same relative path (e.g. two dropped folders both called "DCIM").
    entries = _register(api, uid, [
        {"path": "DCIM/IMG_0001.JPG", "size": 3, "last_modified": 1},
        {"path": "DCIM/IMG_0001.JPG", "size": 4, "last_modified": 2},
        {"path": "DCIM/IMG_0001.JPG", "size": 3, "last_modified": 3},
        {"path": "noext", "size": 1}, {"path": "noext", "size": 2},
    ])
    assert [e["path"] for e in entries] == ["DCIM/IMG_0001.JPG", "DCIM/IMG_0001 (2).JPG", "DCIM/IMG_0001 (3).JPG",
                                            "noext", "noext (2)"]
    assert [e["renamed"] for e in entries] == [False, True, True, False, True]
    for e, data in zip(entries, [b"one", b"four", b"two", b"1", b"22"]):
        _send(api, uid, e["id"], data)
    folder = web_app.extensions["mediaparser"].upload_dir / uid / "DCIM"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == \
        {"IMG_0001.JPG": b"one", "IMG_0001 (2).JPG": b"four", "IMG_0001 (3).JPG": b"two"}


def test_unicode_names_are_kept_and_normalised(api, web_app):
    uid = _start(api)
    nfd = unicodedata.normalize("NFD", "Ürlaub/Straße café.jpg")
    entries = _register(api, uid, [{"path": nfd, "size": 2}, {"path": "日本/写真 😀.heic", "size": 2}])
    assert entries[0]["path"] == "Ürlaub/Straße café.jpg" and entries[0]["path"] == unicodedata.normalize("NFC", nfd)
    for e in entries:
        _send(api, uid, e["id"], b"ok")
    folder = web_app.extensions["mediaparser"].upload_dir / uid
    assert (folder / "Ürlaub" / "Straße café.jpg").exists() and (folder / "日本" / "写真 😀.heic").exists()


@pytest.mark.parametrize("name", [
    "../evil.jpg", "a/../../evil.jpg", "/etc/passwd", "C:\\Windows\\evil.jpg", "..\\..\\evil.jpg", "a/./b.jpg",
    "bad\x00name.jpg", "new\nline.jpg", "", "   ", "x" * 300 + ".jpg", "/".join(["d"] * 40) + "/f.jpg",
])
def test_hostile_names_are_refused_and_nothing_is_written_outside(api, web_app, name):
    uid = _start(api)
    (res,) = _register(api, uid, [{"path": name, "size": 1}])
    assert "error" in res and res["status"] == 400
    home = web_app.extensions["mediaparser"].home
    assert not (home.parent / "evil.jpg").exists() and not (home / "evil.jpg").exists()
    assert not any(p.name == "evil.jpg" for p in home.parent.rglob("evil.jpg"))


def test_other_files_of_a_batch_go_on_when_one_is_refused(api):
    uid = _start(api)
    res = _register(api, uid, [{"path": "../x.jpg", "size": 1}, {"path": "ok.jpg", "size": 1},
                               {"path": "neg.jpg", "size": -5}, {"path": "x.jpg", "size": "big"}])
    assert "error" in res[0] and res[1]["path"] == "ok.jpg" and "error" in res[2] and "error" in res[3]


def test_upload_ids_and_file_ids_in_urls_cannot_reach_anything_else(api, web_app):
    uid = _start(api)
    other = _start(api)
    (e,) = _register(api, other, [{"path": "a.jpg", "size": 2}])
    # A file id of another upload is not a file of this one.
    r = api.put(f"/api/uploads/{uid}/files/{e['id']}?offset=0", data=b"xx")
    assert r.status_code == 404
    for bad in ("..", "..%2f..%2fsecret_key", "%2e%2e", "A" * 32, "0" * 31, "g" * 32):
        assert api.get(f"/api/uploads/{bad}").status_code == 404, bad
        assert api.post(f"/api/uploads/{bad}/finish", json={}).status_code in (404, 405), bad
    assert api.put(f"/api/uploads/{uid}/files/1?offset=abc", data=b"x").status_code == 400


def test_limits_say_clearly_what_is_too_much(api, web_app):
    web_app.config.update(UPLOAD_MAX_FILE_BYTES=1000, UPLOAD_MAX_FILES=2, UPLOAD_MAX_CHUNK_BYTES=100,
                          UPLOAD_MAX_UPLOAD_BYTES=1500)
    uid = _start(api)
    res = _register(api, uid, [{"path": "huge.mov", "size": 5000}, {"path": "a.jpg", "size": 900},
                               {"path": "b.jpg", "size": 900}, {"path": "c.jpg", "size": 10},
                               {"path": "d.jpg", "size": 10}])
    assert res[0]["status"] == 413 and "up to 1000 bytes" in res[0]["error"]
    assert "path" in res[1]
    assert res[2]["status"] == 413 and "at most" in res[2]["error"] and "second upload" in res[2]["error"]
    assert "path" in res[3]
    assert res[4]["status"] == 413 and "at most 2 files" in res[4]["error"]
    r = api.put(f"/api/uploads/{uid}/files/{res[1]['id']}?offset=0", data=b"x" * 200)
    assert r.status_code == 413 and "chunks are at most" in r.get_json()["error"]
    r = api.put(f"/api/uploads/{uid}/files/{res[3]['id']}?offset=5", data=b"x" * 10)
    assert r.status_code == 416 and "past the end" in r.get_json()["error"]
    assert api.post(f"/api/uploads/{uid}/files", json={"files": [{}] * 2000}).status_code == 400


def test_finish_waits_for_incomplete_files_unless_told_to_skip_them(api, web_app):
    uid = _start(api)
    a, b = _register(api, uid, [{"path": "a.jpg", "size": 4}, {"path": "b.jpg", "size": 4}])
    _send(api, uid, a["id"], b"aaaa")
    _send(api, uid, b["id"], b"bb")
    r = api.post(f"/api/uploads/{uid}/finish", json={})
    assert r.status_code == 409 and "b.jpg" in r.get_json()["error"]
    # Still open: the missing bytes can come.
    assert api.get(f"/api/uploads/{uid}").get_json()["status"] == "open"
    r = api.post(f"/api/uploads/{uid}/finish", json={"skip_incomplete": True})
    assert r.status_code == 202
    folder = web_app.extensions["mediaparser"].upload_dir / uid
    assert sorted(os.listdir(folder)) == ["a.jpg"]
    empty = _start(api)
    r = api.post(f"/api/uploads/{empty}/finish", json={})
    assert r.status_code == 400 and "nothing to import" in r.get_json()["error"]


def test_discard_throws_the_upload_away(api, web_app):
    uid = _start(api)
    (a,) = _register(api, uid, [{"path": "a.jpg", "size": 4}])
    _send(api, uid, a["id"], b"aaaa")
    assert api.post(f"/api/uploads/{uid}/discard", json={}).status_code == 200
    assert not (web_app.extensions["mediaparser"].upload_dir / uid).exists()
    assert api.post(f"/api/uploads/{uid}/finish", json={}).status_code == 410


def test_empty_files_arrive_at_once(api, web_app):
    uid = _start(api)
    (e,) = _register(api, uid, [{"path": "empty.jpg", "size": 0}])
    assert e["complete"] is True
    assert (web_app.extensions["mediaparser"].upload_dir / uid / "empty.jpg").stat().st_size == 0


def test_uploads_abandoned_for_a_week_are_cleaned_up(api, web_app):
    from datetime import timedelta

    from mediaparser.store.models import Upload, utcnow

    old = _start(api)
    (a,) = _register(api, old, [{"path": "a.jpg", "size": 4}])
    _send(api, old, a["id"], b"aa")  # half-sent, then abandoned
    recent = _start(api)
    (b,) = _register(api, recent, [{"path": "b.jpg", "size": 4}])
    settings = web_app.extensions["mediaparser"]
    week_ago = (utcnow() - timedelta(days=8))
    stamp = week_ago.timestamp() - 3600 * 24  # file times in the past as well
    for root in (settings.upload_dir / old, settings.upload_dir / ".parts" / old):
        for dirpath, _d, files in os.walk(root):
            for name in files + [""]:
                os.utime(os.path.join(dirpath, name), (stamp, stamp))
    with web_app.app_context():
        for uid in (old, recent):
            db.session.get(Upload, uid).updated_at = week_ago
        db.session.commit()
    _start(api)  # starting any upload tidies up
    assert api.get(f"/api/uploads/{old}").get_json()["status"] == "discarded"
    assert not (settings.upload_dir / old).exists()
    # An upload whose bytes arrived recently is kept, whatever its row says.
    _send(api, recent, b["id"], b"bb")
    assert api.get(f"/api/uploads/{recent}").get_json()["status"] == "open"


def test_a_file_and_a_folder_of_the_same_name_in_one_batch_both_arrive(api, web_app):
    # "a.jpg" and "a.jpg/b.jpg" cannot both exist on disk: the file takes a numbered name, the folder keeps its own.
    uid = _start(api)
    entries = _register(api, uid, [{"path": "a.jpg", "size": 3}, {"path": "a.jpg/b.jpg", "size": 4}])
    assert [e["path"] for e in entries] == ["a (2).jpg", "a.jpg/b.jpg"]
    assert [e["renamed"] for e in entries] == [True, False]
    for e, data in zip(entries, [b"one", b"four"]):
        assert _send(api, uid, e["id"], data) == {"received": len(data), "complete": True}
    folder = web_app.extensions["mediaparser"].upload_dir / uid
    assert (folder / "a (2).jpg").read_bytes() == b"one" and (folder / "a.jpg" / "b.jpg").read_bytes() == b"four"


def test_a_folder_named_like_an_earlier_file_is_refused_for_that_file_only(api, web_app):
    uid = _start(api)
    (first,) = _register(api, uid, [{"path": "a.jpg", "size": 3}])
    _send(api, uid, first["id"], b"one")
    later = _register(api, uid, [{"path": "a.jpg/b.jpg", "size": 4}, {"path": "c.jpg", "size": 2},
                                 {"path": "a.jpg", "size": 5}])
    assert later[0]["status"] == 400 and "a.jpg is already a file of this upload" in later[0]["error"]
    assert later[1]["path"] == "c.jpg" and later[2]["path"] == "a (2).jpg"
    summary = api.get(f"/api/uploads/{uid}").get_json()
    assert summary["file_count"] == 3


def test_numbered_names_stay_within_the_file_systems_limit(api, web_app):
    uid = _start(api)
    long_name = "é" * 123 + "xyzw.jpeg"  # 246 + 9 = 255 bytes: the longest name a file system takes
    assert len(long_name.encode()) == 255
    entries = _register(api, uid, [{"path": f"d/{long_name}", "size": 2, "last_modified": n} for n in (1, 2, 3)])
    names = [e["path"].split("/")[1] for e in entries]
    assert names[0] == long_name
    assert all(len(n.encode()) <= 255 and n.endswith(".jpeg") for n in names), names
    assert names[1].endswith(" (2).jpeg") and names[2].endswith(" (3).jpeg") and len(set(names)) == 3
    for e in entries:
        assert _send(api, uid, e["id"], b"ok")["complete"] is True
    folder = web_app.extensions["mediaparser"].upload_dir / uid / "d"
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_numbered_names_never_cut_a_character_or_drop_the_extension():
    from mediaparser.usecases.uploads import MAX_NAME_BYTES, _numbered

    name = "😀" * 63 + "abc.jpg"  # 252 + 3 + 4 = 259 > 255 when numbered
    out = _numbered(f"x/{name}", 12)
    assert out.startswith("x/") and out.endswith(" (12).jpg")
    assert len(out[2:].encode()) <= MAX_NAME_BYTES and "\ufffd" not in out
    # An "extension" that leaves no room for the stem is not treated as one.
    odd = "a." + "b" * 253
    assert len(_numbered(odd, 2).encode()) <= MAX_NAME_BYTES and _numbered(odd, 2).endswith(" (2)")
    assert _numbered("noext", 2) == "noext (2)" and _numbered(".hidden", 3) == ".hidden (3)"


@pytest.mark.parametrize("field,value", [("size", 10**30), ("size", 2**63), ("last_modified", 10**30),
                                         ("last_modified", 2**63), ("last_modified", 253_402_300_800_000)])
def test_numbers_that_do_not_fit_are_a_clear_error_for_that_file_only(api, web_app, field, value):
    uid = _start(api)
    bad = {"path": "bad.jpg", "size": 1, field: value}
    res = _register(api, uid, [{"path": "good.jpg", "size": 2, "last_modified": 5}, bad,
                               {"path": "also good.jpg", "size": 2}])
    assert res[1]["status"] == 400 and res[1]["error"].startswith("bad.jpg: ")
    assert [res[0]["path"], res[2]["path"]] == ["good.jpg", "also good.jpg"]
    # Registering the same entry again (a retry) gives the same answer, still no 500.
    again = api.post(f"/api/uploads/{uid}/files", json={"files": [bad]})
    assert again.status_code == 200 and again.get_json()["files"][0]["status"] == 400


def test_file_ids_too_large_for_the_database_are_simply_not_found(api):
    uid = _start(api)
    for fid in (2**63, 10**30):
        r = api.put(f"/api/uploads/{uid}/files/{fid}?offset=0", data=b"x",
                    headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 404 and r.get_json()["error"]


def _upload_folder(api, files: dict[str, bytes], last_modified: int) -> int:
    """Upload `files` (relative path -> bytes) as the page does; the import job's id."""
    uid = _start(api)
    entries = _register(api, uid, [{"path": p, "size": len(d), "last_modified": last_modified}
                                   for p, d in files.items()])
    for e, data in zip(entries, files.values()):
        _send(api, uid, e["id"], data, chunk=4096)
    r = api.post(f"/api/uploads/{uid}/finish", json={})
    assert r.status_code == 202, r.get_data(as_text=True)
    return r.get_json()["job_id"]


def test_uploading_the_same_folder_again_skips_what_the_library_already_has(api, web_app, tmp_path):
    """The second upload of a folder gets a new folder on the server, but its files are the
    library's files: they are skipped with the folder import's reason instead of being analysed
    again as exact duplicates of themselves; only the new photo is imported."""
    from sqlalchemy import func, select

    from mediaparser.runtime import tasks
    from mediaparser.store.models import DupGroup, JobStatus, MediaFile
    from mediaparser.usecases.importing import ALREADY_IMPORTED

    pics = make_images(tmp_path / "src", 4)
    trip = {f"Trip/{p.name}": p.read_bytes() for p in pics[:3]}

    def run(job_id: int) -> Job:
        with web_app.app_context():
            assert tasks.process_import_job.call_local(job_id) == JobStatus.COMPLETED
            db.session.commit()
            job = db.session.get(Job, job_id, populate_existing=True)
            db.session.expunge(job)
            return job

    def counts() -> tuple[int, int]:
        with web_app.app_context():
            files = db.session.execute(select(func.count()).select_from(MediaFile)).scalar_one()
            groups = db.session.execute(select(func.count()).select_from(DupGroup)).scalar_one()
            db.session.commit()
            return files, groups

    first = run(_upload_folder(api, trip, 1_565_612_345_000))
    assert first.progress_total == 3 and first.skipped_count == 0
    before = counts()
    assert before[0] == 3
    # Again, from another computer (other modification times), with one new photo.
    again = dict(trip)
    again[f"Trip/{pics[3].name}"] = pics[3].read_bytes()
    second = run(_upload_folder(api, again, 1_600_000_000_000))
    assert second.progress_total == 1 and second.skipped_count == 3
    assert second.skipped[ALREADY_IMPORTED]["count"] == 3
    assert sorted(second.skipped[ALREADY_IMPORTED]["examples"]) == sorted(trip)
    assert counts() == (before[0] + 1, before[1]), "no file twice, no new duplicate group"
    # The job page's JSON says so, as for a server folder.
    body = api.get(f"/api/jobs/{second.id}").get_json()
    assert body["skipped_count"] == 3 and ALREADY_IMPORTED in body["skipped"]
