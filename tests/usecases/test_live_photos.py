"""Live Photos and Motion Photos through a real import: facts stored, stacks formed."""
from __future__ import annotations

from sqlalchemy import select

from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen

CID = "3F8E4C1A-2B7D-4E39-9A61-0C5D7E2F8B14"


def _import(app, src):
    job = create_import_job(app.extensions["mediaparser"], str(src))
    assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    return {r.rel_path: r for r in db.session.execute(select(MediaFile)).scalars()}


def test_an_import_pairs_live_photos_by_identifier_and_by_name_and_keeps_motion_photos_whole(app, tmp_path):
    src = tmp_path / "iphone"
    src.mkdir()
    # With the identifier, under names that do not match (a copy tool renamed the clip).
    gen.live_still(str(src / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", content_id=CID, burst_id="B" * 36)
    gen.live_clip(str(src / "clip-a.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                  utc="2019-08-12T12:30:24Z", content_id=CID)
    # Without it: the same base name, two seconds apart.
    gen.live_still(str(src / "IMG_0002.JPG"), dto="2019:08:12 15:00:00")
    gen.live_clip(str(src / "IMG_0002.MOV"), local_with_offset="2019-08-12T14:59:58+0200",
                  utc="2019-08-12T12:59:58Z")
    # Same name, minutes apart: not one Live Photo.
    gen.live_still(str(src / "IMG_0003.JPG"), dto="2019:08:12 16:00:00")
    gen.live_clip(str(src / "IMG_0003.MOV"), local_with_offset="2019-08-12T16:05:00+0200",
                  utc="2019-08-12T14:05:00Z")
    path, clip = gen.motion_photo(str(src / "PXL_20190812_143025.MP.jpg"))
    before = open(path, "rb").read()
    with app.app_context():
        rows = _import(app, src)
        still, mov = rows["IMG_0001.HEIC"], rows["clip-a.MOV"]
        assert (still.content_id, mov.content_id, still.burst_id) == (CID, CID, "B" * 36)
        assert (still.stack_id, still.stack_kind, still.stack_role) == (still.id, "live", "still")
        assert (mov.stack_id, mov.stack_kind, mov.stack_role) == (still.id, "live", "clip")
        jpg, mov2 = rows["IMG_0002.JPG"], rows["IMG_0002.MOV"]
        assert jpg.content_id is None and (mov2.stack_id, mov2.stack_role) == (jpg.id, "clip")
        assert rows["IMG_0003.JPG"].stack_id is None and rows["IMG_0003.MOV"].stack_id is None
        motion = rows["PXL_20190812_143025.MP.jpg"]
        assert motion.stack_id is None and motion.motion_offset == len(before) - len(clip)
        assert motion.size == len(before)
    assert open(path, "rb").read() == before  # the original is never touched
