"""Honest precision to the archive (issue 10 item 6): dates a person types as "August 1987",
"1987", "summer 1987", "1990s" or a day keep their precision in the database, the manifest,
the XMP of the copy (read back with exiv2) and the archive name — no invented midnight."""
from __future__ import annotations

import json

from sqlalchemy import select

from mediaparser.media.embed import read_embedded
from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import JobStatus, MediaFile

from tests.support import media as gen
from tests.support.export import import_and_resolve
from tests.support.instance import outside_roots
from tests.support.web import Api


def test_typed_partial_dates_reach_the_manifest_the_xmp_and_the_archive_name(app, tmp_path):
    src = tmp_path / "scans"
    src.mkdir()
    typed = {"scan_01.jpg": "August 1987", "scan_02.jpg": "1987", "scan_03.jpg": "summer 1987",
             "scan_04.jpg": "1990s", "scan_05.jpg": "12.08.1987", "scan_06.jpg": "Aug 1987"}
    for i, name in enumerate(typed):
        # The scanner stamped the scan day into EXIF and XMP: the copy must not keep it.
        gen.jpeg(str(src / name), img=gen.photo(seed=40 + i),
                 exif={"Exif.Photo.DateTimeOriginal": "2015:03:02 10:00:00"},
                 xmp={"Xmp.xmp.CreateDate": "2015-03-02T10:00:00"})
    gen.heic(str(src / "scan_07.heic"), img=gen.photo(seed=60))
    typed["scan_07.heic"] = "May 1987"
    (src / "1988 trip").mkdir()  # a folder date: the year only, found by the analysis
    gen.photo(seed=70).save(src / "1988 trip" / "beach.png", "PNG")
    job_id, ids = import_and_resolve(app, src)
    api = Api(app)
    batches = {}
    for name, text in typed.items():
        r = api.post("/api/review/actions", {"action": "set_date", "ids": [ids[name]], "value": text})
        assert r.status_code == 200, (name, r.get_json())
        batches[name] = r.get_json()["batch_id"]
    # The history says what was typed and keeps the precision with each time.
    season = api.get(f"/api/review/batches/{batches['scan_03.jpg']}").get_json()
    assert "summer 1987" in season["summary"]
    assert (season["files"][0]["before_precision"], season["files"][0]["after_precision"]) == ("second", "year")

    expected = {  # name -> (precision, archive name, XMP date)
        "scan_01.jpg": ("month", "1987/19870800-001.jpg", "1987-08"),
        "scan_06.jpg": ("month", "1987/19870800-002.jpg", "1987-08"),
        "scan_02.jpg": ("year", "1987/19870000-001.jpg", "1987"),
        "scan_03.jpg": ("year", "1987/19870000-002.jpg", "1987"),
        "scan_04.jpg": ("decade", "1990s/1990s-001.jpg", None),
        "scan_05.jpg": ("day", "1987/19870812-001.jpg", "1987-08-12"),
        "scan_07.heic": ("month", "1987/19870500-001.heic", "1987-05"),
        "1988 trip/beach.png": ("year", "1988/19880000-001.png", "1988"),
    }
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        for name, (precision, _dest, _xmp) in expected.items():
            assert rows[name].precision == precision, name
        assert "summer 1987" in rows["scan_03.jpg"].review_note  # what was typed is kept in the note
        db.session.commit()

    out = outside_roots(tmp_path) / "archive"
    r = api.post(f"/api/imports/{job_id}/export", {"output": str(out)})
    assert r.status_code == 202, r.get_json()
    with app.app_context():
        assert tasks.process_export_job.call_local(r.get_json()["id"]) == JobStatus.COMPLETED
        db.session.remove()

    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    by_source = {line["source"].split("/scans/", 1)[-1]: line for line in lines}
    for name, (precision, dest, xmp) in expected.items():
        line = by_source[name]
        assert (line["precision"], line["destination"]) == (precision, dest), (name, line)
        copy = out / dest
        assert copy.is_file()
        if name.endswith(".heic"):
            got = read_embedded((out / (dest + ".xmp")).read_bytes()).tags
            got = {k: v for k, v in got.items() if k.startswith("Xmp.")}  # exiv2 adds a converted EXIF copy
        else:
            got = read_embedded(str(copy)).tags
        # Exactly what is known, in XMP; no EXIF time, no stale scan date (2015) anywhere.
        assert got == ({"Xmp.photoshop.DateCreated": xmp} if xmp else {}), (name, got)
    assert by_source["scan_01.jpg"]["captured_at"] == "1987-08-01T00:00:00"  # the stored value, with its precision
