"""Fixtures for the web UI tests: an app, a browser-like API client, seeded
file rows, a live server in a thread, and Debian's Chromium through Playwright.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ..conftest import build_app, instance_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


class BrowserLikeClient:
    """A Flask test client that behaves like our pages in a browser: it holds
    the session cookie, sends the CSRF token header and a same-origin Origin."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()
        html = self.client.get("/import").get_data(as_text=True)
        m = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert m, "pages carry the CSRF token in a meta tag"
        self.token = m.group(1)

    def _headers(self, headers: dict | None) -> dict:
        out = {"Origin": "http://localhost", "X-CSRF-Token": self.token}
        out.update(headers or {})
        return out

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, headers: dict | None = None, **kw):
        return self.client.post(url, headers=self._headers(headers), **kw)

    def put(self, url: str, headers: dict | None = None, **kw):
        return self.client.put(url, headers=self._headers(headers), **kw)

    def action(self, action: str, ids: list[int] | None = None, **extra: Any):
        body: dict[str, Any] = {"action": action, **extra}
        if ids is not None:
            body["ids"] = ids
        return self.post("/api/review/actions", json=body)


@pytest.fixture
def web_env(tmp_path) -> dict[str, str]:
    return instance_env(tmp_path)


@pytest.fixture
def web_app(web_env):
    app = build_app(web_env)
    yield app
    from mediaparser.store.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def api(web_app) -> BrowserLikeClient:
    return BrowserLikeClient(web_app)


def seed(app, files: list[dict[str, Any]], *, job_path: str = "/photos") -> list[int]:
    """Insert analysed file rows (no media) and return their ids, in order."""
    from mediaparser.store.db import db
    from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile

    with app.app_context():
        job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": job_path}, enumerated=True)
        db.session.add(job)
        db.session.flush()
        rows = []
        for i, f in enumerate(files):
            values = {
                "job_id": job.id, "rel_path": f"f{i:04d}.jpg", "size": 1000 + i, "status": FileStatus.DONE,
                "kind": "image", "confidence": "high", "precision": "second", "time_source": "exif:DateTimeOriginal",
                "captured_at": datetime(2020, 1, 1, 12, 0, 0), "reasons": [], "candidates": [],
            }
            values.update(f)
            values.setdefault("source_path", f"{job_path}/{values['rel_path']}")
            row = MediaFile(**values)
            db.session.add(row)
            rows.append(row)
        db.session.commit()
        return [r.id for r in rows]


# ------------------------------------------------------------ live server --

class LiveServer:
    def __init__(self, app, host: str = "127.0.0.1") -> None:
        from werkzeug.serving import make_server

        self.server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live_server():
    started: list[LiveServer] = []

    def start(app, host: str = "127.0.0.1") -> LiveServer:
        s = LiveServer(app, host)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    # A shared, busy machine can be slow: wait as long for assertions as for actions.
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=False)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(pg, name: str) -> Path:
    """A 1280×800 screenshot under test-artifacts/screenshots/ (looked at by a person)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    return path
