"""Helpers for the web tests: browser-like API clients for the Flask test client, seeded
file rows, a live server in a thread, and Debian's Chromium settings and screenshots."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The screens of issue 14: a phone (touch, as a phone's browser lays a page out), a laptop, a wide monitor.
SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "laptop": {"viewport": {"width": 1280, "height": 800}},
    "wide": {"viewport": {"width": 1920, "height": 1080}},
}
PHONE_WIDTH = SIZES["phone"]["viewport"]["width"]


def at_laptop_and_phone(test):
    """Run a browser flow twice: at 1280×800 and on a phone (the `page` fixture takes the size)."""
    import pytest

    return pytest.mark.parametrize("page", ["laptop", "phone"], indirect=True)(test)


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


class Api:
    """A lighter browser-like client: JSON posts with the page's CSRF token and a same-origin Origin."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        html = self.client.get("/import").get_data(as_text=True)
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def post(self, url, body=None):
        return self.client.post(url, json=body if body is not None else {},
                                headers={"Origin": "http://localhost", "X-CSRF-Token": self.token})

    def get(self, url):
        return self.client.get(url)


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


def seed_files(app, n: int) -> list[int]:
    """`n` bare file rows (no analysis, no media) in one completed import; their ids."""
    from mediaparser.store.db import db
    from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile

    with app.app_context():
        job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": "/p"}, enumerated=True)
        db.session.add(job)
        db.session.flush()
        rows = [MediaFile(job_id=job.id, source_path=f"/p/{i}.jpg", rel_path=f"{i}.jpg", status=FileStatus.DONE)
                for i in range(n)]
        db.session.add_all(rows)
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


def is_phone(pg) -> bool:
    return pg.viewport_size["width"] <= PHONE_WIDTH


def shot(pg, name: str) -> Path:
    """A screenshot under test-artifacts/screenshots/ (looked at by a person); `name-phone.png` at phone size."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}{'-phone' if is_phone(pg) else ''}.png"
    pg.screenshot(path=str(path))
    return path


@contextmanager
def review_filters(pg):
    """Use the review page's filters: beside the grid on a wide screen; on a phone they are a drawer,
    opened by its button for the block and closed after, as a person would."""
    toggle = pg.locator("#filters-toggle")
    if not toggle.is_visible():
        yield
        return
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    yield
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "true":  # (a link may have left the page)
        pg.locator("#filters-close").click()


def page_until(pg, script: str, what: str, tries: int = 150) -> None:
    """Wait until the page's function `script` returns true.

    Playwright's wait_for_function polls by eval inside the page, which the app's CSP forbids
    (script-src 'self'), so it fails whenever its first check is false; page.evaluate is not eval."""
    for _ in range(tries):
        if pg.evaluate(script):
            return
        pg.wait_for_timeout(100)
    raise AssertionError(f"{what} did not happen")
