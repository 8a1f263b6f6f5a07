"""A throw-away instance for a test: its MEDIAPARSER_* variables, the app, real worker
subprocesses, and the small generic helpers (JPEGs, SHA-256, waiting).

On SQLite, or on PostgreSQL + Redis: service-backed variants read MEDIAPARSER_TEST_DATABASE_URL
and MEDIAPARSER_TEST_REDIS_URL and are skipped, with the reason, when unset (BACKENDS).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest



def _per_test_process(pg_url: str | None, redis_url: str | None) -> tuple[str | None, str | None]:
    """Under pytest-xdist (`make test` runs `-n auto`), each test process gets its own
    PostgreSQL database and Redis db, since the tests wipe them: the first process uses
    the given ones, process gwN the database `<name>_gwN` (created when missing) and the
    Redis db N below the given one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker[2:].isdigit() else 0
    if n == 0 or not (pg_url and redis_url):
        return pg_url, redis_url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    head, _, db_index = redis_url.rstrip("/").rpartition("/")
    index = (int(db_index) if db_index.isdigit() else 0) - n
    if not db_index.isdigit() or index < 0:
        raise RuntimeError(f"{redis_url}: give a Redis db number of at least {n} to run {n + 1} test processes")
    return base.set(database=name).render_as_string(hide_password=False), f"{head}/{index}"


PG_URL, REDIS_URL = _per_test_process(os.environ.get("MEDIAPARSER_TEST_DATABASE_URL"),
                                      os.environ.get("MEDIAPARSER_TEST_REDIS_URL"))
SERVICES_REASON = ("PostgreSQL/Redis tests need MEDIAPARSER_TEST_DATABASE_URL and MEDIAPARSER_TEST_REDIS_URL "
                   "(.ci/run sets them)")

BACKENDS = [
    "sqlite",
    pytest.param("postgres+redis", marks=pytest.mark.skipif(not (PG_URL and REDIS_URL), reason=SERVICES_REASON)),
]


def _reset_services() -> None:
    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(REDIS_URL).flushdb()


def outside_roots(tmp_path: Path) -> Path:
    """A per-test folder beside `tmp_path`, for what may not lie inside an import root.

    instance_env makes `tmp_path` the import root (tests put their photos anywhere in it), and
    the output rule (output_rule.py) keeps the archive out of the roots: the instance (whose
    `archive` is the default output) and the folders tests export to live here instead."""
    folder = tmp_path.parent / f"{tmp_path.name}-outside"
    folder.mkdir(exist_ok=True)
    return folder


def instance_env(tmp_path: Path, backend: str = "sqlite", **extra: str) -> dict[str, str]:
    """MEDIAPARSER_* variables for a throw-away instance (short leases for tests).

    The import root is `tmp_path`; the instance is outside it (outside_roots)."""
    env = {
        "MEDIAPARSER_HOME": str(outside_roots(tmp_path) / "instance"),
        "MEDIAPARSER_LEASE_SECONDS": "3",
        "MEDIAPARSER_REAP_INTERVAL": "0.5",
        "MEDIAPARSER_RETRY_DELAY": "1",
        "MEDIAPARSER_WORKERS": "2",
        "MEDIAPARSER_IMPORT_ROOTS": str(tmp_path),
        "MEDIAPARSER_TIMEZONE": "UTC",
    }
    if backend == "postgres+redis":
        _reset_services()
        env["MEDIAPARSER_DATABASE_URL"] = PG_URL
        env["MEDIAPARSER_QUEUE_URL"] = REDIS_URL
    env.update(extra)
    return env


def build_app(env: dict[str, str]):
    from mediaparser.config import Settings
    from mediaparser.runtime import tasks
    from mediaparser.web import create_app

    app = create_app(Settings.load(environ=env))
    app.config["TESTING"] = True
    tasks.set_worker_app(app)
    return app


def make_images(folder: Path, count: int, *, size: tuple[int, int] = (96, 64), prefix: str = "img",
                start: int = 0) -> list[Path]:
    """Real JPEGs with distinct content (so every SHA-256 differs)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        img = Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
        img.putpixel((i % size[0], (i // size[0]) % size[1]), (255, 255, 255))
        p = folder / f"{prefix}_{i:05d}.jpg"
        img.save(p, "JPEG", quality=90)
        paths.append(p)
    return paths


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_until(predicate: Callable[[], object], timeout: float, message: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for: {message}")


class WorkerProcess:
    """A real `mediaparser worker` subprocess with its own log file."""

    def __init__(self, env: dict[str, str], log_path: Path, *extra_args: str, extra_env: dict | None = None):
        full = dict(os.environ)
        full.update(env)
        full.update(extra_env or {})
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "mediaparser", "worker", *extra_args],
                                     env=full, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def kill9(self, group: bool = False) -> None:
        """kill -9 the worker (its analysis processes notice and exit), as a crash would."""
        import signal as s

        try:
            if group:
                os.killpg(self.proc.pid, s.SIGKILL)
            else:
                self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        import signal as s

        if self.proc.poll() is None:
            self.proc.send_signal(s.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9(group=True)
        self._log.close()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def job_row(job_id: int):
    """The job's row as committed now (ends the read, so later commits of workers show)."""
    from mediaparser.store.db import db
    from mediaparser.store.models import Job

    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True)


def chunk_rows(job_id: int) -> list:
    """The job's chunks in order, as committed now."""
    from sqlalchemy import select

    from mediaparser.store.db import db
    from mediaparser.store.models import JobChunk

    db.session.commit()
    rows = db.session.execute(select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.seq)
                              .execution_options(populate_existing=True)).scalars().all()
    db.session.commit()
    return list(rows)
