"""The HTML pages. Each is a thin shell: the page's ES module fills it from the JSON API.

/            → the review grid when files have been analysed, else the import page
/import      upload files and folders, or pick a server folder
/jobs        every job, live
/jobs/<id>   one job's progress panel
/review      the grid, filters, month timeline, selection, examination view
/history     every decision, with undo
/settings    output folder, time zone, import roots, archive layout
/duplicates  duplicate and similar groups, one group side by side, the files set aside
/tags        every tag with its use count: rename or merge
/export      choose an import; /export/<id>: its plan (dry run), the export's progress and done screen,
             and the clean-up of its originals
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, MediaFile
from mediaparser.usecases import folders, jobs as job_service, settings_store
from mediaparser.usecases.uploads import Limits
from mediaparser.web.context import current_settings

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    any_file = db.session.execute(select(MediaFile.id).where(MediaFile.status != FileStatus.PENDING).limit(1)).first()
    db.session.commit()
    return redirect(url_for("pages.review" if any_file else "pages.import_page"))


@bp.get("/import")
def import_page():
    settings = current_settings()
    tz = settings_store.timezone_info(settings)
    return render_template("import.html", page="import", roots=folders.roots(settings),
                           limits=Limits.from_config(current_app.config),
                           # "Where were most of these taken?", asked once while nobody chose a zone
                           zone_question=tz["ask"], zone=settings.timezone, zone_words=tz["words"],
                           zones=settings_store.time_zones() if tz["ask"] else [])


@bp.get("/jobs")
def jobs_page():
    return render_template("jobs.html", page="jobs", upload_dir=str(current_settings().upload_dir.resolve()))


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int):
    job = job_service.get_job(job_id)
    if job is None:
        abort(404)
    return render_template("job.html", page="jobs", job=job_service.job_summary(job),
                           upload_dir=str(current_settings().upload_dir.resolve()))


@bp.get("/review")
def review():
    return render_template("review.html", page="review")


@bp.get("/history")
def history():
    return render_template("history.html", page="history")


@bp.get("/settings")
def settings_page():
    current = settings_store.current(current_settings())
    zones = settings_store.time_zones()
    if current["timezone"] not in zones:  # a zone from the system or a file that the list leaves out
        zones = sorted([*zones, current["timezone"]])
    return render_template("settings.html", page="settings", current=current, zones=zones)


@bp.get("/duplicates")
def duplicates():
    return render_template("duplicates.html", page="duplicates")


@bp.get("/tags")
def tags_page():
    return render_template("tags.html", page="tags")


@bp.get("/export")
def export_index():
    return render_template("export_index.html", page="export")


@bp.get("/export/<int:job_id>")
def export_page(job_id: int):
    job = job_service.get_job(job_id)
    if job is None:
        abort(404)
    return render_template("export.html", page="export", job=job_service.job_summary(job))


@bp.get("/export/<int:job_id>/year/<path:folder>")
def export_year(job_id: int, folder: str):
    """One folder (a year, or unknown/) of an import's export: the files put there, from the manifest.

    ?export=ID picks the export; by default the import's latest completed one.
    """
    from flask import request

    from mediaparser.usecases import archive

    job = job_service.get_job(job_id)
    if job is None:
        abort(404)
    try:
        export_id = int(request.args.get("export") or 0) or archive.latest_export_id(job_id, completed=True)
    except ValueError:
        abort(404)
    return render_template("export_year.html", page="export", job=job_service.job_summary(job),
                           folder=folder.strip("/"), export_id=export_id)
