"""Safe by default: who may use the web UI, and which requests may change things.

Exposure. The app listens on 127.0.0.1 unless MEDIAPARSER_HOST says
otherwise, and `mediaparser serve` refuses another address without
MEDIAPARSER_PASSWORD. As a second guard, an app configured for a non-loopback
host without a password answers every request with 503 and the reason.

Login. With a password set, every page and API call needs a signed-in
session; pages redirect to /login, API calls get 401. The session cookie is
Flask's signed cookie (HttpOnly, SameSite=Lax, 30 days) holding a fingerprint
of the password and of the instance's sign-in generation (see
`SignInGeneration`), so both changing the password and signing out end every
session issued before, server-side: a cookie copied before a sign-out is
worthless after it. Failed logins are slowed down and counted per address and
for all addresses together (see `LoginThrottle`). After signing in, the
browser goes back only to a path on this site (`same_site_path`).

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
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session, url_for

from mediaparser.config import Settings, is_loopback
from mediaparser.media.atomic import atomic_write
from mediaparser.web.context import current_settings, settings_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "mediaparser_session"
LOGIN_WINDOW = 300.0  # seconds
LOGIN_MAX_FAILURES = 10  # per address and window
LOGIN_MAX_GLOBAL_FAILURES = 50  # all addresses together, per window
KNOWN_ADDRESS_SECONDS = 30 * 86400.0  # an address that signed in is "known" this long (the cookie's lifetime)
KNOWN_ADDRESS_LIMIT = 1000  # remembered addresses at most (the oldest are forgotten first)
GENERATION_FILE = "sign_in_generation"

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self'; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class SignInGeneration:
    """The instance's sign-in generation: a random token in HOME/sign_in_generation.

    Every signed-in session carries a fingerprint of (password, generation);
    signing out replaces the token, so every cookie issued before stops
    working at once, wherever it was copied to. That is a sign-out of every
    browser of the household, not only the one that clicked: Flask's cookie
    sessions keep nothing on the server to name one browser by, and for a
    household sharing one password "sign out" meaning "nobody stays signed in"
    is the safer reading. (Per-session ids kept server-side would allow a
    single-browser sign-out, at the price of a session table every web
    process must share.)

    The file is shared by every web process of the instance; each reads it
    again only when its inode, size or mtime changed (one stat per request).
    It is replaced atomically (write a temporary file, then rename). A missing
    or empty file is replaced by a fresh token, which signs everybody out:
    failing closed, never back to an older generation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int, int], str]] = {}

    def current(self, home: Path) -> str:
        path = home / GENERATION_FILE
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return self.bump(home)
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
        try:
            value = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:  # replaced between stat and read: read the new one next time
            return self.bump(home)
        if not value:
            return self.bump(home)
        with self._lock:
            self._cache[path] = (key, value)
        return value

    def bump(self, home: Path) -> str:
        """Start a new generation: every session issued before is signed out."""
        token = secrets.token_hex(16)
        path = home / GENERATION_FILE
        # Durable before the rename: a power cut must not bring back a
        # generation whose sessions were meant to be signed out.
        with atomic_write(path, text=True, encoding="ascii", prefix=f".{GENERATION_FILE}.", suffix=".tmp",
                          fsync=True) as fh:
            fh.write(token + "\n")
        with self._lock:
            self._cache.pop(path, None)
        return token


generation = SignInGeneration()


def session_fingerprint(app: Flask, password: str) -> str:
    """What a signed-in session holds: tied to the password and the current sign-in generation."""
    key = app.secret_key.encode() if isinstance(app.secret_key, str) else app.secret_key
    gen = generation.current(settings_of(app).home)
    # The generation is hex, so "login:<gen>:<password>" cannot be read two ways.
    return hmac.new(key, f"login:{gen}:".encode() + password.encode(), hashlib.sha256).hexdigest()


def sign_everybody_out(app: Flask) -> None:
    generation.bump(settings_of(app).home)


# Browsers drop these anywhere in a URL (WHATWG URL standard), so "/\t/evil" is "//evil" to them.
_BROWSER_DROPS = str.maketrans("", "", "\t\r\n")


def same_site_path(target: str | None) -> str | None:
    """`target` when a browser would read it as a path on this site, else None.

    The URL is first read the way a browser reads it: tab, CR and LF vanish
    wherever they are, and a backslash counts as a slash. What remains must
    have no scheme, no host and start with exactly one "/"; any other control
    character refuses it. The normalised form is returned, so the Location
    we send is exactly what was checked.
    """
    if not target:
        return None
    url = target.translate(_BROWSER_DROPS).replace("\\", "/")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return None
    return url


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def signed_in() -> bool:
    s = current_settings()
    if not s.password:
        return True
    fp = session.get("auth")
    return isinstance(fp, str) and hmac.compare_digest(fp, session_fingerprint(current_app, s.password))


def actor_name() -> str:
    return "signed-in user" if current_settings().password else "local user"


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


class LoginThrottle:
    """How many passwords may be tried, per address and for the server as a whole.

    Every password check counts as a failure from the moment it is allowed
    (so a burst of parallel requests cannot slip past the count) and is taken
    back when the password proves right.

    - Per address: after LOGIN_MAX_FAILURES failures in LOGIN_WINDOW seconds,
      that address gets no further check until the oldest failure leaves the
      window.
    - Globally: after LOGIN_MAX_GLOBAL_FAILURES failures from all addresses
      together in the window, an attacker with many addresses is stopped too:
      addresses that have not signed in here before get no password check (a
      refusal, whatever they send) until failures drop below the limit.
      Addresses that did sign in within the cookie's lifetime keep their
      per-address allowance, so the household's own computers are never
      locked out by a stranger; a fresh address with the right password waits
      at most one window after the attack stops. Refused attempts are not
      checked and not counted, so they do not extend the lock.

    The counts live in memory, per web process: a restart forgets them, and
    several web processes each keep their own.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[tuple[float, str]] = deque()  # (time, address), oldest first
        self._known: dict[str, float] = {}  # address -> last successful sign-in

    def attempt(self, addr: str) -> str | None:
        """Ask to check one password from `addr`: None (go ahead) or the reason it is refused."""
        now = self._clock()
        with self._lock:
            while self._failures and now - self._failures[0][0] >= LOGIN_WINDOW:
                self._failures.popleft()
            if sum(1 for _, a in self._failures if a == addr) >= LOGIN_MAX_FAILURES:
                return "Too many wrong passwords from this computer. Wait a few minutes and try again."
            known = now - self._known.get(addr, -KNOWN_ADDRESS_SECONDS) < KNOWN_ADDRESS_SECONDS
            if len(self._failures) >= LOGIN_MAX_GLOBAL_FAILURES and not known:
                return ("Too many wrong passwords were tried on this MediaParser in the last minutes. "
                        "Computers that signed in here before can still sign in; "
                        "from this one, wait a few minutes and try again.")
            self._failures.append((now, addr))
            return None

    def succeeded(self, addr: str) -> None:
        """The password checked for `addr` was right: forget its failures and remember the address."""
        with self._lock:
            self._failures = deque(f for f in self._failures if f[1] != addr)
            self._known.pop(addr, None)
            self._known[addr] = self._clock()
            while len(self._known) > KNOWN_ADDRESS_LIMIT:
                del self._known[next(iter(self._known))]  # dicts keep insertion order: oldest first


throttle = LoginThrottle()


def _allowed_hosts(s: Settings) -> set[str]:
    return {"localhost", "127.0.0.1", "::1", s.host.strip("[]").lower()}


def _same_origin(origin: str) -> bool:
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


def _check_request():
    s = current_settings()
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
    if settings_of(app).password:
        # Made (or read) now, so an instance folder we cannot write shows at start-up, not at the first login.
        generation.current(settings_of(app).home)
    app.before_request(_check_request)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["signed_in_with_password"] = lambda: bool(current_settings().password)

    @app.before_request
    def _remember_actor():
        g.actor = actor_name()
