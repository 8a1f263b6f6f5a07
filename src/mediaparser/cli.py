"""The `mediaparser` command.

run       web UI plus one worker, embedded defaults; prints the URL
serve     the web UI only
worker    a background worker (Huey consumer with our defaults)
import    create an import job for a folder (--wait shows progress)
status    jobs and their progress (--json for scripts)
pause / resume / cancel JOB_ID
db upgrade
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time

import click

from .config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.load()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _app(settings: Settings | None = None):
    from .web import create_app

    try:
        return create_app(settings or _settings())
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_exposure(settings: Settings) -> None:
    if not _is_loopback(settings.host) and not settings.password:
        raise click.ClickException(
            f"refusing to listen on {settings.host}: anyone on the network could reach your photos. "
            "Set MEDIAPARSER_PASSWORD to require a login, or keep MEDIAPARSER_HOST=127.0.0.1.")


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise at every start


@click.group()
@click.version_option(package_name="mediaparser")
def main() -> None:
    """MediaParser: turn photo and video dumps into a clean, dated archive."""


# ------------------------------------------------------------------ servers --

def _serve(app, settings: Settings) -> None:
    from werkzeug.serving import make_server

    server = make_server(settings.host, settings.port, app, threaded=True)
    click.echo(f"MediaParser is running at http://{settings.host}:{server.server_port}/  (Ctrl+C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
def serve() -> None:
    """Serve the web UI and API (no worker)."""
    settings = _settings()
    _check_exposure(settings)
    _logging()
    _serve(_app(settings), settings)


@main.command()
@click.option("--threads", default=2, show_default=True, help="jobs that can run at the same time")
@click.option("--no-periodic", is_flag=True, help="do not run the reaper (when another worker does)")
@click.option("--shutdown-timeout", default=20.0, show_default=True,
              help="seconds a graceful stop (SIGTERM) waits for running jobs")
@click.option("--parent-pid", type=int, default=None, hidden=True,
              help="stop gracefully when this process ends (used by `run`)")
def worker(threads: int, no_periodic: bool, shutdown_timeout: float, parent_pid: int | None) -> None:
    """Run a background worker that processes import and export jobs."""
    from .jobs.worker import run_worker

    _logging()
    run_worker(_app(), threads=threads, periodic=not no_periodic, shutdown_timeout=shutdown_timeout,
               parent_pid=parent_pid)


@main.command()
def run() -> None:
    """Start the web UI and one worker on the embedded defaults."""
    settings = _settings()
    _check_exposure(settings)
    _logging()
    app = _app(settings)  # migrates before the worker starts
    # Its own session: Ctrl+C reaches only this process, which then stops the
    # worker gracefully with SIGTERM (a SIGINT would cut its jobs off).
    proc = subprocess.Popen([sys.executable, "-m", "mediaparser", "worker", "--parent-pid", str(os.getpid())],
                            env=os.environ.copy(), start_new_session=True)
    try:
        _serve(app, settings)
    finally:
        click.echo("stopping the worker…")
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --------------------------------------------------------------------- jobs --

def _print_job(summary: dict) -> None:
    p = summary["progress"]
    line = (f"job {summary['id']} {summary['type']} {summary['status']}: "
            f"{p['current']}/{p['total']} files, {summary['error_count']} errors")
    if summary.get("rate_per_second"):
        line += f", {summary['rate_per_second']:.1f} files/s"
    if summary.get("eta_seconds") is not None:
        line += f", ETA {summary['eta_seconds']:.0f} s"
    if summary.get("path"):
        line += f"  [{summary['path']}]"
    click.echo(line)
    if summary.get("error_message"):
        click.echo(f"  {summary['error_message']}")


@main.command("import")
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--wait", is_flag=True, help="show progress until the job ends; exit 1 if it did not complete")
@click.option("--force", is_flag=True, help="analyse again files an earlier import already analysed")
def import_(path: str, wait: bool, force: bool) -> None:
    """Import a folder: every photo and video below it is analysed."""
    from .services import jobs as job_service
    from .services.importer import ImportRefused

    settings = _settings()
    app = _app(settings)
    with app.app_context():
        try:
            # The operator at the server's shell may import any folder; the
            # import-roots rule protects the web UI.
            job = job_service.start_import(settings, os.path.abspath(path), check_roots=False, force=force)
        except ImportRefused as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"import job {job.id} created for {job.source_path}")
        if not wait:
            return
        _wait_for(job.id)


def _wait_for(job_id: int) -> None:
    from .models import JobStatus
    from .services import jobs as job_service
    from .db import db
    from .jobs import lifecycle

    started = time.monotonic()
    warned = False
    last_line = ""
    while True:
        job = job_service.get_job(job_id)
        summary = job_service.job_summary(job)
        workers = lifecycle.live_workers()
        db.session.commit()
        p = summary["progress"]
        pct = (100.0 * p["current"] / p["total"]) if p["total"] else 0.0
        bar = "#" * int(pct / 4)
        line = f"\r[{bar:<25}] {p['current']}/{p['total']} {summary['status']:<9} errors {summary['error_count']}"
        if summary.get("rate_per_second"):
            line += f"  {summary['rate_per_second']:.1f}/s"
        if line != last_line:
            click.echo(line.ljust(90), nl=False)
            last_line = line
        if summary["status"] in JobStatus.FINISHED:
            click.echo()
            _print_job(job_service.job_summary(job))
            if summary["status"] != JobStatus.COMPLETED:
                sys.exit(1)
            return
        if not workers and not warned and time.monotonic() - started > 5:
            click.echo("\nno worker is running — start one with `mediaparser worker` (or use `make run`)", err=True)
            warned = True
        time.sleep(0.5)


@main.command()
@click.argument("job_id", required=False, type=int)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(job_id: int | None, as_json: bool) -> None:
    """Show one job, or the most recent jobs."""
    from .services import jobs as job_service

    app = _app()
    with app.app_context():
        if job_id is not None:
            job = job_service.get_job(job_id)
            if job is None:
                raise click.ClickException(f"job {job_id} does not exist")
            summary = job_service.job_summary(job, with_errors=True)
            if as_json:
                click.echo(json.dumps(summary, indent=2))
            else:
                _print_job(summary)
                for e in summary.get("errors", []):
                    click.echo(f"  ! {e['path']}: {e['error']}")
            return
        ok, health = job_service.health()
        summaries = [job_service.job_summary(j) for j in job_service.list_jobs(limit=20)]
        if as_json:
            click.echo(json.dumps({"health": health, "jobs": summaries}, indent=2))
            return
        click.echo(f"workers alive: {len(health['workers'])}" + ("" if ok else f" — {health.get('message', '')}"))
        if not summaries:
            click.echo("no jobs yet — try `mediaparser import FOLDER --wait`")
        for s in summaries:
            _print_job(s)


def _control(action: str, job_id: int) -> None:
    from .jobs.lifecycle import InvalidTransition
    from .services import jobs as job_service

    app = _app()
    with app.app_context():
        try:
            job = job_service.control(job_id, action)
        except (LookupError, InvalidTransition) as exc:
            raise click.ClickException(str(exc)) from exc
        _print_job(job_service.job_summary(job))


@main.command()
@click.argument("job_id", type=int)
def pause(job_id: int) -> None:
    """Pause a job (it stops within about a second)."""
    _control("pause", job_id)


@main.command()
@click.argument("job_id", type=int)
def resume(job_id: int) -> None:
    """Resume a paused (or failed) job where it stopped."""
    _control("resume", job_id)


@main.command()
@click.argument("job_id", type=int)
def cancel(job_id: int) -> None:
    """Cancel a job; files already processed stay recorded."""
    _control("cancel", job_id)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--threshold", type=click.IntRange(0, 128), default=None,
              help="largest pHash+dHash distance (0-128) that still counts as similar [default: 20]")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="all cores", help="analysis processes for files the library does not know")
def duplicates(paths: tuple[str, ...], as_json: bool, threshold: int | None, workers: int) -> None:
    """Find exact and near-duplicate photos under PATHS, with a recommended keeper for each group."""
    from .media.similarity import DEFAULT_MAX_DISTANCE, SimilarityParams
    from .services.duplicates import groups_for_paths

    settings = _settings()
    params = SimilarityParams(max_distance=DEFAULT_MAX_DISTANCE if threshold is None else threshold,
                              workers=min(workers, 4))
    app = _app(settings)
    with app.app_context():
        report = groups_for_paths(list(paths), params, timezone=settings.timezone, workers=workers)
    if as_json:
        click.echo(json.dumps({"files": report.files, "from_library": report.from_library,
                               "analysed": report.analysed, "errors": report.errors,
                               "groups": [g.to_dict() for g in report.groups]}, indent=2, ensure_ascii=False))
        return
    for g in report.groups:
        members = g.to_dict()["members"]
        click.echo(f"{g.kind} group, confidence {g.confidence_label} ({g.confidence:.2f}), {len(members)} files")
        for m in members:
            mark = "keep" if m["recommended_keeper"] else "    "
            size = f"{m['width']}×{m['height']}" if m["width"] else "?×?"
            when = m["capture_time"] or "no capture time"
            extra = f"  (already archived as {', '.join(m['archived_as'])})" if m["archived_as"] else ""
            click.echo(f"  {mark} {m['path']}  {size}  {(m['bytes'] or 0) / 1e6:.1f} MB  {m['format']}  "
                       f"{when}  distance {m['distance']}{extra}")
        click.echo(f"  why: {g.recommendation.reason_text}")
    click.echo(f"{report.files} files ({report.from_library} known to the library, {report.analysed} analysed now), "
               f"{len(report.groups)} groups, {len(report.errors)} errors", err=True)
    for e in report.errors:
        click.echo(f"  ! {e['path']}: {e['error']}", err=True)


from .cli_analyze import analyze_command  # noqa: E402  (the analysis command lives beside media/)

main.add_command(analyze_command)


# ----------------------------------------------------------------------- db --

@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply schema migrations (also done automatically at start-up)."""
    from .migrate import upgrade

    rev = upgrade(_settings(), revision)
    click.echo(f"database at revision {rev}")
