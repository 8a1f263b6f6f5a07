"""Safe by default: CSRF, login when a password is set, the Host check,
no serving beyond localhost without a password, files by id only."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.instance import build_app, instance_env, make_images
from tests.support.web import BrowserLikeClient, seed


def _token(client, url: str = "/import") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_cross_site_requests_are_refused_whatever_they_carry(web_app):
    c = web_app.test_client()
    tok = _token(c)
    (fid,) = seed(web_app, [{"confidence": "low"}])
    body = {"action": "confirm", "ids": [fid]}
    r = c.post("/api/review/actions", json=body, headers={"Origin": "http://evil.example", "X-CSRF-Token": tok})
    assert r.status_code == 403 and "cross-site" in r.get_json()["error"]
    r = c.post("/api/review/actions", json=body, headers={"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": tok})
    assert r.status_code == 403
    # Another port on the same machine is another site.
    r = c.post("/api/review/actions", json=body, headers={"Origin": "http://localhost:8080", "X-CSRF-Token": tok})
    assert r.status_code == 403
    r = c.post("/api/review/actions", json=body, headers={"Origin": "null", "X-CSRF-Token": tok})
    assert r.status_code == 403
    # A form post from a page of another site is turned away with a page, not JSON.
    r = c.post("/api/jobs/1/cancel", data={"x": "1"}, headers={"Origin": "http://evil.example", "Accept": "text/html"})
    assert r.status_code == 403 and b"cross-site request refused" in r.data.lower()
    assert c.get(f"/api/files/{fid}").get_json()["review"] == "needs_review", "nothing changed"


def test_browser_requests_need_the_session_token(web_app):
    c = web_app.test_client()
    tok = _token(c)
    (fid,) = seed(web_app, [{"confidence": "low"}])
    body = {"action": "confirm", "ids": [fid]}
    same = {"Origin": "http://localhost"}
    r = c.post("/api/review/actions", json=body, headers=same)
    assert r.status_code == 403 and "security token" in r.get_json()["error"]
    r = c.post("/api/review/actions", json=body, headers={**same, "X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    # Having our session cookie is enough to count as a browser, even without Origin.
    assert c.post("/api/review/actions", json=body).status_code == 403
    # Another session's token does not work in this one.
    other = web_app.test_client()
    other_tok = _token(other)
    assert c.post("/api/review/actions", json=body, headers={**same, "X-CSRF-Token": other_tok}).status_code == 403
    r = c.post("/api/review/actions", json=body, headers={**same, "X-CSRF-Token": tok, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and r.get_json()["changed"] == 1
    # PUT (upload chunks) is state-changing too.
    assert c.put("/api/uploads/" + "a" * 32 + "/files/1?offset=0", data=b"x", headers=same).status_code == 403


def test_local_scripts_without_browser_headers_work_while_no_password_is_set(web_app):
    # curl, the CLI and tests send no Origin, no Sec-Fetch-Site and no cookie.
    c = web_app.test_client()
    (fid,) = seed(web_app, [{"confidence": "low"}])
    assert c.post("/api/review/actions", json={"action": "confirm", "ids": [fid]}).status_code == 200


def test_dns_rebinding_host_names_are_refused_without_a_password(web_app):
    c = web_app.test_client()
    assert c.get("/api/files", headers={"Host": "evil.example:5000"}).status_code == 403
    assert c.get("/review", headers={"Host": "attacker.test"}).status_code == 403
    for host in ("localhost:5000", "127.0.0.1:5000", "[::1]:5000", "localhost"):
        assert c.get("/api/files", headers={"Host": host}).status_code == 200, host


@pytest.fixture
def exposed(tmp_path):
    env = instance_env(tmp_path, MEDIAPARSER_HOST="0.0.0.0", MEDIAPARSER_PASSWORD="correct horse")
    app = build_app(env)
    yield app


def test_with_a_password_every_page_and_api_needs_a_login(exposed):
    c = exposed.test_client()
    r = c.get("/review")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    assert c.get("/api/files").status_code == 401
    assert c.get("/api/health").status_code == 401
    assert c.get("/files/1/thumb").status_code == 401
    assert c.post("/api/jobs", json={"type": "import", "path": "/"}).status_code == 401
    page = c.get("/login")
    assert page.status_code == 200 and b"password" in page.data
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    # Without the form's token even the right password is refused (login CSRF).
    assert c.post("/login", data={"password": "correct horse"}).status_code == 403
    r = c.post("/login", data={"password": "wrong", "csrf_token": tok})
    assert r.status_code == 401 and b"not right" in r.data
    r = c.post("/login", data={"password": "correct horse", "csrf_token": tok, "next": "/review?state=needs_review"})
    assert r.status_code == 302 and r.headers["Location"] == "/review?state=needs_review"
    assert c.get("/review").status_code == 200
    assert c.get("/api/files").status_code == 200
    # Signed in, a script-like request without the token is still refused: a password means browsers.
    assert c.post("/api/review/actions", json={"action": "confirm", "ids": [1]}).status_code == 403
    assert BrowserLikeClient.__name__  # (the browser-like client is used elsewhere)
    # Sign out ends the session.
    tok2 = _token(c, "/review")
    assert c.post("/logout", data={"csrf_token": tok2}).status_code == 302
    assert c.get("/api/files").status_code == 401


def test_login_redirects_only_to_this_site(exposed):
    c = exposed.test_client()
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/login").data).group(1).decode()
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = c.post("/login", data={"password": "correct horse", "csrf_token": tok, "next": evil})
        assert r.status_code == 302 and r.headers["Location"] == "/", evil
        tok = _token(c, "/import")
        c.post("/logout", data={"csrf_token": tok})
        tok = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/login").data).group(1).decode()


def test_an_exposed_app_without_a_password_serves_nothing(tmp_path):
    env = instance_env(tmp_path, MEDIAPARSER_HOST="0.0.0.0")
    app = build_app(env)
    r = app.test_client().get("/review")
    assert r.status_code == 503 and b"MEDIAPARSER_PASSWORD" in r.data
    assert app.test_client().get("/api/files").status_code == 503


def test_cli_refuses_to_listen_beyond_localhost_without_a_password(tmp_path):
    import subprocess
    import sys

    import os
    env = dict(os.environ, **instance_env(tmp_path, MEDIAPARSER_HOST="0.0.0.0"))
    r = subprocess.run([sys.executable, "-m", "mediaparser", "serve"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "MEDIAPARSER_PASSWORD" in r.stderr


def test_security_headers_and_no_debug(web_app):
    c = web_app.test_client()
    r = c.get("/review")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert not web_app.debug
    for url in ("/console", "/debug", "/__debug__", "/api/debug", "/_debug_toolbar"):
        assert c.get(url).status_code == 404, url
    html = r.get_data(as_text=True)
    assert "<script>" not in html and "onclick=" not in html, "no inline scripts (the CSP forbids them)"


def test_files_are_served_by_id_only_and_never_outside_their_folders(web_app, tmp_path):
    settings = web_app.extensions["mediaparser"]
    make_images(tmp_path / "pics", 1)
    src = tmp_path / "pics" / "img_00000.jpg"
    thumb_dir = settings.thumbnail_dir / "ab"
    thumb_dir.mkdir(parents=True)
    good_thumb = thumb_dir / "abc.jpg"
    good_thumb.write_bytes(src.read_bytes())
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    def seen(p):  # what the import records: a source is served only while it is still this file
        st = p.stat()
        return {"size": st.st_size, "dev": st.st_dev, "inode": st.st_ino}

    # The rows' import is of tmp_path: a source is served only inside the folder it was imported from.
    ids = seed(web_app, [{"source_path": str(src), "thumbnail": str(good_thumb), "mime": "image/jpeg",
                          "rel_path": "img.jpg", **seen(src)}], job_path=str(tmp_path))
    # A row whose thumbnail column points elsewhere (a tampered or broken database) is not followed.
    ids += seed(web_app, [{"source_path": str(src), "thumbnail": str(secret), "mime": "image/jpeg", **seen(src)}],
                job_path=str(tmp_path))
    ids += seed(web_app, [{"source_path": str(tmp_path / "pics" / ".." / "secret.txt"), "thumbnail": None,
                           "mime": "text/html", **seen(secret)}], job_path=str(tmp_path))
    c = web_app.test_client()
    r = c.get(f"/files/{ids[0]}/thumb")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and "sandbox" in r.headers["Content-Security-Policy"]
    assert c.get(f"/files/{ids[1]}/thumb").status_code == 404
    assert c.get(f"/files/{ids[0]}/original").data == src.read_bytes()
    # Not a picture: never shown inline from our origin, only offered as a download.
    r = c.get(f"/files/{ids[2]}/original")
    assert r.mimetype == "application/octet-stream" and r.headers["Content-Disposition"].startswith("attachment")
    # Range requests work (videos seek).
    r = c.get(f"/files/{ids[0]}/original", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and len(r.data) == 10
    # A picture preview is made by id.
    r = c.get(f"/files/{ids[0]}/preview")
    assert r.status_code == 200 and r.data[:2] == b"\xff\xd8"
    for url in ("/files/../../etc/passwd", "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd/thumb", "/files/1.5/thumb",
                "/files/-1/thumb", f"/files/{ids[0]}/../../secret.txt", "/files/999999/original",
                "/files/abc/original", "/static/../secret_key", "/static/%2e%2e/secret_key",
                "/static/..%2fsecret_key"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert b"top secret" not in r.data, url
    # A path in the query string is simply ignored: the id decides.
    r = c.get(f"/files/{ids[0]}/thumb", query_string={"path": str(secret)})
    assert r.status_code == 200 and b"top secret" not in r.data


# -- redirects after login ----------------------------------------------------

@pytest.mark.parametrize("target, expected", [
    ("/review?state=needs_review", "/review?state=needs_review"),
    ("/\t/evil.example/phish", None),  # browsers drop the tab: //evil.example/phish
    ("/\\evil.example", None),  # and read the backslash as a slash
    ("\\/evil.example", None),
    ("/\r\n/evil.example", None),
    ("//evil.example", None),
    ("https://evil.example/", None),
    ("javascript:alert(1)", None),
    ("evil.example", None),
    (" /review", None),
    ("/\x7f/evil.example", None),
    ("", None),
    (None, None),
    ("/rev\tiew", "/review"),  # what is sent is what was checked: the browser's reading
    ("/a\\b", "/a/b"),
])
def test_next_is_read_the_way_a_browser_reads_it(target, expected):
    from mediaparser.web.security import same_site_path

    assert same_site_path(target) == expected


# -- sign-out ends every earlier session, in every web process ------------------

SESSION = "mediaparser_session"


@pytest.fixture
def exposed_env(tmp_path):
    return instance_env(tmp_path, MEDIAPARSER_HOST="0.0.0.0", MEDIAPARSER_PASSWORD="correct horse")


def _sign_in(app, password: str = "correct horse") -> str:
    c = app.test_client()
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/login").data).group(1).decode()
    assert c.post("/login", data={"password": password, "csrf_token": tok}).status_code == 302
    return c.get_cookie(SESSION).value


def _with_cookie(app, value: str):
    c = app.test_client()
    c.set_cookie(SESSION, value)
    return c


def test_sign_out_in_one_web_process_ends_sessions_in_another(exposed_env):
    # Two web processes of one instance: two apps on the same instance folder.
    a, b = build_app(exposed_env), build_app(exposed_env)
    cookie = _sign_in(a)
    assert _with_cookie(b, cookie).get("/api/files").status_code == 200
    signer = _with_cookie(b, cookie)
    assert signer.post("/logout", headers={"X-CSRF-Token": _token(signer)}).status_code == 302
    assert _with_cookie(a, cookie).get("/api/files").status_code == 401
    r = _with_cookie(a, cookie).get("/review")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    # A new sign-in on either works on both.
    assert _with_cookie(a, _sign_in(b)).get("/api/files").status_code == 200


def test_changing_the_password_signs_everybody_out(exposed_env):
    cookie = _sign_in(build_app(exposed_env))
    changed = build_app({**exposed_env, "MEDIAPARSER_PASSWORD": "a different phrase"})
    assert _with_cookie(changed, cookie).get("/api/files").status_code == 401


def test_a_lost_sign_in_generation_signs_everybody_out_instead_of_reviving_old_cookies(exposed_env):
    from mediaparser.web.security import GENERATION_FILE

    app = build_app(exposed_env)
    home = Path(exposed_env["MEDIAPARSER_HOME"])
    before = _sign_in(app)
    c = _with_cookie(app, before)
    c.post("/logout", headers={"X-CSRF-Token": _token(c)})
    after = _sign_in(app)
    (home / GENERATION_FILE).unlink()
    for cookie in (before, after):
        assert _with_cookie(app, cookie).get("/api/files").status_code == 401
    assert (home / GENERATION_FILE).read_text().strip(), "a fresh generation was written"


# -- how many passwords may be tried -----------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_address_gets_ten_tries_per_window():
    from mediaparser.web.security import LOGIN_WINDOW, LoginThrottle

    clock = _Clock()
    t = LoginThrottle(clock)
    for _ in range(10):
        assert t.attempt("10.0.0.1") is None
    assert "from this computer" in t.attempt("10.0.0.1")
    assert t.attempt("10.0.0.2") is None, "another address is not affected"
    clock.now += LOGIN_WINDOW
    assert t.attempt("10.0.0.1") is None, "the limit lasts one window"


def test_a_right_password_takes_its_try_back():
    from mediaparser.web.security import LoginThrottle

    t = LoginThrottle(_Clock())
    for _ in range(9):
        assert t.attempt("10.0.0.1") is None
    assert t.attempt("10.0.0.1") is None
    t.succeeded("10.0.0.1")
    for _ in range(10):
        assert t.attempt("10.0.0.1") is None


def test_many_addresses_share_one_global_limit_that_spares_known_computers():
    from mediaparser.web.security import (KNOWN_ADDRESS_SECONDS, LOGIN_MAX_GLOBAL_FAILURES, LOGIN_WINDOW, LoginThrottle)

    clock = _Clock()
    t = LoginThrottle(clock)
    assert t.attempt("192.168.1.5") is None
    t.succeeded("192.168.1.5")  # the household's laptop signed in once
    for n in range(LOGIN_MAX_GLOBAL_FAILURES):
        assert t.attempt(f"10.0.{n // 5}.{n % 5}") is None  # five tries each: under the per-address limit
    refused = t.attempt("10.9.9.9")
    assert refused and "signed in here before" in refused
    # Refused attempts are not counted, so hammering does not stretch the lock.
    clock.now += LOGIN_WINDOW - 1
    for _ in range(100):
        assert t.attempt("10.9.9.9") is not None
    assert t.attempt("192.168.1.5") is None, "a known computer keeps its own allowance"
    t.succeeded("192.168.1.5")
    clock.now += 1
    assert t.attempt("10.9.9.9") is None, "a fresh address waits at most one window after the attack"
    # An address is known only for the cookie's lifetime.
    clock.now += KNOWN_ADDRESS_SECONDS
    for n in range(LOGIN_MAX_GLOBAL_FAILURES):
        t.attempt(f"10.1.{n // 5}.{n % 5}")
    assert t.attempt("192.168.1.5") is not None


# -- the password itself -----------------------------------------------------

@pytest.mark.parametrize("password", [" ", "        ", "short", "a b c d e f g", "\t\t\t\t\t\t\t\t\t"])
def test_a_password_too_short_to_protect_anything_is_a_configuration_error(tmp_path, password):
    from mediaparser.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="MEDIAPARSER_PASSWORD must have at least 8 characters"):
        Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path), "MEDIAPARSER_PASSWORD": password})


def test_a_password_is_used_exactly_as_set(tmp_path):
    from mediaparser.config import Settings

    s = Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path), "MEDIAPARSER_PASSWORD": " a b c d e f g h "})
    assert s.password == " a b c d e f g h "
    assert Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path), "MEDIAPARSER_PASSWORD": ""}).password is None


# -- CSRF on every state-changing endpoint --------------------------------------

_CROSS_SITE_VARIANTS = {
    "another site's Origin": {"Origin": "http://evil.example"},
    "an opaque Origin": {"Origin": "null"},
    "another port of this machine": {"Origin": "http://localhost:8080"},
    "Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
    "Sec-Fetch-Site same-site": {"Sec-Fetch-Site": "same-site"},
}
_MISSING_TOKEN_VARIANTS = {
    "same Origin, no token": {"Origin": "http://localhost"},
    "same Origin, a wrong token": {"Origin": "http://localhost", "X-CSRF-Token": "wrong"},
    "same Origin, another session's token": {"Origin": "http://localhost", "X-CSRF-Token": "<other>"},
    "our cookie only, no token": {},
}


def _unsafe_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every route that changes things, with made-up but well-formed path values."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            values = {}
            for name, conv in rule._converters.items():
                values[name] = 1 if isinstance(conv, IntegerConverter) else \
                    "cancel" if isinstance(conv, AnyConverter) else "a" * 32
            out.append((method, adapter.build(rule.endpoint, values, method=method)))
    return out


def test_every_state_changing_endpoint_refuses_every_cross_site_variant(web_app):
    routes = _unsafe_routes(web_app)
    assert len(routes) >= 21 and ("POST", "/logout") in routes and ("POST", "/api/jobs") in routes
    other_tok = _token(web_app.test_client())
    c = web_app.test_client()
    tok = _token(c)
    for method, url in routes:
        for name, headers in {**_CROSS_SITE_VARIANTS, **_MISSING_TOKEN_VARIANTS}.items():
            headers = {k: (other_tok if v == "<other>" else v) for k, v in headers.items()}
            if name in _CROSS_SITE_VARIANTS:
                headers["X-CSRF-Token"] = tok  # even with the right token
            r = c.open(url, method=method, json={}, headers=headers)
            assert r.status_code == 403, (method, url, name, r.status_code)
        # A form another site's page submits: refused too, with a page.
        r = c.open(url, method=method, data={"csrf_token": tok}, headers={"Origin": "http://evil.example",
                                                                          "Accept": "text/html"})
        assert r.status_code == 403 and b"cross-site" in r.data.lower(), (method, url)
    # Control: from our own page the same requests get past the check (whatever the view then says).
    for method, url in routes:
        own = web_app.test_client()
        r = own.open(url, method=method, json={}, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin",
                                                          "X-CSRF-Token": _token(own)})
        assert r.status_code != 403, (method, url, r.status_code, r.data[:200])
