"""Fixtures for the web UI tests: an app, a browser-like API client, a live server in
a thread, and Debian's Chromium through Playwright (helpers: tests/support/web.py).
"""
from __future__ import annotations

import os

import pytest

from tests.support.instance import build_app, instance_env
from tests.support.web import CHROMIUM, CHROMIUM_ARGS, SIZES, BrowserLikeClient, LiveServer


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
def page(browser, request):
    """A page at 1280×800; a test parametrized with `@pytest.mark.parametrize("page", ["laptop", "phone"],
    indirect=True)` runs its flow at each of those sizes (SIZES: the phone is touch-first)."""
    context = browser.new_context(**SIZES[getattr(request, "param", "laptop")], accept_downloads=False)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
