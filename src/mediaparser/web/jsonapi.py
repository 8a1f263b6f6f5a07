"""Small pieces every JSON API module shares: the error reply, query-string numbers and who is asking.

A value that is not a whole number is the caller's mistake: BadArgument,
which the app answers with 400 and the message (web/__init__.py).
"""
from __future__ import annotations

from flask import g, jsonify, request

from mediaparser.usecases.history import Actor


def error(status: int, message: str, **extra):
    """The API's error reply: {"error": message, ...extra} with `status`."""
    return jsonify({"error": message, **extra}), status


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


def current_actor() -> Actor:
    """Who makes this request's decision, for the history: the signed-in name (web/security.py) and address."""
    return Actor(g.get("actor", "local user"), request.remote_addr)
