"""A realistic dump for export tests: dated photos, exact duplicates, tags, a video, an undated file."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import DupGroup, DupMember, JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen


def make_dump(src: Path) -> dict[str, Path]:
    """Files with known capture times; returns name → path."""
    (src / "Holidays" / "DCIM").mkdir(parents=True)
    (src / "copies").mkdir()
    files = {
        # New York, 20:00 local on New Year's Eve: the archive name is the local time.
        "ny": gen.jpeg(str(src / "Holidays" / "DCIM" / "IMG_0001.JPG"), exif={
            "Exif.Photo.DateTimeOriginal": "2024:12:31 20:00:00", "Exif.Photo.OffsetTimeOriginal": "-05:00"}),
        "beach": gen.jpeg(str(src / "Holidays" / "IMG_0002 {beach,Family}.jpg"), exif={
            "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"}, img=gen.photo(seed=7)),
        "dup_a": gen.jpeg(str(src / "Holidays" / "IMG_0003.jpg"), exif={
            "Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"}, img=gen.photo(seed=9)),
        "png": str(src / "really_png.JPG"),
        "clip": gen.video(str(src / "clip.mp4"), metadata={"creation_time": "2021-05-06T12:00:00Z"}),
        "nodate": str(src / "scan {oma}.png"),
        "broken": str(src / "broken.jpg"),
        # Same name, different photo at the same second: gets _2.
        "same_second": gen.jpeg(str(src / "copies" / "other.jpg"), exif={
            "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"}, img=gen.photo(seed=11)),
    }
    gen.photo(seed=3).save(files["png"], "PNG")
    gen.photo(seed=4).save(files["nodate"], "PNG")
    Path(files["broken"]).write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    dup = src / "copies" / "IMG_0003 copy.jpg"
    dup.write_bytes(Path(files["dup_a"]).read_bytes())
    files["dup_b"] = str(dup)
    return {k: Path(v) for k, v in files.items()}


def digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def import_and_resolve(app, src: Path, *, resolve: bool = True) -> tuple[int, dict[str, int]]:
    """Import `src`; resolve every group by keeping its first member (by path). Returns (job id, rel_path → id)."""
    from mediaparser.usecases.duplicates import resolve_group

    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        ids = {r.rel_path: r.id for r in db.session.execute(
            select(MediaFile).where(MediaFile.job_id == job.id)).scalars()}
        if resolve:
            groups = db.session.execute(select(DupGroup)).scalars().all()
            for g in groups:
                members = db.session.execute(select(DupMember.file_id, MediaFile.rel_path)
                                             .join(MediaFile, MediaFile.id == DupMember.file_id)
                                             .where(DupMember.group_id == g.id)
                                             .order_by(MediaFile.rel_path.desc())).all()
                resolve_group(g.id, [members[0][0]], timezone="UTC")
        db.session.commit()
        return job.id, ids
