"""Attacks on signing in, replayed against the real app (`mediaparser serve`).

- an open redirect through /login?next=… (issue 15, item 9);
- a session cookie copied before sign-out and replayed after it;
- guessing the password: from one address, and shared out over many
  addresses (the server binds 127.0.0.1; Linux lets a client connect from any
  127.x.y.z address, so each attacker address is a real, distinct peer);
- a password too short to protect anything, refused before the server starts.
"""
from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.instance import instance_env
from tests.support.live import free_port

PASSWORD = "correct horse battery"
SESSION_COOKIE = "mediaparser_session"

# What an attacker puts in ?next=, as Flask hands it to the app after decoding the query.
OFF_SITE = [
    "/\t/evil.example/phish",  # the reported one: /%09/evil.example/phish
    "/\\evil.example/phish",
    "\\\\evil.example/phish",
    "/\\\t/evil.example",
    "//evil.example/phish",
    "///evil.example/phish",
    "/\r\n/evil.example/phish",
    "\t//evil.example",
    " //evil.example",
    "https://evil.example/phish",
    "HTTPS:evil.example",
    "javascript:alert(document.cookie)",
    "/\x00/evil.example",
    "evil.example/phish",
]
# Look odd, but a browser reads each as a path on this site, so it is kept as it is.
ON_SITE = ["/review?state=needs_review", "/%2F/evil.example", "/%09/evil.example", "/./evil.example"]


def _q(next_value: str) -> str:
    return "/login?" + urllib.parse.urlencode({"next": next_value})


def test_after_login_browsers_go_back_only_to_paths_on_this_site(live):
    # Without a password /login sends the browser straight on: the report's exact case.
    app = live(worker=False)
    c = app.client()
    for evil in OFF_SITE:
        r = c.get(_q(evil))
        assert r.status == 302 and r.headers["Location"] == "/", (evil, r.headers.get("Location"))
    for path in ON_SITE:
        r = c.get(_q(path))
        assert r.status == 302 and r.headers["Location"] == path, (path, r.headers.get("Location"))
    # Without a password only this machine's names are answered (DNS rebinding).
    assert c.get("/api/files", headers={"Host": "evil.example"}).status == 403
    app.stop()

    # With a password the same rule holds after a successful sign-in.
    app = live({"MEDIAPARSER_PASSWORD": PASSWORD}, worker=False)
    c = app.client()
    for evil in OFF_SITE:
        r = c.login(PASSWORD, next=evil)
        assert r.status == 302 and r.headers["Location"] == "/", (evil, r.headers.get("Location"))
    r = c.login(PASSWORD, next="/review?state=needs_review")
    assert r.status == 302 and r.headers["Location"] == "/review?state=needs_review"


def test_a_cookie_copied_before_sign_out_is_worthless_after_it(live, tmp_path):
    app = live({"MEDIAPARSER_PASSWORD": PASSWORD}, worker=False)
    owner, partner = app.client(), app.client()
    # The login wall: nothing before signing in.
    assert owner.get("/api/files").status == 401
    assert owner.get("/review").headers.get("Location", "").startswith("/login?next=")
    assert owner.login("not the password").status == 401
    assert owner.login(PASSWORD).status == 302 and partner.login(PASSWORD).status == 302
    stolen = owner.cookie(SESSION_COOKIE)
    assert stolen
    as_thief = {"Cookie": f"{SESSION_COOKIE}={stolen}"}
    thief = app.client()
    # The copy works while the owner is signed in: the replay below is a real one.
    assert thief.get("/api/files", headers=as_thief).status == 200

    owner.refresh_token()
    r = owner.post("/logout")
    assert r.status == 302 and r.headers["Location"] == "/login?signed_out=1"
    assert "Every browser" in owner.get("/login?signed_out=1").text

    assert thief.get("/api/files", headers=as_thief).status == 401
    r = thief.get("/review", headers=as_thief)
    assert r.status == 302 and r.headers["Location"].startswith("/login?next=")
    # Sign-out is for the whole household: the other browser signed in earlier is out too.
    assert partner.get("/api/files").status == 401
    # Signing in again works, and makes the stolen cookie no better.
    assert owner.login(PASSWORD).status == 302 and owner.get("/api/files").status == 200
    assert thief.get("/api/files", headers=as_thief).status == 401

    # The sign-out is kept in the instance folder, not in the server's memory.
    app.stop()
    app = live({"MEDIAPARSER_PASSWORD": PASSWORD}, worker=False)
    assert app.client().get("/api/files", headers=as_thief).status == 401


def _form_login(port: int, source: str, password: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Load /login and submit it, both from `source` (a loopback address): (status, page or Location)."""
    def send(method: str, path: str, body: str | None, hdrs: dict[str, str]) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        conn.request(method, path, body, hdrs)
        return conn.getresponse()

    page = send("GET", "/login", None, headers or {})
    html = page.read().decode()
    cookie = page.getheader("Set-Cookie", "").split(";")[0]
    tok = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert tok and cookie, html
    body = urllib.parse.urlencode({"password": password, "csrf_token": tok.group(1)})
    r = send("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                                      "Origin": f"http://127.0.0.1:{port}", **(headers or {})})
    text = r.read().decode()
    return r.status, r.getheader("Location") or text


def test_guessing_from_one_address_stops_after_ten_tries(live):
    app = live({"MEDIAPARSER_PASSWORD": PASSWORD}, worker=False)
    for i in range(10):
        # A forged X-Forwarded-For does not make the guesser someone else.
        status, _ = _form_login(app.port, "127.0.0.2", f"guess {i}", {"X-Forwarded-For": f"10.0.0.{i}"})
        assert status == 401, i
    status, page = _form_login(app.port, "127.0.0.2", PASSWORD)
    assert status == 429 and "Too many wrong passwords from this computer" in page
    # Another computer is not affected.
    assert _form_login(app.port, "127.0.0.3", PASSWORD)[0] == 302


def test_guessing_shared_out_over_many_addresses_is_stopped_too(live):
    app = live({"MEDIAPARSER_PASSWORD": PASSWORD}, worker=False)
    # The household's computer has signed in before.
    assert app.client().login(PASSWORD).status == 302

    # 50 wrong passwords from 10 addresses: each stays under its own limit of 10.
    attackers = [f"127.0.1.{n}" for n in range(1, 11)]
    with ThreadPoolExecutor(len(attackers)) as pool:
        statuses = list(pool.map(lambda a: [_form_login(app.port, a, f"guess from {a} #{i}")[0] for i in range(5)],
                                 attackers))
    assert all(s == 401 for per_addr in statuses for s in per_addr), statuses

    # Now a new address gets no password check at all: the right password is refused like a wrong one,
    # so guessing on from more addresses learns nothing.
    status, page = _form_login(app.port, "127.0.2.1", PASSWORD)
    assert status == 429 and "Computers that signed in here before can still sign in" in page
    assert _form_login(app.port, "127.0.2.2", "another guess")[0] == 429
    assert _form_login(app.port, attackers[0], PASSWORD)[0] == 429
    # The household is not locked out: the address that signed in before still can.
    r = app.client().login(PASSWORD)
    assert r.status == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("host, password", [
    ("0.0.0.0", " "),
    ("0.0.0.0", "        "),  # eight spaces
    ("0.0.0.0", "a b c d e f g"),  # seven characters besides spaces
    ("127.0.0.1", "secret1"),  # a password that is set must be long enough wherever it is used
])
def test_a_short_password_is_refused_before_the_server_starts(tmp_path, host, password):
    env = dict(os.environ, **instance_env(tmp_path, MEDIAPARSER_HOST=host, MEDIAPARSER_PASSWORD=password,
                                         MEDIAPARSER_PORT=str(free_port())))
    for command in ("serve", "worker"):
        r = subprocess.run([sys.executable, "-m", "mediaparser", command], env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode != 0, (command, r.stdout, r.stderr)
        assert "MEDIAPARSER_PASSWORD must have at least 8 characters" in r.stderr, (command, r.stderr)
        assert "Traceback" not in r.stderr
