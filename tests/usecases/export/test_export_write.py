"""The export's write path: what is verified, what is written, and in which order it is made durable.

Each file's source is read once and checked against the analysed SHA-256,
the metadata is written into those bytes in memory, the result is written
once under a temporary name and read back; a batch is synced before any of
it is renamed into place, and the folders are synced before the database
records it (usecases/export/).
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle, tasks
from mediaparser.media.embed import EmbedError, embed_bytes, read_embedded, write_embedded
from mediaparser.store.models import ExportItem, ExportItemStatus, JobStatus, ManifestEntry, MediaFile
from mediaparser.usecases import export as exporter
from mediaparser.usecases.export import run as export_run

from tests.support import media as gen
from tests.support.export import digest, import_and_resolve, tree_digest
from tests.support.instance import outside_roots


def _photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"IMG_{i:04d}.jpg"
        gen.jpeg(str(p), img=gen.photo(seed=i + 1), exif={"Exif.Photo.DateTimeOriginal": f"2022:03:04 10:00:{i:02d}"})
        out.append(p)
    return out


def _export(app, import_job_id: int, out: Path) -> int:
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], import_job_id, output=str(out))
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def _items(export_id: int) -> dict[str, ExportItem]:
    """The export's items by their source's file name (a failed item has no destination)."""
    rows = db.session.execute(select(ExportItem, MediaFile.rel_path).join(MediaFile, MediaFile.id == ExportItem.file_id)
                              .where(ExportItem.job_id == export_id)).all()
    db.session.commit()
    return {os.path.basename(rel): item for item, rel in rows}


def _no_temps(out: Path) -> None:
    left = [p for p in out.rglob("*") if exporter.TEMP_PREFIX in p.name]
    assert not left, f"temporary files left behind: {left}"


def test_a_source_changed_since_the_import_is_not_exported(app, tmp_path):
    photos = _photos(tmp_path / "src", 4)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    # After the analysis: one file edited in place (same size), one grown.
    data = bytearray(photos[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    photos[1].write_bytes(bytes(data))
    with open(photos[2], "ab") as fh:
        fh.write(b"more")
    before = digest(photos)
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, job_id, out)
    with app.app_context():
        items = _items(export_id)
        entries = db.session.execute(select(ManifestEntry.destination).where(
            ManifestEntry.export_job_id == export_id)).scalars().all()
    failed = {name: i for name, i in items.items() if i.status == ExportItemStatus.FAILED}
    assert sorted(failed) == ["IMG_0001.jpg", "IMG_0002.jpg"]
    assert {i.reason for i in failed.values()} == {exporter.SOURCE_CHANGED}
    with app.app_context():  # the done screen: a plain sentence, what the export saw as the detail
        shown = exporter.export_summary(export_id)["failed_files"]
    assert [(f["reason"], f["detail"]) for f in shown] == [(
        "The file changed after MediaParser read it; import the folder again to pick up the new version.",
        exporter.SOURCE_CHANGED)] * 2
    assert not (out / "2022/20220304_100001.jpg").exists() and not (out / "2022/20220304_100002.jpg").exists()
    assert sorted(entries) == ["2022/20220304_100000.jpg", "2022/20220304_100003.jpg"]
    _no_temps(out)
    assert digest(photos) == before  # sources are only read


@pytest.mark.parametrize("damage", ["flip", "short", "extra"])
def test_a_copy_that_differs_on_disk_from_the_bytes_written_is_caught(app, tmp_path, monkeypatch, damage):
    """The copy is read back after writing: a write path that loses, changes or adds a byte fails the file."""
    photos = _photos(tmp_path / "src", 3)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    write_once = export_run._write_once

    def faulty(tmp, data, mtime):
        data = bytes(data)
        if b"2022:03:04 10:00:01" in data:  # the second photo, by the capture time written into it
            if damage == "flip":
                data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
            elif damage == "short":
                data = data[:-1]
            else:
                data += b"\0"
        return write_once(tmp, data, mtime)

    monkeypatch.setattr(export_run, "_write_once", faulty)
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, job_id, out)
    with app.app_context():
        items = _items(export_id)
    bad = items["IMG_0001.jpg"]
    assert bad.status == ExportItemStatus.FAILED and bad.reason == exporter.COPY_MISMATCH
    assert not (out / "2022/20220304_100001.jpg").exists()
    assert (out / "2022/20220304_100000.jpg").exists() and (out / "2022/20220304_100002.jpg").exists()
    _no_temps(out)
    assert photos[1].exists()


def test_the_in_memory_and_the_on_disk_paths_write_the_same_archive(app, tmp_path, monkeypatch):
    """Files too large for memory take the kernel-copy path; both must give identical files, since a
    redone file is recognised at its destination by its hash."""
    src = tmp_path / "src"
    _photos(src / "Trip", 3)
    gen.photo(seed=5).save(src / "scan {oma}.png", "PNG")
    gen.photo(seed=6).save(src / "page.tif", "TIFF")
    job_id, _ids = import_and_resolve(app, src)
    mem = outside_roots(tmp_path) / "in-memory"
    _export(app, job_id, mem)
    monkeypatch.setattr(export_run, "IN_MEMORY_MAX", 0)
    disk = outside_roots(tmp_path) / "on-disk"
    _export(app, job_id, disk)
    a, b = tree_digest(mem), tree_digest(disk)
    a.pop(exporter.MANIFEST_NAME), b.pop(exporter.MANIFEST_NAME)
    assert a == b and len(a) == 5
    assert read_embedded(str(mem / "2022/20220304_100000.jpg")).subject == ["Trip"]
    with app.app_context():
        finals = db.session.execute(select(ManifestEntry.destination, ManifestEntry.final_sha256).where(
            ManifestEntry.output_root == str(mem))).all()
    assert {d: h for d, h in finals} == a  # the recorded hash is the hash of the file on disk


def test_a_metadata_write_that_fails_keeps_the_verified_original_bytes(app, tmp_path, monkeypatch):
    photos = _photos(tmp_path / "src", 1)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")

    def broken(*_a, **_k):
        raise EmbedError("could not write metadata into the copy: test")

    monkeypatch.setattr(export_run, "embedded", broken)
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, job_id, out)
    copy = out / "2022/20220304_100000.jpg"
    assert copy.read_bytes() == photos[0].read_bytes()
    with app.app_context():
        item = _items(export_id)["IMG_0000.jpg"]
    assert item.status == ExportItemStatus.DONE and "kept without the corrected metadata" in item.reason
    assert item.final_sha256 == hashlib.sha256(photos[0].read_bytes()).hexdigest()


def test_copies_are_synced_before_their_rename_and_folders_before_the_commit(app, tmp_path, monkeypatch):
    """Crash guarantees with batched durability: no archive name for unsynced data, no manifest row
    for a rename that is not durable."""
    _photos(tmp_path / "src", 6)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    events: list[tuple[str, object]] = []
    synced: set[str] = set()
    real_sync, real_fsync_dir, real_checkpoint = export_run._sync, export_run._fsync_dir, lifecycle.checkpoint
    real_replace = os.replace

    def sync(paths):
        real_sync(paths)
        synced.update(str(p) for p in paths)

    def replace(a, b, *args, **kw):
        if exporter.TEMP_PREFIX in os.path.basename(str(a)):
            assert str(a) in synced, f"{a} renamed into place before it was synced"
            events.append(("rename", Path(b).parent))
        return real_replace(a, b, *args, **kw)

    def fsync_dir(path):
        events.append(("dir", Path(path)))
        real_fsync_dir(path)

    def checkpoint(lease, **kw):
        renamed = {p for kind, p in events if kind == "rename"}
        flushed = {p for kind, p in events if kind == "dir"}
        assert renamed <= flushed, "a batch is committed before its folders were synced"
        events.append(("commit", None))
        return real_checkpoint(lease, **kw)

    monkeypatch.setattr(export_run, "_sync", sync)
    monkeypatch.setattr(export_run, "_fsync_dir", fsync_dir)
    monkeypatch.setattr(lifecycle, "checkpoint", checkpoint)
    monkeypatch.setattr(os, "replace", replace)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job_id, out)
    assert sum(1 for kind, _ in events if kind == "rename") == 6
    assert ("commit", None) in events
    _no_temps(out)


@pytest.mark.parametrize("ext,save", [
    ("jpg", lambda img, p: gen.jpeg(str(p), img=img, exif={"Exif.Photo.DateTimeOriginal": "2019:01:01 00:00:00"})),
    ("png", lambda img, p: img.save(p, "PNG")),
    ("tif", lambda img, p: img.save(p, "TIFF")),
    ("webp", lambda img, p: img.save(p, "WEBP")),
])
def test_embedding_in_memory_gives_the_bytes_of_the_in_place_edit(tmp_path, ext, save):
    p = tmp_path / f"a.{ext}"
    save(gen.photo(seed=3), p)
    data = p.read_bytes()
    when = datetime(2020, 5, 6, 7, 8, 9)
    edited = embed_bytes(data, ext, when, 120, ["a", "bé"])
    assert p.read_bytes() == data  # the input is not touched
    write_embedded(str(p), ext, when, 120, ["a", "bé"])
    assert edited == p.read_bytes()
    back = read_embedded(edited)
    assert back.tags["Exif.Photo.DateTimeOriginal"] == "2020:05:06 07:08:09"
    assert back.tags["Exif.Photo.OffsetTimeOriginal"] == "+02:00"
    assert back.subject == ["a", "bé"]


def test_the_on_disk_copy_path_refuses_a_source_changed_since_the_import_too(app, tmp_path, monkeypatch):
    """Videos, formats written as they are and files too big for memory are copied by the kernel and
    the copy hashed: a source edited in place since the analysis (same size, other bytes) must be
    refused there as well, never archived."""
    photos = _photos(tmp_path / "src", 3)
    clip = Path(gen.video(str(tmp_path / "src" / "clip.mp4"), metadata={"creation_time": "2021-05-06T12:00:00Z"}))
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    for p in (photos[1], clip):
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
    before = digest([*photos, clip])
    monkeypatch.setattr(export_run, "IN_MEMORY_MAX", 0)  # every photo takes the kernel-copy path too
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, job_id, out)
    with app.app_context():
        items = _items(export_id)
        entries = db.session.execute(select(ManifestEntry.destination).where(
            ManifestEntry.export_job_id == export_id)).scalars().all()
    failed = {name: i.reason for name, i in items.items() if i.status == ExportItemStatus.FAILED}
    assert failed == {"IMG_0001.jpg": exporter.SOURCE_CHANGED, "clip.mp4": exporter.SOURCE_CHANGED}
    assert sorted(entries) == ["2022/20220304_100000.jpg", "2022/20220304_100002.jpg"]
    archived = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {exporter.MANIFEST_NAME}
    assert archived == set(entries)  # neither changed file (nor its sidecar) reached the archive
    _no_temps(out)
    assert digest([*photos, clip]) == before  # sources are only read
