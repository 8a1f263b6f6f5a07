"""Query-string numbers for the JSON API, read one way everywhere.

A value that is not a whole number is the caller's mistake: BadArgument,
which the app answers with 400 and the message (web/__init__.py).
"""
from __future__ import annotations

from flask import request


class BadArgument(ValueError):
    """A query argument that cannot be used; the message names it."""


def whole_number(name: str, default: int | None = None) -> int | None:
    """`?name=` as an int; `default` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadArgument(f"{name} must be a whole number") from None
