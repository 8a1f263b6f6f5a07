"""A library that spans a century, for the screen-size tests: every page has something to show.

- import A: a real dump (dated photos, a video, a tagged name, an undated scan, a broken file, an
  exact copy) analysed by the real pipeline, its duplicate resolved, then exported for real: the
  job page, the export's done screen, its year folders and the files set aside have content;
- import B: real photos with an exact copy and a smaller copy, analysed and grouped, left open:
  the duplicates page has open groups and B's export page shows a plan that waits for them;
- import C: several hundred analysed rows (seeded, with real thumbnails) whose capture times run
  from 1919 to 2026 over hundreds of months, in folders that become tags, with long names, every
  confidence and both kinds; an export of it paused part-way: its export page shows the run;
- history: a shift, a set date and an undone confirmation, made through the review API, and tags
  added and renamed through the tags API.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from tests.support.export import import_and_resolve, make_dump
from tests.support.instance import outside_roots
from tests.support.photos import photo
from tests.support.web import Api, seed

FIRST_YEAR, LAST_YEAR = 1919, 2026
CENTURY_FILES = 420

# Folders of the seeded import: scans from grandparents, phone backups, messengers, a takeout.
FOLDERS = [
    "Scans/Opa Heinrich 1919-1950", "Scans/Oma Lotte Fotoalbum", "Dias 1970er/Urlaub Italien",
    "Handy Backup/DCIM/Camera", "WhatsApp/Media/WhatsApp Images",
    "Takeout/Google Fotos/Photos from 2019/Sommerurlaub an der Ostsee mit der ganzen Familie",
    "Kamera/2015-07-04 Hochzeit Anna und Jonas", "Video",
]
CONFIDENCES = ["high", "high", "medium", "low", "none"]


@dataclass
class Century:
    """Ids the pages are opened with."""

    dump_job: int      # import A: analysed, resolved, exported
    open_job: int      # import B: open duplicate groups
    century_job: int   # import C: 1919–2026
    export_job: int    # A's export
    paused_export: int  # C's export, paused at 137 of its files
    export_year: str   # a folder of A's export
    open_group: int    # an open duplicate group of B
    file_ids: list[int]  # C's files, in order


def _thumbnails(folder: Path, count: int = 16) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        # Landscape and portrait, one almost white (a tile must still look like a tile).
        size = (320, 240) if i % 3 else (180, 320)
        img = Image.new("RGB", size, (252, 252, 250)) if i == 5 else photo(300 + i, size)
        p = folder / f"century_{i:02d}.jpg"
        img.save(p, "JPEG", quality=80)
        out.append(p)
    return out


def _century_rows(thumbs: list[Path], count: int) -> list[dict]:
    rows = []
    span = LAST_YEAR - FIRST_YEAR + 1
    for i in range(count):
        year = FIRST_YEAR + (i * span) // count
        month, day = (i * 5) % 12 + 1, (i * 11) % 28 + 1
        confidence = CONFIDENCES[i % len(CONFIDENCES)]
        folder = FOLDERS[(year - FIRST_YEAR) * len(FOLDERS) // span]
        video = folder == "Video" or i % 17 == 0
        name = (f"VID_{year}{month:02d}{day:02d}_1{i % 10}0000.mp4" if video
                else f"IMG_{year}{month:02d}{day:02d}_{i:04d}.jpg")
        row = {
            "rel_path": f"{folder}/{name}", "thumbnail": str(thumbs[i % len(thumbs)]),
            "kind": "video" if video else "image", "extension": "mp4" if video else "jpg",
            "file_type": "MP4" if video else "JPEG", "width": 4032, "height": 3024, "size": 2_000_000 + i * 997,
            "confidence": confidence, "make": "Google" if i % 2 else "Canon", "model": "Pixel 7" if i % 2 else "EOS 5D",
            "captured_at": None if confidence == "none" else datetime(year, month, day, 8 + i % 12, i % 60, 0),
            "precision": None if confidence == "none" else "second",
            "time_source": None if confidence == "none" else ("filename" if confidence == "low" else "exif:DateTimeOriginal"),
            "duration": 12.5 if video else None,
        }
        rows.append(row)
    return rows


def _open_sources(folder: Path) -> None:
    folder.mkdir(parents=True)
    for s in range(3):
        photo(700 + s).save(folder / f"PXL_2023070{s + 1}_183015123.jpg", quality=92)
    shutil.copy(folder / "PXL_20230701_183015123.jpg", folder / "PXL_20230701_183015123 (1).jpg")
    big = photo(701)
    big.resize((big.width // 2, big.height // 2), Image.Resampling.LANCZOS).save(
        folder / "PXL_20230702_183015123-klein.jpg", quality=80)


def build(app, root: Path) -> Century:
    """Fill the app's (empty) library; `root` is the import root (instance_env(root))."""
    from sqlalchemy import select

    from mediaparser.runtime import tasks
    from mediaparser.store.db import db, write_transaction
    from mediaparser.store.models import DupGroup, Job, JobStatus, ManifestEntry
    from mediaparser.usecases import export as exporter, tagging as tag_service

    # A: a real dump, resolved and exported.
    make_dump(root / "Familie Dump")
    dump_job, _ids = import_and_resolve(app, root / "Familie Dump")
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], dump_job,
                                                output=str(outside_roots(root) / "archive"))
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        export_job = job.id
        folders = sorted({e.split("/", 1)[0] for (e,) in db.session.execute(
            select(ManifestEntry.destination).where(ManifestEntry.export_job_id == export_job))})
        db.session.commit()
    export_year = next(f for f in folders if f.isdigit())

    # B: open groups.
    _open_sources(root / "Handy Anna" / "Camera")
    open_job, _ids = import_and_resolve(app, root / "Handy Anna", resolve=False)
    with app.app_context():
        open_group = db.session.execute(select(DupGroup.id).where(DupGroup.status == "open")
                                        .order_by(DupGroup.id)).scalars().first()
        db.session.commit()
    assert open_group is not None, "import B made no duplicate group"

    # C: the century.
    thumbs = _thumbnails(app.extensions["mediaparser"].thumbnail_dir)
    rows = _century_rows(thumbs, CENTURY_FILES)
    file_ids = seed(app, rows, job_path=str(root / "Alte Festplatte"))
    file_job = _job_of(app, file_ids[0])
    with app.app_context(), write_transaction() as s:
        tag_service.record_auto_tags(s, [(fid, r["rel_path"]) for fid, r in zip(file_ids, rows)])

    # C's export, paused part-way (no worker runs in these tests; the page shows the run).
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], file_job,
                                                output=str(outside_roots(root) / "century archive"))
        paused_export = job.id
    with app.app_context(), write_transaction() as s:
        paused = s.get(Job, paused_export)
        paused.status, paused.progress_current = JobStatus.PAUSED, 137
        paused.current_item = rows[137]["rel_path"]

    # History and tags, the way the pages make them.
    api = Api(app)
    assert api.post("/api/review/actions", {"action": "shift", "ids": file_ids[3:9], "seconds": 3600}).status_code == 200
    assert api.post("/api/review/actions", {"action": "set_date", "ids": file_ids[10:12],
                                             "value": "1944-06-06 06:30"}).status_code == 200
    confirmed = api.post("/api/review/actions", {"action": "confirm", "ids": file_ids[20:60]})
    assert confirmed.status_code == 200
    assert api.post(f"/api/review/batches/{confirmed.get_json()['batch_id']}/undo").status_code == 200
    assert api.post("/api/tags/add", {"ids": file_ids[:30], "tags": ["Urgroßeltern", "Familienfeier"]}).status_code == 200
    assert api.post("/api/tags/rename", {"from": "familienfeier", "to": "Familienfest"}).status_code == 200
    return Century(dump_job=dump_job, open_job=open_job, century_job=file_job, export_job=export_job,
                   paused_export=paused_export, export_year=export_year, open_group=open_group, file_ids=file_ids)


def _job_of(app, file_id: int) -> int:
    from mediaparser.store.db import db
    from mediaparser.store.models import MediaFile

    with app.app_context():
        job = db.session.get(MediaFile, file_id).job_id
        db.session.commit()
        return job
