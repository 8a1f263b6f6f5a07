"""usecases.stacks: an import stores its stacks on the files, under the job's lease."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job
from mediaparser.usecases.stacks import stack_members

from tests.support import media as gen

DTO = "Exif.Photo.DateTimeOriginal"


def test_an_import_stacks_a_raw_with_its_jpeg_and_leaves_the_others_alone(app, tmp_path):
    src = tmp_path / "card"
    src.mkdir()
    when = datetime(2019, 8, 12, 14, 30, 25)
    gen.jpeg(str(src / "IMG_0001.JPG"), exif={DTO: "2019:08:12 14:30:25"})
    gen.crw(str(src / "IMG_0001.CRW"), when)
    gen.jpeg(str(src / "IMG_0002.JPG"), exif={DTO: "2019:08:12 14:31:00"})
    gen.crw(str(src / "IMG_0002.CRW"), datetime(2019, 8, 12, 14, 35, 0))  # minutes apart: two shots
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile)).scalars()}
        jpeg, raw = rows["IMG_0001.JPG"], rows["IMG_0001.CRW"]
        assert (jpeg.stack_id, jpeg.stack_kind, jpeg.stack_role) == (jpeg.id, "raw_jpeg", "jpeg")
        assert (raw.stack_id, raw.stack_kind, raw.stack_role) == (jpeg.id, "raw_jpeg", "raw")
        assert rows["IMG_0002.JPG"].stack_id is None and rows["IMG_0002.CRW"].stack_id is None
        members = stack_members([raw.id])
        assert [m.rel_path for m in members[jpeg.id]] == ["IMG_0001.JPG", "IMG_0001.CRW"]
