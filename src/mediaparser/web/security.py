"""Safe by default: who may use the web UI, and which requests may change things.

Exposure. The app listens on 127.0.0.1 unless MEDIAPARSER_HOST says
otherwise, and `mediaparser serve` refuses another address without
MEDIAPARSER_PASSWORD. As a second guard, an app configured for a non-loopback
host without a password answers every request with 503 and the reason.

Login. With a password set, every page and API call needs a signed-in
session; pages redirect to /login, API calls get 401. The session cookie is
Flask's signed cookie (HttpOnly, SameSite=Lax) holding a fingerprint of the
password, so changing the password signs everybody out. Failed logins are
slowed down and counted per address.

CSRF. A state-changing request (POST, PUT, PATCH, DELETE):

1. is refused outright when the browser says it comes from another site: an
   `Origin` header naming another host, or `Sec-Fetch-Site` other than
   `same-origin` / `none` (another port on the same machine is another site);
2. must carry the session's token — header `X-CSRF-Token` (our pages put it
   in a <meta> tag and `static/js/common.js` sends it) or a `csrf_token` form
   field — whenever it comes from a browser (it has `Origin`,
   `Sec-Fetch-Site` or our session cookie) or a password is set.

A request with none of those is a program on this machine (curl, scripts,
the test client): every browser of the last years sends `Origin` with a POST.
It is let through only while no password is set, that is while the app only
listens on localhost.

DNS rebinding. Without a password the `Host` header must name this machine
(localhost, 127.0.0.1, ::1 or the configured host): a web page whose name is
re-pointed at 127.0.0.1 reaches the app as a "same-origin" page, and this
check is what turns it away.

Headers. A Content-Security-Policy without inline scripts, nosniff, no
framing, no referrer to other sites.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session, url_for

from ..config import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "mediaparser_session"
LOGIN_WINDOW = 300.0  # seconds
LOGIN_MAX_FAILURES = 10  # per address and window

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self'; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def is_loopback(host: str) -> bool:
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def settings() -> Settings:
    return current_app.extensions["mediaparser"]


def password_fingerprint(app: Flask, password: str) -> str:
    return hmac.new(app.secret_key.encode() if isinstance(app.secret_key, str) else app.secret_key,
                    b"login:" + password.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def signed_in() -> bool:
    s = settings()
    if not s.password:
        return True
    fp = session.get("auth")
    return isinstance(fp, str) and hmac.compare_digest(fp, password_fingerprint(current_app, s.password))


def actor_name() -> str:
    return "signed-in user" if settings().password else "local user"


def _wants_json() -> bool:
    """JSON for our scripts and API clients; a page for a browser navigating
    (e.g. a form another site submitted), even to an /api/ address."""
    am = request.accept_mimetypes
    if am and am["text/html"] > am["application/json"]:
        return False
    return request.path.startswith(("/api/", "/files/")) or am.best == "application/json" or request.is_json


def refuse(status: int, message: str):
    if _wants_json():
        return jsonify({"error": message}), status
    from flask import render_template

    return render_template("refused.html", message=message, status=status), status


class _LoginThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def blocked(self, addr: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(addr, []) if now - t < LOGIN_WINDOW]
            self._failures[addr] = recent
            return len(recent) >= LOGIN_MAX_FAILURES

    def failed(self, addr: str) -> None:
        with self._lock:
            self._failures.setdefault(addr, []).append(time.monotonic())

    def succeeded(self, addr: str) -> None:
        with self._lock:
            self._failures.pop(addr, None)


throttle = _LoginThrottle()


def _allowed_hosts(s: Settings) -> set[str]:
    return {"localhost", "127.0.0.1", "::1", s.host.strip("[]").lower()}


def _same_origin(origin: str) -> bool:
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


def _check_request():
    s = settings()
    # 1. Never serve beyond this machine without a password.
    if not is_loopback(s.host) and not s.password:
        return refuse(503, f"MediaParser is configured to listen on {s.host} but no password is set. "
                           "Set MEDIAPARSER_PASSWORD, or keep MEDIAPARSER_HOST=127.0.0.1.")
    # 2. DNS rebinding: without a password only this machine's names are served.
    if not s.password:
        host = (request.host or "").rsplit(":", 1)[0] if not request.host.startswith("[") else \
            request.host[1:].split("]", 1)[0]
        if host.lower() not in _allowed_hosts(s):
            return refuse(403, f"this MediaParser only answers to localhost, not to {host!r}")
    unsafe = request.method in UNSAFE_METHODS
    # 3. Cross-site requests are refused before anything else looks at them.
    if unsafe:
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if (origin is not None and not _same_origin(origin)) or (site is not None and site not in ("same-origin", "none")):
            return refuse(403, "cross-site request refused: changes can only be made from MediaParser's own pages")
    # 4. Login.
    endpoint = request.endpoint or ""
    if endpoint not in PUBLIC_ENDPOINTS and not signed_in():
        if request.path.startswith("/api/") or request.path.startswith("/files/"):
            return refuse(401, "sign in first")
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    # 5. CSRF token.
    if unsafe:
        from_browser = any(h in request.headers for h in ("Origin", "Sec-Fetch-Site")) \
            or SESSION_COOKIE in request.cookies
        if from_browser or s.password:
            sent = request.headers.get(CSRF_HEADER) or (request.form.get(CSRF_FIELD) if request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data") else None)
            expected = session.get("csrf")
            if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
                return refuse(403, "this request is missing its security token (CSRF); reload the page and try again")
    return None


def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static" and not request.path.startswith("/files/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=30 * 86400,
    )
    app.before_request(_check_request)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["signed_in_with_password"] = lambda: bool(settings().password)

    @app.before_request
    def _remember_actor():
        g.actor = actor_name()
