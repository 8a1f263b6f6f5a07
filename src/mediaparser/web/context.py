"""How a web module reaches the running app's Settings: through here, only.

The core app factory (runtime/app.py) keeps the one Settings object in
`app.extensions["mediaparser"]`; the settings page swaps in a new one when a
person saves. Views, blueprints and the security hooks read it with
`current_settings()` (inside a request) or `settings_of(app)` (at set-up),
so the key and the lookup live in one place.
"""
from __future__ import annotations

from flask import Flask, current_app

from mediaparser.config import Settings

__all__ = ["current_settings", "replace_settings", "settings_of"]

_KEY = "mediaparser"  # the extension key runtime/app.py stores the Settings under


def settings_of(app: Flask) -> Settings:
    """The Settings of `app` (no request or app context needed)."""
    return app.extensions[_KEY]


def current_settings() -> Settings:
    """The Settings of the app handling this request."""
    return current_app.extensions[_KEY]


def replace_settings(new: Settings) -> None:
    """Make `new` the Settings of this app from the next read on (a saved settings page)."""
    current_app.extensions[_KEY] = new
