"""The real app as subprocesses: `mediaparser serve` and `mediaparser worker` on a free port
(LiveApp), and a browser-like HTTP client for it (Client) that keeps the session cookie and
sends the page's CSRF token."""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.instance import WorkerProcess, instance_env, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer to look at, not to follow
        return None


class Client:
    """A browser-like HTTP client: cookies, same-origin Origin and the CSRF token on writes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.token: str | None = None

    def refresh_token(self, page: str = "/import") -> str:
        html = self.get(page).text
        m = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert m, f"{page} carries the CSRF token in a meta tag"
        self.token = m.group(1)
        return self.token

    def request(self, method: str, path: str, *, body: bytes | None = None, json_body: Any = None,
                headers: dict[str, str] | None = None, browser: bool = True, timeout: float = 60) -> Response:
        h: dict[str, str] = {}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        if browser and method not in ("GET", "HEAD"):
            if self.token is None:
                self.refresh_token()
            h["Origin"] = self.base
            h["X-CSRF-Token"] = self.token or ""
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw) -> Response:
        return self.request("POST", path, json_body=json_body if json_body is not None else {}, **kw)

    def put(self, path: str, body: bytes, **kw) -> Response:
        return self.request("PUT", path, body=body, **kw)

    def login(self, password: str, next: str | None = None) -> Response:
        """Submit the login form as a browser does (its hidden CSRF field, same-site Origin); the form's answer."""
        page = self.get("/login")
        m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert m, f"the login page carries its CSRF field: {page!r}"
        form = {"password": password, "csrf_token": m.group(1)}
        if next is not None:
            form["next"] = next
        self.token = None  # signing in starts a new session with a new token
        return self.request("POST", "/login", body=urllib.parse.urlencode(form).encode(), browser=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": self.base})

    def cookie(self, name: str) -> str | None:
        """The value of one of this browser's cookies (to copy it into another client, as a thief would)."""
        return next((c.value for c in self.jar if c.name == name), None)


class LiveApp:
    """`mediaparser serve` + `mediaparser worker` for one throw-away instance."""

    def __init__(self, tmp_path: Path, backend: str, extra_env: dict[str, str] | None = None,
                 worker: bool = True) -> None:
        self.tmp_path = tmp_path
        self.backend = backend
        self.roots = tmp_path / "roots"
        self.roots.mkdir(exist_ok=True)
        self.port = free_port()
        self.env = instance_env(tmp_path, backend, MEDIAPARSER_IMPORT_ROOTS=str(self.roots),
                                MEDIAPARSER_PORT=str(self.port), **(extra_env or {}))
        self.home = Path(self.env["MEDIAPARSER_HOME"])
        self.base = f"http://127.0.0.1:{self.port}"
        full = dict(os.environ)
        full.update(self.env)
        self._log = open(tmp_path / "serve.log", "ab")
        self.server = subprocess.Popen([sys.executable, "-m", "mediaparser", "serve"], env=full,
                                       stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.worker: WorkerProcess | None = None
        try:
            wait_until(self._up, 60, f"mediaparser serve answers on {self.base}", interval=0.2)
            if worker:
                self.worker = WorkerProcess(self.env, tmp_path / "worker.log")
                wait_until(lambda: self.get("/api/health").status == 200, 60, "the worker reports healthy",
                           interval=0.2)
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if self.server.poll() is not None:
            raise AssertionError(f"serve exited: {(self.tmp_path / 'serve.log').read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(self.base + "/api/health", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # 503 while no worker beats yet: the server itself answers
        except OSError:
            return False

    def client(self) -> Client:
        return Client(self.base)

    def get(self, path: str) -> Response:
        return Client(self.base).get(path)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        full = dict(os.environ)
        full.update(self.env)
        return subprocess.run([sys.executable, "-m", "mediaparser", *args], env=full, capture_output=True,
                              text=True, timeout=timeout)

    def wait_job(self, client: Client, job_id: int, timeout: float = 120) -> dict:
        """Wait until a job has ended (COMPLETED, FAILED or CANCELLED) and return its summary."""
        def ended():
            j = client.get(f"/api/jobs/{job_id}").json()
            return j if j["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None
        return wait_until(ended, timeout, f"job {job_id} ends", interval=0.2)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=20)
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self._log.close()
