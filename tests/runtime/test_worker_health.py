"""`mediaparser worker --concurrency N` and each worker's own health answer (runtime/health.py).

Real worker subprocesses for the concurrency and the answer of a working worker; the answer's
server in this process for the unhealthy cases (a database and a queue that do not answer, a
worker that never beat or is stopping), since stopping the shared services is not ours to do.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from flask import Flask
from huey.storage import RedisStorage
from sqlalchemy import select

from mediaparser.runtime import lifecycle, tasks
from mediaparser.runtime.health import HealthReport, WorkerState, _Single, serve_health
from mediaparser.store.db import db
from mediaparser.store.models import Job, JobStatus, WorkerBeat
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import BACKENDS, build_app, instance_env, make_images, wait_until
from tests.support.live import free_port

pytestmark = pytest.mark.slow


def ask(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def health_command(env: dict, port: int) -> subprocess.CompletedProcess:
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", "mediaparser", "health", "--port", str(port)], env=full,
                          capture_output=True, text=True, timeout=60)


def job(job_id: int) -> Job:
    db.session.commit()
    j = db.session.get(Job, job_id, populate_existing=True)
    db.session.commit()
    return j


def start_imports(app, tmp_path, count: int, files: int) -> list[int]:
    settings = app.extensions["mediaparser"]
    ids = []
    for n in range(count):
        src = tmp_path / f"src{n}"
        make_images(src, files, prefix=f"j{n}")
        j = create_import_job(settings, str(src))
        lifecycle.record_task_id(j.id, tasks.enqueue_job(j))
        ids.append(j.id)
    return ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_worker_runs_concurrency_jobs_at_once_and_answers_its_health_port(tmp_path, backend, workers):
    env = instance_env(tmp_path, backend, MEDIAPARSER_WORKERS="1")
    app = build_app(env)
    port = free_port()
    with app.app_context():
        first, second = start_imports(app, tmp_path, 2, 4)
        w = workers(env, tmp_path / "w.log", "--concurrency", "2", "--health-port", str(port),
                    extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.4"})

        def both_running():
            try:
                status, info = ask(port)
            except OSError:
                return None
            running = {a[0] for t in info["in_flight"] if t["task"] == "process_import_job" for a in [t["args"]]}
            return (status, info) if running == {first, second} else None

        status, info = wait_until(both_running, 90, "the worker to run both imports at once", interval=0.2)
        assert status == 200 and info["status"] == "ok" and info["problems"] == []
        assert info["concurrency"] == 2
        assert info["pid"] == w.pid and info["host"] == socket.gethostname()
        assert info["database"] is True and info["queue"] is True and info["stopping"] is False
        assert info["last_beat"] is not None and info["last_beat_age_seconds"] < 15
        assert info["uptime_seconds"] > 0
        db.session.commit()
        beats = set(db.session.execute(select(WorkerBeat.worker_id)).scalars())
        db.session.commit()
        assert info["worker_id"] in beats, "the answer names the worker the database knows"

        probe = health_command(env, port)
        assert probe.returncode == 0, probe.stderr
        assert json.loads(probe.stdout)["worker_id"] == info["worker_id"]

        wait_until(lambda: job(first).status in JobStatus.FINISHED and job(second).status in JobStatus.FINISHED,
                   120, "both imports to finish")
        assert job(first).status == job(second).status == JobStatus.COMPLETED, \
            (job(first).error_message, job(second).error_message)
        # Both ran at once: each started before the other completed.
        assert job(second).started_at < job(first).completed_at and job(first).started_at < job(second).completed_at
        wait_until(lambda: not [t for t in ask(port)[1]["in_flight"] if t["task"] == "process_import_job"], 30,
                   "finished jobs to leave the in-flight list")

        w.stop()
        probe = health_command(env, port)
        assert probe.returncode == 1, "a stopped worker does not answer, and the probe says so"
        assert "no answer" in probe.stderr


def test_concurrency_one_from_the_environment_runs_one_job_at_a_time(tmp_path, workers):
    port = free_port()
    env = instance_env(tmp_path, MEDIAPARSER_WORKERS="1", MEDIAPARSER_WORKER_CONCURRENCY="1",
                       MEDIAPARSER_WORKER_HEALTH_PORT=str(port))
    app = build_app(env)
    with app.app_context():
        first, second = start_imports(app, tmp_path, 2, 3)
        workers(env, tmp_path / "w.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.2"})
        seen: list[int] = []
        stop = threading.Event()

        def watch():  # the largest number of imports the worker says it runs at once
            while not stop.is_set():
                try:
                    status, info = ask(port)
                    seen.append(sum(1 for t in info["in_flight"] if t["task"] == "process_import_job"))
                    assert info["concurrency"] == 1
                except OSError:
                    pass
                stop.wait(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            wait_until(lambda: job(first).status in JobStatus.FINISHED and job(second).status in JobStatus.FINISHED,
                       120, "both imports to finish")
        finally:
            stop.set()
            watcher.join(10)
        a, b = sorted((job(first), job(second)), key=lambda j: j.started_at)
        assert a.status == b.status == JobStatus.COMPLETED
        assert b.started_at >= a.completed_at, "with concurrency 1 the second job starts after the first ends"
        assert max(seen) == 1, "the health answer saw the running job, never two"


def _plain_app(url: str) -> Flask:
    app = Flask("health-test")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)
    return app


def test_health_answer_is_503_with_the_reason_when_something_is_wrong(tmp_path):
    # A healthy worker first: database and queue of a real instance, a recent beat.
    app = build_app(instance_env(tmp_path))
    state = WorkerState("w-test", 3)
    report = HealthReport(app, state)
    server = serve_health(report, "127.0.0.1", 0)
    port = server.server_address[1]
    try:
        status, info = ask(port)
        assert status == 503 and info["problems"] == ["this worker has not written its beat yet"]
        state.beat()
        status, info = ask(port)
        assert status == 200 and info["database"] and info["queue"] and info["concurrency"] == 3
        state.stopping = True
        status, info = ask(port)
        assert status == 503 and info["problems"] == ["this worker is stopping"]
    finally:
        server.shutdown()
        server.server_close()

    # Nothing listens on port 1: a database and a queue that do not answer.
    dead_db = _plain_app("postgresql+psycopg://postgres@127.0.0.1:1/none")
    dead_queue = RedisStorage("health-test", url="redis://127.0.0.1:1/0")
    state = WorkerState("w-dead", 1)
    state.beat()
    server = serve_health(HealthReport(dead_db, state, queue_size=dead_queue.queue_size), "127.0.0.1", 0)
    try:
        status, info = ask(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    assert status == 503 and info["status"] == "unhealthy"
    assert info["database"] is False and info["queue"] is False
    assert [p.split(":")[0] for p in info["problems"]] == ["the database does not answer", "the queue does not answer"]


def test_a_check_that_hangs_is_reported_without_hanging_the_answer():
    release = threading.Event()
    check = _Single(lambda: release.wait(30))
    try:
        assert check(0.2) == "no answer within 0.2 s"
        assert check(0.2) == "an earlier check is still waiting for an answer"  # no second thread piles up
    finally:
        release.set()
    wait_until(lambda: check(5) is None, 10, "the check to pass once it answers")
