"""The `mediaparser` command.

run       web UI plus one worker, embedded defaults; prints the URL
serve     the web UI only
worker    a background worker (Huey consumer with our defaults; --concurrency, --health-port)
health    ask a worker's health port whether it is healthy (exit 0) or not (exit 1)
import    create an import job for a folder (--wait shows progress)
export    export an import's files to the archive (--dry-run shows the plan)
clean-sources  delete originals whose export is verified (--yes; without it, lists them)
status    jobs and their progress (--json for scripts)
pause / resume / cancel JOB_ID
db upgrade
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import click

from mediaparser.config import ConfigError, Settings, is_loopback


def _settings() -> Settings:
    try:
        return Settings.load()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _app(settings: Settings | None = None):
    from mediaparser.web import create_app

    try:
        return create_app(settings or _settings())
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _core_app(settings: Settings | None = None):
    """The job engine's app (no blueprints): what `worker` runs its tasks in."""
    from mediaparser.runtime.app import create_core_app

    try:
        return create_core_app(settings or _settings())
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc


def _existing_app() -> tuple:
    """The app of an instance that already exists, and a line naming it.

    For commands that read or act on what is already there (status, pause,
    export, clean-sources…): run from the wrong folder they must not quietly
    make a new, empty instance and report "no jobs yet". When there is none
    where we looked, say where that was and exit non-zero; nothing is created.
    """
    from mediaparser.store.migrate import describe_database, existing_revision

    settings = _settings()
    where = f"instance {settings.home} (database {describe_database(settings)})"
    try:
        revision = existing_revision(settings)
    except Exception as exc:  # an unreachable server, a file that is not a database
        raise click.ClickException(f"cannot read the {where}: {exc}") from exc
    if revision is None:
        raise click.ClickException(
            f"no MediaParser instance at {settings.home} (no database {describe_database(settings)}); "
            "nothing was created. Run the command from the folder that holds your `instance` folder, "
            "or set MEDIAPARSER_HOME to it.")
    return _app(settings), settings, where


def _check_exposure(settings: Settings) -> None:
    if not is_loopback(settings.host) and not settings.password:
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

    from mediaparser.web import ready_to_serve

    server = make_server(settings.host, settings.port, app, threaded=True)
    click.echo(f"MediaParser is running at http://{settings.host}:{server.server_port}/  (Ctrl+C stops it)")
    ready_to_serve()
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
@click.option("--concurrency", "--threads", "concurrency", type=click.IntRange(1, 256), default=None,
              help="jobs (or chunks of a job) this worker runs at the same time "
                   "[default: MEDIAPARSER_WORKER_CONCURRENCY, else 2]")
@click.option("--health-port", type=click.IntRange(0, 65535), default=None,
              help="answer HTTP health questions about this worker on this port, 0 = off "
                   "[default: MEDIAPARSER_WORKER_HEALTH_PORT, else 0]")
@click.option("--health-host", default=None,
              help="address the health port listens on [default: MEDIAPARSER_WORKER_HEALTH_HOST, else 127.0.0.1]")
@click.option("--no-periodic", is_flag=True, help="do not run the reaper (when another worker does)")
@click.option("--shutdown-timeout", default=20.0, show_default=True,
              help="seconds a graceful stop (SIGTERM) waits for running jobs")
@click.option("--parent-pid", type=int, default=None, hidden=True,
              help="stop gracefully when this process ends (used by `run`)")
def worker(concurrency: int | None, health_port: int | None, health_host: str | None, no_periodic: bool,
           shutdown_timeout: float, parent_pid: int | None) -> None:
    """Run a background worker that processes import and export jobs."""
    from mediaparser.runtime.worker import HealthPortUnavailable, run_worker

    settings = _settings()
    _logging()
    try:
        run_worker(_core_app(settings),
                   threads=concurrency if concurrency is not None else settings.worker_concurrency,
                   periodic=not no_periodic, shutdown_timeout=shutdown_timeout, parent_pid=parent_pid,
                   health_port=health_port if health_port is not None else settings.worker_health_port,
                   health_host=health_host or settings.worker_health_host)
    except HealthPortUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="the worker's health port [default: MEDIAPARSER_WORKER_HEALTH_PORT]")
@click.option("--host", default=None, help="the worker's address [default: MEDIAPARSER_WORKER_HEALTH_HOST, else 127.0.0.1]")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="seconds to wait for the answer")
def health(port: int | None, host: str | None, timeout: float) -> None:
    """Ask a worker whether it is healthy: prints its answer; exit 0 when healthy, 1 when not.

    For container healthchecks and monitoring (`mediaparser worker --health-port`)."""
    import urllib.error
    import urllib.request

    settings = _settings()
    port = port or settings.worker_health_port
    if not port:
        raise click.ClickException("no health port: give --port, or set MEDIAPARSER_WORKER_HEALTH_PORT "
                                   "(the worker must be started with the same one)")
    host = host or settings.worker_health_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # a worker listening everywhere answers on this machine too
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            click.echo(r.read().decode())
            return
    except urllib.error.HTTPError as exc:  # 503: the worker answered, and it is not healthy
        click.echo(exc.read().decode())
        sys.exit(1)
    except OSError as exc:
        click.echo(f"no answer from the worker at {url}: {getattr(exc, 'reason', None) or exc}", err=True)
        sys.exit(1)


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
    for reason, slot in (summary.get("skipped") or {}).items():
        click.echo(f"  skipped ({reason}): {slot['count']}")
    if summary.get("warning_count"):
        click.echo(f"  analysed with warnings: {summary['warning_count']} "
                   f"({summary.get('no_preview_count', 0)} without a preview: their picture could not be decoded, "
                   "they are kept and archived as they are)")
    if summary.get("error_message"):
        click.echo(f"  {summary['error_message']}")


@main.command("import")
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--wait", is_flag=True, help="show progress until the job ends; exit 1 if it did not complete")
@click.option("--force", is_flag=True, help="list and analyse again files an earlier import already has (they then appear twice)")
def import_(path: str, wait: bool, force: bool) -> None:
    """Import a folder: every photo and video below it is analysed."""
    from mediaparser.runtime.tasks import submit
    from mediaparser.usecases import jobs as job_service
    from mediaparser.usecases.importing import ImportRefused

    settings = _settings()
    app = _app(settings)
    with app.app_context():
        try:
            # The operator at the server's shell may import any folder; the
            # import-roots rule protects the web UI.
            job = job_service.start_import(settings, os.path.abspath(path), check_roots=False, force=force)
        except ImportRefused as exc:
            raise click.ClickException(str(exc)) from exc
        submit(job)
        click.echo(f"import job {job.id} created for {job.source_path}")
        if not wait:
            return
        _wait_for(job.id)


def _wait_for(job_id: int) -> None:
    from mediaparser.store.models import JobStatus
    from mediaparser.usecases import jobs as job_service
    from mediaparser.store.db import db
    from mediaparser.runtime import lifecycle

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
            _print_job(job_service.job_summary(job, with_errors=True))
            if summary["status"] != JobStatus.COMPLETED:
                sys.exit(1)
            return
        if not workers and not warned and time.monotonic() - started > 5:
            click.echo("\nno worker is running — start one with `mediaparser worker` (or use `make run`)", err=True)
            warned = True
        time.sleep(0.5)


def _print_plan(plan: dict) -> None:
    click.echo(f"export of import {plan['import_job_id']} to {plan['output']} (layout {plan['layout']})")
    click.echo(f"  {plan['to_copy']} to copy, {plan['already_present']} already in the archive, "
               f"{plan['skipped_count']} skipped, {plan['unknown']} without a capture time (to unknown/)")
    for f in plan["folders"]:
        click.echo(f"  {f['folder']}/: {f['count']} file(s), e.g. {f['example']}")
    for c in plan["collisions"]:
        click.echo(f"  name taken: {c['source']} → {c['destination']}")
    for reason, slot in plan["skipped"].items():
        click.echo(f"  skipped ({reason}): {slot['count']}, e.g. {', '.join(slot['examples'][:3])}")
    for w in plan["warnings"]:
        click.echo(f"  warning: {w}")


@main.command()
@click.argument("job_id", type=int)
@click.option("--dry-run", is_flag=True, help="show the plan (what goes where, what is skipped) and copy nothing")
@click.option("--output", "output", type=click.Path(file_okay=False), default=None,
              help="archive folder (default: the configured output)")
@click.option("--wait", is_flag=True, help="show progress until the job ends; exit 1 if it did not complete")
@click.option("--allow-unresolved", is_flag=True, help="export although duplicate groups are not resolved")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON (with --dry-run)")
def export(job_id: int, dry_run: bool, output: str | None, wait: bool, allow_unresolved: bool,
           as_json: bool) -> None:
    """Export the files of import JOB_ID to the archive."""
    from mediaparser.media.layout import LayoutError
    from mediaparser.runtime.tasks import submit
    from mediaparser.usecases import export as exporter

    app, settings, _ = _existing_app()
    with app.app_context():
        try:
            if dry_run:
                plan = exporter.build_plan(settings, job_id, output=os.path.abspath(output) if output else None)
                if as_json:
                    click.echo(json.dumps(plan.to_dict(), indent=2))
                else:
                    _print_plan(plan.to_dict())
                return
            job = exporter.start_export(settings, job_id, output=os.path.abspath(output) if output else None,
                                        allow_unresolved=allow_unresolved)
            submit(job)  # the use case created the job; a worker runs it
        except (LookupError, exporter.ExportRefused, LayoutError) as exc:
            raise click.ClickException(str(exc).strip("'\"")) from exc
        click.echo(f"export job {job.id} created: import {job_id} → {job.options['output']}")
        if not wait:
            return
        try:
            _wait_for(job.id)
        finally:
            s = exporter.export_summary(job.id)
            click.echo(f"  {s['copied']} copied, {s['already_present']} already present, {s['skipped']} skipped, "
                       f"{s['failed']} failed; output {s['output']}")
            for f in s["failed_files"]:
                click.echo(f"  ! {f['source']}: {f['reason']}")
                if f.get("detail") and f["detail"] != f["reason"]:
                    click.echo(f"      details: {f['detail']}")


@main.command("clean-sources")
@click.argument("job_id", type=int)
@click.option("--yes", is_flag=True, help="really delete; without it the files are only listed")
@click.option("--working-copies", is_flag=True,
              help="also delete uploaded working copies (and their thumbnails) whose export is verified")
def clean_sources(job_id: int, yes: bool, working_copies: bool) -> None:
    """Delete the originals of import JOB_ID whose export is verified in the manifest."""
    from mediaparser.usecases import cleanup

    app, settings, _ = _existing_app()
    with app.app_context():
        try:
            plan = cleanup.plan_cleanup(settings, job_id, working_copies=working_copies)
        except LookupError as exc:
            raise click.ClickException(str(exc).strip("'\"")) from exc
        for reason, paths in plan.kept.items():
            click.echo(f"kept ({reason}): {len(paths)}")
        if not yes:
            for d in plan.deletable:
                click.echo(f"would delete {d.path}  (archived as {d.archived_as})")
            click.echo(f"{len(plan.deletable)} file(s) would be deleted; run again with --yes to delete them")
            return
        result = cleanup.delete_sources(settings, job_id, working_copies=working_copies)
        for p in result.deleted:
            click.echo(f"deleted {p}")
        for p, why in result.refused.items():
            click.echo(f"left {p}: {why}", err=True)
        click.echo(f"{len(result.deleted)} file(s) deleted")


@main.command()
@click.argument("job_id", required=False, type=int)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(job_id: int | None, as_json: bool) -> None:
    """Show one job, or the most recent jobs."""
    from mediaparser.runtime import control
    from mediaparser.usecases import jobs as job_service

    app, settings, where = _existing_app()
    if not as_json:
        click.echo(where)
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
                    if e.get("error_detail") and e["error_detail"] != e["error"]:
                        click.echo(f"      details: {e['error_detail']}")
            return
        ok, health = control.health()
        summaries = [job_service.job_summary(j) for j in job_service.list_jobs(limit=20)]
        if as_json:
            click.echo(json.dumps({"instance": str(settings.home), "health": health, "jobs": summaries}, indent=2))
            return
        click.echo(f"workers alive: {len(health['workers'])}" + ("" if ok else f" — {health.get('message', '')}"))
        if not summaries:
            click.echo("no jobs yet — try `mediaparser import FOLDER --wait`")
        for s in summaries:
            _print_job(s)


def _control(action: str, job_id: int) -> None:
    from mediaparser.runtime import control
    from mediaparser.runtime.lifecycle import InvalidTransition
    from mediaparser.usecases import jobs as job_service

    app, _, _ = _existing_app()
    with app.app_context():
        try:
            job = control.control(job_id, action)
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
    from mediaparser.media.similarity import DEFAULT_MAX_DISTANCE, SimilarityParams
    from mediaparser.usecases.duplicates import groups_for_paths

    settings = _settings()
    params = SimilarityParams(max_distance=DEFAULT_MAX_DISTANCE if threshold is None else threshold,
                              workers=min(workers, 4))
    from mediaparser.store.migrate import existing_revision

    if existing_revision(settings) is None:
        # Comparing files needs no library: do not make an empty instance just to consult it.
        click.echo(f"no MediaParser instance at {settings.home}: comparing the files only, "
                   "without what a library knows", err=True)
        report = groups_for_paths(list(paths), params, timezone=settings.timezone, workers=workers,
                                  use_library=False)
    else:
        app = _app(settings)
        with app.app_context():
            report = groups_for_paths(list(paths), params, timezone=settings.timezone, workers=workers)
    if as_json:
        click.echo(json.dumps({"files": report.files, "from_library": report.from_library,
                               "analysed": report.analysed, "errors": report.errors,
                               "groups": [g.to_dict() for g in report.groups], "stacks": report.stacks},
                              indent=2, ensure_ascii=False))
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
    for st in report.stacks:
        click.echo(f"{st['kind']} stack of {len(st['members'])} files, led by {st['lead']}")
    click.echo(f"{report.files} files ({report.from_library} known to the library, {report.analysed} analysed now), "
               f"{len(report.groups)} groups, {len(report.stacks)} stacks, {len(report.errors)} errors", err=True)
    for e in report.errors:
        click.echo(f"  ! {e['path']}: {e['error']} (details: {e['error_detail']})", err=True)


from mediaparser.cli.analyze import analyze_command  # noqa: E402  (the analysis command lives beside media/)

main.add_command(analyze_command)


# ----------------------------------------------------------------------- db --

@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply schema migrations (also done automatically at start-up)."""
    from mediaparser.store.migrate import upgrade

    rev = upgrade(_settings(), revision)
    click.echo(f"database at revision {rev}")
